import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Serves the built console (`apps/console/dist`) from the platform's HTTP
 * server: one URL for the UI, the API and the WebSocket. Framework-free (plain
 * `node:http` request and response), so the platform registers it in one line
 * whatever its router.
 */

/** Options of {@link createConsoleHandler}. */
export interface ConsoleStaticOptions {
  /** The built console; default: this package's `dist` folder. */
  root?: string;
  /** Paths never served here; default {@link PLATFORM_PREFIXES}. */
  excludePrefixes?: readonly string[];
}

/** The platform's own paths: the HTTP API, the WebSocket, JWKS and the gateway's probes. */
export const PLATFORM_PREFIXES: readonly string[] = [
  '/api',
  '/ws',
  '/.well-known',
  '/health',
  '/live',
  '/ready',
  '/metrics',
];

function excludedPath(pathname: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

/** Cache-Control of the content-hashed files under `/assets/`: a new build has new names. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** Cache-Control of `index.html` and other unhashed files: always revalidate, so a deploy shows at once. */
export const REVALIDATE_CACHE = 'no-cache';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Default root: this package's `dist` (the same from `src/serve.ts` and the compiled `lib/serve.js`). */
export function defaultConsoleRoot(): string {
  return fileURLToPath(new URL('../dist', import.meta.url));
}

async function fileSize(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}

/**
 * A request handler that answers GET/HEAD for the console and returns true, or
 * returns false (and writes nothing) for anything it does not serve: other
 * methods, the excluded prefixes, or everything when the console is not built.
 * A path with a file extension that does not exist is a 404 (a missing script
 * must not be answered with HTML); any other path gets `index.html` (SPA
 * fallback for the client-side routes).
 *
 * @example
 * const serveConsole = createConsoleHandler();
 * http.createServer(async (req, res) => { if (!(await serveConsole(req, res))) api(req, res); });
 */
export function createConsoleHandler(
  options: ConsoleStaticOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const root = resolve(options.root ?? defaultConsoleRoot());
  const excluded = options.excludePrefixes ?? PLATFORM_PREFIXES;
  const index = join(root, 'index.html');
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://console.invalid').pathname);
    } catch {
      return false;
    }
    if (excludedPath(pathname, excluded)) return false;
    const indexSize = await fileSize(index);
    if (indexSize === null) return false;
    // normalize + the root check refuse `..` and encoded traversal.
    const candidate = normalize(join(root, pathname));
    const inside = candidate === root || candidate.startsWith(root + sep);
    let file = index;
    let size: number | null = indexSize;
    if (inside && pathname !== '/') {
      const found = await fileSize(candidate);
      if (found !== null) {
        file = candidate;
        size = found;
      } else if (extname(pathname) !== '') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': REVALIDATE_CACHE });
        res.end('not found');
        return true;
      }
    } else if (!inside) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return true;
    }
    const hashed = file !== index && pathname.startsWith('/assets/');
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': String(size),
      'cache-control': hashed ? IMMUTABLE_CACHE : REVALIDATE_CACHE,
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(file);
      stream.on('error', () => {
        res.destroy();
        done();
      });
      stream.on('end', () => done());
      stream.pipe(res);
    });
    return true;
  };
}

/** The part of a Fastify instance {@link registerConsole} uses (structural: no Fastify dependency here). */
export interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): void }) => Promise<void>,
  ): unknown;
}

/**
 * Serves the console from a Fastify app: an `onRequest` hook that takes over
 * (hijacks) the requests the console answers and lets every other one through
 * to the routes. Call it once, before `listen`.
 *
 * @example
 * import { registerConsole } from '@albatross/console/serve';
 * registerConsole(app); // GET / → the console; /api, /ws, /.well-known untouched
 */
export function registerConsole(app: FastifyLike, options: ConsoleStaticOptions = {}): void {
  const handle = createConsoleHandler(options);
  const excluded = options.excludePrefixes ?? PLATFORM_PREFIXES;
  app.addHook('onRequest', async (request, reply) => {
    const { method, url = '/' } = request.raw;
    if (method !== 'GET' && method !== 'HEAD') return;
    if (excludedPath(url.split('?')[0] ?? '/', excluded)) return;
    // Take the request over before writing, so Fastify does not answer it too.
    reply.hijack();
    if (await handle(request.raw, reply.raw)) return;
    if (!reply.raw.headersSent) {
      reply.raw.writeHead(404, { 'content-type': 'application/json' });
      reply.raw.end(
        JSON.stringify({ code: 'NOT_FOUND', message: 'the console is not built: npm run build -w @albatross/console' }),
      );
    }
  });
}
