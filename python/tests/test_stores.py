"""The store contract, run against every store on real servers: MemoryStore, RedisStore on
one redis-server, RedisStore on a Redis Cluster (3 masters, a replica each), PostgresStore;
then the façade over each, and 64 concurrent clients racing one session through each."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import threading
import types
import uuid
from collections import Counter
from typing import Any, Iterator, List

import pytest
import redis
import redis.asyncio

import rolltoken as rt
from rolltoken import Kind, Rule
from rolltoken.stores import AsyncSessionStore, SessionStore
from servers import PostgresServer, RedisCluster, RedisServer
from storeclients import Answer, StoreSpec, close_store, open_store, process_worker, race_clients, race_policy

T0 = 1_800_000_000_000
UA, IP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "198.51.100.7"
KINDS = ["memory", "redis", "cluster", "postgres"]


def sid(n: int) -> bytes:
    return bytes([n]) * 16


def subject(n: int) -> bytes:
    return n.to_bytes(16, "big")


def record(n: int, *, subj: int = 7, version: int = 1, expires_at: int = T0 + 3_600_000) -> rt.Record:
    return rt.Record(
        session_id=sid(n),
        subject=subject(subj),
        form=rt.Form.COMPACT,
        created_at=T0,
        expires_at=expires_at,
        version=version,
    )


@pytest.fixture(params=KINDS)
def spec(request: pytest.FixtureRequest) -> Iterator[StoreSpec]:
    """A store of each kind, in a namespace of its own (key prefix, table)."""
    kind: str = request.param
    name = f"t{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        yield StoreSpec("memory")
    elif kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        if not server.running:
            server.start()
        yield StoreSpec("redis", server.url, f"{name}:")
    elif kind == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        host, port = cluster.masters()[0]
        yield StoreSpec("cluster", f"{host}:{port}", f"{name}:")
    else:
        pg: PostgresServer = request.getfixturevalue("postgres_server")
        from rolltoken.stores.postgres import PostgresStore

        with PostgresStore.connect(pg.dsn, table=name) as store:
            store.migrate()
        yield StoreSpec("postgres", pg.dsn, name)


@pytest.fixture
def store(spec: StoreSpec) -> Iterator[SessionStore]:
    opened, closable = open_store(spec)
    try:
        yield opened
    finally:
        close_store(closable)


def keyring() -> rt.Keyring:
    return rt.Keyring([(1, b"k" * 32)], minting_id=1)


# The contract.


def test_stores_keep_the_contract(store: SessionStore) -> None:
    assert isinstance(store, SessionStore)


def test_insert_is_insert_only_and_load_returns_the_exact_bytes(store: SessionStore) -> None:
    first = record(1)
    assert store.load(sid(1)) is None
    store.save(first, None, T0)
    assert store.load(sid(1)) == first.encode()
    assert store.load(sid(1), primary=True) == first.encode()
    with pytest.raises(rt.Conflict):
        store.save(record(1, version=9), None, T0)
    assert store.load(sid(1)) == first.encode()


def test_save_is_a_compare_and_swap_on_the_write_version(store: SessionStore) -> None:
    store.save(record(2, version=1), None, T0)
    second = record(2, version=2).replace(counter=1)
    store.save(second, 1, T0)
    assert store.load(sid(2)) == second.encode()
    with pytest.raises(rt.Conflict):  # stale: someone already moved it from 1 to 2
        store.save(record(2, version=2).replace(counter=5), 1, T0)
    with pytest.raises(rt.Conflict):  # absent
        store.save(record(3, version=2), 1, T0)
    assert store.load(sid(2)) == second.encode() and store.load(sid(3)) is None
    big = record(2, version=2**64 - 1)  # versions are u64: never truncated
    store.save(big, 2, T0)
    store.save(record(2, version=5), 2**64 - 1, T0)
    assert rt.decode_record(store.load(sid(2)) or b"").version == 5


def test_delete_removes_and_tolerates_absence(store: SessionStore) -> None:
    store.save(record(4), None, T0)
    store.delete(sid(4))
    store.delete(sid(4))
    assert store.load(sid(4)) is None
    store.save(record(4), None, T0)  # insertable again


def test_list_by_subject_lists_the_active_sessions_only(store: SessionStore) -> None:
    store.save(record(10, subj=7), None, T0)
    store.save(record(11, subj=7), None, T0)
    store.save(record(12, subj=7, expires_at=T0 + 10), None, T0)
    store.save(record(13, subj=8), None, T0)
    revoked = record(14, subj=7)
    store.save(revoked, None, T0)
    store.save(revoked.replace(revoke_reason="admin", revoked_at=T0 + 1, version=2), 1, T0 + 1)
    listed = store.list_by_subject(subject(7), T0 + 1000)
    assert sorted(listed) == [sid(10), sid(11)]
    assert store.list_by_subject(subject(8), T0) == [sid(13)]
    assert store.list_by_subject(subject(9), T0) == []


def test_bad_arguments_raise_typed_errors_before_touching_the_store(store: SessionStore) -> None:
    with pytest.raises((ValueError, TypeError)):
        store.load(b"short")
    with pytest.raises((ValueError, TypeError)):
        store.load("x" * 16)  # type: ignore[arg-type]
    with pytest.raises((ValueError, TypeError)):
        store.delete(b"\x00" * 17)
    with pytest.raises((ValueError, TypeError)):
        store.list_by_subject(b"\x00", T0)
    with pytest.raises((ValueError, TypeError)):
        store.save(record(5), -1, T0)


# The façade over each store: the same decisions wherever records live.


def test_the_facade_decides_the_same_over_every_store(store: SessionStore) -> None:
    s = rt.Sessions(keyring(), rt.Policy.default(), store=store)
    anon = s.handle(None, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(20))
    assert anon.rule is Rule.NEW_ANONYMOUS and anon.token is not None
    login = s.login(42, current_cookie=anon.token, user_agent=UA, ip=IP, now_ms=T0 + 1, new_session_id=sid(21))
    assert login.rule is Rule.FRESH and login.view is not None and login.view.parent == sid(20)
    assert login.token is not None
    page = s.handle(login.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1000)
    assert page.rule is Rule.FRESH and page.view is not None and page.view.counter == 1
    race = s.handle(login.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1100)
    assert race.rule is Rule.CONCURRENT_IN_GRACE and race.token == page.token and not race.clear_cookie
    read = s.handle(page.token, Kind.READ, user_agent=UA, ip=IP, now_ms=T0 + 1200)
    assert read.proceed and read.token is None
    stored = rt.decode_record(s.load_record(sid(21)) or b"")
    assert stored.counter == 1 and stored.parent == sid(20) and stored.subject == subject(42)

    # A copy used out of sequence, long after the grace window: the session ends for both.
    thief = s.handle(login.token, Kind.ADVANCE, user_agent="curl/8", ip="203.0.113.9", now_ms=T0 + 600_000)
    assert thief.rule is Rule.REUSE and thief.clear_cookie
    user = s.handle(page.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 601_000)
    assert user.rule is Rule.REVOKED and user.detail == "reuse" and user.clear_cookie

    # Logout, then a late in-flight advance cannot re-install the session.
    other = s.login(42, user_agent=UA, ip=IP, now_ms=T0 + 602_000, new_session_id=sid(22))
    assert other.token is not None
    assert s.logout(other.token, now_ms=T0 + 603_000) == rt.log_id(sid(22))
    late = s.handle(other.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 603_001)
    assert late.rule is Rule.REVOKED and late.clear_cookie
    assert s.logout(other.token, now_ms=T0 + 603_002) is None

    # Revoke-all reaches every device of the subject, and only those.
    devices = [s.login(42, now_ms=T0 + 604_000, new_session_id=sid(30 + i)) for i in range(3)]
    bystander = s.login(43, now_ms=T0 + 604_000, new_session_id=sid(40))
    assert s.revoke_all(42, now_ms=T0 + 605_000) == 3
    for d in devices:
        assert s.handle(d.token, Kind.READ, now_ms=T0 + 605_001).rule is Rule.REVOKED
    assert s.handle(bystander.token, Kind.READ, now_ms=T0 + 605_001).proceed
    assert s.revoke_all(42, now_ms=T0 + 606_000) == 0
    assert s.revoke(sid(40), now_ms=T0 + 606_000) and not s.revoke(sid(40), now_ms=T0 + 606_001)

    # An id that exists cannot be taken by a login (no overwrite of another session).
    with pytest.raises(rt.Conflict):
        s.login(44, now_ms=T0 + 607_000, new_session_id=sid(21))


def test_a_damaged_stored_record_ends_that_session_only(store: SessionStore, spec: StoreSpec) -> None:
    s = rt.Sessions(keyring(), rt.Policy.default(), store=store)
    login = s.login(42, now_ms=T0, new_session_id=sid(50))
    ok = s.login(42, now_ms=T0, new_session_id=sid(51))
    raw = bytearray(s.load_record(sid(50)) or b"")
    raw[60] ^= 1  # the counter: the checksum no longer matches
    version = rt.decode_record(bytes(s.load_record(sid(50)) or b"")).version
    # Write the damaged bytes behind the store's back, as a bad disk or an old writer would.
    _overwrite(spec, store, sid(50), bytes(raw), version)
    out = s.handle(login.token, Kind.ADVANCE, now_ms=T0 + 1000)
    assert out.rule is Rule.UNKNOWN_SESSION and out.clear_cookie
    assert s.handle(ok.token, Kind.ADVANCE, now_ms=T0 + 1000).rule is Rule.FRESH


def _overwrite(spec: StoreSpec, store: SessionStore, session_id: bytes, raw: bytes, version: int) -> None:
    if spec.kind == "memory":
        pytest.skip("the in-memory store holds decoded records: its bytes cannot be damaged")
    if spec.kind in ("redis", "cluster"):
        client: Any = getattr(store, "client")
        client.set(f"{spec.namespace}s:{session_id.hex()}", raw)
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(spec.address, autocommit=True) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET record = %s WHERE session_id = %s").format(sql.Identifier(spec.namespace)),
            (raw, session_id),
        )


# The asyncio variants.


def _open_async(spec: StoreSpec) -> Any:
    if spec.kind == "memory":
        return rt.MemoryStore()
    if spec.kind == "redis":
        from rolltoken.stores.redis import AsyncRedisStore

        return AsyncRedisStore(redis.asyncio.Redis.from_url(spec.address), prefix=spec.namespace)
    if spec.kind == "cluster":
        from rolltoken.stores.redis import AsyncRedisStore

        host, port = spec.address.rsplit(":", 1)
        return AsyncRedisStore(redis.asyncio.RedisCluster(host=host, port=int(port)), prefix=spec.namespace)
    return None


def test_async_sessions_decide_the_same(spec: StoreSpec) -> None:
    async def run() -> None:
        if spec.kind == "postgres":
            from rolltoken.stores.postgres import AsyncPostgresStore

            store: Any = await AsyncPostgresStore.connect(spec.address, table=spec.namespace)
        else:
            store = _open_async(spec)
        try:
            if not isinstance(store, rt.MemoryStore):
                assert isinstance(store, AsyncSessionStore)
            s = rt.AsyncSessions(keyring(), rt.Policy.default(), store=store)
            login = await s.login(42, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(60))
            assert login.token is not None
            page = await s.handle(login.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1000)
            assert page.rule is Rule.FRESH and page.token is not None
            race = await s.handle(login.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1100)
            assert race.rule is Rule.CONCURRENT_IN_GRACE and race.token == page.token
            thief = await s.handle(login.token, Kind.ADVANCE, now_ms=T0 + 900_000)
            assert thief.rule is Rule.REUSE and thief.clear_cookie
            again = await s.login(42, now_ms=T0 + 900_001, new_session_id=sid(61))
            assert again.token is not None
            assert await s.logout(again.token, now_ms=T0 + 900_002) == rt.log_id(sid(61))
            assert await s.revoke_all(42, now_ms=T0 + 900_003) == 0  # both already ended
            stored = await s.load_record(sid(60))
            assert stored is not None and not rt.decode_record(stored).is_active
        finally:
            if spec.kind == "postgres":
                await store.close()
            elif spec.kind != "memory":
                await store.aclose()
                await store.client.aclose()

    asyncio.run(run())


def test_a_blocking_store_is_refused_by_async_sessions_and_the_other_way_round(store: SessionStore) -> None:
    if isinstance(store, rt.MemoryStore):
        pytest.skip("a MemoryStore serves both façades")
    with pytest.raises(rt.ConfigurationError):
        rt.AsyncSessions(keyring(), store=store)  # type: ignore[arg-type]


# 64 concurrent clients on one session.

CLIENTS = 64
ROUNDS = 6


def _check_race(answers: List[Answer], rounds: int, start_counter: int, final_counter: int) -> Counter[str]:
    """The chain never forks: each step has exactly one winner, the others get grace answers
    (advances) or pass (reads); nobody is logged out; the counter counts the winners."""
    assert len(answers) == CLIENTS * rounds
    rules: Counter[str] = Counter()
    for r in range(rounds):
        step = [a for a in answers if a.round == r]
        winners = [a for a in step if a.rule == Rule.FRESH.value]
        assert len(winners) == 1, f"round {r}: {len(winners)} winners"
        assert winners[0].counter == start_counter + r + 1
        for a in step:
            rules[a.rule] += 1
            assert a.proceed and not a.clear_cookie, (r, a)
            if a.kind == Kind.ADVANCE.value and a is not winners[0]:
                assert a.rule == Rule.CONCURRENT_IN_GRACE.value, (r, a)
                assert a.token == winners[0].token  # every loser gets the winner's token
    assert final_counter == start_counter + rounds
    return rules


def test_64_threads_race_one_session_and_the_chain_never_forks(store: SessionStore) -> None:
    s = rt.Sessions(keyring(), race_policy(), store=store)
    login = s.login(42, now_ms=T0, user_agent="race", ip="127.0.0.1", new_session_id=sid(70))
    assert login.token is not None
    jar = types.SimpleNamespace(value=login.token.encode())
    answers = race_clients(s, 0, CLIENTS, ROUNDS, threading.Barrier(CLIENTS), jar, T0)
    final = rt.decode_record(s.load_record(sid(70)) or b"").counter
    rules = _check_race(answers, ROUNDS, 0, final)
    print(f"threads: {dict(rules)}, busy retries: {sum(a.busy for a in answers)}")


@pytest.mark.parametrize("processes", [4])
def test_64_clients_in_4_processes_race_one_session(spec: StoreSpec, store: SessionStore, processes: int) -> None:
    if spec.kind == "memory":
        pytest.skip("a MemoryStore is one process's")
    s = rt.Sessions(keyring(), race_policy(), store=store)
    login = s.login(42, now_ms=T0, user_agent="race", ip="127.0.0.1", new_session_id=sid(71))
    assert login.token is not None
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(CLIENTS)
    jar: Any = ctx.Array("c", 512)
    jar.value = login.token.encode()
    results: Any = ctx.Queue()
    per = CLIENTS // processes
    procs = [
        ctx.Process(
            target=process_worker,
            args=(spec, b"k" * 32, i * per, per, ROUNDS, barrier, jar, T0, results),
            daemon=True,
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    answers: List[Answer] = []
    try:
        for _ in procs:
            answers += [Answer(**a) for a in results.get(timeout=120)]
    except queue.Empty:
        pytest.fail("a racing process did not report within 120 s")
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in procs)
    final = rt.decode_record(s.load_record(sid(71)) or b"").counter
    rules = _check_race(answers, ROUNDS, 0, final)
    print(f"processes: {dict(rules)}, busy retries: {sum(a.busy for a in answers)}")

