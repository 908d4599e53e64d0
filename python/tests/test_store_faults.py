"""The Redis stores under real faults (the redis_server and redis_cluster fixtures of
conftest.py): what DESIGN §5-§7 promise must hold while a server is down, while a Cluster
master fails over, and while a process's deny feed is disconnected.

- A stopped redis-server: requests answer ``store_unavailable`` (proceed, but never clear the
  cookie; over HTTP a 503 with no ``Set-Cookie``), login/logout/revoke raise
  ``StoreUnavailable`` only, quickly; after a graceful stop and after a SIGKILL, every
  acknowledged session and revocation is back (AOF, appendfsync always). A retried
  revocation is not acknowledged before it reached the replica (the driver saves a record
  it finds already revoked again, unchanged, so that the save waits for the replica).
- Redis Cluster, one master SIGKILLed in the middle of a run of advances and revocations: only
  the killed master's slots see outages; no acknowledged revocation is lost (revocations WAIT
  for a replica), no session is falsely revoked (lost advances are repaired forward), and
  every surviving session advances afterwards.
- Cached mode across processes: a revocation reaches another process's deny list live, and
  after a disconnection (the feed's reconnection, redis-py's own, a lost message) through the
  sorted set's catch-up; one of the processes is a real subprocess.
- The asyncio façade and store: the same outage answers, and the contract on a Cluster; a
  Cluster out of reach (RedisClusterException, not a RedisError) is an outage too.

Clients are given a bounded retry policy where an outage's latency is asserted: redis-py's
default (10 retries, jittered exponential backoff capped at 1 s) alone sleeps up to ~5.3 s per
command before it gives up (measured: 3.7-5.0 s per request against a stopped server).

Every key prefix is unique per test (the servers are shared with other modules); every wait
and loop is bounded; every server a test stops or kills is started again before it returns.
"""

from __future__ import annotations

import asyncio
import collections
import http.cookiejar
import json
import os
import queue
import selectors
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Counter, Dict, Iterable, Iterator, List, Optional, Set, Tuple, cast

import httpx
import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry
from waitress import wasyncore
from waitress.server import TcpWSGIServer

import rolltoken
from rolltoken import (
    AsyncSessions,
    Keyring,
    Outcome,
    Policy,
    RevokeReason,
    Rule,
    Sessions,
    StoreUnavailable,
    decode_record,
)
from rolltoken.stores.redis import AsyncRedisStore, RedisDenyFeed, RedisStore
from rolltoken.wsgi import ENVIRON_KEY, RequestContext, RolltokenWSGI
from servers import HOST, RedisCluster, RedisServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

OUTAGE_BOUND_S = 5.0  # an answer during an outage comes within this
FEED_BOUND_S = 2.0  # a live revocation reaches another process within this
WAIT_S = 10.0  # upper bound of any other wait in this file
UA = "rolltoken-store-faults/1.0"
IP = "127.0.0.1"  # what waitress reports as REMOTE_ADDR: login and HTTP share one binding
CONFIG = rolltoken.CookieConfig.insecure_local()
PROCEEDING = {Rule.FRESH, Rule.CURRENT, Rule.CONCURRENT_IN_GRACE, Rule.LOST_RESPONSE, Rule.STORE_BEHIND}


def report(what: str, **facts: object) -> None:
    """Measured facts, shown with ``pytest -s`` (and in a failure's captured output)."""
    print(f"[store-faults] {what}: " + ", ".join(f"{k}={v}" for k, v in facts.items()))


def prefix() -> str:
    return f"rtf-{uuid.uuid4().hex[:12]}:"


def keyring() -> Keyring:
    return Keyring([(1, os.urandom(32))], minting_id=1)


def command(client: "redis.Redis", *args: object) -> object:
    """client.execute_command, which redis-py leaves unannotated."""
    return cast(Callable[..., object], client.execute_command)(*args)


def bounded_client(port: int) -> "redis.Redis":
    """A client that gives up on a dead server at once (one immediate retry: enough to
    reconnect after a restart, never seconds of backoff)."""
    return redis.Redis(
        host=HOST,
        port=port,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 1),
    )


def no_retry_client(port: int) -> "redis.Redis":
    """A client that reports every disconnection to its caller (see the deny-feed tests)."""
    return redis.Redis(
        host=HOST,
        port=port,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
    )


def timed(call: Callable[[], Any]) -> Tuple[Any, float]:
    start = time.monotonic()
    value = call()
    return value, time.monotonic() - start


def store_unavailable_raised(call: Callable[[], object]) -> float:
    """call() raises StoreUnavailable (never a redis-py type) within the outage bound."""
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        call()
    took = time.monotonic() - start
    assert not isinstance(caught.value, (RedisError, RedisClusterException))
    assert caught.value.__cause__ is None  # raised "from None": no redis exception chained
    assert took < OUTAGE_BOUND_S, f"StoreUnavailable after {took:.2f} s"
    return took


def assert_unavailable_answer(outcome: Outcome) -> None:
    assert outcome.rule is Rule.STORE_UNAVAILABLE, outcome.rule
    assert outcome.proceed is False
    assert outcome.clear_cookie is False  # nobody is logged out by an outage
    assert outcome.token is None


def wait_until(what: str, check: Callable[[], bool], timeout: float = WAIT_S, interval: float = 0.02) -> float:
    """Polls check() until true (bounded); the time it took."""
    start = time.monotonic()
    deadline = start + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)
    return time.monotonic() - start


def ensure_running(server: RedisServer) -> None:
    if not server.running:
        server.start()


def connected_replicas(server: RedisServer) -> int:
    with server.client() as c:
        return int(cast(Dict[str, Any], c.info("replication")).get("connected_slaves", 0))


