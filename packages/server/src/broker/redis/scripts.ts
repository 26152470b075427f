/**
 * Lua scripts. Each runs atomically on the shard that owns its keys (all keys
 * of one script share one hash tag), so offsets, epochs, history and pub/sub
 * of a channel can never disagree.
 *
 * Channel meta is a hash `{epoch, offset}`. When it is missing (first use,
 * Redis restarted empty, evicted, expired) a script installs the caller's
 * candidate epoch with offset 0 and drops any stale stream: offsets restart at
 * 1 in the new epoch and old positions can no longer be recovered.
 *
 * A publication travels as one blob, `<offset> <epoch> <ts>\n<event frame JSON>`:
 * the same bytes are stored in the stream (field `m`, with `t` = ts for age
 * checks) and published on pub/sub, so a node forwards what it receives
 * without parsing or re-serialising the frame.
 */

const ENSURE_META = `
local meta, stream = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
local offset
if not epoch then
  epoch = ARGV[2]
  redis.call('DEL', stream)
  redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
  offset = 0
else
  offset = tonumber(redis.call('HGET', meta, 'offset'))
end
`;

const NOW_MS = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * KEYS: meta, stream. ARGV: 1 pub/sub channel, 2 candidate epoch, 3 frame head
 * (up to `"offset":`), 4 frame middle (`,"event_type":…,"ts":`), 5 frame tail
 * (`,"payload":…}`), 6 stream MAXLEN (approximate), 7 stream TTL ms, 8 meta TTL ms,
 * 9 publish command (PUBLISH or SPUBLISH).
 * Returns {offset, epoch, ts}.
 */
export const PUBLISH_LUA = `${ENSURE_META}
offset = redis.call('HINCRBY', meta, 'offset', 1)
${NOW_MS}
local ts = string.format('%d', now)
local o = string.format('%d', offset)
local msg = o .. ' ' .. epoch .. ' ' .. ts .. '\\n' .. ARGV[3] .. o .. ',"epoch":"' .. epoch .. '"' .. ARGV[4] .. ts .. ARGV[5]
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[6], o .. '-0', 'm', msg, 't', ts)
redis.call('PEXPIRE', stream, ARGV[7])
redis.call('PEXPIRE', meta, ARGV[8])
redis.call(ARGV[9], ARGV[1], msg)
return {offset, epoch, ts}
`;

/**
 * Reads a channel's position and, depending on the mode, its history.
 * KEYS: meta, stream. ARGV: 1 mode (`p` position, `r` recover, `h` history),
 * 2 candidate epoch, 3 meta TTL ms, 4 history size, 5 history TTL ms,
 * 6 since epoch (`r`), 7 since offset (`r`, `h`), 8 limit (`h`),
 * 9 meta TTL ms of a channel that was never published.
 *
 * A read of a channel nobody ever published to creates its meta (so every
 * reader is told the same epoch) but with the short TTL of ARGV 9, never the
 * long idle TTL: subscribing to made-up names cannot fill Redis for a day.
 * The first publish gives the meta its long TTL.
 *
 * Returns {epoch, offset} for `p`; {epoch, offset, recovered(0|1), blob...}
 * for `r` (all or nothing: every publication after `since`, or none); and
 * {epoch, offset, 1, blob...} for `h` (recoverable publications after `since`).
 * Exactly the last `history size` publications younger than the history TTL
 * are recoverable, even if the stream happens to keep more.
 */
export const READ_LUA = `${ENSURE_META}
if offset == 0 then redis.call('PEXPIRE', meta, ARGV[9]) else redis.call('PEXPIRE', meta, ARGV[3]) end
local mode = ARGV[1]
if mode == 'p' then return {epoch, offset} end
local size = tonumber(ARGV[4])
${NOW_MS}
local cutoff = now - tonumber(ARGV[5])
local since = tonumber(ARGV[7])
local out = {epoch, offset, 0}
if mode == 'r' then
  if ARGV[6] ~= epoch or since < 0 or since > offset or offset - since > size then return out end
  if since == offset then out[3] = 1; return out end
  local want = offset - since
  local entries = redis.call('XRANGE', stream, string.format('%d', since + 1) .. '-0', '+', 'COUNT', want)
  if #entries ~= want then return out end
  local first = entries[1]
  if first[1] ~= string.format('%d', since + 1) .. '-0' or tonumber(first[2][4]) < cutoff then return out end
  out[3] = 1
  for i = 1, want do out[3 + i] = entries[i][2][2] end
  return out
end
out[3] = 1
local from = math.max(since + 1, offset - size + 1, 1)
if from > offset then return out end
local limit = tonumber(ARGV[8])
local cursor = string.format('%d', from) .. '-0'
local n = 3
while n - 3 < limit do
  local batch = redis.call('XRANGE', stream, cursor, '+', 'COUNT', limit - (n - 3))
  if #batch == 0 then break end
  for i = 1, #batch do
    local entry = batch[i]
    if tonumber(entry[2][4]) >= cutoff then
      n = n + 1
      out[n] = entry[2][2]
    end
  end
  cursor = '(' .. batch[#batch][1]
end
return out
`;

