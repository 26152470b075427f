import type { AlbatrossClient } from '@albatross/client';
import { act, cleanup, render, screen } from '@testing-library/react';
import { StrictMode, useState } from 'react';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  createRealtimeHooks,
  RealtimeProvider,
  useConnectionState,
  useEvent,
  useLatestEvent,
  useRealtime,
  useSubscription,
} from '../src/index.js';
import { fakeClient } from './support.js';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

// Components under test live at module level (hooks rules); tests pass what they observe through props.
function Probe({ onClient }: { onClient: (client: AlbatrossClient) => void }) {
  onClient(useRealtime());
  return null;
}

function Orphan() {
  useRealtime();
  return null;
}

function State({ log }: { log: string[] }) {
  const { state, attempt } = useConnectionState();
  log.push(`${state}:${attempt}`);
  return <p>{`${state}:${attempt}`}</p>;
}

function Feed({ label }: { label: string }) {
  const [offsets, setOffsets] = useState<number[]>([]);
  const { state } = useSubscription('tenant:t1:a', (event) => setOffsets((list) => [...list, event.offset]), []);
  return <p data-testid={label}>{`${state}|${offsets.join(',')}`}</p>;
}

function App({ client, second }: { client: AlbatrossClient; second: boolean }) {
  return (
    <RealtimeProvider client={client}>
      <Feed label="one" />
      {second ? <Feed label="two" /> : null}
    </RealtimeProvider>
  );
}

function Both() {
  useSubscription('tenant:t1:updates', () => {}, []);
  useSubscription('tenant:t1:mine', () => {}, []);
  return null;
}

function Tagged({ tag, seen }: { tag: string; seen: string[] }) {
  const { recovered } = useSubscription('tenant:t1:a', (event) => seen.push(`${tag}${event.offset}`), [tag]);
  return <p data-testid="recovered">{String(recovered)}</p>;
}

function Idle() {
  const { state } = useSubscription(null, () => {}, []);
  return <p>{state}</p>;
}

function Users({ created }: { created: unknown[] }) {
  useEvent('tenant:t1:updates', 'user.created', (payload) => created.push(payload), []);
  return null;
}

function Latest() {
  const event = useLatestEvent('tenant:t1:updates', 'note');
  return <p data-testid="latest">{event ? JSON.stringify(event.payload) : 'none'}</p>;
}

const flush = () => act(async () => {});
const tick = () => act(() => new Promise((resolve) => setTimeout(resolve, 0)));

describe('RealtimeProvider and useRealtime', () => {
  it('connects on mount, shares the client, and disconnects on unmount', async () => {
    const { server, client } = fakeClient();
    let seen: AlbatrossClient | null = null;
    const view = render(
      <RealtimeProvider client={client}>
        <Probe
          onClient={(c) => {
            seen = c;
          }}
        />
      </RealtimeProvider>,
    );
    await flush();
    expect(seen).toBe(client);
    expect(client.state).toBe('connected');
    view.unmount();
    expect(client.state).toBe('disconnected');
    expect(server.last.closedByClient).toBe(1000);
  });

  it('survives StrictMode double effects with one live connection', async () => {
    const { server, client } = fakeClient();
    render(
      <StrictMode>
        <RealtimeProvider client={client}>
          <p />
        </RealtimeProvider>
      </StrictMode>,
    );
    await flush();
    expect(client.state).toBe('connected');
    expect(server.sockets.filter((s) => s.readyState === 1)).toHaveLength(1);
  });

  it('connect={false} leaves connecting to the app', async () => {
    const { client } = fakeClient();
    render(<RealtimeProvider client={client} connect={false} />);
    await flush();
    expect(client.state).toBe('disconnected');
  });

  it('throws a clear error outside a provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => render(<Orphan />)).toThrow(/RealtimeProvider/);
  });
});

describe('useConnectionState', () => {
  it('re-renders on every state change and retry attempt', async () => {
    const { server, client } = fakeClient();
    const renders: string[] = [];
    render(
      <RealtimeProvider client={client}>
        <State log={renders} />
      </RealtimeProvider>,
    );
    await flush();
    expect(screen.getByText('connected:0')).toBeTruthy();
    vi.useFakeTimers();
    try {
      server.refuseWith = 1006;
      act(() => server.last.serverClose(1006));
      expect(screen.getByText('connecting:1')).toBeTruthy();
      await act(() => vi.advanceTimersByTimeAsync(10)); // 0.5 × 20 ms, then refused again
      expect(screen.getByText('connecting:2')).toBeTruthy();
      server.refuseWith = null;
      await act(() => vi.advanceTimersByTimeAsync(20)); // 0.5 × 40 ms
      expect(screen.getByText('connected:2')).toBeTruthy();
    } finally {
      vi.useRealTimers();
    }
    // No render without a change: each snapshot appears once in a row.
    expect(renders.filter((r, i) => r === renders[i - 1])).toEqual([]);
  });
});

