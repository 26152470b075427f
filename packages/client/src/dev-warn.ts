import type { AlbatrossClientError } from './errors.js';

// Erased at build time: only the expression `process.env.NODE_ENV` matters,
// because bundlers (Vite, webpack, esbuild with `define`) replace exactly it.
declare const process: { env: { NODE_ENV?: string } };

/**
 * True unless the app was built for production. Bundlers replace
 * `process.env.NODE_ENV` with a literal; where nothing replaced it and there
 * is no `process` (plain browser ESM), the lookup throws and this counts as
 * development, so a mistake is still reported.
 */
export function isDevelopment(): boolean {
  try {
    return process.env.NODE_ENV !== 'production';
  } catch {
    return true;
  }
}

/** Receives the client's development warnings (default: `console.warn`). */
export type WarnFunction = (message: string, error: AlbatrossClientError) => void;

/**
 * One line a developer can act on: code, channel, what happened, the close
 * code and what to check (exported as `describeError`).
 *
 * @example
 * client.on('error', (error) => console.warn(describeError(error)));
 */
export function describe(error: AlbatrossClientError): string {
  const { channel, closeCode, hint } = error.details;
  const where = channel === undefined ? '' : ` on channel "${channel}"`;
  const close = closeCode === undefined ? '' : ` (close code ${closeCode})`;
  return `${error.code}${where}: ${error.message}${close}${hint ? `. ${hint}` : ''}`;
}

/**
 * Warns once per (code, channel): a retry loop or a re-rendering component
 * must not flood the console, yet every distinct failure is said once.
 */
export function createWarner(warn: WarnFunction | null): (error: AlbatrossClientError) => void {
  const seen = new Set<string>();
  return (error) => {
    if (!warn) return;
    const key = `${error.code}\u0000${error.details.channel ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    warn(`[albatross] ${describe(error)}`, error);
  };
}

/**
 * The default sink: the console, in development builds only. The only place
 * the SDK touches `console`, and only because the app asked for nothing else:
 * a failure nobody listens to must not be silent while developing.
 */
export function defaultWarn(): WarnFunction | null {
  if (!isDevelopment()) return null;
  // biome-ignore lint/suspicious/noConsole: development-only warning sink, see above
  return (message) => console.warn(message);
}

/**
 * Why a value returned by `getToken()` cannot be a credential (a JWT or an
 * API key: one run of printable, non-space characters), or null when it can.
 * Catches the usual wiring mistakes: an HTML page (a dev server's index.html
 * answering a missing endpoint), a JSON body, an empty answer.
 */
export function tokenProblem(token: unknown): { message: string; hint: string } | null {
  if (typeof token !== 'string')
    return { message: `getToken() returned ${typeof token}, not a string`, hint: 'return the token itself' };
  const text = token.trim();
  if (text === '')
    return {
      message: 'getToken() returned an empty token',
      hint: 'check that the token endpoint answers with the token (check `r.ok` before reading the body)',
    };
  if (text.startsWith('<'))
    return {
      message: 'getToken() returned an HTML page instead of a token',
      hint: 'the token endpoint is missing or the dev server answered it with index.html: check the URL getToken fetches, its proxy, and check `r.ok`',
    };
  if (text.startsWith('{') || text.startsWith('"'))
    return {
      message: 'getToken() returned JSON instead of a token',
      hint: 'return the token string itself, e.g. `(await r.json()).token`',
    };
  if (!/^[\x21-\x7e]+$/.test(token) || token.length > 16_384)
    return {
      message: 'getToken() returned something that is not a token (JWT or API key)',
      hint: 'check what the token endpoint answers',
    };
  return null;
}
