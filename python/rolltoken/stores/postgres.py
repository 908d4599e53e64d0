"""PostgreSQL session stores on psycopg 3: :class:`PostgresStore` (blocking) and
:class:`AsyncPostgresStore` (asyncio), both keeping the store contract of
:mod:`rolltoken.stores._protocol`.

One row per session in one table (default ``rolltoken_sessions``, created by :func:`migrate` /
:func:`amigrate`)::

    session_id  bytea PRIMARY KEY     16 bytes
    subject     bytea NOT NULL        16 bytes
    parent      bytea NULL            the anonymous session this one was upgraded from at login
                                      (kept so that logs keyed by session id join to the user)
    version     numeric(20,0)         the record's write version, an unsigned 64-bit integer
    record      bytea NOT NULL        the core's 128-byte record, exactly ``record.encode()``
    expires_at  bigint NOT NULL       absolute expiry, ms since the Unix epoch (capped at 2**63 - 1)
    active      boolean NOT NULL      false once revoked

with a partial index on ``(subject) WHERE active`` (:meth:`~PostgresStore.list_by_subject`)
and an index on ``(expires_at)`` (:meth:`~PostgresStore.purge_expired`). Every column but
``record`` is derived from the record on each save; the record bytes are the truth.

A store wraps a :class:`psycopg_pool.ConnectionPool` (or :class:`~psycopg_pool.AsyncConnectionPool`)
shared by every thread (task) of the process; it keeps no other state, so one store serves
any number of threads (tasks). Each call checks a connection out for one short transaction,
waiting at most ``timeout`` seconds (default 5) for one, so an outage answers
:class:`~rolltoken.StoreUnavailable` promptly instead of hanging the request. The pool replaces
connections that broke (a server restart, a failover, an idle connection dropped by a
firewall). When a call meets a dead pooled connection, the store has the pool check its idle
connections (so the next calls get live ones) and retries a read, a delete or a purge batch
once on a fresh connection within the same ``timeout``; a save is not retried (its COMMIT may
have happened) and raises StoreUnavailable. Either way the store keeps working without being
rebuilt. (A pool retries a refused connection with
exponential backoff until its ``reconnect_timeout``: keep that short, as
:meth:`PostgresStore.connect` does, or a long outage leaves the recovered server unused for a
while.)

Errors: bad arguments raise :class:`TypeError` / :class:`ValueError` before any SQL is sent;
a lost compare-and-swap raises :class:`~rolltoken.Conflict`; every failure of the database,
the driver or the pool (refused or broken connections, pool timeouts, a missing table, …)
raises :class:`~rolltoken.StoreUnavailable`, never a psycopg exception. Messages name the
operation, the exception class, the SQLSTATE and the server's primary message; they never
contain a session id or record bytes (a session is named by :func:`rolltoken.log_id`), and
the driver's exception is not chained (its detail can quote row values).

A query that hangs on a reachable server (a lock held elsewhere, a stalled network) is not
bounded by ``timeout``; bound it with connection options, e.g. ``connect(dsn,
kwargs={"options": "-c statement_timeout=5000", "tcp_user_timeout": 5000})``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from types import TracebackType
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow, tuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from .._rolltoken import RECORD_LEN, SESSION_ID_LEN, Record, log_id
from ..errors import Conflict, StoreUnavailable

__all__ = [
    "DEFAULT_RECONNECT_TIMEOUT",
    "DEFAULT_TABLE",
    "DEFAULT_TIMEOUT",
    "MAX_EXPIRES_AT",
    "AsyncPostgresStore",
    "PostgresStore",
    "StoredSession",
    "amigrate",
    "migrate",
]

#: The table name used when none is given.
DEFAULT_TABLE = "rolltoken_sessions"
#: Seconds a call waits for a pooled connection before raising StoreUnavailable.
DEFAULT_TIMEOUT = 5.0
#: psycopg_pool's ``reconnect_timeout`` in pools made by ``connect()`` (its own default, 300 s,
#: lets the pool's exponential backoff leave a recovered server unused for minutes).
DEFAULT_RECONNECT_TIMEOUT = 10.0
#: The largest ``expires_at`` (ms) the bigint column holds; a record past it is refused.
MAX_EXPIRES_AT = 2**63 - 1

_U64_MAX = 2**64 - 1
_SUBJECT_LEN = 16
_MAX_BATCH = 100_000
_MAX_TABLE_NAME = 40  # so that "<table>_subject_active_idx" fits PostgreSQL's 63 bytes
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# pg_advisory_xact_lock key serializing concurrent migrations ("rolltokn" as a big-endian i64).
_MIGRATE_LOCK = int.from_bytes(b"rolltokn", "big")

_T = TypeVar("_T")
_SyncConn = psycopg.Connection[Any]
_AsyncConn = psycopg.AsyncConnection[Any]

# The columns migrate() creates and verifies: name -> (format_type(), NOT NULL).
_LAYOUT: Dict[str, Tuple[str, bool]] = {
    "session_id": ("bytea", True),
    "subject": ("bytea", True),
    "parent": ("bytea", False),
    "version": ("numeric(20,0)", True),
    "record": ("bytea", True),
    "expires_at": ("bigint", True),
    "active": ("boolean", True),
}


@dataclass(frozen=True)
class StoredSession:
    """One row of the sessions table, as :meth:`PostgresStore.sessions_of` returns it.

    ``record`` is the stored 128-byte record (:func:`rolltoken.decode_record` reads it); the
    other fields are the columns derived from it. ``parent`` is the anonymous session this
    one was upgraded from at login, or ``None``."""

    session_id: bytes
    subject: bytes
    parent: Optional[bytes]
    version: int
    expires_at: int
    active: bool
    record: bytes

    @property
    def log_id(self) -> str:
        """The session's log id (:func:`rolltoken.log_id`), safe to log."""
        return log_id(self.session_id)

    def __repr__(self) -> str:  # ids by log id only: a repr ends up in logs
        parent = "None" if self.parent is None else repr(log_id(self.parent))
        return (
            f"StoredSession(log_id={self.log_id!r}, parent={parent}, version={self.version}, "
            f"expires_at={self.expires_at}, active={self.active})"
        )

    @classmethod
    def _from_row(cls, row: TupleRow) -> StoredSession:
        sid, subject, parent, version, expires_at, active, record = row
        return cls(
            session_id=bytes(sid),
            subject=bytes(subject),
            parent=None if parent is None else bytes(parent),
            version=int(version),
            expires_at=int(expires_at),
            active=bool(active),
            record=bytes(record),
        )