describe('useSubscription', () => {
  it('delivers events in order, shares one subscription, and unsubscribes after the last user unmounts', async () => {
    const { server, client } = fakeClient();
    const view = render(<App client={client} second />);
    await flush();
    expect(screen.getByTestId('one').textContent).toBe('subscribed|');
    act(() => {
      server.publish('tenant:t1:a');
      server.publish('tenant:t1:a');
    });
    expect(screen.getByTestId('one').textContent).toBe('subscribed|1,2');
    expect(screen.getByTestId('two').textContent).toBe('subscribed|1,2');
    const subscribes = server.last.sent.filter((f) => f.type === 'subscribe');
    expect(subscribes).toHaveLength(1); // both components, one frame, one channel entry
    expect(subscribes[0]?.type === 'subscribe' && subscribes[0].channels).toEqual([{ channel: 'tenant:t1:a' }]);

    view.rerender(<App client={client} second={false} />);
    await tick();
    expect(server.last.sent.some((f) => f.type === 'unsubscribe')).toBe(false); // still used by "one"
    act(() => server.publish('tenant:t1:a'));
    expect(screen.getByTestId('one').textContent).toBe('subscribed|1,2,3');

    view.rerender(<RealtimeProvider client={client} />);
    await tick();
    expect(server.last.sent.at(-1)).toMatchObject({ type: 'unsubscribe', channels: ['tenant:t1:a'] });
    expect(client.getSubscription('tenant:t1:a')).toBeUndefined();
  });

  it('does not unsubscribe a baseline channel the server made, nor one the app made itself', async () => {
    const { server, client } = fakeClient();
    client.subscribe('tenant:t1:mine');
    const view = render(
      <RealtimeProvider client={client}>
        <Both />
      </RealtimeProvider>,
    );
    await flush();
    view.rerender(<RealtimeProvider client={client} />);
    await tick();
    expect(server.last.sent.filter((f) => f.type === 'unsubscribe')).toEqual([]);
  });

  it('rebinds the handler when deps change and exposes recovery after a reconnect', async () => {
    const { server, client } = fakeClient();
    const seen: string[] = [];
    const view = render(
      <RealtimeProvider client={client}>
        <Tagged tag="x" seen={seen} />
      </RealtimeProvider>,
    );
    await flush();
    act(() => server.publish('tenant:t1:a'));
    view.rerender(
      <RealtimeProvider client={client}>
        <Tagged tag="y" seen={seen} />
      </RealtimeProvider>,
    );
    act(() => server.publish('tenant:t1:a'));
    expect(seen).toEqual(['x1', 'y2']);
    act(() => server.last.serverClose(1006));
    act(() => server.publish('tenant:t1:a'));
    // The reconnect (a 10 ms backoff) is awaited by its effect, not by a fixed sleep.
    await act(() => vi.waitFor(() => expect(seen).toHaveLength(3), { timeout: 10_000, interval: 5 }));
    expect(seen).toEqual(['x1', 'y2', 'y3']);
    expect(screen.getByTestId('recovered').textContent).toBe('true');
  });

  it('subscribes nothing for a null channel', async () => {
    const { server, client } = fakeClient();
    render(
      <RealtimeProvider client={client}>
        <Idle />
      </RealtimeProvider>,
    );
    await flush();
    expect(screen.getByText('unsubscribed')).toBeTruthy();
    expect(server.last.sent.filter((f) => f.type === 'subscribe')).toEqual([]);
  });
});

