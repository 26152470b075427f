import type { BrokerPublication } from '../types.js';

const NEWLINE = 10;
const MAX_HEADER = 128;

/**
 * Splits a publication blob (`<offset> <epoch> <ts>\n<frame>`) into its
 * position and the event frame. `data` is a view into `blob`: no copy.
 * Returns null for anything that is not a well-formed blob.
 */
export function parsePublication(channel: string, blob: Buffer): BrokerPublication | null {
  const newline = blob.indexOf(NEWLINE);
  if (newline < 5 || newline > MAX_HEADER) return null;
  const header = blob.toString('latin1', 0, newline);
  const first = header.indexOf(' ');
  const second = header.indexOf(' ', first + 1);
  if (first < 1 || second < first + 2) return null;
  const offset = Number(header.slice(0, first));
  const epoch = header.slice(first + 1, second);
  const ts = Number(header.slice(second + 1));
  if (!Number.isSafeInteger(offset) || offset < 1 || !Number.isSafeInteger(ts)) return null;
  return { channel, offset, epoch, ts, data: blob.subarray(newline + 1) };
}

/**
 * The three constant parts of an event frame around the values only the
 * publish script knows (offset, epoch, ts), in docs/protocol.md field order.
 */
export function framePieces(
  channel: string,
  eventType: string,
  payloadJson: string,
  metaJson: string | undefined,
): { head: string; middle: string; tail: string } {
  return {
    head: `{"type":"event","channel":${JSON.stringify(channel)},"offset":`,
    middle: `,"event_type":${JSON.stringify(eventType)},"ts":`,
    tail: `,"payload":${payloadJson}${metaJson === undefined ? '}' : `,"meta":${metaJson}}`}`,
  };
}
