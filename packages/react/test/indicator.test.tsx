import type { ClientOptions } from '@albatross/client';
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionIndicator, INDICATOR_COLORS, RealtimeProvider, useSubscription } from '../src/index.js';
import { fakeClient } from './support.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const advance = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));

function mount(props: Parameters<typeof ConnectionIndicator>[0] = {}, options: Partial<ClientOptions> = {}) {
  const setup = fakeClient({ warn: false, ...options });
  const view = render(
    <RealtimeProvider client={setup.client}>
      <ConnectionIndicator {...props} />
    </RealtimeProvider>,
  );
  return { ...setup, view, status: () => screen.getByRole('status') };
}

function Feed() {
  const { state, error } = useSubscription('tenant:t9:updates');
  return (
    <p data-testid="feed">
      {state} {error?.code}
    </p>
  );
}

function fakeClientView() {
  const setup = fakeClient({ warn: false });
  render(
    <RealtimeProvider client={setup.client}>
      <ConnectionIndicator />
      <Feed />
    </RealtimeProvider>,
  );
  return { ...setup, status: () => screen.getByRole('status') };
}

describe('ConnectionIndicator', () => {
  it('says the state in text inside a live status region, and hides 3 s after connecting (not before)', async () => {
    const { status, client } = mount();
    expect(status().textContent).toBe('Connecting…');
    expect(status().getAttribute('aria-live')).toBe('polite');
    await advance(0);
    expect(client.state).toBe('connected');
    expect(status().textContent).toBe('Connected');
    expect(status().dataset.state).toBe('connected');
    await advance(2999);
    expect(status().textContent).toBe('Connected');
    await advance(1);
    expect(status().textContent).toBe(''); // hidden, but the live region stays for the next announcement
    expect(status().hasAttribute('data-hidden')).toBe(true);
  });

  it('shows the reconnect attempt, and comes back from hidden when the connection drops', async () => {
    const { status, server } = mount();
    await advance(3000);
    expect(status().textContent).toBe('');
    server.refuseWith = 1006;
    act(() => server.last.serverClose(1006));
    expect(status().textContent).toBe('Connecting… (attempt 1): connection closed unexpectedly');
    expect(status().className).toBe('albatross-indicator albatross-indicator--connecting');
    await advance(10);
    expect(status().textContent).toBe('Connecting… (attempt 2): could not open a WebSocket to ws://test/ws');
    expect(status().dataset.attempt).toBe('2');
    server.refuseWith = null;
    await advance(40);
    expect(status().textContent).toBe('Connected');
  });

  it('reports a terminal error in words, with the reason as its title', async () => {
    const { status, server } = mount();
    await advance(0);
    act(() => server.last.serverClose(4003, 'credential revoked'));
    expect(status().textContent).toBe('Connection error: credential revoked');
    expect(status().title).toBe('FORBIDDEN: credential revoked (close code 4003)');
    expect(status().dataset.errorCode).toBe('FORBIDDEN');
    await advance(10_000);
    expect(status().textContent).toBe('Connection error: credential revoked'); // never auto-hidden
  });

  it('a refused upgrade (no proxy, refused Origin) says so in the text and what to check in the title', async () => {
    const { status, server } = mount({}, { minReconnectDelayMs: 1000, maxReconnectDelayMs: 1000 });
    server.refuseWith = 1006;
    await advance(0);
    expect(status().textContent).toBe('Connecting… (attempt 1): could not open a WebSocket to ws://test/ws');
    expect(status().title).toMatch(/^TRANSPORT: could not open a WebSocket to ws:\/\/test\/ws \(close code 1006\)\. /);
    expect(status().title).toContain('(`ws: true`)');
    expect(status().title).toContain('--allowed-origins');
    await advance(5000);
    expect(Number(status().dataset.attempt)).toBeGreaterThan(1);
    expect(status().textContent).toMatch(/^Connecting… \(attempt \d+\): could not open a WebSocket/);
  });

  it('an HTML page instead of a token is a connection error, not "Connecting…" forever', async () => {
    const { status, server } = mount({}, { getToken: () => '<!doctype html><html></html>' });
    await advance(60_000);
    expect(status().dataset.state).toBe('error');
    expect(status().textContent).toBe('Connection error: getToken() returned an HTML page instead of a token');
    expect(status().title).toContain('check `r.ok`');
    expect(server.sockets).toHaveLength(0);
  });

  it('"Connected" with a refused channel says which and stays visible', async () => {
    const { status, server } = fakeClientView();
    server.autoAck = false;
    await advance(0);
    const frame = server.last.sent.find((f) => f.type === 'subscribe');
    if (frame?.type !== 'subscribe') throw new Error('no subscribe');
    act(() =>
      server.last.push({
        type: 'ack',
        id: frame.id,
        accepted: [],
        rejected: [{ channel: 'tenant:t9:updates', code: 'FORBIDDEN', message: 'channel not allowed for this token' }],
      }),
    );
    expect(screen.getByTestId('feed').textContent).toBe('error FORBIDDEN');
    expect(status().textContent).toBe('Connected, but "tenant:t9:updates" was refused (FORBIDDEN)');
    expect(status().title).toContain('FORBIDDEN on channel "tenant:t9:updates": channel not allowed for this token');
    await advance(10_000);
    expect(status().hasAttribute('data-hidden')).toBe(false);
  });

  it('shows disconnected after the app disconnects', async () => {
    const { status, client } = mount();
    await advance(0);
    act(() => client.disconnect());
    expect(status().textContent).toBe('Disconnected');
  });

  it('is unstyled by default with class hooks; defaultStyle adds the coloured dot', async () => {
    const plain = mount({ className: 'mine' });
    expect(plain.status().getAttribute('style')).toBeNull();
    expect(plain.status().className).toBe('albatross-indicator albatross-indicator--connecting mine');
    expect(plain.status().querySelector('.albatross-indicator__dot')?.getAttribute('style')).toBeNull();
    plain.view.unmount();

    const styled = mount({ defaultStyle: true, labels: { connecting: 'Joining' } });
    expect(styled.status().textContent).toBe('Joining');
    const dot = styled.status().querySelector<HTMLElement>('.albatross-indicator__dot');
    expect(dot?.getAttribute('aria-hidden')).toBe('true');
    expect(dot?.style.background).toBe(INDICATOR_COLORS.connecting);
    await advance(0);
    expect(dot?.style.background).toBe(INDICATOR_COLORS.connected);
    expect(styled.status().style.borderRadius).toBe('999px');
  });

  it('hideAfterMs={null} keeps showing "Connected"', async () => {
    const { status } = mount({ hideAfterMs: null });
    await advance(60_000);
    expect(status().textContent).toBe('Connected');
  });
});
