import { randomBytes } from 'node:crypto';

// The random part of every epoch of this process: a random start, then one
// more per epoch, so epochs made in the same millisecond still differ and
// making one costs no call into the random source (issue 14, item 4: one
// epoch per channel a connection is the first to name).
let next = randomBytes(4).readUInt32BE(0);

/** A new, practically unique epoch string (time-ordered prefix, random suffix). */
export function newEpoch(now = Date.now()): string {
  const suffix = next;
  next = (next + 1) >>> 0;
  return `${now.toString(36)}${suffix.toString(16).padStart(8, '0')}`;
}
