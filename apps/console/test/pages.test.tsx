import { screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Pirep } from '../src/api/contract.js';
import { ERROR_MESSAGES } from '../src/api/errors.js';
import { ADMIN, page, pirep, renderConsole, WAIT } from './harness.js';

describe('login and forced password change', () => {
  it('shows the mapped message of a refused login, then walks a one-time password through the forced change', async () => {
    const user = userEvent.setup();
    let attempts = 0;
    const { calls } = renderConsole(
      '/login',
      {
        'POST /api/auth/login': () => {
          attempts += 1;
          return attempts === 1
            ? { status: 401, body: { code: 'UNAUTHORIZED', message: 'invalid email or password' } }
            : {
                status: 200,
                body: {
                  access_token: 'a1',
                  token_type: 'Bearer',
                  expires_in: 900,
                  refresh_token: 'r1',
                  must_change_password: true,
                },
              };
        },
        'POST /api/me/password': () => ({
          status: 200,
          body: {
            access_token: 'a2',
            token_type: 'Bearer',
            expires_in: 900,
            refresh_token: 'r2',
            must_change_password: false,
          },
        }),
        'GET /api/pireps': () => page([]),
      },
      { signedIn: false },
    );
    await user.type(screen.getByLabelText('Email'), 'ann@example.test');
    await user.type(screen.getByLabelText('Password'), 'wrong-password');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert', {}, WAIT)).textContent).toContain(ERROR_MESSAGES.UNAUTHORIZED);

    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Choose a new password' }, WAIT)).toBeTruthy();
    await user.type(screen.getByLabelText('Current password'), 'one-time-password');
    await user.type(screen.getByLabelText('New password'), 'short');
    await user.click(screen.getByRole('button', { name: 'Change password' }));
    // The shared schema refuses it before any request is made.
    await waitFor(() => expect(screen.getByLabelText('New password').getAttribute('aria-invalid')).toBe('true'), WAIT);
    expect(calls.some((c) => c.path === '/api/me/password')).toBe(false);

    await user.clear(screen.getByLabelText('New password'));
    await user.type(screen.getByLabelText('New password'), 'a-much-longer-passphrase');
    await user.click(screen.getByRole('button', { name: 'Change password' }));
    // An admin lands on the review queue once the password is changed.
    expect(await screen.findByRole('heading', { name: 'Review queue' }, WAIT)).toBeTruthy();
    const change = calls.find((c) => c.path === '/api/me/password');
    expect(change?.body).toEqual({ current_password: 'one-time-password', new_password: 'a-much-longer-passphrase' });
    expect(change?.headers.authorization).toBe('Bearer a1');
    // The change answered new tokens (the old refresh token is revoked): the session runs on them.
    const me = calls.filter((c) => c.path === '/api/me').at(-1);
    expect(me?.headers.authorization).toBe('Bearer a2');
    expect(calls.some((c) => c.path === '/api/auth/refresh')).toBe(false);
  });
});

