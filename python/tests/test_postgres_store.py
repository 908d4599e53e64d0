"""rolltoken.stores.postgres against a real PostgreSQL (the postgres_server fixture of
conftest.py): the schema, compare-and-swap, listing, purging, the anonymous parent, both the
blocking and the asyncio store, and outages (restart, stop, kill) answered with
StoreUnavailable only."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from typing import Any, Awaitable, Callable, Coroutine, Dict, Iterator, List, Optional, Tuple, TypeVar

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

import rolltoken
from rolltoken import Conflict, Record, StoreUnavailable
from rolltoken.stores._protocol import AsyncSessionStore, SessionStore
from rolltoken.stores.postgres import (
    DEFAULT_RECONNECT_TIMEOUT,
    DEFAULT_TABLE,
    DEFAULT_TIMEOUT,
    MAX_EXPIRES_AT,
    AsyncPostgresStore,
    PostgresStore,
    amigrate,
    migrate,
)
from servers import PostgresServer

T = TypeVar("T")

NOW = 1_700_000_000_000
LATER = NOW + 3_600_000
TIMEOUT = 1.5  # the stores' pool timeout in these tests
OUTAGE_TIMEOUT = 0.75  # ... in the tests that stop the server
FAST = 10.0  # an outage must be answered well within this


# ---------------------------------------------------------------------------------------------
# helpers and fixtures


def sid() -> bytes:
    return os.urandom(16)


def make_record(
    session_id: Optional[bytes] = None,
    *,
    subject: Optional[bytes] = None,
    parent: Optional[bytes] = None,
    expires_at: int = LATER,
    version: int = 0,
    revoked: bool = False,
    authenticated: bool = True,
) -> Record:
    rec = Record(
        session_id=session_id or sid(),
        subject=subject or os.urandom(16),
        form="full",
        created_at=NOW - 1000,
        expires_at=expires_at,
        parent=parent,
        authenticated=authenticated,
        version=version,
    )
    if revoked:
        rec = rec.replace(revoke_reason="logout", revoked_at=NOW)
    return rec


def bump(rec: Record, **changes: Any) -> Record:
    """The record's next version, as the core writes it."""
    return rec.replace(version=rec.version + 1, **changes)


def revoke(rec: Record, reason: str = "logout") -> Record:
    return bump(rec, revoke_reason=reason, revoked_at=NOW)


@pytest.fixture
def pg(postgres_server: PostgresServer) -> PostgresServer:
    """The session's server, started again if a test left it stopped or killed."""
    if not postgres_server.running:
        postgres_server.start()
    return postgres_server


@pytest.fixture
def table() -> str:
    """A fresh table name per test: tests share one server."""
    return "rt_" + uuid.uuid4().hex[:16]


@pytest.fixture
def store(pg: PostgresServer, table: str) -> Iterator[PostgresStore]:
    s = PostgresStore.connect(pg.dsn, table=table, timeout=TIMEOUT, wait=True, min_size=2)
    try:
        s.migrate()
        yield s
    finally:
        s.close()


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(main())


async def async_store(pg: PostgresServer, table: str, **kw: Any) -> AsyncPostgresStore:
    s = await AsyncPostgresStore.connect(
        pg.dsn, table=table, timeout=kw.pop("timeout", TIMEOUT), wait=True, min_size=2, **kw
    )
    await s.migrate()
    return s


def row_of(pg: PostgresServer, table: str, session_id: bytes) -> Optional[Tuple[Any, ...]]:
    with pg.connect() as conn:
        return conn.execute(
            f'SELECT subject, parent, version, record, expires_at, active FROM "{table}"'
            " WHERE session_id = %s",
            (session_id,),
        ).fetchone()


def count_rows(pg: PostgresServer, table: str) -> int:
    with pg.connect() as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    assert row is not None
    return int(row[0])


def assert_clean_unavailable(e: StoreUnavailable, *secrets: bytes) -> None:
    """The message names no session id and quotes no record; the driver's error is not
    chained (its detail can quote a row)."""
    text = str(e)
    assert text.startswith("PostgreSQL store: ")
    for s in secrets:
        assert s.hex() not in text and repr(s) not in text and s.hex().upper() not in text
    assert e.__cause__ is None and e.__suppress_context__


