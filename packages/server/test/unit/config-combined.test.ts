import { describe, expect, it } from 'vitest';
import { redactRedisUrl } from '../../src/broker/redis/client.js';
import { ConfigError, parseFlags, resolveConfig } from '../../src/config/settings.js';
import { randomSecret } from '../support/harness.js';

const resolve = (argv: string[]) => resolveConfig(parseFlags(argv), {}, {});

describe('settings checked beyond their syntax', () => {
  it.each([
    [['--allowed-origins', 'app.example.com'], '--allowed-origins'],
    [['--allowed-origins', 'https://ok.example.com,ftp://x.example.com'], '--allowed-origins'],
    [['--allowed-origins', 'https://app.example.com/path'], '--allowed-origins'],
    [['--redis-url', 'notaurl'], '--redis-url'],
    [['--baseline-channels', 'user:{sub}:updates,bad channel'], '--baseline-channels'],
    [['--max-connections', '20', '--max-unauthenticated-connections', '21'], '--max-unauthenticated-connections'],
    [['--headers-timeout-ms', '10000', '--request-timeout-ms', '5000'], '--request-timeout-ms'],
  ])('refuses %j naming %s', (argv, setting) => {
    expect(() => resolve(argv)).toThrow(ConfigError);
    expect(() => resolve(argv)).toThrow(setting);
  });

  it('accepts real origins, * and templates', () => {
    const config = resolve([
      '--allowed-origins',
      'https://app.example.com,http://localhost:5173,*',
      '--redis-url',
      'rediss://u:p@h:6380/0',
      '--baseline-channels',
      'user:{sub}:updates,tenant:{tenant_id}:audit',
    ]);
    expect(config.allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:5173', '*']);
    expect(config.baselineChannels).toHaveLength(2);
  });
});

describe('HTTP timeouts (D12)', () => {
  it('default to 5 s for the request head and 30 s for the whole request', () => {
    expect(resolve([])).toMatchObject({ headersTimeoutMs: 5_000, requestTimeoutMs: 30_000 });
    expect(resolve(['--headers-timeout-ms', '2000', '--request-timeout-ms', '2000'])).toMatchObject({
      headersTimeoutMs: 2_000,
      requestTimeoutMs: 2_000,
    });
  });
});

describe('unauthenticated connection limits (D4)', () => {
  it('are unset by default and read as integers; the share may equal but not pass --max-connections', () => {
    expect(resolve([])).not.toHaveProperty('maxUnauthenticatedConnections');
    expect(resolve([])).not.toHaveProperty('maxUnauthenticatedPerAddress');
    const config = resolve([
      '--max-connections',
      '20',
      '--max-unauthenticated-connections',
      '20',
      '--max-unauthenticated-per-address',
      '4',
    ]);
    expect(config).toMatchObject({
      maxConnections: 20,
      maxUnauthenticatedConnections: 20,
      maxUnauthenticatedPerAddress: 4,
    });
    // Without --max-connections the share is a cap of its own.
    expect(resolve(['--max-unauthenticated-connections', '500']).maxUnauthenticatedConnections).toBe(500);
    expect(() => resolve(['--max-unauthenticated-per-address', '0'])).toThrow(/--max-unauthenticated-per-address/);
  });
});

describe('redactRedisUrl', () => {
  it('hides passwords in the authority and in the query', () => {
    const password = randomSecret('pw');
    expect(redactRedisUrl(`redis://user:${password}@h:6379/0`)).toBe('redis://user:***@h:6379/0');
    const redacted = redactRedisUrl(`redis://h:6379/0?password=${password}&db=1`);
    expect(redacted).not.toContain(password);
    expect(redacted).toContain('db=1');
  });
});
