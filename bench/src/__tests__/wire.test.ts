import { describe, expect, it } from 'vitest';
import { encodeClientFrame, type FrameSink, WireConn } from '../load/wire.js';

/** An unmasked server frame, as a server sends it. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(len, 6);
  }
  payload.copy(out, head);
  return out;
}

function openConn(): { conn: WireConn; messages: string[] } {
  const messages: string[] = [];
  const sink: FrameSink = {
    onMessage: (_c, buf, start, end) => messages.push(buf.toString('utf8', start, end)),
    onOpen: () => undefined,
    onClose: () => undefined,
  };
  const conn = new WireConn({ host: '127.0.0.1', port: 1, path: '/ws' }, sink, { wireBytes: 0, reads: 0 });
  conn.open = true;
  return { conn, messages };
}

/** Feeds `data` through the connection in chunks of `size`, reusing one read buffer like net's onread does. */
function feed(conn: WireConn, data: Buffer, size: number): void {
  const shared = Buffer.alloc(size);
  for (let at = 0; at < data.length; at += size) {
    const n = data.copy(shared, 0, at, Math.min(data.length, at + size));
    conn.onData(shared, n);
    shared.fill(0x21);
  }
}

describe('WireConn frame parsing', () => {
  const texts = ['{"type":"event","offset":1}', 'x'.repeat(300), '{"type":"event","offset":2}'];
  const stream = Buffer.concat(texts.map((t) => serverFrame(0x1, Buffer.from(t))));

  for (const size of [1, 3, 7, 64, 1000]) {
    it(`delivers every message intact when reads are ${size} bytes`, () => {
      const { conn, messages } = openConn();
      feed(conn, stream, size);
      expect(messages).toEqual(texts);
    });
  }

  it('handles 64-bit lengths and frames longer than one read', () => {
    const big = ['y'.repeat(70_000), 'z'];
    const data = Buffer.concat(big.map((t) => serverFrame(0x1, Buffer.from(t))));
    for (const size of [4096, 100_000]) {
      const { conn, messages } = openConn();
      feed(conn, data, size);
      expect(messages).toEqual(big);
    }
  });

  it('reassembles fragmented messages', () => {
    const { conn, messages } = openConn();
    const data = Buffer.concat([
      serverFrame(0x1, Buffer.from('hel'), false),
      serverFrame(0x0, Buffer.from('lo '), false),
      serverFrame(0x0, Buffer.from('world'), true),
    ]);
    feed(conn, data, 4);
    expect(messages).toEqual(['hello world']);
  });

  it('counts wire bytes', () => {
    const counters = { wireBytes: 0, reads: 0 };
    const sink: FrameSink = { onMessage: () => undefined, onOpen: () => undefined, onClose: () => undefined };
    const conn = new WireConn({ host: '127.0.0.1', port: 1, path: '/' }, sink, counters);
    conn.open = true;
    feed(conn, stream, 512);
    expect(counters.wireBytes).toBe(stream.length);
  });
});

describe('encodeClientFrame', () => {
  it('masks the payload with the key it carries', () => {
    for (const size of [5, 200, 70_000]) {
      const payload = Buffer.from('z'.repeat(size));
      const frame = encodeClientFrame(0x1, payload);
      expect(frame[0]).toBe(0x81);
      expect((frame[1] as number) & 0x80).toBe(0x80);
      const head = size < 126 ? 6 : size < 65536 ? 8 : 14;
      const key = frame.subarray(head - 4, head);
      const unmasked = Buffer.from(frame.subarray(head).map((b, i) => b ^ (key[i & 3] as number)));
      expect(unmasked.equals(payload)).toBe(true);
    }
  });
});