@pytest.fixture
def stoppable_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """redis_server for a test that stops or kills it: running again afterwards, with as many
    replicas linked as before (the session's redis_replica, when another test made one)."""
    ensure_running(redis_server)
    replicas = connected_replicas(redis_server)
    try:
        yield redis_server
    finally:
        ensure_running(redis_server)
        wait_until("the replicas to link again", lambda: connected_replicas(redis_server) >= replicas, 15.0, 0.1)


# ----------------------------------------------------------------------------------------------
# Helpers: a session as a client holds it, a partitionable TCP path, a counting store, a
# waitress server.


class Held:
    """One session as its client holds it: its id, its latest token, what the store must say."""

    def __init__(self, outcome: Outcome) -> None:
        assert outcome.view is not None and outcome.token is not None
        self.sid = outcome.view.session_id
        self.token = outcome.token
        self.counter = outcome.view.counter
        self.revoked: Optional[RevokeReason] = None

    def took(self, outcome: Outcome) -> None:
        """A proceeding answer: keep the token it hands out."""
        assert outcome.proceed, outcome.rule
        if outcome.token is not None:
            self.token = outcome.token
        if outcome.view is not None:
            self.counter = outcome.view.counter


class Proxy:
    """A TCP forwarder on 127.0.0.1 in front of one server. cut() is a network partition
    between the clients behind the proxy and the server (their connections are closed and new
    ones are closed on accept) while the server stays up for everyone else; restore() ends it."""

    def __init__(self, port: int) -> None:
        self.upstream = (HOST, port)
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.down = threading.Event()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.open = 0
        self.threads: List[threading.Thread] = []
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="store-faults-proxy", daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:  # the 50 ms timeout (socket.timeout is an OSError), or closed
                continue
            if self.down.is_set():
                conn.close()
                continue
            try:
                up = socket.create_connection(self.upstream, timeout=2.0)
            except OSError:
                conn.close()
                continue
            with self.lock:
                self.open += 1
            self._spawn(self._pump, conn, up)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        try:
            a.settimeout(2.0)
            b.settimeout(2.0)
            sel.register(a, selectors.EVENT_READ, b)
            sel.register(b, selectors.EVENT_READ, a)
            while not self.stopping.is_set() and not self.down.is_set():
                for key, _ in sel.select(0.05):
                    src = cast(socket.socket, key.fileobj)
                    dst = cast(socket.socket, key.data)
                    data = src.recv(65536)
                    if not data:
                        return
                    dst.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            a.close()
            b.close()
            with self.lock:
                self.open -= 1

    def cut(self) -> None:
        self.down.set()
        wait_until("the proxy to close its connections", lambda: self.open == 0, 5.0)

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.stopping.set()
        self.down.set()
        for thread in self.threads:
            thread.join(5.0)
        self.listener.close()
        assert not any(t.is_alive() for t in self.threads), "proxy threads left running"


class CountingStore:
    """A RedisStore that counts its calls: proves that a cached token is accepted without a
    store read."""

    def __init__(self, inner: RedisStore) -> None:
        self.inner = inner
        self.loads = 0
        self.saves = 0

    def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]:
        self.loads += 1
        return self.inner.load(session_id, primary=primary)

    def save(self, record: rolltoken.Record, expected_version: Optional[int], now_ms: int) -> None:
        self.saves += 1
        self.inner.save(record, expected_version, now_ms)

    def delete(self, session_id: bytes) -> None:
        self.inner.delete(session_id)

    def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]:
        return self.inner.list_by_subject(subject, now_ms)


