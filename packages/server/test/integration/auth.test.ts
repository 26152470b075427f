import { Writable } from 'node:stream';
import type { ErrorFrame, ServerFrame, WelcomeFrame } from '@albatross/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StaticApiKeyVerifier } from '../../src/auth/api-keys.js';
import { createLogger } from '../../src/log/logger.js';
import {
  expectRefused,
  randomSecret,
  SECRET,
  sha256Hex,
  signToken,
  TestClient,
  useGateways,
} from '../support/harness.js';

const env = useGateways();
const now = () => Math.floor(Date.now() / 1000);
// Random per run: the redaction test greps the log for it.
const API_KEY = randomSecret('ak_live');

function keyVerifier(): StaticApiKeyVerifier {
  return new StaticApiKeyVerifier([
    { id: 'k1', sha256: sha256Hex(API_KEY), sub: 'svc-1', tenant_id: 't1', roles: ['Service'] },
  ]);
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
  return env.track(await TestClient.connect(url, headers));
}
async function authed(url: string, token: string): Promise<{ client: TestClient; welcome: WelcomeFrame }> {
  const { client, welcome } = await TestClient.authed(url, token);
  env.track(client);
  return { client, welcome: welcome as WelcomeFrame };
}

const refused = expectRefused;

describe('credentials on the upgrade request', () => {
  it('Authorization: Bearer <jwt> authenticates before any frame', async () => {
    const g = await env.start();
    const client = await connect(g.wsUrl, { authorization: `Bearer ${await signToken({ sub: 'u7' })}` });
    expect(await client.next('welcome')).toMatchObject({ user_id: 'u7', tenant_id: 't1' });
  });

  it('?access_token=<jwt> authenticates, also on the /api/ws alias', async () => {
    const g = await env.start();
    const token = await signToken({ sub: 'u8', tenant_id: 't2' });
    const a = await connect(`${g.wsUrl}?access_token=${token}`);
    expect(await a.next('welcome')).toMatchObject({ user_id: 'u8', tenant_id: 't2' });
    const b = await connect(`${g.httpUrl.replace('http', 'ws')}/api/ws?access_token=${token}`);
    expect(await b.next('welcome')).toMatchObject({ user_id: 'u8', tenant_id: 't2' });
  });

  it('?api_key= and Bearer <api key> authenticate through the API key verifier (sha256 record)', async () => {
    const g = await env.start({ auth: { jwt: { secret: SECRET }, apiKeys: keyVerifier() } });
    const a = await connect(`${g.wsUrl}?api_key=${API_KEY}`);
    expect(await a.next('welcome')).toMatchObject({ user_id: 'svc-1', tenant_id: 't1' });
    const b = await connect(g.wsUrl, { authorization: `Bearer ${API_KEY}` });
    expect(await b.next('welcome')).toMatchObject({ user_id: 'svc-1', tenant_id: 't1' });
  });

  it('an invalid JWT is a 401 UNAUTHORIZED JSON body before any upgrade', async () => {
    const g = await env.start();
    const bad = await signToken({}, 'some-other-secret-0123456789');
    const variants: Array<Record<string, string>> = [{ authorization: `Bearer ${bad}` }, {}];
    for (const headers of variants) {
      const url = Object.keys(headers).length === 0 ? `${g.wsUrl}?access_token=${bad}` : g.wsUrl;
      const { status, body } = await refused(url, headers);
      expect(status).toBe(401);
      expect(body.code).toBe('UNAUTHORIZED');
      expect(typeof body.message).toBe('string');
    }
    expect(g.gateway.connectionCount).toBe(0);
  });

  it('an expired JWT is a 401 TOKEN_EXPIRED', async () => {
    const g = await env.start();
    const expired = await signToken({ exp: now() - 120 });
    expect(await refused(g.wsUrl, { authorization: `Bearer ${expired}` })).toMatchObject({
      status: 401,
      body: { code: 'TOKEN_EXPIRED' },
    });
    expect(await refused(`${g.wsUrl}?access_token=${expired}`)).toMatchObject({
      status: 401,
      body: { code: 'TOKEN_EXPIRED' },
    });
  });

  it('an unknown API key, or an API key with no verifier configured, is 401', async () => {
    const withKeys = await env.start({ auth: { jwt: { secret: SECRET }, apiKeys: keyVerifier() } });
    expect(await refused(`${withKeys.wsUrl}?api_key=not-a-key`)).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
    const jwtOnly = await env.start();
    expect(await refused(`${jwtOnly.wsUrl}?api_key=${API_KEY}`)).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
  });

  it('an Authorization header that is not Bearer <token> is 401, even with a valid query token', async () => {
    const g = await env.start();
    const good = await signToken();
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', `Token ${good}`, `Bearer ${good} extra`]) {
      expect(await refused(`${g.wsUrl}?access_token=${good}`, { authorization })).toMatchObject({
        status: 401,
        body: { code: 'UNAUTHORIZED' },
      });
    }
    expect(await refused(`${g.wsUrl}?access_token=`)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
  });

  it('the header wins over the query, both ways', async () => {
    const g = await env.start();
    const header = await signToken({ sub: 'from-header' });
    const query = await signToken({ sub: 'from-query' });
    const a = await connect(`${g.wsUrl}?access_token=${query}`, { authorization: `Bearer ${header}` });
    expect(await a.next('welcome')).toMatchObject({ user_id: 'from-header' });
    // A bad query credential is ignored when the header is good...
    const b = await connect(`${g.wsUrl}?access_token=garbage.jwt.here`, { authorization: `Bearer ${header}` });
    expect(await b.next('welcome')).toMatchObject({ user_id: 'from-header' });
    // ...and a bad header is not rescued by a good query credential.
    const badHeader = await signToken({ sub: 'x' }, 'some-other-secret-0123456789');
    expect(await refused(`${g.wsUrl}?access_token=${query}`, { authorization: `Bearer ${badHeader}` })).toMatchObject({
      status: 401,
    });
  });

  it('an API key verifier that fails is 503 UNAVAILABLE, not a crash', async () => {
    const g = await env.start({
      auth: {
        apiKeys: {
          async verify() {
            throw new Error('key store down');
          },
        },
      },
    });
    expect(await refused(`${g.wsUrl}?api_key=k`)).toMatchObject({ status: 503, body: { code: 'UNAVAILABLE' } });
    const live = await fetch(`${g.httpUrl}/live`);
    expect(live.status).toBe(200);
  });
});

