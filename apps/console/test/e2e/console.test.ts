// @vitest-environment node

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, type PlatformProcess, removeDir, startFront, startPlatform } from './support.js';

/**
 * The console in a real browser against a real platform process: Debian's
 * chromium driven by playwright-core, the platform started from source on a
 * free port with embedded defaults, the built console served on one origin.
 */

// Debian's chromium package; CHROMIUM_PATH overrides it.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM)
  process.stderr.write(
    `console e2e skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)\n`,
  );

const SHOTS = fileURLToPath(new URL('../../e2e-screenshots/', import.meta.url));
/** Generous waits for a busy machine: a pass returns as soon as the condition holds. */
const WAIT = 20_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };

let platform: PlatformProcess;
let front: Awaited<ReturnType<typeof startFront>>;
let browser: Browser;
const target = { port: 0 };
const contexts: BrowserContext[] = [];

const secret = () => randomBytes(18).toString('base64url');

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  return page;
}

/** axe-core on the current page: no serious or critical violation. */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} → ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/** Screenshot at desktop and phone width (375 px), and no horizontal overflow at 375 px. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} overflows 375 px by ${overflow} px`).toBeLessThanOrEqual(0);
  await page.setViewportSize(DESKTOP);
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto(`${front.url}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function changePassword(page: Page, current: string, next: string): Promise<void> {
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await page.getByLabel('Current password').fill(current);
  await page.getByLabel('New password').fill(next);
  await page.getByRole('button', { name: 'Change password' }).click();
}

function indicatorState(page: Page): Promise<string | null> {
  return page.locator('.albatross-indicator').getAttribute('data-state');
}

describe.skipIf(!HAVE_CHROMIUM)('console in Chromium against a platform process', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    const [root, started] = await Promise.all([buildConsole(), startPlatform()]);
    platform = started;
    target.port = platform.port;
    front = await startFront(root, target);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
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
  }, 180_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await front?.close();
    await platform?.stop();
    if (platform) await removeDir(platform.dataDir);
  }, 60_000);

  const adminPassword = `admin-${secret()}`;
  const secondEmail = `second-${randomBytes(4).toString('hex')}@albatross.test`;
  const secondPassword = `second-${secret()}`;
  const tenantName = `Acme ${randomBytes(3).toString('hex')}`;
  let a: Page;
  let b: Page;

  it('bootstraps: the one-time admin password from the log, then a forced change', async () => {
    expect(platform.oneTimePassword).toMatch(/.{12,}/);
    a = await newPage();
    await a.goto(`${front.url}/`);
    await a.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible(a, 'login');
    await shoot(a, 'login');
    await signIn(a, platform.adminEmail, platform.oneTimePassword ?? '');
    await a.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await expectAccessible(a, 'change-password');
    await changePassword(a, platform.oneTimePassword ?? '', adminPassword);
    await a.getByRole('heading', { name: 'Tenants' }).waitFor();
    await a.getByTestId('tenant-row').first().waitFor();
    expect(await a.getByTestId('tenant-row').count()).toBeGreaterThanOrEqual(1);
  });

  it('creates a second PlatformAdmin with a copy-once password, who signs in in another browser context', async () => {
    await a.getByRole('link', { name: 'Users' }).click();
    await a.getByTestId('user-row').first().waitFor();
    await a.getByRole('button', { name: 'Create user' }).click();
    const dialog = a.getByRole('dialog');
    await dialog.getByLabel('Email').fill(secondEmail);
    await dialog.getByLabel('Display name').fill('Second Admin');
    await dialog.getByLabel('PlatformAdmin').check();
    await dialog.getByLabel('Pilot').uncheck();
    await expectAccessible(a, 'create-user-dialog');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    const copy = a.getByRole('dialog', { name: /created/ });
    const oneTime = await copy.getByTestId('secret').inputValue();
    expect(oneTime.length).toBeGreaterThanOrEqual(12);
    await copy.getByRole('button', { name: 'I have copied it' }).click();
    await copy.waitFor({ state: 'detached' });
    expect(await a.content()).not.toContain(oneTime);
    await a.getByText(secondEmail).waitFor();

    b = await newPage();
    await signIn(b, secondEmail, oneTime);
    await changePassword(b, oneTime, secondPassword);
    await b.getByRole('heading', { name: 'Tenants' }).waitFor();
  });

  it('shows a tenant created in window A in window B without a reload, highlighted', async () => {
    await a.getByRole('link', { name: 'Tenants' }).click();
    await a.getByTestId('tenant-row').first().waitFor();
    await b.waitForFunction(
      () => document.querySelector('.albatross-indicator')?.getAttribute('data-state') === 'connected',
    );
    const navigations: string[] = [];
    b.on('framenavigated', (frame) => navigations.push(frame.url()));
    await a.getByRole('button', { name: 'Create tenant' }).click();
    await a.getByRole('dialog').getByLabel('Tenant name').fill(tenantName);
    const started = Date.now();
    await a.getByRole('dialog').getByRole('button', { name: 'Create tenant' }).click();
    const row = b.getByTestId('tenant-row').filter({ hasText: tenantName });
    await row.waitFor();
    const latency = Date.now() - started;
    process.stderr.write(`console e2e: tenant visible in window B ${latency} ms after the click in window A\n`);
    expect(navigations).toEqual([]);
    expect(await row.getAttribute('class')).toContain('live-highlight');
    await expectAccessible(b, 'tenants');
    await shoot(b, 'tenants');
  });

  /** Creates a user of the scoped tenant in `page`'s Users view; answers the one-time password. */
  async function createUser(page: Page, email: string, name: string, role: 'TenantAdmin' | 'Pilot'): Promise<string> {
    await page.getByRole('button', { name: 'Create user' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Email').fill(email);
    await dialog.getByLabel('Display name').fill(name);
    await dialog.getByLabel(role).check();
    if (role !== 'Pilot') await dialog.getByLabel('Pilot').uncheck();
    await dialog.getByRole('button', { name: 'Create user' }).click();
    const copy = page.getByRole('dialog', { name: /created/ });
    const oneTime = await copy.getByTestId('secret').inputValue();
    await copy.getByRole('button', { name: 'I have copied it' }).click();
    await copy.waitFor({ state: 'detached' });
    return oneTime;
  }

  const adminEmail = `ta-${randomBytes(4).toString('hex')}@acme.test`;
  const pilotEmail = `pilot-${randomBytes(4).toString('hex')}@acme.test`;
  let adminOneTime = '';
  let pilotOneTime = '';

  it('shows a TenantAdmin created in window A in window B (same tenant scope) without a reload', async () => {
    // B watches the new tenant's users.
    await b.getByRole('link', { name: 'Users' }).click();
    const acme = await b.getByRole('option', { name: tenantName }).getAttribute('value');
    await b.getByLabel('Tenant', { exact: true }).selectOption(acme ?? '');
    await b.getByText('No user matches.').waitFor();
    // A switches to it and creates its TenantAdmin and a pilot.
    await a.getByRole('button', { name: `Switch to ${tenantName}` }).click();
    await a.getByRole('link', { name: 'Users' }).click();
    await a.getByText('No user matches.').waitFor();
    const started = Date.now();
    adminOneTime = await createUser(a, adminEmail, 'Tia Admin', 'TenantAdmin');
    await b.getByTestId('user-row').filter({ hasText: adminEmail }).waitFor();
    process.stderr.write(`console e2e: TenantAdmin visible in window B ${Date.now() - started} ms after the click\n`);
    pilotOneTime = await createUser(a, pilotEmail, 'Pia Pilot', 'Pilot');
    await b.getByTestId('user-row').filter({ hasText: pilotEmail }).waitFor();
  });

  it('a pilot files a PIREP, the review queue shows it live, the approval reaches the pilot live', async () => {
    const pilot = await newPage();
    await signIn(pilot, pilotEmail, pilotOneTime);
    await changePassword(pilot, pilotOneTime, `pilot-${secret()}`);
    await pilot.getByRole('heading', { name: 'My PIREPs' }).waitFor();
    await pilot.getByText('You have not filed any PIREP yet.').waitFor();

    const reviewer = await newPage();
    await signIn(reviewer, adminEmail, adminOneTime);
    await changePassword(reviewer, adminOneTime, `admin-${secret()}`);
    await reviewer.getByRole('heading', { name: 'Review queue' }).waitFor();
    await reviewer.getByText('Nothing to review.').waitFor();
    await expectAccessible(reviewer, 'review-empty');

    // The pilot files one; the list in the pilot's window must get it too.
    await pilot.getByRole('link', { name: 'File a PIREP' }).click();
    await pilot.getByLabel('Flight number').fill('af1234');
    await pilot.getByLabel('Aircraft').fill('F-GKXA');
    await pilot.getByLabel('Departure (ICAO)').fill('lfpg');
    await pilot.getByLabel('Arrival (ICAO)').fill('EGLL');
    await pilot.getByLabel('Block off').fill('2026-11-30T08:00');
    await pilot.getByLabel('Block on').fill('2026-11-30T09:15');
    await expectAccessible(pilot, 'file-pirep');
    await shoot(pilot, 'file-pirep');
    const filed = Date.now();
    await pilot.getByRole('button', { name: 'File PIREP' }).click();
    await pilot.getByTestId('pirep-detail').waitFor();
    const row = reviewer.getByRole('row', { name: /AF1234/ });
    await row.waitFor();
    process.stderr.write(`console e2e: PIREP in the review queue ${Date.now() - filed} ms after the pilot's click\n`);
    expect(await row.getAttribute('class')).toContain('live-highlight');
    await expectAccessible(reviewer, 'review');
    await shoot(reviewer, 'review');

    await pilot.getByRole('link', { name: 'PIREPs' }).click();
    const own = pilot.getByRole('row', { name: /AF1234/ });
    await own.getByText('submitted').waitFor();

    await row.getByRole('button', { name: 'Approve AF1234' }).click();
    await reviewer.getByRole('dialog').getByLabel('Comment').fill('Fine.');
    const approved = Date.now();
    await reviewer.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
    await own.getByText('approved').waitFor();
    process.stderr.write(`console e2e: approval in the pilot's list ${Date.now() - approved} ms after the click\n`);
    await own.getByRole('link', { name: 'AF1234' }).click();
    await pilot.getByTestId('pirep-detail').getByText('Fine.').waitFor();
    await expectAccessible(pilot, 'pirep-detail');
    await shoot(pilot, 'pirep-detail');
  });

  it('generates an API key shown once, and revokes it after confirmation', async () => {
    await a.getByRole('link', { name: 'API keys', exact: true }).click();
    await a.getByLabel('New key name').fill('ci pipeline');
    await a.getByRole('button', { name: 'Generate key' }).click();
    const dialog = a.getByRole('dialog');
    const key = await dialog.getByTestId('secret').inputValue();
    expect(key).toMatch(/^alb_/);
    await expectAccessible(a, 'apikey-dialog');
    await dialog.getByRole('button', { name: 'I have copied it' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await a.content()).not.toContain(key);
    // The key works against the API before it is revoked, and not after.
    const status = (k: string) =>
      fetch(`${front.url}/api/me`, { headers: { authorization: `Bearer ${k}` } }).then((r) => r.status);
    expect(await status(key)).toBe(200);
    await expectAccessible(a, 'api-keys');
    await shoot(a, 'api-keys');
    await a.getByRole('button', { name: 'Revoke ci pipeline' }).click();
    await a.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await a.getByTestId('apikey-row').filter({ hasText: 'revoked' }).waitFor();
    expect(await status(key)).toBe(401);
  });

  it('passes axe on the users, account and PIREP pages', async () => {
    for (const [link, name] of [
      ['Users', 'users'],
      ['PIREPs', 'pireps'],
    ] as const) {
      await a.getByRole('link', { name: link, exact: true }).click();
      await a.getByRole('heading', { level: 1 }).waitFor();
      await a.waitForLoadState('networkidle');
      await expectAccessible(a, name);
      await shoot(a, name);
    }
    await a.goto(`${front.url}/account`);
    await a.getByRole('heading', { name: 'My account' }).waitFor();
    await expectAccessible(a, 'account');
    await shoot(a, 'account');
  });

  it('charts the gateway live on the operations page', async () => {
    await a.getByRole('link', { name: 'Operations' }).click();
    await a.getByRole('heading', { name: 'Operations' }).waitFor();
    // At least this window's own connection, read from the gateway's /metrics.
    await a.waitForFunction(() => {
      const text = document.querySelector('[data-testid="ops-Connections"]')?.textContent ?? '';
      return Number.parseInt(text, 10) >= 1;
    });
    await expectAccessible(a, 'operations');
    await shoot(a, 'operations');
  });

  it('revokes an API key in window B, and its live connection leaves the operations page of window A', async () => {
    await b.getByRole('link', { name: 'API keys', exact: true }).click();
    await b.getByLabel('New key name').fill('live feed');
    await b.getByRole('button', { name: 'Generate key' }).click();
    const dialog = b.getByRole('dialog');
    const key = await dialog.getByTestId('secret').inputValue();
    await dialog.getByRole('button', { name: 'I have copied it' }).click();
    await dialog.waitFor({ state: 'detached' });

    // A device holding that key, live on the gateway (through the same origin as the console).
    const device = await newPage();
    await device.goto(`${front.url}/`);
    const connectionId = await device.evaluate(
      (apiKey) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(`ws://${location.host}/ws?api_key=${encodeURIComponent(apiKey)}`);
          const state = window as unknown as { closeCode?: number };
          ws.onclose = (event) => {
            state.closeCode = event.code;
            reject(new Error(`closed ${event.code} before welcome`));
          };
          ws.onmessage = (event) => {
            const frame = JSON.parse(String(event.data)) as { type?: string; connection_id?: string };
            if (frame.type === 'welcome') resolve(String(frame.connection_id));
          };
        }),
      key,
    );

    await a.getByRole('link', { name: 'Operations' }).click();
    const row = a.locator(`[data-testid="connection-row"][data-id="${connectionId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('api_key');
    await expectAccessible(a, 'operations-registry');

    await b.getByRole('button', { name: 'Revoke live feed' }).click();
    await b.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    // Gone from window A's registry without a reload (it refreshes itself), and the device was closed 4003.
    await row.waitFor({ state: 'detached' });
    await device.waitForFunction(() => (window as unknown as { closeCode?: number }).closeCode === 4003);
    // Window A's own connection is still listed: only the revoked key's went.
    await a.getByTestId('connection-row').first().waitFor();
  });

  it('says reconnecting when the platform goes away, and reconnects and refreshes when it is back', async () => {
    await a.goto(`${front.url}/tenants`);
    await a.getByTestId('tenant-row').filter({ hasText: tenantName }).waitFor();
    await a.waitForFunction(
      () => document.querySelector('.albatross-indicator')?.getAttribute('data-state') === 'connected',
    );
    const port = platform.port;
    await platform.stop();
    await a.waitForFunction(
      () => document.querySelector('.albatross-indicator')?.getAttribute('data-state') === 'connecting',
    );
    await a.getByText('Reconnecting… the data shown may be out of date.').waitFor();
    await shoot(a, 'reconnecting');
    platform = await startPlatform({ dataDir: platform.dataDir, port });
    await a.waitForFunction(
      () => document.querySelector('.albatross-indicator')?.getAttribute('data-state') === 'connected',
      undefined,
      { timeout: 60_000 },
    );
    await a.waitForFunction(
      () => document.querySelector('[data-testid="refresh-banner"]')?.getAttribute('data-state') === 'idle',
    );
    expect(await indicatorState(a)).toBe('connected');
    await a.getByTestId('tenant-row').filter({ hasText: tenantName }).waitFor();
  }, 120_000);
});
