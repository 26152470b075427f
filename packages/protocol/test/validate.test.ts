import { describe, expect, it } from 'vitest';
import {
  jsonDepthExceeds,
  MAX_CHANNELS_PER_FRAME,
  MAX_EPOCH_LENGTH,
  MAX_JSON_DEPTH,
  MAX_TOKEN_LENGTH,
  type ParseResult,
  parseClientFrame,
  parsePublishRequest,
} from '../src/validate.js';

const parse = (value: unknown): ParseResult => parseClientFrame(JSON.stringify(value));

function failure(result: ParseResult): { code: string; message: string; id?: number } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

describe('parseClientFrame: valid frames', () => {
  it('auth with and without id', () => {
    expect(parse({ type: 'auth', token: 'abc' })).toEqual({ ok: true, frame: { type: 'auth', token: 'abc' } });
    expect(parse({ type: 'auth', token: 'abc', id: 7 })).toEqual({
      ok: true,
      frame: { type: 'auth', token: 'abc', id: 7 },
    });
  });

  it('auth at the bounds of its token and id, unknown members dropped (the fast path keeps the schema output)', () => {
    const longest = 'x'.repeat(MAX_TOKEN_LENGTH);
    expect(parse({ type: 'auth', token: longest, id: 0 })).toEqual({
      ok: true,
      frame: { type: 'auth', token: longest, id: 0 },
    });
    expect(parse({ type: 'auth', token: 'a', id: Number.MAX_SAFE_INTEGER, extra: 1, nested: { x: [1] } })).toEqual({
      ok: true,
      frame: { type: 'auth', token: 'a', id: Number.MAX_SAFE_INTEGER },
    });
    expect(parseClientFrame('{"type":"auth","token":"t","__proto__":{"id":5}}')).toEqual({
      ok: true,
      frame: { type: 'auth', token: 't' },
    });
    expect(failure(parse({ type: 'auth', token: 'a', id: Number.MAX_SAFE_INTEGER + 2 })).code).toBe('INVALID_MESSAGE');
  });

  it('subscribe with strings, objects and since', () => {
    const frame = {
      type: 'subscribe',
      id: 1,
      channels: [
        'tenant:t1:updates',
        { channel: 'user:u1:updates' },
        { channel: 'user:u1:apikeys', since: { offset: 41, epoch: 'e1' } },
      ],
    };
    expect(parse(frame)).toEqual({ ok: true, frame });
  });

  it('subscribe passes syntactically bad channel names through (rejected per channel later)', () => {
    const frame = { type: 'subscribe', id: 1, channels: ['nocolon', 'a::b'] };
    expect(parse(frame)).toEqual({ ok: true, frame });
  });

  it('unsubscribe', () => {
    const frame = { type: 'unsubscribe', id: 2, channels: ['a:b'] };
    expect(parse(frame)).toEqual({ ok: true, frame });
  });

  it('ping with and without id; id 0 and MAX_SAFE_INTEGER are valid', () => {
    expect(parse({ type: 'ping' })).toEqual({ ok: true, frame: { type: 'ping' } });
    expect(parse({ type: 'ping', id: 3 })).toEqual({ ok: true, frame: { type: 'ping', id: 3 } });
    expect(parse({ type: 'ping', id: 0 })).toEqual({ ok: true, frame: { type: 'ping', id: 0 } });
    expect(parse({ type: 'ping', id: Number.MAX_SAFE_INTEGER }).ok).toBe(true);
  });

  it('drops unknown extra fields', () => {
    expect(parse({ type: 'ping', id: 1, extra: { deep: true } })).toEqual({ ok: true, frame: { type: 'ping', id: 1 } });
  });

  it('since.offset 0 is valid', () => {
    expect(
      parse({ type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: 0, epoch: 'e' } }] }).ok,
    ).toBe(true);
  });
});