describe('PIREPs', () => {
  it('shows the empty state of the own list, and an error state with a working retry', async () => {
    let failing = true;
    let calls = 0;
    renderConsole('/pireps', {
      'GET /api/pireps': () => {
        calls += 1;
        return failing ? { status: 503, body: { code: 'UNAVAILABLE', message: 'store down' } } : page([]);
      },
    });
    expect(await screen.findByText(ERROR_MESSAGES.UNAVAILABLE, {}, WAIT)).toBeTruthy();
    // A 5xx is retried twice before the error shows; a refusal (4xx) would not be.
    expect(calls).toBe(3);
    failing = false;
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('You have not filed any PIREP yet.', {}, WAIT)).toBeTruthy();
  });

  it('asks the API for the own PIREPs only', async () => {
    const { calls } = renderConsole('/pireps', {
      'GET /api/pireps': () => page([pirep('p1', { pilot_id: ADMIN.id })]),
    });
    expect(await screen.findByRole('link', { name: 'AF1' }, WAIT)).toBeTruthy();
    expect(calls.find((c) => c.path === '/api/pireps')?.query.get('pilot_id')).toBe(ADMIN.id);
  });

  it('approves optimistically and rolls back on CONCURRENCY_CONFLICT with a reload offer', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let version = 1;
    const { calls } = renderConsole('/review', {
      'GET /api/pireps': () => page([pirep('p1', { version })]),
      'POST /api/pireps/p1/approve': async () => {
        await held;
        return { status: 409, body: { code: 'CONCURRENCY_CONFLICT', message: 'stream is at version 2' } };
      },
    });
    const row = await screen.findByRole('row', { name: /AF1/ }, WAIT);
    await userEvent.click(within(row).getByRole('button', { name: 'Approve AF1' }));
    const dialog = await screen.findByRole('dialog', {}, WAIT);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Approve' }));
    // Optimistic: approved before the server answered.
    await waitFor(() => expect(screen.getByRole('row', { name: /AF1/ }).textContent).toContain('approved'), WAIT);
    expect(calls.find((c) => c.path === '/api/pireps/p1/approve')?.headers['if-match']).toBe('"1"');
    version = 2;
    release();
    const alert = await screen.findByRole('alert', {}, WAIT);
    expect(alert.textContent).toContain(ERROR_MESSAGES.CONCURRENCY_CONFLICT);
    await waitFor(() => expect(screen.getByRole('row', { name: /AF1/ }).textContent).toContain('submitted'), WAIT);
    const before = calls.filter((c) => c.path === '/api/pireps').length;
    await userEvent.click(within(alert).getByRole('button', { name: 'Reload the newer version' }));
    await waitFor(() => expect(calls.filter((c) => c.path === '/api/pireps').length).toBeGreaterThan(before), WAIT);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('shows a PIREP filed elsewhere in the review queue live, highlighted, without a reload', async () => {
    const items: Pirep[] = [pirep('p1')];
    const { server } = renderConsole('/review', { 'GET /api/pireps': () => page([...items]) });
    await screen.findByRole('row', { name: /AF1/ }, WAIT);
    await waitFor(
      () =>
        expect(server.subscribeLog.map((s) => (typeof s === 'string' ? s : s.channel))).toContain('admin:t1:updates'),
      WAIT,
    );
    items.push(pirep('p2'));
    server.publish('admin:t1:updates', 'pirep.submitted', { id: 'p2' });
    const row = await screen.findByRole('row', { name: /AF2/ }, WAIT);
    expect(row.className).toContain('live-highlight');
    expect(screen.getByRole('row', { name: /AF1/ }).className).not.toContain('live-highlight');
  });

  it('refuses a bad ICAO code and block on before block off with the shared schema, sending nothing', async () => {
    const { calls } = renderConsole('/pireps/new', {});
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Flight number', {}, WAIT), 'af123');
    await user.type(screen.getByLabelText('Aircraft'), 'F-GKXA');
    await user.type(screen.getByLabelText('Departure (ICAO)'), 'LF1');
    await user.type(screen.getByLabelText('Arrival (ICAO)'), 'EGLL');
    await user.type(screen.getByLabelText('Block off'), '2026-11-30T10:00');
    await user.type(screen.getByLabelText('Block on'), '2026-11-30T09:00');
    await user.click(screen.getByRole('button', { name: 'File PIREP' }));
    await waitFor(
      () => expect(screen.getByLabelText('Departure (ICAO)').getAttribute('aria-invalid')).toBe('true'),
      WAIT,
    );
    expect(screen.getByLabelText('Block on').getAttribute('aria-invalid')).toBe('true');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });
});

