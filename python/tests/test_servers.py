"""The real-server fixtures themselves (conftest.py, servers.py): Redis keeps acknowledged
writes across a restart and a SIGKILL (AOF, appendfsync always), a replica acknowledges WAIT,
a killed cluster master is replaced by its replica and its keys become writable again,
PostgreSQL keeps a committed row across a restart and a crash, and no process is left once a
server is closed."""

from __future__ import annotations

import os
import time
from typing import Callable, List, TypeVar

import pytest
import redis

from servers import PostgresServer, RedisCluster, RedisServer, pid_alive

_T = TypeVar("_T")


def _eventually(what: str, attempt: Callable[[], _T], timeout: float = 10.0) -> _T:
    """attempt() until it stops raising a Redis error, for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still failing after {timeout:g} s") from None
            time.sleep(0.1)


def _gone(pids: List[int]) -> List[int]:
    """The pids of pids that still exist (zombies included: they must have been reaped)."""
    return [p for p in pids if os.path.exists(f"/proc/{p}")]


def test_redis_keeps_acknowledged_writes_across_restart_and_kill(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    redis_client.set(b"before-restart", b"1")
    old_pid = redis_server.pid
    redis_server.restart()
    assert redis_server.pid != old_pid and old_pid is not None and not pid_alive(old_pid)
    with redis_server.client() as c:
        assert c.get(b"before-restart") == b"1"
        c.set(b"before-kill", b"2")
    redis_server.kill()
    assert not redis_server.running
    redis_server.start()
    with redis_server.client() as c:
        assert c.mget([b"before-restart", b"before-kill"]) == [b"1", b"2"]


def test_redis_replica_acknowledges_wait(redis_server: RedisServer, redis_replica: RedisServer) -> None:
    with redis_server.client() as primary, redis_replica.client() as replica:
        primary.set(b"replicated", b"yes")
        assert primary.wait(1, 2000) == 1
        assert replica.get(b"replicated") == b"yes"


def test_cluster_master_failover(redis_cluster: RedisCluster) -> None:
    key = b"rolltoken:failover"
    host, port = redis_cluster.master_for_key(key)
    assert (host, port) in redis_cluster.masters() and redis_cluster.replicas_of(port)
    with redis_cluster.client() as client:
        client.set(key, b"before")
        with redis.Redis(host=host, port=port, socket_timeout=5) as master:
            # replicated before the kill, so that the promoted replica has it
            assert master.wait(1, 2000) == 1
        old_pids = redis_cluster.procs[port].pid
        started = time.monotonic()
        redis_cluster.kill(port)
        new_master = redis_cluster.wait_failover(port, timeout=15)
        failover = time.monotonic() - started
        assert new_master != (host, port) and redis_cluster.master_for_key(key) == new_master
        assert _eventually("the key's read after failover", lambda: client.get(key)) == b"before"
        _eventually("a write after failover", lambda: client.set(key, b"after"))
        assert client.get(key) == b"after"
    assert failover < 10, f"failover took {failover:.1f} s"
    assert not pid_alive(old_pids)
    redis_cluster.restart(port)  # rejoins as a replica of the promoted node
    assert (host, port) in redis_cluster.replicas_of(new_master[1])
    assert (host, port) not in redis_cluster.masters()


def test_postgres_keeps_committed_rows_across_restart_and_kill(postgres_server: PostgresServer) -> None:
    assert postgres_server.dsn == f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"
    assert os.access(postgres_server.pgbench_path, os.X_OK)
    with postgres_server.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS fixture_check")
        conn.execute("CREATE TABLE fixture_check (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO fixture_check VALUES (1, 'before restart')")
    postgres_server.restart()
    with postgres_server.connect() as conn:
        conn.execute("INSERT INTO fixture_check VALUES (2, 'before kill')")
    postgres_server.kill()
    postgres_server.start()
    with postgres_server.connect() as conn:
        rows = conn.execute("SELECT id, note FROM fixture_check ORDER BY id").fetchall()
    assert rows == [(1, "before restart"), (2, "before kill")]


def test_nothing_is_left_running_after_close() -> None:
    if os.environ.get("ROLLTOKEN_NO_SERVERS") == "1":
        pytest.skip("ROLLTOKEN_NO_SERVERS=1: no real servers")
    with RedisServer() as primary, RedisServer(replica_of=primary) as replica:
        redis_pids = primary.pids() + replica.pids()
        redis_dirs = [primary.dir, replica.dir]
    with PostgresServer() as pg:
        conn = pg.connect(autocommit=True)
        try:
            conn.execute("SELECT 1")
            pg_pids = pg.pids()  # the postmaster, its helpers and this connection's backend
            assert len(pg_pids) > 3
            pg.kill()  # the orphaned backends must be collected too
        finally:
            conn.close()
    with RedisCluster() as cluster:
        cluster_pids = cluster.pids()
        assert len(cluster_pids) == 6
    assert _gone(redis_pids) == [] and _gone(pg_pids) == [] and _gone(cluster_pids) == []
    assert not any(d.exists() for d in [*redis_dirs, pg.dir, cluster.dir])
