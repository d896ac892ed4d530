/**
 * The key digest, written once in Lua and shared by every script that digests keys, so a digest
 * taken by `verify` and one taken by the migration engine right before MIGRATE are the same
 * function of the same bytes.
 *
 * Scheme `slotshift-sha1-64-v1`:
 * - h(x) = the first 64 bits of SHA-1(x), from `redis.sha1hex` (C code; no CRC exists in Redis Lua,
 *   and a per-byte FNV loop in Lua is far slower than one C SHA-1 of a ~100 B value). Measured on
 *   redis 7.0: ~1.1 µs per 116 B element, ~3 µs per string key including TYPE/GETRANGE/PTTL.
 * - 64-bit accumulators are two 32-bit halves, because Lua numbers are doubles and `bit.*` is 32-bit.
 * - A collection is the XOR of its element hashes, so it does not depend on the internal encoding
 *   (listpack/hashtable/intset/skiplist) nor on the order SCAN returns elements, and can be folded
 *   across several calls:
 *     hash    h(len(field) ":" field value)
 *     set     h(member)
 *     zset    h(score ":" member)  — score as Redis formats the double (%.17g), the same in both
 *             encodings; (score, member) pairs fix the sorted order, so order is covered without a chain
 *     list    h(index ":" element) — the index makes the XOR order-sensitive
 *     stream  h(id ";" len(f1) ":" f1 ";" len(v1) ":" v1 ...) — ids are unique and fix the order
 *             plus metadata: last-generated-id, max-deleted-entry-id, entries-added and, per consumer
 *             group, name, last-delivered-id, entries-read, pending count (consumer seen-times are
 *             not logical state and are left out)
 *     string  > 1 MiB: h(offset ":" piece) over 1 MiB pieces
 * - key digest = h("ss1\0" type "\0" ttl "\0" len(name) ":" name body) where ttl is `-` (TTL not
 *   included), `t` (has a TTL) or `p` (persistent) and body is "=" value for strings up to 1 MiB,
 *   otherwise "#" count ":" accumulator-hex (count = elements, or bytes for large strings), plus
 *   "|" stream metadata for streams.
 * The absolute expiry is never part of the digest: MIGRATE sends the remaining TTL, so it moves.
 */
export const DIGEST_SCHEME = 'slotshift-sha1-64-v1';

/** Strings up to this size are hashed whole; larger ones in pieces of the same size. Part of the scheme. */
export const STRING_PIECE_BYTES = 1024 * 1024;

/**
 * The Lua library. It defines one local table `ss`; a script that embeds it may call
 * `ss.digest_key(key, include_ttl, inline_max)`:
 *   returns (result, cost) where result is a 16-hex digest, 0 when the key does not exist, or
 *   {type, size} when the value is larger than `inline_max` elements (size -1: unsupported type, e.g. a
 *   module type). `inline_max` 0 digests any value whole, however large (blocks the server meanwhile).
 *   cost is 1 + elements, or 1 + KiB for strings.
 */