# ---------------------------------------------------------------------------------------------
# validation (before any SQL)


def _bytes_arg(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, not {type(value).__name__}")
    data = bytes(value)
    if len(data) != length:
        raise ValueError(f"{what} must be {length} bytes, not {len(data)}")
    return data


def _session_id(value: object) -> bytes:
    return _bytes_arg(value, SESSION_ID_LEN, "session_id")


def _subject(value: object) -> bytes:
    return _bytes_arg(value, _SUBJECT_LEN, "subject")


def _u64(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= _U64_MAX:
        raise ValueError(f"{what} must be an unsigned 64-bit integer")
    return value


def _now_ms(value: object) -> int:
    # The bigint column never holds more than MAX_EXPIRES_AT, so a later "now" compares the
    # same as MAX_EXPIRES_AT does (and keeps the comparison bigint, on the index).
    return min(_u64(value, "now_ms"), MAX_EXPIRES_AT)


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError("timeout must be a positive, finite number of seconds")
    return float(value)


def _table_parts(table: object) -> Tuple[str, ...]:
    if not isinstance(table, str):
        raise TypeError(f"table must be a str, not {type(table).__name__}")
    parts = tuple(table.split("."))
    if len(parts) > 2 or not all(_IDENT.match(p) for p in parts):
        raise ValueError(
            "table must be an identifier ([A-Za-z_][A-Za-z0-9_]*), optionally schema-qualified "
            "as schema.table"
        )
    if len(parts[-1]) > _MAX_TABLE_NAME or len(parts[0]) > 63:
        raise ValueError(f"table name must be at most {_MAX_TABLE_NAME} characters")
    return parts


class _Save:
    """The parameters of one save, validated."""

    __slots__ = ("session_id", "expected", "values", "durable")

    def __init__(self, record: object, expected_version: object, now_ms: object) -> None:
        if not isinstance(record, Record):
            raise TypeError(f"record must be a rolltoken.Record, not {type(record).__name__}")
        self.expected = None if expected_version is None else _u64(expected_version, "expected_version")
        _u64(now_ms, "now_ms")
        data = record.encode()
        if len(data) != RECORD_LEN:  # the core's invariant; checked so the CHECK never fires
            raise ValueError(f"record encodes to {len(data)} bytes, not {RECORD_LEN}")
        # The column orders rows for purge and listing only (the core checks expiry from the
        # record's own bytes), so a time past bigint (a saturated "now + lifetime") is kept
        # as the latest time it can hold: the same as never, some 292 million years on.
        expires_at = min(record.expires_at, MAX_EXPIRES_AT)
        self.session_id = _session_id(record.session_id)
        parent = record.parent
        self.values: Tuple[object, ...] = (
            _subject(record.subject),
            None if parent is None else _session_id(parent),
            record.version,
            data,
            expires_at,
            record.is_active,
        )
        #: a revocation: forced durable before save returns (see PostgresStore.save)
        self.durable = not record.is_active


# ---------------------------------------------------------------------------------------------
# SQL


class _Statements:
    """Every statement of one table, composed once with the quoted identifier."""

    def __init__(self, table: str) -> None:
        parts = _table_parts(table)
        name = parts[-1]
        t = sql.Identifier(*parts)
        self.table = table
        self.identifier = t
        fmt = {"t": t}
        self.create_table = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} ("
            f" session_id bytea NOT NULL PRIMARY KEY CHECK (octet_length(session_id) = {SESSION_ID_LEN}),"
            f" subject bytea NOT NULL CHECK (octet_length(subject) = {_SUBJECT_LEN}),"
            f" parent bytea NULL CHECK (parent IS NULL OR octet_length(parent) = {SESSION_ID_LEN}),"
            f" version numeric(20,0) NOT NULL CHECK (version >= 0 AND version <= {_U64_MAX}),"
            f" record bytea NOT NULL CHECK (octet_length(record) = {RECORD_LEN}),"
            " expires_at bigint NOT NULL CHECK (expires_at >= 0),"
            " active boolean NOT NULL"
            ") WITH (fillfactor = 80)"
        ).format(**fmt)
        self.create_indexes: List[sql.Composed] = [
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (subject) WHERE active").format(
                i=sql.Identifier(f"{name}_subject_active_idx"), **fmt
            ),
            sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (expires_at)").format(
                i=sql.Identifier(f"{name}_expires_at_idx"), **fmt
            ),
        ]
        self.layout = sql.SQL(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped"
        )
        self.load = sql.SQL("SELECT record FROM {t} WHERE session_id = %s").format(**fmt)
        self.insert = sql.SQL(
            "INSERT INTO {t} (session_id, subject, parent, version, record, expires_at, active)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (session_id) DO NOTHING"
        ).format(**fmt)
        self.update = sql.SQL(
            "UPDATE {t} SET subject = %s, parent = %s, version = %s, record = %s,"
            " expires_at = %s, active = %s WHERE session_id = %s AND version = %s"
        ).format(**fmt)
        # synchronous_commit 'off' or 'local' would acknowledge a commit before it is durable
        # (locally, or on a synchronous standby): raise it for this transaction only.
        self.durable = sql.SQL(
            "SELECT CASE WHEN current_setting('synchronous_commit') IN ('off', 'local')"
            " THEN set_config('synchronous_commit', 'on', true) END"
        )
        self.delete = sql.SQL("DELETE FROM {t} WHERE session_id = %s").format(**fmt)
        self.list = sql.SQL(
            "SELECT session_id FROM {t} WHERE subject = %s AND active AND expires_at > %s"
            " ORDER BY session_id"
        ).format(**fmt)
        self.sessions_of = sql.SQL(
            "SELECT session_id, subject, parent, version, expires_at, active, record FROM {t}"
            " WHERE subject = %s AND active AND expires_at > %s ORDER BY expires_at DESC, session_id"
        ).format(**fmt)
        self.parent_of = sql.SQL("SELECT parent FROM {t} WHERE session_id = %s").format(**fmt)
        self.purge = sql.SQL(
            "DELETE FROM {t} WHERE session_id IN (SELECT session_id FROM {t}"
            " WHERE expires_at <= %s ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        ).format(**fmt)


def _check_layout(table: str, rows: Sequence[TupleRow]) -> None:
    found = {str(r[0]): (str(r[1]), bool(r[2])) for r in rows}
    wrong = [
        f"{col} (want {want[0]}{' NOT NULL' if want[1] else ''}, found "
        f"{found[col][0] + (' NOT NULL' if found[col][1] else '') if col in found else 'nothing'})"
        for col, want in _LAYOUT.items()
        if found.get(col) != want
    ]
    if wrong:
        raise StoreUnavailable(
            f"PostgreSQL store: table {table} exists with another layout: " + "; ".join(wrong)
        )


# ---------------------------------------------------------------------------------------------
# errors


def _unavailable(op: str, exc: BaseException) -> StoreUnavailable:
    """A StoreUnavailable for a driver/pool failure, naming no session and quoting no row.

    A server error is described by its class, SQLSTATE and primary message (for the
    statements of this module, the primary message names relations and constraints, never
    values; the DETAIL, which can quote a row, is left out). A client-side error (no
    SQLSTATE: a refused or broken connection, a pool timeout) by the first line of libpq's
    or the pool's message."""
    name = type(exc).__name__
    sqlstate = exc.sqlstate if isinstance(exc, psycopg.Error) else None
    if isinstance(exc, psycopg.Error) and sqlstate:
        text = f"{name} (SQLSTATE {sqlstate}): {exc.diag.message_primary or ''}".rstrip(": ")
        if sqlstate == "42P01":  # undefined_table
            text += " (create it with rolltoken.stores.postgres.migrate())"
    else:
        lines = str(exc).strip().splitlines()
        text = f"{name}: {lines[0]}" if lines else name
    if len(text) > 300:
        text = text[:297] + "..."
    return StoreUnavailable(f"PostgreSQL store: {op} failed: {text}")


def _closed(op: str) -> StoreUnavailable:
    return StoreUnavailable(f"PostgreSQL store: {op} failed: the store is closed")


def _remaining(deadline: float) -> float:
    # The pool refuses a timeout <= 0 even when a connection is idle: keep a sliver.
    return max(deadline - time.monotonic(), 0.01)


def _pool_args(
    dsn: object, timeout: float, pool_kwargs: Dict[str, Any]
) -> Tuple[str, Dict[str, Any]]:
    if not isinstance(dsn, str):
        raise TypeError(f"dsn must be a str, not {type(dsn).__name__}")
    if "open" in pool_kwargs:
        raise TypeError("connect() opens the pool itself: do not pass open=")
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise ValueError("invalid PostgreSQL connection string") from None  # may hold a password
    conn_kwargs: Dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in params:
        conn_kwargs["connect_timeout"] = max(2, math.ceil(timeout))  # libpq's minimum is 2
    conn_kwargs.update(pool_kwargs.pop("kwargs", None) or {})
    args: Dict[str, Any] = {
        "name": "rolltoken",
        "timeout": timeout,
        "reconnect_timeout": DEFAULT_RECONNECT_TIMEOUT,
    }
    args.update(pool_kwargs)
    args["kwargs"] = conn_kwargs
    args["open"] = False
    return dsn, args


# ---------------------------------------------------------------------------------------------
# migrations


def migrate(
    conn_or_pool: Union[_SyncConn, ConnectionPool[Any]], *, table: str = DEFAULT_TABLE
) -> None:
    """Creates the sessions table and its two indexes if they do not exist, then checks that
    the table has the expected columns. Idempotent and safe to run concurrently (the
    statements run in one transaction under a transaction-scoped advisory lock); it never
    alters or drops anything that exists.

    ``conn_or_pool``: a :class:`psycopg.Connection` (the migration joins its transaction as
    a savepoint when one is open, and is then committed with it; otherwise it is committed
    before returning) or a :class:`psycopg_pool.ConnectionPool` (a connection is checked out
    for it). ``table``: as for :class:`PostgresStore`.

    Needs the CREATE privilege on the schema. Raises :class:`~rolltoken.StoreUnavailable`
    when the database fails (the driver's exception is chained: no session data is involved)
    or when an existing table has another layout; :class:`TypeError` / :class:`ValueError`
    for bad arguments."""
    stmts = _Statements(table)
    try:
        if isinstance(conn_or_pool, ConnectionPool):
            with conn_or_pool.connection() as conn:
                _migrate(conn, stmts)
        elif isinstance(conn_or_pool, psycopg.Connection):
            _migrate(conn_or_pool, stmts)
        else:
            raise TypeError(
                "migrate() takes a psycopg.Connection or a psycopg_pool.ConnectionPool, not "
                f"{type(conn_or_pool).__name__}"
            )
    except psycopg.Error as exc:
        raise StoreUnavailable(f"PostgreSQL store: migrate failed: {type(exc).__name__}: {exc}") from exc


def _migrate(conn: _SyncConn, stmts: _Statements) -> None:
    with conn.transaction():
        with conn.cursor(row_factory=tuple_row) as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            cur.execute(stmts.create_table)
            cur.execute(stmts.layout, (stmts.identifier.as_string(conn),))
            _check_layout(stmts.table, cur.fetchall())
            for stmt in stmts.create_indexes:
                cur.execute(stmt)


async def amigrate(
    conn_or_pool: Union[_AsyncConn, AsyncConnectionPool[Any]], *, table: str = DEFAULT_TABLE
) -> None:
    """:func:`migrate` for a :class:`psycopg.AsyncConnection` or a
    :class:`psycopg_pool.AsyncConnectionPool`, with the same guarantees."""
    stmts = _Statements(table)
    try:
        if isinstance(conn_or_pool, AsyncConnectionPool):
            async with conn_or_pool.connection() as conn:
                await _amigrate(conn, stmts)
        elif isinstance(conn_or_pool, psycopg.AsyncConnection):
            await _amigrate(conn_or_pool, stmts)
        else:
            raise TypeError(
                "amigrate() takes a psycopg.AsyncConnection or a "
                f"psycopg_pool.AsyncConnectionPool, not {type(conn_or_pool).__name__}"
            )
    except psycopg.Error as exc:
        raise StoreUnavailable(f"PostgreSQL store: migrate failed: {type(exc).__name__}: {exc}") from exc


async def _amigrate(conn: _AsyncConn, stmts: _Statements) -> None:
    async with conn.transaction():
        async with conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            await cur.execute(stmts.create_table)
            await cur.execute(stmts.layout, (stmts.identifier.as_string(conn),))
            _check_layout(stmts.table, await cur.fetchall())
            for stmt in stmts.create_indexes:
                await cur.execute(stmt)


# ---------------------------------------------------------------------------------------------
# the blocking store


class PostgresStore:
    """A blocking session store in one PostgreSQL table (see the module docstring).

    ``pool``: an open :class:`psycopg_pool.ConnectionPool`, shared with the rest of the
    application if you like: the store checks connections out and returns them committed,
    reads rows through its own cursors (any ``row_factory`` works) and works in autocommit
    or transactional mode. ``table``: an identifier, optionally ``schema.table``, quoted as
    given (case-sensitive), at most 40 characters; create it with :func:`migrate`.
    ``timeout``: seconds a call waits for a connection (the pool's own timeout is not used).
    ``owns_pool``: :meth:`close` closes the pool too (:meth:`connect` sets it).

    Thread-safe: one store serves every thread. Raises :class:`TypeError` /
    :class:`ValueError` for a bad table name or timeout; sends no SQL."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        *,
        table: str = DEFAULT_TABLE,
        timeout: float = DEFAULT_TIMEOUT,
        owns_pool: bool = False,
    ) -> None:
        if not isinstance(pool, ConnectionPool):
            raise TypeError(f"pool must be a psycopg_pool.ConnectionPool, not {type(pool).__name__}")
        self._sql = _Statements(table)
        self._timeout = _timeout(timeout)
        self._pool = pool
        self._owns_pool = bool(owns_pool)
        self._closed = False

    @classmethod
    def connect(
        cls,
        dsn: str,
        *,
        table: str = DEFAULT_TABLE,
        timeout: float = DEFAULT_TIMEOUT,
        wait: bool = False,
        **pool_kwargs: Any,
    ) -> PostgresStore:
        """A store over a new pool on ``dsn`` (a libpq connection string or URI), which
        :meth:`close` closes.

        The pool's connections are autocommit, with libpq's ``connect_timeout`` set to
        ``timeout`` (rounded up, at least 2 s) unless ``dsn`` sets one. ``pool_kwargs`` go
        to :class:`psycopg_pool.ConnectionPool` (``min_size``, ``max_size``, ``check``, …);
        a ``kwargs`` dict there is merged into the connection arguments. The pool's
        ``reconnect_timeout`` defaults to :data:`DEFAULT_RECONNECT_TIMEOUT` (10 s), not
        psycopg_pool's 300 s: a pool retries a failed connection with exponential backoff
        until then, so after a long outage the default would leave the recovered server
        unused for up to minutes, while 10 s gives up early and reconnects as soon as a
        call needs a connection. (For a pool of your own, choose it likewise.) Behind
        PgBouncer in transaction mode, pass ``kwargs={"prepare_threshold": None}``.

        ``wait``: block until the pool holds ``min_size`` connections (at most ``timeout``)
        and raise :class:`~rolltoken.StoreUnavailable` if it does not; by default the pool
        connects in the background and a store made while the server is down works once it
        is up. Raises :class:`ValueError` for a malformed ``dsn`` (the
        message does not quote it)."""
        t = _timeout(timeout)
        _Statements(table)  # validate before starting pool threads
        conninfo, args = _pool_args(dsn, t, dict(pool_kwargs))
        pool: ConnectionPool[Any] = ConnectionPool(conninfo, **args)
        store = cls(pool, table=table, timeout=t, owns_pool=True)
        try:
            pool.open(wait=wait, timeout=t)
        except psycopg.Error as exc:
            pool.close()
            raise _unavailable("connect", exc) from None
        return store

    @property
    def pool(self) -> ConnectionPool[Any]:
        """The connection pool."""
        return self._pool

    @property
    def table(self) -> str:
        """The table name, as given."""
        return self._sql.table

    @property
    def timeout(self) -> float:
        """Seconds a call waits for a pooled connection."""
        return self._timeout

    def migrate(self) -> None:
        """:func:`migrate` on this store's pool and table."""
        if self._closed:
            raise _closed("migrate")
        migrate(self._pool, table=self._sql.table)

    def close(self) -> None:
        """Closes the store: every later call raises :class:`~rolltoken.StoreUnavailable`.
        Closes the pool when the store owns it (made by :meth:`connect`); a pool passed in
        stays open. Idempotent."""
        self._closed = True
        if self._owns_pool:
            self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    # The contract.

    def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]:
        """The stored record of ``session_id`` (exactly the bytes last saved, 128 of them),
        or ``None`` when there is none. Reads the committed state of the server the pool
        connects to; ``primary`` is accepted for the contract and changes nothing (point the
        pool at the primary: a store reading from a replica would break it)."""
        sid = _session_id(session_id)
        q = self._sql.load

        def body(conn: _SyncConn) -> Optional[bytes]:
            with conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(q, (sid,))
                row = cur.fetchone()
            return None if row is None else bytes(row[0])

        return self._run("load", body, retry=True)

    def save(self, record: Record, expected_version: Optional[int], now_ms: int) -> None:
        """Compare-and-swap: stores ``record.encode()`` (and the columns derived from it)
        only if no row exists for its session (``expected_version`` ``None``: one atomic
        ``INSERT … ON CONFLICT DO NOTHING``) or the stored version is ``expected_version``
        (one atomic ``UPDATE … WHERE session_id = … AND version = …``); otherwise raises
        :class:`~rolltoken.Conflict` and changes nothing.

        Returns only after the server acknowledged the COMMIT. With ``synchronous_commit``
        ``on`` (the server default) the commit is then flushed to the server's disk. For a
        revoked record (``record.is_active`` false) the store raises ``synchronous_commit`` to
        ``on`` for that transaction if the server or role set ``off`` or ``local``, so a
        revocation is durable even then. With replicas a failover may promote, it survives
        the failover only if the server names the standbys in ``synchronous_standby_names``
        (then ``on`` also waits for them). If the connection fails during COMMIT the
        outcome is unknown and :class:`~rolltoken.StoreUnavailable` is raised (the core
        repairs a store that is behind).

        ``now_ms`` is checked but unused. Raises :class:`TypeError` for a non-Record, and
        :class:`ValueError` for a version out of the u64 range, before any SQL. An
        ``expires_at`` of 2**63 ms or later is stored as 2**63 - 1 in the column (the
        record's bytes keep it whole)."""
        p = _Save(record, expected_version, now_ms)
        if p.expected is None:
            q, params = self._sql.insert, (p.session_id, *p.values)
        else:
            q, params = self._sql.update, (*p.values, p.session_id, p.expected)
        durable = self._sql.durable if p.durable else None

        def body(conn: _SyncConn) -> int:
            with conn.cursor(row_factory=tuple_row) as cur:
                if durable is None:
                    cur.execute(q, params)
                    return cur.rowcount
                with conn.transaction():
                    cur.execute(durable)
                    cur.execute(q, params)
                    return cur.rowcount

        if self._run("save", body, retry=False) != 1:
            raise _conflict(p)

    def delete(self, session_id: bytes) -> None:
        """Deletes the row of ``session_id``, committed before returning; no error when there
        is none."""
        sid = _session_id(session_id)
        q = self._sql.delete

        def body(conn: _SyncConn) -> None:
            conn.execute(q, (sid,))

        self._run("delete", body, retry=True)

    def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]:
        """The ids of ``subject``'s active sessions: rows with ``active`` and ``expires_at >
        now_ms``, in id order (one index scan). ``subject``: 16 bytes."""
        subj, now = _subject(subject), _now_ms(now_ms)
        q = self._sql.list

        def body(conn: _SyncConn) -> List[bytes]:
            with conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(q, (subj, now))
                return [bytes(r[0]) for r in cur.fetchall()]

        return self._run("list_by_subject", body, retry=True)

    # Beyond the contract.

    def sessions_of(self, subject: bytes, now_ms: Optional[int] = None) -> List[StoredSession]:
        """``subject``'s active sessions with their rows (record, parent, version, expiry),
        latest expiry first: every row with ``active``, and ``expires_at > now_ms`` when
        ``now_ms`` is given. Revoked rows (the anonymous parent upgraded at login among
        them) are not listed; :meth:`parent_of` still names the parent."""
        subj = _subject(subject)
        now = -1 if now_ms is None else _now_ms(now_ms)
        q = self._sql.sessions_of

        def body(conn: _SyncConn) -> List[StoredSession]:
            with conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(q, (subj, now))
                return [StoredSession._from_row(r) for r in cur.fetchall()]

        return self._run("sessions_of", body, retry=True)

    def parent_of(self, session_id: bytes) -> Optional[bytes]:
        """The anonymous session ``session_id`` was upgraded from at login (to join logs keyed
        by session id to the user), or ``None`` when it has none or there is no such row."""
        sid = _session_id(session_id)
        q = self._sql.parent_of

        def body(conn: _SyncConn) -> Optional[bytes]:
            with conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(q, (sid,))
                row = cur.fetchone()
            return None if row is None or row[0] is None else bytes(row[0])

        return self._run("parent_of", body, retry=True)

    def purge_expired(self, now_ms: int, batch: int = 1000) -> int:
        """Deletes the rows with ``expires_at <= now_ms`` (revoked or not), at most ``batch``
        per transaction (each committed before the next; rows locked by a concurrent save are
        skipped and left for the next run), until a batch comes back short. Returns how many
        rows were deleted. ``batch``: 1 to 100000. A failure raises
        :class:`~rolltoken.StoreUnavailable`; the batches committed before it stay deleted."""
        now = _now_ms(now_ms)
        if isinstance(batch, bool) or not isinstance(batch, int):
            raise TypeError(f"batch must be an int, not {type(batch).__name__}")
        if not 1 <= batch <= _MAX_BATCH:
            raise ValueError(f"batch must be between 1 and {_MAX_BATCH}")
        q = self._sql.purge

        def body(conn: _SyncConn) -> int:
            with conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(q, (now, batch))
                return cur.rowcount

        total = 0
        while True:
            n = self._run("purge_expired", body, retry=True)
            total += n
            if n < batch:
                return total

    # Plumbing.

    def _run(self, op: str, body: Callable[[_SyncConn], _T], *, retry: bool) -> _T:
        """Runs ``body`` on a pooled connection and commits. Every psycopg/pool failure becomes
        StoreUnavailable. When the connection turned out dead (a server restart), the pool's
        idle connections are checked so the next calls get live ones, and an idempotent
        ``body`` (``retry``) runs once more within the same deadline."""
        if self._closed:
            raise _closed(op)
        deadline = time.monotonic() + self._timeout
        first = True
        while True:
            broken = False
            try:
                with self._pool.connection(timeout=_remaining(deadline)) as conn:
                    try:
                        result = body(conn)
                        conn.commit()
                    except psycopg.Error:
                        broken = conn.closed
                        raise
                return result
            except (psycopg.Error, OSError) as exc:
                if broken:
                    self._evict_dead()
                if not (broken and retry and first and time.monotonic() < deadline):
                    raise _unavailable(op, exc) from None
            first = False

    def _evict_dead(self) -> None:
        try:
            self._pool.check()
        except Exception:  # noqa: BLE001 - best effort; the call's own error is what we report
            pass


