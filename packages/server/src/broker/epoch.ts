import { randomBytes } from 'node:crypto';

/** A new, practically unique epoch string (time-ordered prefix, random suffix). */
export function newEpoch(now = Date.now()): string {
  return `${now.toString(36)}${randomBytes(4).toString('hex')}`;
}
