import { describe, expect, it } from 'vitest';
import { decodeServerFrame, encodeFrame } from '../src/codec.js';
import { CloseCode, ErrorCode, httpStatusOf, isErrorCode } from '../src/codes.js';

describe('encodeFrame / decodeServerFrame', () => {
  it('round-trips every server frame type', () => {
    const frames = [
      {
        type: 'welcome',
        connection_id: 'c',
        user_id: 'u1',
        tenant_id: 't1',
        heartbeat_ms: 30000,
        subscriptions: [{ channel: 'tenant:t1:updates', offset: 0, epoch: 'e' }],
      },
      { type: 'ack', id: 1, accepted: [], rejected: [] },
      { type: 'ack', id: 2, removed: ['a:b'], missing: [] },
      { type: 'ack', refreshed: true, exp: 1 },
      {
        type: 'event',
        channel: 'a:b',
        offset: 1,
        epoch: 'e',
        event_type: 'x',
        ts: 1,
        payload: null,
        meta: { user_id: 'u' },
      },
      { type: 'error', code: 'FORBIDDEN', message: 'no', id: 3 },
      { type: 'pong', id: 4 },
      { type: 'pong' },
      { type: 'heartbeat', ts: 5 },
      { type: 'gap', channel: 'a:b', epoch: 'e', offset: 9 },
    ] as const;
    for (const frame of frames) {
      const text = encodeFrame(frame);
      expect(JSON.parse(text)).toEqual(frame);
      expect(decodeServerFrame(text)).toEqual(frame);
    }
  });

  it('returns null for invalid JSON, non-objects and unknown or missing types', () => {
    for (const text of [
      '',
      '{',
      'not json',
      'null',
      '42',
      '"welcome"',
      '[{"type":"pong"}]',
      '{}',
      '{"type":42}',
      '{"type":"subscribe","id":1,"channels":["a:b"]}',
      '{"type":"WELCOME"}',
      '{"type":"toString"}',
    ]) {
      expect(decodeServerFrame(text), text).toBeNull();
    }
  });
});

describe('codes', () => {
  it('has exactly the contract error codes, each with an HTTP status', () => {
    expect(Object.keys(ErrorCode).sort()).toEqual(
      [
        'UNAUTHORIZED',
        'TOKEN_EXPIRED',
        'FORBIDDEN',
        'INVALID_MESSAGE',
        'UNKNOWN_TYPE',
        'MESSAGE_TOO_LARGE',
        'RATE_LIMITED',
        'SUBSCRIPTION_LIMIT',
        'CONNECTION_LIMIT',
        'SLOW_CONSUMER',
        'NOT_FOUND',
        'UNAVAILABLE',
        'INTERNAL',
        'CONCURRENCY_CONFLICT',
        'ALREADY_EXISTS',
        'INVALID_STATE',
        'PASSWORD_CHANGE_REQUIRED',
      ].sort(),
    );
    for (const [key, value] of Object.entries(ErrorCode)) {
      expect(value).toBe(key);
      expect(httpStatusOf[value]).toBeGreaterThanOrEqual(400);
    }
    expect(httpStatusOf.UNAUTHORIZED).toBe(401);
    expect(httpStatusOf.TOKEN_EXPIRED).toBe(401);
    expect(httpStatusOf.INVALID_MESSAGE).toBe(400);
    expect(httpStatusOf.MESSAGE_TOO_LARGE).toBe(413);
    expect(httpStatusOf.CONCURRENCY_CONFLICT).toBe(409);
    expect(httpStatusOf.ALREADY_EXISTS).toBe(409);
    expect(httpStatusOf.INVALID_STATE).toBe(409);
    expect(httpStatusOf.PASSWORD_CHANGE_REQUIRED).toBe(403);
  });

  it('isErrorCode accepts only codes', () => {
    expect(isErrorCode('FORBIDDEN')).toBe(true);
    expect(isErrorCode('forbidden')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(401)).toBe(false);
  });

  it('has the contract close codes', () => {
    expect(CloseCode).toMatchObject({
      GOING_AWAY: 1001,
      INVALID_PAYLOAD: 1007,
      MESSAGE_TOO_BIG: 1009,
      UNAUTHORIZED: 4001,
      FORBIDDEN: 4003,
      POLICY_VIOLATION: 4008,
      SLOW_CONSUMER: 4009,
      CONNECTION_LIMIT: 4029,
    });
  });
});
