import { QueryClient, QueryClientProvider, useQuery } from '@tanstack/react-query';
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RealtimeProvider } from '../src/index.js';
import { bindQueryClient, type InvalidationRule, matchChannel, useRealtimeInvalidation } from '../src/query.js';
import { fakeClient } from './support.js';

afterEach(() => cleanup());

/** Event waits: generous bounds that hold on a busy machine (a pass returns as soon as the condition holds). */
const WAIT = { timeout: 10_000, interval: 5 };

function Users({ fetches }: { fetches: { count: number } }) {
  useRealtimeInvalidation(rules);
  const { data } = useQuery({
    queryKey: ['users', 't1'],
    queryFn: async () => {
      fetches.count += 1;
      return `fetch ${fetches.count}`;
    },
  });
  return <p data-testid="users">{data ?? 'loading'}</p>;
}

const rules: InvalidationRule[] = [
  {
    channel: 'tenant:{tenantId}:updates',
    events: ['user.created', 'user.deleted'],
    queryKey: ({ params }) => ['users', params.tenantId],
  },
  {
    channel: 'tenant:{tenantId}:updates',
    events: ['project.renamed'],
    queryKey: ({ params }) => ['projects', params.tenantId],
  },
  { channel: 'tenant:{tenantId}:audit', queryKey: ['audit'] },
];

async function bound(extra: InvalidationRule[] = []) {
  const { server, client } = fakeClient();
  const queryClient = new QueryClient();
  const invalidated: unknown[] = [];
  vi.spyOn(queryClient, 'invalidateQueries').mockImplementation(async (filters) => {
    invalidated.push(filters?.queryKey);
  });
  const unbind = bindQueryClient(client, queryClient, [...rules, ...extra]);
  client.connect();
  await Promise.resolve();
  await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
  return { server, client, queryClient, invalidated, unbind };
}

describe('matchChannel', () => {
  it('captures {params} and requires every other segment to match', () => {
    expect(matchChannel('tenant:{tenantId}:updates', 'tenant:t1:updates')).toEqual({ tenantId: 't1' });
    expect(matchChannel('tenant:{tenantId}:updates', 'tenant:t1:audit')).toBeNull();
    expect(matchChannel('tenant:{tenantId}:updates', 'tenant:t1:updates:extra')).toBeNull();
    expect(matchChannel('user:u1:updates', 'user:u1:updates')).toEqual({});
  });
});

describe('bindQueryClient', () => {
  it('invalidates the mapped key of an event, and nothing for unmapped types or channels', async () => {
    const { server, client, invalidated, unbind } = await bound();
    expect(client.state).toBe('connected');
    server.publish('tenant:t1:updates', 'user.created', { id: 'u7' });
    expect(invalidated).toEqual([['users', 't1']]);
    server.publish('tenant:t1:updates', 'invoice.paid', {}); // no rule
    server.publish('user:u1:updates', 'user.created', {}); // not a mapped channel (and not subscribed)
    expect(invalidated).toEqual([['users', 't1']]);
    unbind();
    server.publish('tenant:t1:updates', 'user.deleted', { id: 'u7' });
    expect(invalidated).toEqual([['users', 't1']]);
    client.disconnect();
  });

  it('invalidates EVERY key mapped to a channel when it goes stale, whatever the event types', async () => {
    const { server, client, invalidated } = await bound();
    server.last.push({ type: 'gap', channel: 'tenant:t1:updates', epoch: 'e1', offset: 9 });
    expect(invalidated).toEqual([
      ['users', 't1'],
      ['projects', 't1'],
    ]);
    client.disconnect();
  });

  it('invalidates mapped keys when a reconnect cannot recover the outage', async () => {
    const { server, client, invalidated } = await bound();
    server.publish('tenant:t1:updates', 'user.created', {});
    invalidated.length = 0;
    server.last.serverClose(1006);
    server.resetEpoch('tenant:t1:updates'); // history lost while away
    server.publish('tenant:t1:updates', 'noise', {});
    // Waits for the reconnect (a 10 ms backoff) by its effect, not by a fixed sleep.
    await vi.waitFor(() => expect(invalidated).toHaveLength(2), WAIT);
    expect(client.state).toBe('connected');
    expect(invalidated).toEqual([
      ['users', 't1'],
      ['projects', 't1'],
    ]);
    client.disconnect();
  });

  it('patch mode writes the event into cached data instead of refetching', async () => {
    const patch: InvalidationRule = {
      channel: 'tenant:{tenantId}:updates',
      events: ['user.renamed'],
      queryKey: ({ params, event }) => [
        'user',
        params.tenantId,
        (event?.payload as { id?: string } | undefined)?.id ?? null,
      ],
      update: (previous, event) => ({ ...(previous as object), ...(event.payload as object) }),
    };
    const { server, client, queryClient, invalidated } = await bound([patch]);
    queryClient.setQueryData(['user', 't1', 'u7'], { id: 'u7', name: 'Ann', role: 'admin' });
    server.publish('tenant:t1:updates', 'user.renamed', { id: 'u7', name: 'Anna' });
    expect(queryClient.getQueryData(['user', 't1', 'u7'])).toEqual({ id: 'u7', name: 'Anna', role: 'admin' });
    expect(invalidated).toEqual([]); // patched, not refetched
    server.publish('tenant:t1:updates', 'user.renamed', { id: 'u8', name: 'Bo' }); // not cached: nothing to patch
    expect(invalidated).toEqual([['user', 't1', 'u8']]);
    expect(queryClient.getQueryData(['user', 't1', 'u8'])).toBeUndefined();
    client.disconnect();
  });
});

describe('useRealtimeInvalidation', () => {
  it('refetches a mounted query on a mapped event and on stale, and not on other events', async () => {
    const { server, client } = fakeClient();
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const fetches = { count: 0 };
    render(
      <QueryClientProvider client={queryClient}>
        <RealtimeProvider client={client}>
          <Users fetches={fetches} />
        </RealtimeProvider>
      </QueryClientProvider>,
    );
    await screen.findByText('fetch 1', {}, WAIT);
    await act(async () => {
      server.publish('tenant:t1:updates', 'user.created', { id: 'u7' });
    });
    await screen.findByText('fetch 2', {}, WAIT);
    await act(async () => {
      server.publish('tenant:t1:updates', 'project.renamed', {});
      server.publish('tenant:t1:audit', 'user.created', {});
    });
    // Unmapped events refetch nothing: the next refetch (the gap below) is number 3, not 4.
    expect(fetches.count).toBe(2);
    await act(async () => {
      server.last.push({ type: 'gap', channel: 'tenant:t1:updates', epoch: 'e1', offset: 50 });
    });
    await screen.findByText('fetch 3', {}, WAIT);
    expect(fetches.count).toBe(3);
  });
});
