import { pino } from 'pino';

/**
 * The logging surface the gateway needs; a pino logger satisfies it, and an
 * embedding app can pass its own.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  /**
   * Whether lines at `level` are written (pino loggers have it). Optional:
   * without it every line is built; with it, callers may skip building lines
   * nobody reads.
   */
  isLevelEnabled?(level: LogLevel): boolean;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Field names whose values never reach a log line, wherever they appear. */
const REDACTED_KEYS = ['token', 'access_token', 'api_key', 'authorization', 'admin_key', 'jwt_secret', 'password'];

/**
 * Creates the gateway's JSON logger (pino) with secrets redacted.
 *
 * @example
 * const logger = createLogger({ level: 'info' });
 */
export function createLogger(options: { level?: LogLevel; destination?: NodeJS.WritableStream } = {}): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  const opts = {
    level: options.level ?? 'info',
    base: { service: 'albatross' },
    redact: { paths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

const QUERY_SECRETS = new Set(['access_token', 'api_key', 'token']);

/**
 * Returns a request URL safe to log: the values of `access_token`, `api_key`
 * and `token` query parameters are replaced by `[redacted]`.
 */
export function redactUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawKey = eq < 0 ? pair : pair.slice(0, eq);
      let key = rawKey;
      try {
        key = decodeURIComponent(rawKey);
      } catch {
        // A malformed escape: judge the raw key.
      }
      return QUERY_SECRETS.has(key.toLowerCase()) ? `${rawKey}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/** A logger that writes nothing (tests, benchmarks). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
