import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { range, signToken, TestGateway } from '../test/support/gateway.js';

// Debian's chromium package; CHROMIUM_PATH overrides it.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(`e2e skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)\n`);
}
const title =
  'a page using the client shows every event after a server-side kill, including those published during the outage';

const html = `<!doctype html><meta charset="utf-8"><title>albatross e2e</title>
<p>state: <span id="state">disconnected</span> feed: <span id="sub"></span></p><p>stale: <span id="stale"></span></p><ol id="events"></ol>
<script type="module" src="/app.js"></script>`;

it.skipIf(!hasChromium)(
  hasChromium
    ? title
    : `${title} (SKIPPED: no Chromium at ${CHROMIUM}; install Debian's chromium or set CHROMIUM_PATH)`,
  async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      conditions: ['@albatross/source'],
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    const gw = await TestGateway.start({}, (req, res) => {
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      else if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      else if (req.url === '/token') void signToken().then((token) => res.writeHead(200).end(token));
      else res.writeHead(404).end();
    });
    const profile = await mkdtemp(join(tmpdir(), 'albatross-e2e-'));
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
      const page = context.pages()[0] ?? (await context.newPage());
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`http://127.0.0.1:${gw.port}/`);
      const state = () => page.locator('#state').textContent();
      const shown = () => page.locator('#events li').count();
      await page.waitForFunction(() => document.getElementById('sub')?.textContent === 'subscribed', null, {
        timeout: 10_000,
      });
      const text = (i: number) => ({ text: `event-${i}` });
      let n = 0;
      const publish = async (count: number) => {
        for (let i = 0; i < count; i++) {
          n += 1;
          await gw.gateway.publish({ channel: 'tenant:t1:feed', event_type: 'feed.item', payload: text(n) });
        }
      };
      await publish(3);
      await page.waitForFunction(() => document.querySelectorAll('#events li').length === 3, null, { timeout: 10_000 });

      gw.outage = true;
      gw.killConnections();
      await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connecting', null, {
        timeout: 10_000,
      });
      await publish(4);
      await page.waitForTimeout(300); // the page keeps retrying against refused upgrades
      expect(await state()).toBe('connecting');
      expect(await shown()).toBe(3);

      gw.outage = false;
      await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 7, null, { timeout: 15_000 });
      await publish(2);
      await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 9, null, { timeout: 10_000 });
      await page.waitForTimeout(200);

      const items = await page
        .locator('#events li')
        .evaluateAll((nodes) =>
          nodes.map((node) => ({ offset: Number((node as HTMLElement).dataset.offset), text: node.textContent })),
        );
      expect(items.map((item) => item.offset)).toEqual(range(9)); // every event, once, in order
      expect(items.map((item) => item.text)).toEqual(range(9).map((i) => `event-${i}`));
      expect(await page.locator('#stale').textContent()).toBe('');
      expect(await state()).toBe('connected');
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
      await gw.close();
      await rm(profile, { recursive: true, force: true });
    }
  },
  60_000,
);