def eventually(call: Callable[[], T], *, within: float = 30.0) -> Tuple[T, int]:
    """call() until it stops raising StoreUnavailable (bounded); any other exception fails.
    Returns the result and how many calls failed first."""
    deadline = time.monotonic() + within
    failures = 0
    while True:
        try:
            return call(), failures
        except StoreUnavailable:
            failures += 1
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def aeventually(call: Callable[[], Awaitable[T]], *, within: float = 30.0) -> Tuple[T, int]:
    deadline = time.monotonic() + within
    failures = 0
    while True:
        try:
            return await call(), failures
        except StoreUnavailable:
            failures += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# the schema


def _columns(pg: PostgresServer, table: str) -> Dict[str, Tuple[str, bool]]:
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (f'"{table}"',),
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_migrate_is_idempotent_and_creates_the_layout(pg: PostgresServer, table: str) -> None:
    with ConnectionPool(pg.dsn, min_size=1, open=False) as pool:
        pool.open(wait=True)
        migrate(pool, table=table)
        migrate(pool, table=table)
    with pg.connect() as conn:
        migrate(conn, table=table)  # a plain connection too, committed by migrate
    assert _columns(pg, table) == {
        "session_id": ("bytea", True),
        "subject": ("bytea", True),
        "parent": ("bytea", False),
        "version": ("numeric(20,0)", True),
        "record": ("bytea", True),
        "expires_at": ("bigint", True),
        "active": ("boolean", True),
    }
    with pg.connect() as conn:
        rows = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table,))
        indexes: Dict[str, str] = {str(r[0]): str(r[1]) for r in rows.fetchall()}
    assert len(indexes) == 3, indexes  # primary key, subject WHERE active, expires_at
    assert "(subject) WHERE active" in indexes[f"{table}_subject_active_idx"]
    assert "(expires_at)" in indexes[f"{table}_expires_at_idx"]
    assert any("(session_id)" in d and "UNIQUE" in d for d in indexes.values())


def test_migrate_checks_lengths_and_ranges(pg: PostgresServer, table: str) -> None:
    with pg.connect() as conn:
        migrate(conn, table=table)
    good: Dict[str, Any] = {"sid": sid(), "subject": os.urandom(16), "parent": None, "version": 0, "record": bytes(128),
            "expires_at": LATER, "active": True}  # fmt: skip
    bad: List[Dict[str, Any]] = [
        {"sid": os.urandom(15)},
        {"subject": os.urandom(17)},
        {"parent": os.urandom(8)},
        {"record": bytes(127)},
        {"version": 2**64},
        {"version": -1},
        {"expires_at": -1},
    ]
    insert = (
        f'INSERT INTO "{table}" (session_id, subject, parent, version, record, expires_at, active)'
        " VALUES (%(sid)s, %(subject)s, %(parent)s, %(version)s, %(record)s, %(expires_at)s, %(active)s)"
    )
    for change in bad:
        with pg.connect() as conn:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(insert, {**good, **change})
    with pg.connect() as conn:
        conn.execute(insert, {**good, "version": 2**64 - 1})  # the u64 maximum fits


def test_migrate_concurrently(pg: PostgresServer, table: str) -> None:
    errors: List[BaseException] = []
    barrier = threading.Barrier(6)

    def one() -> None:
        try:
            with pg.connect() as conn:
                barrier.wait()
                migrate(conn, table=table)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert count_rows(pg, table) == 0


def test_migrate_refuses_a_table_of_another_layout(pg: PostgresServer, table: str) -> None:
    with pg.connect() as conn:
        conn.execute(f'CREATE TABLE "{table}" (session_id bytea PRIMARY KEY, version bigint)')
    with pg.connect() as conn, pytest.raises(StoreUnavailable, match="another layout") as e:
        migrate(conn, table=table)
    assert "version (want numeric(20,0) NOT NULL, found bigint)" in str(e.value)
    assert "record (want bytea NOT NULL, found nothing)" in str(e.value)


def test_table_names(pg: PostgresServer, table: str) -> None:
    with ConnectionPool(pg.dsn, min_size=1, open=False) as pool:
        for bad in ["", "1abc", "a-b", 'x"; DROP TABLE y; --', "a.b.c", "a" * 41, "sp ace"]:
            with pytest.raises(ValueError):
                PostgresStore(pool, table=bad)
        with pytest.raises(TypeError):
            PostgresStore(pool, table=3)  # type: ignore[arg-type]
        assert PostgresStore(pool).table == DEFAULT_TABLE
    # schema-qualified, quoted as given (mixed case survives)
    with pg.connect() as conn:
        conn.execute(f'CREATE SCHEMA "S_{table}"')
        conn.commit()
    name = f"S_{table}.Sessions"
    with PostgresStore.connect(pg.dsn, table=name, timeout=TIMEOUT, wait=True, min_size=1) as s:
        s.migrate()
        rec = make_record()
        s.save(rec, None, NOW)
        assert s.load(rec.session_id) == rec.encode()
    with pg.connect() as conn:
        row = conn.execute(f'SELECT count(*) FROM "S_{table}"."Sessions"').fetchone()
        assert row == (1,)
        conn.execute(f'DROP SCHEMA "S_{table}" CASCADE')
        conn.commit()