describe('first-frame auth', () => {
  it('authenticates with a JWT and echoes nothing but the welcome', async () => {
    const g = await env.start();
    const client = await connect(g.wsUrl);
    client.send({ type: 'auth', token: await signToken({ sub: 'u3' }) });
    expect(await client.next('welcome')).toMatchObject({ user_id: 'u3' });
    expect(await client.sync()).toEqual([]);
  });

  it('authenticates with an API key', async () => {
    const g = await env.start({ auth: { jwt: { secret: SECRET }, apiKeys: keyVerifier() } });
    const client = await connect(g.wsUrl);
    client.send({ type: 'auth', token: API_KEY, id: 1 });
    expect(await client.next('welcome')).toMatchObject({ user_id: 'svc-1', tenant_id: 't1' });
  });

  it('no auth frame within auth_timeout_ms: error UNAUTHORIZED, then close 4001', async () => {
    const g = await env.start({ authTimeoutMs: 200 });
    const client = await connect(g.wsUrl);
    const error = await client.next('error', 5000);
    expect(error.code).toBe('UNAUTHORIZED');
    expect((await client.waitClose()).code).toBe(4001);
    expect(client.frames).toEqual([]);
  });

  it('a non-auth first frame: error (id echoed), then close 4001, and the later frames are ignored', async () => {
    const g = await env.start({ authTimeoutMs: 60_000 });
    for (const first of [
      { type: 'ping', id: 5 },
      { type: 'subscribe', id: 5, channels: ['tenant:t1:updates'] },
      { type: 'unsubscribe', id: 5, channels: ['tenant:t1:updates'] },
    ]) {
      const client = await connect(g.wsUrl);
      client.send(first);
      client.send({ type: 'auth', token: await signToken() });
      const error = await client.next('error');
      expect(error).toMatchObject({ code: 'UNAUTHORIZED', id: 5 });
      expect((await client.waitClose()).code).toBe(4001);
      expect(client.frames).toEqual([]);
    }
  });

  it('a malformed or unknown first frame: error, then close 4001', async () => {
    const g = await env.start({ authTimeoutMs: 60_000 });
    for (const text of ['not json', '{"type":"hello","id":2}', '{"type":"auth"}', '[]']) {
      const client = await connect(g.wsUrl);
      client.send(text);
      const error = await client.next('error');
      expect(['INVALID_MESSAGE', 'UNKNOWN_TYPE']).toContain(error.code);
      expect((await client.waitClose(3000)).code).toBe(4001);
      expect(client.frames).toEqual([]);
    }
  });

  it('a binary first frame: error, then close 4001', async () => {
    // A long auth timeout, so only the binary frame itself can cause the close.
    const g = await env.start({ authTimeoutMs: 60_000 });
    const client = await connect(g.wsUrl);
    client.sendBinary(new Uint8Array([1, 2, 3]));
    expect((await client.next('error')).code).toBe('INVALID_MESSAGE');
    expect((await client.waitClose(3000)).code).toBe(4001);
    expect(client.frames).toEqual([]);
  });

  it('a failed first-frame auth: error with the id echoed, then close 4001', async () => {
    const g = await env.start({ authTimeoutMs: 60_000 });
    const cases: Array<[string, string]> = [
      [await signToken({}, 'some-other-secret-0123456789'), 'UNAUTHORIZED'],
      [await signToken({ exp: now() - 120 }), 'TOKEN_EXPIRED'],
      ['unknown-api-key', 'UNAUTHORIZED'],
    ];
    for (const [token, code] of cases) {
      const client = await connect(g.wsUrl);
      client.send({ type: 'auth', token, id: 9 });
      expect(await client.next('error')).toMatchObject({ code, id: 9 });
      expect((await client.waitClose()).code).toBe(4001);
      expect(client.frames).toEqual([]);
    }
  });

  it('the auth timer does not fire once authenticated', async () => {
    // Long enough for the auth frame to beat the timer on a loaded machine; then wait well past it.
    const g = await env.start({ authTimeoutMs: 1000 });
    const { client } = await authed(g.wsUrl, await signToken());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await client.sync()).toEqual([]);
    expect(client.closed).toBeNull();
  });
});

