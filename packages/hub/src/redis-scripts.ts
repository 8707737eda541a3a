/**
 * The Lua scripts of the Redis broker. Each runs atomically inside Redis, which is what makes
 * one total order per topic: the seq increment, the history append and the pub/sub publish
 * of an entry happen in one step, so no two nodes can interleave them.
 */

/**
 * The topic's epoch, kept in the topic's meta hash with the id of the Redis process run that
 * vouched for it. A Redis that came back empty has no meta: a new epoch begins. A Redis that
 * restarted (from an RDB snapshot, an AOF that lost its tail, a promoted replica) has a new
 * run id: whatever it holds may be older than what clients saw, so a new epoch begins too.
 * Within one epoch of one run, the seq counter only grows: a seq never names two messages.
 * KEYS[3] is the meta hash; ARGV[6] (publish) / ARGV[3] (read) the candidate epoch.
 */
const EPOCH = (candidate: string): string => `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') or ''
local meta = redis.call('HMGET', KEYS[3], 'e', 'r')
local epoch = meta[1]
if (not epoch) or meta[2] ~= run then
  epoch = ${candidate}
  redis.call('HSET', KEYS[3], 'e', epoch, 'r', run)
end
`;

/**
 * KEYS: seq counter, history stream, meta hash. ARGV: channel, floor, maxCount, maxAgeMs,
 * body, candidate epoch. Returns { seq, epoch, entry id }. The stream is trimmed by count
 * (MAXLEN) and by age on Redis's own clock (MINID), and expires when the topic goes quiet for
 * longer than the age limit. The pub/sub message is `seq:epoch:id:body`.
 */
export const PUBLISH_SCRIPT = `${EPOCH('ARGV[6]')}
local floor = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < floor then redis.call('SET', KEYS[1], floor) end
local seq = redis.call('INCR', KEYS[1])
local maxCount = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
local t = redis.call('TIME')
local id = t[1] .. '-' .. t[2]
if maxCount > 0 then
  id = redis.call('XADD', KEYS[2], 'MAXLEN', maxCount, '*', 's', seq, 'e', epoch, 'b', ARGV[5])
  local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - maxAge
  if cutoff > 0 then redis.call('XTRIM', KEYS[2], 'MINID', cutoff) end
  redis.call('PEXPIRE', KEYS[2], maxAge + 60000)
end
redis.call('PUBLISH', ARGV[1], seq .. ':' .. epoch .. ':' .. id .. ':' .. ARGV[5])
return { seq, epoch, id }
`;

/**
 * KEYS: seq counter, history stream, meta hash. ARGV: after, maxCount, candidate epoch.
 * Returns { head, entries newest first, epoch } read atomically: the entries after \`after\`
 * (at most maxCount) plus the one at \`after\` itself when retained, so a resume can check it
 * is the entry the client saw; at or past the head, just the newest entry (the head's id).
 */
export const READ_SCRIPT = `${EPOCH('ARGV[3]')}
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
local maxCount = tonumber(ARGV[2])
if maxCount < 1 or head < 1 then return { head, {}, epoch } end
local n = 1
if after < head then n = head - after + 1 end
if n > maxCount + 1 then n = maxCount + 1 end
return { head, redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', n), epoch }
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
