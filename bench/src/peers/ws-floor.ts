import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { announce, flag, publishHandler } from './common.js';

/**
 * The plain-`ws` floor: no auth, no history, no limits. Each publication is
 * serialised once into one Buffer and `send` is called per socket (ws frames
 * and writes it per socket: one write per message per socket).
 */
const channels = new Map<string, Set<WebSocket>>();
const offsets = new Map<string, number>();

const server = createServer(
  publishHandler(flag('admin-key', 'bench-admin-key-0123456789'), ({ channels: names, eventType, payload }) => {
    const payloadJson = JSON.stringify(payload);
    return names.map((channel) => {
      const offset = (offsets.get(channel) ?? 0) + 1;
      offsets.set(channel, offset);
      const frame = Buffer.from(
        `{"type":"event","channel":${JSON.stringify(channel)},"offset":${offset},"epoch":"e","event_type":${JSON.stringify(eventType)},"ts":${Date.now()},"payload":${payloadJson}}`,
      );
      for (const ws of channels.get(channel) ?? []) ws.send(frame, { binary: false });
      return { channel, offset };
    });
  }),
);
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws, req) => {
  const channel = new URL(req.url ?? '/', 'http://x').searchParams.get('channel') ?? 'tenant:bench:updates';
  let set = channels.get(channel);
  if (!set) {
    set = new Set();
    channels.set(channel, set);
  }
  set.add(ws);
  ws.on('close', () => set.delete(ws));
  ws.on('error', () => undefined);
  ws.send('{"type":"welcome"}');
});
server.listen(Number(flag('port', '0')), '127.0.0.1', () => {
  const address = server.address();
  announce(typeof address === 'object' && address ? address.port : 0);
});
