"""The session façade: :class:`Sessions` (blocking) and :class:`AsyncSessions` (asyncio).

Both take any store that keeps the store contract (:mod:`rolltoken.stores`): the in-memory
:class:`~rolltoken.MemoryStore` by default, Redis or PostgreSQL past one process. Over a
``MemoryStore`` a whole request is one native call; over another store the same engine
decides and :mod:`rolltoken._driver` sequences the store calls. Nothing here decides.
"""

from __future__ import annotations

import inspect
from typing import Optional, Union, cast

from . import _driver
from ._driver import AsyncDenyFeed, DenyFeed
from ._rolltoken import (
    Engine,
    Finish,
    Keyring,
    Kind,
    LoginPlan,
    MemoryStore,
    Outcome,
    Policy,
    Record,
    RevokeReason,
    Step,
)
from .errors import ConfigurationError
from .stores._protocol import AsyncSessionStore, SessionStore

__all__ = ["AsyncSessions", "Sessions"]

Text = Union[str, bytes]


def _subject_bytes(subject: Union[bytes, int]) -> bytes:
    if isinstance(subject, bool) or not isinstance(subject, (bytes, int)):
        raise TypeError("subject must be bytes or int")
    if isinstance(subject, int):
        if not 0 <= subject < 2**64:
            raise ValueError("an int subject must be in 0..2**64")
        return subject.to_bytes(16, "big")  # Subject::from_u64: big-endian in the last 8 bytes
    if len(subject) != 16:
        raise ValueError("subject must be exactly 16 bytes")
    return subject


def _is_async_store(store: object) -> bool:
    return inspect.iscoroutinefunction(getattr(store, "load", None))


class _Base:
    """What both façades share: the engine, its store-free halves, and the deny list."""

    __slots__ = ("_engine", "_store", "_memory")

    def __init__(self, keyring: Keyring, policy: Optional[Policy], store: object) -> None:
        if not isinstance(keyring, Keyring):
            raise TypeError(f"keyring must be a rolltoken.Keyring, not {type(keyring).__name__}")
        if policy is not None and not isinstance(policy, Policy):
            raise TypeError(f"policy must be a rolltoken.Policy, not {type(policy).__name__}")
        self._memory = store if isinstance(store, MemoryStore) else None
        self._engine = Engine(keyring, policy, store=self._memory)
        self._store = store

    @property
    def engine(self) -> Engine:
        """The core's decisions (the store-free halves), for a driver of your own."""
        return self._engine

    @property
    def keyring(self) -> Keyring:
        return self._engine.keyring

    @property
    def policy(self) -> Policy:
        return self._engine.policy

    # The store-free halves, as the engine has them (see Engine).

    def begin(
        self,
        cookie: Optional[Text],
        kind: Union[Kind, str],
        *,
        user_agent: Optional[Text] = None,
        ip: Optional[str] = None,
        now_ms: Optional[int] = None,
        new_session_id: Optional[bytes] = None,
    ) -> Step:
        """The half of a request that needs no store (see :class:`rolltoken.Step`)."""
        return self._engine.begin(
            cookie, kind, user_agent=user_agent, ip=ip, now_ms=now_ms, new_session_id=new_session_id
        )

    def finish(self, step: Step, record: Union[bytes, Record, None], *, from_primary: bool = False) -> Finish:
        """The half of a request that needs its record (see :class:`rolltoken.Finish`)."""
        return self._engine.finish(step, record, from_primary=from_primary)

    def store_failed(self, step: Step, conflict: bool) -> Outcome:
        """The answer when your store failed for ``step``."""
        return self._engine.store_failed(step, conflict)

    def plan_login(
        self,
        subject: Union[bytes, int],
        *,
        current_cookie: Optional[Text] = None,
        user_agent: Optional[Text] = None,
        ip: Optional[str] = None,
        now_ms: Optional[int] = None,
        new_session_id: Optional[bytes] = None,
    ) -> LoginPlan:
        """The store-free half of ``login`` (see :class:`rolltoken.LoginPlan`)."""
        return self._engine.plan_login(
            subject,
            current_cookie=current_cookie,
            user_agent=user_agent,
            ip=ip,
            now_ms=now_ms,
            new_session_id=new_session_id,
        )

    def logout_target(self, cookie: Text, *, now_ms: Optional[int] = None) -> Optional[bytes]:
        """The store-free half of ``logout``: the session id to revoke, or ``None``."""
        return self._engine.logout_target(cookie, now_ms=now_ms)

    def revoke_record(
        self, record: Union[bytes, Record], reason: Union[RevokeReason, str], *, now_ms: Optional[int] = None
    ) -> Optional[bytes]:
        """The store-free revocation: the record to save, or ``None`` when already revoked."""
        return self._engine.revoke_record(record, reason, now_ms=now_ms)

    def deny(self, session_id: bytes, until_ms: int, *, now_ms: Optional[int] = None) -> None:
        """Refuses ``session_id`` in cached mode until ``until_ms`` (a revocation made by
        another process; the deny feeds call this)."""
        self._engine.deny(session_id, until_ms, now_ms=now_ms)

    def deny_until(self, record: Union[bytes, Record], *, now_ms: Optional[int] = None) -> Optional[int]:
        """Until when other processes must refuse ``record``'s revoked session (cached mode)."""
        return self._engine.deny_until(record, now_ms=now_ms)

    def is_degraded(self, now_ms: Optional[int] = None) -> bool:
        """True while cached mode falls back to the store because the deny list was full."""
        return self._engine.is_degraded(now_ms)

    def __repr__(self) -> str:
        policy = self.policy
        stored = f", stored={len(self._memory)}" if self._memory is not None else ""
        return (
            f"{type(self).__name__}(mode='{policy.mode.value}', form='{policy.form.value}', "
            f"key_ids={self.keyring.key_ids}, store={type(self._store).__name__}{stored})"
        )


