"""How a request, a login, a logout or a revocation walks a store: written once, without I/O.

Each operation is a generator over the core's store-free halves (:class:`rolltoken.Engine`):
it *yields* what it needs from the store (:class:`Load`, :class:`Save`, :class:`List`,
:class:`Announce`) and receives the answer, or has the store's :class:`~rolltoken.Conflict` /
:class:`~rolltoken.StoreUnavailable` thrown in. :func:`run` drives one with a blocking store,
:func:`run_async` with an asyncio one, so the blocking and the async façades cannot drift
apart. Every decision is the engine's; this module only sequences the store calls, with the
core's retry bound (:data:`rolltoken.MAX_ATTEMPTS`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Generator, List as ListT, NamedTuple, Optional, Protocol, TypeVar, Union

from ._rolltoken import (
    MAX_ATTEMPTS,
    Engine,
    LoginPlan,
    Outcome,
    Record,
    RevokeReason,
    Step,
    decode_record,
    log_id,
)
from .errors import Conflict, StoreUnavailable
from .stores._protocol import AsyncSessionStore, SessionStore

__all__ = [
    "Announce",
    "AsyncDenyFeed",
    "DenyFeed",
    "List",
    "Load",
    "Save",
    "handle",
    "login",
    "logout",
    "now_ms",
    "revoke",
    "revoke_all",
    "run",
    "run_async",
]

logger = logging.getLogger("rolltoken")

T = TypeVar("T")

#: Rounds of list-and-revoke in :func:`revoke_all` (each round revokes what it lists).
MAX_REVOKE_ROUNDS = 1024


class Load(NamedTuple):
    """Load the record of ``session_id`` (from the primary when ``primary``)."""

    session_id: bytes
    primary: bool


class Save(NamedTuple):
    """Compare-and-swap ``record`` over ``expected_version`` (``None``: insert)."""

    record: Record
    expected_version: Optional[int]
    now_ms: int


class List(NamedTuple):
    """The ids of ``subject``'s active sessions."""

    subject: bytes
    now_ms: int


class Announce(NamedTuple):
    """Tell every process that ``session_id`` is revoked: refuse it until ``until_ms``."""

    session_id: bytes
    until_ms: int


Op = Union[Load, Save, List, Announce]
Steps = Generator[Op, Any, T]


class DenyFeed(Protocol):
    """Carries revocations between processes for cached mode (see :mod:`rolltoken.stores`)."""

    def publish(self, session_id: bytes, until_ms: int) -> None: ...


class AsyncDenyFeed(Protocol):
    """:class:`DenyFeed` for asyncio."""

    async def publish(self, session_id: bytes, until_ms: int) -> None: ...


def now_ms() -> int:
    """The OS clock in ms since the Unix epoch."""
    return time.time_ns() // 1_000_000


# The operations.


def handle(engine: Engine, step: Step) -> Steps[Outcome]:
    """One request after :meth:`Engine.begin`: load, finish, compare-and-swap, retried."""
    if step.done or step.session_id is None:
        return _decided(step.outcome)
    sid, now = step.session_id, step.now_ms
    primary = False
    for _ in range(MAX_ATTEMPTS):
        try:
            raw = yield Load(sid, primary)
        except StoreUnavailable:
            return engine.store_failed(step, False)
        finish = engine.finish(step, raw, from_primary=primary)
        if finish.load_primary:
            primary = True
            continue
        if finish.save is None:
            return _decided(finish.outcome)
        record = decode_record(finish.save)
        try:
            yield Save(record, finish.expected_version, now)
        except Conflict:
            primary = True  # someone wrote first: the copy we read may lag
            continue
        except StoreUnavailable:
            return engine.store_failed(step, False)
        if not record.is_active:  # this request revoked it (a reuse, a damaged binding…)
            yield from _announce(engine, record, now)
        return _decided(finish.outcome)
    return engine.store_failed(step, True)


def login(engine: Engine, plan: LoginPlan, now: int) -> Steps[Outcome]:
    """Inserts the planned session, then retires the authenticated one the cookie named."""
    # The new session first: if its insert fails, the old one still works.
    yield Save(decode_record(plan.record), None, now)
    if plan.retire is not None:
        yield from revoke(engine, plan.retire, RevokeReason.UPGRADED_AT_LOGIN, now)
    return plan.outcome


