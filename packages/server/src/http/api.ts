import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DEFAULT_HISTORY_LIMIT,
  ErrorCode,
  isValidChannel,
  MAX_HISTORY_LIMIT,
  type PublishResponse,
} from '@albatross/protocol';
import { AlbatrossError, toAlbatrossError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { readBody, sendError, sendJson } from './respond.js';

/** What the HTTP API needs from the gateway. */
export interface HttpApiContext {
  readonly logger: Logger;
  readonly maxPublishBytes: number;
  checkAdmin(req: IncomingMessage): void;
  isReady(): Promise<{ ready: boolean; reason?: string }>;
  publish(request: unknown): Promise<PublishResponse>;
  historyBody(channel: string, sinceOffset: number, limit: number): Promise<Buffer>;
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
        const body = await readBody(req, ctx.maxPublishBytes);
        let value: unknown;
        try {
          value = JSON.parse(body.toString('utf8'));
        } catch {
          throw new AlbatrossError(ErrorCode.INVALID_MESSAGE, 'body is not valid JSON');
        }
        sendJson(res, 200, await ctx.publish(value));
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
    const url = new URL(req.url ?? '/', 'http://localhost');
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
