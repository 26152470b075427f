import { describe, expect, it } from 'vitest';
import { classify, Kind, numberAfter, readDecimal, readOffset, readUint, T_KEY } from '../load/scan.js';
import { stampedPayload } from '../publisher.js';

const frame = (channel: string, offset: number, t = 1712345678901.125): Buffer =>
  Buffer.from(
    `{"type":"event","channel":"${channel}","offset":${offset},"epoch":"e1","event_type":"bench","ts":1712345678901,"payload":{"t":${t},"p":"xx"}}`,
  );

describe('readUint / readDecimal', () => {
  it('reads digits up to the first non-digit or the end', () => {
    const b = Buffer.from('x12345,9');
    expect(readUint(b, 1, b.length)).toBe(12345);
    expect(readUint(b, 1, 3)).toBe(12);
    expect(readUint(b, 0, b.length)).toBe(-1);
  });
  it('reads plain decimals with fraction and sign', () => {
    const b = Buffer.from('[1712345678901.125]');
    expect(readDecimal(b, 1, b.length)).toBeCloseTo(1712345678901.125, 3);
    expect(readDecimal(Buffer.from('-2.5'), 0, 4)).toBe(-2.5);
    expect(readDecimal(Buffer.from('7}'), 0, 2)).toBe(7);
    expect(readDecimal(Buffer.from('x'), 0, 1)).toBeNaN();
  });
});

describe('numberAfter', () => {
  it('finds the send stamp in the payload, not the `ts` field', () => {
    const f = frame('tenant:bench:updates', 3, 1700000000000.5);
    expect(numberAfter(f, T_KEY, 0, f.length)).toBe(1700000000000.5);
  });
  it('does not look past the end of the frame', () => {
    const f = Buffer.concat([Buffer.from('{"a":1}'), frame('c:x', 1)]);
    expect(numberAfter(f, T_KEY, 0, 7)).toBeNaN();
  });
  it('reads the stamp the publisher writes (64-byte payload)', () => {
    const payload = stampedPayload(1712345678901.125);
    expect(Buffer.byteLength(payload)).toBe(64);
    const b = Buffer.from(payload);
    expect(numberAfter(b, T_KEY, 0, b.length)).toBeCloseTo(1712345678901.125, 3);
  });
});

describe('readOffset', () => {
  it('learns the position once and reuses it for frames of the same channel', () => {
    const cursor = { offsetAt: 0 };
    const a = frame('tenant:bench:updates', 41);
    expect(readOffset(cursor, a, 0, a.length)).toBe(41);
    const learned = cursor.offsetAt;
    expect(learned).toBeGreaterThan(0);
    const b = frame('tenant:bench:updates', 42);
    expect(readOffset(cursor, b, 0, b.length)).toBe(42);
    expect(cursor.offsetAt).toBe(learned);
  });
  it('falls back to a search when the prefix changes', () => {
    const cursor = { offsetAt: 0 };
    const a = frame('tenant:bench:updates', 1);
    readOffset(cursor, a, 0, a.length);
    const b = frame('tenant:a-much-longer-tenant-name:updates', 99);
    expect(readOffset(cursor, b, 0, b.length)).toBe(99);
  });
  it('works inside a larger buffer and on Socket.IO event packets', () => {
    const cursor = { offsetAt: 0 };
    const inner = Buffer.from('42["event",{"channel":"c:x","offset":7,"payload":{"t":1}}]');
    const buf = Buffer.concat([Buffer.from('garbage'), inner, Buffer.from('tail')]);
    expect(readOffset(cursor, buf, 7, 7 + inner.length)).toBe(7);
  });
  it('answers -1 when there is no offset', () => {
    const b = Buffer.from('{"type":"event"}');
    expect(readOffset({ offsetAt: 0 }, b, 0, b.length)).toBe(-1);
  });
});

describe('classify', () => {
  it('tells events from control frames by their first bytes', () => {
    const ev = frame('c:x', 1);
    expect(classify(false, ev, 0, ev.length)).toBe(Kind.Event);
    for (const text of ['{"type":"error","code":"X"}', '{"type":"welcome"}', '{"type":"ack","id":1}']) {
      const b = Buffer.from(text);
      expect(classify(false, b, 0, b.length)).toBe(Kind.Control);
    }
  });
  it('knows Socket.IO events, Engine.IO pings and the rest', () => {
    const ev = Buffer.from('42["event",{}]');
    expect(classify(true, ev, 0, ev.length)).toBe(Kind.Event);
    expect(classify(true, Buffer.from('2'), 0, 1)).toBe(Kind.EnginePing);
    const open = Buffer.from('0{"sid":"x"}');
    expect(classify(true, open, 0, open.length)).toBe(Kind.Control);
    const connected = Buffer.from('40{"sid":"x"}');
    expect(classify(true, connected, 0, connected.length)).toBe(Kind.Control);
  });
});