# ---------------------------------------------------------------------------------------------
# the contract


def test_stores_keep_the_protocol(store: PostgresStore, pg: PostgresServer, table: str) -> None:
    sync: SessionStore = store
    assert isinstance(sync, SessionStore)

    async def main() -> None:
        s = await async_store(pg, table)
        try:
            a: AsyncSessionStore = s
            assert isinstance(a, AsyncSessionStore)
        finally:
            await s.close()

    run_async(main)


def test_insert_only_and_compare_and_swap(store: PostgresStore, pg: PostgresServer, table: str) -> None:
    rec = make_record()
    assert store.load(rec.session_id) is None
    store.save(rec, None, NOW)
    assert store.load(rec.session_id) == rec.encode()
    assert store.load(rec.session_id, primary=True) == rec.encode()

    # insert-only: the id exists
    other = make_record(rec.session_id, version=7)
    with pytest.raises(Conflict) as e:
        store.save(other, None, NOW)
    assert rec.log_id in str(e.value) and rec.session_id.hex() not in str(e.value)
    assert store.load(rec.session_id) == rec.encode()

    # the right version wins, once
    nxt = bump(rec, counter=1, last_advance_at=NOW)
    store.save(nxt, rec.version, NOW)
    assert store.load(rec.session_id) == nxt.encode()
    assert rolltoken.decode_record(store.load(rec.session_id) or b"").version == nxt.version

    # a stale version loses and changes nothing
    stale = bump(rec, counter=5)
    with pytest.raises(Conflict):
        store.save(stale, rec.version, NOW)
    with pytest.raises(Conflict):
        store.save(bump(nxt), nxt.version + 1, NOW)  # ahead of the store
    assert store.load(rec.session_id) == nxt.encode()

    # an update of a session that is not stored at all
    ghost = make_record(version=3)
    with pytest.raises(Conflict):
        store.save(bump(ghost), ghost.version, NOW)
    assert store.load(ghost.session_id) is None

    # the derived columns
    row = row_of(pg, table, rec.session_id)
    assert row == (nxt.subject, None, nxt.version, nxt.encode(), nxt.expires_at, True)


def test_versions_are_unsigned_64_bit(store: PostgresStore, pg: PostgresServer, table: str) -> None:
    for start in (2**63 - 1, 2**64 - 2):
        rec = make_record(version=start)
        store.save(rec, None, NOW)
        nxt = bump(rec)
        with pytest.raises(Conflict):
            store.save(nxt, start - 2**32, NOW)  # a truncation would not tell them apart
        store.save(nxt, start, NOW)
        assert store.load(rec.session_id) == nxt.encode()
        row = row_of(pg, table, rec.session_id)
        assert row is not None and row[2] == start + 1
    with pytest.raises(ValueError):
        store.save(make_record(), 2**64, NOW)
    with pytest.raises(ValueError):
        store.save(make_record(), -1, NOW)
    with pytest.raises(TypeError):
        store.save(make_record(), True, NOW)


def test_expires_at_beyond_bigint_is_kept_as_the_latest_time(store: PostgresStore, pg: PostgresServer, table: str) -> None:
    # The core saturates now + lifetime; such a record must still be stored (a ValueError
    # here would escape the façade as a crash): the column holds the latest bigint time, the
    # record's own bytes keep the real expiry.
    edge = make_record(expires_at=MAX_EXPIRES_AT)
    store.save(edge, None, NOW)
    assert store.load(edge.session_id) == edge.encode()
    assert store.list_by_subject(edge.subject, 2**64 - 1) == []  # a "now" past bigint is fine
    assert store.list_by_subject(edge.subject, MAX_EXPIRES_AT - 1) == [edge.session_id]
    for expires_at in (2**63, 2**64 - 1):
        far = make_record(expires_at=expires_at)
        store.save(far, None, NOW)
        assert store.load(far.session_id) == far.encode()
        assert far.session_id in store.list_by_subject(far.subject, MAX_EXPIRES_AT - 1)
    moved = bump(edge, expires_at=2**64 - 1)
    store.save(moved, edge.version, NOW)
    assert store.load(edge.session_id) == moved.encode()
    assert count_rows(pg, table) == 3


