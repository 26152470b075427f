import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { startGatewayProcess } from './gateway-process.js';
import { quantile, round } from './stats.js';

export interface FanoutOptions {
  subscribers: number;
  /** Publications per second. */
  rate: number;
  durationMs: number;
  payloadBytes: number;
  /** Pin the gateway to this CPU (taskset), when given. */
  cpu?: number;
  /** Run a flooding client beside the subscribers (pings as fast as the socket takes them, reconnecting when closed). */
  flood?: boolean;
}

export interface FanoutResult {
  scenario: 'fanout' | 'fanout+flood';
  flood_frames_sent: number;
  subscribers: number;
  rate_attempted: number;
  publications: number;
  deliveries_expected: number;
  deliveries: number;
  lost: number;
  deliveries_per_s: number;
  latency_ms: { p50: number; p99: number; max: number; samples: number };
}

const SECRET = 'bench-secret-0123456789abcdef';
const ADMIN = 'bench-admin-key';
const CHANNEL = 'tenant:bench:updates';

/**
 * One channel fan-out: N subscribers on one gateway process, publications at
 * a fixed rate over HTTP, publish-to-receive latency measured on every
 * delivery (the publish time travels in the payload; both ends share a clock).
 */
export async function runFanout(options: FanoutOptions): Promise<FanoutResult> {
  const gateway = await startGatewayProcess(
    ['--port', '0', '--jwt-secret', SECRET, '--admin-key', ADMIN, '--log-level', 'warn', '--heartbeat-ms', '60000'],
    options.cpu,
  );
  const sockets: WebSocket[] = [];
  try {
    const token = await new SignJWT({ tenant_id: 'bench' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench-user')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    const latencies: number[] = [];
    const total = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
    const warmup = Math.floor(total / 5);
    let deliveries = 0;
    const url = `ws://127.0.0.1:${gateway.port}/ws`;
    // Connect in bounded batches so the connect storm is not what is measured.
    for (let i = 0; i < options.subscribers; i += 100) {
      const batch = Math.min(100, options.subscribers - i);
      await Promise.all(
        Array.from({ length: batch }, () => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          sockets.push(ws);
          return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('subscriber did not get welcome in 10 s')), 10_000);
            ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
            ws.on('error', reject);
            ws.on('message', (data: Buffer) => {
              const text = data.toString();
              if (text.startsWith('{"type":"event"')) {
                deliveries += 1;
                const at = text.indexOf('"t":');
                const n = text.indexOf('"n":');
                // The first fifth of the run warms the JIT and is not sampled.
                if (at > 0 && n > 0 && Number.parseInt(text.slice(n + 4), 10) >= warmup) {
                  latencies.push(performance.timeOrigin + performance.now() - Number.parseFloat(text.slice(at + 4)));
                }
              } else if (text.startsWith('{"type":"welcome"')) {
                clearTimeout(timer);
                resolve();
              }
            });
          });
        }),
      );
    }
    const flooder = options.flood ? startFlooder(url, token) : null;
    const pad = 'x'.repeat(Math.max(0, options.payloadBytes - 30));
    const intervalMs = 1000 / options.rate;

    const started = performance.now();
    let published = 0;
    const inflight = new Set<Promise<void>>();
    while (published < total) {
      const due = started + published * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const body = JSON.stringify({
        channel: CHANNEL,
        event_type: 'bench',
        payload: { n: published, p: pad, t: performance.timeOrigin + performance.now() },
      });
      const request = fetch(`http://127.0.0.1:${gateway.port}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body,
      }).then(async (res) => {
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`publish answered ${res.status}`);
      });
      inflight.add(request);
      void request.finally(() => inflight.delete(request));
      published += 1;
      if (inflight.size > 256) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    const expected = total * options.subscribers;
    // Drain: wait until everything arrived or 10 s passed.
    const drainUntil = performance.now() + 10_000;
    while (deliveries < expected && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
    const elapsedS = (performance.now() - started) / 1000;
    const floodFramesSent = (await flooder?.stop()) ?? 0;
    latencies.sort((a, b) => a - b);
    return {
      scenario: options.flood ? 'fanout+flood' : 'fanout',
      flood_frames_sent: floodFramesSent,
      subscribers: options.subscribers,
      rate_attempted: options.rate * options.subscribers,
      publications: total,
      deliveries_expected: expected,
      deliveries,
      lost: expected - deliveries,
      deliveries_per_s: round(deliveries / elapsedS, 0),
      latency_ms: {
        p50: round(quantile(latencies, 0.5)),
        p99: round(quantile(latencies, 0.99)),
        max: round(latencies[latencies.length - 1] ?? Number.NaN),
        samples: latencies.length,
      },
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await gateway.stop();
  }
}

/** A client that sends pings as fast as its socket accepts them, reconnecting whenever it is closed. */
function startFlooder(url: string, token: string): { stop(): Promise<number> } {
  let stopped = false;
  let sent = 0;
  let current: WebSocket | null = null;
  const loop = (async () => {
    const until = performance.now() + 120_000;
    while (!stopped && performance.now() < until) {
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
        current = ws;
        ws.on('error', () => resolve());
        ws.on('close', () => resolve());
        ws.on('open', () => {
          const pump = (): void => {
            // Bounded bursts per turn (the kernel may accept every write at once, so
            // bufferedAmount alone would never stop a synchronous loop), at most
            // 64 KiB queued: a flood, with bounded memory on our side.
            for (
              let i = 0;
              i < 200 && !stopped && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 64 * 1024;
              i++
            ) {
              ws.send('{"type":"ping","id":1}');
              sent += 1;
            }
            if (!stopped && ws.readyState === WebSocket.OPEN) setImmediate(pump);
          };
          pump();
        });
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      current?.terminate();
      await loop;
      return sent;
    },
  };
}