class Sessions(_Base):
    """Sessions under ``keyring`` and ``policy`` (default: ``Policy.default()``) kept in
    ``store``: a :class:`MemoryStore` (the default: one process), or any blocking store of
    the contract (:class:`rolltoken.stores.SessionStore`: ``RedisStore``, ``PostgresStore``).
    Safe to share between threads. ``deny_feed`` carries revocations to the other processes
    in cached mode (:class:`rolltoken.stores.redis.RedisDenyFeed`).

    ``now_ms`` defaults to the OS clock and ``new_session_id`` to 16 bytes from the OS RNG;
    ``user_agent`` is hashed as given (``str`` as UTF-8; the raw header as ``bytes``); ``ip``
    is the client address as text, or ``None``.
    """

    __slots__ = ("_feed",)

    def __init__(
        self,
        keyring: Keyring,
        policy: Optional[Policy] = None,
        *,
        store: Optional[SessionStore] = None,
        deny_feed: Optional[DenyFeed] = None,
    ) -> None:
        if store is None:
            store = MemoryStore()
        if _is_async_store(store):
            raise ConfigurationError("an asyncio store needs rolltoken.AsyncSessions")
        if not isinstance(store, SessionStore):
            raise TypeError(f"store must keep the store contract, not {type(store).__name__}")
        if deny_feed is not None and isinstance(store, MemoryStore):
            raise ConfigurationError("a MemoryStore is one process's: there is nobody to feed")
        super().__init__(keyring, policy, store)
        self._feed = deny_feed
        if deny_feed is not None and hasattr(deny_feed, "attach"):
            deny_feed.attach(self)

    @property
    def store(self) -> SessionStore:
        """The store."""
        return cast(SessionStore, self._store)

    def handle(
        self,
        cookie: Optional[Text],
        kind: Union[Kind, str],
        *,
        user_agent: Optional[Text] = None,
        ip: Optional[str] = None,
        now_ms: Optional[int] = None,
        new_session_id: Optional[bytes] = None,
    ) -> Outcome:
        """Decides one request: ``cookie`` is the session cookie's value (``None`` without
        one), ``kind`` whether it advances (a page load) or reads (an API call). Never raises
        for anything the cookie holds, nor for a store outage (rule ``store_unavailable``):
        every answer is an :class:`Outcome` naming its rule."""
        if self._memory is not None:
            return self._engine.handle(
                cookie, kind, user_agent=user_agent, ip=ip, now_ms=now_ms, new_session_id=new_session_id
            )
        step = self.begin(
            cookie, kind, user_agent=user_agent, ip=ip, now_ms=now_ms, new_session_id=new_session_id
        )
        return self._run(_driver.handle(self._engine, step))

    def login(
        self,
        subject: Union[bytes, int],
        *,
        current_cookie: Optional[Text] = None,
        user_agent: Optional[Text] = None,
        ip: Optional[str] = None,
        now_ms: Optional[int] = None,
        new_session_id: Optional[bytes] = None,
    ) -> Outcome:
        """Starts an authenticated session for ``subject`` (16 bytes, or an int user id) with
        a new id. When ``current_cookie`` holds a valid token, that session becomes the parent
        (anonymous) or is revoked as ``upgraded_at_login`` (authenticated). Returns rule
        ``fresh`` with the new token. Raises ``ValueError`` for the anonymous subject,
        :class:`Conflict` when the id exists, :class:`StoreUnavailable`."""
        now = _driver.now_ms() if now_ms is None else now_ms
        plan = self.plan_login(
            subject,
            current_cookie=current_cookie,
            user_agent=user_agent,
            ip=ip,
            now_ms=now,
            new_session_id=new_session_id,
        )
        return self._run(_driver.login(self._engine, plan, now))

    def logout(self, cookie: Text, *, now_ms: Optional[int] = None) -> Optional[str]:
        """Ends the session ``cookie`` names, for every holder. Returns its log id, or
        ``None`` when the cookie names no active stored session; clear the cookie either way.
        Raises :class:`StoreUnavailable` or :class:`Conflict`."""
        now = _driver.now_ms() if now_ms is None else now_ms
        return self._run(_driver.logout(self._engine, cookie, now))

    def revoke(
        self,
        session_id: bytes,
        reason: Union[RevokeReason, str] = RevokeReason.ADMIN,
        *,
        now_ms: Optional[int] = None,
    ) -> bool:
        """Revokes one session (e.g. "sign out that device"); whether it was active."""
        now = _driver.now_ms() if now_ms is None else now_ms
        return self._run(_driver.revoke(self._engine, session_id, RevokeReason(reason), now))

    def revoke_all(self, subject: Union[bytes, int], *, now_ms: Optional[int] = None) -> int:
        """Revokes every active session of ``subject`` (e.g. after a password change);
        returns how many were revoked."""
        now = _driver.now_ms() if now_ms is None else now_ms
        return self._run(_driver.revoke_all(self._engine, _subject_bytes(subject), now))

    def load_record(self, session_id: bytes) -> Optional[bytes]:
        """The stored record of ``session_id`` (from the primary; decode it with
        :func:`rolltoken.decode_record`), or ``None``."""
        return self.store.load(session_id, primary=True)

    def _run(self, steps: _driver.Steps[_driver.T]) -> _driver.T:
        return _driver.run(steps, self.store, self._feed)