describe('welcome', () => {
  it('carries connection id, user, tenant, heartbeat and the default baseline with positions', async () => {
    const g = await env.start({ heartbeatMs: 12_345 });
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 1 });
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 2 });
    const tenantEpoch = (await g.gateway.history('tenant:t1:updates')).epoch;
    const { welcome } = await authed(g.wsUrl, await signToken({ sub: 'u1', tenant_id: 't1' }));
    expect(welcome.connection_id).toMatch(/.+/);
    expect(welcome).toMatchObject({ type: 'welcome', user_id: 'u1', tenant_id: 't1', heartbeat_ms: 12_345 });
    expect(welcome.subscriptions.map((s) => s.channel).sort()).toEqual(
      ['tenant:t1:updates', 'user:u1:apikeys', 'user:u1:updates'].sort(),
    );
    for (const s of welcome.subscriptions) {
      expect(s.epoch).toMatch(/.+/);
      expect(s).not.toHaveProperty('recovered');
    }
    expect(welcome.subscriptions.find((s) => s.channel === 'tenant:t1:updates')).toEqual({
      channel: 'tenant:t1:updates',
      offset: 2,
      epoch: tenantEpoch,
    });
    expect(welcome.subscriptions.find((s) => s.channel === 'user:u1:updates')?.offset).toBe(0);
    const { welcome: other } = await authed(g.wsUrl, await signToken({ sub: 'u1' }));
    expect(other.connection_id).not.toBe(welcome.connection_id);
  });

  it('baseline channels deliver events after the welcome; other users and tenants get nothing', async () => {
    const g = await env.start();
    const { client: u1 } = await authed(g.wsUrl, await signToken({ sub: 'u1', tenant_id: 't1' }));
    const { client: u2 } = await authed(g.wsUrl, await signToken({ sub: 'u2', tenant_id: 't1' }));
    const { client: u3 } = await authed(g.wsUrl, await signToken({ sub: 'u3', tenant_id: 't2' }));
    await g.gateway.publish({ channel: 'user:u1:updates', event_type: 'a', payload: 'to-u1' });
    await g.gateway.publish({ channel: 'user:u1:apikeys', event_type: 'b', payload: 'keys-u1' });
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'c', payload: 'to-t1' });
    const events = (frames: ServerFrame[]) => frames.flatMap((f) => (f.type === 'event' ? [f.payload] : []));
    expect(events(await u1.sync())).toEqual(['to-u1', 'keys-u1', 'to-t1']);
    expect(events(await u2.sync())).toEqual(['to-t1']);
    expect(events(await u3.sync())).toEqual([]);
  });

  it('the baseline is configurable, may be empty, and skips channels the policy denies', async () => {
    const g = await env.start({ baseline: ['tenant:{tenant_id}:alerts', 'user:{sub}:inbox', 'campaign:{sub}:x'] });
    const { welcome } = await authed(g.wsUrl, await signToken({ sub: 'u1', tenant_id: 't9' }));
    expect(welcome.subscriptions.map((s) => s.channel)).toEqual(['tenant:t9:alerts', 'user:u1:inbox']);
    const none = await env.start({ baseline: [] });
    const { client, welcome: empty } = await authed(none.wsUrl, await signToken());
    expect(empty.subscriptions).toEqual([]);
    await none.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 1 });
    expect(await client.sync()).toEqual([]);
  });
});

