"""Stores opened from a picklable spec, and the race client the concurrency tests run in
threads and in spawned processes (each process opens its own store: real multi-process)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import rolltoken as rt
from rolltoken.stores import SessionStore

#: A client that is told "busy" (contention outlasted the retry bound) tries again, as a
#: browser does after Retry-After; at most this many times per step.
MAX_BUSY_RETRIES = 50


@dataclass(frozen=True)
class StoreSpec:
    """How to open one store: ``kind`` is memory, redis, cluster or postgres."""

    kind: str
    address: str = ""  # redis URL, "host:port" of a cluster node, or a PostgreSQL DSN
    namespace: str = ""  # key prefix (redis) or table name (postgres)


def open_store(spec: StoreSpec) -> Tuple[SessionStore, Any]:
    """The store and what to close afterwards (or ``None``)."""
    if spec.kind == "memory":
        return rt.MemoryStore(), None
    if spec.kind in ("redis", "cluster"):
        import redis

        from rolltoken.stores.redis import RedisStore

        client: Any
        if spec.kind == "redis":
            client = redis.Redis.from_url(spec.address, socket_timeout=5.0)
        else:
            host, port = spec.address.rsplit(":", 1)
            client = redis.RedisCluster(host=host, port=int(port), socket_timeout=5.0)
        return RedisStore(client, prefix=spec.namespace), client
    if spec.kind == "postgres":
        from rolltoken.stores.postgres import PostgresStore

        store = PostgresStore.connect(spec.address, table=spec.namespace, max_size=16)
        return store, store
    raise ValueError(f"unknown store kind {spec.kind!r}")


def close_store(closable: Any) -> None:
    if closable is not None:
        closable.close()


@dataclass
class Answer:
    round: int
    client: int
    kind: str
    rule: str
    proceed: bool
    clear_cookie: bool
    counter: Optional[int]
    token: Optional[str]
    busy: int


def race_step(
    sessions: rt.Sessions, token: str, kind: rt.Kind, now_ms: int, rnd: int, client: int
) -> Answer:
    """One client's request of one step, retried while the answer is "busy"."""
    busy = 0
    while True:
        out = sessions.handle(token, kind, user_agent="race", ip="127.0.0.1", now_ms=now_ms)
        if out.rule is rt.Rule.BUSY and busy < MAX_BUSY_RETRIES:
            busy += 1
            time.sleep(0.001 * busy)
            continue
        view = out.view
        return Answer(
            rnd,
            client,
            kind.value,
            out.rule.value,
            out.proceed,
            out.clear_cookie,
            view.counter if view is not None else None,
            out.token,
            busy,
        )


def race_clients(
    sessions: rt.Sessions, first: int, count: int, rounds: int, barrier: Any, jar: Any, t0: int
) -> List[Answer]:
    """``count`` clients (threads) racing ``rounds`` steps of one session: each round every
    client presents the jar's token (client ``c`` reads when ``c % 4 == 3``, else advances),
    then client 0 puts the step's new token in the jar. ``barrier`` spans every client of
    every process; ``jar.value`` is the token as bytes."""
    answers: List[Answer] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        for r in range(rounds):
            barrier.wait(60)
            token = jar.value.decode()
            kind = rt.Kind.READ if c % 4 == 3 else rt.Kind.ADVANCE
            a = race_step(sessions, token, kind, t0 + 1000 * (r + 1), r, c)
            with lock:
                answers.append(a)
            barrier.wait(60)
            if c == 0 and a.token is not None:
                jar.value = a.token.encode()
            barrier.wait(60)

    threads = [threading.Thread(target=client, args=(first + i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return answers


def process_worker(
    spec: StoreSpec,
    key: bytes,
    first: int,
    count: int,
    rounds: int,
    barrier: Any,
    jar: Any,
    t0: int,
    results: Any,
) -> None:
    """:func:`race_clients` in a process of its own, over its own connection to the store."""
    store, closable = open_store(spec)
    try:
        keys = rt.Keyring([(1, key)], minting_id=1)
        sessions = rt.Sessions(keys, race_policy(), store=store)
        answers = race_clients(sessions, first, count, rounds, barrier, jar, t0)
    finally:
        close_store(closable)
    results.put([a.__dict__ for a in answers])


def race_policy() -> rt.Policy:
    """The policy of the races: 64 tabs racing one step need 63 grace answers in it."""
    return rt.Policy.default().replace(answer_cap=64)
