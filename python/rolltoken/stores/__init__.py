"""Session stores: where records live past one process.

- :class:`rolltoken.MemoryStore`: the core's in-memory store (one process; the default).
- :mod:`rolltoken.stores.redis`: ``RedisStore`` / ``AsyncRedisStore`` (a Lua compare-and-swap
  on one key per session, Redis Cluster ready) and ``RedisDenyFeed`` (revocations to every
  process, for cached mode). Needs ``pip install rolltoken[redis]``.
- :mod:`rolltoken.stores.postgres`: ``PostgresStore`` / ``AsyncPostgresStore``. Needs
  ``pip install rolltoken[postgres]``.

Each keeps the contract of :class:`SessionStore` / :class:`AsyncSessionStore`; the same
contract tests run against all of them.
"""

from __future__ import annotations

from .._rolltoken import MemoryStore
from ._protocol import AsyncSessionStore, SessionStore

__all__ = ["AsyncSessionStore", "MemoryStore", "SessionStore"]
