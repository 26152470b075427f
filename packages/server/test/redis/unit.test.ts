import { describe, expect, it } from 'vitest';
import { buildEventFrame } from '../../src/broker/event-frame.js';
import { RedisBroker } from '../../src/broker/redis/broker.js';
import { clusterSeedsOf, redactRedisUrl } from '../../src/broker/redis/client.js';
import { RedisKeys, slotOf } from '../../src/broker/redis/keys.js';
import { framePieces, parsePublication } from '../../src/broker/redis/message.js';

describe('redis broker building blocks', () => {
  it('maps keys to cluster slots like Redis (CRC16/XMODEM, hash tags)', () => {
    expect(slotOf('123456789')).toBe(0x31c3);
    expect(slotOf('foo')).toBe(12182);
    const keys = new RedisKeys('albatross:');
    const channel = 'tenant:t1:updates';
    expect(slotOf(keys.meta(channel))).toBe(slotOf(keys.stream(channel)));
    expect(slotOf(keys.pubsub(channel))).toBe(slotOf(channel));
    expect(keys.channelOf(Buffer.from(keys.pubsub(channel)))).toBe(channel);
    expect(keys.channelOf(Buffer.from('other:{x}'))).toBeNull();
  });

  it('splits a blob into position and a zero-copy frame', () => {
    const { head, middle, tail } = framePieces('user:u1:updates', 'x.y', '{"a":1}', '{"user_id":"u1"}');
    const frame = `${head}7,"epoch":"e1"${middle}1700000000000${tail}`;
    expect(frame).toBe(
      buildEventFrame('user:u1:updates', 7, 'e1', 'x.y', 1700000000000, '{"a":1}', '{"user_id":"u1"}').toString(),
    );
    const blob = Buffer.from(`7 e1 1700000000000\n${frame}`);
    const publication = parsePublication('user:u1:updates', blob);
    expect(publication).toMatchObject({ channel: 'user:u1:updates', offset: 7, epoch: 'e1', ts: 1700000000000 });
    expect(publication?.data.toString()).toBe(frame);
    expect(publication?.data.buffer).toBe(blob.buffer);
    for (const bad of ['', 'no newline', 'x e1 1\n{}', '0 e1 1\n{}', '1  1\n{}']) {
      expect(parsePublication('c', Buffer.from(bad)), bad).toBeNull();
    }
  });

  it('parses cluster seed URLs and redacts passwords', () => {
    expect(clusterSeedsOf('redis://127.0.0.1:7000')).toBeNull();
    expect(clusterSeedsOf('redis://:pw@redis-a:7000,redis-b:7001')).toEqual([
      { host: 'redis-a', port: 7000 },
      { host: 'redis-b', port: 7001 },
    ]);
    expect(redactRedisUrl('redis://user:secret@h:1')).toBe('redis://user:***@h:1');
  });

  it('fails to start with UNAVAILABLE, within its bound, when Redis is unreachable', async () => {
    const broker = new RedisBroker({ url: 'redis://127.0.0.1:1', startTimeoutMs: 500, connectTimeoutMs: 200 });
    const started = Date.now();
    await expect(broker.start(() => {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Far above its 500 ms bound (a busy machine), far below a hang or the 10 s default.
    expect(Date.now() - started).toBeLessThan(8000);
    expect((await broker.health()).status).toBe('down');
    await expect(broker.publish('tenant:t1:a', { eventType: 'e', payloadJson: '1' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });
});
