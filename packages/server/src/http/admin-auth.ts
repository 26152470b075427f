import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@albatross/protocol';
import { AlbatrossError } from '../errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Checks `Authorization: Bearer <admin key>` in constant time (both sides are
 * hashed first, so lengths leak nothing either). Throws `UNAUTHORIZED`.
 */
export function createAdminCheck(adminKey: string | undefined): (req: IncomingMessage) => void {
  const expected = adminKey === undefined ? null : digest(adminKey);
  return (req) => {
    if (!expected) throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'admin API disabled: no admin key configured');
    const match = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      throw new AlbatrossError(ErrorCode.UNAUTHORIZED, 'a valid admin key is required (Authorization: Bearer <key>)');
    }
  };
}