describe('in-band token refresh', () => {
  it('answers ack refreshed:true with the new exp and the id; without id, no id', async () => {
    const g = await env.start();
    const { client } = await authed(g.wsUrl, await signToken({ exp: now() + 60 }));
    const exp = now() + 3600;
    client.send({ type: 'auth', id: 11, token: await signToken({ exp }) });
    expect(await client.next('ack')).toEqual({ type: 'ack', id: 11, refreshed: true, exp });
    client.send({ type: 'auth', token: await signToken({ exp: exp + 1 }) });
    const ack = await client.next('ack');
    expect(ack).toEqual({ type: 'ack', refreshed: true, exp: exp + 1 });
    // Subscriptions are untouched by a refresh.
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 1 });
    expect((await client.next('event')).payload).toBe(1);
  });

  it('a token of another user or tenant: error FORBIDDEN, the connection stays as it was', async () => {
    const g = await env.start();
    const { client } = await authed(g.wsUrl, await signToken({ sub: 'u1', tenant_id: 't1' }));
    client.send({ type: 'auth', id: 1, token: await signToken({ sub: 'u2', tenant_id: 't1' }) });
    expect(await client.next('error')).toMatchObject({ code: 'FORBIDDEN', id: 1 });
    client.send({ type: 'auth', id: 2, token: await signToken({ sub: 'u1', tenant_id: 't2' }) });
    expect(await client.next('error')).toMatchObject({ code: 'FORBIDDEN', id: 2 });
    // Still u1 of t1: u2's and t2's channels stay forbidden, t1's events still arrive.
    client.send({ type: 'subscribe', id: 3, channels: ['user:u2:updates', 'tenant:t2:updates', 'user:u1:extra'] });
    const ack = await client.next('ack');
    expect(ack).toMatchObject({
      id: 3,
      accepted: [{ channel: 'user:u1:extra' }],
      rejected: [
        { channel: 'user:u2:updates', code: 'FORBIDDEN' },
        { channel: 'tenant:t2:updates', code: 'FORBIDDEN' },
      ],
    });
    await g.gateway.publish({ channel: 'tenant:t2:updates', event_type: 'x', payload: 'leak' });
    await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'x', payload: 'ok' });
    const frames = await client.sync();
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ type: 'event', channel: 'tenant:t1:updates', payload: 'ok' });
    expect(client.closed).toBeNull();
  });

  it('a refresh that fails to verify keeps the connection (error, no close)', async () => {
    const g = await env.start();
    const { client } = await authed(g.wsUrl, await signToken());
    client.send({ type: 'auth', id: 4, token: await signToken({}, 'some-other-secret-0123456789') });
    expect(await client.next('error')).toMatchObject({ code: 'UNAUTHORIZED', id: 4 });
    client.send({ type: 'auth', id: 5, token: await signToken({ exp: now() - 120 }) });
    expect(await client.next('error')).toMatchObject({ code: 'TOKEN_EXPIRED', id: 5 });
    client.send({ type: 'auth', id: 6, token: 'not-a-key' });
    expect(await client.next('error')).toMatchObject({ code: 'UNAUTHORIZED', id: 6 });
    await g.gateway.publish({ channel: 'user:u1:updates', event_type: 'x', payload: 'still-here' });
    expect((await client.next('event')).payload).toBe('still-here');
    expect(await client.sync()).toEqual([]);
  });
});

