import type { ServerFrame } from '@albatross/protocol';
import type { TestClient } from '../../support/harness.js';

export type EventFrame = Extract<ServerFrame, { type: 'event' }>;
export type GapFrame = Extract<ServerFrame, { type: 'gap' }>;

/**
 * Reads frames until `client` has seen `count` events (bounded by
 * `timeoutMs`); returns every event and gap frame, in arrival order.
 * Heartbeats and other frames are skipped.
 */
export async function readEvents(
  client: TestClient,
  count: number,
  timeoutMs = 15_000,
): Promise<Array<EventFrame | GapFrame>> {
  const out: Array<EventFrame | GapFrame> = [];
  const deadline = Date.now() + timeoutMs;
  let events = 0;
  while (events < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out after ${events}/${count} events: ${summary(out)}`);
    let frame: ServerFrame;
    try {
      frame = await client.next(undefined, left);
    } catch (error) {
      throw new Error(`${(error as Error).message} after ${events}/${count} events: ${summary(out)}`);
    }
    if (frame.type === 'event') {
      out.push(frame);
      events += 1;
    } else if (frame.type === 'gap') {
      out.push(frame);
    }
  }
  return out;
}

function summary(frames: ReadonlyArray<EventFrame | GapFrame>): string {
  return frames
    .slice(-20)
    .map((f) => `${f.type}:${f.channel}@${f.offset}`)
    .join(' ');
}

/** Offsets of the events of one channel, in arrival order. */
export function offsetsOf(frames: ReadonlyArray<EventFrame | GapFrame>, channel: string): number[] {
  return frames.filter((f) => f.type === 'event' && f.channel === channel).map((f) => f.offset);
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
