import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';

/**
 * A fast path for HS256 compact JWTs on `node:crypto`'s HMAC (RFC 7515 §3.1,
 * RFC 7518 §3.2, RFC 7519 §7.2), beside jose's WebCrypto path, which costs
 * several times more per token (CryptoKey plumbing and the garbage it makes)
 * and is most of an authenticated connect.
 *
 * It only ever ACCEPTS. A token it accepts is one jose accepts too: the
 * checks here are jose's (signature, `exp`/`nbf` with leeway, `iat` type,
 * `iss`, `aud`) made stricter (canonical base64url, a header of only
 * `alg: "HS256"`, `typ`, `kid`; no `crit`, no `b64`, no other member). Every
 * other token (another algorithm, `none`, `crit`, a bad signature, expired,
 * not yet valid, malformed) returns `undefined`, and the caller asks jose,
 * whose verdict and error codes stay the reference.
 */
export class Hs256FastPath {
  constructor(
    private readonly key: KeyObject,
    private readonly leewaySeconds: number,
    private readonly expected: { issuer?: string; audience?: string },
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** The payload of a token that is valid beyond doubt, else `undefined` (ask jose). */
  verify(token: string): JWTPayload | undefined {
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return undefined;
    const headerPart = token.slice(0, first);
    const payloadPart = token.slice(first + 1, second);
    const signaturePart = token.slice(second + 1);
    // 32 bytes of HMAC-SHA256 are 43 base64url characters without padding.
    if (signaturePart.length !== 43 || !BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart)) return undefined;

    const expected = createHmac('sha256', this.key).update(token.slice(0, second)).digest('base64url');
    // Comparing the canonical encodings: a non-canonical signature string goes to jose.
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signaturePart))) return undefined;

    const header = parseObject(headerPart);
    if (header?.alg !== 'HS256') return undefined;
    for (const name of Object.keys(header)) {
      if (!HEADER_MEMBERS.has(name)) return undefined;
    }
    if (header.typ !== undefined && typeof header.typ !== 'string') return undefined;
    if (header.kid !== undefined && typeof header.kid !== 'string') return undefined;

    const payload = parseObject(payloadPart) as JWTPayload | undefined;
    if (!payload) return undefined;
    const now = this.nowSeconds();
    const { exp, nbf, iat } = payload;
    if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= now - this.leewaySeconds) return undefined;
    if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf) || nbf > now + this.leewaySeconds)) {
      return undefined;
    }
    if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) return undefined;
    if (this.expected.issuer !== undefined && payload.iss !== this.expected.issuer) return undefined;
    if (this.expected.audience !== undefined) {
      const aud = payload.aud;
      const ok =
        typeof aud === 'string'
          ? aud === this.expected.audience
          : Array.isArray(aud) && aud.includes(this.expected.audience);
      if (!ok) return undefined;
    }
    return payload;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

// The only header members a fast-path token may carry; anything else (crit,
// b64, jku, x5u, jwk, …) is jose's to judge.
const HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid']);

function parseObject(part: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}
