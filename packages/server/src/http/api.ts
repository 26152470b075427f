import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_HISTORY_LIMIT,
  ErrorCode,
  isValidChannel,
  MAX_HISTORY_LIMIT,
  type PublishResponse,
} from '@albatross/protocol';
import { jsonDepthExceeds, MAX_JSON_DEPTH, TOO_DEEP_MESSAGE } from '@albatross/protocol/validate';
import type { DisconnectFilter } from '../broker/types.js';
import { AlbatrossError, RateLimitedError, toAlbatrossError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { readBody, sendError, sendJson } from './respond.js';

export type { DisconnectFilter } from '../broker/types.js';

/** One row of `GET /api/connections`. */
export interface ConnectionInfo {
  connection_id: string;
  state: string;
  tenant_id: string | null;
  user_id: string | null;
  credential: string | null;
  subscriptions: number;
  connected_at: string;
  buffered_bytes: number;
}

/** Filter of the connection registry (`GET /api/connections`, `gateway.connections`). */
export interface ConnectionFilter {
  tenant_id?: string;
  user_id?: string;
  /** Rows per page, 1..1000 (default 100). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/** A page of the connection registry; `next_cursor` is null on the last page. */
export interface ConnectionPage {
  connections: ConnectionInfo[];
  next_cursor: string | null;
}

/** What the HTTP API needs from the gateway. */
export interface HttpApiContext {
  readonly logger: Logger;
  readonly maxPublishBytes: number;
  readonly metricsContentType: string;
  checkAdmin(req: IncomingMessage): void;
  isReady(): Promise<{ ready: boolean; reason?: string }>;
  health(): Promise<{ status: 'ok' | 'degraded' | 'down'; checks: Record<string, unknown> }>;
  publish(request: unknown): Promise<PublishResponse>;
  historyBody(channel: string, sinceOffset: number, limit: number): Promise<Buffer>;
  /** Closes matches on every node; resolves to the count closed on this one. */
  disconnect(filter: DisconnectFilter): Promise<number>;
  listConnections(filter: { tenant_id?: string; user_id?: string; limit: number; cursor?: number }): {
    connections: ConnectionInfo[];
    next_cursor: string | null;
  };
  metrics(): Promise<string>;
}

/** Largest page of `GET /api/connections`. */
export const MAX_CONNECTIONS_PAGE = 1000;
/** Default page of `GET /api/connections`. */
export const DEFAULT_CONNECTIONS_PAGE = 100;

/** Reads a JSON body; every route's body is bounded in size and nesting depth before anything walks it. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'body is not valid JSON');
  }
  if (jsonDepthExceeds(value, MAX_JSON_DEPTH))
    throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, `body: ${TOO_DEEP_MESSAGE}`);
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, `${field} must be a non-empty string`);
  }
  return value;
}

/** The anonymous view of a health report: the overall status and each check's status, nothing else. */
function publicHealth(report: { status: string; checks: Record<string, unknown> }): {
  status: string;
  checks: Record<string, { status: unknown }>;
} {
  const checks: Record<string, { status: unknown }> = {};
  for (const [name, check] of Object.entries(report.checks)) {
    checks[name] = { status: (check as { status?: unknown } | null)?.status ?? 'down' };
  }
  return { status: report.status, checks };
}

/** A route handler; resolves when the answer is written. */
type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, params: readonly string[]) => Promise<void>;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handler: Handler;
}

function integerParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, `${name} must be a non-negative integer`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, `${name} must be between ${min} and ${max}`);
  }
  return value;
}

/**
 * The gateway's HTTP routes: `/live`, `/ready`, `POST /api/publish` and
 * `GET /api/channels/{channel}/history`. Returns a request handler that
 * answers the routes it owns and returns false for everything else, so an
 * embedding app can mount it beside its own routes.
 */
