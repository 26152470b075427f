import type {
  Command,
  ConnectResult,
  ConnectSpec,
  Counts,
  ReconnectResult,
  ReconnectSpec,
  Request,
  Taken,
} from './messages.js';
import { classify, Kind, numberAfter, readOffset, T_KEY } from './scan.js';
import { signToken } from './token.js';
import { type FrameSink, WireConn } from './wire.js';

/**
 * One load-generator process: it holds its share of the subscribers, counts
 * what they receive and samples latency, and answers the coordinator's
 * commands over IPC. Events are never parsed: see scan.ts.
 */

const wire = { wireBytes: 0, reads: 0 };
let frames = 0;
let controlFrames = 0;
let gaps = 0;
let dups = 0;
let closes: Record<string, number> = {};
let samples: number[] = [];
let sampleEvery = 16;
let countdown = 16;
let conns: WireConn[] = [];
let spec: ConnectSpec | null = null;

const timeOrigin = performance.timeOrigin;
const channelOf = (s: ConnectSpec, i: number): string => `tenant:${tenantOf(s, i)}:updates`;
const tenantOf = (s: ConnectSpec, i: number): string => (s.tenants > 0 ? `t${i % s.tenants}` : 'bench');

const sink: FrameSink = {
  onMessage(conn, buf, start, end) {
    const socketIo = spec?.proto === 'socketio';
    const kind = classify(socketIo, buf, start, end);
    if (kind === Kind.Event) {
      frames++;
      const offset = readOffset(conn, buf, start, end);
      if (offset >= 0) {
        if (conn.lastOffset >= 0) {
          if (offset > conn.lastOffset + 1) gaps++;
          else if (offset <= conn.lastOffset) dups++;
        }
        conn.lastOffset = offset;
        if (conn.recovered) conn.replayed++;
      }
      if (--countdown <= 0) {
        countdown = sampleEvery;
        const t = numberAfter(buf, T_KEY, start, end);
        if (t > 0) samples.push(timeOrigin + performance.now() - t);
      }
      return;
    }
    controlFrames++;
    if (kind === Kind.EnginePing) {
      conn.sendText('3');
      return;
    }
    onControl(conn, buf.toString('utf8', start, end));
  },
  onOpen(conn) {
    if (spec?.proto === 'albatross') {
      const s = spec;
      conn.sendText(
        JSON.stringify({ type: 'auth', token: signToken(s.secret, `u${conn.index}`, tenantOf(s, conn.index)) }),
      );
    }
  },
  onClose(conn, code, httpStatus) {
    const reason = httpStatus > 0 ? `http_${httpStatus}` : String(code);
    if (conn.ready) closes[reason] = (closes[reason] ?? 0) + 1;
    else failures[reason] = (failures[reason] ?? 0) + 1;
    conn.onSettle?.();
  },
};

let failures: Record<string, number> = {};
/** Pending `since` of a reconnecting connection, by index. */
const resubscribe = new Map<WireConn, { offset: number; epoch: string }>();

function onControl(conn: WireConn, text: string): void {
  if (spec === null) return;
  if (spec.proto === 'socketio') {
    if (text.startsWith('0{')) conn.sendText('40');
    else if (text.startsWith('40')) markReady(conn);
    return;
  }
  if (text.startsWith('{"type":"welcome"')) {
    if (spec.proto === 'albatross' && (spec.subscribe || resubscribe.has(conn))) {
      const since = resubscribe.get(conn);
      const channel = channelOf(spec, conn.index);
      const entry = since ? { channel, since } : channel;
      conn.sendText(JSON.stringify({ type: 'subscribe', id: 1, channels: [entry] }));
    } else markReady(conn);
    return;
  }
  if (text.startsWith('{"type":"ack"')) {
    const ack = JSON.parse(text) as { accepted?: { offset: number; epoch: string; recovered?: boolean }[] };
    const entry = ack.accepted?.[0];
    if (entry) {
      conn.epoch = entry.epoch;
      if (resubscribe.has(conn)) {
        conn.recovered = entry.recovered === true;
        resubscribe.delete(conn);
      } else if (conn.lastOffset < 0) conn.lastOffset = entry.offset;
    }
    markReady(conn);
  }
}

function markReady(conn: WireConn): void {
  if (conn.ready) return;
  conn.ready = true;
  conn.onSettle?.();
}

