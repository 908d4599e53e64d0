"""Redis stores (redis-py, blocking and asyncio; a single server or Redis Cluster).

Layout, under a key prefix (default ``rolltoken:``):

- ``{prefix}s:{session id hex}``: the core's 128-byte record, with a TTL that follows its
  absolute expiry. A save is a compare-and-swap done by one Lua script on that one key (the
  write version is bytes 64..72 of the record), so it is atomic and runs unchanged on Redis
  Cluster.
- ``{prefix}u:{subject hex}``: a set of the subject's session ids, for revoke-all. A session
  is indexed *before* its record is inserted, so the index never misses a session (a
  password change must reach every device); ids whose record is gone or revoked are dropped
  when listed. A subject never changes, so nothing else writes the index.

Durability: a save that revokes (logout, reuse, revoke-all) is followed by ``WAIT`` on the
same connection, so it is on ``replicas`` replicas before it is acknowledged (``"auto"``: one
when the master has any, else none; right after a failover the promoted master has none until
a replica rejoins, so deployments that need the guarantee through a second failure set
``replicas=1``, which answers ``store_unavailable`` to revocations while no replica is up). The core repairs a store that is behind forward (DESIGN
§6 rule 5), so a revocation lost in a failover would revive a stolen session; an ordinary
advance lost in a failover is repaired and costs nothing. A ``WAIT`` that times out raises
:class:`~rolltoken.StoreUnavailable` (the write may still land; the request is retried).

Every Redis failure raises :class:`~rolltoken.StoreUnavailable`; messages carry log ids only.

Cross-process revocation (cached mode): :class:`RedisDenyFeed` publishes each revocation on
a channel and in a sorted set scored by the time until which it must be refused; every
process listens, applies it to its local deny list, and reads the sorted set again after
each (re)connection, so a revocation published while it was disconnected still arrives.
Should a message be lost anyway, a revoked session passes cached checks for at most the
fresh window (``policy.fresh_ms``) after its last advance: then every request goes to the
store, which refuses it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, cast

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redis.exceptions import RedisClusterException, RedisError

from .._rolltoken import RECORD_LEN, SESSION_ID_LEN, Record, log_id
from ..errors import ConfigurationError, Conflict, StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

__all__ = ["AsyncRedisDenyFeed", "AsyncRedisStore", "RedisDenyFeed", "RedisStore"]

logger = logging.getLogger("rolltoken")

#: What redis-py raises when a server cannot be used: its errors, plus RedisClusterException
#: (not a RedisError) when no Cluster node answers, plus socket errors it lets through.
_REDIS_ERRORS = (RedisError, RedisClusterException, OSError)

#: Compare-and-swap of one record. KEYS[1]: the session's key. ARGV: expected version as 8
#: big-endian bytes ("" = the key must be absent), the new record, its TTL in ms. Returns 1
#: when stored, 0 on a conflict.
_SAVE = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if cur then return 0 end
else
  if not cur or string.len(cur) ~= RECORD_LEN or string.sub(cur, 65, 72) ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
""".replace("RECORD_LEN", str(RECORD_LEN))