def session_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Shows the session; /login logs subject 77 in (a store outage there propagates to the
    middleware, which answers 503)."""
    ctx = environ[ENVIRON_KEY]
    assert isinstance(ctx, RequestContext)
    if environ["PATH_INFO"] == "/login":
        ctx.login(77)
    body = json.dumps({"rule": ctx.outcome.rule.value, "log_id": ctx.log_id}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class Waitress:
    """waitress in a thread on 127.0.0.1 and a free port (as test_wsgi.py serves the
    middleware); its loop polls a stop flag."""

    def __init__(self, app: WSGIApplication) -> None:
        self.map: Dict[int, Any] = {}
        self.server = TcpWSGIServer(app, map=self.map, host=HOST, port=0, threads=4)
        self.port = int(self.server.getsockname()[1])
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="store-faults-waitress", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            wasyncore.loop(timeout=0.02, map=self.map, use_poll=True, count=1)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "waitress did not stop"
        wasyncore.close_all(self.map)
        self.server.task_dispatcher.shutdown(timeout=int(WAIT_S))


class Browser:
    """httpx against the waitress server; the cookie is set by hand (a jar that keeps nothing)."""

    NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin", "Accept": "text/html"}
    API = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}

    def __init__(self, port: int) -> None:
        jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.http = httpx.Client(
            base_url=f"http://{HOST}:{port}",
            cookies=jar,
            timeout=WAIT_S,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def send(self, method: str, path: str, token: Optional[str], *, nav: bool) -> httpx.Response:
        headers = {"User-Agent": UA, **(self.NAV if nav else self.API)}
        if token is not None:
            headers["Cookie"] = f"{CONFIG.name}={token}"
        return self.http.request(method, path, headers=headers)

    def close(self) -> None:
        self.http.close()


def set_cookie_of(r: httpx.Response) -> Optional[str]:
    """The token a response sets, "" when it clears the cookie, None when it sets nothing."""
    values = r.headers.get_list("set-cookie")
    assert len(values) <= 1, "more than one Set-Cookie"
    if not values:
        return None
    name, _, value = values[0].split(";", 1)[0].partition("=")
    assert name == CONFIG.name
    return value


# ----------------------------------------------------------------------------------------------
# 1. A single redis-server stopped, restarted, killed.


@pytest.fixture
def serving(redis_server: RedisServer) -> Iterator[Callable[[Sessions], Browser]]:
    """Serves a Sessions through RolltokenWSGI over real HTTP; stops it after the test and
    leaves redis_server running."""
    servers: List[Waitress] = []
    browsers: List[Browser] = []
    ensure_running(redis_server)

    def serve(sessions: Sessions) -> Browser:
        server = Waitress(RolltokenWSGI(session_app, sessions, cookie=CONFIG))
        servers.append(server)
        browser = Browser(server.port)
        browsers.append(browser)
        return browser

    try:
        yield serve
    finally:
        for b in browsers:
            b.close()
        for s in servers:
            s.stop()
        ensure_running(redis_server)


def check_stored(sessions: Sessions, held: Iterable[Held]) -> None:
    """Every session's stored record is what its client was last told, and its latest token
    gets the answer that record implies."""
    for h in held:
        raw = sessions.load_record(h.sid)
        assert raw is not None, "an acknowledged session is gone"
        record = decode_record(raw)
        if h.revoked is not None:
            assert not record.is_active and record.revoke_reason is h.revoked
            refused = sessions.handle(h.token, "read", user_agent=UA, ip=IP)
            assert refused.rule is Rule.REVOKED and not refused.proceed and refused.clear_cookie
        else:
            assert record.is_active and record.counter == h.counter
            read = sessions.handle(h.token, "read", user_agent=UA, ip=IP)
            assert read.rule is Rule.CURRENT and read.proceed, read.rule


def test_stopped_server_answers_store_unavailable_and_restart_keeps_everything(
    stoppable_redis: RedisServer, serving: Callable[[Sessions], Browser]
) -> None:
    redis_server = stoppable_redis
    client = bounded_client(redis_server.port)
    sessions = Sessions(keyring(), store=RedisStore(client, prefix=prefix()))
    browser = serving(sessions)

    def advance(h: Held, times: int = 1) -> None:
        for _ in range(times):
            h.took(sessions.handle(h.token, "advance", user_agent=UA, ip=IP))

    try:
        held = [Held(sessions.login(1000 + i, user_agent=UA, ip=IP)) for i in range(6)]
        twins = [Held(sessions.login(2000, user_agent=UA, ip=IP)) for _ in range(2)]
        for i, h in enumerate(held + twins):
            advance(h, 1 + i % 4)
        active, by_logout, by_admin, reused = held[0], held[1], held[2], held[3]
        assert sessions.logout(by_logout.token) is not None
        by_logout.revoked = RevokeReason.LOGOUT
        assert sessions.revoke(by_admin.sid) is True
        by_admin.revoked = RevokeReason.ADMIN
        assert sessions.revoke_all(2000) == 2
        for h in twins:
            h.revoked = RevokeReason.ADMIN
        first = reused.token
        advance(reused, 10)  # past the span cap: the first token is below the floor
        theft = sessions.handle(first, "advance", user_agent=UA, ip=IP)
        assert theft.rule is Rule.REUSE and theft.clear_cookie
        reused.revoked = RevokeReason.REUSE
        everyone = held + twins
        check_stored(sessions, everyone)
        r = browser.send("GET", "/api", active.token, nav=False)
        assert r.status_code == 200 and r.json()["rule"] == "current" and set_cookie_of(r) is None

        redis_server.stop()

        # The façade: an answer, not an exception, for any token; nobody logged out.
        took: Dict[str, float] = {}
        for name, h in (("active", active), ("revoked", by_admin)):
            for kind in ("advance", "read"):
                outcome, took[f"handle_{name}_{kind}"] = timed(
                    lambda: sessions.handle(h.token, kind, user_agent=UA, ip=IP)
                )
                assert took[f"handle_{name}_{kind}"] < OUTAGE_BOUND_S
                assert_unavailable_answer(outcome)
        took["login"] = store_unavailable_raised(lambda: sessions.login(3000, user_agent=UA, ip=IP))
        took["logout"] = store_unavailable_raised(lambda: sessions.logout(active.token))
        took["revoke"] = store_unavailable_raised(lambda: sessions.revoke(active.sid))
        took["revoke_all"] = store_unavailable_raised(lambda: sessions.revoke_all(1000))
        took["load_record"] = store_unavailable_raised(lambda: sessions.load_record(active.sid))

        # Over HTTP: 503 with Retry-After, and the cookie is left alone.
        for path, token, nav in (
            ("/", active.token, True),
            ("/api", active.token, False),
            ("/api", by_admin.token, False),
            ("/login", None, False),  # no session: the app's ctx.login hits the outage
        ):
            method = "POST" if path == "/login" else "GET"
            r, took[f"http_{path}_{nav}"] = timed(lambda: browser.send(method, path, token, nav=nav))
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert set_cookie_of(r) is None, f"{path}: an outage must not touch the cookie"
            assert r.headers["retry-after"] == "1"
            assert took[f"http_{path}_{nav}"] < OUTAGE_BOUND_S
        report("stopped redis-server: seconds per call", **{k: f"{v:.3f}" for k, v in took.items()})

        redis_server.restart()  # same port, same AOF
        check_stored(sessions, everyone)  # nothing acknowledged was lost
        r = browser.send("GET", "/", active.token, nav=True)
        assert r.status_code == 200 and r.json()["rule"] == "fresh"
        new = set_cookie_of(r)
        assert new, "the advance after the restart sets the next token"
        active.token, active.counter = new, active.counter + 1
        r = browser.send("GET", "/api", by_admin.token, nav=False)
        assert r.status_code == 401 and set_cookie_of(r) == "", "a revoked session is still refused"

        # SIGKILL (no shutdown): appendfsync always keeps every acknowledged write as well.
        advance(active, 3)
        still = held[4]
        assert sessions.logout(still.token) is not None
        still.revoked = RevokeReason.LOGOUT
        late = Held(sessions.login(4000, user_agent=UA, ip=IP))
        redis_server.kill()
        redis_server.start()
        check_stored(sessions, everyone + [late])
        advance(late)
        check_stored(sessions, [late])
    finally:
        ensure_running(redis_server)
        client.close()


def test_a_retried_revocation_is_acknowledged_only_once_replicated() -> None:
    """replicas=1 and the replica down: the revocation lands on the primary, WAIT times out,
    StoreUnavailable. Retrying must not report success while the replica still lacks it (a
    failover to that replica would revive the session)."""
    with RedisServer() as primary, RedisServer(replica_of=primary) as replica:
        client = primary.client()
        try:
            pre = prefix()
            sessions = Sessions(keyring(), store=RedisStore(client, prefix=pre, replicas=1, wait_timeout_ms=200))
            h = Held(sessions.login(9500))
            replica.stop()
            store_unavailable_raised(lambda: sessions.logout(h.token))  # on the primary only
            raw = sessions.load_record(h.sid)
            assert raw is not None and not decode_record(raw).is_active
            store_unavailable_raised(lambda: sessions.logout(h.token))  # still not replicated
            store_unavailable_raised(lambda: sessions.revoke(h.sid))
        finally:
            client.close()


# ----------------------------------------------------------------------------------------------
# 2. Redis Cluster: a master SIGKILLed in the middle of a run.

CLUSTER_SESSIONS = 60
CLUSTER_ROUNDS = 50
KILL_AT_ROUND = 8
ROUND_PAUSE_S = 0.08
#: How many store_unavailable answers the sessions on the surviving masters may see while the
#: client refreshes its topology: none (measured: 0 in every run).
LIVE_SLOT_ALLOWANCE = 0


def replica_copy(cluster: RedisCluster, master_port: int, key: str) -> Optional[bytes]:
    """The record as the master's replica holds it (READONLY, then GET on the replica)."""
    (host, port), *_ = cluster.replicas_of(master_port)
    with redis.Redis(host=host, port=port, socket_timeout=2.0) as c:
        command(c, "READONLY")
        value = c.get(key)
    assert value is None or isinstance(value, bytes)
    return value


