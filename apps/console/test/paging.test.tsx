import { screen, waitFor } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { User } from '../src/api/contract.js';
import { ADMIN, renderConsole, T0, WAIT } from './harness.js';

function user(n: number): User {
  return {
    ...ADMIN,
    id: `u${n}`,
    email: `user${n}@example.test`,
    display_name: `User ${n}`,
    roles: ['Pilot'],
    created_at: T0,
    updated_at: T0,
  };
}

/** Two pages of users, split after `firstPage` items; the cursor is opaque to the console. */
function pagedUsers(all: () => User[], firstPage: number) {
  return (call: { query: URLSearchParams }) => {
    const cursor = call.query.get('cursor');
    const items = all();
    if (cursor === null) {
      return { status: 200, body: { items: items.slice(0, firstPage), next_cursor: 'c2' } };
    }
    if (cursor !== 'c2') return { status: 400, body: { code: 'INVALID_MESSAGE', message: 'invalid cursor' } };
    return { status: 200, body: { items: items.slice(firstPage), next_cursor: null } };
  };
}

describe('lists follow next_cursor', () => {
  it('shows "Load more" while there is a next page, appends it, and hides it on the last page', async () => {
    const u = userEvent.setup();
    const users = [user(1), user(2), user(3)];
    const { calls } = renderConsole('/users', { 'GET /api/users': pagedUsers(() => users, 2) });
    await waitFor(() => expect(screen.getAllByTestId('user-row')).toHaveLength(2), WAIT);
    expect(calls.filter((c) => c.path === '/api/users').every((c) => c.query.get('cursor') === null)).toBe(true);

    await u.click(screen.getByRole('button', { name: 'Load more users' }));
    await waitFor(
      () => expect(screen.getAllByTestId('user-row').map((r) => r.getAttribute('data-id'))).toEqual(['u1', 'u2', 'u3']),
      WAIT,
    );
    expect(calls.filter((c) => c.path === '/api/users').map((c) => c.query.get('cursor'))).toContain('c2');
    expect(screen.queryByRole('button', { name: 'Load more users' })).toBeNull();
  });

  it('a live refresh keeps every loaded page (each followed again), without duplicates', async () => {
    const u = userEvent.setup();
    const users = [user(1), user(2), user(3)];
    const { calls, server } = renderConsole('/users', { 'GET /api/users': pagedUsers(() => users, 2) });
    await waitFor(() => expect(screen.getAllByTestId('user-row')).toHaveLength(2), WAIT);
    await u.click(screen.getByRole('button', { name: 'Load more users' }));
    await waitFor(() => expect(screen.getAllByTestId('user-row')).toHaveLength(3), WAIT);
    await waitFor(
      () =>
        expect(server.subscribeLog.map((s) => (typeof s === 'string' ? s : s.channel))).toContain('admin:t1:updates'),
      WAIT,
    );
    const before = calls.length;
    users.push(user(4));
    server.publish('admin:t1:updates', 'user.created', { id: 'u4' });
    await waitFor(
      () =>
        expect(screen.getAllByTestId('user-row').map((r) => r.getAttribute('data-id'))).toEqual([
          'u1',
          'u2',
          'u3',
          'u4',
        ]),
      WAIT,
    );
    const refetched = calls.slice(before).filter((c) => c.path === '/api/users');
    expect(refetched.map((c) => c.query.get('cursor'))).toEqual([null, 'c2']);
  });

  it('a new filter starts again from the first page', async () => {
    const u = userEvent.setup();
    const users = [user(1), user(2), user(3)];
    const { calls } = renderConsole('/users', { 'GET /api/users': pagedUsers(() => users, 2) });
    await waitFor(() => expect(screen.getAllByTestId('user-row')).toHaveLength(2), WAIT);
    await u.click(screen.getByRole('button', { name: 'Load more users' }));
    await waitFor(() => expect(screen.getAllByTestId('user-row')).toHaveLength(3), WAIT);
    const before = calls.length;
    await u.selectOptions(screen.getByLabelText('Role'), 'Pilot');
    await waitFor(() => expect(screen.getAllByTestId('user-row')).toHaveLength(2), WAIT);
    const after = calls.slice(before).filter((c) => c.path === '/api/users');
    expect(after.map((c) => [c.query.get('role'), c.query.get('cursor')])).toEqual([['Pilot', null]]);
    expect(screen.getByRole('button', { name: 'Load more users' })).toBeTruthy();
  });
});