def test_delete(store: PostgresStore) -> None:
    rec = make_record()
    store.save(rec, None, NOW)
    store.delete(rec.session_id)
    assert store.load(rec.session_id) is None
    store.delete(rec.session_id)  # absent: no error
    store.save(rec, None, NOW)  # the id can be inserted again
    assert store.load(rec.session_id) == rec.encode()


def test_list_by_subject_excludes_revoked_and_expired(store: PostgresStore) -> None:
    user, someone_else = os.urandom(16), os.urandom(16)
    live = [make_record(subject=user) for _ in range(3)]
    at_now = make_record(subject=user, expires_at=NOW)  # expires_at == now: expired
    expired = make_record(subject=user, expires_at=NOW - 1)
    revoked = make_record(subject=user)
    foreign = make_record(subject=someone_else)
    for r in [*live, at_now, expired, revoked, foreign]:
        store.save(r, None, NOW)
    store.save(revoke(revoked), revoked.version, NOW)

    assert store.list_by_subject(user, NOW) == sorted(r.session_id for r in live)
    assert store.list_by_subject(user, NOW - 1) == sorted(r.session_id for r in [*live, at_now])
    assert store.list_by_subject(user, LATER) == []
    assert store.list_by_subject(someone_else, NOW) == [foreign.session_id]
    assert store.list_by_subject(os.urandom(16), NOW) == []

    # revoking one drops it from the list; the row (and its bytes) stays
    store.save(revoke(live[0]), live[0].version, NOW)
    assert store.list_by_subject(user, NOW) == sorted(r.session_id for r in live[1:])
    assert store.load(live[0].session_id) == revoke(live[0]).encode()


def test_purge_expired_in_batches(store: PostgresStore, pg: PostgresServer, table: str) -> None:
    expired = [make_record(expires_at=NOW - i) for i in range(25)]
    live = [make_record(expires_at=NOW + 1 + i) for i in range(5)]
    for r in [*expired, *live]:
        store.save(r, None, NOW)
    for r in expired[:5]:
        store.save(revoke(r), r.version, NOW)  # revoked or not, expiry decides
    store.save(revoke(live[0]), live[0].version, NOW)  # revoked but not expired: kept

    assert store.purge_expired(NOW, batch=7) == 25
    assert count_rows(pg, table) == 5
    assert all(store.load(r.session_id) is None for r in expired)
    assert all(store.load(r.session_id) is not None for r in live)
    assert store.purge_expired(NOW, batch=7) == 0
    assert store.purge_expired(NOW + 1) == 1  # expires_at <= now
    assert store.purge_expired(2**64 - 1, batch=1) == 4  # exact multiples end too
    assert count_rows(pg, table) == 0
    for bad in (0, 100_001):
        with pytest.raises(ValueError):
            store.purge_expired(NOW, batch=bad)
    with pytest.raises(TypeError):
        store.purge_expired(NOW, batch=1.5)  # type: ignore[arg-type]


def test_the_anonymous_parent_is_kept(store: PostgresStore, pg: PostgresServer, table: str) -> None:
    user = os.urandom(16)
    anon = make_record(subject=bytes(16), authenticated=False, expires_at=NOW + 10)
    store.save(anon, None, NOW)
    login = make_record(subject=user, parent=anon.session_id)
    store.save(login, None, NOW)
    store.save(revoke(anon, "upgraded_at_login"), anon.version, NOW)

    assert store.parent_of(login.session_id) == anon.session_id
    assert store.parent_of(anon.session_id) is None
    assert store.parent_of(sid()) is None
    row = row_of(pg, table, login.session_id)
    assert row is not None and row[1] == anon.session_id

    [seen] = store.sessions_of(user)
    assert (seen.session_id, seen.subject, seen.parent) == (login.session_id, user, anon.session_id)
    assert (seen.version, seen.expires_at, seen.active) == (login.version, login.expires_at, True)
    assert seen.record == login.encode() and seen.log_id == login.log_id
    text = repr(seen)
    assert login.log_id in text and anon.log_id in text
    assert login.session_id.hex() not in text and repr(login.session_id) not in text
    assert store.sessions_of(user, LATER) == []
    assert store.sessions_of(bytes(16)) == []  # the revoked anonymous session is not listed

    # the parent row expires and is purged; the join key stays with the child
    assert store.purge_expired(NOW + 10) == 1
    assert store.parent_of(login.session_id) == anon.session_id

    # a login that keeps its parent across versions
    nxt = bump(login, counter=3)
    store.save(nxt, login.version, NOW)
    assert store.parent_of(login.session_id) == anon.session_id


