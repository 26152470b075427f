/**
 * Cheap byte scanning of received frames: the load generator must spend less
 * per frame than the server it measures, so it never JSON.parses an event.
 * Every function works on a Buffer range [start, end) without allocating.
 */

export const OFFSET_KEY = Buffer.from('"offset":');
export const T_KEY = Buffer.from('"t":');

const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
const MINUS = 0x2d;

/** Index of `key` inside [start, end), or -1. */
export function indexIn(buf: Buffer, key: Buffer, start: number, end: number): number {
  const at = buf.indexOf(key, start);
  return at >= 0 && at + key.length <= end ? at : -1;
}

/** Parses a non-negative integer of ASCII digits at `pos` (stops at the first non-digit or `end`); -1 when none. */
export function readUint(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  let digits = 0;
  for (let i = pos; i < end; i++) {
    const c = buf[i] as number;
    if (c < ZERO || c > NINE) break;
    value = value * 10 + (c - ZERO);
    digits++;
  }
  return digits === 0 ? -1 : value;
}

/** Parses a plain decimal number (`-`? digits, optional `.` digits, no exponent) at `pos`; NaN when none. */
export function readDecimal(buf: Buffer, pos: number, end: number): number {
  let i = pos;
  let negative = false;
  if (i < end && buf[i] === MINUS) {
    negative = true;
    i++;
  }
  let whole = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i] as number;
    if (c < ZERO || c > NINE) break;
    whole = whole * 10 + (c - ZERO);
    digits++;
  }
  let fraction = 0;
  let scale = 1;
  if (i < end && buf[i] === DOT) {
    for (i++; i < end; i++) {
      const c = buf[i] as number;
      if (c < ZERO || c > NINE) break;
      if (scale < 1e9) {
        fraction = fraction * 10 + (c - ZERO);
        scale *= 10;
      }
      digits++;
    }
  }
  if (digits === 0) return Number.NaN;
  const value = whole + fraction / scale;
  return negative ? -value : value;
}

/** The number after `key` inside [start, end) (e.g. the `"t":` send stamp), NaN when absent. */
export function numberAfter(buf: Buffer, key: Buffer, start: number, end: number): number {
  const at = indexIn(buf, key, start, end);
  return at < 0 ? Number.NaN : readDecimal(buf, at + key.length, end);
}

/** Per-connection memo of where the offset digits sit relative to the frame start. */
export interface OffsetCursor {
  offsetAt: number;
}

/**
 * Reads the `"offset":N` integer of an event frame. Frames of one channel
 * share their prefix, so the position found once is checked by three bytes
 * and reused; a mismatch falls back to a search. -1 when there is no offset.
 */
export function readOffset(cursor: OffsetCursor, buf: Buffer, start: number, end: number): number {
  let p = start + cursor.offsetAt;
  if (cursor.offsetAt === 0 || p >= end || buf[p - 1] !== 0x3a || buf[p - 2] !== 0x22 || buf[p - 3] !== 0x74) {
    const at = indexIn(buf, OFFSET_KEY, start, end);
    if (at < 0) return -1;
    cursor.offsetAt = at + OFFSET_KEY.length - start;
    p = start + cursor.offsetAt;
  }
  return readUint(buf, p, end);
}

/** Frame kinds the load generator tells apart by their first bytes. */
export enum Kind {
  Event = 1,
  Control = 2,
  EnginePing = 3,
}

/**
 * Albatross and the plain-ws peer send `{"type":"event",...`: bytes 9 and 10
 * are `e`,`v` only for events (`error` has `e`,`r`). Socket.IO sends
 * `42[...]` for events and `2` for an Engine.IO ping.
 */
export function classify(socketIo: boolean, buf: Buffer, start: number, end: number): Kind {
  if (socketIo) {
    if (end - start === 1 && buf[start] === 0x32) return Kind.EnginePing;
    return end - start > 2 && buf[start] === 0x34 && buf[start + 1] === 0x32 ? Kind.Event : Kind.Control;
  }
  return end - start > 11 && buf[start + 9] === 0x65 && buf[start + 10] === 0x76 && buf[start + 1] === 0x22
    ? Kind.Event
    : Kind.Control;
}
