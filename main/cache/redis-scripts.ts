import { MAC_BYTES } from '../fleet';
import { ENVELOPE_FORMAT, ENVELOPE_HEADER } from './entry';

// Each script that changes L2 bumps the namespace's generation and publishes
// `<generation>|<message>` atomically, so generations on the bus arrive in the order they were
// issued: a node that sees a gap knows it missed a message. (Single Redis or Sentinel; the tag and
// generation keys are not declared as KEYS, so Redis Cluster is not supported by these scripts.)

/**
 * The tags an entry holds now, read from its sealed envelope in place (the MAC, then the format
 * byte, three doubles, the tag list's length and its JSON; see entry.ts): {} when the key is absent,
 * nil when its bytes are no envelope of this format. A tag set may still name a key that was written
 * again without that tag (or expired and was written anew), so a set's members are checked here.
 */
const TAGS_OF = `
local function tagsOf(key)
  local head = redis.call('GETRANGE', key, 0, ${MAC_BYTES + ENVELOPE_HEADER - 1})
  if #head == 0 then return {} end
  if #head < ${MAC_BYTES + ENVELOPE_HEADER} or string.byte(head, ${MAC_BYTES + 1}) ~= ${ENVELOPE_FORMAT} then return nil end
  local n = string.byte(head, ${MAC_BYTES + ENVELOPE_HEADER - 1}) * 256 + string.byte(head, ${MAC_BYTES + ENVELOPE_HEADER})
  if n == 0 then return {} end
  local ok, tags = pcall(cjson.decode, redis.call('GETRANGE', key, ${MAC_BYTES + ENVELOPE_HEADER}, ${MAC_BYTES + ENVELOPE_HEADER - 1} + n))
  if ok and type(tags) == 'table' then return tags end
  return nil
end
local function addTags(key, prefix, px, first)
  for i = first, #ARGV do
    local t = prefix .. ARGV[i]
    redis.call('SADD', t, key)
    if redis.call('PTTL', t) < px then redis.call('PEXPIRE', t, px) end
  end
end`;

/**
 * ARGV[7] is the last instant (Redis's clock, ms) the write may still be applied, or 0: a write whose
 * caller has given up on it (refused it as PH_CACHE_WRITE_UNSHARED) must not land when a frozen
 * Redis thaws. The entry leaves the tag sets of its previous value, so a tag it no longer carries
 * cannot drop it.
 */
export const SET_SCRIPT = `${TAGS_OF}
if ARGV[7] ~= '0' then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[7]) then return -1 end
end
local px = tonumber(ARGV[2])
local old = tagsOf(KEYS[1])
if old then for _, t in ipairs(old) do redis.call('SREM', ARGV[6] .. t, KEYS[1]) end end
redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
addTags(KEYS[1], ARGV[6], px, 8)
local gen = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('PUBLISH', ARGV[4], gen .. '|' .. ARGV[5])
return gen`;

/** Promotion from a node's L3: only when L2 has no entry, into the tag sets too, without a bus message. */
export const PROMOTE_SCRIPT = `${TAGS_OF}
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
addTags(KEYS[1], ARGV[3], tonumber(ARGV[2]), 4)
return 1`;

/** An entry and its remaining time to live on Redis's own clock (no node's clock is trusted for it). */
export const GET_SCRIPT = `return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`;

export const DEL_SCRIPT = `
local n = 0
for i = 2, #KEYS do n = n + redis.call('DEL', KEYS[i]) end
local gen = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PUBLISH', ARGV[2], gen .. '|' .. ARGV[3])
return {gen, n}`;

/**
 * Drops the entries that carry one of the tags now (an envelope that cannot be read is dropped, as
 * before tags were checked) and answers their keys (ARGV[5] is the namespace's entry prefix), so the
 * caller can tell every node to drop exactly those keys as well.
 */
export const TAG_SCRIPT = `${TAGS_OF}
local n = 0
local dropped = {}
for i = 6, #ARGV do
  local set = ARGV[4] .. ARGV[i]
  for _, k in ipairs(redis.call('SMEMBERS', set)) do
    local tags = tagsOf(k)
    local carries = tags == nil
    if tags then for _, t in ipairs(tags) do if t == ARGV[i] then carries = true end end end
    if carries and redis.call('DEL', k) == 1 then
      n = n + 1
      dropped[#dropped + 1] = string.sub(k, #ARGV[5] + 1)
    end
  end
  redis.call('DEL', set)
end
local gen = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PUBLISH', ARGV[2], gen .. '|' .. ARGV[3])
return {gen, n, dropped}`;

export const EPOCH_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])`;

// A snapshot of every generation, published on the bus itself: a node that receives it has
// received every message published before it, so any difference from what it saw is a real loss.
// ARGV[2] is the requesting node's sealed token: a marker without a valid one is dropped. (The
// snapshot itself is Redis's own hash; a wrong one can only make a node drop local copies.)
export const MARKER_SCRIPT = `
local g = redis.call('HGETALL', KEYS[1])
redis.call('PUBLISH', ARGV[1], 'S' .. ARGV[2] .. '\\n' .. cjson.encode(g))
return #g`;

export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