#: Adds a session to its subject's index and keeps the index alive as long as its longest
#: session. KEYS[1]: the index. ARGV: session id, TTL in ms.
_INDEX = """
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""

#: A record kept past its expiry (refused as expired either way) for this long, so that a
#: late request is told "expired" rather than "unknown".
_EXPIRY_MARGIN_MS = 60_000
_PREFIX = re.compile(r"[A-Za-z0-9_.:{}-]{0,64}\Z")

Replicas = Union[int, str]


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ValueError("prefix must be up to 64 of A-Z a-z 0-9 _ . : { } -")
    return prefix


def _check_replicas(replicas: Replicas) -> Replicas:
    if replicas == "auto" or (isinstance(replicas, int) and not isinstance(replicas, bool) and replicas >= 0):
        return replicas
    raise ValueError("replicas must be 'auto' or an int >= 0")


def _sid(session_id: bytes) -> bytes:
    if not isinstance(session_id, bytes):
        raise TypeError("session_id must be bytes")
    if len(session_id) != SESSION_ID_LEN:
        raise ValueError(f"session_id must be exactly {SESSION_ID_LEN} bytes")
    return session_id


def _subject(subject: bytes) -> bytes:
    if not isinstance(subject, bytes) or len(subject) != 16:
        raise ValueError("subject must be exactly 16 bytes")
    return subject


def _version_bytes(version: Optional[int]) -> bytes:
    if version is None:
        return b""
    if not 0 <= version < 2**64:
        raise ValueError("expected_version must be in 0..2**64")
    return version.to_bytes(8, "big")


def _ttl_ms(record: Record, now_ms: int) -> int:
    return max(record.expires_at - now_ms, 0) + _EXPIRY_MARGIN_MS


def _check_record(record: Record) -> Record:
    if not isinstance(record, Record):
        raise TypeError("record must be a rolltoken.Record")
    return record


def _unavailable(what: str, error: BaseException, session_id: Optional[bytes] = None) -> StoreUnavailable:
    where = f" (log_id={log_id(session_id)})" if session_id is not None else ""
    return StoreUnavailable(f"redis {what} failed{where}: {type(error).__name__}")


class _Keys:
    """Key names and the decisions about durability shared by both stores."""

    def __init__(self, prefix: str, replicas: Replicas, wait_timeout_ms: int) -> None:
        self.prefix = _check_prefix(prefix)
        self.replicas = _check_replicas(replicas)
        if not isinstance(wait_timeout_ms, int) or wait_timeout_ms <= 0:
            raise ValueError("wait_timeout_ms must be a positive int")
        self.wait_timeout_ms = wait_timeout_ms

    def session(self, session_id: bytes) -> str:
        return f"{self.prefix}s:{_sid(session_id).hex()}"

    def subject(self, subject: bytes) -> str:
        return f"{self.prefix}u:{_subject(subject).hex()}"

    @staticmethod
    def replicas_of(info: Dict[str, Any]) -> int:
        try:
            return int(info.get("connected_slaves", 0))
        except (TypeError, ValueError):
            return 0

    def required(self, connected: int) -> int:
        if self.replicas == "auto":
            return min(1, connected)
        return int(self.replicas)

    @staticmethod
    def durable(results: Sequence[Any], required: int) -> int:
        """The script's answer, once ``WAIT`` confirmed ``required`` replicas."""
        stored = int(results[0])
        if stored and required and int(results[1]) < required:
            raise _NotDurable()
        return stored

    @staticmethod
    def listed(
        ids: Sequence[bytes], raws: Sequence[Optional[bytes]], subject: bytes, now_ms: int
    ) -> Tuple[List[bytes], List[bytes]]:
        """(active ids, stale ids) from the index members and their records."""
        from .._rolltoken import decode_record  # the binding, not a decision of ours

        active: List[bytes] = []
        stale: List[bytes] = []
        for sid, raw in zip(ids, raws):
            try:
                record = decode_record(raw) if raw is not None else None
            except ValueError:
                record = None  # damaged: the core refuses it; nothing to revoke
            if record is None or not record.is_active or record.subject != subject:
                stale.append(sid)
            elif record.expires_at > now_ms:
                active.append(sid)
        return active, stale


def _raw(value: Any) -> Optional[bytes]:
    """A stored record as bytes; text means a client made with ``decode_responses=True``."""
    if value is None or isinstance(value, bytes):
        return value
    raise ConfigurationError("the Redis client must be created with decode_responses=False")


def _members(raw: Any) -> List[bytes]:
    return [bytes.fromhex(m.decode() if isinstance(m, bytes) else str(m)) for m in raw or ()]


