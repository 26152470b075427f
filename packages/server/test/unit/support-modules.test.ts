import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildEventFrame, buildHistoryBody } from '../../src/broker/event-frame.js';
import { AlbatrossError, toAlbatrossError } from '../../src/errors.js';
import { GATEWAY_DEFAULTS } from '../../src/gateway.js';
import { createLogger, redactUrl } from '../../src/log/logger.js';

describe('AlbatrossError / toAlbatrossError', () => {
  it('carries a code, its HTTP status and body', () => {
    const error = new AlbatrossError('FORBIDDEN', 'no');
    expect(error.status).toBe(403);
    expect(error.toBody()).toEqual({ code: 'FORBIDDEN', message: 'no' });
    expect(new AlbatrossError('TOKEN_EXPIRED', 'x').status).toBe(401);
  });

  it('keeps AlbatrossErrors, adopts errors with a protocol code, hides everything else as INTERNAL', () => {
    const own = new AlbatrossError('NOT_FOUND', 'gone');
    expect(toAlbatrossError(own)).toBe(own);
    const coded = Object.assign(new Error('slow'), { code: 'RATE_LIMITED' });
    expect(toAlbatrossError(coded)).toMatchObject({ code: 'RATE_LIMITED', message: 'slow' });
    const secret = new Error('password=hunter2 at db.internal');
    const hidden = toAlbatrossError(secret);
    expect(hidden.code).toBe('INTERNAL');
    expect(hidden.message).not.toContain('hunter2');
    expect(hidden.cause).toBe(secret);
    expect(toAlbatrossError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).code).toBe('INTERNAL');
    expect(toAlbatrossError('string').code).toBe('INTERNAL');
    expect(toAlbatrossError(undefined).code).toBe('INTERNAL');
  });
});

describe('redactUrl', () => {
  it('redacts access_token, api_key and token values, keeps the rest', () => {
    expect(redactUrl('/ws?access_token=a.b.c&x=1')).toBe('/ws?access_token=[redacted]&x=1');
    expect(redactUrl('/ws?x=1&api_key=secret')).toBe('/ws?x=1&api_key=[redacted]');
    expect(redactUrl('/ws?token=t&TOKEN=u')).toBe('/ws?token=[redacted]&TOKEN=[redacted]');
    expect(redactUrl('/ws?access%5Ftoken=zzz')).toBe('/ws?access%5Ftoken=[redacted]');
    expect(redactUrl('/ws?api_key')).toBe('/ws?api_key=[redacted]');
    expect(redactUrl('/ws')).toBe('/ws');
    expect(redactUrl(undefined)).toBe('');
    expect(redactUrl('/ws?%E0%A4%A=1&api_key=s')).toBe('/ws?%E0%A4%A=1&api_key=[redacted]');
  });
});

describe('createLogger', () => {
  it('redacts secret fields at any of the first levels', async () => {
    let out = '';
    const destination = new Writable({
      write(chunk, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ destination });
    // Long random secrets: short ones such as "T1" also occur in ISO timestamps (…T16:…).
    const [token, apiKey, bearer, adminKey, accessToken] = Array.from({ length: 5 }, () =>
      randomBytes(18).toString('hex'),
    );
    logger.info({ token, nested: { api_key: apiKey, deeper: { authorization: `Bearer ${bearer}` } } }, 'x');
    logger.child({ admin_key: adminKey }).info({ access_token: accessToken }, 'y');
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).toContain('"msg":"x"');
    expect(out).toContain('"msg":"y"');
    for (const secret of [token, apiKey, bearer, adminKey, accessToken]) expect(out).not.toContain(secret);
  });
});

describe('event frames', () => {
  it('builds a valid event frame by concatenation, in contract field order', () => {
    const data = buildEventFrame('a:b', 3, 'ep"och', 'type"x', 42, '{"k":"v\\u2028"}', '{"user_id":"u1"}');
    const text = data.toString('utf8');
    expect(Object.keys(JSON.parse(text))).toEqual([
      'type',
      'channel',
      'offset',
      'epoch',
      'event_type',
      'ts',
      'payload',
      'meta',
    ]);
    expect(JSON.parse(text)).toEqual({
      type: 'event',
      channel: 'a:b',
      offset: 3,
      epoch: 'ep"och',
      event_type: 'type"x',
      ts: 42,
      payload: { k: 'v\u2028' },
      meta: { user_id: 'u1' },
    });
    expect(JSON.parse(buildEventFrame('a:b', 1, 'e', 't', 1, 'null', undefined).toString())).not.toHaveProperty('meta');
  });

  it('builds a history body around frames', () => {
    const frames = [1, 2].map((n) => ({ data: buildEventFrame('a:b', n, 'e', 't', n, String(n), undefined) }));
    expect(JSON.parse(buildHistoryBody('a:b', 'e', 2, frames).toString())).toEqual({
      channel: 'a:b',
      epoch: 'e',
      offset: 2,
      publications: [
        { type: 'event', channel: 'a:b', offset: 1, epoch: 'e', event_type: 't', ts: 1, payload: 1 },
        { type: 'event', channel: 'a:b', offset: 2, epoch: 'e', event_type: 't', ts: 2, payload: 2 },
      ],
    });
    expect(JSON.parse(buildHistoryBody('a:b', 'e', 0, []).toString()).publications).toEqual([]);
  });
});

describe('GATEWAY_DEFAULTS', () => {
  it('match the protocol contract', () => {
    expect(GATEWAY_DEFAULTS).toMatchObject({
      paths: ['/ws', '/api/ws'],
      heartbeatMs: 30_000,
      authTimeoutMs: 5_000,
      historySize: 1_000,
      historyTtlMs: 10 * 60_000,
      maxPublishBytes: 1024 * 1024,
      idempotencyTtlMs: 5 * 60_000,
      baseline: ['user:{sub}:updates', 'user:{sub}:apikeys', 'tenant:{tenant_id}:updates'],
    });
  });
});
