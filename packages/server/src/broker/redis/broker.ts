import { randomUUID } from 'node:crypto';
import type { PublishResult, StreamPosition } from '@albatross/protocol';
import type { Cluster, RedisOptions } from 'ioredis';
import { AlbatrossError } from '../../errors.js';
import { type Logger, silentLogger } from '../../log/logger.js';
import { newEpoch } from '../epoch.js';
import type {
  Broker,
  BrokerPublication,
  ControlMessage,
  HealthCheck,
  HistoryPage,
  IdempotencyStore,
  PublishInput,
  Recovery,
} from '../types.js';
import {
  baseOptions,
  type CommandClient,
  createCommandClient,
  credentialsOf,
  FailureLog,
  LuaScript,
  type RedisConnectionOptions,
  redisError,
  whenReady,
} from './client.js';
import { RedisConnectionCounter } from './connection-counter.js';
import { RedisIdempotencyStore } from './idempotency.js';
import { RedisKeys, slotOf } from './keys.js';
import { framePieces, parsePublication } from './message.js';
import { PUBLISH_LUA, READ_LUA } from './scripts.js';
import { type ShardHooks, SubscriberShard } from './subscriber.js';

/** Options of {@link RedisBroker}; defaults match the gateway's. */
export interface RedisBrokerOptions extends RedisConnectionOptions {
  /** Prefix of every key and pub/sub channel (default `albatross:`). */
  keyPrefix?: string;
  /** Publications recoverable per channel (default 1000). */
  historySize?: number;
  /** Longest a publication stays recoverable, ms (default 10 minutes); also the stream's TTL. */
  historyTtlMs?: number;
  /**
   * How long an unused channel keeps its epoch and offset, ms (default 24 h).
   * A channel that was never published keeps them only
   * min(`historyTtlMs`, this) after its last read (like the memory broker),
   * at least 3 × `checkIntervalMs` so channels held by a node stay known.
   */
  channelIdleTtlMs?: number;
  /** How long `start` waits for Redis, ms (default 10 s). */
  startTimeoutMs?: number;
  /**
   * Every this many ms the node compares each subscribed channel's position
   * with what it delivered (catches a lost last message, keeps metas alive).
   * Default 30 s; 0 disables.
   */
  checkIntervalMs?: number;
  /** How long a node keeps trying to fill a gap from the stream before letting it through, ms (default 10 s). */
  recoveryTimeoutMs?: number;
  /** Stream reads running at once when many channels need checking (default 32). */
  recoveryConcurrency?: number;
  /**
   * Bytes of live publications this node may hold queued, over all channels,
   * while catch-ups fill gaps from the stream (default 64 MiB). Past it the
   * channel whose queue grew is let through as a gap (its connections send
   * `gap`), like past 100,000 queued messages on one channel.
   */
  maxPendingBytes?: number;
  /** This node's id in shared state (connection leases); default a random UUID. */
  nodeId?: string;
  /** Connection-count lease, ms: a crashed node's connections stop counting after this (default 30 s). */
  connectionLeaseMs?: number;
  logger?: Logger;
}

/** What the node knows about one channel it subscribes to. */
interface ChannelSync {
  readonly channel: string;
  readonly shard: SubscriberShard;
  /** Position of the last publication handed to the hub (null until the baseline is read). */
  epoch: string | null;
  offset: number;
  /** While true, live messages queue in `pending` (a baseline, recovery or check is running). */
  busy: boolean;
  draining: boolean;
  needsCheck: boolean;
  pending: BrokerPublication[];
  /** Bytes of the frames in `pending`. */
  pendingBytes: number;
  closed: boolean;
}

interface ReadResult {
  position: StreamPosition;
  recovered: boolean;
  publications: BrokerPublication[];
}

const PUBLISH = new LuaScript('publish', PUBLISH_LUA);
const READ = new LuaScript('read', READ_LUA);
/** Past this many queued live messages on one channel, a stuck recovery gives up and lets the gap through. */
const MAX_PENDING = 100_000;
/** Default of {@link RedisBrokerOptions.maxPendingBytes}. */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