/**
 * Idempotency: releases a pending claim only if it is still ours.
 * KEYS: record. ARGV: 1 claim token.
 */
export const IDEMPOTENCY_RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const PURGE_EXPIRED_NODES = `
local counts, leases = KEYS[1], KEYS[2]
${NOW_MS}
local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
if #expired > 0 then
  local dead = {}
  for i = 1, #expired do dead[expired[i]] = true end
  local fields = redis.call('HKEYS', counts)
  for i = 1, #fields do
    local node = string.match(fields[i], '^([^|]*)')
    if dead[node] then redis.call('HDEL', counts, fields[i]) end
  end
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
end
`;

/**
 * Connection leases: counts one more connection of a tenant and a user on a
 * node unless a limit is reached. Counts of nodes whose lease expired (a
 * crashed node) are dropped first.
 * KEYS: counts hash, leases zset. ARGV: 1 node id, 2 user id, 3 tenant limit
 * (-1 = none), 4 user limit (-1 = none), 5 lease ms.
 * Returns 'ok', 'tenant' or 'user'.
 */
export const CONNECTION_ACQUIRE_LUA = `${PURGE_EXPIRED_NODES}
local node, user = ARGV[1], ARGV[2]
local tenantLimit, userLimit = tonumber(ARGV[3]), tonumber(ARGV[4])
local live = redis.call('ZRANGEBYSCORE', leases, '(' .. now, '+inf')
local isLive = {}
for i = 1, #live do isLive[live[i]] = true end
isLive[node] = true
local tenantTotal, userTotal = 0, 0
for member in pairs(isLive) do
  tenantTotal = tenantTotal + (tonumber(redis.call('HGET', counts, member)) or 0)
  userTotal = userTotal + (tonumber(redis.call('HGET', counts, member .. '|' .. user)) or 0)
end
if tenantLimit >= 0 and tenantTotal >= tenantLimit then return 'tenant' end
if userLimit >= 0 and userTotal >= userLimit then return 'user' end
redis.call('HINCRBY', counts, node, 1)
redis.call('HINCRBY', counts, node .. '|' .. user, 1)
redis.call('ZADD', leases, now + tonumber(ARGV[5]), node)
redis.call('PEXPIRE', counts, 2 * tonumber(ARGV[5]))
redis.call('PEXPIRE', leases, 2 * tonumber(ARGV[5]))
return 'ok'
`;

/**
 * Releases one connection of a node. KEYS: counts hash. ARGV: 1 node, 2 user.
 */
export const CONNECTION_RELEASE_LUA = `
local counts, node, user = KEYS[1], ARGV[1], ARGV[2]
if redis.call('HINCRBY', counts, node, -1) <= 0 then redis.call('HDEL', counts, node) end
if redis.call('HINCRBY', counts, node .. '|' .. user, -1) <= 0 then redis.call('HDEL', counts, node .. '|' .. user) end
return 1
`;

/**
 * Renews a node's lease on a tenant and, when `ARGV[3]` is 1, rewrites the
 * node's counts from its own authoritative tally (after a failed release or
 * a Redis that came back empty).
 * KEYS: counts hash, leases zset. ARGV: 1 node, 2 lease ms, 3 rewrite (0|1),
 * 4 tenant count, then pairs of user id and count.
 */
export const CONNECTION_RENEW_LUA = `${PURGE_EXPIRED_NODES}
local node, leaseMs = ARGV[1], tonumber(ARGV[2])
if ARGV[3] == '1' then
  local fields = redis.call('HKEYS', counts)
  for i = 1, #fields do
    if fields[i] == node or string.sub(fields[i], 1, #node + 1) == node .. '|' then redis.call('HDEL', counts, fields[i]) end
  end
  if tonumber(ARGV[4]) > 0 then redis.call('HSET', counts, node, ARGV[4]) end
  for i = 5, #ARGV, 2 do
    if tonumber(ARGV[i + 1]) > 0 then redis.call('HSET', counts, node .. '|' .. ARGV[i], ARGV[i + 1]) end
  end
end
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', leases, now + leaseMs, node)
else
  redis.call('ZREM', leases, node)
end
redis.call('PEXPIRE', counts, 2 * leaseMs)
redis.call('PEXPIRE', leases, 2 * leaseMs)
return 1
`;
