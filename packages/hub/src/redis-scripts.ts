/**
 * The Lua scripts of the Redis broker. Each runs atomically inside Redis, which is what makes
 * one total order per topic: the seq increment, the history append and the pub/sub publish
 * of an entry happen in one step, so no two nodes can interleave them.
 */

/**
 * KEYS: seq counter, history stream. ARGV: channel, floor, maxCount, maxAgeMs, body.
 * Returns the seq. The stream is trimmed by count (MAXLEN) and by age on Redis's own clock
 * (MINID), and expires when the topic goes quiet for longer than the age limit.
 */
export const PUBLISH_SCRIPT = `
local floor = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < floor then redis.call('SET', KEYS[1], floor) end
local seq = redis.call('INCR', KEYS[1])
local maxCount = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
if maxCount > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', maxCount, '*', 's', seq, 'b', ARGV[5])
  local t = redis.call('TIME')
  local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - maxAge
  if cutoff > 0 then redis.call('XTRIM', KEYS[2], 'MINID', cutoff) end
  redis.call('PEXPIRE', KEYS[2], maxAge + 60000)
end
redis.call('PUBLISH', ARGV[1], seq .. ':' .. ARGV[5])
return seq
`;

/**
 * KEYS: seq counter, history stream. ARGV: after, maxCount.
 * Returns { head, entries newest first (at most the ones after \`after\`) } read atomically.
 */
export const READ_SCRIPT = `
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
if after >= head then return { head, {} } end
local n = head - after
local maxCount = tonumber(ARGV[2])
if n > maxCount then n = maxCount end
if n < 1 then return { head, {} } end
return { head, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', n) }
`;

/** KEYS: seq counter. ARGV: floor. */
export const RAISE_FLOOR_SCRIPT = `
local floor = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < floor then redis.call('SET', KEYS[1], floor) end
return 1
`;

/**
 * Presence: per topic a hash (member id → member JSON), and per node a heartbeat key with an
 * expiry and the set of its members (`<id>|<topic>`). A node refreshes only its heartbeat;
 * when it dies the heartbeat expires and any node's reaper removes all its members. So the
 * upkeep is one command per node per period, whatever the number of members.
 *
 * JOIN — KEYS: topic hash, node members set, nodes set, node heartbeat.
 * ARGV: id, member JSON, channel, topic JSON, ref, ttl, node id, mode ('join' announces a join
 * or an update; 'restore' puts back a member Redis lost and announces it only if it was gone).
 */
export const PRESENCE_JOIN_SCRIPT = `
local existed = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[7])
redis.call('SET', KEYS[4], '1', 'PX', tonumber(ARGV[6]))
if ARGV[8] == 'restore' and existed then return 0 end
local kind = 'join'
if existed then kind = 'update' end
redis.call('PUBLISH', ARGV[3], '{"type":"' .. kind .. '","topic":' .. ARGV[4] .. ',"member":' .. ARGV[2] .. '}')
return 1
`;

/** LEAVE — KEYS: topic hash, node members set. ARGV: id, channel, topic JSON, reason, ref. */
export const PRESENCE_LEAVE_SCRIPT = `
redis.call('SREM', KEYS[2], ARGV[5])
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], '{"type":"leave","reason":"' .. ARGV[4] .. '","topic":' .. ARGV[3] .. ',"member":' .. member .. '}')
return 1
`;

/**
 * HEARTBEAT — KEYS: node heartbeat, nodes set. ARGV: ttl, node id.
 * Returns 1 if the heartbeat had lapsed (the node may have been reaped: it must restore its
 * members), else 0.
 */
export const PRESENCE_HEARTBEAT_SCRIPT = `
local alive = redis.call('EXISTS', KEYS[1]) == 1
redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[1]))
redis.call('SADD', KEYS[2], ARGV[2])
if alive then return 0 end
return 1
`;

/**
 * REAP — KEYS: nodes set. ARGV: key prefix, channel, limit. Removes up to \`limit\` members of
 * nodes whose heartbeat expired (they died), announcing each as a leave with reason
 * 'expired'. Key names are derived here, so this script is for a single Redis, not a cluster.
 */
export const PRESENCE_REAP_SCRIPT = `
local removed = 0
local limit = tonumber(ARGV[3])
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if removed >= limit then break end
  local base = ARGV[1] .. 'presence:node:' .. node
  if redis.call('EXISTS', base) == 0 then
    local refs = redis.call('SPOP', base .. ':members', limit - removed)
    for _, ref in ipairs(refs) do
      local bar = string.find(ref, '|', 1, true)
      local id = string.sub(ref, 1, bar - 1)
      local topic = string.sub(ref, bar + 1)
      local hash = ARGV[1] .. '{' .. topic .. '}:pm'
      local member = redis.call('HGET', hash, id)
      if member then
        redis.call('HDEL', hash, id)
        redis.call('PUBLISH', ARGV[2], '{"type":"leave","reason":"expired","topic":' .. cjson.encode(topic) .. ',"member":' .. member .. '}')
      end
      removed = removed + 1
    end
    if redis.call('SCARD', base .. ':members') == 0 then redis.call('SREM', KEYS[1], node) end
  end
end
return removed
`;

/** LIST — KEYS: topic hash. ARGV: key prefix. Members whose node is alive, as JSON. */
export const PRESENCE_LIST_SCRIPT = `
local alive = {}
local members = {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 2, #entries, 2 do
  local ok, member = pcall(cjson.decode, entries[i])
  if ok and type(member) == 'table' and type(member.nodeId) == 'string' then
    local node = member.nodeId
    if alive[node] == nil then alive[node] = redis.call('EXISTS', ARGV[1] .. 'presence:node:' .. node) == 1 end
    if alive[node] then members[#members + 1] = entries[i] end
  end
end
return members
`;