def _conflict(p: _Save) -> Conflict:
    if p.expected is None:
        return Conflict(f"session {log_id(p.session_id)} is already stored")
    return Conflict(f"session {log_id(p.session_id)} is no longer at version {p.expected}")


# ---------------------------------------------------------------------------------------------
# the asyncio store


class AsyncPostgresStore:
    """:class:`PostgresStore` for asyncio, over a :class:`psycopg_pool.AsyncConnectionPool`,
    with the same guarantees (every method's documentation there applies). One store serves
    every task of its event loop."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        *,
        table: str = DEFAULT_TABLE,
        timeout: float = DEFAULT_TIMEOUT,
        owns_pool: bool = False,
    ) -> None:
        if not isinstance(pool, AsyncConnectionPool):
            raise TypeError(
                f"pool must be a psycopg_pool.AsyncConnectionPool, not {type(pool).__name__}"
            )
        self._sql = _Statements(table)
        self._timeout = _timeout(timeout)
        self._pool = pool
        self._owns_pool = bool(owns_pool)
        self._closed = False

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        table: str = DEFAULT_TABLE,
        timeout: float = DEFAULT_TIMEOUT,
        wait: bool = False,
        **pool_kwargs: Any,
    ) -> AsyncPostgresStore:
        """:meth:`PostgresStore.connect` for asyncio (a coroutine: the pool opens in the
        running event loop)."""
        t = _timeout(timeout)
        _Statements(table)
        conninfo, args = _pool_args(dsn, t, dict(pool_kwargs))
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(conninfo, **args)
        store = cls(pool, table=table, timeout=t, owns_pool=True)
        try:
            await pool.open(wait=wait, timeout=t)
        except psycopg.Error as exc:
            await pool.close()
            raise _unavailable("connect", exc) from None
        return store

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        """The connection pool."""
        return self._pool

    @property
    def table(self) -> str:
        """The table name, as given."""
        return self._sql.table

    @property
    def timeout(self) -> float:
        """Seconds a call waits for a pooled connection."""
        return self._timeout

    async def migrate(self) -> None:
        """:func:`amigrate` on this store's pool and table."""
        if self._closed:
            raise _closed("migrate")
        await amigrate(self._pool, table=self._sql.table)

    async def close(self) -> None:
        """:meth:`PostgresStore.close`."""
        self._closed = True
        if self._owns_pool:
            await self._pool.close()

    async def __aenter__(self) -> AsyncPostgresStore:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    async def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]:
        """:meth:`PostgresStore.load`."""
        sid = _session_id(session_id)
        q = self._sql.load

        async def body(conn: _AsyncConn) -> Optional[bytes]:
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(q, (sid,))
                row = await cur.fetchone()
            return None if row is None else bytes(row[0])

        return await self._run("load", body, retry=True)

    async def save(self, record: Record, expected_version: Optional[int], now_ms: int) -> None:
        """:meth:`PostgresStore.save`."""
        p = _Save(record, expected_version, now_ms)
        if p.expected is None:
            q, params = self._sql.insert, (p.session_id, *p.values)
        else:
            q, params = self._sql.update, (*p.values, p.session_id, p.expected)
        durable = self._sql.durable if p.durable else None

        async def body(conn: _AsyncConn) -> int:
            async with conn.cursor(row_factory=tuple_row) as cur:
                if durable is None:
                    await cur.execute(q, params)
                    return cur.rowcount
                async with conn.transaction():
                    await cur.execute(durable)
                    await cur.execute(q, params)
                    return cur.rowcount

        if await self._run("save", body, retry=False) != 1:
            raise _conflict(p)

    async def delete(self, session_id: bytes) -> None:
        """:meth:`PostgresStore.delete`."""
        sid = _session_id(session_id)
        q = self._sql.delete

        async def body(conn: _AsyncConn) -> None:
            await conn.execute(q, (sid,))

        await self._run("delete", body, retry=True)

    async def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]:
        """:meth:`PostgresStore.list_by_subject`."""
        subj, now = _subject(subject), _now_ms(now_ms)
        q = self._sql.list

        async def body(conn: _AsyncConn) -> List[bytes]:
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(q, (subj, now))
                return [bytes(r[0]) for r in await cur.fetchall()]

        return await self._run("list_by_subject", body, retry=True)

    async def sessions_of(self, subject: bytes, now_ms: Optional[int] = None) -> List[StoredSession]:
        """:meth:`PostgresStore.sessions_of`."""
        subj = _subject(subject)
        now = -1 if now_ms is None else _now_ms(now_ms)
        q = self._sql.sessions_of

        async def body(conn: _AsyncConn) -> List[StoredSession]:
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(q, (subj, now))
                return [StoredSession._from_row(r) for r in await cur.fetchall()]

        return await self._run("sessions_of", body, retry=True)

    async def parent_of(self, session_id: bytes) -> Optional[bytes]:
        """:meth:`PostgresStore.parent_of`."""
        sid = _session_id(session_id)
        q = self._sql.parent_of

        async def body(conn: _AsyncConn) -> Optional[bytes]:
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(q, (sid,))
                row = await cur.fetchone()
            return None if row is None or row[0] is None else bytes(row[0])

        return await self._run("parent_of", body, retry=True)

    async def purge_expired(self, now_ms: int, batch: int = 1000) -> int:
        """:meth:`PostgresStore.purge_expired`."""
        now = _now_ms(now_ms)
        if isinstance(batch, bool) or not isinstance(batch, int):
            raise TypeError(f"batch must be an int, not {type(batch).__name__}")
        if not 1 <= batch <= _MAX_BATCH:
            raise ValueError(f"batch must be between 1 and {_MAX_BATCH}")
        q = self._sql.purge

        async def body(conn: _AsyncConn) -> int:
            async with conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(q, (now, batch))
                return cur.rowcount

        total = 0
        while True:
            n = await self._run("purge_expired", body, retry=True)
            total += n
            if n < batch:
                return total

    async def _run(
        self, op: str, body: Callable[[_AsyncConn], Awaitable[_T]], *, retry: bool
    ) -> _T:
        """:meth:`PostgresStore._run` for asyncio."""
        if self._closed:
            raise _closed(op)
        deadline = time.monotonic() + self._timeout
        first = True
        while True:
            broken = False
            try:
                async with self._pool.connection(timeout=_remaining(deadline)) as conn:
                    try:
                        result = await body(conn)
                        await conn.commit()
                    except psycopg.Error:
                        broken = conn.closed
                        raise
                return result
            except (psycopg.Error, OSError) as exc:
                if broken:
                    await self._evict_dead()
                if not (broken and retry and first and time.monotonic() < deadline):
                    raise _unavailable(op, exc) from None
            first = False

    async def _evict_dead(self) -> None:
        try:
            await self._pool.check()
        except Exception:  # noqa: BLE001 - best effort
            pass