class RedisStore:
    """Sessions in Redis through a blocking ``redis.Redis`` or ``redis.RedisCluster`` client
    (create it with ``decode_responses=False``, the default). Safe to share between threads
    (redis-py's clients are). See the module for the layout and the guarantees.

    ``replicas``: how many replicas a revocation must reach before it is acknowledged
    (``"auto"``: one if the master has any); ``wait_timeout_ms``: how long ``WAIT`` may take.
    """

    def __init__(
        self,
        client: Union[redis.Redis, RedisCluster],
        *,
        prefix: str = "rolltoken:",
        replicas: Replicas = "auto",
        wait_timeout_ms: int = 1000,
    ) -> None:
        if not isinstance(client, (redis.Redis, RedisCluster)):
            raise TypeError("client must be a redis.Redis or redis.RedisCluster")
        self._client = client
        self._keys = _Keys(prefix, replicas, wait_timeout_ms)
        self._save = client.register_script(_SAVE)
        self._index = client.register_script(_INDEX)
        self._cluster = isinstance(client, RedisCluster)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """A store over ``redis.Redis.from_url(url)`` with 2 s socket timeouts and one quick
        retry (redis-py's default retries for about 4 s, so an outage would answer each
        request that late; build your own client the same way)."""
        client = redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 1)
        )
        return cls(client, **options)

    @property
    def client(self) -> Union[redis.Redis, RedisCluster]:
        return self._client

    def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]:
        """The record, or ``None``. Reads go to the master (redis-py's default, also on a
        Cluster), so ``primary`` changes nothing."""
        key = self._keys.session(session_id)
        try:
            raw = self._client.get(key)
        except _REDIS_ERRORS as e:
            raise _unavailable("load", e, session_id) from None
        return _raw(raw)

    def save(self, record: Record, expected_version: Optional[int], now_ms: int) -> None:
        """Compare-and-swap (see the module); ``WAIT`` after a revocation."""
        record = _check_record(record)
        sid = record.session_id
        key = self._keys.session(sid)
        args: List[Union[bytes, int]] = [
            _version_bytes(expected_version),
            record.encode(),
            _ttl_ms(record, now_ms),
        ]
        try:
            if expected_version is None:
                # Indexed first: an index may name a session that was never stored, never
                # the other way round.
                self._index(keys=[self._keys.subject(record.subject)], args=[sid.hex(), _ttl_ms(record, now_ms)])
            if record.is_active:
                stored = self._save(keys=[key], args=args)
            else:
                stored = self._save_durably(key, args)
        except (*_REDIS_ERRORS, _NotDurable) as e:
            raise _unavailable("save", e, sid) from None
        if not stored:
            raise Conflict("session record changed concurrently")

    def _save_durably(self, key: str, args: List[Union[bytes, int]]) -> int:
        # WAIT counts the writes of its own connection: the script and WAIT go down one
        # connection (a pipeline), to the master of the key's slot.
        node: Any = self._client
        if isinstance(node, RedisCluster):
            owner = node.get_node_from_key(key)  # type: ignore[no-untyped-call]
            if owner is None or owner.redis_connection is None:
                raise _NotDurable()
            node = owner.redis_connection
        required = self._keys.required(
            _Keys.replicas_of(node.info("replication")) if self._keys.replicas == "auto" else 0
        )
        pipe = node.pipeline(transaction=False)
        pipe.eval(_SAVE, 1, key, *args)
        if required:
            pipe.execute_command("WAIT", required, self._keys.wait_timeout_ms)
        return _Keys.durable(pipe.execute(), required)

    def delete(self, session_id: bytes) -> None:
        try:
            self._client.delete(self._keys.session(session_id))
        except _REDIS_ERRORS as e:
            raise _unavailable("delete", e, session_id) from None

    def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]:
        """The subject's active sessions; ids of gone or revoked ones leave the index."""
        index = self._keys.subject(subject)
        try:
            ids = _members(self._client.smembers(index))
            if not ids:
                return []
            pipe = self._client.pipeline(transaction=False)
            for sid in ids:
                pipe.get(self._keys.session(sid))
            raws = [_raw(r) for r in pipe.execute()]
            active, stale = _Keys.listed(ids, raws, subject, now_ms)
            if stale:
                self._client.srem(index, *[s.hex() for s in stale])
        except _REDIS_ERRORS as e:
            raise _unavailable("list", e) from None
        return active


