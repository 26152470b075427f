import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { example, PACKAGES, ROOT, run, type Service, start } from './support.js';

// Debian's chromium package; CHROMIUM_PATH overrides it.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(
    `consumer browser test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); packing, install, type check and build still run\n`,
  );
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** The workspace's environment minus anything that would point npm or node back at it. */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) =>
      !key.startsWith('npm_') &&
      !key.startsWith('ALBATROSS_') &&
      !key.startsWith('VITEST') &&
      !['NODE_OPTIONS', 'INIT_CWD', 'NODE_ENV', 'TEST', 'MODE'].includes(key),
  ),
);
const fail = (what: string, result: { code: number | null; output: string }) =>
  `${what} exited ${result.code}:\n${result.output.slice(-8000)}`;

let work = '';
const tarballs = new Map<string, string>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'albatross-consumer-'));
  // `npm pack` runs each package's prepack (its build), exactly as a publish would.
  for (const name of PACKAGES) {
    const packed = await run(NPM, ['pack', '--pack-destination', work, '--silent'], {
      cwd: join(ROOT, 'packages', name),
      env,
      timeoutMs: 5 * 60_000,
    });
    if (packed.code !== 0) throw new Error(fail(`npm pack in packages/${name}`, packed));
    const file = packed.output.trim().split('\n').at(-1) ?? '';
    tarballs.set(name, join(work, file));
  }
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const manifest = async (name: string) =>
  JSON.parse(await readFile(join(ROOT, 'packages', name, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    engines?: { node?: string };
    main?: string;
    types?: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };

const contents = async (name: string): Promise<string[]> => {
  const listed = await run('tar', ['-tzf', tarballs.get(name) ?? ''], { cwd: work, timeoutMs: 60_000 });
  expect(listed.code, listed.output).toBe(0);
  return listed.output.trim().split('\n');
};

describe('the packages as published', () => {
  it('share one version, and depend on each other at exactly that version', async () => {
    const manifests = await Promise.all(PACKAGES.map(manifest));
    const versions = new Set(manifests.map((m) => m.version));
    expect([...versions]).toHaveLength(1);
    const [version] = versions;
    for (const m of manifests) {
      for (const [dep, range] of Object.entries(m.dependencies ?? {}))
        if (dep.startsWith('@albatross/')) expect(`${m.name} → ${dep}@${range}`).toBe(`${m.name} → ${dep}@${version}`);
    }
  });

  it('carry their build, README, LICENSE, engines and top-level main/types; no tests', async () => {
    for (const name of PACKAGES) {
      const files = await contents(name);
      const m = await manifest(name);
      expect(files).toContain('package/dist/index.js');
      expect(files).toContain('package/dist/index.d.ts');
      expect(files).toContain('package/README.md');
      expect(files).toContain('package/LICENSE');
      expect(files.filter((f) => f.includes('/test/') || f.endsWith('.test.ts'))).toEqual([]);
      expect(m.engines?.node).toBe('>=20.19');
      expect(m.main).toBe('./dist/index.js');
      expect(m.types).toBe('./dist/index.d.ts');
    }
  });

  it('publint finds nothing to fix in any tarball', async () => {
    for (const name of PACKAGES) {
      const tarball = await readFile(tarballs.get(name) ?? '');
      const { messages, pkg } = await publint({
        pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
        level: 'suggestion',
        strict: true,
      });
      expect(messages.map((message) => `${name}: ${formatMessage(message, pkg) ?? message.code}`)).toEqual([]);
    }
  });

  it('@arethetypeswrong/cli resolves every entry point for ESM consumers (node16 and bundlers)', async () => {
    for (const name of PACKAGES) {
      const checked = await run(
        join(ROOT, 'node_modules', '.bin', 'attw'),
        [tarballs.get(name) ?? '', '--profile', 'esm-only', '--format', 'table-flipped'],
        { cwd: work, env, timeoutMs: 2 * 60_000 },
      );
      expect(checked.code, fail(`attw ${name}`, checked)).toBe(0);
    }
  });

  it('@albatross/protocol needs zod only for ./validate: an optional peer, never imported by its main entry', async () => {
    const m = await manifest('protocol');
    expect(m.dependencies ?? {}).toEqual({});
    expect(m.peerDependencies).toEqual({ zod: expect.any(String) });
    expect(m.peerDependenciesMeta?.zod?.optional).toBe(true);
    const dist = join(ROOT, 'packages', 'protocol', 'dist');
    for (const file of await readdir(dist)) {
      if (!file.endsWith('.js') || file === 'validate.js') continue;
      expect(`${file}: ${await readFile(join(dist, file), 'utf8')}`).not.toMatch(/from ['"]zod['"]/);
    }
    // The gateway does import ./validate, so it depends on zod itself.
    expect((await manifest('server')).dependencies?.zod).toBeDefined();
  });
});

describe('a fresh Vite + React + TanStack Query app', () => {
  let app = '';

  beforeAll(async () => {
    app = join(work, 'app');
    await mkdir(join(app, 'src'), { recursive: true });
    const file = (name: string) => `file:${tarballs.get(name)}`;
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'albatross-consumer-smoke',
          private: true,
          type: 'module',
          dependencies: {
            '@albatross/client': file('client'),
            '@albatross/protocol': file('protocol'),
            '@albatross/react': file('react'),
            '@albatross/server': file('server'),
            '@tanstack/react-query': '^5.0.0',
            react: '^19.0.0',
            'react-dom': '^19.0.0',
          },
          devDependencies: {
            '@types/node': '^20.19.0',
            '@types/react': '^19.0.0',
            '@types/react-dom': '^19.0.0',
            '@vitejs/plugin-react': '^6.0.0',
            typescript: '~6.0.3',
            vite: '8.3.8',
          },
        },
        null,
        2,
      ),
    );
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            lib: ['ES2023', 'DOM', 'DOM.Iterable'],
            module: 'ESNext',
            moduleResolution: 'bundler',
            jsx: 'react-jsx',
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            noImplicitOverride: true,
            noImplicitReturns: true,
            noFallthroughCasesInSwitch: true,
            verbatimModuleSyntax: true,
            isolatedModules: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          include: ['src', 'vite.config.ts'],
        },
        null,
        2,
      ),
    );
    await writeFile(
      join(app, 'index.html'),
      '<!doctype html>\n<html lang="en">\n<head><meta charset="UTF-8"><link rel="icon" href="data:,"><title>consumer</title></head>\n<body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body>\n</html>\n',
    );
    // docs/client.md, verbatim: the page and the Vite setup a newcomer copies.
    const docs = join(ROOT, 'docs', 'client.md');
    await writeFile(join(app, 'src', 'main.tsx'), await example(docs, 'react-main'));
    await writeFile(join(app, 'vite.config.ts'), await example(docs, 'vite-config'));
    // Type-checked, not bundled: every public entry point, as a TypeScript user imports it.
    await writeFile(
      join(app, 'src', 'entry-points.ts'),
      [
        "import { type AlbatrossClientError, createClient, describeError } from '@albatross/client';",
        "import { CloseCode, ErrorCode } from '@albatross/protocol';",
        "import { parsePublishRequest } from '@albatross/protocol/validate';",
        "import { ConnectionIndicator, useSubscription } from '@albatross/react';",
        "import { bindQueryClient, useRealtimeInvalidation } from '@albatross/react/query';",
        "import { createGateway, type GatewayOptions } from '@albatross/server';",
        'export const entryPoints = [createClient, describeError, CloseCode, ErrorCode, parsePublishRequest, ConnectionIndicator, useSubscription, bindQueryClient, useRealtimeInvalidation, createGateway] as const;',
        'export type Used = [AlbatrossClientError, GatewayOptions];',
        '',
      ].join('\n'),
    );
    const installed = await run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: app,
      env,
      timeoutMs: 8 * 60_000,
    });
    if (installed.code !== 0) throw new Error(fail('npm install in the fresh app (needs the npm registry)', installed));
  });

  it('installed the four tarballs together, outside the workspace', async () => {
    expect(app.startsWith(ROOT)).toBe(false);
    for (const name of PACKAGES) {
      const m = JSON.parse(await readFile(join(app, 'node_modules', '@albatross', name, 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(m.version).toBe((await manifest(name)).version);
    }
    // Nothing pulls a second copy of the protocol.
    expect(existsSync(join(app, 'node_modules', '@albatross', 'client', 'node_modules'))).toBe(false);
  });

  it('type-checks strictly (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, no skipLibCheck)', async () => {
    const checked = await run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
      cwd: app,
      env,
      timeoutMs: 4 * 60_000,
    });
    expect(checked.code, fail('tsc', checked)).toBe(0);
  });

  it('builds with Vite', async () => {
    const built = await run(join(app, 'node_modules', '.bin', 'vite'), ['build'], {
      cwd: app,
      env,
      timeoutMs: 4 * 60_000,
    });
    expect(built.code, fail('vite build', built)).toBe(0);
    expect(existsSync(join(app, 'dist', 'index.html'))).toBe(true);
    const assets = join(app, 'dist', 'assets');
    const js = (await readdir(assets)).filter((f) => f.endsWith('.js'));
    const bundle = (await Promise.all(js.map((f) => readFile(join(assets, f), 'utf8')))).join('\n');
    expect(bundle).toContain('getToken() returned an HTML page'); // the client is in it
    expect(bundle).not.toContain('jsxDEV'); // a production build, as users ship it
    // The client's development check was resolved at build time, so production warns nothing.
    expect(bundle).not.toContain('process.env.NODE_ENV');
    expect(bundle).not.toMatch(/\bZodError\b|zod/i); // the protocol's validator stays out of browser bundles
  });

  /** The installed `albatross serve --dev`, as a newcomer runs it; what its banner gives. */
  async function gateway(services: Service[], extra: string[] = []) {
    const service = start(
      join(app, 'node_modules', '.bin', 'albatross'),
      ['serve', '--dev', '--port', '0', '--dev-data-dir', join(work, 'dev-data'), ...extra],
      { cwd: app, env },
    );
    services.push(service);
    const port = Number((await service.match(/WebSocket: +ws:\/\/127\.0\.0\.1:(\d+)\/ws/, 60_000))[1]);
    const token = (await service.match(/Demo token: +(\S+)/, 10_000))[1] ?? '';
    const adminKey = (await service.match(/Authorization: Bearer ([^']+)'/, 10_000))[1] ?? '';
    return { port, token, adminKey };
  }

  /** `vite preview` of the built app, with the docs' vite.config.ts (proxy and token endpoint). */
  async function preview(services: Service[], vars: Record<string, string>): Promise<string> {
    const port = await freePort();
    const service = start(
      join(app, 'node_modules', '.bin', 'vite'),
      ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
      { cwd: app, env: { ...env, NO_COLOR: '1', ...vars } },
    );
    services.push(service);
    await service.match(new RegExp(`127\\.0\\.0\\.1:${port}`), 60_000);
    return `http://127.0.0.1:${port}/`;
  }

  /** Runs `body` with a fresh headless Chromium, then stops it and every service. */
  async function inBrowser(body: (context: BrowserContext, services: Service[]) => Promise<void>): Promise<void> {
    const services: Service[] = [];
    const profile = await mkdtemp(join(tmpdir(), 'albatross-consumer-chromium-'));
    try {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      });
      try {
        await body(context, services);
      } finally {
        await context.close();
      }
    } finally {
      for (const service of services.reverse()) await service.stop();
      await rm(profile, { recursive: true, force: true });
    }
  }

  const skipped = (title: string) =>
    hasChromium
      ? title
      : `${title} (SKIPPED: no Chromium at ${CHROMIUM}; install Debian's chromium or set CHROMIUM_PATH)`;

  it.skipIf(!hasChromium)(
    skipped('the docs/client.md example, built, runs in Chromium against albatross serve --dev: events arrive'),
    () =>
      inBrowser(async (context, services) => {
        const { port, token, adminKey } = await gateway(services);
        const url = await preview(services, { ALBATROSS_URL: `http://127.0.0.1:${port}`, RT_TOKEN: token });
        const page = context.pages()[0] ?? (await context.newPage());
        const problems: string[] = [];
        page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
        page.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning')
            problems.push(`${message.type()}: ${message.text()}`);
        });
        await page.goto(url);
        await page.waitForSelector('[role="status"][data-state="connected"]', { state: 'attached', timeout: 30_000 });
        await page.waitForFunction(
          () => document.querySelector('section p')?.textContent?.startsWith('Channel subscribed;'),
          null,
          { timeout: 30_000 },
        );
        const fetchedAt = () => page.locator('section p').textContent();
        const before = await fetchedAt();
        expect(before).toMatch(/^Channel subscribed; list fetched at \d{4}-/);

        // The curl command the banner prints, as fetch.
        for (const text of ['hi', 'there']) {
          const published = await fetch(`http://127.0.0.1:${port}/api/publish`, {
            method: 'POST',
            headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ channel: 'tenant:demo-tenant:updates', event_type: 'hello', payload: { text } }),
          });
          expect(published.status).toBe(200);
        }
        await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 2, null, {
          timeout: 30_000,
        });
        expect(await page.locator('#events li').allTextContents()).toEqual(['hi', 'there']); // once each, in order
        // The invalidation rule refetched the query.
        await page.waitForFunction((old) => document.querySelector('section p')?.textContent !== old, before, {
          timeout: 30_000,
        });
        expect(await page.locator('[role="status"]').getAttribute('data-error-code')).toBeNull();
        expect(problems).toEqual([]);
      }),
  );

  it.skipIf(!hasChromium)(
    skipped('a wrong setup is named on the page by <ConnectionIndicator>, not "Connecting…" forever'),
    () =>
      inBrowser(async (context, services) => {
        const status = async (url: string, state: string, text: RegExp) => {
          const page = await context.newPage();
          await page.goto(url);
          const indicator = page.locator('[role="status"]');
          await page.waitForSelector(`[role="status"][data-state="${state}"][data-error-code]`, {
            state: 'attached',
            timeout: 30_000,
          });
          expect(await indicator.textContent()).toMatch(text);
          const title = (await indicator.getAttribute('title')) ?? '';
          await page.close();
          return title;
        };
        const refusing = await gateway(services, ['--allowed-origins', 'https://app.example.com']);
        // The page's origin is not allowed: which origin, which setting.
        const origin = await preview(services, {
          ALBATROSS_URL: `http://127.0.0.1:${refusing.port}`,
          RT_TOKEN: refusing.token,
        });
        await status(
          origin,
          'error',
          new RegExp(`^Connection error: origin ${origin.slice(0, -1)} is not allowed: add it to --allowed-origins$`),
        );
        // No token endpoint answer (RT_TOKEN unset): the endpoint's own words.
        const noToken = await preview(services, { ALBATROSS_URL: `http://127.0.0.1:${refusing.port}` });
        await status(
          noToken,
          'connecting',
          /^Connecting… \(attempt \d+\): getToken\(\) failed: \/api\/rt-token answered 503: RT_TOKEN is not set/,
        );
        // Nothing behind the proxy: the transport failure and what to check.
        const nothing = await preview(services, {
          ALBATROSS_URL: `http://127.0.0.1:${await freePort()}`,
          RT_TOKEN: 'x',
        });
        const title = await status(
          nothing,
          'connecting',
          /^Connecting… \(attempt \d+\): could not open a WebSocket to ws:/,
        );
        expect(title).toContain('(`ws: true`)');
      }),
  );
});

/** A TCP port nothing listens on right now (loopback). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
