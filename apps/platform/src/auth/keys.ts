import { randomUUID } from 'node:crypto';
import type { SqlEventStore } from '@albatross/cqrs';
import type { Jwks } from '@albatross/platform-api';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';

/** Lifetime of an access token, seconds. */
export const ACCESS_TOKEN_TTL_S = 15 * 60;
/** How often a node reloads the key set from the store (picks up `albatross keys rotate`), ms. */
const RELOAD_MS = 30_000;
/**
 * How long a retired key stays published: tokens it signed live
 * {@link ACCESS_TOKEN_TTL_S}, and a node may sign with it until its next
 * reload; a minute of margin for clock skew.
 */
const RETIRED_PUBLISHED_S = ACCESS_TOKEN_TTL_S + RELOAD_MS / 1000 + 60;

interface KeyRow extends Record<string, unknown> {
  kid: string;
  private_jwk: JWK;
  public_jwk: JWK;
  created_at: unknown;
  retired_at: unknown;
}

/** What jose's importJWK gives (a WebCrypto key). */
type SigningKey = Awaited<ReturnType<typeof importJWK>>;

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  privateKey: SigningKey;
  publicKey: SigningKey;
  retired: boolean;
}

async function newKeyRow(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateJwk, publicJwk };
}

/**
 * Adds a new signing key and retires the current ones (they stay published
 * until the tokens they signed have expired). What `albatross keys rotate` runs.
 */
export async function rotateSigningKey(store: SqlEventStore): Promise<string> {
  const row = await newKeyRow();
  await store.driver.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('albatross.platform.keys', 0))`);
    await tx.query('UPDATE platform_signing_keys SET retired_at = now() WHERE retired_at IS NULL');
    await tx.query('INSERT INTO platform_signing_keys (kid, private_jwk, public_jwk) VALUES ($1, $2, $3)', [
      row.kid,
      JSON.stringify(row.privateJwk),
      JSON.stringify(row.publicJwk),
    ]);
  });
  return row.kid;
}

/** Claims of a platform access token (what the gateway expects, plus `jti`). */
export interface AccessClaims {
  sub: string;
  tenant_id: string;
  roles: string[];
}

/**
 * The platform's ES256 signing keys, kept in the store: created on first
 * start (one key, whichever node gets there first), reloaded every 30 s so
 * a rotation reaches every node.
 */
export class SigningKeys {
  readonly #store: SqlEventStore;
  #keys: LoadedKey[] = [];
  #loadedAt = 0;
  #loading: Promise<void> | null = null;

  constructor(store: SqlEventStore) {
    this.#store = store;
  }

  /** Creates the first key when there is none, then loads the set. */
  async init(): Promise<void> {
    const row = await newKeyRow();
    await this.#store.driver.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('albatross.platform.keys', 0))`);
      const [active] = await tx.query('SELECT kid FROM platform_signing_keys WHERE retired_at IS NULL LIMIT 1');
      if (active) return;
      await tx.query('INSERT INTO platform_signing_keys (kid, private_jwk, public_jwk) VALUES ($1, $2, $3)', [
        row.kid,
        JSON.stringify(row.privateJwk),
        JSON.stringify(row.publicJwk),
      ]);
    });
    await this.reload();
  }

  /** Reads the published keys from the store. */
  async reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const rows = await this.#store.driver.query<KeyRow & { retired: boolean }>(
          `SELECT kid, private_jwk, public_jwk, retired_at IS NOT NULL AS retired FROM platform_signing_keys
           WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
           ORDER BY created_at DESC, kid`,
          [RETIRED_PUBLISHED_S],
        );
        const keys: LoadedKey[] = [];
        for (const row of rows) {
          const privateJwk = typeof row.private_jwk === 'string' ? JSON.parse(row.private_jwk) : row.private_jwk;
          const publicJwk = typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk;
          keys.push({
            kid: row.kid,
            publicJwk,
            privateKey: await importJWK(privateJwk, 'ES256'),
            publicKey: await importJWK(publicJwk, 'ES256'),
            retired: row.retired,
          });
        }
        this.#keys = keys;
        this.#loadedAt = Date.now();
      } finally {
        this.#loading = null;
      }
    })();
    return this.#loading;
  }

  async #fresh(): Promise<void> {
    if (Date.now() - this.#loadedAt > RELOAD_MS) await this.reload();
  }

  /** The public keys to publish at `/.well-known/jwks.json`. */
  async jwks(): Promise<Jwks> {
    await this.#fresh();
    return { keys: this.#keys.map((key) => key.publicJwk as Jwks['keys'][number]) };
  }

  /** Signs an access token with the newest key. */
  async sign(claims: AccessClaims): Promise<string> {
    await this.#fresh();
    const key = this.#keys.find((k) => !k.retired) ?? this.#keys[0];
    if (!key) throw new Error('no signing key: SigningKeys.init() was not called');
    return new SignJWT({ tenant_id: claims.tenant_id, roles: claims.roles })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${ACCESS_TOKEN_TTL_S}s`)
      .sign(key.privateKey);
  }

  /** Verifies an access token; throws (jose's errors) when it is invalid or expired. */
  async verify(token: string): Promise<JWTPayload & Partial<AccessClaims>> {
    await this.#fresh();
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        let key = this.#keys.find((k) => k.kid === header.kid);
        if (!key && Date.now() - this.#loadedAt > 5000) {
          // Signed by a node that rotated since our last reload (at most one reload per 5 s, so
          // tokens with made-up key ids cannot hammer the store).
          await this.reload();
          key = this.#keys.find((k) => k.kid === header.kid);
        }
        if (!key) throw new Error('unknown key id');
        return key.publicKey;
      },
      { algorithms: ['ES256'], clockTolerance: 30 },
    );
    return payload;
  }
}