class AsyncSessions(_Base):
    """:class:`Sessions` for asyncio: the same decisions, with the store calls awaited.
    ``store`` is an asyncio store of the contract (``AsyncRedisStore``,
    ``AsyncPostgresStore``) or a :class:`MemoryStore` (the default; its calls never block)."""

    __slots__ = ("_feed",)

    def __init__(
        self,
        keyring: Keyring,
        policy: Optional[Policy] = None,
        *,
        store: Union[AsyncSessionStore, MemoryStore, None] = None,
        deny_feed: Optional[AsyncDenyFeed] = None,
    ) -> None:
        if store is None:
            store = MemoryStore()
        if not isinstance(store, MemoryStore):
            if not _is_async_store(store):
                raise ConfigurationError("a blocking store needs rolltoken.Sessions")
            if not isinstance(store, AsyncSessionStore):
                raise TypeError(f"store must keep the store contract, not {type(store).__name__}")
        elif deny_feed is not None:
            raise ConfigurationError("a MemoryStore is one process's: there is nobody to feed")
        super().__init__(keyring, policy, store)
        self._feed = deny_feed
        if deny_feed is not None and hasattr(deny_feed, "attach"):
            deny_feed.attach(self)

    @property
    def store(self) -> Union[AsyncSessionStore, MemoryStore]:
        """The store."""
        return cast(Union[AsyncSessionStore, MemoryStore], self._store)

    async def handle(
        self,
        cookie: Optional[Text],
        kind: Union[Kind, str],
        *,
        user_agent: Optional[Text] = None,
        ip: Optional[str] = None,
        now_ms: Optional[int] = None,
        new_session_id: Optional[bytes] = None,
    ) -> Outcome:
        """As :meth:`Sessions.handle`."""
        if self._memory is not None:
            return self._engine.handle(
                cookie, kind, user_agent=user_agent, ip=ip, now_ms=now_ms, new_session_id=new_session_id
            )
        step = self.begin(
            cookie, kind, user_agent=user_agent, ip=ip, now_ms=now_ms, new_session_id=new_session_id
        )
        return await self._run(_driver.handle(self._engine, step))

    async def login(
        self,
        subject: Union[bytes, int],
        *,
        current_cookie: Optional[Text] = None,
        user_agent: Optional[Text] = None,
        ip: Optional[str] = None,
        now_ms: Optional[int] = None,
        new_session_id: Optional[bytes] = None,
    ) -> Outcome:
        """As :meth:`Sessions.login`."""
        now = _driver.now_ms() if now_ms is None else now_ms
        plan = self.plan_login(
            subject,
            current_cookie=current_cookie,
            user_agent=user_agent,
            ip=ip,
            now_ms=now,
            new_session_id=new_session_id,
        )
        return await self._run(_driver.login(self._engine, plan, now))

    async def logout(self, cookie: Text, *, now_ms: Optional[int] = None) -> Optional[str]:
        """As :meth:`Sessions.logout`."""
        now = _driver.now_ms() if now_ms is None else now_ms
        return await self._run(_driver.logout(self._engine, cookie, now))

    async def revoke(
        self,
        session_id: bytes,
        reason: Union[RevokeReason, str] = RevokeReason.ADMIN,
        *,
        now_ms: Optional[int] = None,
    ) -> bool:
        """As :meth:`Sessions.revoke`."""
        now = _driver.now_ms() if now_ms is None else now_ms
        return await self._run(_driver.revoke(self._engine, session_id, RevokeReason(reason), now))

    async def revoke_all(self, subject: Union[bytes, int], *, now_ms: Optional[int] = None) -> int:
        """As :meth:`Sessions.revoke_all`."""
        now = _driver.now_ms() if now_ms is None else now_ms
        return await self._run(_driver.revoke_all(self._engine, _subject_bytes(subject), now))

    async def load_record(self, session_id: bytes) -> Optional[bytes]:
        """As :meth:`Sessions.load_record`."""
        store = self.store
        if isinstance(store, MemoryStore):
            return store.load(session_id, primary=True)
        return await store.load(session_id, primary=True)

    async def _run(self, steps: _driver.Steps[_driver.T]) -> _driver.T:
        store = self.store
        if isinstance(store, MemoryStore):
            return _driver.run(steps, store)
        return await _driver.run_async(steps, store, self._feed)

