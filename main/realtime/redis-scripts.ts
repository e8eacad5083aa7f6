/**
 * Lua run inside Redis so that numbering, storing and fanning out a message is one atomic step:
 * two nodes publishing to one room can never interleave INCR and XADD, and the pub/sub order of a
 * room's frames is its offset order. Time comes from Redis (TIME) so nodes' clocks do not matter.
 */

/**
 * KEYS: epoch, seq, stream. ARGV: newEpoch, head, tail, maxLen, ttlMs, channel, seal, history(1/0).
 * `seal` (the sender's fleet signature and the routing fields, see backplane-seal.ts) goes in the
 * header and beside the frame in the stream, so every reader can check it.
 */
export const publishScript = `
local epoch = redis.call('GET', KEYS[1])
if (not epoch) or redis.call('EXISTS', KEYS[2]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
  redis.call('SET', KEYS[2], 0)
  redis.call('DEL', KEYS[3])
end
local offset = redis.call('INCR', KEYS[2])
local frame = ARGV[2] .. epoch .. '","offset":' .. offset .. ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[5])
if ARGV[8] == '1' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], offset .. '-0', 't', now, 'f', frame, 's', ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ttl)
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PUBLISH', ARGV[6], 'R|' .. offset .. '|' .. epoch .. '|' .. ARGV[7] .. '\\n' .. frame)
return {epoch, offset}
`;

/**
 * KEYS: epoch, seq, stream. ARGV: newEpoch, ttlMs. The room's epoch and head, made (offset 0, with
 * the history's expiry) when the room has none, exactly as the publish script would make them:
 * the first message then keeps that epoch, so a client resuming from an empty room's position
 * misses nothing. Returns epoch, offset.
 */
export const originScript = `
local epoch = redis.call('GET', KEYS[1])
if (not epoch) or redis.call('EXISTS', KEYS[2]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch, 'PX', ARGV[2])
  redis.call('SET', KEYS[2], 0, 'PX', ARGV[2])
  redis.call('DEL', KEYS[3])
end
return {epoch, tonumber(redis.call('GET', KEYS[2]))}
`;

/** KEYS: epoch, seq, stream. ARGV: startId ('-' for the newest), count. Returns epoch, last offset, now, entries. */
export const readScript = `
local epoch = redis.call('GET', KEYS[1])
local last = redis.call('GET', KEYS[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if (not epoch) or (not last) then return {false, 0, now, {}, 0} end
local entries
if ARGV[1] == '-' then
  entries = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', ARGV[2])
else
  entries = redis.call('XRANGE', KEYS[3], ARGV[1], '+', 'COUNT', ARGV[2])
end
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
local oldest = 0
if first[1] then oldest = first[1][1] end
return {epoch, tonumber(last), now, entries, oldest}
`;

const presenceHelpers = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- entry.n: node -> expiry; entry.s: node -> that node's sealed claim of the member (user and meta).
local function alive(entry, except)
  local any = false
  entry.s = entry.s or {}
  for node, exp in pairs(entry.n) do
    if exp <= now then
      entry.n[node] = nil
      entry.s[node] = nil
    elseif node ~= except then any = true end
  end
  return any
end
`;

/**
 * KEYS: presence hash. ARGV: node, user, metaJson, ttlMs, channel, sealed join message, sealed claim.
 * Returns 1 when the user had no live entry.
 */
export const presenceJoinScript = `${presenceHelpers}
local raw = redis.call('HGET', KEYS[1], ARGV[2])
local entry = {n = {}}
if raw then entry = cjson.decode(raw) end
local present = alive(entry, ARGV[1])
entry.n[ARGV[1]] = now + tonumber(ARGV[4])
entry.s[ARGV[1]] = ARGV[7]
-- The user's first connection sets the metadata; a later one without any keeps it.
if (not present) or ARGV[3] ~= '{}' or entry.m == nil then entry.m = ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(entry))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 10)
if present then return 0 end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
`;

/** KEYS: presence hash. ARGV: node, user, channel, sealed leave message. Returns 1 when no node has the user any more. */
export const presenceLeaveScript = `${presenceHelpers}
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return 0 end
local entry = cjson.decode(raw)
entry.n[ARGV[1]] = nil
if entry.s then entry.s[ARGV[1]] = nil end
if alive(entry, '') then
  redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(entry))
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/**
 * KEYS: presence hash. ARGV: node, ttlMs, then user and sealed claim (meta {}) for each user this
 * node holds. Extends this node's entries (a claim is stored only where the node has none: the
 * join's, with its meta, stays), and drops users whose every node stopped refreshing (a dead node),
 * returning them: the caller announces their leave, signed (Redis holds no fleet secret).
 */
export const presenceRefreshScript = `${presenceHelpers}
local mine = {}
for i = 3, #ARGV, 2 do mine[ARGV[i]] = ARGV[i + 1] end
local all = redis.call('HGETALL', KEYS[1])
local left = {}
local seen = {}
for i = 1, #all, 2 do
  local user = all[i]
  seen[user] = true
  local entry = cjson.decode(all[i + 1])
  if mine[user] then
    entry.n[ARGV[1]] = now + tonumber(ARGV[2])
    entry.s = entry.s or {}
    if entry.s[ARGV[1]] == nil then entry.s[ARGV[1]] = mine[user] end
  end
  if alive(entry, '') then
    redis.call('HSET', KEYS[1], user, cjson.encode(entry))
  else
    redis.call('HDEL', KEYS[1], user)
    left[#left + 1] = user
  end
end
for user, claim in pairs(mine) do
  if not seen[user] then
    local entry = {n = {}, m = '{}', s = {}}
    entry.n[ARGV[1]] = now + tonumber(ARGV[2])
    entry.s[ARGV[1]] = claim
    redis.call('HSET', KEYS[1], user, cjson.encode(entry))
  end
end
if #all > 0 or #ARGV > 2 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10) end
return left
`;

/** KEYS: presence hash. Returns user, then the live nodes' claims (one a line), for each live entry. */
export const presenceListScript = `${presenceHelpers}
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local entry = cjson.decode(all[i + 1])
  if alive(entry, '') then
    local claims = {}
    for node, claim in pairs(entry.s) do
      if entry.n[node] then claims[#claims + 1] = claim end
    end
    out[#out + 1] = all[i]
    out[#out + 1] = table.concat(claims, '\\n')
  end
end
return out
`;