export function createHttpApi(ctx: HttpApiContext): (req: IncomingMessage, res: ServerResponse) => boolean {
  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/live$/,
      handler: async (_req, res) => sendJson(res, 200, { status: 'ok' }),
    },
    {
      method: 'GET',
      pattern: /^\/ready$/,
      handler: async (_req, res) => {
        const { ready, reason } = await ctx.isReady();
        sendJson(res, ready ? 200 : 503, ready ? { status: 'ready' } : { status: 'unavailable', reason });
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/publish$/,
      handler: async (req, res) => {
        ctx.checkAdmin(req);
        sendJson(res, 200, await ctx.publish(await readJson(req, ctx.maxPublishBytes)));
      },
    },
    {
      method: 'GET',
      pattern: /^\/health$/,
      handler: async (req, res) => {
        // Anyone may probe /health; the details (broker mode, node addresses,
        // counters) are for the admin key only. A wrong key is refused.
        const detailed = req.headers.authorization !== undefined;
        if (detailed) ctx.checkAdmin(req);
        const report = await ctx.health();
        sendJson(res, report.status === 'down' ? 503 : 200, detailed ? report : publicHealth(report));
      },
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      handler: async (_req, res) => {
        const text = await ctx.metrics();
        res.writeHead(200, { 'content-type': ctx.metricsContentType, 'cache-control': 'no-store' });
        res.end(text);
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/disconnect$/,
      handler: async (req, res) => {
        ctx.checkAdmin(req);
        const body = await readJson(req, 64 * 1024);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'body must be a JSON object');
        }
        const record = body as Record<string, unknown>;
        const filter: DisconnectFilter = {};
        for (const field of ['user_id', 'tenant_id', 'api_key_id', 'connection_id'] as const) {
          const value = optionalString(record, field);
          if (value !== undefined) filter[field] = value;
        }
        sendJson(res, 200, { disconnected: await ctx.disconnect(filter) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/connections$/,
      handler: async (req, res, url) => {
        ctx.checkAdmin(req);
        const limit = integerParam(url, 'limit', DEFAULT_CONNECTIONS_PAGE, 1, MAX_CONNECTIONS_PAGE);
        const cursorText = url.searchParams.get('cursor');
        const filter: { tenant_id?: string; user_id?: string; limit: number; cursor?: number } = { limit };
        if (cursorText !== null && cursorText !== '')
          filter.cursor = integerParam(url, 'cursor', 0, 0, Number.MAX_SAFE_INTEGER);
        const tenant = url.searchParams.get('tenant_id');
        const user = url.searchParams.get('user_id');
        if (tenant) filter.tenant_id = tenant;
        if (user) filter.user_id = user;
        sendJson(res, 200, ctx.listConnections(filter));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/channels\/([^/]+)\/history$/,
      handler: async (req, res, url, params) => {
        ctx.checkAdmin(req);
        let channel: string;
        try {
          channel = decodeURIComponent(params[0] ?? '');
        } catch {
          throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'channel is not valid percent-encoding');
        }
        if (!isValidChannel(channel)) throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'invalid channel name');
        const since = integerParam(url, 'since', 0, 0, Number.MAX_SAFE_INTEGER);
        const limit = integerParam(url, 'limit', DEFAULT_HISTORY_LIMIT, 1, MAX_HISTORY_LIMIT);
        sendJson(res, 200, await ctx.historyBody(channel, since, limit));
      },
    },
  ];

  return (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // An absolute-form target such as `http://[bad/live`: not one of our routes.
      return false;
    }
    let pathMatched = false;
    for (const route of routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      route.handler(req, res, url, match.slice(1)).catch((error: unknown) => {
        const normalised = toAlbatrossError(error);
        if (normalised.code === ErrorCode.INTERNAL)
          ctx.logger.error({ err: error, path: url.pathname }, 'request failed');
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // After a refused body the rest of it is not read: close the connection.
        const headers: Record<string, string> =
          normalised.code === ErrorCode.MESSAGE_TOO_LARGE ? { connection: 'close' } : {};
        if (normalised instanceof RateLimitedError) headers['retry-after'] = String(normalised.retryAfterSeconds);
        sendError(res, normalised, headers);
      });
      return true;
    }
    if (pathMatched) {
      sendJson(res, 405, { code: ErrorCode.INVALID_MESSAGE, message: `method ${req.method ?? ''} not allowed` });
      return true;
    }
    return false;
  };
}
