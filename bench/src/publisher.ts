import { Agent, request } from 'node:http';
import type { Endpoint } from './load/messages.js';

/** Bytes of the serialised payload, `{"t":<send ms, 17 chars>,"p":"xx…"}`. */
export const PAYLOAD_BYTES = 64;
const PAD = 'x'.repeat(PAYLOAD_BYTES - 30);

/** The payload JSON stamped with the send time in ms since the Unix epoch (3 decimals). */
export function stampedPayload(nowMs: number): string {
  return `{"t":${nowMs.toFixed(3).padStart(17, '0')},"p":"${PAD}"}`;
}

export interface PublishPlan {
  /** HTTP publish calls per second. */
  callsPerSecond: number;
  calls: number;
  /** Channels of call k (one for a plain publish; several make one `channels` call). */
  channelsOf(k: number): readonly string[];
}

export interface PublishOutcome {
  calls: number;
  failed: number;
  /** Longest a call was sent after its due time (publisher falling behind shows here). */
  maxLagMs: number;
  ms: number;
  /** Body of the last answered call. */
  lastBody: string;
  firstError?: string;
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes over `POST /api/publish` at a fixed rate with at most `maxInflight` calls open. */
export class Publisher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly endpoint: Endpoint,
    private readonly adminKey: string,
    private readonly maxInflight = 64,
  ) {}

  async run(plan: PublishPlan): Promise<PublishOutcome> {
    const started = performance.now();
    const interval = 1000 / plan.callsPerSecond;
    let sent = 0;
    let failed = 0;
    let inflight = 0;
    let maxLagMs = 0;
    let lastBody = '';
    let firstError: string | undefined;
    let wake: (() => void) | null = null;
    const settle = (): void => {
      inflight--;
      const w = wake;
      wake = null;
      w?.();
    };
    while (sent < plan.calls) {
      const elapsed = performance.now() - started;
      const due = Math.min(plan.calls, Math.floor(elapsed / interval) + 1);
      while (sent < due && inflight < this.maxInflight) {
        maxLagMs = Math.max(maxLagMs, elapsed - sent * interval);
        inflight++;
        this.post(plan.channelsOf(sent)).then(
          (body) => {
            lastBody = body;
            settle();
          },
          (error: unknown) => {
            firstError ??= String(error);
            failed++;
            settle();
          },
        );
        sent++;
      }
      if (sent >= plan.calls) break;
      if (inflight >= this.maxInflight) await new Promise<void>((resolve) => (wake = resolve));
      else await sleep(Math.max(0, started + sent * interval - performance.now()));
    }
    while (inflight > 0) await new Promise<void>((resolve) => (wake = resolve));
    return { calls: sent, failed, maxLagMs, ms: performance.now() - started, lastBody, firstError };
  }

  private post(channels: readonly string[]): Promise<string> {
    const target =
      channels.length === 1 ? `"channel":${JSON.stringify(channels[0])}` : `"channels":${JSON.stringify(channels)}`;
    const body = `{${target},"event_type":"bench","payload":${stampedPayload(now())}}`;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.endpoint.host,
          port: this.endpoint.port,
          method: 'POST',
          path: '/api/publish',
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.adminKey}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode === 200) resolve(Buffer.concat(chunks).toString('utf8'));
            else reject(new Error(`publish answered ${res.statusCode}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
