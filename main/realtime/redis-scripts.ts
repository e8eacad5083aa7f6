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
-- A field anyone who can write Redis may have planted: true when every member of map (nil allowed
-- when optional) is a string key with a value of type kind (a number not NaN, which would unsettle
-- the sort), so the loops below never meet another type.
local function mapOf(map, kind, optional)
  if map == nil then return optional end
  if type(map) ~= 'table' then return false end
  for k, v in pairs(map) do
    if type(k) ~= 'string' or type(v) ~= kind or v ~= v then return false end
  end
  return true
end
-- The entry a field holds, or nil when it is not one a node wrote (not JSON, or another shape):
-- such a field is treated as absent, so it can hide no member but its own and stops no room. Only
-- the known fields are kept, so what is written back always encodes.
local function decode(raw)
  if not raw then return nil end
  local ok, entry = pcall(cjson.decode, raw)
  if not ok or type(entry) ~= 'table' then return nil end
  if not (mapOf(entry.n, 'number', false) and mapOf(entry.s, 'string', true) and mapOf(entry.j, 'number', true)) then
    return nil
  end
  if entry.m ~= nil and type(entry.m) ~= 'string' then return nil end
  return {n = entry.n, s = entry.s, j = entry.j, m = entry.m}
end
-- entry.n: node -> expiry; entry.s: node -> that node's sealed claim of the member (user and meta);
-- entry.j: node -> when that node took the user in (entries written before it have none: 0).
local function alive(entry, except)
  local any = false
  entry.s = entry.s or {}
  entry.j = entry.j or {}
  for node, exp in pairs(entry.n) do
    if exp <= now then
      entry.n[node] = nil
      entry.s[node] = nil
      entry.j[node] = nil
    elseif node ~= except then any = true end
  end
  return any
end
-- The claims of the nodes in entry.n, the node that took the user in first first (one a line):
-- the list shows the first that carries metadata, so what it shows is the same on every read.
local function ordered(entry)
  local nodes = {}
  local s = entry.s or {}
  local j = entry.j or {}
  for node, _ in pairs(entry.n) do
    if s[node] then nodes[#nodes + 1] = node end
  end
  table.sort(nodes, function(a, b)
    local ja, jb = j[a] or 0, j[b] or 0
    if ja ~= jb then return ja < jb end
    return a < b
  end)
  local claims = {}
  for i, node in ipairs(nodes) do claims[i] = s[node] end
  return table.concat(claims, '\\n')
end
`;

/**
 * KEYS: presence hash. ARGV: node, user, metaJson, ttlMs, channel, sealed join message, sealed claim.
 * Returns 1 when the user had no live entry (the join is announced here), else 0 and the user's
 * ordered claims before and after (the caller announces an update when what the list shows changed).
 */
export const presenceJoinScript = `${presenceHelpers}
local entry = decode(redis.call('HGET', KEYS[1], ARGV[2])) or {n = {}}
local present = alive(entry, ARGV[1])
local before = ordered(entry)
if entry.n[ARGV[1]] == nil then entry.j[ARGV[1]] = now end
entry.n[ARGV[1]] = now + tonumber(ARGV[4])
entry.s[ARGV[1]] = ARGV[7]
-- The user's first connection sets the metadata; a later one without any keeps it.
if (not present) or ARGV[3] ~= '{}' or entry.m == nil then entry.m = ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(entry))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 10)
if present then return {0, before, ordered(entry)} end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {1, '', ''}
`;

/**
 * KEYS: presence hash. ARGV: node, user, channel, sealed leave message. Returns 1 when no node has
 * the user any more (the leave is announced here), else 0 and the user's ordered claims before and after.
 */
export const presenceLeaveScript = `${presenceHelpers}
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return {0, '', ''} end
local entry = decode(raw)
if not entry then
  redis.call('HDEL', KEYS[1], ARGV[2])
  return {0, '', ''}
end
alive(entry, '')
local before = ordered(entry)
entry.n[ARGV[1]] = nil
entry.s[ARGV[1]] = nil
entry.j[ARGV[1]] = nil
if alive(entry, '') then
  redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(entry))
  return {0, before, ordered(entry)}
end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {1, '', ''}
`;

/**
 * KEYS: presence hash. ARGV: node, ttlMs, then user and sealed claim (meta {}) for each user this
 * node holds. Extends this node's entries (a claim is stored only where the node has none: the
 * join's, with its meta, stays), and drops users whose every node stopped refreshing (a dead node).
 * Returns those users, and user, claims before, claims after for each one still present whose
 * claims changed (a node of theirs expired): the caller announces the leaves and updates, signed
 * (Redis holds no fleet secret).
 */
export const presenceRefreshScript = `${presenceHelpers}
local mine = {}
for i = 3, #ARGV, 2 do mine[ARGV[i]] = ARGV[i + 1] end
local all = redis.call('HGETALL', KEYS[1])
local left = {}
local changed = {}
local seen = {}
for i = 1, #all, 2 do
  local user = all[i]
  local entry = decode(all[i + 1])
  if not entry then
    -- Not a node's entry: removed (a user of this node's gets a fresh one below).
    redis.call('HDEL', KEYS[1], user)
  else
    seen[user] = true
    local before = ordered(entry)
    if mine[user] then
      entry.n[ARGV[1]] = now + tonumber(ARGV[2])
      entry.s = entry.s or {}
      entry.j = entry.j or {}
      if entry.s[ARGV[1]] == nil then
        entry.s[ARGV[1]] = mine[user]
        entry.j[ARGV[1]] = now
      end
    end
    if alive(entry, '') then
      redis.call('HSET', KEYS[1], user, cjson.encode(entry))
      local after = ordered(entry)
      if after ~= before then
        changed[#changed + 1] = user
        changed[#changed + 1] = before
        changed[#changed + 1] = after
      end
    else
      redis.call('HDEL', KEYS[1], user)
      left[#left + 1] = user
    end
  end
end
for user, claim in pairs(mine) do
  if not seen[user] then
    local entry = {n = {}, m = '{}', s = {}, j = {}}
    entry.n[ARGV[1]] = now + tonumber(ARGV[2])
    entry.s[ARGV[1]] = claim
    entry.j[ARGV[1]] = now
    redis.call('HSET', KEYS[1], user, cjson.encode(entry))
  end
end
if #all > 0 or #ARGV > 2 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10) end
return {left, changed}
`;

/** KEYS: presence hash. Returns user, then the live nodes' ordered claims (one a line), for each live entry. */
export const presenceListScript = `${presenceHelpers}
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local entry = decode(all[i + 1])
  if entry and alive(entry, '') then
    out[#out + 1] = all[i]
    out[#out + 1] = ordered(entry)
  end
end
return out
`;
