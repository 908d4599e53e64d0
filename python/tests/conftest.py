"""Session-scoped real servers on 127.0.0.1 for the store tests (see servers.py).

Each starts on first use and is closed at the end of the session (after failures and
KeyboardInterrupt too); servers.py also kills every process it started at exit. A missing
program fails the test that asked for the server; ROLLTOKEN_NO_SERVERS=1 skips it instead.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator, TypeVar

import pytest
import redis

from servers import MissingBinary, PostgresServer, RedisCluster, RedisServer

_T = TypeVar("_T", RedisServer, RedisCluster, PostgresServer)


def _make(make: Callable[[], _T]) -> _T:
    try:
        return make()
    except MissingBinary as e:
        missing = str(e)
    pytest.fail(f"{missing} (set ROLLTOKEN_NO_SERVERS=1 to skip the tests that need it)", pytrace=False)


def _create(make: Callable[[], _T]) -> _T:
    """make() and start it; a missing program fails (skips under ROLLTOKEN_NO_SERVERS=1)."""
    if os.environ.get("ROLLTOKEN_NO_SERVERS") == "1":
        pytest.skip("ROLLTOKEN_NO_SERVERS=1: no real servers")
    server = _make(make)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server (AOF, appendfsync always)."""
    server = _create(RedisServer)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_replica(redis_server: RedisServer) -> Iterator[RedisServer]:
    """A replica of redis_server (so that WAIT 1 can succeed on it)."""
    replica = _create(lambda: RedisServer(replica_of=redis_server))
    try:
        yield replica
    finally:
        replica.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A 6-node Redis Cluster: 3 masters, one replica each."""
    cluster = _create(RedisCluster)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster (superuser postgres, trust auth)."""
    server = _create(PostgresServer)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of redis_server, emptied (FLUSHALL) first; restarts the server if a test
    left it stopped."""
    if not redis_server.running:
        redis_server.start()
    client = redis_server.client()
    try:
        client.flushall()
        yield client
    finally:
        client.close()
