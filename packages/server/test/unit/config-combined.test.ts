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

describe('redactRedisUrl', () => {
  it('hides passwords in the authority and in the query', () => {
    const password = randomSecret('pw');
    expect(redactRedisUrl(`redis://user:${password}@h:6379/0`)).toBe('redis://user:***@h:6379/0');
    const redacted = redactRedisUrl(`redis://h:6379/0?password=${password}&db=1`);
    expect(redacted).not.toContain(password);
    expect(redacted).toContain('db=1');
  });
});
