import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Identity } from './identity.js';

/**
 * Verifies API keys. Implement it to look keys up in your own store; the
 * gateway calls `verify` for every credential that is not a JWT and listens to
 * `onRevoke` to close live connections of a revoked key.
 *
 * @example
 * const verifier: ApiKeyVerifier = {
 *   async verify(key) { const row = await db.findKey(sha256(key)); return row ? toIdentity(row) : null; },
 * };
 */
export interface ApiKeyVerifier {
  /** The identity of a valid key, or `null` for an unknown or revoked one. */
  verify(key: string): Promise<Identity | null>;
  /** Registers a listener called with a key `id` when that key is revoked; returns an unsubscribe function. */
  onRevoke?(listener: (keyId: string) => void): () => void;
}

/** One entry of an API keys file: the key itself is never stored, only its SHA-256. */
export interface ApiKeyRecord {
  id: string;
  /** Lower-case hex SHA-256 of the key. */
  sha256: string;
  sub: string;
  tenant_id: string;
  roles?: string[];
  channels?: string[];
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function validateRecord(value: unknown, index: number): ApiKeyRecord {
  const where = `keys[${index}]`;
  if (typeof value !== 'object' || value === null) throw new Error(`${where} must be an object`);
  const record = value as Record<string, unknown>;
  for (const field of ['id', 'sha256', 'sub', 'tenant_id'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new Error(`${where}.${field} must be a non-empty string`);
    }
  }
  if (!/^[0-9a-fA-F]{64}$/.test(record.sha256 as string)) throw new Error(`${where}.sha256 must be 64 hex digits`);
  for (const field of ['roles', 'channels'] as const) {
    const list = record[field];
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === 'string'))) {
      throw new Error(`${where}.${field} must be an array of strings`);
    }
  }
  return record as unknown as ApiKeyRecord;
}

/**
 * An {@link ApiKeyVerifier} over a fixed list of hashed keys (the standalone
 * server's `--api-keys-file`). Every lookup compares against every entry in
 * constant time, so response time does not depend on which bytes matched.
 * `revoke(id)` drops a key and notifies listeners (live connections close).
 */
export class StaticApiKeyVerifier implements ApiKeyVerifier {
  private entries: Array<{ record: ApiKeyRecord; digest: Buffer }>;
  private readonly listeners = new Set<(keyId: string) => void>();

  constructor(records: readonly ApiKeyRecord[]) {
    const ids = new Set<string>();
    this.entries = records.map((record, index) => {
      const valid = validateRecord(record, index);
      if (ids.has(valid.id)) throw new Error(`keys[${index}].id "${valid.id}" is duplicated`);
      ids.add(valid.id);
      return { record: valid, digest: Buffer.from(valid.sha256, 'hex') };
    });
  }

  /** Reads `{"keys":[...]}` from a JSON file. */
  static async fromFile(path: string): Promise<StaticApiKeyVerifier> {
    const text = await readFile(path, 'utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`${path} is not valid JSON`, { cause: error });
    }
    const keys = (parsed as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error(`${path} must hold {"keys":[...]}`);
    return new StaticApiKeyVerifier(keys.map((key, index) => validateRecord(key, index)));
  }

  async verify(key: string): Promise<Identity | null> {
    const digest = sha256(key);
    let found: ApiKeyRecord | null = null;
    for (const entry of this.entries) {
      // No early exit: every entry is compared whatever matched.
      if (timingSafeEqual(entry.digest, digest) && found === null) found = entry.record;
    }
    if (found === null) return null;
    return {
      userId: found.sub,
      tenantId: found.tenant_id,
      roles: found.roles ?? [],
      channels: found.channels ?? [],
      credential: { kind: 'api_key', keyId: found.id },
    };
  }

  /** Revokes a key by id; returns whether it existed. */
  revoke(keyId: string): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((entry) => entry.record.id !== keyId);
    if (this.entries.length === before) return false;
    for (const listener of this.listeners) listener(keyId);
    return true;
  }

  onRevoke(listener: (keyId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