describe('parseClientFrame: invalid frames', () => {
  it('invalid JSON is INVALID_MESSAGE without id', () => {
    for (const text of ['', '{', '{"type":"ping",}', 'ping', "{'type':'ping'}", '\u0000']) {
      const r = failure(parseClientFrame(text));
      expect(r.code).toBe('INVALID_MESSAGE');
      expect(r.id).toBeUndefined();
    }
  });

  it('non-object JSON is INVALID_MESSAGE', () => {
    for (const text of ['null', '1', '"ping"', 'true', '[]', '[{"type":"ping","id":1}]']) {
      const r = failure(parseClientFrame(text));
      expect(r.code).toBe('INVALID_MESSAGE');
      expect(r.message).toMatch(/object/);
      expect(r.id).toBeUndefined();
    }
  });

  it('missing or non-string type is INVALID_MESSAGE, echoing a valid id', () => {
    expect(failure(parse({ id: 4 }))).toMatchObject({ code: 'INVALID_MESSAGE', id: 4 });
    expect(failure(parse({ type: 1, id: 5 }))).toMatchObject({ code: 'INVALID_MESSAGE', id: 5 });
    expect(failure(parse({ type: null }))).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(failure(parse({ type: ['ping'] })).code).toBe('INVALID_MESSAGE');
  });

  it('unknown type is UNKNOWN_TYPE with the id echoed', () => {
    expect(failure(parse({ type: 'publish', id: 9 }))).toMatchObject({ code: 'UNKNOWN_TYPE', id: 9 });
    expect(failure(parse({ type: 'PING', id: 10 }))).toMatchObject({ code: 'UNKNOWN_TYPE', id: 10 });
    const noId = failure(parse({ type: 'welcome' }));
    expect(noId.code).toBe('UNKNOWN_TYPE');
    expect(noId).not.toHaveProperty('id');
  });

  it('inherited property names are unknown types, not crashes', () => {
    for (const type of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(failure(parse({ type, id: 1 }))).toMatchObject({ code: 'UNKNOWN_TYPE', id: 1 });
    }
    // A literal "__proto__" key in JSON text.
    expect(failure(parseClientFrame('{"__proto__":{"type":"ping"},"id":1}')).code).toBe('INVALID_MESSAGE');
  });

  it('unknown-type message truncates a huge type', () => {
    const r = failure(parse({ type: 'x'.repeat(10_000) }));
    expect(r.code).toBe('UNKNOWN_TYPE');
    expect(r.message.length).toBeLessThan(200);
  });

  it('does not echo an id that is not a non-negative safe integer', () => {
    for (const id of ['1', -1, 1.5, Number.MAX_SAFE_INTEGER + 2, null, true, { n: 1 }]) {
      const r = failure(parse({ type: 'nope', id }));
      expect(r.code).toBe('UNKNOWN_TYPE');
      expect(r).not.toHaveProperty('id');
    }
  });

  const wrongFields: Array<[string, unknown]> = [
    // auth
    ['auth without token', { type: 'auth', id: 1 }],
    ['auth token number', { type: 'auth', token: 42, id: 1 }],
    ['auth token empty', { type: 'auth', token: '', id: 1 }],
    ['auth token null', { type: 'auth', token: null, id: 1 }],
    ['auth token too long', { type: 'auth', token: 'x'.repeat(MAX_TOKEN_LENGTH + 1), id: 1 }],
    ['auth id string', { type: 'auth', token: 'a', id: '1' }],
    ['auth id negative', { type: 'auth', token: 'a', id: -1 }],
    ['auth id float', { type: 'auth', token: 'a', id: 1.5 }],
    // subscribe
    ['subscribe without id', { type: 'subscribe', channels: ['a:b'] }],
    ['subscribe id string', { type: 'subscribe', id: '1', channels: ['a:b'] }],
    ['subscribe id null', { type: 'subscribe', id: null, channels: ['a:b'] }],
    ['subscribe without channels', { type: 'subscribe', id: 1 }],
    ['subscribe channels string', { type: 'subscribe', id: 1, channels: 'a:b' }],
    ['subscribe channels object', { type: 'subscribe', id: 1, channels: { channel: 'a:b' } }],
    ['subscribe channels empty', { type: 'subscribe', id: 1, channels: [] }],
    ['subscribe channel number', { type: 'subscribe', id: 1, channels: [42] }],
    ['subscribe channel null', { type: 'subscribe', id: 1, channels: [null] }],
    ['subscribe entry without channel', { type: 'subscribe', id: 1, channels: [{ since: { offset: 1, epoch: 'e' } }] }],
    ['subscribe entry channel number', { type: 'subscribe', id: 1, channels: [{ channel: 7 }] }],
    ['subscribe channel too long', { type: 'subscribe', id: 1, channels: [`a:${'x'.repeat(2000)}`] }],
    ['since not object', { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: 4 }] }],
    ['since null', { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: null }] }],
    ['since without epoch', { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: 1 } }] }],
    ['since without offset', { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { epoch: 'e' } }] }],
    [
      'since offset string',
      { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: '1', epoch: 'e' } }] },
    ],
    [
      'since offset negative',
      { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: -1, epoch: 'e' } }] },
    ],
    [
      'since offset float',
      { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: 1.5, epoch: 'e' } }] },
    ],
    [
      'since epoch empty',
      { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: 1, epoch: '' } }] },
    ],
    [
      'since epoch number',
      { type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: 1, epoch: 5 } }] },
    ],
    [
      'since epoch too long',
      {
        type: 'subscribe',
        id: 1,
        channels: [{ channel: 'a:b', since: { offset: 1, epoch: 'e'.repeat(MAX_EPOCH_LENGTH + 1) } }],
      },
    ],
    // unsubscribe
    ['unsubscribe without id', { type: 'unsubscribe', channels: ['a:b'] }],
    ['unsubscribe id string', { type: 'unsubscribe', id: 'x', channels: ['a:b'] }],
    ['unsubscribe channels empty', { type: 'unsubscribe', id: 1, channels: [] }],
    ['unsubscribe channel object', { type: 'unsubscribe', id: 1, channels: [{ channel: 'a:b' }] }],
    ['unsubscribe channels string', { type: 'unsubscribe', id: 1, channels: 'a:b' }],
    // ping
    ['ping id string', { type: 'ping', id: '3' }],
    ['ping id negative', { type: 'ping', id: -3 }],
    ['ping id float', { type: 'ping', id: 3.25 }],
    ['ping id unsafe', { type: 'ping', id: 2 ** 60 }],
    ['ping id null', { type: 'ping', id: null }],
  ];
  it.each(wrongFields)('%s is INVALID_MESSAGE', (_why, frame) => {
    const r = failure(parse(frame));
    expect(r.code).toBe('INVALID_MESSAGE');
    expect(r.message.length).toBeGreaterThan(0);
  });

  it('echoes a valid id on a frame invalid for another reason', () => {
    expect(failure(parse({ type: 'subscribe', id: 12, channels: 'a:b' }))).toMatchObject({
      code: 'INVALID_MESSAGE',
      id: 12,
    });
    expect(failure(parse({ type: 'auth', id: 13 }))).toMatchObject({ code: 'INVALID_MESSAGE', id: 13 });
  });

  it('names the offending field in the message', () => {
    expect(
      failure(parse({ type: 'subscribe', id: 1, channels: [{ channel: 'a:b', since: { offset: -1, epoch: 'e' } }] }))
        .message,
    ).toMatch(/channels\.0\.since\.offset|channels/);
    expect(failure(parse({ type: 'auth', token: 5 })).message).toMatch(/token/);
  });

  it('bounds channel arrays at MAX_CHANNELS_PER_FRAME', () => {
    const at = Array.from({ length: MAX_CHANNELS_PER_FRAME }, (_, i) => `a:${i}`);
    expect(parse({ type: 'subscribe', id: 1, channels: at }).ok).toBe(true);
    expect(parse({ type: 'unsubscribe', id: 1, channels: at }).ok).toBe(true);
    const over = [...at, 'a:over'];
    expect(failure(parse({ type: 'subscribe', id: 1, channels: over }))).toMatchObject({
      code: 'INVALID_MESSAGE',
      id: 1,
    });
    expect(failure(parse({ type: 'unsubscribe', id: 2, channels: over }))).toMatchObject({
      code: 'INVALID_MESSAGE',
      id: 2,
    });
  });

  it('survives deeply nested JSON', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(failure(parseClientFrame(deep)).code).toBe('INVALID_MESSAGE');
    // Even in a field the schema would drop: the depth bound comes before the schema.
    const nested = `{"type":"ping","id":1,"x":${deep}}`;
    expect(parseClientFrame(nested)).toMatchObject({ ok: false, code: 'INVALID_MESSAGE', id: 1 });
  });
});