def test_cluster_master_failover_loses_no_revocation_and_revokes_nobody(redis_cluster: RedisCluster) -> None:
    redis_cluster.wait_healthy(30.0)
    pre = prefix()
    client = redis_cluster.client()  # redis-py's default retries: they behave well here
    sessions = Sessions(keyring(), store=RedisStore(client, prefix=pre))  # replicas="auto"
    victim: Optional[int] = None
    try:
        held = [Held(sessions.login(5000 + i)) for i in range(CLUSTER_SESSIONS)]
        master = {h.sid: redis_cluster.master_for_key(f"{pre}s:{h.sid.hex()}".encode())[1] for h in held}
        victim = collections.Counter(master.values()).most_common(1)[0][0]
        on_victim = {h.sid for h in held if master[h.sid] == victim}
        assert on_victim and len(on_victim) < len(held), "sessions on the victim and on the others"
        # Every other session is revoked once, at a round spread over the run (before, during
        # and after the failover), alternately by logout (its cookie) and by id; and a few on
        # the victim right after the kill, while their slots are down.
        revoke_at = {h.sid: (i * 7) % CLUSTER_ROUNDS for i, h in enumerate(held) if i % 2 == 0}
        in_outage = [h for h in held if h.sid in on_victim and h.sid not in revoke_at][1:5]
        revoke_at.update({h.sid: KILL_AT_ROUND + k for k, h in enumerate(in_outage)})
        acked: Set[bytes] = set()
        unavailable: Counter[Tuple[str, str]] = collections.Counter()  # (group, what) -> count
        rules: Counter[str] = collections.Counter()
        killed_at: Optional[float] = None
        first_ok_on_victim: Optional[float] = None
        last_failure_after_kill = -1.0
        slowest = {"victim": 0.0, "others": 0.0}

        # A revocation acknowledged before the kill is on the replica already (WAIT).
        probe = next(h for h in held if h.sid in on_victim and h.sid not in revoke_at)
        assert sessions.revoke(probe.sid) is True
        probe.revoked = RevokeReason.ADMIN
        acked.add(probe.sid)
        copy = replica_copy(redis_cluster, victim, f"{pre}s:{probe.sid.hex()}")
        assert copy is not None and not decode_record(copy).is_active, "WAIT returned before the replica had it"

        start = time.monotonic()
        for rnd in range(CLUSTER_ROUNDS):
            if rnd == KILL_AT_ROUND:
                redis_cluster.kill(victim)
                killed_at = time.monotonic()
            for i, h in enumerate(held):
                if h.sid in acked:
                    continue
                group = "victim" if h.sid in on_victim else "others"
                t0 = time.monotonic()
                if h.sid in revoke_at and rnd >= revoke_at[h.sid]:
                    try:
                        if i % 4 == 0:
                            sessions.logout(h.token)  # None when an earlier try had landed
                            h.revoked = RevokeReason.LOGOUT
                        else:
                            sessions.revoke(h.sid)
                            h.revoked = RevokeReason.ADMIN
                        acked.add(h.sid)
                        ok = True
                    except StoreUnavailable:  # not acknowledged: it may have landed; retried
                        unavailable[(group, "revoke")] += 1
                        ok = False
                else:
                    outcome = sessions.handle(h.token, "advance")
                    ok = outcome.proceed
                    if ok:
                        h.took(outcome)
                        rules[outcome.rule.value] += 1
                    else:
                        assert outcome.rule is Rule.STORE_UNAVAILABLE, f"refused: {outcome.rule}"
                        assert not outcome.clear_cookie
                        unavailable[(group, "advance")] += 1
                if not ok and killed_at is not None:
                    last_failure_after_kill = time.monotonic() - killed_at
                slowest[group] = max(slowest[group], time.monotonic() - t0)
                if ok and group == "victim" and killed_at is not None and first_ok_on_victim is None:
                    first_ok_on_victim = time.monotonic() - killed_at
            time.sleep(ROUND_PAUSE_S)
        loop_s = time.monotonic() - start
        assert killed_at is not None
        new_master = redis_cluster.wait_failover(victim)
        failover_s = time.monotonic() - killed_at

        # Revocations still pending (their slot was down at the end of the run): bounded retry.
        for _ in range(100):
            pending = [h for h in held if h.sid in revoke_at and h.sid not in acked]
            if not pending:
                break
            for h in pending:
                try:
                    sessions.revoke(h.sid)
                    h.revoked = h.revoked or RevokeReason.ADMIN
                    acked.add(h.sid)
                except StoreUnavailable:
                    unavailable[("victim" if h.sid in on_victim else "others", "revoke-after")] += 1
            time.sleep(0.1)
        assert not [h for h in held if h.sid in revoke_at and h.sid not in acked]

        others = sum(v for (g, _), v in unavailable.items() if g == "others")
        on_killed = sum(v for (g, _), v in unavailable.items() if g == "victim")
        assert unavailable[("victim", "advance")] > 0, "the kill was not felt: the run did not span the outage"
        assert unavailable[("victim", "revoke")] > 0, "no revocation was tried while its slot was down"
        assert others <= LIVE_SLOT_ALLOWANCE, f"sessions on the surviving masters saw {others} outages"

        # 0 acknowledged revocations lost; nobody falsely revoked; everyone alive advances.
        final: Counter[str] = collections.Counter()
        for h in held:
            raw = sessions.load_record(h.sid)
            assert raw is not None
            record = decode_record(raw)
            if h.sid in acked:
                assert not record.is_active, "an acknowledged revocation was lost in the failover"
                refused = sessions.handle(h.token, "read")
                assert refused.rule is Rule.REVOKED and not refused.proceed
            else:
                assert record.is_active, "a session nobody revoked is revoked"
                outcome = sessions.handle(h.token, "advance")
                assert outcome.proceed and outcome.rule in PROCEEDING, outcome.rule
                final[outcome.rule.value] += 1
                h.took(outcome)
                again = sessions.handle(h.token, "advance")
                assert again.rule is Rule.FRESH, again.rule
                h.took(again)
        # A failover that loses acknowledged advances leaves the store behind the client's
        # token; the same, made on purpose on the promoted master (the record put back two
        # advances): the core repairs it forward, nobody is logged out.
        behind = next(h for h in held if h.sid in on_victim and h.sid not in acked)
        key = f"{pre}s:{behind.sid.hex()}"
        snapshot = client.get(key)
        assert isinstance(snapshot, bytes)
        for _ in range(2):
            behind.took(sessions.handle(behind.token, "advance"))
        assert client.set(key, snapshot, px=3_600_000)
        repaired = sessions.handle(behind.token, "advance")
        assert repaired.rule is Rule.STORE_BEHIND and repaired.proceed, repaired.rule
        behind.took(repaired)
        assert sessions.handle(behind.token, "advance").rule is Rule.FRESH
        with redis.Redis(host=new_master[0], port=new_master[1], socket_timeout=2.0) as c:
            replicas_now = cast(Dict[str, Any], c.info("replication")).get("connected_slaves")
        report(
            "cluster failover",
            sessions=len(held),
            on_killed_master=len(on_victim),
            revoked=len(acked),
            loop_s=f"{loop_s:.1f}",
            first_success_on_killed_slots_after_kill_s=f"{first_ok_on_victim or -1:.2f}",
            last_outage_answer_after_kill_s=f"{last_failure_after_kill:.2f}",
            wait_failover_returned_after_kill_s=f"{failover_s:.2f}",
            unavailable_killed_slots=on_killed,
            unavailable_other_slots=others,
            breakdown=dict(unavailable),
            slowest_call_s={k: round(v, 2) for k, v in slowest.items()},
            advance_rules=dict(rules),
            first_advance_after_failover=dict(final),
            new_master_replicas=replicas_now,
        )
    finally:
        client.close()
        if victim is not None and not redis_cluster.running(victim):
            redis_cluster.restart(victim)  # rejoins as a replica; waits for cluster_state ok
        redis_cluster.wait_healthy(30.0)


