"""The hot tier's key layout and the Lua scripts that change one user's state atomically.

Keys (``is`` is the configurable prefix; ``{T}`` is the user's slot-group hash tag,
``store.redis_slots.slot_tag(user)``, one of ``SLOT_GROUPS`` fixed tags):

  is:{T}:<user>:session         hash: started, seen (epoch ms), partition
  is:{T}:<user>:view:<kind>     zset: encoded interaction -> -ts_ms, trimmed to the newest N
  is:{T}:<user>:dirty           zset: encoded interaction -> lowest Kafka offset seen; unbounded
  is:sessions:p<N>:{T}          zset: user -> last seen ms        (idle flushes, rebalances)
  is:started:p<N>:{T}           zset: user -> session start ms    (maximum-length flushes)
  is:dirtyoff:p<N>:{T}          zset: user -> lowest dirty offset (the durability watermark)
  is:sentinel:p<N>:{T}          string: set once the partition's hot data of the group is known
                                complete

A partition's indexes and sentinel are kept per slot group: the users of group g and their
entries in every index are in one hash slot, so a user's script never spans slots (Redis
Cluster) and a cluster node restarted empty takes the sentinels of its groups with it.

Scripts receive one user's keys, then its partition's index keys of the user's group (and, for
``evict``, that group's sentinel), all declared, as Dragonfly requires. They run on Lua 5.1
(Redis) and 5.4 (Dragonfly): numbers go back to Redis as the strings they came in as, never
formatted by Lua.
"""

from __future__ import annotations

import hashlib

from store.interactions import INTERACTION_KINDS
from store.redis_slots import BRACED_TAGS, slot_group, slot_tag

KIND_SLOT = {kind: position for position, kind in enumerate(INTERACTION_KINDS, start=1)}
"""The kind's view is KEYS[2 + slot]."""


class KeyLayout:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def user_keys(self, user_id: str) -> list[str]:
        """session, dirty, then one view per kind (INTERACTION_KINDS order)."""
        base = f"{self.prefix}:{slot_tag(user_id)}:{user_id}:"
        return [base + "session", base + "dirty", *(base + f"view:{k}" for k in INTERACTION_KINDS)]

    def session_key(self, user_id: str) -> str:
        """``user_keys(user_id)[0]``, alone."""
        return f"{self.prefix}:{slot_tag(user_id)}:{user_id}:session"

    def partition_keys(self, partition: int, group: int) -> list[str]:
        """seen, started, dirty offsets of the partition's users of slot group ``group``."""
        tail = f":p{partition}:{BRACED_TAGS[group]}"
        return [f"{self.prefix}:{name}{tail}" for name in ("sessions", "started", "dirtyoff")]

    def sentinel(self, partition: int, group: int) -> str:
        return f"{self.prefix}:sentinel:p{partition}:{BRACED_TAGS[group]}"

    def script_keys(self, user_id: str, partition: int) -> list[str]:
        """The user's keys, then its partition's index keys of its group: one slot."""
        return self.user_keys(user_id) + self.partition_keys(partition, slot_group(user_id))


_PRELUDE = f"""
local unpack = table.unpack or unpack
local SESSION, DIRTY, SEEN = 1, 2, {3 + len(INTERACTION_KINDS)}
local STARTED, DIRTYOFF, SENTINEL = SEEN + 1, SEEN + 2, SEEN + 3
local function expire_all(ttl)
  for k = SESSION, DIRTYOFF do redis.call('EXPIRE', KEYS[k], ttl) end
end
"""

