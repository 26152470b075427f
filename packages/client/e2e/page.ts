// The page the end-to-end test loads: a minimal app on @albatross/client that
// shows every event of one channel, the connection state and any stale signal.
import { createClient } from '../src/index.js';

const element = (id: string) => document.getElementById(id) as HTMLElement;

const client = createClient({
  url: `ws://${location.host}/ws`,
  getToken: async () => (await fetch('/token')).text(),
  minReconnectDelayMs: 100,
  maxReconnectDelayMs: 400,
});
client.on('state', ({ new: state }) => {
  element('state').textContent = state;
});
const feed = client.subscribe('tenant:t1:feed');
feed.on('state', ({ new: state }) => {
  element('sub').textContent = state;
});
feed.on('event', (event) => {
  const item = document.createElement('li');
  item.dataset.offset = String(event.offset);
  item.textContent = String((event.payload as { text?: unknown }).text);
  element('events').append(item);
});
feed.on('stale', (event) => {
  element('stale').textContent += `${event.reason};`;
});
client.connect();