function newConn(s: ConnectSpec, index: number): WireConn {
  const node = s.nodes[index % s.nodes.length];
  if (!node) throw new Error('no node to connect to');
  const source = s.sources[index % s.sources.length];
  const path =
    s.proto === 'socketio'
      ? `/socket.io/?EIO=4&transport=websocket&room=${encodeURIComponent(channelOf(s, index))}`
      : s.proto === 'plain'
        ? `/ws?channel=${encodeURIComponent(channelOf(s, index))}`
        : '/ws';
  const conn = new WireConn({ host: node.host, port: node.port, path, localAddress: source }, sink, wire);
  conn.index = index;
  return conn;
}

/** Opens `list` with at most `concurrency` handshakes in flight; resolves when each is ready or failed. */
function openAll(list: WireConn[], concurrency: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    let next = 0;
    let inflight = 0;
    let pending = list.length;
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve(performance.now() - started);
    };
    const timer = setTimeout(done, timeoutMs);
    const launch = (): void => {
      while (!finished && inflight < concurrency && next < list.length) {
        const conn = list[next++];
        if (!conn) break;
        inflight++;
        conn.onSettle = () => {
          conn.onSettle = null;
          inflight--;
          pending--;
          if (pending === 0) done();
          else launch();
        };
        conn.connect();
      }
    };
    if (pending === 0) done();
    else launch();
  });
}

async function connect(s: ConnectSpec): Promise<ConnectResult> {
  spec = s;
  failures = {};
  const list: WireConn[] = [];
  for (let k = 0; k < s.count; k++) list.push(newConn(s, s.from + k));
  conns.push(...list);
  const ms = await openAll(list, s.concurrency, s.timeoutMs);
  const connected = list.filter((c) => c.ready && !c.closed).length;
  return { connected, failed: list.length - connected, failures, ms };
}

async function reconnect(r: ReconnectSpec): Promise<ReconnectResult> {
  const s = spec;
  if (!s) throw new Error('reconnect before connect');
  const fresh: WireConn[] = [];
  for (const old of conns) {
    const conn = newConn(s, old.index);
    conn.lastOffset = old.lastOffset;
    conn.epoch = old.epoch;
    resubscribe.set(conn, { offset: old.lastOffset, epoch: old.epoch });
    fresh.push(conn);
  }
  conns = fresh;
  const gapsBefore = gaps;
  const dupsBefore = dups;
  const started = performance.now();
  await openAll(fresh, r.concurrency, r.timeoutMs);
  const remaining = Math.max(0, r.timeoutMs - (performance.now() - started));
  const complete = (c: WireConn): boolean => c.recovered && c.lastOffset >= r.targetOffset;
  await waitFor(() => fresh.every(complete), remaining);
  const ms = performance.now() - started;
  let recovered = 0;
  let incomplete = 0;
  let replayed = 0;
  for (const c of fresh) {
    if (c.recovered) recovered++;
    if (!complete(c)) incomplete++;
    replayed += c.replayed;
  }
  return {
    clients: fresh.length,
    recovered,
    notRecovered: fresh.length - recovered,
    incomplete,
    replayed,
    gaps: gaps - gapsBefore,
    dups: dups - dupsBefore,
    ms,
  };
}

/** Polls `predicate` every 10 ms until true or `timeoutMs`. */
function waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  return new Promise((resolve) => {
    const tick = (): void => {
      if (predicate()) resolve(true);
      else if (performance.now() > until) resolve(false);
      else setTimeout(tick, 10);
    };
    tick();
  });
}

function counts(): Counts {
  let open = 0;
  for (const c of conns) if (c.open) open++;
  return { frames, wireBytes: wire.wireBytes, reads: wire.reads, controlFrames, gaps, dups, closes, open };
}

async function handle(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'connect':
      return connect(command.spec);
    case 'reset':
      frames = 0;
      controlFrames = 0;
      wire.wireBytes = 0;
      wire.reads = 0;
      gaps = 0;
      dups = 0;
      closes = {};
      samples = [];
      sampleEvery = Math.max(1, Math.round(command.sampleEvery));
      countdown = sampleEvery;
      return null;
    case 'counts':
      return counts();
    case 'take': {
      const taken: Taken = { ...counts(), samples };
      samples = [];
      return taken;
    }
    case 'drop':
      for (const c of conns) {
        c.ready = false;
        c.destroy();
      }
      return null;
    case 'reconnect':
      return reconnect(command.spec);
    case 'waitOffset':
      return waitFor(() => conns.every((c) => c.lastOffset >= command.target), command.timeoutMs);
    case 'closeAll':
      for (const c of conns) {
        c.ready = false;
        c.destroy();
      }
      conns = [];
      return null;
    case 'exit':
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (message: Request) => {
  handle(message.command).then(
    (value) => process.send?.({ id: message.id, ok: true, value }),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