/**
 * {@link Broker} on Redis (standalone or Cluster), for several gateway nodes.
 *
 * - Publish is one Lua script per channel: bump the offset in the channel's
 *   meta hash (a missing meta starts a new epoch), append the frame to the
 *   channel's stream (`MAXLEN ~`, TTL refreshed) and PUBLISH/SPUBLISH it.
 * - One subscriber connection per node (per master in a cluster) carries
 *   every channel the node's clients hold.
 * - The node tracks, per channel, the last offset it handed to the hub. An
 *   offset jump or epoch change on pub/sub, a reconnection of the subscriber
 *   connection and a periodic check all read the missed range from the stream
 *   and deliver it in order; live messages arriving meanwhile wait and are
 *   merged by offset. Only a range the stream no longer holds is let through
 *   as a jump, which the connection turns into a `gap` frame.
 * - Every call is bounded by a command timeout and fails with UNAVAILABLE
 *   while Redis is unreachable (no offline queue); `health()` is `down` then.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis';
  readonly idempotency: IdempotencyStore;
  readonly connectionCounter: RedisConnectionCounter;
  readonly keys: RedisKeys;
  readonly mode: 'standalone' | 'cluster';
  private readonly client: CommandClient;
  private readonly nodeOptions: RedisOptions;
  private readonly shards = new Map<string, SubscriberShard>();
  private readonly channels = new Map<string, ChannelSync>();
  private readonly historySize: number;
  private readonly historyTtlMs: number;
  private readonly channelIdleTtlMs: number;
  /** Meta TTL of a channel that was never published (see {@link RedisBrokerOptions.channelIdleTtlMs}). */
  private readonly unpublishedTtlMs: number;
  private readonly startTimeoutMs: number;
  private readonly checkIntervalMs: number;
  private readonly recoveryTimeoutMs: number;
  private readonly maxPendingBytes: number;
  /** Bytes queued in every channel's `pending`. */
  private pendingBytes = 0;
  private readonly logger: Logger;
  private readonly failures: FailureLog;
  private readonly limiter: Limiter;
  private readonly hooks: ShardHooks;
  private readonly controlName: Buffer;
  private onPublication: ((publication: BrokerPublication) => void) | null = null;
  private onControl: ((message: ControlMessage) => void) | null = null;
  /** The subscriber connection that carries control messages (set by `start`). */
  private controlShard: SubscriberShard | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private clientEverReady = false;
  private closed = false;
  private lastErrorLog = 0;
  /** Counters for health and tests. */
  readonly stats = { recovered: 0, gapsLetThrough: 0, checks: 0, resubscribes: 0 };

  constructor(options: RedisBrokerOptions) {
    this.mode = options.cluster ? 'cluster' : 'standalone';
    this.keys = new RedisKeys(options.keyPrefix ?? 'albatross:');
    this.historySize = options.historySize ?? 1000;
    this.historyTtlMs = options.historyTtlMs ?? 10 * 60_000;
    this.channelIdleTtlMs = options.channelIdleTtlMs ?? 24 * 60 * 60_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.checkIntervalMs = options.checkIntervalMs ?? 30_000;
    this.recoveryTimeoutMs = options.recoveryTimeoutMs ?? 10_000;
    this.maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    // A node's periodic check refreshes the metas of the channels it holds:
    // never let an unpublished but held channel expire between two checks.
    this.unpublishedTtlMs = Math.max(Math.min(this.historyTtlMs, this.channelIdleTtlMs), 3 * this.checkIntervalMs);
    this.logger = (options.logger ?? silentLogger).child({ broker: 'redis' });
    this.failures = new FailureLog(this.logger);
    this.limiter = new Limiter(options.recoveryConcurrency ?? 32);
    this.client = createCommandClient(options);
    this.nodeOptions = { ...baseOptions(options), ...credentialsOf(options.url) };
    this.client.on('error', (error: Error) => this.logError('redis command connection error', error));
    this.client.on('ready', () => {
      if (this.clientEverReady) {
        this.logger.info({}, 'redis command connection back');
        this.connectionCounter.markDirty();
      }
      this.clientEverReady = true;
    });
    this.idempotency = new RedisIdempotencyStore(this.client, this.keys, this.logger);
    this.connectionCounter = new RedisConnectionCounter(this.client, this.keys, {
      nodeId: options.nodeId ?? randomUUID(),
      leaseMs: options.connectionLeaseMs ?? 30_000,
      logger: this.logger,
    });
    this.controlName = Buffer.from(this.keys.control(), 'utf8');
    this.hooks = {
      onMessage: (name, blob) => this.onMessage(name, blob),
      onReconnect: (shard) => void this.resync(shard),
      onMoved: (shard) => void this.rehome(shard),
    };
  }

  async start(
    onPublication: (publication: BrokerPublication) => void,
    onControl?: (message: ControlMessage) => void,
  ): Promise<void> {
    this.onPublication = onPublication;
    this.onControl = onControl ?? null;
    this.client.connect().catch(() => {
      // surfaced by whenReady and 'error'
    });
    try {
      await whenReady(this.client, this.startTimeoutMs, 'command connection');
      // Control messages ride the subscriber connection of their own slot
      // (the standalone connection, or the master owning `{!control}`).
      const shard = this.shardForPubsub(this.keys.control());
      await whenReady(shard.redis, this.startTimeoutMs, 'subscriber connection');
      shard.control = this.keys.control();
      await shard.subscribe([shard.control]);
      this.controlShard = shard;
    } catch (error) {
      await this.close(); // stop reconnecting in the background
      // At startup, to the operator: say what did not connect.
      const cause = error instanceof AlbatrossError && error.cause instanceof Error ? error.cause : error;
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new AlbatrossError('UNAVAILABLE', `Redis unavailable: ${detail}`, { cause: error });
    }
    if (this.checkIntervalMs > 0) {
      this.checkTimer = setInterval(() => this.checkAll(), this.checkIntervalMs);
      this.checkTimer.unref();
    }
    this.connectionCounter.start();
  }

  // --- publishing and reading ---------------------------------------------

  async publish(channel: string, input: PublishInput): Promise<PublishResult> {
    this.assertOpen();
    const { head, middle, tail } = framePieces(channel, input.eventType, input.payloadJson, input.metaJson);
    try {
      const reply = (await PUBLISH.run(
        this.client,
        [this.keys.meta(channel), this.keys.stream(channel)],
        [
          this.keys.pubsub(channel),
          newEpoch(),
          head,
          middle,
          tail,
          this.historySize,
          this.historyTtlMs,
          Math.max(this.channelIdleTtlMs, this.historyTtlMs),
          this.mode === 'cluster' ? 'SPUBLISH' : 'PUBLISH',
        ],
      )) as [number, string, string];
      return { channel, offset: Number(reply[0]), epoch: String(reply[1]) };
    } catch (error) {
      throw redisError(error, `publish to ${channel}`, this.failures);
    }
  }

  async position(channel: string): Promise<StreamPosition> {
    this.assertOpen();
    return (await this.read(channel, 'p', '', 0, 0)).position;
  }

  async recover(channel: string, since: StreamPosition): Promise<Recovery> {
    this.assertOpen();
    return this.read(channel, 'r', since.epoch, since.offset, 0);
  }

  async history(channel: string, sinceOffset: number, limit: number): Promise<HistoryPage> {
    this.assertOpen();
    const result = await this.read(channel, 'h', '', Math.max(0, sinceOffset), Math.max(0, limit));
    return { position: result.position, publications: result.publications };
  }

  private async read(
    channel: string,
    mode: 'p' | 'r' | 'h',
    sinceEpoch: string,
    sinceOffset: number,
    limit: number,
  ): Promise<ReadResult> {
    let reply: unknown[];
    try {
      reply = (await READ.runBuffer(
        this.client,
        [this.keys.meta(channel), this.keys.stream(channel)],
        [
          mode,
          newEpoch(),
          Math.max(this.channelIdleTtlMs, this.historyTtlMs),
          this.historySize,
          this.historyTtlMs,
          sinceEpoch,
          sinceOffset,
          limit,
          this.unpublishedTtlMs,
        ],
      )) as unknown[];
    } catch (error) {
      throw redisError(error, `read ${channel}`, this.failures);
    }
    const position = { epoch: String(reply[0]), offset: Number(reply[1]) };
    if (mode === 'p') return { position, recovered: false, publications: [] };
    const recovered = Number(reply[2]) === 1;
    const publications: BrokerPublication[] = [];
    for (let i = 3; i < reply.length; i++) {
      const publication = parsePublication(channel, reply[i] as Buffer);
      if (publication) publications.push(publication);
    }
    return { position, recovered, publications };
  }

  // --- node-level subscriptions -------------------------------------------

  async subscribe(channel: string): Promise<void> {
    this.assertOpen();
    const shard = this.shardFor(channel);
    const sync: ChannelSync = {
      channel,
      shard,
      epoch: null,
      offset: 0,
      busy: true,
      draining: false,
      needsCheck: false,
      pending: [],
      pendingBytes: 0,
      closed: false,
    };
    const previous = this.channels.get(channel);
    if (previous) {
      previous.closed = true;
      this.dropQueue(previous);
    }
    this.channels.set(channel, sync);
    shard.channels.add(channel);
    try {
      // The address stays in the log (whenReady keeps it on `cause`), never in the client's message.
      if (!shard.ready) await whenReady(shard.redis, 2000, `subscriber connection ${shard.key}`);
      const generation = shard.generation;
      await shard.subscribe([this.keys.pubsub(channel)]);
      // Released while we were subscribing (its unsubscribe could not reach
      // Redis then): undo the subscription unless someone took the channel again.
      if (sync.closed && !this.channels.has(channel)) {
        await shard.unsubscribe(this.keys.pubsub(channel)).catch(() => undefined);
        return;
      }
      // Baseline after the subscription took effect: anything later arrives on pub/sub.
      const { position } = await this.read(channel, 'p', '', 0, 0);
      if (shard.generation !== generation) {
        throw new AlbatrossError('UNAVAILABLE', 'Redis subscriber reconnected while subscribing; retry');
      }
      if (sync.closed) return;
      sync.epoch = position.epoch;
      sync.offset = position.offset;
    } catch (error) {
      if (this.channels.get(channel) === sync) {
        sync.closed = true;
        this.dropQueue(sync);
        this.channels.delete(channel);
        shard.channels.delete(channel);
        shard.unsubscribe(this.keys.pubsub(channel)).catch(() => {});
      }
      throw redisError(error, `subscribe ${channel}`, this.failures);
    }
    this.drain(sync);
  }

  async unsubscribe(channel: string): Promise<void> {
    const sync = this.channels.get(channel);
    if (!sync) return;
    sync.closed = true;
    this.dropQueue(sync);
    this.channels.delete(channel);
    sync.shard.channels.delete(channel);
    if (this.closed) return;
    try {
      await sync.shard.unsubscribe(this.keys.pubsub(channel));
    } catch (error) {
      // The subscription dies with the connection anyway; a reconnect resubscribes only held channels.
      this.logger.debug({ channel, err: (error as Error).message }, 'unsubscribe failed');
    }
  }

  private shardFor(channel: string): SubscriberShard {
    return this.shardForPubsub(this.keys.meta(channel));
  }

  /** The subscriber connection serving the slot of `key`. */
  private shardForPubsub(key: string): SubscriberShard {
    if (this.mode === 'standalone') return this.shardByKey('standalone');
    const slots = (this.client as Cluster).slots;
    const master = slots[slotOf(key)]?.[0];
    if (master === undefined) throw new AlbatrossError('UNAVAILABLE', 'Redis cluster slots not known yet');
    return this.shardByKey(master);
  }

  // --- control messages ---------------------------------------------------

  async broadcast(message: ControlMessage): Promise<void> {
    this.assertOpen();
    const command = this.mode === 'cluster' ? 'spublish' : 'publish';
    try {
      await this.client[command](this.keys.control(), JSON.stringify(message));
    } catch (error) {
      throw redisError(error, 'broadcast a control message', this.failures);
    }
  }

  private onControlMessage(blob: Buffer): void {
    let message: ControlMessage;
    try {
      message = JSON.parse(blob.toString('utf8')) as ControlMessage;
    } catch {
      this.logger.warn({}, 'malformed control message ignored');
      return;
    }
    if (message === null || typeof message !== 'object' || message.kind !== 'disconnect') {
      this.logger.warn({}, 'unknown control message ignored');
      return;
    }
    try {
      this.onControl?.(message);
    } catch (error) {
      this.logger.error({ err: error }, 'control handler failed');
    }
  }

  private shardByKey(key: string): SubscriberShard {
    let shard = this.shards.get(key);
    if (shard) return shard;
    let options = this.nodeOptions;
    if (this.mode === 'standalone') {
      options = {
        ...(this.client as { options: RedisOptions }).options,
        ...this.nodeOptions,
        enableAutoPipelining: false,
      };
    } else {
      const colon = key.lastIndexOf(':');
      options = { ...this.nodeOptions, host: key.slice(0, colon), port: Number(key.slice(colon + 1)) };
    }
    shard = new SubscriberShard(key, options, this.mode === 'cluster', this.hooks, this.logger);
    this.shards.set(key, shard);
    shard.connect();
    return shard;
  }

  // --- live delivery and gap recovery -------------------------------------

  private onMessage(name: Buffer, blob: Buffer): void {
    if (this.controlShard !== null && name.equals(this.controlName)) {
      this.onControlMessage(blob);
      return;
    }
    const channel = this.keys.channelOf(name);
    if (channel === null) return;
    const sync = this.channels.get(channel);
    if (!sync || sync.closed) return;
    const publication = parsePublication(channel, blob);
    if (!publication) {
      this.logger.warn({ channel }, 'malformed publication on pub/sub ignored');
      return;
    }
    if (sync.busy) {
      this.enqueue(sync, publication);
      if (sync.pending.length > MAX_PENDING) this.letThrough(sync, 'too many messages queued during recovery');
      else if (this.pendingBytes > this.maxPendingBytes) this.letThrough(sync, 'too many bytes queued during recovery');
      return;
    }
    if (this.accept(sync, publication)) return;
    this.enqueue(sync, publication);
    sync.busy = true;
    this.drain(sync);
  }

  /** Queues a live message behind a catch-up, counting its bytes. */
  private enqueue(sync: ChannelSync, publication: BrokerPublication): void {
    sync.pending.push(publication);
    sync.pendingBytes += publication.data.length;
    this.pendingBytes += publication.data.length;
  }

  /** Removes the first queued message. */
  private dequeue(sync: ChannelSync): void {
    const publication = sync.pending.shift();
    if (!publication) return;
    sync.pendingBytes -= publication.data.length;
    this.pendingBytes -= publication.data.length;
  }

  /** Empties a channel's queue; returns what it held. */
  private dropQueue(sync: ChannelSync): BrokerPublication[] {
    const queued = sync.pending;
    this.pendingBytes -= sync.pendingBytes;
    sync.pending = [];
    sync.pendingBytes = 0;
    return queued;
  }

  /** Delivers `publication` if it is the next one (or drops a duplicate); false when something is missing before it. */
  private accept(sync: ChannelSync, publication: BrokerPublication): boolean {
    if (publication.epoch === sync.epoch) {
      if (publication.offset <= sync.offset) return true;
      if (publication.offset !== sync.offset + 1) return false;
    } else if (publication.offset !== 1) {
      return false;
    }
    sync.epoch = publication.epoch;
    sync.offset = publication.offset;
    this.emit(publication);
    return true;
  }

  private emit(publication: BrokerPublication): void {
    try {
      this.onPublication?.(publication);
    } catch (error) {
      this.logger.error({ err: error, channel: publication.channel }, 'publication handler failed');
    }
  }

  /** Runs the channel's catch-up loop unless it is running already. */
  private drain(sync: ChannelSync): void {
    if (sync.draining || sync.closed) return;
    if (!sync.needsCheck && this.tryFastDrain(sync)) {
      sync.busy = false;
      return;
    }
    sync.busy = true;
    sync.draining = true;
    this.limiter
      .run(() => this.catchUp(sync))
      .catch((error: unknown) => this.logger.error({ err: error, channel: sync.channel }, 'catch-up failed'))
      .finally(() => {
        sync.draining = false;
        if (sync.closed) return;
        if (sync.needsCheck || sync.pending.length > 0) this.drain(sync);
        else sync.busy = false;
      });
  }

  /** Delivers queued messages that need no stream read; true when the queue emptied. */
  private tryFastDrain(sync: ChannelSync): boolean {
    while (sync.pending.length > 0) {
      const next = sync.pending[0] as BrokerPublication;
      if (!this.accept(sync, next)) return false;
      this.dequeue(sync);
    }
    return true;
  }

  private async catchUp(sync: ChannelSync): Promise<void> {
    const deadline = Date.now() + this.recoveryTimeoutMs;
    let attempt = 0;
    while (!sync.closed && !this.closed) {
      try {
        if (sync.needsCheck) {
          sync.needsCheck = false;
          try {
            await this.check(sync);
          } catch (error) {
            sync.needsCheck = true;
            throw error;
          }
        }
        while (sync.pending.length > 0 && !sync.closed) {
          const next = sync.pending[0] as BrokerPublication;
          if (this.accept(sync, next)) {
            this.dequeue(sync);
            continue;
          }
          await this.fill(sync, next);
        }
        if (!sync.needsCheck) return;
      } catch (error) {
        attempt += 1;
        if (Date.now() >= deadline) {
          this.letThrough(sync, `stream unreadable: ${(error as Error).message}`);
          return;
        }
        await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  }

  /** Reads what is missing before `next` from the stream and delivers it; skips ahead when it is gone. */
  private async fill(sync: ChannelSync, next: BrokerPublication): Promise<void> {
    const base = next.epoch === sync.epoch ? sync.offset : 0;
    const result = await this.read(sync.channel, 'r', next.epoch, base, 0);
    if (sync.closed) return;
    if (next.epoch !== sync.epoch) {
      sync.epoch = next.epoch;
      sync.offset = 0;
    }
    if (result.recovered) {
      this.stats.recovered += 1;
      this.deliverRun(sync, result.publications);
    }
    if (sync.offset < next.offset - 1) {
      this.stats.gapsLetThrough += 1;
      this.logger.warn(
        { channel: sync.channel, from: sync.offset, to: next.offset },
        'gap not in history: let through',
      );
      sync.offset = next.offset - 1;
    }
  }

  /** Compares the channel's position in Redis with what was delivered and catches up. */
  private async check(sync: ChannelSync): Promise<void> {
    if (sync.epoch === null) return;
    this.stats.checks += 1;
    const result = await this.read(sync.channel, 'r', sync.epoch, sync.offset, 0);
    if (sync.closed) return;
    if (result.recovered) {
      if (result.publications.length > 0) this.stats.recovered += 1;
      this.deliverRun(sync, result.publications);
      return;
    }
    const position = result.position;
    if (position.epoch === sync.epoch) {
      if (position.offset < sync.offset) return; // pub/sub is ahead of this read: nothing missing
      this.stats.gapsLetThrough += 1;
      this.logger.warn({ channel: sync.channel, from: sync.offset, to: position.offset }, 'gap not in history');
      sync.offset = position.offset;
      return;
    }
    // A new epoch (Redis lost the channel): what came before is gone, the
    // connections will send `gap`; replay what the new epoch already holds.
    this.logger.warn({ channel: sync.channel, epoch: position.epoch }, 'channel reset: new epoch');
    sync.epoch = position.epoch;
    sync.offset = 0;
    if (position.offset === 0) return;
    const fresh = await this.read(sync.channel, 'r', position.epoch, 0, 0);
    if (sync.closed) return;
    if (fresh.recovered && fresh.position.epoch === position.epoch) this.deliverRun(sync, fresh.publications);
    else sync.offset = fresh.position.epoch === position.epoch ? fresh.position.offset : 0;
  }

  private deliverRun(sync: ChannelSync, publications: readonly BrokerPublication[]): void {
    for (const publication of publications) {
      if (publication.epoch === sync.epoch && publication.offset === sync.offset + 1) {
        sync.offset = publication.offset;
        this.emit(publication);
      }
    }
  }

  /** Gives up filling: hands queued messages over as they are (connections send `gap`). */
  private letThrough(sync: ChannelSync, reason: string): void {
    this.stats.gapsLetThrough += 1;
    this.logger.warn({ channel: sync.channel, reason, queued: sync.pending.length }, 'gap let through');
    const queued = this.dropQueue(sync);
    sync.needsCheck = false;
    for (const publication of queued) {
      if (publication.epoch === sync.epoch && publication.offset <= sync.offset) continue;
      sync.epoch = publication.epoch;
      sync.offset = publication.offset;
      this.emit(publication);
    }
  }

  /** After a subscriber reconnection: resubscribe every channel of the shard, then check each. */
  private async resync(shard: SubscriberShard): Promise<void> {
    if (this.closed) return;
    this.stats.resubscribes += 1;
    const generation = shard.generation;
    const syncs = [...this.channels.values()].filter((s) => s.shard === shard && s.epoch !== null && !s.closed);
    for (const sync of syncs) sync.busy = true;
    if (this.mode === 'cluster') await this.refreshSlots();
    const moved = syncs.filter((s) => this.mode === 'cluster' && this.targetKey(s.channel) !== shard.key);
    const names = syncs.filter((s) => !moved.includes(s)).map((s) => this.keys.pubsub(s.channel));
    if (shard.control !== null) names.push(shard.control);
    try {
      await shard.subscribe(names);
    } catch (error) {
      this.logError('resubscribe failed', error as Error);
      if (shard.ready && shard.generation === generation && !this.closed) {
        setTimeout(() => void this.resync(shard), 500).unref();
      }
      return;
    }
    if (shard.generation !== generation) return; // reconnected again: that resync takes over
    shard.synced = true;
    for (const sync of moved) void this.move(sync);
    for (const sync of syncs) {
      if (moved.includes(sync)) continue;
      sync.needsCheck = true;
      this.drain(sync);
    }
  }

  /** A cluster slot moved away from `shard`: re-home the channels it no longer serves. */
  private async rehome(shard: SubscriberShard): Promise<void> {
    if (this.closed || this.mode !== 'cluster') return;
    await this.refreshSlots();
    for (const sync of [...this.channels.values()]) {
      if (sync.shard === shard && this.targetKey(sync.channel) !== shard.key) void this.move(sync);
    }
  }

  /** Subscribes a channel on its new shard and checks it. */
  private async move(sync: ChannelSync): Promise<void> {
    if (sync.closed) return;
    const moved: ChannelSync = { ...sync, shard: this.shardFor(sync.channel), busy: true, draining: false };
    sync.closed = true;
    // The queue (and its byte count) now belongs to `moved` alone.
    sync.pending = [];
    sync.pendingBytes = 0;
    sync.shard.channels.delete(sync.channel);
    this.channels.set(sync.channel, moved);
    moved.shard.channels.add(sync.channel);
    try {
      if (!moved.shard.ready) await whenReady(moved.shard.redis, this.startTimeoutMs, moved.shard.key);
      await moved.shard.subscribe([this.keys.pubsub(sync.channel)]);
    } catch (error) {
      this.logError('re-homing a channel failed', error as Error);
    }
    moved.needsCheck = true;
    this.drain(moved);
  }

  private targetKey(channel: string): string | undefined {
    return (this.client as Cluster).slots[slotOf(this.keys.meta(channel))]?.[0];
  }

  private refreshSlots(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      (this.client as Cluster).refreshSlotsCache(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Periodic check of every idle channel (lost last message, meta TTL refresh). */
  private checkAll(): void {
    if (this.closed || this.client.status !== 'ready') return;
    for (const sync of this.channels.values()) {
      if (sync.busy || sync.epoch === null || !sync.shard.up) continue;
      sync.needsCheck = true;
      this.drain(sync);
    }
  }

  // --- lifecycle ----------------------------------------------------------

  async health(): Promise<HealthCheck> {
    const shards = [...this.shards.values()];
    const commandsUp = this.client.status === 'ready';
    const shardsDown = shards.filter((shard) => !shard.up).map((shard) => shard.key);
    const status = this.closed || !commandsUp || shardsDown.length > 0 ? 'down' : 'ok';
    return {
      status,
      mode: this.mode,
      commands: this.client.status,
      subscribers: shards.length,
      ...(shardsDown.length > 0 ? { subscribers_down: shardsDown } : {}),
      channels: this.channels.size,
      recovering: [...this.channels.values()].filter((s) => s.busy).length,
      pending_bytes: this.pendingBytes,
      ...this.stats,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    for (const sync of this.channels.values()) {
      sync.closed = true;
      this.dropQueue(sync);
    }
    this.channels.clear();
    await this.connectionCounter.close();
    for (const shard of this.shards.values()) shard.close();
    this.shards.clear();
    this.client.disconnect();
    this.onPublication = null;
  }

  private assertOpen(): void {
    if (this.closed) throw new AlbatrossError('UNAVAILABLE', 'broker closed');
  }

  private logError(message: string, error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    this.logger.warn({ err: error.message }, message);
  }
}

/** Runs at most `max` tasks at once. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await task();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