describe('parsePublishRequest', () => {
  const ok = (value: unknown) => {
    const r = parsePublishRequest(value);
    if (!r.ok) throw new Error(`expected ok: ${r.message}`);
    return r.request;
  };
  const bad = (value: unknown) => {
    const r = parsePublishRequest(value);
    if (r.ok) throw new Error(`expected failure for ${JSON.stringify(value)}`);
    expect(r.code).toBe('INVALID_MESSAGE');
    return r.message;
  };

  it('accepts one channel or several, with meta and idempotency key', () => {
    expect(ok({ channel: 'tenant:t1:updates', event_type: 'x', payload: { a: 1 } })).toEqual({
      channel: 'tenant:t1:updates',
      event_type: 'x',
      payload: { a: 1 },
    });
    const full = {
      channels: ['a:b', 'c:d'],
      event_type: 'structure.changed',
      payload: [1, 'two', null],
      meta: { user_id: 'u1', source: 'api', correlation_id: 'c1', changed_fields: ['name'], extra: { n: 1 } },
      idempotency_key: 'k1',
    };
    expect(ok(full)).toEqual(full);
  });

  it('payload may be any JSON value, including null, false, 0 and ""', () => {
    for (const payload of [null, false, 0, '', [], {}, 'text', 1.5]) {
      expect(ok({ channel: 'a:b', event_type: 'x', payload }).payload).toEqual(payload);
    }
  });

  it('payload is required', () => {
    expect(bad({ channel: 'a:b', event_type: 'x' })).toMatch(/payload/);
    expect(bad({ channel: 'a:b', event_type: 'x', payload: undefined })).toMatch(/payload/);
  });

  it('payload must be JSON', () => {
    bad({ channel: 'a:b', event_type: 'x', payload: () => 1 });
    bad({ channel: 'a:b', event_type: 'x', payload: 10n });
  });

  it('channel and channels are mutually exclusive, and one is required', () => {
    expect(bad({ channel: 'a:b', channels: ['c:d'], event_type: 'x', payload: 1 })).toMatch(/channel/);
    expect(bad({ event_type: 'x', payload: 1 })).toMatch(/channel/);
  });

  it('rejects bad channel names, naming the channel', () => {
    for (const channel of ['nocolon', '', 'a::b', 'a b:c', `a:${'x'.repeat(300)}`]) {
      bad({ channel, event_type: 'x', payload: 1 });
      bad({ channels: ['ok:one', channel], event_type: 'x', payload: 1 });
    }
    expect(bad({ channel: 'nocolon', event_type: 'x', payload: 1 })).toContain('"nocolon"');
  });

  it('rejects wrong field types', () => {
    bad({ channel: 5, event_type: 'x', payload: 1 });
    bad({ channels: 'a:b', event_type: 'x', payload: 1 });
    bad({ channels: [], event_type: 'x', payload: 1 });
    bad({ channels: [5], event_type: 'x', payload: 1 });
    bad({
      channels: Array.from({ length: MAX_CHANNELS_PER_FRAME + 1 }, (_, i) => `a:${i}`),
      event_type: 'x',
      payload: 1,
    });
    bad({ channel: 'a:b', event_type: 5, payload: 1 });
    bad({ channel: 'a:b', event_type: '', payload: 1 });
    bad({ channel: 'a:b', payload: 1 });
    bad({ channel: 'a:b', event_type: 'x', payload: 1, idempotency_key: 5 });
    bad({ channel: 'a:b', event_type: 'x', payload: 1, idempotency_key: '' });
  });

  it('meta must be an object', () => {
    for (const meta of [null, 'm', 5, true, ['a']]) {
      expect(bad({ channel: 'a:b', event_type: 'x', payload: 1, meta })).toMatch(/meta/);
    }
    expect(ok({ channel: 'a:b', event_type: 'x', payload: 1, meta: {} }).meta).toEqual({});
  });

  it('body must be a JSON object', () => {
    for (const body of [null, 1, 'x', [], [{ channel: 'a:b', event_type: 'x', payload: 1 }], undefined]) {
      expect(bad(body)).toMatch(/object/);
    }
  });
});

