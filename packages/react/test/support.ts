import { type ClientOptions, createClient } from '@albatross/client';
import { FakeServer, FakeSignal } from '../../client/test/support/fake-server.js';

export { FakeServer, FakeSignal };

/** A real client wired to the in-process fake server (sockets open on a microtask). */
export function fakeClient(options: Partial<ClientOptions> = {}) {
  const server = new FakeServer();
  const network = new FakeSignal(true);
  const client = createClient({
    url: 'ws://test/ws',
    WebSocket: server.WebSocket,
    getToken: () => 'token',
    network,
    visibility: new FakeSignal(true),
    random: () => 0.5,
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 40,
    ...options,
  });
  return { server, client, network };
}