def test_concurrent_compare_and_swap_has_one_winner(store: PostgresStore) -> None:
    rec = make_record()
    store.save(rec, None, NOW)
    for round_ in range(5):
        current = rolltoken.decode_record(store.load(rec.session_id) or b"")
        barrier = threading.Barrier(8)
        won: List[int] = []
        lost: List[int] = []
        other: List[BaseException] = []

        def contend(i: int) -> None:
            candidate = bump(current, counter=current.counter + 1 + i)
            barrier.wait()
            try:
                store.save(candidate, current.version, NOW)
                won.append(i)
            except Conflict:
                lost.append(i)
            except BaseException as e:  # noqa: BLE001
                other.append(e)

        threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert other == [] and len(won) == 1 and len(lost) == 7, (round_, won, lost, other)
        stored = rolltoken.decode_record(store.load(rec.session_id) or b"")
        assert stored.version == current.version + 1
        assert stored.counter == current.counter + 1 + won[0]


def test_bad_arguments_raise_before_any_sql(pg: PostgresServer) -> None:
    # a store whose server does not exist: any SQL would raise StoreUnavailable instead
    pool: ConnectionPool[Any] = ConnectionPool("postgresql://postgres@127.0.0.1:9/x", min_size=1, open=False)
    try:
        s = PostgresStore(pool, timeout=TIMEOUT)  # never opened: SQL would fail too
        good = make_record()
        t0 = time.monotonic()
        cases: List[Tuple[Callable[[], object], type]] = [
            (lambda: s.load(os.urandom(15)), ValueError),
            (lambda: s.load(os.urandom(17)), ValueError),
            (lambda: s.load("x" * 16), TypeError),  # type: ignore[arg-type]
            (lambda: s.load(None), TypeError),  # type: ignore[arg-type]
            (lambda: s.delete(b""), ValueError),
            (lambda: s.parent_of(os.urandom(32)), ValueError),
            (lambda: s.list_by_subject(os.urandom(8), NOW), ValueError),
            (lambda: s.list_by_subject(42, NOW), TypeError),  # type: ignore[arg-type]
            (lambda: s.list_by_subject(os.urandom(16), -1), ValueError),
            (lambda: s.list_by_subject(os.urandom(16), 2**64), ValueError),
            (lambda: s.list_by_subject(os.urandom(16), "now"), TypeError),  # type: ignore[arg-type]
            (lambda: s.sessions_of(b"short"), ValueError),
            (lambda: s.save(good.encode(), None, NOW), TypeError),  # type: ignore[arg-type]
            (lambda: s.save(good, "1", NOW), TypeError),  # type: ignore[arg-type]
            (lambda: s.save(good, None, -5), ValueError),
            (lambda: s.purge_expired(-1), ValueError),
        ]
        for call, exc in cases:
            with pytest.raises(exc):
                call()
        assert time.monotonic() - t0 < 1.0
        for bad_timeout in (0, -1, float("inf"), float("nan")):
            with pytest.raises(ValueError):
                PostgresStore(pool, timeout=bad_timeout)
        with pytest.raises(TypeError):
            PostgresStore(object())  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            migrate(object(), table="x")  # type: ignore[arg-type]
        # the unopened pool itself is a store failure, not a driver exception
        with pytest.raises(StoreUnavailable):
            s.load(good.session_id)
    finally:
        pool.close()


