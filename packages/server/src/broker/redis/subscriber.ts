import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../log/logger.js';

/** What a shard reports to its broker. */
export interface ShardHooks {
  onMessage(pubsubName: Buffer, blob: Buffer): void;
  /** The connection is back (after a loss): every channel must be resubscribed and checked. */
  onReconnect(shard: SubscriberShard): void;
  /** Redis took channels away (cluster slot migration): re-route and check them. */
  onMoved(shard: SubscriberShard): void;
}

/** Up to this many channels per SUBSCRIBE command on a standalone Redis. */
const SUBSCRIBE_BATCH = 256;

/**
 * One subscriber connection: the node's single pub/sub connection to a
 * standalone Redis, or to one master of a cluster (sharded pub/sub). It
 * multiplexes every channel the node's clients hold on that shard.
 */
export class SubscriberShard {
  readonly redis: Redis;
  /** Albatross channels whose pub/sub lives on this shard. */
  readonly channels = new Set<string>();
  /** The control pub/sub channel, when this connection carries it (resubscribed on reconnect). */
  control: string | null = null;
  /** Increments on every (re)connection; a subscribe that spans two generations is retried. */
  generation = 0;
  /** True once every channel is subscribed on the current connection. */
  synced = true;
  private everReady = false;
  /** True until the first connection is ready or the first attempt fails. */
  private firstAttempt = true;
  private closed = false;
  private lastErrorLog = 0;

  constructor(
    readonly key: string,
    options: RedisOptions,
    private readonly sharded: boolean,
    hooks: ShardHooks,
    private readonly logger: Logger,
  ) {
    this.redis = new Redis({ ...options, connectionName: 'albatross-subscriber' });
    const event = sharded ? 'smessageBuffer' : 'messageBuffer';
    this.redis.on(event, (name: Buffer, blob: Buffer) => hooks.onMessage(name, blob));
    this.redis.on('ready', () => {
      this.generation += 1;
      this.firstAttempt = false;
      if (!this.everReady) {
        this.everReady = true;
        return;
      }
      this.synced = this.channels.size === 0 && this.control === null;
      this.logger.info({ shard: this.key, channels: this.channels.size }, 'redis subscriber reconnected');
      hooks.onReconnect(this);
    });
    this.redis.on('close', () => {
      this.firstAttempt = false;
      if (this.closed) return;
      if (this.channels.size > 0 || this.control !== null) this.synced = false;
      this.logger.warn({ shard: this.key }, 'redis subscriber connection lost');
    });
    this.redis.on('moved', () => hooks.onMoved(this));
    this.redis.on('error', (error: Error) => {
      const now = Date.now();
      if (now - this.lastErrorLog < 5000) return;
      this.lastErrorLog = now;
      this.logger.warn({ shard: this.key, err: error.message }, 'redis subscriber error');
    });
  }

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Healthy: connected and every channel subscribed. A shard making its very
   * first connection (cluster shards are created when a channel first lands
   * on their master) is not down: counting it down made the node refuse every
   * upgrade with 503 and fail `/ready` for as long as that connect took, on
   * a healthy Redis. Once a connection attempt failed, or a connection was
   * lost, it is down until it is back.
   */
  get up(): boolean {
    return this.synced && (this.ready || this.firstAttempt);
  }

  connect(): void {
    this.redis.connect().catch(() => {
      // Failures surface through 'error'; the retry strategy keeps trying.
    });
  }

  async subscribe(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    if (this.sharded) {
      // SSUBSCRIBE takes channels of one slot per call: one call per channel.
      await Promise.all(names.map((name) => this.redis.ssubscribe(name)));
      return;
    }
    for (let i = 0; i < names.length; i += SUBSCRIBE_BATCH) {
      await this.redis.subscribe(...names.slice(i, i + SUBSCRIBE_BATCH));
    }
  }

  async unsubscribe(name: string): Promise<void> {
    if (!this.ready) return; // a lost connection holds no subscriptions
    if (this.sharded) await this.redis.sunsubscribe(name);
    else await this.redis.unsubscribe(name);
  }

  close(): void {
    this.closed = true;
    this.redis.disconnect();
  }
}