# ----------------------------------------------------------------------------------------------
# 3. Cached mode across processes: the deny feed.


def made_here(*processes: Optional[Process]) -> List[Process]:
    return [p for p in processes if p is not None]


class Process:
    """One 'process' in cached mode: Sessions over its own RedisStore and RedisDenyFeed."""

    def __init__(
        self, keys: Keyring, pre: str, store_client: "redis.Redis", feed_client: "redis.Redis", resync_s: float
    ) -> None:
        self.store = CountingStore(RedisStore(store_client, prefix=pre))
        self.feed = RedisDenyFeed(feed_client, prefix=pre, resync_s=resync_s)
        self.sessions = Sessions(keys, Policy.cached(), store=self.store, deny_feed=self.feed)
        self.clients = [store_client, feed_client]
        self.closed = False

    def read(self, token: str) -> Outcome:
        return self.sessions.handle(token, "read")

    def refused_within(self, token: str, timeout: float) -> Tuple[Outcome, float]:
        """Polls until the token is refused (bounded): the answer and how long it took."""
        start = time.monotonic()
        while True:
            outcome = self.read(token)
            if not outcome.proceed or time.monotonic() - start > timeout:
                return outcome, time.monotonic() - start
            time.sleep(0.01)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.feed.close()
        for c in self.clients:
            c.close()


