import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CloseCode } from '@albatross/protocol';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CoalescerStats } from '../outbound/coalescer.js';

const PROTOCOL_CLOSE_CODES: ReadonlySet<number> = new Set(Object.values(CloseCode));

/**
 * The `code` label of a close: RFC 6455 codes (below 3000: a handful) and
 * the protocol's own as they are; any other code (3000-4999, which a client
 * may choose freely) is `other`, so clients cannot mint label values.
 */
export function closeCodeLabel(code: number): string {
  return code < 3000 || PROTOCOL_CLOSE_CODES.has(code) ? String(code) : 'other';
}

// Resolution of the event-loop delay monitors, ms.
const LOOP_DELAY_RESOLUTION_MS = 20;
// /health reports the event-loop p99 over the current window and the one before (10-20 s).
const HEALTH_WINDOW_MS = 10_000;

/**
 * Hot-path counters are plain numbers, bumped without label lookups; the
 * Prometheus families read them at scrape time. Labels stay bounded: never a
 * channel or user id, tenant only when explicitly enabled.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  deliveries = 0;
  bytesOut = 0;
  bytesIn = 0;
  publications = 0;
  private readonly framesIn = new Map<string, number>();
  private readonly framesOut = new Map<string, number>();
  readonly connects: Counter<'kind'>;
  private readonly disconnects: Counter<'code'>;
  readonly authFailures: Counter<'reason'>;
  readonly rateLimited: Counter;
  readonly slowConsumerCloses: Counter;
  readonly refusedUpgrades: Counter<'code'>;
  readonly publishToSend: Histogram;
  /** Event-loop delay since the previous scrape (reset by each /metrics scrape). */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  /**
   * Event-loop delay for /health, in windows of its own: a scrape must not
   * hide real lag from /health, nor /health from a scrape.
   */
  private readonly healthLoopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  private previousHealthP99Ns = 0;
  private readonly healthWindow: NodeJS.Timeout;

  constructor(sources: {
    connectionStates(): Record<string, number>;
    subscriptions(): number;
    tenantConnections?(): Map<string, number>;
    /** Open sockets of the HTTP server whose upgrade (if any) has not arrived yet. */
    notUpgradedSockets?(): number;
    /** The write coalescer's counters (absent when coalescing is off). */
    coalescer?(): CoalescerStats;
  }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'albatross_' });
    this.loopDelay.enable();
    this.healthLoopDelay.enable();
    this.healthWindow = setInterval(() => {
      this.previousHealthP99Ns = this.healthLoopDelay.percentile(99);
      this.healthLoopDelay.reset();
    }, HEALTH_WINDOW_MS);
    this.healthWindow.unref();
    new Gauge({
      name: 'albatross_connections',
      help: 'Open WebSocket connections by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const [state, count] of Object.entries(sources.connectionStates())) this.set({ state }, count);
      },
    });
    const tenantConnections = sources.tenantConnections;
    if (tenantConnections) {
      new Gauge({
        name: 'albatross_tenant_connections',
        help: 'Authenticated connections per tenant (--metrics-tenant-label)',
        labelNames: ['tenant'],
        registers,
        collect() {
          this.reset();
          for (const [tenant, count] of tenantConnections()) this.set({ tenant }, count);
        },
      });
    }
    const notUpgradedSockets = sources.notUpgradedSockets;
    if (notUpgradedSockets) {
      new Gauge({
        name: 'albatross_http_sockets_not_upgraded',
        help: 'Open sockets of the HTTP server that are not WebSocket connections: requests in progress, idle keep-alive sockets, and upgrade requests whose head is not complete (slow or stalled clients show here)',
        registers,
        collect() {
          this.set(notUpgradedSockets());
        },
      });
    }
    new Gauge({
      name: 'albatross_subscriptions',
      help: 'Channel subscriptions held by connections on this node',
      registers,
      collect() {
        this.set(sources.subscriptions());
      },
    });
    const counterOf = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    counterOf(
      'albatross_publications_total',
      'Publications received by this node for local subscribers',
      () => this.publications,
    );
    counterOf('albatross_deliveries_total', 'Events sent to connections', () => this.deliveries);
    counterOf('albatross_bytes_out_total', 'Bytes of frames sent to connections', () => this.bytesOut);
    counterOf('albatross_bytes_in_total', 'Bytes of frames received from connections', () => this.bytesIn);
    const framesOf = (name: string, help: string, map: Map<string, number>): void => {
      new Counter({
        name,
        help,
        labelNames: ['type'],
        registers,
        collect() {
          this.reset();
          for (const [type, count] of map) this.inc({ type }, count);
        },
      });
    };
    const coalescer = sources.coalescer;
    if (coalescer) {
      counterOf(
        'albatross_coalesced_writes_total',
        'Socket writes made by the write coalescer (one per socket per flush)',
        () => coalescer().writes,
      );
      counterOf(
        'albatross_coalesced_frames_total',
        'Frames carried by those writes (frames per write = this / albatross_coalesced_writes_total)',
        () => coalescer().frames,
      );
      counterOf(
        'albatross_coalesce_flushes_total',
        'Coalesced flushes that wrote at least one socket',
        () => coalescer().flushes,
      );
      counterOf(
        'albatross_coalesce_flush_seconds_total',
        'Time spent in those flushes (its rate is the share of a core the socket writes take; over albatross_coalesce_flushes_total, the mean flush)',
        () => coalescer().flushMs / 1000,
      );
      new Gauge({
        name: 'albatross_coalesce_frames_per_write',
        help: 'Frames per socket write in the most recent coalesced flush',
        registers,
        collect() {
          this.set(coalescer().lastFramesPerWrite);
        },
      });
      new Gauge({
        name: 'albatross_coalesce_delay_seconds',
        help: 'Current load-adaptive hold before the next coalesced flush (0 at light load; at most --coalesce-max-delay-ms)',
        registers,
        collect() {
          this.set(coalescer().holdMs / 1000);
        },
      });
    }
    framesOf('albatross_frames_in_total', 'Client frames received, by type', this.framesIn);
    framesOf('albatross_frames_out_total', 'Frames sent, by type', this.framesOut);
    this.connects = new Counter({
      name: 'albatross_connects_total',
      help: 'Authenticated connections, by credential kind',
      labelNames: ['kind'],
      registers,
    });
    this.disconnects = new Counter({
      name: 'albatross_disconnects_total',
      help: 'Closed connections, by close code',
      labelNames: ['code'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'albatross_auth_failures_total',
      help: 'Failed authentications, by reason code',
      labelNames: ['reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'albatross_rate_limited_total',
      help: 'Client frames refused by the rate limit',
      registers,
    });
    this.slowConsumerCloses = new Counter({
      name: 'albatross_slow_consumer_closes_total',
      help: 'Connections closed 4009 for exceeding the outbound buffer budget',
      registers,
    });
    this.refusedUpgrades = new Counter({
      name: 'albatross_refused_upgrades_total',
      help: 'WebSocket upgrades refused before the handshake, by error code',
      labelNames: ['code'],
      registers,
    });
    this.publishToSend = new Histogram({
      name: 'albatross_publish_to_send_seconds',
      help: 'Time from publish to handing the event to local sockets (one observation per publication per node)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const loopDelay = this.loopDelay;
    new Gauge({
      name: 'albatross_event_loop_lag_p99_seconds',
      help: 'p99 event-loop delay since the previous scrape',
      registers,
      collect() {
        this.set(loopDelay.percentile(99) / 1e9);
        loopDelay.reset();
      },
    });
  }

  /** Counts one client frame by type (bytes are counted where the frame arrives). */
  frameIn(type: string): void {
    this.framesIn.set(type, (this.framesIn.get(type) ?? 0) + 1);
  }

  frameOut(type: string): void {
    this.framesOut.set(type, (this.framesOut.get(type) ?? 0) + 1);
  }

  /** Counts one closed connection by its close code (see {@link closeCodeLabel}). */
  disconnected(code: number): void {
    this.disconnects.inc({ code: closeCodeLabel(code) });
  }

  /** p99 event-loop delay over the last 10-20 s, in ms, for /health; independent of /metrics scrapes. */
  eventLoopP99Ms(): number {
    return Math.max(this.previousHealthP99Ns, this.healthLoopDelay.percentile(99)) / 1e6;
  }

  stop(): void {
    clearInterval(this.healthWindow);
    this.loopDelay.disable();
    this.healthLoopDelay.disable();
    this.registry.clear();
  }
}
