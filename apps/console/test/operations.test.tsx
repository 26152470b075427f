import { screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { LiveConnection, ProjectionStatus, User } from '../src/api/contract.js';
import { ERROR_MESSAGES } from '../src/api/errors.js';
import { ADMIN, page, renderConsole, T0, WAIT } from './harness.js';

// uPlot draws on a canvas, which jsdom lacks; the charts are not what these tests are about.
vi.mock('../src/ops/chart.js', () => ({
  Sparkline: ({ label }: { label: string }) => <p>{label}</p>,
}));

const ROOT: User = { ...ADMIN, id: 'root', tenant_id: 'platform', roles: ['PlatformAdmin'] };

const METRICS = { 'GET /metrics': () => ({ status: 200, body: '' }) };

function connection(id: string, patch: Partial<LiveConnection> = {}): LiveConnection {
  return {
    connection_id: id,
    state: 'open',
    tenant_id: 't1',
    user_id: 'u2',
    credential: 'jwt',
    subscriptions: 3,
    connected_at: T0,
    buffered_bytes: 0,
    ...patch,
  };
}

function projection(name: string, patch: Partial<ProjectionStatus> = {}): ProjectionStatus {
  return {
    name,
    position: 40,
    head: 42,
    lag: 2,
    status: 'running',
    owner: 'node:1',
    last_error: null,
    retry_count: 0,
    parked: 0,
    parked_events: [],
    rebuildable: true,
    updated_at: T0,
    ...patch,
  };
}

const noProjections = { 'GET /api/admin/projections': () => ({ status: 200, body: { items: [] } }) };
const noConnections = { 'GET /api/admin/connections': () => page([]) };

describe('operations: connection registry', () => {
  it('lists connections, filters through the API, and disconnects one only after confirmation', async () => {
    const user = userEvent.setup();
    let rows = [connection('c1'), connection('c2', { tenant_id: 't2', user_id: 'u9', credential: 'api_key' })];
    const { calls } = renderConsole(
      '/operations',
      {
        ...METRICS,
        ...noProjections,
        'GET /api/admin/connections': (call) =>
          page(rows.filter((r) => !call.query.get('tenant_id') || r.tenant_id === call.query.get('tenant_id'))),
        'POST /api/admin/connections/disconnect': (call) => {
          const body = call.body as { connection_id?: string };
          rows = rows.filter((r) => r.connection_id !== body.connection_id);
          return { status: 200, body: { disconnected: 1 } };
        },
      },
      { me: ROOT },
    );
    await waitFor(() => expect(screen.getAllByTestId('connection-row')).toHaveLength(2), WAIT);

    await user.type(screen.getByLabelText('Tenant id'), 't2');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    await waitFor(() => expect(screen.getAllByTestId('connection-row')).toHaveLength(1), WAIT);
    expect(
      calls
        .filter((c) => c.path === '/api/admin/connections')
        .at(-1)
        ?.query.get('tenant_id'),
    ).toBe('t2');

    await user.click(screen.getByRole('button', { name: 'Disconnect c2' }));
    const dialog = await screen.findByRole('dialog', {}, WAIT);
    expect(within(dialog).getByText('Disconnect connection c2?')).toBeTruthy();
    // Cancel sends nothing.
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull(), WAIT);
    expect(calls.some((c) => c.path === '/api/admin/connections/disconnect')).toBe(false);

    await user.click(screen.getByRole('button', { name: 'Disconnect c2' }));
    await user.click(within(await screen.findByRole('dialog', {}, WAIT)).getByRole('button', { name: 'Disconnect' }));
    await waitFor(() => expect(screen.queryAllByTestId('connection-row')).toHaveLength(0), WAIT);
    expect(calls.filter((c) => c.path === '/api/admin/connections/disconnect').map((c) => c.body)).toEqual([
      { connection_id: 'c2' },
    ]);
    expect(screen.getByText('No live connection matches these filters.')).toBeTruthy();
    expect(screen.getByText(/Disconnected 1 connection/)).toBeTruthy();
  });

  it('disconnects every connection of the filtered tenant; refuses a malformed id without a request', async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole(
      '/operations',
      {
        ...METRICS,
        ...noProjections,
        'GET /api/admin/connections': () => page([connection('c1')]),
        'POST /api/admin/connections/disconnect': () => ({ status: 200, body: { disconnected: 1 } }),
      },
      { me: ROOT },
    );
    await waitFor(() => expect(screen.getAllByTestId('connection-row')).toHaveLength(1), WAIT);
    // Nothing to scope the bulk action to yet.
    expect(screen.getByRole('button', { name: 'Disconnect all matching' }).hasAttribute('disabled')).toBe(true);

    await user.type(screen.getByLabelText('User id'), 'not an id');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    await waitFor(() => expect(screen.getByLabelText('User id').getAttribute('aria-invalid')).toBe('true'), WAIT);
    expect(calls.some((c) => c.query.get('user_id') !== null)).toBe(false);

    await user.clear(screen.getByLabelText('User id'));
    await user.type(screen.getByLabelText('Tenant id'), 't1');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    await waitFor(
      () =>
        expect(screen.getByRole('button', { name: 'Disconnect all matching' }).hasAttribute('disabled')).toBe(false),
      WAIT,
    );
    await user.click(screen.getByRole('button', { name: 'Disconnect all matching' }));
    const dialog = await screen.findByRole('dialog', {}, WAIT);
    expect(within(dialog).getByText('Disconnect every connection of tenant t1?')).toBeTruthy();
    await user.click(within(dialog).getByRole('button', { name: 'Disconnect' }));
    await waitFor(
      () =>
        expect(calls.filter((c) => c.path === '/api/admin/connections/disconnect').map((c) => c.body)).toEqual([
          { tenant_id: 't1' },
        ]),
      WAIT,
    );
  });

  it('shows the empty state, and an error state with a working retry', async () => {
    const user = userEvent.setup();
    let failing = true;
    renderConsole(
      '/operations',
      {
        ...METRICS,
        ...noProjections,
        'GET /api/admin/connections': () =>
          failing ? { status: 403, body: { code: 'FORBIDDEN', message: 'only a PlatformAdmin' } } : page([]),
      },
      { me: ROOT },
    );
    const section = await screen.findByRole('region', { name: 'Live connections' }, WAIT);
    expect((await within(section).findByRole('alert', {}, WAIT)).textContent).toContain(ERROR_MESSAGES.FORBIDDEN);
    failing = false;
    await user.click(within(section).getByRole('button', { name: 'Retry' }));
    expect(await within(section).findByText('No live connection on this node.', {}, WAIT)).toBeTruthy();
  });

  it('refreshes by itself: a connection that closes elsewhere leaves the table', async () => {
    let rows = [connection('c1'), connection('c2')];
    renderConsole(
      '/operations',
      { ...METRICS, ...noProjections, 'GET /api/admin/connections': () => page(rows) },
      { me: ROOT },
    );
    await waitFor(() => expect(screen.getAllByTestId('connection-row')).toHaveLength(2), WAIT);
    rows = [connection('c2')];
    await waitFor(
      () => expect(screen.getAllByTestId('connection-row').map((r) => r.getAttribute('data-id'))).toEqual(['c2']),
      WAIT,
    );
  });
});