#: The feed's periodic re-read of the set, pushed out of the way where a test proves that a
#: (re)subscription alone catches up.
NO_RESYNC_S = 3600.0


@pytest.fixture
def processes(redis_server: RedisServer) -> Iterator[Callable[..., Process]]:
    ensure_running(redis_server)
    made: List[Process] = []

    def make(
        keys: Keyring, pre: str, feed_client: Optional["redis.Redis"] = None, resync_s: float = NO_RESYNC_S
    ) -> Process:
        p = Process(keys, pre, redis_server.client(), feed_client or redis_server.client(), resync_s)
        made.append(p)
        return p

    try:
        yield make
    finally:
        for p in made:
            p.close()
        ensure_running(redis_server)


def test_deny_feed_live_and_after_a_disconnection(redis_server: RedisServer, processes: Callable[..., Process]) -> None:
    keys, pre = keyring(), prefix()
    a = processes(keys, pre)
    proxy = Proxy(redis_server.port)
    admin = redis_server.client()
    b: Optional[Process] = None
    try:
        # B hears the feed through the proxy, with a client that reports every disconnection
        # to the feed (the feed's own reconnection; redis-py's is the next test).
        b = processes(keys, pre, no_retry_client(proxy.port))
        assert a.feed.caught_up.wait(WAIT_S) and b.feed.caught_up.wait(WAIT_S)
        live, later, raced = (Held(a.sessions.login(6000 + i)) for i in range(3))
        for h in (live, later, raced):
            outcome = b.read(h.token)
            assert outcome.rule is Rule.CACHED and outcome.proceed
        assert b.store.loads == 0, "a fresh cached token must not cost B a store read"

        # Live: B is connected when A revokes. (A denied session's request goes to the store,
        # which refuses it: one load.)
        assert a.sessions.revoke(live.sid)
        refused, live_s = b.refused_within(live.token, FEED_BOUND_S)
        assert refused.rule is Rule.REVOKED and not refused.proceed, refused.rule
        loads = b.store.loads

        # Disconnected: A revokes while B cannot hear; B still trusts its cache, then catches
        # up from the sorted set once it is back.
        catch_ups = b.feed.catch_ups
        proxy.cut()
        wait_until("B's feed to notice the disconnection", lambda: not b.feed.caught_up.is_set())
        assert a.sessions.revoke(later.sid)
        blind = b.read(later.token)
        assert blind.rule is Rule.CACHED and blind.proceed, "B could not have heard of it"
        assert b.store.loads == loads, "still no store read: B trusts its cache"
        proxy.restore()
        caught_s = wait_until("B's feed to catch up", lambda: b.feed.catch_ups > catch_ups)
        refused = b.read(later.token)
        assert refused.rule is Rule.REVOKED and not refused.proceed, refused.rule

        # The server drops every subscriber (CLIENT KILL TYPE pubsub) and A revokes at once:
        # the message or the catch-up after B reconnects refuses it within the bound.
        catch_ups = b.feed.catch_ups
        assert cast(int, command(admin, "CLIENT", "KILL", "TYPE", "pubsub")) >= 2
        assert a.sessions.revoke(raced.sid)
        refused, raced_s = b.refused_within(raced.token, FEED_BOUND_S)
        assert refused.rule is Rule.REVOKED and not refused.proceed, refused.rule
        wait_until("B's feed to resubscribe and catch up", lambda: b.feed.catch_ups > catch_ups)
        report(
            "deny feed",
            live_refusal_s=f"{live_s:.3f}",
            catch_up_after_restore_s=f"{caught_s:.3f}",
            refusal_after_client_kill_s=f"{raced_s:.3f}",
            b_store_loads=b.store.loads,
        )
    finally:
        admin.close()
        proxy.restore()  # so that B's listener stops at once
        for p in made_here(a, b):
            p.close()
        proxy.close()


def test_deny_feed_catches_up_when_redis_py_reconnects_by_itself(
    redis_server: RedisServer, processes: Callable[..., Process]
) -> None:
    """redis-py (>= 6, default retries) heals a short disconnection of a PubSub itself and
    resubscribes without telling the feed: the resubscription must still trigger a catch-up."""
    keys, pre = keyring(), prefix()
    a = processes(keys, pre)
    proxy = Proxy(redis_server.port)
    b: Optional[Process] = None
    try:
        b = processes(
            keys, pre, redis.Redis(host=HOST, port=proxy.port, socket_timeout=2.0, socket_connect_timeout=1.0)
        )
        assert b.feed.caught_up.wait(WAIT_S)
        h = Held(a.sessions.login(6100))
        assert b.read(h.token).rule is Rule.CACHED
        catch_ups = b.feed.catch_ups
        proxy.cut()
        assert a.sessions.revoke(h.sid)
        assert b.read(h.token).rule is Rule.CACHED, "B could not have heard of it"
        time.sleep(0.5)  # well inside redis-py's retry budget (~4 s): it reconnects itself
        proxy.restore()
        refused, took = b.refused_within(h.token, FEED_BOUND_S)
        assert refused.rule is Rule.REVOKED, f"B still accepts a revoked session ({refused.rule.value})"
        assert b.feed.catch_ups > catch_ups
        report("deny feed, redis-py's own reconnection", refusal_after_restore_s=f"{took:.3f}")
    finally:
        proxy.restore()
        for p in made_here(a, b):
            p.close()
        proxy.close()


