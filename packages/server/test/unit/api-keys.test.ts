import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiKeyRecord, StaticApiKeyVerifier } from '../../src/auth/api-keys.js';
import { sha256Hex } from '../support/harness.js';

const record = (id: string, key: string, extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  sha256: sha256Hex(key),
  sub: `svc-${id}`,
  tenant_id: 't1',
  ...extra,
});

describe('StaticApiKeyVerifier', () => {
  it('verifies a key by its SHA-256 and returns its identity', async () => {
    const verifier = new StaticApiKeyVerifier([
      record('k1', 'key-one', { roles: ['Service'], channels: ['campaign:7:x'] }),
      record('k2', 'key-two', { tenant_id: 't2' }),
    ]);
    expect(await verifier.verify('key-one')).toEqual({
      userId: 'svc-k1',
      tenantId: 't1',
      roles: ['Service'],
      channels: ['campaign:7:x'],
      credential: { kind: 'api_key', keyId: 'k1' },
    });
    const two = await verifier.verify('key-two');
    expect(two).toMatchObject({ userId: 'svc-k2', tenantId: 't2', roles: [], channels: [] });
    expect(two).not.toHaveProperty('exp');
    expect(await verifier.verify('key-three')).toBeNull();
    expect(await verifier.verify('')).toBeNull();
    expect(await verifier.verify(sha256Hex('key-one'))).toBeNull(); // the hash itself is not a key
  });

  it('accepts upper-case hex', async () => {
    const verifier = new StaticApiKeyVerifier([
      { ...record('k1', 'key-one'), sha256: sha256Hex('key-one').toUpperCase() },
    ]);
    expect((await verifier.verify('key-one'))?.userId).toBe('svc-k1');
  });

  it('validates every record, naming the field', () => {
    const ok = record('k1', 'x');
    const cases: Array<[unknown, RegExp]> = [
      [null, /keys\[0\] must be an object/],
      ['k', /keys\[0\] must be an object/],
      [{ ...ok, id: '' }, /keys\[0\]\.id/],
      [{ ...ok, id: 5 }, /keys\[0\]\.id/],
      [{ ...ok, sub: undefined }, /keys\[0\]\.sub/],
      [{ ...ok, tenant_id: '' }, /keys\[0\]\.tenant_id/],
      [{ ...ok, sha256: 'abc' }, /keys\[0\]\.sha256 must be 64 hex/],
      [{ ...ok, sha256: 'g'.repeat(64) }, /keys\[0\]\.sha256/],
      [{ ...ok, roles: 'Admin' }, /keys\[0\]\.roles/],
      [{ ...ok, roles: [1] }, /keys\[0\]\.roles/],
      [{ ...ok, channels: {} }, /keys\[0\]\.channels/],
    ];
    for (const [value, message] of cases) {
      expect(() => new StaticApiKeyVerifier([value as ApiKeyRecord]), JSON.stringify(value)).toThrow(message);
    }
  });

  it('refuses duplicate ids', () => {
    expect(() => new StaticApiKeyVerifier([record('k1', 'a'), record('k2', 'b'), record('k1', 'c')])).toThrow(
      /keys\[2\]\.id "k1" is duplicated/,
    );
  });

  it('revoke() drops the key, notifies listeners with its id, and reports whether it existed', async () => {
    const verifier = new StaticApiKeyVerifier([record('k1', 'key-one'), record('k2', 'key-two')]);
    const heard: string[] = [];
    const heardToo: string[] = [];
    const off = verifier.onRevoke((id) => heard.push(id));
    verifier.onRevoke((id) => heardToo.push(id));
    expect(verifier.revoke('k1')).toBe(true);
    expect(await verifier.verify('key-one')).toBeNull();
    expect((await verifier.verify('key-two'))?.userId).toBe('svc-k2');
    expect(heard).toEqual(['k1']);
    expect(verifier.revoke('k1')).toBe(false);
    expect(verifier.revoke('nope')).toBe(false);
    expect(heard).toEqual(['k1']);
    off();
    expect(verifier.revoke('k2')).toBe(true);
    expect(heard).toEqual(['k1']);
    expect(heardToo).toEqual(['k1', 'k2']);
  });
});

describe('StaticApiKeyVerifier.fromFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'albatross-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('reads {"keys":[...]}', async () => {
    const path = await file('ok.json', JSON.stringify({ keys: [record('k1', 'key-one')] }));
    const verifier = await StaticApiKeyVerifier.fromFile(path);
    expect((await verifier.verify('key-one'))?.credential).toEqual({ kind: 'api_key', keyId: 'k1' });
  });

  it('accepts an empty key list', async () => {
    const verifier = await StaticApiKeyVerifier.fromFile(await file('empty.json', '{"keys":[]}'));
    expect(await verifier.verify('anything')).toBeNull();
  });

  it('reports invalid JSON, a wrong shape, a bad record, duplicates and a missing file', async () => {
    await expect(StaticApiKeyVerifier.fromFile(await file('bad.json', '{keys:'))).rejects.toThrow(/not valid JSON/);
    for (const text of ['[]', 'null', '{}', '{"keys":{}}', '"keys"']) {
      await expect(StaticApiKeyVerifier.fromFile(await file('shape.json', text))).rejects.toThrow(/must hold/);
    }
    await expect(
      StaticApiKeyVerifier.fromFile(await file('rec.json', JSON.stringify({ keys: [{ id: 'k1' }] }))),
    ).rejects.toThrow(/keys\[0\]\.sha256|keys\[0\]\.sub/);
    await expect(
      StaticApiKeyVerifier.fromFile(
        await file('dup.json', JSON.stringify({ keys: [record('k1', 'a'), record('k1', 'b')] })),
      ),
    ).rejects.toThrow(/duplicated/);
    await expect(StaticApiKeyVerifier.fromFile(join(dir, 'missing.json'))).rejects.toThrow();
  });
});