export const DIGEST_LUA = String.raw`
local ss = { PIECE = ${STRING_PIECE_BYTES} }

function ss.mix(acc, s)
  local h = redis.sha1hex(s)
  acc[1] = bit.bxor(acc[1], tonumber(string.sub(h, 1, 8), 16))
  acc[2] = bit.bxor(acc[2], tonumber(string.sub(h, 9, 16), 16))
end

function ss.hex(acc)
  return bit.tohex(acc[1], 8) .. bit.tohex(acc[2], 8)
end

function ss.unhex(h)
  return { tonumber(string.sub(h, 1, 8), 16), tonumber(string.sub(h, 9, 16), 16) }
end

-- Values of \`keys\` read with MGET: a string's value, false for a missing key or another type. In
-- slices: unpack of thousands of keys overflows the Lua C stack.
function ss.mget(keys)
  local values = {}
  for first = 1, #keys, 1000 do
    local got = redis.call('MGET', unpack(keys, first, math.min(first + 999, #keys)))
    for j = 1, #got do values[first + j - 1] = got[j] end
  end
  return values
end

function ss.ttl_flag(key, include_ttl)
  if not include_ttl then return '-' end
  -- PTTL: -1 no expiry; a key that expired between TYPE and here is reported as persistent, which
  -- the next comparison catches as a missing key anyway.
  if redis.call('PTTL', key) >= 0 then return 't' end
  return 'p'
end

function ss.finish(key, kind, ttl, body)
  return string.sub(redis.sha1hex('ss1\0' .. kind .. '\0' .. ttl .. '\0' .. #key .. ':' .. key .. body), 1, 16)
end

function ss.size(key, kind)
  if kind == 'hash' then return redis.call('HLEN', key) end
  if kind == 'set' then return redis.call('SCARD', key) end
  if kind == 'zset' then return redis.call('ZCARD', key) end
  if kind == 'list' then return redis.call('LLEN', key) end
  if kind == 'stream' then return redis.call('XLEN', key) end
  if kind == 'string' then return redis.call('STRLEN', key) end
  return nil
end

function ss.mix_pairs(acc, flat)
  for i = 1, #flat, 2 do
    local f = flat[i]
    ss.mix(acc, #f .. ':' .. f .. flat[i + 1])
  end
  return #flat / 2
end

function ss.mix_members(acc, arr)
  for i = 1, #arr do ss.mix(acc, arr[i]) end
  return #arr
end

function ss.mix_scored(acc, flat)
  for i = 1, #flat, 2 do ss.mix(acc, flat[i + 1] .. ':' .. flat[i]) end
  return #flat / 2
end

function ss.mix_indexed(acc, arr, first)
  for i = 1, #arr do ss.mix(acc, (first + i - 1) .. ':' .. arr[i]) end
  return #arr
end

function ss.mix_entries(acc, entries)
  for i = 1, #entries do
    local e = entries[i]
    local parts = { e[1] }
    local fv = e[2]
    for j = 1, #fv do parts[#parts + 1] = #fv[j] .. ':' .. fv[j] end
    ss.mix(acc, table.concat(parts, ';'))
  end
  return #entries
end

function ss.stream_meta(key)
  local info = redis.call('XINFO', 'STREAM', key)
  local m = {}
  for i = 1, #info, 2 do m[info[i]] = info[i + 1] end
  local parts = { tostring(m['last-generated-id']), tostring(m['max-deleted-entry-id']), tostring(m['entries-added']) }
  local groups = redis.call('XINFO', 'GROUPS', key)
  for i = 1, #groups do
    local g = {}
    local flat = groups[i]
    for j = 1, #flat, 2 do g[flat[j]] = flat[j + 1] end
    local name = tostring(g['name'])
    parts[#parts + 1] = #name .. ':' .. name .. ',' .. tostring(g['last-delivered-id']) .. ',' ..
      tostring(g['entries-read']) .. ',' .. tostring(g['pending'])
  end
  return table.concat(parts, '|')
end

function ss.finish_collection(key, kind, ttl, count, acc)
  local body = '#' .. count .. ':' .. ss.hex(acc)
  if kind == 'stream' then body = body .. '|' .. ss.stream_meta(key) end
  return ss.finish(key, kind, ttl, body)
end

-- One bounded step of a chunked digest; string cursors are byte offsets, list/zset cursors indexes,
-- stream cursors the last id seen ('0' = start), hash/set cursors SCAN cursors.
-- Returns the next cursor (nil when done) and the number of elements (bytes for strings) hashed.
function ss.step(key, kind, cursor, acc, step)
  if kind == 'hash' or kind == 'set' then
    local r = redis.call(kind == 'hash' and 'HSCAN' or 'SSCAN', key, cursor, 'COUNT', step)
    local n
    if kind == 'hash' then n = ss.mix_pairs(acc, r[2]) else n = ss.mix_members(acc, r[2]) end
    if r[1] == '0' then return nil, n end
    return r[1], n
  end
  if kind == 'zset' or kind == 'list' then
    local first = tonumber(cursor)
    local n
    if kind == 'zset' then
      n = ss.mix_scored(acc, redis.call('ZRANGE', key, first, first + step - 1, 'WITHSCORES'))
    else
      n = ss.mix_indexed(acc, redis.call('LRANGE', key, first, first + step - 1), first)
    end
    if n < step then return nil, n end
    return tostring(first + n), n
  end
  if kind == 'stream' then
    local r
    if cursor == '0' then
      r = redis.call('XRANGE', key, '-', '+', 'COUNT', step)
    else
      r = redis.call('XRANGE', key, '(' .. cursor, '+', 'COUNT', step)
    end
    local n = ss.mix_entries(acc, r)
    if n < step then return nil, n end
    return r[n][1], n
  end
  -- string: step is a number of whole pieces
  local off = tonumber(cursor)
  local total = 0
  for _ = 1, step do
    local piece = redis.call('GETRANGE', key, off, off + ss.PIECE - 1)
    if #piece == 0 then return nil, total end
    ss.mix(acc, off .. ':' .. piece)
    total = total + #piece
    off = off + #piece
    if #piece < ss.PIECE then return nil, total end
  end
  return tostring(off), total
end

function ss.digest_key(key, include_ttl, inline_max)
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then return 0, 1 end
  local ttl = ss.ttl_flag(key, include_ttl)
  if kind == 'string' then
    local v = redis.call('GETRANGE', key, 0, ss.PIECE)
    if #v <= ss.PIECE then return ss.finish(key, kind, ttl, '=' .. v), 1 + math.floor(#v / 1024) end
    local size = redis.call('STRLEN', key)
    if inline_max > 0 then return { kind, size }, 1 end
  end
  local n = ss.size(key, kind)
  if n == nil then return { kind, -1 }, 1 end
  if inline_max > 0 and n > inline_max then return { kind, n }, 1 end
  local acc = { 0, 0 }
  local count
  if kind == 'hash' then count = ss.mix_pairs(acc, redis.call('HGETALL', key))
  elseif kind == 'set' then count = ss.mix_members(acc, redis.call('SMEMBERS', key))
  elseif kind == 'zset' then count = ss.mix_scored(acc, redis.call('ZRANGE', key, 0, -1, 'WITHSCORES'))
  elseif kind == 'list' then count = ss.mix_indexed(acc, redis.call('LRANGE', key, 0, -1), 0)
  elseif kind == 'stream' then count = ss.mix_entries(acc, redis.call('XRANGE', key, '-', '+'))
  else
    count = 0
    local cursor = '0'
    while cursor do
      local n_
      cursor, n_ = ss.step(key, kind, cursor, acc, 64)
      count = count + n_
    end
  end
  if kind == 'string' then return ss.finish_collection(key, kind, ttl, count, acc), 1 + math.floor(n / 1024) end
  return ss.finish_collection(key, kind, ttl, count, acc), 1 + n
end
`;