class AsyncRedisStore:
    """:class:`RedisStore` for asyncio, through ``redis.asyncio.Redis`` or
    ``redis.asyncio.RedisCluster``."""

    def __init__(
        self,
        client: Union[redis.asyncio.Redis, AsyncRedisCluster],
        *,
        prefix: str = "rolltoken:",
        replicas: Replicas = "auto",
        wait_timeout_ms: int = 1000,
    ) -> None:
        from redis.asyncio.cluster import RedisCluster as AsyncCluster

        if not isinstance(client, (redis.asyncio.Redis, AsyncCluster)):
            raise TypeError("client must be a redis.asyncio.Redis or redis.asyncio.RedisCluster")
        self._client = client
        self._keys = _Keys(prefix, replicas, wait_timeout_ms)
        self._save = client.register_script(_SAVE)
        self._index = client.register_script(_INDEX)
        self._cluster_type = AsyncCluster
        self._nodes: Dict[str, redis.asyncio.Redis] = {}
        self._owns_client = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AsyncRedisStore:
        """A store over ``redis.asyncio.Redis.from_url(url)`` (2 s socket timeouts)."""
        client = redis.asyncio.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=AsyncRetry(NoBackoff(), 1)
        )
        store = cls(client, **options)
        store._owns_client = True
        return store

    @property
    def client(self) -> Union[redis.asyncio.Redis, AsyncRedisCluster]:
        return self._client

    async def aclose(self) -> None:
        """Closes the per-master connections made for revocations (and the client, when
        :meth:`from_url` made it). A client you passed in stays yours to close."""
        nodes, self._nodes = list(self._nodes.values()), {}
        for node in nodes:
            await node.aclose()
            await node.connection_pool.disconnect()  # a pool passed in is not closed by aclose
        if self._owns_client:
            await self._client.aclose()

    async def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]:
        key = self._keys.session(session_id)
        try:
            raw = await self._client.get(key)
        except _REDIS_ERRORS as e:
            raise _unavailable("load", e, session_id) from None
        return _raw(raw)

    async def save(self, record: Record, expected_version: Optional[int], now_ms: int) -> None:
        record = _check_record(record)
        sid = record.session_id
        key = self._keys.session(sid)
        args: List[Union[bytes, int]] = [
            _version_bytes(expected_version),
            record.encode(),
            _ttl_ms(record, now_ms),
        ]
        try:
            if expected_version is None:
                await self._index(keys=[self._keys.subject(record.subject)], args=[sid.hex(), _ttl_ms(record, now_ms)])
            if record.is_active:
                stored = await self._save(keys=[key], args=args)
            else:
                stored = await self._save_durably(key, args)
        except (*_REDIS_ERRORS, _NotDurable) as e:
            raise _unavailable("save", e, sid) from None
        if not stored:
            raise Conflict("session record changed concurrently")

    async def _save_durably(self, key: str, args: List[Union[bytes, int]]) -> int:
        node = self._node_client(key)
        required = self._keys.required(
            _Keys.replicas_of(await node.info("replication")) if self._keys.replicas == "auto" else 0
        )
        pipe = node.pipeline(transaction=False)
        pipe.eval(_SAVE, 1, key, *args)
        if required:
            pipe.execute_command("WAIT", required, self._keys.wait_timeout_ms)
        return _Keys.durable(await pipe.execute(), required)

    def _node_client(self, key: str) -> redis.asyncio.Redis:
        """A client of the master that owns ``key`` (one per master, kept)."""
        if not isinstance(self._client, self._cluster_type):
            return self._client
        owner: Any = cast(Any, self._client).get_node_from_key(key)
        if owner is None:
            raise _NotDurable()
        name = f"{owner.host}:{owner.port}"
        client = self._nodes.get(name)
        if client is None:
            pool = redis.asyncio.ConnectionPool(
                connection_class=owner.connection_class, **owner.connection_kwargs
            )
            client = self._nodes[name] = redis.asyncio.Redis(connection_pool=pool)
        return client

    async def delete(self, session_id: bytes) -> None:
        try:
            await self._client.delete(self._keys.session(session_id))
        except _REDIS_ERRORS as e:
            raise _unavailable("delete", e, session_id) from None

    async def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]:
        index = self._keys.subject(subject)
        try:
            ids = _members(await self._client.smembers(index))
            if not ids:
                return []
            raws: List[Optional[bytes]] = []
            for sid in ids:
                raw = await self._client.get(self._keys.session(sid))
                raws.append(_raw(raw))
            active, stale = _Keys.listed(ids, raws, subject, now_ms)
            if stale:
                await self._client.srem(index, *[s.hex() for s in stale])
        except _REDIS_ERRORS as e:
            raise _unavailable("list", e) from None
        return active


class _NotDurable(Exception):
    """A revocation reached fewer replicas than required within the timeout."""


# Cross-process revocations.


