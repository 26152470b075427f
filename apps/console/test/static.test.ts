// @vitest-environment node
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleHandler, IMMUTABLE_CACHE, REVALIDATE_CACHE } from '../src/serve.js';

let dir: string;
let server: Server;
let port: number;

function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-static-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(dir, 'dist', 'assets', 'index-abc123.js'), 'console.log(1)');
  await writeFile(join(dir, 'dist', 'favicon.svg'), '<svg/>');
  await writeFile(join(dir, 'secret.txt'), 'outside the root');
  const serve = createConsoleHandler({ root: join(dir, 'dist') });
  server = createServer((req, res) => {
    void serve(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(418, { 'content-type': 'text/plain' });
        res.end('passed through');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('createConsoleHandler', () => {
  it('serves index.html at / and for client-side routes (SPA fallback), revalidated on every load', async () => {
    for (const path of ['/', '/pireps/0193-abc', '/users?role=Pilot']) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.body).toContain('<title>console</title>');
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe(REVALIDATE_CACHE);
    }
  });

  it('serves hashed assets with a year-long immutable cache, other files revalidated', async () => {
    const asset = await get('/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.body).toBe('console.log(1)');
    expect(asset.headers['cache-control']).toBe(IMMUTABLE_CACHE);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const icon = await get('/favicon.svg');
    expect(icon.headers['cache-control']).toBe(REVALIDATE_CACHE);
  });

  it('answers 404 (not index.html) for a missing file with an extension', async () => {
    const res = await get('/assets/index-old999.js');
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('<title>');
  });

  it('never serves a file outside the root', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const res = await get(path);
      expect(res.body).not.toContain('outside the root');
    }
  });

  it('leaves the API, the WebSocket path, JWKS, probes and non-GET methods to the platform', async () => {
    for (const path of ['/api/tenants', '/api', '/ws', '/.well-known/jwks.json', '/health', '/metrics']) {
      expect((await get(path)).status).toBe(418);
    }
    expect((await get('/', 'POST')).status).toBe(418);
    expect((await get('/apiary')).status).toBe(200);
  });

  it('answers HEAD with headers only', async () => {
    const res = await get('/assets/index-abc123.js', 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('14');
    expect(res.body).toBe('');
  });

  it('passes everything through when the console is not built', async () => {
    const serve = createConsoleHandler({ root: join(dir, 'missing') });
    const handled = await serve({ method: 'GET', url: '/' } as never, {} as never);
    expect(handled).toBe(false);
  });
});

describe('registerConsole', () => {
  it('serves the console from a Fastify app and leaves its API routes and 404s alone', async () => {
    const { default: Fastify } = await import('fastify');
    const { registerConsole } = await import('../src/serve.js');
    const app = Fastify();
    app.get('/api/ping', async () => ({ pong: true }));
    registerConsole(app, { root: join(dir, 'dist') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const index = await fetch(`${base}/tenants`);
      expect(index.status).toBe(200);
      expect(await index.text()).toContain('<title>console</title>');
      const asset = await fetch(`${base}/assets/index-abc123.js`);
      expect(asset.headers.get('cache-control')).toBe(IMMUTABLE_CACHE);
      expect(await (await fetch(`${base}/api/ping`)).json()).toEqual({ pong: true });
      expect((await fetch(`${base}/api/nope`)).status).toBe(404);
      expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
