import { describe, expect, it } from 'vitest';
import { parseRate } from '../../src/config/rate.js';
import { ConfigError, envName, parseFlags, resolveConfig, SETTINGS } from '../../src/config/settings.js';

const flags = (...argv: string[]) => parseFlags(argv);
const resolve = (
  argv: string[] = [],
  env: Record<string, string | undefined> = {},
  file: Record<string, unknown> = {},
) => resolveConfig(parseFlags(argv), env, file);

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseFlags', () => {
  it('reads --name value and --name=value', () => {
    expect([...flags('--port', '0', '--host=::1', '--jwt-secret=a=b=c')]).toEqual([
      ['port', '0'],
      ['host', '::1'],
      ['jwt-secret', 'a=b=c'],
    ]);
  });

  it('bare boolean flags are true; a boolean flag may also take a value', () => {
    expect(flags('--dev').get('dev')).toBe('true');
    expect(flags('--dev', '--port', '1').get('dev')).toBe('true');
    expect(flags('--dev', 'false').get('dev')).toBe('false');
  });

  it('refuses unknown flags, stray arguments and a missing value', () => {
    expect(configError(() => flags('--nope', '1'))).toMatch(/unknown flag --nope/);
    expect(configError(() => flags('serve'))).toMatch(/unexpected argument "serve"/);
    expect(configError(() => flags('-p', '1'))).toMatch(/unexpected argument/);
    expect(configError(() => flags('--port'))).toMatch(/--port needs a value/);
  });
});

describe('resolveConfig precedence: flag > env > file > default', () => {
  it('uses defaults when nothing is given', () => {
    const config = resolve();
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      authTimeoutMs: 5000,
      heartbeatMs: 30000,
      historySize: 1000,
      historyTtlMs: 600000,
      maxPublishBytes: 1048576,
      baselineChannels: ['user:{sub}:updates', 'user:{sub}:apikeys', 'tenant:{tenant_id}:updates'],
      allowPlatformAdmin: false,
      dev: false,
    });
    expect(config.jwtSecret).toBeUndefined();
    expect(config.adminKey).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it('file overrides default, env overrides file, flag overrides env', () => {
    const file = { port: 1111, 'heartbeat-ms': 2000, 'history-size': 30 };
    const env = { ALBATROSS_PORT: '2222', ALBATROSS_HEARTBEAT_MS: '3000' };
    const config = resolve(['--port', '3333'], env, file);
    expect(config.port).toBe(3333);
    expect(config.heartbeatMs).toBe(3000);
    expect(config.historySize).toBe(30);
    expect(config.authTimeoutMs).toBe(5000);
    expect(resolve([], env, file).port).toBe(2222);
    expect(resolve([], {}, file).port).toBe(1111);
  });

  it('an empty environment variable is ignored', () => {
    expect(resolve([], { ALBATROSS_PORT: '' }, { port: 1234 }).port).toBe(1234);
  });

  it('maps every setting to ALBATROSS_* and the config-file key of the same name', () => {
    expect(envName('jwt-public-key-file')).toBe('ALBATROSS_JWT_PUBLIC_KEY_FILE');
    for (const name of [
      'host',
      'port',
      'jwt-secret',
      'jwt-public-key-file',
      'jwks-url',
      'api-keys-file',
      'admin-key',
    ]) {
      expect(
        SETTINGS.some((s) => s.name === name),
        name,
      ).toBe(true);
    }
    const env = {
      ALBATROSS_HOST: '0.0.0.0',
      ALBATROSS_JWT_SECRET: 'env-secret-0123456789',
      ALBATROSS_ADMIN_KEY: 'adm-0123456789abcdef',
      ALBATROSS_API_KEYS_FILE: '/k.json',
      ALBATROSS_JWKS_URL: 'https://x/jwks',
      ALBATROSS_JWT_PUBLIC_KEY_FILE: '/pub.pem',
      ALBATROSS_AUTH_TIMEOUT_MS: '1500',
      ALBATROSS_HISTORY_TTL_MS: '5000',
      ALBATROSS_MAX_PUBLISH_BYTES: '4096',
    };
    expect(resolve([], env)).toMatchObject({
      host: '0.0.0.0',
      jwtSecret: 'env-secret-0123456789',
      adminKey: 'adm-0123456789abcdef',
      apiKeysFile: '/k.json',
      jwksUrl: 'https://x/jwks',
      jwtPublicKeyFile: '/pub.pem',
      authTimeoutMs: 1500,
      historyTtlMs: 5000,
      maxPublishBytes: 4096,
    });
    const file = { 'auth-timeout-ms': 1600, 'max-publish-bytes': '2048', 'jwks-url': 'https://y/jwks' };
    expect(resolve([], {}, file)).toMatchObject({
      authTimeoutMs: 1600,
      maxPublishBytes: 2048,
      jwksUrl: 'https://y/jwks',
    });
  });

  it('redis-url also reads REDIS_URL, after ALBATROSS_REDIS_URL', () => {
    expect(resolve([], { REDIS_URL: 'redis://a' }).redisUrl).toBe('redis://a');
    expect(resolve([], { REDIS_URL: 'redis://a', ALBATROSS_REDIS_URL: 'redis://b' }).redisUrl).toBe('redis://b');
    expect(resolve(['--redis-url', 'redis://c'], { REDIS_URL: 'redis://a' }).redisUrl).toBe('redis://c');
  });

  it('lists accept a comma string or a JSON array; empty means none', () => {
    expect(resolve(['--baseline-channels', 'a:{sub}, b:c ,,']).baselineChannels).toEqual(['a:{sub}', 'b:c']);
    expect(resolve([], {}, { 'baseline-channels': ['x:y', 'z:w'] }).baselineChannels).toEqual(['x:y', 'z:w']);
    expect(resolve(['--baseline-channels='], {}).baselineChannels).toEqual([]);
  });

  it('booleans accept the usual spellings', () => {
    for (const yes of ['true', 'TRUE', '1', 'yes', 'on'])
      expect(resolve([`--allow-platform-admin=${yes}`]).allowPlatformAdmin).toBe(true);
    for (const no of ['false', '0', 'no', 'off'])
      expect(resolve([`--allow-platform-admin=${no}`]).allowPlatformAdmin).toBe(false);
    expect(resolve([], {}, { 'allow-platform-admin': true }).allowPlatformAdmin).toBe(true);
    expect(resolve([], {}, { dev: false }).dev).toBe(false);
  });

  it('reads the rate limit, and off disables it', () => {
    expect(resolve(['--rate-limit', '20/5s']).rateLimit).toEqual({ burst: 20, perMs: 5000 });
    expect(resolve(['--rate-limit', 'off']).rateLimit).toBeNull();
    expect(resolve().rateLimit).toEqual({ burst: 10, perMs: 10_000 });
  });
});

