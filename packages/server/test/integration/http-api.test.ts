import http from 'node:http';
import net from 'node:net';
import type { EventFrame, HistoryResponse, PublishResponse, ServerFrame } from '@albatross/protocol';
import { describe, expect, it, vi } from 'vitest';
import { AlbatrossError } from '../../src/errors.js';
import { ADMIN_KEY, get, post, signToken, TestClient, useGateways } from '../support/harness.js';

const env = useGateways();

async function authed(url: string, claims: Parameters<typeof signToken>[0] = {}): Promise<TestClient> {
  const { client } = await TestClient.authed(url, await signToken(claims));
  return env.track(client);
}
const events = (frames: ServerFrame[]): EventFrame[] => frames.filter((f): f is EventFrame => f.type === 'event');
const publishBody = (extra: Record<string, unknown> = {}) => ({
  channel: 'tenant:t1:updates',
  event_type: 'thing.changed',
  payload: { n: 1 },
  ...extra,
});

/** Raw HTTP request with full control over headers and chunking. */
function rawRequest(
  url: string,
  options: { method: string; headers: Record<string, string>; chunks: Buffer[] },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method, headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of options.chunks) req.write(chunk);
    req.end();
  });
}

describe('POST /api/publish', () => {
  it('publishes and answers 200 {results:[{channel,offset,epoch}]}; subscribers get the event', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const r1 = await post(g.httpUrl, '/api/publish', publishBody());
    expect(r1.status).toBe(200);
    const { results } = r1.body as PublishResponse;
    expect(results).toEqual([{ channel: 'tenant:t1:updates', offset: 1, epoch: expect.any(String) }]);
    const r2 = await post(g.httpUrl, '/api/publish', publishBody({ payload: null, meta: { user_id: 'u5' } }));
    expect((r2.body as PublishResponse).results[0]).toEqual({ ...results[0], offset: 2 });
    const got = events(await client.sync());
    expect(got.map((e) => [e.offset, e.payload, e.meta])).toEqual([
      [1, { n: 1 }, undefined],
      [2, null, { user_id: 'u5' }],
    ]);
    expect(got[0]?.epoch).toBe(results[0]?.epoch);
  });

  it('publishes to several channels in one call, one result per channel in order', async () => {
    const g = await env.start();
    await g.gateway.publish({ channel: 'campaign:7:updates', event_type: 'x', payload: 0 });
    const client = await authed(g.wsUrl, { channels: ['campaign:7:updates', 'campaign:7:structures:12'] });
    client.send({ type: 'subscribe', id: 1, channels: ['campaign:7:updates', 'campaign:7:structures:12'] });
    await client.next('ack');
    const channels = ['campaign:7:structures:12', 'campaign:7:updates', 'tenant:t1:updates'];
    const r = await post(g.httpUrl, '/api/publish', {
      channels,
      event_type: 'structure.moved',
      payload: { id: 12 },
    });
    expect(r.status).toBe(200);
    const { results } = r.body as PublishResponse;
    expect(results.map((x) => [x.channel, x.offset])).toEqual([
      ['campaign:7:structures:12', 1],
      ['campaign:7:updates', 2],
      ['tenant:t1:updates', 1],
    ]);
    expect(events(await client.sync()).map((e) => [e.channel, e.offset, e.event_type])).toEqual([
      ['campaign:7:structures:12', 1, 'structure.moved'],
      ['campaign:7:updates', 2, 'structure.moved'],
      ['tenant:t1:updates', 1, 'structure.moved'],
    ]);
  });

  it('answers 400 with a code for bad input, and publishes nothing', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const bad: unknown[] = [
      '{"channel":"tenant:t1:updates",',
      'not json at all',
      '',
      'null',
      '[1,2]',
      { channel: 'tenant:t1:updates', event_type: 'x' },
      { channel: 'tenant:t1:updates', channels: ['tenant:t1:updates'], event_type: 'x', payload: 1 },
      { event_type: 'x', payload: 1 },
      { channel: 'no-colon', event_type: 'x', payload: 1 },
      { channels: ['tenant:t1:updates', 'bad name:x'], event_type: 'x', payload: 1 },
      { channels: [], event_type: 'x', payload: 1 },
      { channel: 'tenant:t1:updates', event_type: 'x', payload: 1, meta: 'm' },
      { channel: 'tenant:t1:updates', event_type: 'x', payload: 1, meta: [1] },
      { channel: 'tenant:t1:updates', event_type: 7, payload: 1 },
    ];
    for (const body of bad) {
      const r = await post(g.httpUrl, '/api/publish', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.any(String) });
    }
    expect((await g.gateway.history('tenant:t1:updates')).offset).toBe(0);
    expect(await client.sync()).toEqual([]);
  });

  it('answers 401 without a valid admin key, and publishes nothing', async () => {
    const g = await env.start();
    expect(await post(g.httpUrl, '/api/publish', publishBody(), null)).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
    expect(await post(g.httpUrl, '/api/publish', publishBody(), 'wrong-key')).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
    expect(await post(g.httpUrl, '/api/publish', publishBody(), `${ADMIN_KEY}x`)).toMatchObject({ status: 401 });
    // A JWT is not an admin key.
    expect(await post(g.httpUrl, '/api/publish', publishBody(), await signToken())).toMatchObject({ status: 401 });
    const basic = await rawRequest(`${g.httpUrl}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Basic ${ADMIN_KEY}`, 'content-type': 'application/json' },
      chunks: [Buffer.from(JSON.stringify(publishBody()))],
    });
    expect(basic.status).toBe(401);
    expect((await g.gateway.history('tenant:t1:updates')).offset).toBe(0);
  });

  it('rate-limits failed admin authentications per address: 429 RATE_LIMITED with Retry-After, on every admin route (D7)', async () => {
    const g = await env.start({ adminAuthFailureRate: { burst: 2, perMs: 60_000 } });
    for (let i = 0; i < 2; i++) {
      expect(await post(g.httpUrl, '/api/publish', publishBody(), `wrong-key-${i}`)).toMatchObject({ status: 401 });
    }
    for (const path of ['/api/publish', '/api/channels/tenant:t1:updates/history', '/api/connections']) {
      const res = await fetch(`${g.httpUrl}${path}`, {
        method: path === '/api/publish' ? 'POST' : 'GET',
        // The right key: while limited the address is refused before the key is compared.
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        ...(path === '/api/publish' ? { body: JSON.stringify(publishBody()) } : {}),
      });
      expect(res.status, path).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(30);
      expect(await res.json()).toMatchObject({ code: 'RATE_LIMITED' });
    }
    expect((await g.gateway.history('tenant:t1:updates')).offset).toBe(0);
    // Unauthenticated routes are not affected.
    expect((await get(g.httpUrl, '/live', null)).status).toBe(200);
  });

  it('createGateway refuses an admin key shorter than 16 characters (D7)', async () => {
    await expect(env.start({ adminKey: 'a' })).rejects.toThrow(/at least 16 characters/);
  });

  it('without an admin key configured, the admin API refuses everyone', async () => {
    const g = await env.start({ adminKey: undefined });
    expect((await post(g.httpUrl, '/api/publish', publishBody(), ADMIN_KEY)).status).toBe(401);
    expect((await get(g.httpUrl, '/api/channels/tenant:t1:updates/history', ADMIN_KEY)).status).toBe(401);
  });

  it('answers 413 MESSAGE_TOO_LARGE over max-publish-bytes (declared or streamed), and accepts the limit itself', async () => {
    const g = await env.start({ maxPublishBytes: 512 });
    const fill = (size: number) => {
      const base = JSON.stringify(publishBody({ payload: '' }));
      return JSON.stringify(publishBody({ payload: 'x'.repeat(size - base.length) }));
    };
    const atLimit = fill(512);
    expect(Buffer.byteLength(atLimit)).toBe(512);
    expect((await post(g.httpUrl, '/api/publish', atLimit)).status).toBe(200);
    const over = await post(g.httpUrl, '/api/publish', fill(513));
    expect(over).toMatchObject({ status: 413, body: { code: 'MESSAGE_TOO_LARGE' } });
    // Chunked, no content-length: refused once the received size passes the limit.
    const chunked = await rawRequest(`${g.httpUrl}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      chunks: [Buffer.from(fill(400).slice(0, 300)), Buffer.from('y'.repeat(400))],
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect((await g.gateway.history('tenant:t1:updates')).offset).toBe(1);
    expect((await fetch(`${g.httpUrl}/live`)).status).toBe(200);
  });

  it('405 for the wrong method, 404 for unknown paths', async () => {
    const g = await env.start();
    const wrong = await get(g.httpUrl, '/api/publish');
    expect(wrong.status).toBe(405);
    const missing = await get(g.httpUrl, '/api/nothing-here');
    expect(missing).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });
});

describe('deeply nested JSON bodies (D10)', () => {
  it('a publish payload nested 50,000 deep answers 400 INVALID_MESSAGE, publishes nothing, and the server keeps serving', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const deep = `${'['.repeat(50_000)}0${']'.repeat(50_000)}`;
    const body = `{"channel":"tenant:t1:updates","event_type":"e","payload":${deep}}`;
    const r = await post(g.httpUrl, '/api/publish', body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringMatching(/nested deeper than 64/) });
    // The same depth in meta, and in the disconnect body: refused the same way.
    const deepObject = `${'{"a":'.repeat(50_000)}0${'}'.repeat(50_000)}`;
    const meta = await post(
      g.httpUrl,
      '/api/publish',
      `{"channel":"tenant:t1:updates","event_type":"e","payload":1,"meta":${deepObject}}`,
    );
    expect(meta).toMatchObject({ status: 400, body: { code: 'INVALID_MESSAGE' } });
    // (/api/disconnect takes at most 64 KiB: 20,000 levels fit.)
    const deepSmall = `${'['.repeat(20_000)}0${']'.repeat(20_000)}`;
    const disconnect = await post(g.httpUrl, '/api/disconnect', `{"user_id":"u1","x":${deepSmall}}`);
    expect(disconnect).toMatchObject({ status: 400, body: { code: 'INVALID_MESSAGE' } });
    expect(await client.quiet()).toEqual([]);
    const ok = await post(g.httpUrl, '/api/publish', publishBody());
    expect(ok.status).toBe(200);
    expect(events(await client.sync()).map((e) => e.offset)).toEqual([1]);
  });
});

describe('idempotency keys', () => {
  it('a reused key returns the first result, whatever the new body says, and publishes nothing new', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const first = await post(g.httpUrl, '/api/publish', publishBody({ idempotency_key: 'op-1', payload: 'first' }));
    expect(first.status).toBe(200);
    const again = await post(
      g.httpUrl,
      '/api/publish',
      publishBody({ idempotency_key: 'op-1', payload: 'second', channel: 'user:u1:updates' }),
    );
    expect(again).toEqual(first);
    const viaApi = await g.gateway.publish({
      channel: 'tenant:t1:updates',
      event_type: 'z',
      payload: 3,
      idempotency_key: 'op-1',
    });
    expect(viaApi).toEqual(first.body);
    expect(events(await client.sync()).map((e) => e.payload)).toEqual(['first']);
    expect((await g.gateway.history('user:u1:updates')).offset).toBe(0);
    // Another key publishes.
    const other = await post(g.httpUrl, '/api/publish', publishBody({ idempotency_key: 'op-2' }));
    expect((other.body as PublishResponse).results[0]?.offset).toBe(2);
  });

  it('concurrent requests with one key make exactly one publication and all get its result', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post(g.httpUrl, '/api/publish', publishBody({ idempotency_key: 'same', payload: i })),
      ),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body).toEqual(answers[0]?.body);
    }
    expect((await g.gateway.history('tenant:t1:updates')).offset).toBe(1);
    expect(events(await client.sync())).toHaveLength(1);
  });

  it('a key is forgotten after idempotency_ttl_ms', async () => {
    // A frozen clock (Date only): on a busy machine 150 ms could pass between the first two publishes.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const g = await env.start({ idempotencyTtlMs: 150 });
      const first = await g.gateway.publish({ ...publishBody(), idempotency_key: 'k' });
      vi.setSystemTime(Date.now() + 149);
      expect((await g.gateway.publish({ ...publishBody(), idempotency_key: 'k' })).results).toEqual(first.results);
      vi.setSystemTime(Date.now() + 1);
      const later = await g.gateway.publish({ ...publishBody(), idempotency_key: 'k' });
      expect(later.results[0]?.offset).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a rejected body does not consume its key', async () => {
    const g = await env.start();
    expect(
      (await post(g.httpUrl, '/api/publish', { channel: 'bad', event_type: 'x', payload: 1, idempotency_key: 'k9' }))
        .status,
    ).toBe(400);
    const ok = await post(g.httpUrl, '/api/publish', publishBody({ idempotency_key: 'k9' }));
    expect(ok.status).toBe(200);
    expect((ok.body as PublishResponse).results[0]?.offset).toBe(1);
  });
});

describe('in-process gateway.publish', () => {
  it('has the same shape and validation', async () => {
    const g = await env.start();
    const r = await g.gateway.publish({ channels: ['tenant:t1:a', 'tenant:t1:b'], event_type: 'x', payload: [1] });
    expect(r.results.map((x) => x.channel)).toEqual(['tenant:t1:a', 'tenant:t1:b']);
    const bad = g.gateway.publish({ channel: 'nope', event_type: 'x', payload: 1 });
    await expect(bad).rejects.toBeInstanceOf(AlbatrossError);
    await expect(bad).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    await expect(
      g.gateway.publish({ event_type: 'x', payload: 1 } as unknown as Parameters<typeof g.gateway.publish>[0]),
    ).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
  });
});

describe('GET /api/channels/{channel}/history', () => {
  const history = (g: { httpUrl: string }, channel: string, query = '') =>
    get(g.httpUrl, `/api/channels/${channel}/history${query}`);

  it('returns publications after since, ascending, as the same event frames subscribers got', async () => {
    const g = await env.start();
    const client = await authed(g.wsUrl);
    for (let i = 1; i <= 5; i++) {
      await g.gateway.publish({ channel: 'tenant:t1:updates', event_type: 'n', payload: i, meta: { source: 's' } });
    }
    const live = events(await client.sync());
    const all = await history(g, 'tenant:t1:updates');
    expect(all.status).toBe(200);
    const body = all.body as HistoryResponse;
    expect(body.channel).toBe('tenant:t1:updates');
    expect(body.offset).toBe(5);
    expect(body.epoch).toBe(live[0]?.epoch);
    expect(body.publications).toEqual(live);
    const since = (await history(g, 'tenant:t1:updates', '?since=2&limit=2')).body as HistoryResponse;
    expect(since.publications.map((p) => p.offset)).toEqual([3, 4]);
    expect(since.offset).toBe(5);
    expect(((await history(g, 'tenant:t1:updates', '?since=5')).body as HistoryResponse).publications).toEqual([]);
    expect(((await history(g, 'tenant:t1:updates', '?since=99')).body as HistoryResponse).publications).toEqual([]);
    // Percent-encoded channel names work too.
    const encoded = (await history(g, encodeURIComponent('tenant:t1:updates'), '?since=4')).body as HistoryResponse;
    expect(encoded.publications.map((p) => p.offset)).toEqual([5]);
  });

  it('limit defaults to 100, allows 1000, and refuses 0, 1001 and non-integers with 400', async () => {
    const g = await env.start();
    for (let i = 0; i < 120; i++) await g.gateway.publish({ channel: 'tenant:t1:many', event_type: 'n', payload: i });
    const page = (await history(g, 'tenant:t1:many')).body as HistoryResponse;
    expect(page.publications.map((p) => p.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(((await history(g, 'tenant:t1:many', '?limit=1000')).body as HistoryResponse).publications).toHaveLength(
      120,
    );
    for (const query of ['?limit=1001', '?limit=0', '?limit=-1', '?limit=abc', '?limit=1.5', '?since=-1', '?since=x']) {
      const r = await history(g, 'tenant:t1:many', query);
      expect(r.status, query).toBe(400);
      expect(r.body).toMatchObject({ code: 'INVALID_MESSAGE' });
    }
  });

  it('answers offset 0 and a new epoch for a channel never used; that epoch is kept', async () => {
    const g = await env.start();
    const r = await history(g, 'tenant:t1:fresh');
    expect(r.status).toBe(200);
    const body = r.body as HistoryResponse;
    expect(body).toEqual({ channel: 'tenant:t1:fresh', epoch: expect.any(String), offset: 0, publications: [] });
    expect(body.epoch.length).toBeGreaterThan(0);
    const { results } = await g.gateway.publish({ channel: 'tenant:t1:fresh', event_type: 'x', payload: 1 });
    expect(results[0]?.epoch).toBe(body.epoch);
  });

  it('returns only the recoverable publications', async () => {
    const g = await env.start({ historySize: 3 });
    for (let i = 0; i < 7; i++) await g.gateway.publish({ channel: 'tenant:t1:x', event_type: 'n', payload: i });
    const body = (await history(g, 'tenant:t1:x')).body as HistoryResponse;
    expect(body.offset).toBe(7);
    expect(body.publications.map((p) => p.offset)).toEqual([5, 6, 7]);
  });

  it('401 without a valid admin key; 400 for an invalid channel name', async () => {
    const g = await env.start();
    expect(await get(g.httpUrl, '/api/channels/tenant:t1:updates/history', null)).toMatchObject({
      status: 401,
      body: { code: 'UNAUTHORIZED' },
    });
    expect((await get(g.httpUrl, '/api/channels/tenant:t1:updates/history', 'nope')).status).toBe(401);
    for (const channel of ['nocolon', 'a%20b:c', '%E0%A4%A', 'tenant::x']) {
      const r = await history(g, channel);
      expect(r.status, channel).toBe(400);
      expect(r.body).toMatchObject({ code: 'INVALID_MESSAGE' });
    }
  });

  it('in-process gateway.history matches', async () => {
    const g = await env.start();
    await g.gateway.publish({ channel: 'tenant:t1:y', event_type: 'n', payload: 1 });
    await g.gateway.publish({ channel: 'tenant:t1:y', event_type: 'n', payload: 2 });
    const viaHttp = (await history(g, 'tenant:t1:y', '?since=1')).body;
    expect(await g.gateway.history('tenant:t1:y', { since: 1 })).toEqual(viaHttp);
  });
});

describe('malformed requests', () => {
  it('a request target that is not a parseable URL is answered and does not crash the server', async () => {
    const g = await env.start();
    for (const target of ['http://[bad/live', 'http://x:99999/api/publish', 'http://[::1/ready']) {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(g.port, '127.0.0.1', () => {
          socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        });
        let out = '';
        socket.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        socket.on('close', () => resolve(out));
        socket.on('error', reject);
      });
      expect(reply, target).toMatch(/^HTTP\/1\.1 4\d\d /);
    }
    expect((await get(g.httpUrl, '/live', null)).status).toBe(200);
  });
});

describe('/live and /ready', () => {
  it('answer 200 when up', async () => {
    const g = await env.start();
    const live = await get(g.httpUrl, '/live', null);
    expect(live.status).toBe(200);
    const ready = await get(g.httpUrl, '/ready', null);
    expect(ready.status).toBe(200);
  });
});