describe('API keys', () => {
  it('shows a new key once, never again after the dialog closes, and revokes after confirmation', async () => {
    const secret = `alb_${'k'.repeat(40)}`;
    const keys = [
      {
        id: 'k1',
        user_id: 'u1',
        tenant_id: 't1',
        name: 'ci',
        prefix: 'alb_kkkk',
        created_at: '2026-11-30T10:00:00.000Z',
        last_used_at: null,
        revoked_at: null as string | null,
      },
    ];
    const { calls } = renderConsole('/api-keys', {
      'GET /api/users/u1/apikeys': () => page([...keys]),
      'POST /api/users/u1/apikeys': () => ({
        status: 201,
        body: { id: 'k1', name: 'ci', prefix: 'alb_kkkk', key: secret, created_at: '2026-11-30T10:00:00.000Z' },
      }),
      'DELETE /api/users/u1/apikeys/k1': () => {
        keys[0] = { ...keys[0], revoked_at: '2026-11-30T10:05:00.000Z' } as (typeof keys)[0];
        return { status: 204 };
      },
    });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('New key name', {}, WAIT), 'ci');
    await user.click(screen.getByRole('button', { name: 'Generate key' }));
    const dialog = await screen.findByRole('dialog', {}, WAIT);
    expect((within(dialog).getByTestId('secret') as HTMLInputElement).value).toBe(secret);
    await user.click(within(dialog).getByRole('button', { name: 'I have copied it' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull(), WAIT);
    expect(document.body.innerHTML).not.toContain(secret);

    await user.click(await screen.findByRole('button', { name: 'Revoke ci' }, WAIT));
    const confirm = await screen.findByRole('dialog', {}, WAIT);
    await user.click(within(confirm).getByRole('button', { name: 'Revoke' }));
    await waitFor(() => expect(screen.getByTestId('apikey-row').textContent).toContain('revoked'), WAIT);
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/api/users/u1/apikeys/k1')).toBe(true);
  });
});

describe('users', () => {
  it('creates a user without a password and shows the one-time password once', async () => {
    const initial = `otp-${'x'.repeat(30)}`;
    const { calls } = renderConsole('/users', {
      'GET /api/users': () => page([ADMIN]),
      'POST /api/tenants/t1/users': () => ({
        status: 201,
        body: { ...ADMIN, id: 'u9', email: 'pia@example.test', roles: ['Pilot'], initial_password: initial },
      }),
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Create user' }, WAIT));
    const dialog = await screen.findByRole('dialog', {}, WAIT);
    await user.type(within(dialog).getByLabelText('Email'), 'pia@example.test');
    await user.type(within(dialog).getByLabelText('Display name'), 'Pia Pilot');
    await user.click(within(dialog).getByRole('button', { name: 'Create user' }));
    const copy = await screen.findByRole('dialog', { name: /pia@example.test created/ }, WAIT);
    expect((within(copy).getByTestId('secret') as HTMLInputElement).value).toBe(initial);
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      email: 'pia@example.test',
      display_name: 'Pia Pilot',
      roles: ['Pilot'],
    });
    // A TenantAdmin is not offered PlatformAdmin.
    expect(screen.queryByLabelText('PlatformAdmin')).toBeNull();
  });

  it('filters by role and status through the API', async () => {
    const { calls } = renderConsole('/users', { 'GET /api/users': () => page([ADMIN]) });
    await screen.findByTestId('user-row', {}, WAIT);
    await userEvent.selectOptions(screen.getByLabelText('Role'), 'Pilot');
    await userEvent.selectOptions(screen.getByLabelText('Status'), 'deactivated');
    await waitFor(() => {
      const last = calls.filter((c) => c.path === '/api/users').at(-1);
      expect(last?.query.get('role')).toBe('Pilot');
      expect(last?.query.get('status')).toBe('deactivated');
      expect(last?.query.get('tenant_id')).toBe('t1');
    }, WAIT);
  });
});

describe('connection honesty', () => {
  it('says it is reconnecting when the socket drops, then refreshes the data on reconnect', async () => {
    let fetches = 0;
    const { server } = renderConsole('/pireps', {
      'GET /api/pireps': () => {
        fetches += 1;
        return page([]);
      },
    });
    await screen.findByText('You have not filed any PIREP yet.', {}, WAIT);
    await waitFor(() => expect(server.last.authed).toBe(true), WAIT);
    const banner = screen.getByTestId('refresh-banner');
    const before = fetches;
    server.last.serverClose(1012, 'restart');
    await waitFor(() => expect(banner.dataset.state).not.toBe('idle'), WAIT);
    await waitFor(() => expect(fetches).toBeGreaterThan(before), WAIT);
    await waitFor(() => expect(banner.dataset.state).toBe('idle'), WAIT);
  });
});

describe('API keys of a managed user', () => {
  it("lists another user's keys for an admin and follows admin:{tid}:updates live", async () => {
    const key = (id: string, name: string) => ({
      id,
      user_id: 'u9',
      tenant_id: 't1',
      name,
      prefix: `alb_${id}`,
      created_at: '2026-11-30T10:00:00.000Z',
      last_used_at: null,
      revoked_at: null,
    });
    const keys = [key('k1', 'deploy')];
    const { server, calls } = renderConsole('/api-keys?user=u9', {
      'GET /api/users/u9': () => ({
        status: 200,
        body: { ...ADMIN, id: 'u9', display_name: 'Pia Pilot', roles: ['Pilot'] },
      }),
      'GET /api/users/u9/apikeys': () => page([...keys]),
    });
    expect(await screen.findByRole('heading', { name: 'API keys of Pia Pilot' }, WAIT)).toBeTruthy();
    await screen.findByText('deploy', {}, WAIT);
    await waitFor(
      () =>
        expect(server.subscribeLog.map((s) => (typeof s === 'string' ? s : s.channel))).toContain('admin:t1:updates'),
      WAIT,
    );
    keys.push(key('k2', 'backup'));
    // A user event on the same channel must not refetch the keys; an API key event must.
    const before = calls.filter((c) => c.path === '/api/users/u9/apikeys').length;
    server.publish('admin:t1:updates', 'user.updated', { id: 'u9' });
    server.publish('admin:t1:updates', 'apikey.created', { id: 'k2' });
    const row = await screen.findByText('backup', {}, WAIT);
    expect(row.closest('li')?.className).toContain('live-highlight');
    expect(calls.filter((c) => c.path === '/api/users/u9/apikeys').length).toBe(before + 1);
    expect(calls.some((c) => c.path === '/api/users/u1/apikeys')).toBe(false);
  });
});

describe('review and gaps', () => {
  it('requires a comment to reject, and sends it', async () => {
    let current = pirep('p1');
    const { calls } = renderConsole('/review', {
      'GET /api/pireps': () => page([current]),
      'POST /api/pireps/p1/reject': (call) => {
        const comment = String((call.body as { comment: string }).comment);
        current = pirep('p1', { status: 'rejected', review_comment: comment, version: 2 });
        return { status: 200, body: current };
      },
    });
    const user = userEvent.setup();
    const row = await screen.findByRole('row', { name: /AF1/ }, WAIT);
    await user.click(within(row).getByRole('button', { name: 'Reject AF1' }));
    const dialog = await screen.findByRole('dialog', {}, WAIT);
    await user.click(within(dialog).getByRole('button', { name: 'Reject' }));
    expect(within(dialog).getByLabelText('Comment').getAttribute('aria-invalid')).toBe('true');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await user.type(within(dialog).getByLabelText('Comment'), 'Block times do not match the tech log');
    await user.click(within(dialog).getByRole('button', { name: 'Reject' }));
    await waitFor(() => expect(screen.getByRole('row', { name: /AF1/ }).textContent).toContain('rejected'), WAIT);
    const sent = calls.find((c) => c.path === '/api/pireps/p1/reject');
    expect(sent?.body).toEqual({ comment: 'Block times do not match the tech log' });
    expect(sent?.headers['if-match']).toBe('"1"');
  });

  it('refetches and says so when a channel reports a gap it could not replay', async () => {
    let fetches = 0;
    const { server } = renderConsole('/review', {
      'GET /api/pireps': () => {
        fetches += 1;
        return page([pirep('p1')]);
      },
    });
    await screen.findByRole('row', { name: /AF1/ }, WAIT);
    await waitFor(
      () =>
        expect(server.subscribeLog.map((s) => (typeof s === 'string' ? s : s.channel))).toContain('admin:t1:updates'),
      WAIT,
    );
    const before = fetches;
    const banner = screen.getByTestId('refresh-banner');
    server.last.push({ type: 'gap', channel: 'admin:t1:updates', epoch: 'e1', offset: 40 });
    await waitFor(() => expect(banner.dataset.state).toBe('refreshing'), WAIT);
    await waitFor(() => expect(fetches).toBeGreaterThan(before), WAIT);
    await waitFor(() => expect(banner.dataset.state).toBe('idle'), WAIT);
  });
});

describe('PIREP detail', () => {
  it('lets the owning pilot amend while submitted, sending every field with If-Match', async () => {
    let current = pirep('p7', { pilot_id: ADMIN.id, version: 3 });
    const { calls } = renderConsole('/pireps/p7', {
      'GET /api/pireps/p7': () => ({ status: 200, body: current }),
      'PATCH /api/pireps/p7': (call) => {
        current = { ...current, ...(call.body as object), version: 4 };
        return { status: 200, body: current };
      },
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Amend' }, WAIT));
    await user.type(screen.getByLabelText('Remarks'), 'Bird strike on climb-out');
    await user.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByText('Bird strike on climb-out', {}, WAIT);
    const patch = calls.find((c) => c.method === 'PATCH');
    expect(patch?.headers['if-match']).toBe('"3"');
    expect(patch?.body).toMatchObject({
      flight_number: 'AF7',
      departure: 'LFPG',
      arrival: 'EGLL',
      block_off: current.block_off,
      remarks: 'Bird strike on climb-out',
    });
  });

  it('offers no amendment once reviewed', async () => {
    renderConsole('/pireps/p8', {
      'GET /api/pireps/p8': () => ({ status: 200, body: pirep('p8', { pilot_id: ADMIN.id, status: 'approved' }) }),
    });
    await screen.findByTestId('pirep-detail', {}, WAIT);
    expect(screen.queryByRole('button', { name: 'Amend' })).toBeNull();
  });

  it('shows NOT_FOUND for a PIREP the viewer may not see', async () => {
    renderConsole('/pireps/p9', {});
    expect(await screen.findByText(/does not exist, or you cannot see it/, {}, WAIT)).toBeTruthy();
  });
});