def test_connect_arguments(pg: PostgresServer) -> None:
    with pytest.raises(ValueError) as e:
        PostgresStore.connect("host=127.0.0.1 password=s3cret port")
    assert "s3cret" not in str(e.value)
    with pytest.raises(TypeError):
        PostgresStore.connect(pg.dsn, open=True)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="connect failed"):
        PostgresStore.connect("postgresql://postgres@127.0.0.1:9/postgres", timeout=1.0, wait=True)
    assert time.monotonic() - t0 < FAST
    # without wait, a store made while the server is unreachable is fine until used
    s = PostgresStore.connect("postgresql://postgres@127.0.0.1:9/postgres", timeout=0.5)
    with s, pytest.raises(StoreUnavailable, match="PoolTimeout"):
        s.load(sid())
    assert s.pool.reconnect_timeout == DEFAULT_RECONNECT_TIMEOUT
    kw = s.pool.kwargs
    assert isinstance(kw, dict) and kw["connect_timeout"] == 2 and kw["autocommit"] is True
    with PostgresStore.connect(pg.dsn + "?connect_timeout=7", min_size=1, reconnect_timeout=3) as s2:
        assert s2.pool.reconnect_timeout == 3
        kw = s2.pool.kwargs
        assert isinstance(kw, dict) and "connect_timeout" not in kw


def test_a_pool_of_your_own(pg: PostgresServer, table: str) -> None:
    """A pool with transactional connections and a dict row factory: the store works, leaves
    the connections idle, and close() leaves the pool open."""
    with ConnectionPool(pg.dsn, min_size=1, max_size=2, kwargs={"row_factory": dict_row}, open=False) as pool:
        pool.open(wait=True)
        migrate(pool, table=table)
        s = PostgresStore(pool, table=table)
        rec = make_record(parent=sid())
        s.save(rec, None, NOW)
        s.save(revoke(rec), rec.version, NOW)  # the durable path inside a transaction
        assert s.load(rec.session_id) == revoke(rec).encode()
        assert s.list_by_subject(rec.subject, NOW) == []
        assert s.parent_of(rec.session_id) == rec.parent
        assert s.purge_expired(LATER) == 1
        s.close()
        with pytest.raises(StoreUnavailable, match="closed"):
            s.load(rec.session_id)
        with pool.connection() as conn:  # the pool is still open and its connections clean
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            one: Any = conn.execute("SELECT 1 AS one").fetchone()
            assert one == {"one": 1}


def test_undefined_table_names_migrate(pg: PostgresServer, table: str) -> None:
    with PostgresStore.connect(pg.dsn, table=table, timeout=TIMEOUT, wait=True, min_size=1) as s:
        rec = make_record()
        with pytest.raises(StoreUnavailable, match="42P01.*migrate") as e:
            s.save(rec, None, NOW)
        assert_clean_unavailable(e.value, rec.session_id, rec.encode())
        with pytest.raises(StoreUnavailable, match="42P01"):
            s.load(rec.session_id)


# ---------------------------------------------------------------------------------------------
# outages


def test_restart_is_survived_without_rebuilding_the_store(store: PostgresStore, pg: PostgresServer) -> None:
    rec = make_record()
    store.save(rec, None, NOW)
    pg.restart()
    # every pooled connection is dead now: the first call may fail, a later one works
    loaded, _ = eventually(lambda: store.load(rec.session_id))
    assert loaded == rec.encode()
    nxt = bump(rec, counter=1)
    eventually(lambda: store.save(nxt, rec.version, NOW))
    assert store.load(rec.session_id) == nxt.encode()

    pg.restart()
    # a write on a dead connection is not retried (it may have committed); it fails as
    # StoreUnavailable and the store then works again
    nxt2 = bump(nxt, counter=2)
    try:
        store.save(nxt2, nxt.version, NOW)
    except StoreUnavailable as e:
        assert_clean_unavailable(e, rec.session_id, nxt2.encode())
        eventually(lambda: store.save(nxt2, nxt.version, NOW))
    assert store.load(rec.session_id) == nxt2.encode()
    assert store.list_by_subject(rec.subject, NOW) == [rec.session_id]


def test_reads_after_a_restart_do_not_fail(store: PostgresStore, pg: PostgresServer) -> None:
    """A read that meets a dead pooled connection is retried once on a fresh one."""
    rec = make_record()
    store.save(rec, None, NOW)
    pg.restart()
    assert store.load(rec.session_id) == rec.encode()
    pg.restart()
    assert store.list_by_subject(rec.subject, NOW) == [rec.session_id]
    pg.restart()
    store.delete(rec.session_id)
    assert store.load(rec.session_id) is None


def test_stopped_server_answers_store_unavailable_quickly(pg: PostgresServer, table: str) -> None:
    store = PostgresStore.connect(pg.dsn, table=table, timeout=OUTAGE_TIMEOUT, wait=True, min_size=2)
    default = PostgresStore.connect(pg.dsn, table=table, wait=True, min_size=1)
    assert default.timeout == DEFAULT_TIMEOUT
    try:
        _stopped_server(store, default, pg)
    finally:
        store.close()
        default.close()


