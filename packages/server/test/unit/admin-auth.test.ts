import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AlbatrossError, RateLimitedError } from '../../src/errors.js';
import { createAdminCheck, MIN_ADMIN_KEY_LENGTH } from '../../src/http/admin-auth.js';
import { sourceKey } from '../../src/limits/source-address.js';

const KEY = 'adm-Vq8Jc2LrX6tN0pWz4sYb';

/** The part of a request the admin check reads. */
function request(authorization: string | undefined, remoteAddress = '192.0.2.10'): IncomingMessage {
  return {
    headers: authorization === undefined ? {} : { authorization },
    socket: { remoteAddress },
  } as unknown as IncomingMessage;
}

function outcome(run: () => void): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof RateLimitedError) return `${error.code} ${error.retryAfterMs}ms`;
    if (error instanceof AlbatrossError) return error.code;
    throw error;
  }
}

describe('admin key length (D7)', () => {
  it('refuses a key shorter than 16 characters at creation, accepts 16', () => {
    expect(MIN_ADMIN_KEY_LENGTH).toBe(16);
    expect(() => createAdminCheck('a')).toThrow(/at least 16 characters/);
    expect(() => createAdminCheck('x'.repeat(15))).toThrow(AlbatrossError);
    expect(outcome(() => createAdminCheck('x'.repeat(16))(request(`Bearer ${'x'.repeat(16)}`)))).toBe('ok');
  });
});

describe('failed admin authentications are rate-limited per source address (D7)', () => {
  it('after the burst of failures every request from that address is 429 with a retry delay, even with the right key', () => {
    let now = 1_000_000;
    const check = createAdminCheck(KEY, { failureRate: { burst: 3, perMs: 30_000 }, now: () => now });
    const attacker = '198.51.100.7';
    for (let i = 0; i < 3; i++)
      expect(outcome(() => check(request(`Bearer guess-${i}`, attacker)))).toBe('UNAUTHORIZED');
    // Budget spent: refused before the key is compared, so a right guess is not told apart.
    expect(outcome(() => check(request('Bearer guess-3', attacker)))).toBe('RATE_LIMITED 10000ms');
    expect(outcome(() => check(request(`Bearer ${KEY}`, attacker)))).toBe('RATE_LIMITED 10000ms');
    // A missing header counts as a failure too (it was already limited here).
    expect(outcome(() => check(request(undefined, attacker)))).toMatch(/^RATE_LIMITED/);
    // Other addresses are not affected, with or without the key.
    expect(outcome(() => check(request(`Bearer ${KEY}`, '192.0.2.99')))).toBe('ok');
    expect(outcome(() => check(request('Bearer wrong', '192.0.2.99')))).toBe('UNAUTHORIZED');
    // The delay shrinks as time passes, then one more attempt is allowed.
    now += 4_000;
    expect(outcome(() => check(request(`Bearer ${KEY}`, attacker)))).toBe('RATE_LIMITED 6000ms');
    now += 6_000;
    expect(outcome(() => check(request(`Bearer ${KEY}`, attacker)))).toBe('ok');
    expect(outcome(() => check(request('Bearer again-wrong', attacker)))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request('Bearer and-again', attacker)))).toMatch(/^RATE_LIMITED/);
  });

  it('successful requests never spend the budget', () => {
    const check = createAdminCheck(KEY, { failureRate: { burst: 1, perMs: 60_000 }, now: () => 0 });
    for (let i = 0; i < 50; i++) expect(outcome(() => check(request(`Bearer ${KEY}`)))).toBe('ok');
    expect(outcome(() => check(request('Bearer nope')))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request(`Bearer ${KEY}`)))).toMatch(/^RATE_LIMITED/);
  });

  it('IPv6 addresses of one /64 share a budget; IPv4-mapped addresses count as their IPv4 address', () => {
    const check = createAdminCheck(KEY, { failureRate: { burst: 2, perMs: 60_000 }, now: () => 0 });
    expect(outcome(() => check(request('Bearer x', '2001:db8:1:2::1')))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request('Bearer x', '2001:db8:1:2:ffff:0:0:9')))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request('Bearer x', '2001:0db8:0001:0002:abcd::')))).toMatch(/^RATE_LIMITED/);
    expect(outcome(() => check(request('Bearer x', '2001:db8:1:3::1')))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request('Bearer x', '::ffff:203.0.113.5')))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request('Bearer x', '203.0.113.5')))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request(`Bearer ${KEY}`, '203.0.113.5')))).toMatch(/^RATE_LIMITED/);
  });

  it('null disables the limit', () => {
    const check = createAdminCheck(KEY, { failureRate: null });
    for (let i = 0; i < 100; i++) expect(outcome(() => check(request('Bearer nope')))).toBe('UNAUTHORIZED');
    expect(outcome(() => check(request(`Bearer ${KEY}`)))).toBe('ok');
  });

  it('remembers a bounded number of addresses under a spray of sources', () => {
    let now = 0;
    const check = createAdminCheck(KEY, { failureRate: { burst: 1, perMs: 1_000 }, now: () => now });
    // 30,000 sources each fail once, past the 10,000 remembered: the oldest are forgotten, the newest still limited.
    for (let i = 0; i < 30_000; i++) {
      expect(outcome(() => check(request('Bearer nope', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)))).toBe(
        'UNAUTHORIZED',
      );
    }
    expect(outcome(() => check(request(`Bearer ${KEY}`, '10.0.117.47')))).toMatch(/^RATE_LIMITED/); // i = 29999
    now += 1_000;
    expect(outcome(() => check(request(`Bearer ${KEY}`, '10.0.117.47')))).toBe('ok');
  });
});

describe('sourceKey', () => {
  it('normalises addresses into the key a per-address limit counts under', () => {
    expect(sourceKey('127.0.0.1')).toBe('127.0.0.1');
    expect(sourceKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('2001:DB8:0:0:1::')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(sourceKey(undefined)).toBe('unknown');
    expect(sourceKey('not an address')).toBe('unknown');
  });
});