class RedisDenyFeed:
    """Carries revocations between processes for cached mode: ``publish`` adds the revoked
    session to a sorted set ``{prefix}denied`` (score: refuse until, in ms) and announces it
    on channel ``{prefix}deny``; a listener thread applies what it hears to the local deny
    list (``Sessions.deny``) and re-reads the sorted set after every (re)subscription (its
    own reconnections and redis-py's) and every ``resync_s`` seconds, so a lost message costs
    at most ``resync_s`` while Redis is reachable.

    ``client`` is a blocking ``redis.Redis`` or ``redis.RedisCluster``. ``Sessions(...,
    deny_feed=feed)`` attaches the feed; call :meth:`close` at shutdown.
    """

    def __init__(
        self,
        client: Union[redis.Redis, RedisCluster],
        *,
        prefix: str = "rolltoken:",
        clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        reconnect_delay_s: float = 0.2,
        resync_s: float = 10.0,
    ) -> None:
        if not isinstance(client, (redis.Redis, RedisCluster)):
            raise TypeError("client must be a redis.Redis or redis.RedisCluster")
        if not resync_s > 0:
            raise ValueError("resync_s must be positive")
        self._resync_s = float(resync_s)
        self._client = client
        self._prefix = _check_prefix(prefix)
        self._set = f"{self._prefix}denied"
        self._channel = f"{self._prefix}deny"
        self._clock = clock
        self._delay = reconnect_delay_s
        self._targets: List[Callable[..., None]] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        #: Times the listener (re)subscribed and caught up; for tests and monitoring.
        self.catch_ups = 0
        self.caught_up = threading.Event()

    def publish(self, session_id: bytes, until_ms: int) -> None:
        """Announces a revocation; raises :class:`StoreUnavailable` when Redis is down (the
        revocation itself is already durable in the store)."""
        sid = _sid(session_id)
        now = self._clock()
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.zadd(self._set, {sid.hex(): until_ms})
            pipe.zremrangebyscore(self._set, "-inf", now)
            pipe.execute()
            self._client.publish(self._channel, f"{sid.hex()}:{until_ms}")
        except _REDIS_ERRORS as e:
            raise _unavailable("deny publish", e, sid) from None

    def attach(self, sessions: Any) -> None:
        """Applies every revocation to ``sessions`` (anything with ``deny(session_id,
        until_ms)``), starting the listener thread on first use."""
        with self._lock:
            self._targets.append(sessions.deny)
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="rolltoken-deny-feed", daemon=True)
                self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stops the listener (bounded wait)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _apply(self, session_id: bytes, until_ms: int) -> None:
        now = self._clock()
        if until_ms <= now:
            return
        for deny in list(self._targets):
            deny(session_id, until_ms, now_ms=now)

    def _catch_up(self) -> None:
        now = self._clock()
        entries: Any = self._client.zrangebyscore(self._set, now, "+inf", withscores=True)
        for member, score in entries:
            text = member.decode() if isinstance(member, bytes) else str(member)
            self._apply(bytes.fromhex(text), int(score))
        self.catch_ups += 1
        self.caught_up.set()

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = cast(Any, self._client).pubsub()
                pubsub.subscribe(self._channel)
                resync_at = float("inf")
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    kind = message.get("type") if message is not None else None
                    if kind == "subscribe":
                        # The first subscription, or redis-py's own resubscription after it
                        # reconnected by itself: subscribed first, then read the set, so
                        # nothing published while the connection was down is missed.
                        self._catch_up()
                        resync_at = time.monotonic() + self._resync_s
                    elif kind == "message" and message is not None:
                        self._handle(message.get("data"))
                    if time.monotonic() >= resync_at:  # belt and braces: a lost message
                        self._catch_up()
                        resync_at = time.monotonic() + self._resync_s
            except _REDIS_ERRORS:
                logger.warning("rolltoken: deny feed disconnected; reconnecting", exc_info=True)
                self.caught_up.clear()
                self._stop.wait(self._delay)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except _REDIS_ERRORS:
                        pass

    def _handle(self, data: Any) -> None:
        try:
            text = data.decode() if isinstance(data, bytes) else str(data)
            sid_hex, until = text.split(":", 1)
            sid = bytes.fromhex(sid_hex)
            if len(sid) != SESSION_ID_LEN:
                raise ValueError("bad session id")
            self._apply(sid, int(until))
        except ValueError:
            logger.warning("rolltoken: malformed deny feed message ignored")


class AsyncRedisDenyFeed:
    """:class:`RedisDenyFeed` for :class:`rolltoken.AsyncSessions`: publishing runs in a
    worker thread (never blocking the loop); the listener is the blocking feed's thread."""

    def __init__(self, feed: RedisDenyFeed) -> None:
        if not isinstance(feed, RedisDenyFeed):
            raise TypeError("feed must be a RedisDenyFeed")
        self.feed = feed

    async def publish(self, session_id: bytes, until_ms: int) -> None:
        await asyncio.to_thread(self.feed.publish, session_id, until_ms)

    def attach(self, sessions: Any) -> None:
        self.feed.attach(sessions)

    def close(self, timeout: float = 5.0) -> None:
        self.feed.close(timeout)