def _stopped_server(store: PostgresStore, default: PostgresStore, pg: PostgresServer) -> None:
    store.migrate()
    rec = make_record()
    store.save(rec, None, NOW)
    nxt = revoke(rec)
    pg.stop()
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable):
        default.load(rec.session_id)  # the default timeout answers well within FAST too
    assert time.monotonic() - t0 < DEFAULT_TIMEOUT + 2.0 < FAST
    calls: List[Callable[[], object]] = [
        lambda: store.load(rec.session_id),
        lambda: store.save(nxt, rec.version, NOW),
        lambda: store.save(make_record(), None, NOW),
        lambda: store.delete(rec.session_id),
        lambda: store.list_by_subject(rec.subject, NOW),
        lambda: store.sessions_of(rec.subject),
        lambda: store.parent_of(rec.session_id),
        lambda: store.purge_expired(NOW),
        lambda: store.load(rec.session_id),
    ]
    for call in calls:
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable) as e:
            call()
        assert time.monotonic() - t0 < OUTAGE_TIMEOUT + 2.0 < FAST
        assert_clean_unavailable(e.value, rec.session_id, rec.encode(), nxt.encode())
    pg.start()
    loaded, _ = eventually(lambda: store.load(rec.session_id))
    assert loaded == rec.encode()
    store.save(nxt, rec.version, NOW)
    assert store.list_by_subject(rec.subject, NOW) == []
    assert default.load(rec.session_id) == nxt.encode()


def test_a_long_outage_is_survived(pg: PostgresServer, table: str) -> None:
    """Down for longer than the pool's reconnect_timeout: the pool gives its connections up,
    and reconnects promptly once the server is back and a call needs one."""
    with PostgresStore.connect(
        pg.dsn, table=table, timeout=0.5, wait=True, min_size=2, reconnect_timeout=1.5
    ) as store:
        store.migrate()
        rec = make_record()
        store.save(rec, None, NOW)
        pg.stop()
        down = time.monotonic()
        while time.monotonic() - down < 5.0:
            with pytest.raises(StoreUnavailable):
                store.load(rec.session_id)
            time.sleep(0.2)
        pg.start()
        up = time.monotonic()
        loaded, _ = eventually(lambda: store.load(rec.session_id), within=10.0)
        assert loaded == rec.encode()
        assert time.monotonic() - up < 3.0


def test_killed_server_keeps_acknowledged_revocations(pg: PostgresServer, table: str) -> None:
    """SIGKILL right after save() returned: the revocation is there after crash recovery,
    even with synchronous_commit off for the role (the store forces it on for revocations)."""
    with pg.connect(autocommit=True) as conn:
        migrate(conn, table=table)
    with PostgresStore.connect(
        pg.dsn, table=table, timeout=TIMEOUT, wait=True, min_size=1,
        kwargs={"options": "-c synchronous_commit=off"},
    ) as s:  # fmt: skip
        with s.pool.connection() as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        recs = [make_record() for _ in range(5)]
        for r in recs:
            s.save(r, None, NOW)
        for r in recs:
            s.save(revoke(r), r.version, NOW)
        pg.kill()
        with pytest.raises(StoreUnavailable):
            s.load(recs[0].session_id)
        pg.start()
        for r in recs:
            loaded, _ = eventually(lambda: s.load(r.session_id))
            assert loaded == revoke(r).encode()


def test_closed_store(pg: PostgresServer, table: str) -> None:
    s = PostgresStore.connect(pg.dsn, table=table, timeout=TIMEOUT, wait=True, min_size=1)
    s.migrate()
    s.close()
    s.close()
    assert s.pool.closed
    with pytest.raises(StoreUnavailable, match="closed"):
        s.load(sid())
    with pytest.raises(StoreUnavailable, match="closed"):
        s.save(make_record(), None, NOW)


# ---------------------------------------------------------------------------------------------
# asyncio


