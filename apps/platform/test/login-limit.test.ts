import { silentLogger } from '@albatross/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '../src/index.js';
import { Api, startTestPlatform, strongPassword, type TestPlatform } from './helpers.js';

/**
 * The per-address login limit: X-Forwarded-For is ignored unless the
 * platform trusts the proxy, so spoofing it does not buy more guesses; with
 * `trustProxy`, clients behind one load balancer are counted apart.
 */

let t: TestPlatform;
let behindProxy: Platform;

beforeAll(async () => {
  t = await startTestPlatform();
  // A second node on the same store that trusts the loopback proxy (the first one runs the projections).
  behindProxy = await startPlatform({
    store: t.store,
    port: 0,
    logger: silentLogger,
    runProjections: false,
    trustProxy: ['127.0.0.1', '::1'],
  });
});
afterAll(async () => {
  await behindProxy?.close();
  await t?.close();
});

async function failures(api: Api, count: number, forwardedFor: (i: number) => string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await api.post(
      '/api/auth/login',
      { email: `guess-${i}-${Math.random().toString(36).slice(2)}@example.com`, password: strongPassword() },
      { 'x-forwarded-for': forwardedFor(i) },
    );
    statuses.push(answer.status);
  }
  return statuses;
}

describe('per-address login limit', () => {
  it('counts a client behind a trusted proxy by its forwarded address', async () => {
    const api = new Api(behindProxy.url);
    const spread = await failures(api, 21, (i) => `203.0.113.${i + 1}`);
    expect(spread.every((s) => s === 401)).toBe(true);
    const one = await failures(api, 21, () => '198.51.100.7');
    expect(one.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(one[20]).toBe(429);
  });

  it('ignores X-Forwarded-For from anyone it does not trust', async () => {
    const statuses = await failures(t.anon, 21, (i) => `192.0.2.${i + 1}`);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
  });
});