def test_deny_feed_resync_recovers_a_lost_message(
    redis_server: RedisServer, processes: Callable[..., Process]
) -> None:
    """A revocation whose message never came (only the sorted set has it) is refused after
    at most the feed's resync period, without any reconnection."""
    keys, pre = keyring(), prefix()
    b = processes(keys, pre, resync_s=0.5)
    assert b.feed.caught_up.wait(WAIT_S)
    writer_client = redis_server.client()
    try:
        writer = Sessions(keys, Policy.cached(), store=RedisStore(writer_client, prefix=pre))  # no feed
        h = Held(writer.login(6300))
        assert b.read(h.token).rule is Rule.CACHED
        assert writer.revoke(h.sid)  # durable in the store, announced to nobody
        assert b.read(h.token).rule is Rule.CACHED, "nothing told B"
        raw = writer.load_record(h.sid)
        assert raw is not None
        until = writer.deny_until(decode_record(raw))
        assert until is not None
        writer_client.zadd(f"{pre}denied", {h.sid.hex(): until})  # the set, without the message
        refused, took = b.refused_within(h.token, 0.5 + FEED_BOUND_S)
        assert refused.rule is Rule.REVOKED, refused.rule
        report("deny feed resync (resync_s=0.5)", refusal_s=f"{took:.3f}")
    finally:
        writer_client.close()


#: Process B as a real OS process: its own interpreter, RedisStore and RedisDenyFeed.
CHILD = r"""
import os, sys, time
import redis, rolltoken
from rolltoken.stores.redis import RedisDenyFeed, RedisStore

port, prefix = int(os.environ["RT_PORT"]), os.environ["RT_PREFIX"]
keys = rolltoken.Keyring([(1, bytes.fromhex(os.environ["RT_KEY"]))], minting_id=1)
def client():
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2.0, socket_connect_timeout=2.0)
feed = RedisDenyFeed(client(), prefix=prefix)
sessions = rolltoken.Sessions(
    keys, rolltoken.Policy.cached(), store=RedisStore(client(), prefix=prefix), deny_feed=feed
)
print("ready", int(feed.caught_up.wait(10)), flush=True)
for line in sys.stdin:
    cmd, _, token = line.strip().partition(" ")
    if cmd == "check":
        print("rule", sessions.handle(token, "read").rule.value, flush=True)
    elif cmd == "wait":  # until refused, at most 2 s
        start = time.monotonic()
        while True:
            rule = sessions.handle(token, "read").rule.value
            if rule != "cached" or time.monotonic() - start > 2.0:
                break
            time.sleep(0.01)
        print("rule", rule, f"{time.monotonic() - start:.3f}", flush=True)
    else:
        break
feed.close()
print("bye", flush=True)
"""


