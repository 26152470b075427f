import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { announce, flag, publishHandler } from './common.js';

/**
 * Socket.IO 4.8, websocket transport only, one room per channel (joined from
 * the `room` query at connect). With `--redis-url` it runs the Redis adapter,
 * so several of these processes form one cluster.
 */
const offsets = new Map<string, number>();
let io: Server;

const server = createServer(
  publishHandler(flag('admin-key', 'bench-admin-key-0123456789'), ({ channels, eventType, payload }) =>
    channels.map((channel) => {
      const offset = (offsets.get(channel) ?? 0) + 1;
      offsets.set(channel, offset);
      io.to(channel).emit('event', {
        channel,
        offset,
        event_type: eventType,
        ts: Date.now(),
        payload,
      });
      return { channel, offset };
    }),
  ),
);
io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  pingInterval: 25_000,
  pingTimeout: 60_000,
});
const redisUrl = flag('redis-url', '');
if (redisUrl !== '') {
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}
io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  void socket.join(typeof room === 'string' ? room : 'tenant:bench:updates');
});
server.listen(Number(flag('port', '0')), '127.0.0.1', () => {
  const address = server.address();
  announce(typeof address === 'object' && address ? address.port : 0);
});
