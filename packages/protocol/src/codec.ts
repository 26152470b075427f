import type { ServerFrame, ServerFrameType } from './frames.js';

/**
 * Encodes one frame as the JSON text sent on the wire.
 *
 * @example
 * ws.send(encodeFrame({ type: 'ping', id: 1 }));
 */
export function encodeFrame(frame: object): string {
  return JSON.stringify(frame);
}

const serverTypes: ReadonlySet<string> = new Set<ServerFrameType>([
  'welcome',
  'ack',
  'event',
  'error',
  'pong',
  'heartbeat',
  'gap',
]);

/**
 * Decodes a frame received from the server. Trusts the server for field shapes
 * (the server validates what it sends by construction) and checks only that
 * the text is a JSON object with a known `type`; returns `null` otherwise.
 */
export function decodeServerFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !serverTypes.has(type)) return null;
  return value as ServerFrame;
}