describe('token expiry on a live connection', () => {
  // The clock (Date only: sockets and timers stay real) is frozen on a whole
  // second, so a token with exp 29 s ago stops verifying (30 s leeway)
  // exactly 1 s later, when the test moves the clock, not somewhere between
  // 0 and 1 s after it was signed as the wall clock would have it.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Math.ceil(Date.now() / 1000) * 1000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const soonExpiring = () => signToken({ exp: now() - 29 });
  /** Moves the clock past the soon-expiring tokens' deadline; their expiry timers fire within a real second. */
  const expire = () => vi.setSystemTime(Date.now() + 1000);

  it('closes 4001 after an error TOKEN_EXPIRED, for first-frame and header authentication alike', async () => {
    const g = await env.start();
    const { client: framed } = await authed(g.wsUrl, await soonExpiring());
    const headered = await connect(g.wsUrl, { authorization: `Bearer ${await soonExpiring()}` });
    await headered.next('welcome');
    expire();
    await Promise.all(
      [framed, headered].map(async (client) => {
        const error = (await client.next('error', 5000)) as ErrorFrame;
        expect(error.code).toBe('TOKEN_EXPIRED');
        const closed = await client.waitClose();
        expect(closed.code).toBe(4001);
        expect(closed.reason).toContain('TOKEN_EXPIRED');
        expect(client.frames).toEqual([]);
      }),
    );
  });

  it('a refresh before expiry keeps the connection open past the old deadline; a rejected one does not', async () => {
    const g = await env.start();
    const { client: refreshed } = await authed(g.wsUrl, await soonExpiring());
    const { client: rejected } = await authed(g.wsUrl, await soonExpiring());
    refreshed.send({ type: 'auth', id: 1, token: await signToken({ exp: now() + 3600 }) });
    rejected.send({ type: 'auth', id: 1, token: await signToken({ sub: 'u2', exp: now() + 3600 }) });
    expect(await refreshed.next('ack')).toMatchObject({ id: 1, refreshed: true });
    // The rejected refresh changes nothing: the old deadline still applies.
    expect(await rejected.next('error')).toMatchObject({ code: 'FORBIDDEN', id: 1 });
    expire();
    expect((await rejected.next('error', 5000)).code).toBe('TOKEN_EXPIRED');
    expect((await rejected.waitClose()).code).toBe(4001);
    // The refreshed client had the same old deadline, armed earlier: it would have fired by now.
    expect(await refreshed.sync()).toEqual([]);
    expect(refreshed.closed).toBeNull();
  });

  it('many connections share one expiry timer: each expiring one is told once and closed; closed ones and fresh tokens are left alone', async () => {
    const g = await env.start();
    const expiring = await Promise.all(
      Array.from({ length: 12 }, async () => (await authed(g.wsUrl, await soonExpiring())).client),
    );
    const { client: fresh } = await authed(g.wsUrl, await signToken({ exp: now() + 3600 }));
    // Half of them leave before their deadline: their entries go with them.
    const leaving = expiring.slice(0, 6);
    const staying = expiring.slice(6);
    for (const client of leaving) client.ws.close(1000);
    await Promise.all(leaving.map((client) => client.waitClose()));
    expire();
    await Promise.all(
      staying.map(async (client) => {
        expect((await client.next('error', 5000)).code).toBe('TOKEN_EXPIRED');
        expect((await client.waitClose()).code).toBe(4001);
        expect(client.frames).toEqual([]);
      }),
    );
    for (const client of leaving) expect(client.closed?.code).toBe(1000);
    expect(await fresh.sync()).toEqual([]);
    expect(fresh.closed).toBeNull();
    // The server sees the last closes a moment after the clients do.
    for (let i = 0; i < 100 && g.gateway.connectionCount > 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(g.gateway.connectionCount).toBe(1);
  });

  it('API key connections do not expire', async () => {
    const g = await env.start({ auth: { apiKeys: keyVerifier() } });
    const client = await connect(`${g.wsUrl}?api_key=${API_KEY}`);
    await client.next('welcome');
    client.send({ type: 'auth', id: 2, token: API_KEY });
    const ack = await client.next('ack');
    expect(ack).toEqual({ type: 'ack', id: 2, refreshed: true });
  });
});

describe('query credentials are redacted in every log line', () => {
  it('never logs an access_token or api_key value', async () => {
    let out = '';
    const destination = new Writable({
      write(chunk, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ level: 'trace', destination });
    const g = await env.start({ logger, auth: { jwt: { secret: SECRET }, apiKeys: keyVerifier() } });
    const good = await signToken();
    const bad = await signToken({}, 'some-other-secret-0123456789');
    const expired = await signToken({ exp: now() - 120 });
    const a = await connect(`${g.wsUrl}?access_token=${good}`);
    await a.next('welcome');
    const b = await connect(`${g.wsUrl}?api_key=${API_KEY}`);
    await b.next('welcome');
    await refused(`${g.wsUrl}?access_token=${bad}`);
    await refused(`${g.wsUrl}?access_token=${expired}&x=1`);
    const wrongKey = randomSecret('wrong-key');
    await refused(`${g.wsUrl}?api_key=${wrongKey}`);
    a.close();
    b.close();
    await a.waitClose();
    await b.waitClose();
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).toContain('upgrade refused');
    for (const secret of [good, bad, expired, API_KEY, wrongKey]) {
      expect(out).not.toContain(secret);
      // Not even the signature part of a JWT.
      expect(out).not.toContain(secret.split('.').at(-1));
    }
  });
});

describe('auth.accept: the app has the last word on a verified identity', () => {
  const blocked = new Set(['u-blocked']);
  const accept = (identity: { userId: string }) => !blocked.has(identity.userId);

  it('refuses 401 at the upgrade, on first-frame auth and on refresh; admits everyone else', async () => {
    const g = await env.start({ auth: { jwt: { secret: SECRET }, accept } });
    const token = await signToken({ sub: 'u-blocked' });
    expect(await refused(g.wsUrl, { authorization: `Bearer ${token}` })).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
    const first = await connect(g.wsUrl);
    first.send({ type: 'auth', token, id: 1 });
    expect(await first.next('error')).toMatchObject({ code: 'UNAUTHORIZED', id: 1 });
    expect((await first.waitClose()).code).toBe(4001);

    const { client } = await authed(g.wsUrl, await signToken({ sub: 'u-ok' }));
    blocked.add('u-ok'); // disabled after connecting: its next refresh is refused
    client.send({ type: 'auth', token: await signToken({ sub: 'u-ok' }), id: 2 });
    expect(await client.next('error')).toMatchObject({ code: 'UNAUTHORIZED', id: 2 });
  });

  it('a failing check is UNAVAILABLE (503), never an admission', async () => {
    const g = await env.start({
      auth: {
        jwt: { secret: SECRET },
        accept: () => {
          throw new Error('database down');
        },
      },
    });
    const token = await signToken({ sub: 'u1' });
    expect(await refused(g.wsUrl, { authorization: `Bearer ${token}` })).toMatchObject({
      status: 503,
      body: { code: 'UNAVAILABLE' },
    });
  });
});