class Child:
    """CHILD in a subprocess, spoken to line by line with bounded waits."""

    def __init__(self, env: Dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env={**os.environ, **env},
            )
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.reader = threading.Thread(target=self._read, name="store-faults-child", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode().strip())

    def expect(self, timeout: float = WAIT_S) -> List[str]:
        try:
            return self.lines.get(timeout=timeout).split()
        except queue.Empty:
            raise AssertionError(f"the child said nothing in {timeout:g} s:\n{self.log.read_text()[-2000:]}") from None

    def ask(self, line: str) -> List[str]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return self.expect()

    def close(self) -> None:
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
            except OSError:  # the child is gone already
                pass
        try:
            self.proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, by its Popen
            self.proc.wait(WAIT_S)
        self.reader.join(WAIT_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def test_deny_feed_reaches_a_real_subprocess(
    redis_server: RedisServer, processes: Callable[..., Process], tmp_path: Path
) -> None:
    key = os.urandom(32)
    keys, pre = Keyring([(1, key)], minting_id=1), prefix()
    a = processes(keys, pre)
    before, after = Held(a.sessions.login(6200)), Held(a.sessions.login(6201))
    assert a.sessions.revoke(before.sid)  # published before the child exists: the set keeps it
    child = Child({"RT_PORT": str(redis_server.port), "RT_PREFIX": pre, "RT_KEY": key.hex()}, tmp_path / "child.log")
    try:
        assert child.expect() == ["ready", "1"]
        assert child.ask(f"check {before.token}") == ["rule", "revoked"], "the child's first catch-up missed it"
        assert child.ask(f"check {after.token}") == ["rule", "cached"]
        assert a.sessions.revoke(after.sid)
        said = child.ask(f"wait {after.token}")
        assert said[:2] == ["rule", "revoked"], said
        report("deny feed to a subprocess", refusal_s=said[2])
    finally:
        child.close()
    assert child.proc.returncode == 0, child.log.read_text()[-2000:]


# ----------------------------------------------------------------------------------------------
# 4. The asyncio façade and store.


def test_async_sessions_under_a_stopped_server(stoppable_redis: RedisServer) -> None:
    redis_server = stoppable_redis

    async def run() -> Dict[str, float]:
        client = redis.asyncio.Redis(
            host=HOST,
            port=redis_server.port,
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
            retry=redis.asyncio.retry.Retry(NoBackoff(), 1),
        )
        store = AsyncRedisStore(client, prefix=prefix())
        sessions = AsyncSessions(keyring(), store=store)
        took: Dict[str, float] = {}
        try:
            alive = Held(await sessions.login(7000))
            gone = Held(await sessions.login(7001))
            alive.took(await sessions.handle(alive.token, "advance"))
            assert await sessions.logout(gone.token) is not None
            redis_server.stop()
            for kind in ("advance", "read"):
                start = time.monotonic()
                outcome = await sessions.handle(alive.token, kind)  # an answer, not an exception
                took[f"handle_{kind}"] = time.monotonic() - start
                assert took[f"handle_{kind}"] < OUTAGE_BOUND_S
                assert_unavailable_answer(outcome)
            for name, call in (
                ("login", lambda: sessions.login(7002)),
                ("logout", lambda: sessions.logout(alive.token)),
                ("revoke", lambda: sessions.revoke(alive.sid)),
            ):
                start = time.monotonic()
                with pytest.raises(StoreUnavailable) as caught:
                    await call()
                took[name] = time.monotonic() - start
                assert took[name] < OUTAGE_BOUND_S and not isinstance(caught.value, RedisError)
            redis_server.start()
            read = await sessions.handle(alive.token, "read")
            assert read.rule is Rule.CURRENT and read.view is not None and read.view.counter == alive.counter
            refused = await sessions.handle(gone.token, "read")
            assert refused.rule is Rule.REVOKED and refused.clear_cookie
            alive.took(await sessions.handle(alive.token, "advance"))
        finally:
            await store.aclose()  # its per-master connections (WAIT)
            await client.aclose()
        return took

    try:
        took = asyncio.run(run())
    finally:
        ensure_running(redis_server)
    report("async, stopped redis-server: seconds per call", **{k: f"{v:.3f}" for k, v in took.items()})


def test_async_sessions_on_the_cluster(redis_cluster: RedisCluster) -> None:
    redis_cluster.wait_healthy(30.0)
    pre = prefix()
    node = cast(Callable[[str, int], AsyncClusterNode], AsyncClusterNode)  # unannotated __init__

    async def run() -> None:
        client = redis.asyncio.RedisCluster(
            startup_nodes=[node(host, port) for host, port in redis_cluster.nodes],
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
        )
        store = AsyncRedisStore(client, prefix=pre)
        sessions = AsyncSessions(keyring(), store=store)
        try:
            held = [Held(await sessions.login(8000 + i)) for i in range(9)]
            twins = [Held(await sessions.login(8100)) for _ in range(2)]
            masters = {redis_cluster.master_for_key(f"{pre}s:{h.sid.hex()}".encode())[1] for h in held}
            assert len(masters) >= 2, "sessions spread over several masters"
            for h in held + twins:
                for _ in range(3):
                    h.took(await sessions.handle(h.token, "advance"))
            by_logout, by_admin = held[0], held[1]
            assert await sessions.logout(by_logout.token) is not None
            assert await sessions.revoke(by_admin.sid) is True
            assert await sessions.revoke_all(8100) == 2
            for h in (by_logout, by_admin, *twins):
                # Acknowledged only once on the master's replica (WAIT through the owner node).
                port = redis_cluster.master_for_key(f"{pre}s:{h.sid.hex()}".encode())[1]
                copy = replica_copy(redis_cluster, port, f"{pre}s:{h.sid.hex()}")
                assert copy is not None and not decode_record(copy).is_active
                refused = await sessions.handle(h.token, "read")
                assert refused.rule is Rule.REVOKED and refused.clear_cookie
            for h in held[2:]:
                read = await sessions.handle(h.token, "read")
                assert read.rule is Rule.CURRENT and read.proceed
                raw = await sessions.load_record(h.sid)
                assert raw is not None and decode_record(raw).counter == h.counter
        finally:
            await store.aclose()  # its per-master connections (WAIT)
            await client.aclose()

    asyncio.run(run())


# ----------------------------------------------------------------------------------------------
# A whole Cluster out of reach (every node behind a cut proxy; the real cluster stays up).


Remap = Callable[[Tuple[str, int]], Tuple[str, int]]


@pytest.fixture
def cut_off_cluster(redis_cluster: RedisCluster) -> Iterator[Tuple[List[Proxy], Remap]]:
    """A proxy per node and the address remap that sends a cluster client through them."""
    redis_cluster.wait_healthy(30.0)
    proxies = {port: Proxy(port) for port in redis_cluster.ports}

    def remap(address: Tuple[str, int]) -> Tuple[str, int]:
        proxy = proxies.get(address[1])
        return (HOST, proxy.port) if proxy is not None else address

    try:
        yield list(proxies.values()), remap
    finally:
        for p in proxies.values():
            p.close()


@pytest.mark.parametrize("flavour", ["blocking", "asyncio"])
def test_unreachable_cluster_is_store_unavailable(
    flavour: str, cut_off_cluster: Tuple[List[Proxy], Remap]
) -> None:
    """No Cluster node reachable: redis-py raises RedisClusterException, which is not a
    RedisError; the stores must still answer store_unavailable / raise StoreUnavailable."""
    proxies, remap = cut_off_cluster
    keys = keyring()
    if flavour == "blocking":
        client = redis.RedisCluster(
            startup_nodes=[cast(Callable[[str, int], ClusterNode], ClusterNode)(HOST, p.port) for p in proxies],
            address_remap=remap,
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
        )
        sessions = Sessions(keys, store=RedisStore(client, prefix=prefix()))
        try:
            h = Held(sessions.login(9000))
            for p in proxies:
                p.cut()
            outcome, took = timed(lambda: sessions.handle(h.token, "advance"))
            assert_unavailable_answer(outcome)
            assert took < OUTAGE_BOUND_S
            store_unavailable_raised(lambda: sessions.login(9001))
        finally:
            client.close()
        return

    async def run() -> None:
        node = cast(Callable[[str, int], AsyncClusterNode], AsyncClusterNode)
        client = redis.asyncio.RedisCluster(
            startup_nodes=[node(HOST, p.port) for p in proxies],
            address_remap=remap,
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
        )
        store = AsyncRedisStore(client, prefix=prefix())
        sessions = AsyncSessions(keys, store=store)
        try:
            h = Held(await sessions.login(9100))
            for p in proxies:
                p.cut()
            assert_unavailable_answer(await sessions.handle(h.token, "advance"))
            with pytest.raises(StoreUnavailable):
                await sessions.login(9101)
        finally:
            await store.aclose()  # its per-master connections (WAIT)
            await client.aclose()

    asyncio.run(run())