describe('JSON nesting depth (deeply nested input must not overflow the stack)', () => {
  /** `depth` nested arrays around `0`, built as text: JSON.parse itself handles any depth. */
  const nestedArrays = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}0${']'.repeat(depth)}`);
  const nestedObjects = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`);

  it('jsonDepthExceeds counts containers, not scalars, and walks without recursion', () => {
    expect(jsonDepthExceeds(0, 0)).toBe(false);
    expect(jsonDepthExceeds('x', 0)).toBe(false);
    expect(jsonDepthExceeds([], 0)).toBe(true);
    expect(jsonDepthExceeds([], 1)).toBe(false);
    expect(jsonDepthExceeds({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(jsonDepthExceeds({ a: [1, { b: 2 }] }, 2)).toBe(true);
    // Wide is fine, deep is not: the depth of the deepest branch decides.
    expect(jsonDepthExceeds({ a: 1, b: [[[]]], c: [] }, 4)).toBe(false);
    expect(jsonDepthExceeds({ a: 1, b: [[[]]], c: [] }, 3)).toBe(true);
    expect(jsonDepthExceeds(nestedArrays(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(jsonDepthExceeds(nestedArrays(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    // Far deeper than any call stack: answered, not thrown.
    expect(jsonDepthExceeds(nestedArrays(200_000), MAX_JSON_DEPTH)).toBe(true);
    expect(jsonDepthExceeds(nestedObjects(200_000), MAX_JSON_DEPTH)).toBe(true);
  });

  it('a publish payload nested 100,000 deep is INVALID_MESSAGE, not a thrown RangeError', () => {
    for (const payload of [nestedArrays(100_000), nestedObjects(100_000)]) {
      const result = parsePublishRequest({ channel: 'tenant:t1:updates', event_type: 'e', payload });
      expect(result).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
      expect(!result.ok && result.message).toMatch(/nested deeper than 64/);
    }
    const meta = nestedObjects(100_000) as Record<string, unknown>;
    expect(parsePublishRequest({ channel: 'tenant:t1:updates', event_type: 'e', payload: 1, meta })).toMatchObject({
      ok: false,
      code: 'INVALID_MESSAGE',
    });
  });

  it('a payload at the limit is accepted', () => {
    const payload = nestedObjects(MAX_JSON_DEPTH - 1);
    expect(parsePublishRequest({ channel: 'tenant:t1:updates', event_type: 'e', payload }).ok).toBe(true);
  });

  it('a client frame nested past the limit is INVALID_MESSAGE with its id', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const result = parseClientFrame(`{"type":"subscribe","id":5,"channels":${deep}}`);
    expect(result).toMatchObject({ ok: false, code: 'INVALID_MESSAGE', id: 5 });
    expect(!result.ok && result.message).toMatch(/nested deeper than 64/);
  });
});
