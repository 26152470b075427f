import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionIndicator, INDICATOR_COLORS, RealtimeProvider } from '../src/index.js';
import { fakeClient } from './support.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const advance = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));

function mount(props: Parameters<typeof ConnectionIndicator>[0] = {}) {
  const setup = fakeClient();
  const view = render(
    <RealtimeProvider client={setup.client}>
      <ConnectionIndicator {...props} />
    </RealtimeProvider>,
  );
  return { ...setup, view, status: () => screen.getByRole('status') };
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
    expect(status().textContent).toBe('Connecting… (attempt 1)');
    expect(status().className).toBe('albatross-indicator albatross-indicator--connecting');
    await advance(10);
    expect(status().textContent).toBe('Connecting… (attempt 2)');
    expect(status().dataset.attempt).toBe('2');
    server.refuseWith = null;
    await advance(40);
    expect(status().textContent).toBe('Connected');
  });

  it('reports a terminal error in words, with the reason as its title', async () => {
    const { status, server } = mount();
    await advance(0);
    act(() => server.last.serverClose(4003, 'credential revoked'));
    expect(status().textContent).toBe('Connection error');
    expect(status().title).toBe('credential revoked');
    await advance(10_000);
    expect(status().textContent).toBe('Connection error'); // never auto-hidden
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