describe('operations: projections', () => {
  it('shows position, lag, parked events with their errors; rebuilds only after confirmation', async () => {
    const user = userEvent.setup();
    const { calls } = renderConsole(
      '/operations',
      {
        ...METRICS,
        ...noConnections,
        'GET /api/admin/projections': () => ({
          status: 200,
          body: {
            items: [
              projection('platform_pireps', {
                parked: 1,
                parked_events: [
                  {
                    position: 17,
                    stream_id: 'pirep-p1',
                    type: 'pirep.submitted',
                    error: 'duplicate key value violates unique constraint',
                    attempts: 3,
                    parked_at: T0,
                  },
                ],
              }),
              projection('platform_realtime', { rebuildable: false, lag: 0, position: 42 }),
            ],
          },
        }),
        'POST /api/admin/projections/platform_pireps/rebuild': () => ({
          status: 200,
          body: { name: 'platform_pireps', position: 42, applied: 41, parked: 0 },
        }),
      },
      { me: ROOT },
    );
    await waitFor(() => expect(screen.getAllByTestId('projection-row')).toHaveLength(2), WAIT);
    const pireps = screen.getAllByTestId('projection-row')[0] as HTMLElement;
    expect(pireps.textContent).toContain('Lag2');
    expect(pireps.textContent).toContain('Parked1');
    expect(pireps.textContent).toContain('duplicate key value violates unique constraint');
    const realtime = screen.getAllByTestId('projection-row')[1] as HTMLElement;
    // The realtime projection publishes: no rebuild offered.
    expect(within(realtime).queryByRole('button')).toBeNull();
    expect(realtime.textContent).toContain('never replayed');

    await user.click(screen.getByRole('button', { name: 'Rebuild platform_pireps' }));
    await user.click(within(await screen.findByRole('dialog', {}, WAIT)).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull(), WAIT);
    expect(calls.some((c) => c.path.endsWith('/rebuild'))).toBe(false);

    await user.click(screen.getByRole('button', { name: 'Rebuild platform_pireps' }));
    await user.click(within(await screen.findByRole('dialog', {}, WAIT)).getByRole('button', { name: 'Rebuild' }));
    expect(await screen.findByText(/Rebuilt platform_pireps: 41 event\(s\) applied/, {}, WAIT)).toBeTruthy();
    expect(calls.filter((c) => c.path.endsWith('/rebuild')).map((c) => c.method)).toEqual(['POST']);
  });

  it('shows a refused rebuild with the mapped message, and the empty state', async () => {
    const user = userEvent.setup();
    renderConsole(
      '/operations',
      {
        ...METRICS,
        ...noConnections,
        'GET /api/admin/projections': () => ({ status: 200, body: { items: [projection('platform_users')] } }),
        'POST /api/admin/projections/platform_users/rebuild': () => ({
          status: 409,
          body: { code: 'INVALID_STATE', message: 'projection platform_users is being rebuilt elsewhere' },
        }),
      },
      { me: ROOT },
    );
    await user.click(await screen.findByRole('button', { name: 'Rebuild platform_users' }, WAIT));
    await user.click(within(await screen.findByRole('dialog', {}, WAIT)).getByRole('button', { name: 'Rebuild' }));
    const section = screen.getByRole('region', { name: 'Projections' });
    const alert = await within(section).findByRole('alert', {}, WAIT);
    expect(alert.textContent).toContain(ERROR_MESSAGES.INVALID_STATE);
    expect(alert.textContent).toContain('being rebuilt elsewhere');
  });

  it('says so when no projection has run yet', async () => {
    renderConsole('/operations', { ...METRICS, ...noConnections, ...noProjections }, { me: ROOT });
    expect(await screen.findByText('No projection has run yet.', {}, WAIT)).toBeTruthy();
  });
});
