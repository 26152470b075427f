import type { IncomingMessage } from 'node:http';

/**
 * Decides whether a browser upgrade's `Origin` is allowed (cross-site
 * WebSocket hijacking guard). Requests without `Origin` (non-browser clients)
 * are not subject to it. With an empty allowlist, production allows
 * same-origin only (the Origin's host:port equals `Host`); development
 * allows any origin.
 */
export function createOriginCheck(
  allowedOrigins: readonly string[],
  production: boolean,
): (req: IncomingMessage) => boolean {
  const allowed = new Set(allowedOrigins.map(normalise).filter((origin): origin is string => origin !== null));
  const any = allowedOrigins.includes('*');
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (any) return true;
    if (allowed.size > 0) {
      const normalised = normalise(origin);
      return normalised !== null && allowed.has(normalised);
    }
    if (!production) return true;
    try {
      return new URL(origin).host === (req.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  };
}

/** `scheme://host[:port]`, lower-cased, default ports dropped; null when not an origin. */
function normalise(origin: string): string | null {
  if (origin === '*') return null;
  try {
    const url = new URL(origin);
    return `${url.protocol}//${url.host}`.toLowerCase();
  } catch {
    return null;
  }
}

/** Longest close reason a WebSocket close frame carries (125-byte payload minus the code). */
const MAX_REASON_BYTES = 123;

/**
 * Why an upgrade's `Origin` was refused, naming the origin and the setting
 * that allows it; short enough to be a WebSocket close reason (the only
 * thing a browser page can read about a refusal).
 */
export function originRefusal(origin: string): string {
  const tail = ' is not allowed: add it to --allowed-origins';
  let shown = origin.replace(/[^\x20-\x7e]/g, '?');
  const room = MAX_REASON_BYTES - 'origin '.length - tail.length;
  if (shown.length > room) shown = `${shown.slice(0, room - 3)}...`;
  return `origin ${shown}${tail}`;
}
