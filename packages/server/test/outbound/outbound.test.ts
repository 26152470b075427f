import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';

// ws exports its frame parser at runtime but not in its typings.
const { Receiver } = createRequire(import.meta.url)('ws') as {
  Receiver: new (options: {
    isServer: boolean;
  }) => {
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
    write(chunk: Buffer): void;
  };
};

import { Coalescer, type WritableSocket } from '../../src/outbound/coalescer.js';
import { textFrame } from '../../src/outbound/frame.js';

/** Parses frames with ws's own receiver, as a client would (server frames are unmasked). */
function decode(bytes: Buffer): string[] {
  const messages: string[] = [];
  const receiver = new Receiver({ isServer: false });
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString());
  });
  receiver.write(bytes);
  return messages;
}

describe('textFrame', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 200_000])(
    'frames a %i-byte payload that a WebSocket receiver reads back',
    (size) => {
      const text = 'é'.repeat(Math.floor(size / 2)) + 'a'.repeat(size % 2);
      const payload = Buffer.from(text);
      expect(payload.length).toBe(size);
      const frame = textFrame(payload);
      expect(frame[0]).toBe(0x81);
      expect(decode(frame)).toEqual([text]);
    },
  );
});

class FakeSocket implements WritableSocket {
  destroyed = false;
  writableLength = 0;
  corked = 0;
  writes: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.writes.push(chunk);
    return true;
  }
  cork(): void {
    this.corked += 1;
  }
  uncork(): void {}
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('sends every frame queued in one turn in one write, in order', async () => {
    const socket = new FakeSocket();
    const outbox = new Coalescer().outbox(socket);
    for (let i = 0; i < 100; i++) outbox.push(textFrame(Buffer.from(`{"n":${i}}`)));
    expect(socket.writes).toHaveLength(0);
    expect(outbox.bufferedAmount).toBeGreaterThan(0);
    await turn();
    expect(socket.writes).toHaveLength(1);
    expect(decode(Buffer.concat(socket.writes))).toEqual(Array.from({ length: 100 }, (_, i) => `{"n":${i}}`));
    expect(outbox.bufferedAmount).toBe(0);
  });

  it('writes large batches corked, without copying them together', async () => {
    const socket = new FakeSocket();
    const outbox = new Coalescer().outbox(socket);
    const big = textFrame(Buffer.alloc(40_000, 'x'));
    outbox.push(big);
    outbox.push(big);
    await turn();
    expect(socket.corked).toBe(1);
    expect(socket.writes).toEqual([big, big]);
  });

  it('flush() writes at once (before a close frame) and writes nothing to a destroyed socket', async () => {
    const socket = new FakeSocket();
    const outbox = new Coalescer().outbox(socket);
    outbox.push(textFrame(Buffer.from('a')));
    outbox.flush();
    expect(socket.writes).toHaveLength(1);
    socket.destroyed = true;
    outbox.push(textFrame(Buffer.from('b')));
    await turn();
    expect(socket.writes).toHaveLength(1);
  });

  it('honours a bounded delay', () => {
    // Fake timers: on a busy machine a real 20 ms timer can fire before the next turn.
    vi.useFakeTimers();
    try {
      const socket = new FakeSocket();
      const outbox = new Coalescer(20).outbox(socket);
      outbox.push(textFrame(Buffer.from('a')));
      vi.advanceTimersByTime(19);
      expect(socket.writes).toHaveLength(0);
      outbox.push(textFrame(Buffer.from('b')));
      vi.advanceTimersByTime(1);
      expect(socket.writes).toHaveLength(1);
      expect(decode(Buffer.concat(socket.writes))).toEqual(['a', 'b']);
    } finally {
      vi.useRealTimers();
    }
  });
});
