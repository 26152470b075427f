/**
 * Redis key layout. Every key and the pub/sub channel of one Albatross
 * channel share the hash tag `{channel}`, so in Redis Cluster they live on one
 * shard and one Lua script can touch them all. Channel names cannot contain
 * braces (`[A-Za-z0-9_.:-]`), so the tag is exactly the channel name.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Hash `{epoch, offset}`: the channel's position. Its loss starts a new epoch. */
  meta(channel: string): string {
    return `${this.prefix}{${channel}}:meta`;
  }

  /** Stream of the channel's publications, entry id `<offset>-0`. */
  stream(channel: string): string {
    return `${this.prefix}{${channel}}:stream`;
  }

  /** Pub/sub (or sharded pub/sub) channel carrying the channel's publications. */
  pubsub(channel: string): string {
    return `${this.prefix}{${channel}}`;
  }

  /**
   * Pub/sub channel of control messages (cluster-wide disconnects). `!` is
   * not allowed in channel names, so it never collides with a channel's.
   */
  control(): string {
    return `${this.prefix}{!control}`;
  }

  /** The Albatross channel of a pub/sub channel name, or null when it is not one of ours. */
  channelOf(pubsubName: Buffer): string | null {
    const name = pubsubName.toString('utf8');
    if (!name.startsWith(this.prefix) || name.length < this.prefix.length + 2) return null;
    if (name.charCodeAt(this.prefix.length) !== 123 || name.charCodeAt(name.length - 1) !== 125) return null;
    return name.slice(this.prefix.length + 1, -1);
  }

  /** Idempotency record of a (hashed) key. */
  idempotency(hash: string): string {
    return `${this.prefix}idem:${hash}`;
  }

  /** Per-node connection counts of a tenant (fields `<node>` and `<node>|<user>`). */
  connectionCounts(tenantId: string): string {
    return `${this.prefix}conn:{${tenantId}}:counts`;
  }

  /** Lease expiry (sorted set, score = ms) of each node counting connections of a tenant. */
  connectionLeases(tenantId: string): string {
    return `${this.prefix}conn:{${tenantId}}:leases`;
  }
}

/** CRC16/XMODEM, the checksum Redis Cluster maps keys to slots with. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Cluster slot of a key, honouring a `{hash tag}`. */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key, 'utf8')) % 16384;
}