def logout(engine: Engine, cookie: str | bytes, now: int) -> Steps[Optional[str]]:
    """Revokes the session the cookie names; its log id, or ``None`` when none was active."""
    target = engine.logout_target(cookie, now_ms=now)
    if target is None:
        return None
    found = yield from revoke(engine, target, RevokeReason.LOGOUT, now)
    return log_id(target) if found else None


def revoke(engine: Engine, session_id: bytes, reason: RevokeReason, now: int) -> Steps[bool]:
    """Revokes one stored session (compare-and-swap on the primary, retried); whether it
    was active. Raises :class:`Conflict` when contention outlasts the retry bound."""
    for _ in range(MAX_ATTEMPTS):
        raw = yield Load(session_id, True)
        if raw is None:
            return False
        stored = decode_record(raw)
        revoked = engine.revoke_record(stored, reason, now_ms=now)
        if revoked is None:
            # Already revoked (the first reason stays), perhaps by an earlier try whose
            # replication wait timed out: save it again, unchanged, so that it is durable
            # before anyone is told it is done.
            try:
                yield Save(stored, stored.version, now)
            except Conflict:
                continue
            return False
        record = decode_record(revoked)
        try:
            yield Save(record, stored.version, now)
        except Conflict:
            continue
        yield from _announce(engine, record, now)
        return True
    raise Conflict("session record changed concurrently")


def revoke_all(engine: Engine, subject: bytes, now: int) -> Steps[int]:
    """Revokes every active session of ``subject``; how many were revoked."""
    revoked = 0
    for _ in range(MAX_REVOKE_ROUNDS):
        listed: ListT[bytes] = yield List(subject, now)
        progress = False
        for sid in listed:
            if (yield from revoke(engine, sid, RevokeReason.ADMIN, now)):
                revoked += 1
                progress = True
        if not progress:  # nothing listed, or a store that keeps listing revoked sessions
            break
    return revoked


def _announce(engine: Engine, record: Record, now: int) -> Steps[None]:
    until = engine.deny_until(record, now_ms=now)
    if until is not None:
        yield Announce(record.session_id, until)


def _decided(outcome: Optional[Outcome]) -> Outcome:
    if outcome is None:  # the binding promises an outcome whenever nothing is left to load
        raise RuntimeError("the engine answered without an outcome")
    return outcome


# The drivers.


def run(steps: Steps[T], store: SessionStore, feed: Optional[DenyFeed] = None) -> T:
    """Runs ``steps`` against a blocking store."""
    send: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            op = steps.throw(error) if error is not None else steps.send(send)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        send, error = None, None
        try:
            if isinstance(op, Load):
                send = store.load(op.session_id, primary=op.primary)
            elif isinstance(op, Save):
                store.save(op.record, op.expected_version, op.now_ms)
            elif isinstance(op, List):
                send = list(store.list_by_subject(op.subject, op.now_ms))
            elif feed is not None:
                _publish(feed, op)
        except (Conflict, StoreUnavailable) as e:
            error = e


async def run_async(
    steps: Steps[T], store: AsyncSessionStore, feed: Optional[AsyncDenyFeed] = None
) -> T:
    """Runs ``steps`` against an asyncio store."""
    send: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            op = steps.throw(error) if error is not None else steps.send(send)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        send, error = None, None
        try:
            if isinstance(op, Load):
                send = await store.load(op.session_id, primary=op.primary)
            elif isinstance(op, Save):
                await store.save(op.record, op.expected_version, op.now_ms)
            elif isinstance(op, List):
                send = list(await store.list_by_subject(op.subject, op.now_ms))
            elif feed is not None:
                try:
                    await feed.publish(op.session_id, op.until_ms)
                except Exception:  # noqa: BLE001 - see _publish
                    _publish_failed(op)
        except (Conflict, StoreUnavailable) as e:
            error = e


def _publish(feed: DenyFeed, op: Announce) -> None:
    try:
        feed.publish(op.session_id, op.until_ms)
    except Exception:  # noqa: BLE001
        _publish_failed(op)


def _publish_failed(op: Announce) -> None:
    # The revocation is already durable in the store; other processes learn it when their
    # cached copies lapse (at most the fresh window), or from the feed's catch-up.
    logger.warning(
        "rolltoken: revocation not published to other processes (log_id=%s)",
        log_id(op.session_id),
        exc_info=True,
    )
