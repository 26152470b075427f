import { describe, expect, it } from 'vitest';
import { isValidChannel, MAX_CHANNEL_LENGTH, parseChannel } from '../src/channel.js';

describe('isValidChannel', () => {
  it.each(['tenant:t1:updates', 'user:u1:updates', 'a:b', 'campaign:7:structures:12', 'ns_1.x-y:SEG.2_-', '0:0'])(
    'accepts %s',
    (name) => {
      expect(isValidChannel(name)).toBe(true);
    },
  );

  it.each([
    ['no colon', 'nocolon'],
    ['empty', ''],
    ['empty namespace', ':a'],
    ['empty last segment', 'a:'],
    ['empty middle segment', 'a::b'],
    ['space', 'tenant:t1:up dates'],
    ['slash', 'tenant:t1/updates'],
    ['star', 'tenant:*:updates'],
    ['non-ASCII', 'tenant:té:updates'],
    ['newline', 'tenant:t1:updates\n'],
    ['percent', 'tenant:t%31:updates'],
  ])('rejects %s', (_why, name) => {
    expect(isValidChannel(name)).toBe(false);
  });

  it('rejects non-strings', () => {
    for (const value of [undefined, null, 42, ['a:b'], { channel: 'a:b' }]) expect(isValidChannel(value)).toBe(false);
  });

  it('accepts exactly 255 bytes and rejects 256', () => {
    expect(MAX_CHANNEL_LENGTH).toBe(255);
    const at = `ns:${'x'.repeat(255 - 3)}`;
    expect(Buffer.byteLength(at)).toBe(255);
    expect(isValidChannel(at)).toBe(true);
    expect(isValidChannel(`${at}y`)).toBe(false);
  });
});

describe('parseChannel', () => {
  it('splits namespace and segments', () => {
    expect(parseChannel('campaign:7:structures:12')).toEqual({
      name: 'campaign:7:structures:12',
      namespace: 'campaign',
      segments: ['7', 'structures', '12'],
    });
  });

  it('returns null for an invalid name', () => {
    expect(parseChannel('nocolon')).toBeNull();
    expect(parseChannel('a::b')).toBeNull();
  });
});