describe('useEvent and useLatestEvent', () => {
  it('useEvent calls back only for its event type, with the payload', async () => {
    const { server, client } = fakeClient();
    const created: unknown[] = [];
    render(
      <RealtimeProvider client={client}>
        <Users created={created} />
      </RealtimeProvider>,
    );
    await flush();
    act(() => {
      server.publish('tenant:t1:updates', 'user.created', { id: 'u7' });
      server.publish('tenant:t1:updates', 'user.deleted', { id: 'u8' });
      server.publish('tenant:t1:updates', 'user.created', { id: 'u9' });
    });
    expect(created).toEqual([{ id: 'u7' }, { id: 'u9' }]);
  });

  it('useLatestEvent renders the newest matching event', async () => {
    const { server, client } = fakeClient();
    render(
      <RealtimeProvider client={client}>
        <Latest />
      </RealtimeProvider>,
    );
    await flush();
    expect(screen.getByTestId('latest').textContent).toBe('none');
    act(() => server.publish('tenant:t1:updates', 'note', { n: 1 }));
    act(() => server.publish('tenant:t1:updates', 'other', { n: 2 }));
    expect(screen.getByTestId('latest').textContent).toBe('{"n":1}');
    act(() => server.publish('tenant:t1:updates', 'note', { n: 3 }));
    expect(screen.getByTestId('latest').textContent).toBe('{"n":3}');
  });

  it('createRealtimeHooks types channels, event types and payloads from the event map', () => {
    type AppEvents = { 'tenant:{tenantId}:updates': { 'user.created': { id: string; name: string } } };
    const hooks = createRealtimeHooks<AppEvents>();
    expect(hooks.useEvent).toBe(useEvent);
    expectTypeOf(hooks.useEvent).parameter(0).toEqualTypeOf<`tenant:${string}:updates` | null>();
    expectTypeOf(hooks.useEvent<'tenant:t1:updates', 'user.created'>)
      .parameter(2)
      .parameter(0)
      .toEqualTypeOf<{ id: string; name: string }>();
    expectTypeOf(hooks.useLatestEvent<'tenant:t1:updates'>)
      .returns.exclude<undefined>()
      .toHaveProperty('event_type')
      .toEqualTypeOf<'user.created'>();
  });
});

function Guarded({ channel }: { channel: string }) {
  const { state, error } = useSubscription(channel);
  return <p data-testid={channel}>{error ? `${state}: ${error.code} ${error.details.channel}` : state}</p>;
}

describe('a channel the server refuses', () => {
  it('useSubscription returns the error state, and development warns once per (code, channel)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { server, client } = fakeClient(); // default warn: console, NODE_ENV is not production under test
    server.autoAck = false;
    const refuse = () => {
      for (const frame of server.last.sent) {
        if (frame.type !== 'subscribe') continue;
        server.last.push({
          type: 'ack',
          id: frame.id,
          accepted: [],
          rejected: frame.channels.map((entry) => ({
            channel: typeof entry === 'string' ? entry : entry.channel,
            code: 'FORBIDDEN' as const,
            message: 'not your tenant',
          })),
        });
      }
      server.last.sent.length = 0;
    };
    const view = render(
      <StrictMode>
        <RealtimeProvider client={client}>
          <Guarded channel="tenant:t2:updates" />
          <Guarded channel="tenant:t2:updates" />
        </RealtimeProvider>
      </StrictMode>,
    );
    await flush();
    act(refuse);
    expect(screen.getAllByTestId('tenant:t2:updates').map((p) => p.textContent)).toEqual([
      'error: FORBIDDEN tenant:t2:updates',
      'error: FORBIDDEN tenant:t2:updates',
    ]);
    // A remount asks again (the server may have changed its mind); the same refusal is not warned twice.
    view.rerender(
      <StrictMode>
        <RealtimeProvider client={client}>
          <p>elsewhere</p>
        </RealtimeProvider>
      </StrictMode>,
    );
    await flush();
    view.rerender(
      <StrictMode>
        <RealtimeProvider client={client}>
          <Guarded channel="tenant:t2:updates" />
          <Guarded channel="tenant:t3:updates" />
        </RealtimeProvider>
      </StrictMode>,
    );
    await flush();
    act(refuse);
    expect(screen.getByTestId('tenant:t3:updates').textContent).toBe('error: FORBIDDEN tenant:t3:updates');
    expect(warn.mock.calls.map((call) => call[0])).toEqual([
      expect.stringMatching(/^\[albatross\] FORBIDDEN on channel "tenant:t2:updates": not your tenant\. /),
      expect.stringMatching(/^\[albatross\] FORBIDDEN on channel "tenant:t3:updates": not your tenant\. /),
    ]);
    expect(client.state).toBe('connected');
  });
});