HYDRATE = (
    _PRELUDE
    + """
-- ARGV: user, now, ttl, keep, partition, then per kind: its slot, its count n, and n
-- (-ts, member) pairs, each kind's pairs handed to ZADD straight from ARGV (no copy).
local user, now, ttl, keep = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local started = redis.call('HGET', KEYS[SESSION], 'started') or now
redis.call('ZADD', KEYS[SEEN], now, user)
redis.call('ZADD', KEYS[STARTED], started, user)
local i, views = 6, {}
while i <= #ARGV do
  local k, last = 2 + tonumber(ARGV[i]), i + 1 + 2 * tonumber(ARGV[i + 1])
  for j = i + 2, last, 2000 do
    redis.call('ZADD', KEYS[k], unpack(ARGV, j, math.min(j + 1999, last)))
  end
  views[k] = true
  i = last + 1
end
for k in pairs(views) do
  redis.call('ZREMRANGEBYRANK', KEYS[k], keep, -1)
end
redis.call('HSET', KEYS[SESSION], 'started', started, 'seen', now, 'partition', ARGV[5])
expire_all(ttl)
return 1
"""
)

APPEND = (
    _PRELUDE
    + """
-- ARGV: user, now, ttl, keep, then (kind slot, -ts, offset, member) quadruples.
-- Nothing happens unless the session is live; without quadruples it is a touch.
-- One ZADD per view touched and one ZADD LT for the dirty set (a member is added, or its
-- offset lowered, never raised), in chunks of 1,000 pairs; the user's lowest offset by ZADD LT.
if redis.call('EXISTS', KEYS[SESSION]) == 0 then return 0 end
local user, now, ttl, keep = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local views, dirty, low, low_text = {}, {}, nil, nil
for i = 5, #ARGV, 4 do
  local k, offset, member = 2 + tonumber(ARGV[i]), tonumber(ARGV[i + 2]), ARGV[i + 3]
  local view = views[k] or {}
  views[k] = view
  view[#view + 1] = ARGV[i + 1]
  view[#view + 1] = member
  dirty[#dirty + 1] = ARGV[i + 2]
  dirty[#dirty + 1] = member
  if not low or offset < low then low, low_text = offset, ARGV[i + 2] end
end
local function zadd(key, flag, pairs_)
  for j = 1, #pairs_, 2000 do
    local last = math.min(j + 1999, #pairs_)
    if flag then
      redis.call('ZADD', key, flag, unpack(pairs_, j, last))
    else
      redis.call('ZADD', key, unpack(pairs_, j, last))
    end
  end
end
for k, view in pairs(views) do
  zadd(KEYS[k], nil, view)
  redis.call('ZREMRANGEBYRANK', KEYS[k], keep, -1)
end
zadd(KEYS[DIRTY], 'LT', dirty)
redis.call('HSET', KEYS[SESSION], 'seen', now)
redis.call('ZADD', KEYS[SEEN], now, user)
if low then redis.call('ZADD', KEYS[DIRTYOFF], 'LT', low_text, user) end
expire_all(ttl)
return 1
"""
)

EVICT = (
    _PRELUDE
    + """
-- ARGV: user, keep live ('1' or '0'), then the flushed members. Removes them from the dirty set;
-- if nothing is left dirty, deletes the session (unless kept live). Returns 0 kept, 1 evicted,
-- 2 evicted a session whose keys had expired with a dirty offset still indexed: its unflushed
-- interactions are lost from Redis, so the partition's sentinel goes too (recovery replays).
local user, keep_live = ARGV[1], ARGV[2] == '1'
for j = 3, #ARGV, 1000 do
  redis.call('ZREM', KEYS[DIRTY], unpack(ARGV, j, math.min(j + 999, #ARGV)))
end
local left = redis.call('ZRANGE', KEYS[DIRTY], 0, 0, 'WITHSCORES')
if #left > 0 then
  redis.call('ZADD', KEYS[DIRTYOFF], left[2], user)
  return 0
end
local gone = redis.call('EXISTS', KEYS[SESSION]) == 0
if keep_live and not gone then
  redis.call('ZREM', KEYS[DIRTYOFF], user)
  return 0
end
local result = 1
if #ARGV == 2 and gone and redis.call('ZSCORE', KEYS[DIRTYOFF], user) then
  redis.call('DEL', KEYS[SENTINEL])
  result = 2
end
for k = SESSION, SEEN - 1 do redis.call('DEL', KEYS[k]) end
for k = SEEN, DIRTYOFF do redis.call('ZREM', KEYS[k], user) end
return result
"""
)

