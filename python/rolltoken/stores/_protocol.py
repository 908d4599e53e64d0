"""The store contract: what a session store does for :class:`rolltoken.Sessions`.

A store keeps the core's 128-byte records (:data:`rolltoken.RECORD_LEN`), one per session
id, and makes no decision of its own: the core decides, the store loads and saves.

- ``load(session_id, primary=False)`` returns the stored bytes or ``None``. ``primary=True``
  asks the authoritative copy (a store that reads from replicas must then read the primary).
- ``save(record, expected_version, now_ms)`` is a compare-and-swap: it stores
  ``record.encode()`` only if the stored record's ``version`` is ``expected_version``
  (``None``: no record is stored), else raises :class:`rolltoken.Conflict`. A record that is
  not active (``record.is_active`` false: revoked) must be durable before ``save`` returns,
  because the core repairs a store that is behind *forward* and a lost revocation would
  revive a stolen session.
- ``delete(session_id)`` removes a record (no error when absent).
- ``list_by_subject(subject, now_ms)`` returns the ids of the subject's active sessions
  (not revoked, ``expires_at > now_ms``), for revoke-all.

Any failure to reach the store raises :class:`rolltoken.StoreUnavailable` (never a driver's
own exception): the façade answers ``store_unavailable`` and logs nobody out.
"""

from __future__ import annotations

from typing import List, Optional

from typing import Protocol, runtime_checkable

from .._rolltoken import Record

__all__ = ["AsyncSessionStore", "SessionStore"]


@runtime_checkable
class SessionStore(Protocol):
    """A blocking store (see the module's contract)."""

    def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]: ...

    def save(self, record: Record, expected_version: Optional[int], now_ms: int) -> None: ...

    def delete(self, session_id: bytes) -> None: ...

    def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]: ...


@runtime_checkable
class AsyncSessionStore(Protocol):
    """An asyncio store: the same contract with coroutines."""

    async def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]: ...

    async def save(self, record: Record, expected_version: Optional[int], now_ms: int) -> None: ...

    async def delete(self, session_id: bytes) -> None: ...

    async def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]: ...