describe('resolveConfig validation names the setting and why, in one line', () => {
  it('int: not an integer, out of range', () => {
    expect(configError(() => resolve(['--port', 'abc']))).toBe(
      'invalid --port (from flag --port): "abc" is not an integer',
    );
    expect(configError(() => resolve(['--port', '70000']))).toMatch(
      /^invalid --port \(from flag --port\): 70000 is outside 0\.\.65535$/,
    );
    expect(configError(() => resolve(['--port', '-1']))).toMatch(/invalid --port .*outside/);
    expect(configError(() => resolve(['--port', '1.5']))).toMatch(/invalid --port .*not an integer/);
    expect(configError(() => resolve(['--port', '1e3']))).toMatch(/invalid --port .*not an integer/);
    expect(configError(() => resolve([], { ALBATROSS_HISTORY_SIZE: '0' }))).toMatch(
      /^invalid --history-size \(from env ALBATROSS_HISTORY_SIZE\): 0 is outside 1\.\./,
    );
    expect(configError(() => resolve([], {}, { 'heartbeat-ms': 'soon' }))).toMatch(
      /^invalid --heartbeat-ms \(from config file key "heartbeat-ms"\): "soon" is not an integer/,
    );
    expect(configError(() => resolve([], {}, { 'auth-timeout-ms': true }))).toMatch(/invalid --auth-timeout-ms/);
    expect(configError(() => resolve(['--history-ttl-ms', '10']))).toMatch(/invalid --history-ttl-ms/);
    expect(configError(() => resolve(['--max-publish-bytes', '99999999999999999999']))).toMatch(
      /invalid --max-publish-bytes/,
    );
  });

  it('string: must not be empty', () => {
    expect(configError(() => resolve(['--host=']))).toMatch(/^invalid --host \(from flag --host\): must not be empty$/);
    expect(configError(() => resolve(['--jwt-secret=']))).toMatch(/invalid --jwt-secret/);
    expect(configError(() => resolve([], {}, { 'admin-key': '' }))).toMatch(
      /invalid --admin-key \(from config file key "admin-key"\)/,
    );
  });

  it('secrets: --admin-key and --jwt-secret need at least 16 characters, and the refusal does not echo them', () => {
    const short = 'k7Qz9wPpL2xVb4n'; // 15 characters
    for (const name of ['admin-key', 'jwt-secret']) {
      const fromFlag = configError(() => resolve([`--${name}`, short]));
      expect(fromFlag).toBe(`invalid --${name} (from flag --${name}): must be at least 16 characters`);
      expect(fromFlag).not.toContain(short);
      expect(configError(() => resolve([], { [envName(name)]: 'a' }))).toMatch(
        new RegExp(`^invalid --${name} \\(from env ${envName(name)}\\): must be at least 16`),
      );
      expect(configError(() => resolve([], {}, { [name]: 'a' }))).toMatch(/must be at least 16 characters/);
    }
    expect(resolve(['--admin-key', `${short}x`]).adminKey).toBe(`${short}x`);
  });

  it('admin-auth-failure-rate: a rate, 10/1m by default, off disables', () => {
    expect(resolve([]).adminAuthFailureRate).toEqual({ burst: 10, perMs: 60_000 });
    expect(resolve(['--admin-auth-failure-rate', '3/10s']).adminAuthFailureRate).toEqual({ burst: 3, perMs: 10_000 });
    expect(resolve(['--admin-auth-failure-rate', 'off']).adminAuthFailureRate).toBeNull();
    expect(configError(() => resolve(['--admin-auth-failure-rate', 'lots']))).toMatch(
      /^invalid --admin-auth-failure-rate \(from flag --admin-auth-failure-rate\)/,
    );
  });

  it('bool', () => {
    expect(configError(() => resolve(['--allow-platform-admin=maybe']))).toMatch(
      /^invalid --allow-platform-admin \(from flag --allow-platform-admin\): "maybe" is not a boolean/,
    );
    expect(configError(() => resolve([], { ALBATROSS_DEV: 'sure' }))).toMatch(
      /invalid --dev \(from env ALBATROSS_DEV\)/,
    );
  });

  it('rate', () => {
    expect(configError(() => resolve(['--rate-limit', 'fast']))).toMatch(
      /^invalid --rate-limit \(from flag --rate-limit\): "fast" is not a rate/,
    );
    expect(configError(() => resolve(['--rate-limit', '0/1s']))).toMatch(/invalid --rate-limit/);
  });

  it('enum', () => {
    expect(configError(() => resolve(['--log-level', 'loud']))).toMatch(
      /^invalid --log-level \(from flag --log-level\): "loud" is not one of fatal, error, warn, info, debug, trace, silent$/,
    );
  });

  it('the first bad setting wins over later ones, and a flag fixes a bad env value', () => {
    expect(resolve(['--port', '1'], { ALBATROSS_PORT: 'bad' }).port).toBe(1);
    expect(configError(() => resolve([], { ALBATROSS_PORT: 'bad', ALBATROSS_HISTORY_SIZE: '0' }))).toMatch(/--port/);
  });

  it('refuses unknown config-file keys', () => {
    expect(configError(() => resolve([], {}, { prot: 8080 }))).toBe('unknown key "prot" in config file');
  });

  it('refuses config-file values that are objects or null, naming the setting', () => {
    expect(configError(() => resolve([], {}, { host: { name: 'x' } }))).toMatch(
      /^invalid --host \(from config file key "host"\)/,
    );
    expect(configError(() => resolve([], {}, { 'jwt-secret': null }))).toMatch(/^invalid --jwt-secret/);
    expect(configError(() => resolve([], {}, { port: [80] }))).toMatch(/^invalid --port/);
  });
});

describe('parseRate', () => {
  it('parses N/<n>(ms|s|m|h)', () => {
    expect(parseRate('10/10s')).toEqual({ burst: 10, perMs: 10_000 });
    expect(parseRate('5/s')).toEqual({ burst: 5, perMs: 1000 });
    expect(parseRate(' 100/250ms ')).toEqual({ burst: 100, perMs: 250 });
    expect(parseRate('60/m')).toEqual({ burst: 60, perMs: 60_000 });
    expect(parseRate('1000/2h')).toEqual({ burst: 1000, perMs: 7_200_000 });
  });
  it('returns null for anything else', () => {
    for (const text of ['', '10', '10/', '10/10', '10/10d', '0/1s', '10/0s', '-1/1s', '1.5/1s', 'ten/s', '10 / 1s']) {
      expect(parseRate(text), text).toBeNull();
    }
  });
});
