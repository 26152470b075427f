import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConsoleHandler, PLATFORM_PREFIXES } from '../../src/serve.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const CONSOLE = fileURLToPath(new URL('../../', import.meta.url));

/** Builds the console with Vite into `dist` (what the platform serves). */
export async function buildConsole(): Promise<string> {
  const { build } = await import('vite');
  await build({ root: CONSOLE, configFile: join(CONSOLE, 'vite.config.ts'), logLevel: 'error' });
  return join(CONSOLE, 'dist');
}

/** A platform process started by the test (`albatross platform` on embedded defaults, port 0). */
export interface PlatformProcess {
  port: number;
  dataDir: string;
  /** The one-time admin password from the log (first start only). */
  oneTimePassword: string | null;
  adminEmail: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `albatross platform` from source; resolves on its JSON `listening` line. */
export async function startPlatform(options: { dataDir?: string; port?: number } = {}): Promise<PlatformProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'console-e2e-')));
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'node_modules/tsx/dist/cli.mjs'),
      '--conditions=@albatross/source',
      join(REPO, 'packages/server/src/cli/main.ts'),
      'platform',
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      '--data-dir',
      dataDir,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  let out = '';
  const result = await new Promise<PlatformProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start in 90 s:\n${out}`)), 90_000);
    let port = 0;
    let password: string | null = null;
    let email = 'admin@albatross.local';
    const onLine = (line: string) => {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (record.msg === 'listening' && typeof record.port === 'number') port = record.port;
      if (typeof record.one_time_password === 'string') password = record.one_time_password;
      if (typeof record.email === 'string') email = record.email;
      // On a first start the password line comes just before `listening`.
      if (record.msg === 'listening' && port !== 0) {
        clearTimeout(timer);
        resolve({
          port,
          dataDir,
          oneTimePassword: password,
          adminEmail: email,
          child,
          stop: () => stopChild(child),
        });
      }
    };
    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`platform exited with ${code}:\n${out}`));
    });
  });
  return result;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Removes a data directory (after the platform stopped). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * The production shape on one origin, without editing the platform: the
 * built console served by `createConsoleHandler`, and everything else
 * (the API, the WebSocket upgrade, JWKS) passed to the platform port. The
 * platform's own wiring does the same in one process once it registers the
 * console. The target port can change (a restarted platform).
 */
export async function startFront(
  root: string,
  target: { port: number },
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const serve = createConsoleHandler({ root, excludePrefixes: PLATFORM_PREFIXES });
  const server = createServer((req, res) => {
    void serve(req, res).then((handled) => {
      if (handled) return;
      const upstream = request(
        { host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'UNAVAILABLE', message: 'platform unreachable' }));
      });
      req.pipe(upstream);
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const upstream = connect(target.port, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const end = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', end);
    upstream.on('close', end);
    socket.on('error', end);
    socket.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