def test_async_contract(pg: PostgresServer, table: str) -> None:
    async def main() -> None:
        s = await async_store(pg, table)
        await s.migrate()  # idempotent
        try:
            user = os.urandom(16)
            anon = make_record(subject=bytes(16), authenticated=False, expires_at=NOW - 1)
            rec = make_record(subject=user, parent=anon.session_id)
            assert await s.load(rec.session_id) is None
            await s.save(anon, None, NOW)
            await s.save(rec, None, NOW)
            assert await s.load(rec.session_id) == rec.encode()
            with pytest.raises(Conflict):
                await s.save(rec, None, NOW)
            nxt = bump(rec, counter=1)
            with pytest.raises(Conflict):
                await s.save(nxt, rec.version + 1, NOW)
            await s.save(nxt, rec.version, NOW)
            assert await s.load(rec.session_id, primary=True) == nxt.encode()
            assert await s.list_by_subject(user, NOW) == [rec.session_id]
            assert await s.parent_of(rec.session_id) == anon.session_id
            [seen] = await s.sessions_of(user, NOW)
            assert seen.record == nxt.encode() and seen.parent == anon.session_id
            assert await s.purge_expired(NOW) == 1
            assert await s.parent_of(rec.session_id) == anon.session_id
            await s.save(revoke(nxt), nxt.version, NOW)
            assert await s.list_by_subject(user, NOW) == []
            await s.delete(rec.session_id)
            await s.delete(rec.session_id)
            assert await s.load(rec.session_id) is None
            with pytest.raises(ValueError):
                await s.load(b"short")
            far = make_record(expires_at=2**63)
            await s.save(far, None, NOW)
            assert await s.load(far.session_id) == far.encode()
        finally:
            await s.close()
        with pytest.raises(StoreUnavailable, match="closed"):
            await s.load(rec.session_id)

    run_async(main)


def test_async_migrate_and_own_pool(pg: PostgresServer, table: str) -> None:
    async def main() -> None:
        async with AsyncConnectionPool(pg.dsn, min_size=1, open=False) as pool:
            await amigrate(pool, table=table)
            await amigrate(pool, table=table)
            async with await psycopg.AsyncConnection.connect(pg.dsn) as conn:
                await amigrate(conn, table=table)
            async with AsyncPostgresStore(pool, table=table) as s:
                rec = make_record()
                await s.save(rec, None, NOW)
                await s.save(revoke(rec), rec.version, NOW)
                assert await s.load(rec.session_id) == revoke(rec).encode()
            assert not pool.closed  # not the store's to close
        with pytest.raises(TypeError):
            await amigrate(object(), table=table)  # type: ignore[arg-type]

    run_async(main)
    assert count_rows(pg, table) == 1


def test_async_concurrent_compare_and_swap(pg: PostgresServer, table: str) -> None:
    async def main() -> None:
        s = await async_store(pg, table, max_size=8)
        try:
            rec = make_record()
            await s.save(rec, None, NOW)
            results = await asyncio.gather(
                *(s.save(bump(rec, counter=i + 1), rec.version, NOW) for i in range(10)),
                return_exceptions=True,
            )
            assert sum(r is None for r in results) == 1
            assert all(r is None or isinstance(r, Conflict) for r in results)
        finally:
            await s.close()

    run_async(main)


def test_async_outages(pg: PostgresServer, table: str) -> None:
    async def main() -> None:
        s = await async_store(pg, table, timeout=OUTAGE_TIMEOUT)
        try:
            rec = make_record()
            await s.save(rec, None, NOW)
            pg.restart()
            assert await s.load(rec.session_id) == rec.encode()  # retried on a fresh connection
            pg.restart()
            nxt = bump(rec, counter=1)
            await aeventually(lambda: s.save(nxt, rec.version, NOW))
            assert await s.load(rec.session_id) == nxt.encode()

            pg.stop()
            calls: List[Callable[[], Awaitable[object]]] = [
                lambda: s.load(rec.session_id),
                lambda: s.save(revoke(nxt), nxt.version, NOW),
                lambda: s.list_by_subject(rec.subject, NOW),
                lambda: s.delete(rec.session_id),
                lambda: s.purge_expired(NOW),
            ]
            for call in calls:
                t0 = time.monotonic()
                with pytest.raises(StoreUnavailable) as e:
                    await call()
                assert time.monotonic() - t0 < OUTAGE_TIMEOUT + 2.0 < FAST
                assert_clean_unavailable(e.value, rec.session_id, rec.encode(), nxt.encode())
            pg.start()
            loaded, _ = await aeventually(lambda: s.load(rec.session_id))
            assert loaded == nxt.encode()

            pg.kill()
            with pytest.raises(StoreUnavailable):
                await s.list_by_subject(rec.subject, NOW)
            pg.start()
            ids, _ = await aeventually(lambda: s.list_by_subject(rec.subject, NOW))
            assert ids == [rec.session_id]
        finally:
            await s.close()

    run_async(main)