/** Prepends the digest library to a script body, e.g. one that digests its KEYS and then MIGRATEs them. */
export function withDigestLibrary(body: string): string {
  return `${DIGEST_LUA}\n${body}`;
}

/**
 * slotshift:digest-batch:v1
 * KEYS: the keys to digest, all in one hash slot (Redis refuses cross-slot KEYS in a cluster).
 * ARGV[1]: '1' to include TTL presence, '0' not.
 * ARGV[2]: inline_max — collections with more elements (strings over 1 MiB) are answered with
 *          {type, size} and digested in chunks by the caller; 0 = digest everything here.
 * ARGV[3]: budget — stop after this many cost units (1 + elements, or 1 + KiB of string, per key);
 *          at least one key is always done, so the caller always makes progress.
 * ARGV[4]: '1' when the caller expects small strings (keys MIGRATE carries or has just carried):
 *          string values are then read with one MGET per 1000 keys instead of TYPE + GETRANGE per
 *          key. In Redis 7.0 the redis.call machinery, not the command, is most of a call's cost, so
 *          this takes a batch of 100 B strings from ~2.6 to ~1.5 µs per key. The price: a string over
 *          1 MiB is read whole once before being digested in pieces. Absent or '0': TYPE first.
 * Output: one entry per key digested, in KEYS order, possibly fewer than #KEYS when the budget ran
 *         out: 16-hex digest | 0 (no such key) | {type, size} (size -1: type not supported).
 */
export const DIGEST_BATCH_SCRIPT = withDigestLibrary(String.raw`
-- slotshift:digest-batch:v2
local include_ttl = ARGV[1] == '1'
local inline_max = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local values = ARGV[4] == '1' and ss.mget(KEYS) or {}
local out = {}
local spent = 0
for i = 1, #KEYS do
  local v = values[i]
  local r, cost
  -- MGET answers false for a missing key and for every other type: those go the TYPE way.
  if v and #v <= ss.PIECE then
    r, cost = ss.finish(KEYS[i], 'string', ss.ttl_flag(KEYS[i], include_ttl), '=' .. v), 1 + math.floor(#v / 1024)
  else
    r, cost = ss.digest_key(KEYS[i], include_ttl, inline_max)
  end
  out[i] = r
  spent = spent + cost
  if spent >= budget then break end
end
return out
`);