RECENT = """
-- One user's newest interactions across kinds, read atomically (never half a hydration or
-- eviction) and merged here, so only the answer crosses the wire.
-- KEYS[1]: the session; KEYS[2..]: the views of the kinds read. ARGV[1]: the limit; then per
-- view its score window (min, max). Not live: false. Each view is already in (score, member
-- bytes) order; the merge keeps that order across views, comparing members byte by byte on
-- equal scores (Lua's < on strings follows the server's locale).
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local limit = tonumber(ARGV[1])
if #KEYS == 2 then
  return redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[2], ARGV[3], 'LIMIT', 0, limit)
end
local views, heads, scores = {}, {}, {}
for v = 1, #KEYS - 1 do
  views[v] = redis.call('ZRANGEBYSCORE', KEYS[v + 1], ARGV[2 * v], ARGV[2 * v + 1],
    'WITHSCORES', 'LIMIT', 0, limit)
  heads[v] = 1
  scores[v] = views[v][2] and tonumber(views[v][2])
end
local function bytes_before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local out, n = {}, 0
while n < limit do
  local best = nil
  for v = 1, #views do
    local score = scores[v]
    if score and (best == nil or score < scores[best] or (score == scores[best]
        and bytes_before(views[v][heads[v]], views[best][heads[best]]))) then
      best = v
    end
  end
  if best == nil then break end
  local head = heads[best]
  n = n + 1
  out[n] = views[best][head]
  heads[best] = head + 2
  scores[best] = views[best][head + 3] and tonumber(views[best][head + 3])
end
return out
"""

LIVE = "local f = {} for i = 1, #KEYS do f[i] = redis.call('EXISTS', KEYS[i]) end return f"
"""Per session key 1 (live) or 0, in one reply: an EXISTS per user in a pipeline cost redis-py
a reply to parse per user (a batch checks every user it holds)."""

SENTINELS = """
-- KEYS: quadruples (a partition's sentinel of a slot group, then its index keys of that group);
-- ARGV[1]: the TTL, renewed on all four. Per quadruple: 1 if the sentinel is there, else 0.
local out = {}
for i = 1, #KEYS, 4 do
  out[#out + 1] = redis.call('EXISTS', KEYS[i])
  for k = i, i + 3 do redis.call('EXPIRE', KEYS[k], ARGV[1]) end
end
return out
"""

DIRTY_OFFSETS = """
-- KEYS: pairs (a partition's sentinel of a slot group, its dirty offsets of that group), read
-- atomically. Per pair: 1 if the sentinel is there, else 0; then the lowest offset, or ''.
local out = {}
for i = 1, #KEYS, 2 do
  out[i] = redis.call('EXISTS', KEYS[i])
  local low = redis.call('ZRANGE', KEYS[i + 1], 0, 0, 'WITHSCORES')
  out[i + 1] = low[2] or ''
end
return out
"""
FLUSH_DUE = """
-- KEYS: pairs (a partition's seen index of a slot group, its started index of that group);
-- ARGV: idle before, started before (exclusive), limit. Per key: the first ARGV[3] members
-- below its bound, with their scores (flat).
local out = {}
for i = 1, #KEYS do
  local before = (i % 2 == 1) and ARGV[1] or ARGV[2]
  out[i] = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', '(' .. before, 'WITHSCORES',
    'LIMIT', 0, ARGV[3])
end
return out
"""

MEMBERS = """
-- Per key (sorted sets): every member.
local out = {}
for i = 1, #KEYS do out[i] = redis.call('ZRANGE', KEYS[i], 0, -1) end
return out
"""
# LIVE, SENTINELS, DIRTY_OFFSETS, FLUSH_DUE and MEMBERS go with EVAL (the server caches them by
# hash; a restarted server needs no reload): over many slots on one node, per group on a cluster.

SCRIPTS = {"hydrate": HYDRATE, "append": APPEND, "evict": EVICT, "recent": RECENT}
SHAS = {
    name: hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
    for name, source in SCRIPTS.items()
}