/**
 * slotshift:digest-chunk:v1
 * KEYS[1]: the key, digested across several calls because it is too large for one.
 * ARGV[1]: '1' to include TTL presence, '0' not.
 * ARGV[2]: the type the first call saw; a different type now means the key was replaced.
 * ARGV[3]: cursor, '0' on the first call.
 * ARGV[4]: accumulator so far, 16 hex.  ARGV[5]: elements (bytes for strings) hashed so far.
 * ARGV[6]: step — elements this call (SCAN COUNT hint for hash/set), 1 MiB pieces for strings.
 * Output: {'done', digest} | {'more', cursor, accumulator, count} | {'changed'} (key gone or replaced).
 * A chunked digest is not a snapshot: a write to the key between calls yields a digest of neither
 * state (and SCAN may then repeat elements); callers compare again before reporting a difference.
 */
export const DIGEST_CHUNK_SCRIPT = withDigestLibrary(String.raw`
-- slotshift:digest-chunk:v1
local key = KEYS[1]
local kind = ARGV[2]
if redis.call('TYPE', key).ok ~= kind then return { 'changed' } end
local acc = ss.unhex(ARGV[4])
local cursor, n = ss.step(key, kind, ARGV[3], acc, tonumber(ARGV[6]))
local count = tonumber(ARGV[5]) + n
if cursor then return { 'more', cursor, ss.hex(acc), tostring(count) } end
return { 'done', ss.finish_collection(key, kind, ss.ttl_flag(key, ARGV[1] == '1'), count, acc) }
`);

/**
 * slotshift:slot-fold:v1
 * The checksum of a whole slot on this node, taken in one atomic call: the key names never travel
 * to the caller and back, and the reply is two values however many keys the slot holds. Verifying a
 * moved slot sent every key name to the target once more and parsed a digest per key, in the
 * process that runs the move (the busiest one); the per-key path is now only needed when this
 * answer differs. The node spends about what the per-key path cost it (bench/README.md).
 * KEYS: none; the slot must be served by this node (the keys are read undeclared, which Redis allows
 *       for keys of its own slots).
 * ARGV[1]: slot.  ARGV[2]: '1' to include TTL presence, '0' not.
 * ARGV[3]: most keys to fold; a slot with more answers {'large', count}, as the call would block
 *          the node for too long: the caller digests it key by key instead.
 * ARGV[4]: inline_max, as in digest-batch: a larger value also answers {'large', count}.
 * ARGV[5]: budget in cost units (as in digest-batch); spent before the end, {'large', count}.
 * ARGV[6]: '1' to read string values with MGET first (see digest-batch's ARGV[4]).
 * Output: {count, xor} — keys that exist and the XOR of their digests (16 hex) — or {'large', count}.
 */
export const SLOT_FOLD_SCRIPT = withDigestLibrary(String.raw`
-- slotshift:slot-fold:v1
local slot = tonumber(ARGV[1])
local include_ttl = ARGV[2] == '1'
local inline_max = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local n = redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot)
if n > tonumber(ARGV[3]) then return { 'large', n } end
if n == 0 then return { 0, ss.hex({ 0, 0 }) } end
local names = redis.call('CLUSTER', 'GETKEYSINSLOT', slot, n)
local values = ARGV[6] == '1' and ss.mget(names) or {}
-- The string case inlined with local function references: ss.finish per key, global lookups and a
-- table accumulator made the fold cost the node more than the per-key path it replaces.
local sha1hex, sub, bxor, floor = redis.sha1hex, string.sub, bit.bxor, math.floor
local a1, a2 = 0, 0
local count, spent = 0, 0
for i = 1, #names do
  local name, v = names[i], values[i]
  local r, cost
  if v and #v <= ss.PIECE then
    local ttl = include_ttl and ss.ttl_flag(name, true) or '-'
    r = sha1hex('ss1\0string\0' .. ttl .. '\0' .. #name .. ':' .. name .. '=' .. v)
    cost = 1 + floor(#v / 1024)
  else
    r, cost = ss.digest_key(name, include_ttl, inline_max)
    if type(r) == 'table' then return { 'large', n } end
  end
  -- 0: listed but expired since; it is no longer part of the slot.
  if r ~= 0 then
    a1 = bxor(a1, tonumber(sub(r, 1, 8), 16))
    a2 = bxor(a2, tonumber(sub(r, 9, 16), 16))
    count = count + 1
  end
  spent = spent + cost
  if spent > budget and i < #names then return { 'large', n } end
end
return { count, ss.hex({ a1, a2 }) }
`);
