"""The ASGI middleware over real HTTP: a real uvicorn server on 127.0.0.1, driven by httpx.

Every scenario runs twice: the bare middleware around a plain ASGI callable, and a Starlette
app with the middleware in its stack. Cookies are managed by hand (a jar that stores nothing)
so that tests can copy, replay and race them. Time is the OS clock; where a test needs time to
pass, the policy is shortened and the sleep stays under a second.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, cast

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import rolltoken
from rolltoken.asgi import ASGIApp, Message, Receive, RequestContext, RolltokenMiddleware, Scope, Send

CONFIG = rolltoken.CookieConfig.insecure_local()
NAME = CONFIG.name
UA_A = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
UA_B = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin", "Accept": "text/html"}
API = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}
WAIT_S = 5.0  # upper bound of any wait in this file
# A new connection per request: a reused one waits ~40 ms per response (Nagle against
# delayed ACKs on loopback), which would only slow the tests down.
ONE_SHOT = httpx.Limits(max_keepalive_connections=0)

#: bare and starlette decide over the in-memory store; redis is the Starlette app over
#: AsyncSessions with a real redis-server (AsyncRedisStore: every store call awaited).
FLAVOURS = ["bare", "starlette", "redis"]


# ----------------------------------------------------------------------------------------------
# The apps under test: both answer the session as JSON, /login and /logout act on it, /slow
# holds its response until the test opens the gate.


class Gates:
    """Lets a test hold a response in flight: /slow sets `entered`, then waits for `release`."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.loop: Optional[asyncio.AbstractEventLoop] = None  # the server's, once a request ran


def state(ctx: RequestContext) -> Dict[str, Any]:
    view = ctx.view
    return {
        "rule": ctx.outcome.rule.value,
        "authenticated": ctx.authenticated,
        "log_id": ctx.log_id,
        "counter": view.counter if view is not None else None,
    }


async def act(ctx: RequestContext, path: str, query: str, sessions: Any) -> Tuple[int, Dict[str, Any]]:
    """What both apps do: log in (subject from the query: digits are an int id, anything else
    is passed as given, to show the binding's TypeError), log out, or just show the session.
    Over AsyncSessions the awaitable ctx.alogin/ctx.alogout, else ctx.login/ctx.logout."""
    asynchronous = isinstance(sessions, rolltoken.AsyncSessions)
    if path == "/login":
        given = query.partition("subject=")[2] or "42"
        subject: Any = int(given) if given.isdigit() else given
        try:
            if asynchronous:
                await ctx.alogin(subject)
            else:
                ctx.login(subject)
        except TypeError as e:
            return 400, {"error": str(e)}
    elif path == "/logout":
        if asynchronous:
            await ctx.alogout()
        else:
            ctx.logout()
    return 200, state(ctx)


def bare_app(gates: Gates, sessions: Any) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        ctx = scope["rolltoken"]
        assert isinstance(ctx, RequestContext)
        gates.loop = asyncio.get_running_loop()
        if scope["path"] == "/slow":
            gates.entered.set()
            await asyncio.to_thread(gates.release.wait, WAIT_S)
        status, body = await act(ctx, scope["path"], scope["query_string"].decode(), sessions)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    return app


def starlette_app(gates: Gates, sessions: Any, mw: Dict[str, Any]) -> ASGIApp:
    async def endpoint(request: Request) -> Response:
        ctx = request.scope["rolltoken"]
        assert isinstance(ctx, RequestContext)
        gates.loop = asyncio.get_running_loop()
        if request.url.path == "/slow":
            gates.entered.set()
            await asyncio.to_thread(gates.release.wait, WAIT_S)
        status, body = await act(ctx, request.url.path, request.url.query, sessions)
        return JSONResponse(body, status_code=status)

    paths = ["/", "/api", "/slow", "/no-roll", "/roll"]
    routes = [Route(p, endpoint) for p in paths]
    routes += [Route(p, endpoint, methods=["POST"]) for p in ("/login", "/logout")]
    middleware = [Middleware(RolltokenMiddleware, sessions=sessions, **mw)]
    return Starlette(routes=routes, middleware=middleware)


# ----------------------------------------------------------------------------------------------
# A real server per test, and a browser whose cookie is handled by hand.


class Uvicorn:
    """uvicorn in a thread, on a socket bound to 127.0.0.1 and a free port."""

    def __init__(self, app: ASGIApp) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http="h11",
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # uvicorn would apply X-Forwarded-For from 127.0.0.1 itself
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + WAIT_S
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert self.thread.is_alive(), "uvicorn stopped while starting"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(WAIT_S)
        self.sock.close()
        assert not self.thread.is_alive(), "uvicorn did not stop"


class Site:
    def __init__(self, server: Uvicorn, sessions: Any, gates: Gates) -> None:
        self.server = server
        self.port = server.port
        self.base = f"http://127.0.0.1:{server.port}"
        self.sessions = sessions
        self.gates = gates
        self.clients: List[Browser] = []

    def browser(self, ua: str = UA_A, token: Optional[str] = None) -> Browser:
        b = Browser(self.base, ua, token)
        self.clients.append(b)
        return b


MakeSite = Callable[..., Site]


def new_sessions(policy: Optional[rolltoken.Policy] = None) -> rolltoken.Sessions:
    keys = rolltoken.Keyring([(1, os.urandom(32))], minting_id=1)
    return rolltoken.Sessions(keys, policy)


def redis_sessions(request: pytest.FixtureRequest, policy: Optional[rolltoken.Policy]) -> rolltoken.AsyncSessions:
    import redis.asyncio

    from rolltoken.stores.redis import AsyncRedisStore

    server = request.getfixturevalue("redis_server")
    if not server.running:
        server.start()
    keys = rolltoken.Keyring([(1, os.urandom(32))], minting_id=1)
    client = redis.asyncio.Redis.from_url(server.url, socket_timeout=2.0)
    prefix = f"asgi{os.urandom(6).hex()}:"
    return rolltoken.AsyncSessions(keys, policy, store=AsyncRedisStore(client, prefix=prefix))


@pytest.fixture(params=FLAVOURS)
def rt_asgi_site(request: pytest.FixtureRequest) -> Iterator[MakeSite]:
    """Starts the test's server (either flavour) on demand; stops it after the test."""
    sites: List[Site] = []

    def make(
        policy: Optional[rolltoken.Policy] = None,
        sessions: Any = None,
        **mw: Any,
    ) -> Site:
        if sessions is None:
            sessions = redis_sessions(request, policy) if request.param == "redis" else new_sessions(policy)
        mw.setdefault("cookie", CONFIG)
        gates = Gates()
        app: ASGIApp
        if request.param == "bare":
            app = RolltokenMiddleware(bare_app(gates, sessions), sessions, **mw)
        else:
            app = starlette_app(gates, sessions, mw)
        server = Uvicorn(app)
        server.start()
        site = Site(server, sessions, gates)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.gates.release.set()
        for b in site.clients:
            b.close()
        close_async_store(site)
        site.server.stop()


def close_async_store(site: Site) -> None:
    """Closes a redis flavour's connections on the server's own loop, while it still runs."""
    if not isinstance(site.sessions, rolltoken.AsyncSessions) or site.gates.loop is None:
        return
    store: Any = site.sessions.store

    async def close() -> None:
        await store.aclose()
        await store.client.aclose()

    asyncio.run_coroutine_threadsafe(close(), site.gates.loop).result(WAIT_S)


def no_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that stores nothing: every test sets its Cookie header itself."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def set_cookies(r: httpx.Response) -> List[str]:
    values = r.headers.get_list("set-cookie")
    assert len(values) <= 1, "more than one Set-Cookie"
    return values


def cookie_of(r: httpx.Response) -> Optional[str]:
    """The token a response sets, "" when it clears the cookie, None when it sets nothing."""
    values = set_cookies(r)
    if not values:
        return None
    name, _, value = values[0].split(";", 1)[0].partition("=")
    assert name == NAME
    if "Max-Age=0" in values[0]:
        assert value == ""
    return value


def clears(r: httpx.Response) -> bool:
    return cookie_of(r) == ""


_KEEP = object()


class Browser:
    """One client: a user agent and the cookie it holds, updated from responses as a browser
    would (a cleared cookie is dropped)."""

    def __init__(self, base: str, ua: str, token: Optional[str]) -> None:
        self.http = httpx.Client(
            base_url=base, cookies=no_jar(), timeout=WAIT_S, limits=ONE_SHOT
        )
        self.ua = ua
        self.token = token

    def close(self) -> None:
        self.http.close()

    def send(
        self,
        method: str,
        path: str,
        headers: Dict[str, str],
        token: Any = _KEEP,
        absorb: bool = True,
    ) -> httpx.Response:
        h = {"User-Agent": self.ua, **headers}
        tok = self.token if token is _KEEP else token
        if tok is not None:
            h["Cookie"] = f"{NAME}={tok}"
        r = self.http.request(method, path, headers=h)
        new = cookie_of(r)
        if absorb and new is not None:
            self.token = new or None
        return r

    def nav(self, path: str = "/", **kw: Any) -> httpx.Response:
        return self.send("GET", path, NAV, **kw)

    def api(self, path: str = "/api", **kw: Any) -> httpx.Response:
        return self.send("GET", path, API, **kw)

    def login(self, subject: str = "42") -> httpx.Response:
        r = self.send("POST", f"/login?subject={subject}", API)
        assert r.status_code == 200, r.text
        assert r.json()["authenticated"] is True
        return r

    def logout(self, **kw: Any) -> httpx.Response:
        return self.send("POST", "/logout", API, **kw)


def raw_status(port: int, request: bytes) -> int:
    """Sends raw bytes (headers that httpx would refuse to write) and reads the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(request)
        data = b""
        while b"\r\n" not in data and len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def raw_get(headers: bytes) -> bytes:
    return b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + b"\r\n"


# ----------------------------------------------------------------------------------------------
# The scenarios.


def test_anonymous_cookie_is_set_once_and_kept(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    r = b.nav()
    assert r.status_code == 200
    first = r.json()
    assert first["rule"] == "new_anonymous" and first["authenticated"] is False
    assert first["counter"] == 0 and first["log_id"]
    header = set_cookies(r)[0]
    assert header.startswith(f"{NAME}=rtf1_")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # insecure_local: plain HTTP
    assert r.headers["cache-control"] == "no-store"
    anon = b.token
    assert anon is not None
    again = b.nav()
    assert again.json()["rule"] == "anonymous"
    assert again.json()["log_id"] == r.json()["log_id"]
    assert set_cookies(again) == []  # anonymous tokens are not rolled
    assert b.token == anon


def test_login_rotates_the_session_id(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    anon_log_id = b.nav().json()["log_id"]
    anon = b.token
    assert anon is not None
    r = b.login()
    assert r.json()["log_id"] != anon_log_id
    assert b.token is not None and b.token != anon
    assert rolltoken.parse_token(b.token).session_id != rolltoken.parse_token(anon).session_id
    # An attacker who planted or kept the pre-login cookie gets nothing from the login.
    fixed = site.browser(token=anon).api()
    assert fixed.status_code == 401 and clears(fixed)
    assert fixed.json()["rule"] == "revoked"
    assert b.nav().json()["authenticated"] is True


def test_page_loads_roll_and_reads_do_not(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    b.login()
    seen = {b.token}
    for n in range(1, 4):
        r = b.nav()
        assert r.status_code == 200
        assert r.json()["rule"] == "fresh" and r.json()["counter"] == n
        assert b.token not in seen
        seen.add(b.token)
        read = b.api()
        assert read.status_code == 200 and read.json()["rule"] == "current"
        assert set_cookies(read) == []


def test_parallel_reads_in_grace_pass_and_never_set_a_cookie(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    b.login()
    old = b.token
    b.nav()
    new = b.token
    assert old != new

    async def burst() -> List[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=site.base, cookies=no_jar(), timeout=WAIT_S, limits=ONE_SHOT
        ) as c:
            calls = [
                c.get("/api", headers={**API, "User-Agent": UA_A, "Cookie": f"{NAME}={tok}"})
                for tok in [old, new] * 6
            ]
            return list(await asyncio.gather(*calls))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * 12
    assert all(set_cookies(r) == [] for r in responses)
    rules = {r.json()["rule"] for r in responses}
    assert rules == {"concurrent_in_grace", "current"}


def test_racing_navigations_both_succeed_without_clearing(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    b.login()
    token = b.token
    tabs = [site.browser(token=token), site.browser(token=token)]
    start = threading.Barrier(2, timeout=WAIT_S)

    def navigate(tab: Browser) -> httpx.Response:
        start.wait()
        return tab.nav()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(navigate, tabs))
    assert [r.status_code for r in results] == [200, 200]
    assert sorted(r.json()["rule"] for r in results) == ["concurrent_in_grace", "fresh"]
    assert not any(clears(r) for r in results)
    # The loser is handed the winner's token, so both tabs hold the current one.
    assert tabs[0].token == tabs[1].token != token
    assert tabs[0].nav().json()["rule"] == "fresh"


def test_prefetch_and_cross_site_navigations_never_advance(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    b.login()
    b.nav()
    token = b.token
    for extra in (
        {"Sec-Purpose": "prefetch"},
        {"Sec-Purpose": "prefetch;prerender"},
        {"Purpose": "prefetch"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        r = b.send("GET", "/", {**NAV, **extra})
        assert r.status_code == 200, extra
        assert r.json()["counter"] == 1, extra
        assert r.json()["rule"] == "current", extra
        assert set_cookies(r) == [], extra
    assert b.token == token
    # Without Fetch Metadata, a GET asking for HTML first is a page load; */* is not.
    assert b.send("GET", "/", {"Accept": "*/*"}).json()["counter"] == 1
    assert b.send("GET", "/", {"Accept": "text/html,*/*;q=0.8"}).json()["counter"] == 2


def test_a_copied_cookie_revokes_the_session_for_both(
    rt_asgi_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rolltoken")
    policy = rolltoken.Policy(grace=rolltoken.Grace.fixed(300))
    site = rt_asgi_site(policy, explain_url="/account/security")
    user = site.browser(UA_A)
    user.login()
    user.nav()
    copied = user.token
    log_id = user.nav().json()["log_id"]  # the user moves on
    time.sleep(0.45)  # past the grace window
    thief = site.browser(UA_B, token=copied)
    stolen = thief.nav()
    assert stolen.status_code == 401 and clears(stolen)
    assert stolen.headers["content-type"].startswith("text/html")
    assert "used from two places" in stolen.text
    assert 'href="/account/security"' in stolen.text
    assert thief.token is None
    # The user's own, newer cookie is refused too: the session is over for every holder.
    own = user.api()
    assert own.status_code == 401 and clears(own)
    assert own.headers["content-type"] == "application/problem+json"
    problem = own.json()
    assert problem["rule"] == "revoked" and problem["status"] == 401
    assert problem["title"] == "Your session was used from two places", "the second party is told why"
    assert problem["log_id"] == log_id
    assert set(problem) == {"type", "title", "status", "detail", "rule", "log_id"}
    assert copied is not None and copied not in own.text
    refusals = [r.getMessage() for r in caplog.records if r.name == "rolltoken"]
    assert any("rule=reuse" in m and log_id in m for m in refusals)
    assert any("rule=revoked" in m for m in refusals)
    assert copied not in caplog.text and str(user.token) not in caplog.text


def test_logout_invalidates_even_a_late_rolled_cookie(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    b.login()
    held = b.token
    in_flight = site.browser(token=held)
    with ThreadPoolExecutor(1) as pool:
        late = pool.submit(in_flight.nav, "/slow")
        assert site.gates.entered.wait(WAIT_S)  # decided and rolled; the response is held
        out = b.logout()
        assert out.status_code == 200 and clears(out)
        assert b.token is None
        site.gates.release.set()
        r = late.result(WAIT_S)
    assert r.status_code == 200
    reinstalled = cookie_of(r)
    assert reinstalled  # the late response still carries the rolled token...
    after = site.browser(token=reinstalled).nav()
    assert after.status_code == 401 and clears(after)  # ...which is worth nothing
    assert "two places" not in after.text
    assert site.browser(token=held).api().status_code == 401


def test_expired_cookies_are_refused(rt_asgi_site: MakeSite) -> None:
    policy = rolltoken.Policy(idle_timeout_ms=800)
    site = rt_asgi_site(policy)
    b = site.browser()
    b.login()
    assert b.nav().status_code == 200
    time.sleep(1.0)
    r = b.api()
    assert r.status_code == 401 and clears(r)
    assert r.json()["rule"] == "expired"


def test_tampered_cookies_are_rejected_and_cleared(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site(rolltoken.Policy(form="full"))
    b = site.browser()
    b.login()
    token = b.token
    assert token is not None and token.startswith("rtf1_")
    flip = "A" if token[-3] != "A" else "B"
    for bad, rule in (
        (token[:-3] + flip + token[-2:], "forged"),
        ("rtx1_" + token[5:], "malformed"),
        ("rtf1_" + "A" * 10, "malformed"),
    ):
        r = site.browser(token=bad).api()
        assert r.status_code == 401 and clears(r), bad
        assert r.json()["rule"] == rule
    assert b.nav().status_code == 200  # the real cookie is unharmed


def test_a_store_outage_answers_503_and_logs_nobody_out(rt_asgi_site: MakeSite) -> None:
    flaky = FlakyStore(new_sessions())
    site = rt_asgi_site(sessions=flaky)
    b = site.browser()
    b.login()
    token = b.token
    visitor = site.browser()
    visitor.nav()
    anonymous = visitor.token
    flaky.down = True
    # A stored session cannot be checked; an anonymous one (not stored) can, but its login
    # cannot be saved: ctx.login raises StoreUnavailable, answered 503.
    for r in (b.nav(), b.api(), visitor.send("POST", "/login", API)):
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert set_cookies(r) == []
        if r.headers["content-type"] == "application/problem+json":
            assert r.json()["rule"] == "store_unavailable"
        else:
            assert "You are still logged in" in r.text
    assert b.token == token and visitor.token == anonymous
    flaky.down = False
    assert visitor.login().status_code == 200
    r = b.nav()
    assert r.status_code == 200 and r.json()["rule"] == "fresh"


def test_binding_mismatch_is_403_and_keeps_the_cookie(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site(rolltoken.Policy(binding="require_user_agent"))
    b = site.browser(UA_A)
    b.login()
    other = site.browser(UA_B, token=b.token).nav()
    assert other.status_code == 403 and set_cookies(other) == []
    assert "another browser" in other.text
    assert b.nav().status_code == 200


def test_grace_exhausted_is_429_and_never_clears(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site(rolltoken.Policy(answer_cap=1))
    b = site.browser()
    b.login()
    stale = b.token
    b.nav()
    statuses = []
    for _ in range(4):
        r = site.browser(token=stale).nav()
        statuses.append(r.status_code)
        assert not clears(r)
        if r.status_code == 429:
            assert r.headers["retry-after"] == "1"
            assert "Too many requests" in r.text
    assert statuses[0] == 200 and 429 in statuses
    assert b.nav().status_code == 200


def test_no_session_passes_through_when_anonymous_is_off(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site(rolltoken.Policy(anonymous=False))
    r = site.browser().nav()
    assert r.status_code == 200 and set_cookies(r) == []
    assert r.json() == {"rule": "no_session", "authenticated": False, "log_id": None, "counter": None}


def test_route_override_and_forwarded_addresses(rt_asgi_site: MakeSite) -> None:
    def kind_for(method: str, path: str) -> Optional[rolltoken.Kind]:
        return {"/no-roll": rolltoken.Kind.READ, "/roll": rolltoken.Kind.ADVANCE}.get(path)

    site = rt_asgi_site(kind_for=kind_for)
    b = site.browser()
    b.login()
    assert set_cookies(b.nav("/no-roll")) == []
    assert cookie_of(b.api("/roll"))
    # X-Forwarded-For is ignored unless trusted: under a full binding, a changed header
    # changes nothing here, but is a different client where it is trusted.
    strict = rolltoken.Policy(binding="require_full")
    for trusted, expect in ((False, 200), (True, 403)):
        s = rt_asgi_site(strict, trust_forwarded=trusted)
        c = s.browser()
        c.send("POST", "/login", {**API, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
        r = c.send("GET", "/", {**NAV, "X-Forwarded-For": "192.0.2.99"})
        assert r.status_code == expect, trusted


def test_bad_cookie_headers_are_400_and_the_server_keeps_serving(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site()
    b = site.browser()
    b.login()
    good = b.token
    cases = [
        {"Cookie": f"{NAME}={good}; pad={'x' * 9000}"},  # over 8 KiB
        {"Cookie": f"{NAME}={good}; {NAME}=rtc1_other"},  # the same name twice: tossing
        {"Cookie": f"{NAME}=rtc1_a b"},  # not a cookie value
    ]
    for headers in cases:
        r = b.http.get("/api", headers={**API, "User-Agent": UA_A, **headers})
        assert r.status_code == 400, headers["Cookie"][:40]
        assert set_cookies(r) == []  # never cleared: the header may not even be the user's
    for raw in (
        raw_get(f"Cookie: {NAME}=".encode() + b"\xff\xfe\x80\r\n"),  # not UTF-8
        raw_get(f"Cookie: {NAME}=".encode() + b"a\x01b\r\n"),  # a control character
        raw_get(f"Cookie: {NAME}=".encode() + b"a\x7fb\r\n"),
    ):
        assert raw_status(site.port, raw) == 400
    # A user agent that is not UTF-8 is just bytes to hash.
    assert raw_status(site.port, raw_get(b"User-Agent: \xff\xfe caf\xe9\r\n")) == 200
    assert b.nav().status_code == 200  # still serving, and the session is intact


def test_constructor_and_app_calls_refuse_wrong_types(rt_asgi_site: MakeSite) -> None:
    sessions = new_sessions()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not called")

    with pytest.raises(TypeError, match="sessions"):
        RolltokenMiddleware(app, cast(Any, "not sessions"))
    with pytest.raises(TypeError, match="cookie"):
        RolltokenMiddleware(app, sessions, cookie=cast(Any, "rolltoken"))
    with pytest.raises(TypeError, match="kind_for"):
        RolltokenMiddleware(app, sessions, kind_for=cast(Any, 3))
    with pytest.raises(TypeError, match="explain_url"):
        RolltokenMiddleware(app, sessions, explain_url=cast(Any, b"/security"))
    with pytest.raises(TypeError):
        RolltokenMiddleware(cast(Any, None), sessions)
    with pytest.raises((TypeError, ValueError)):
        rolltoken.Keyring(cast(Any, [("1", os.urandom(32))]), minting_id=1)
    with pytest.raises((TypeError, ValueError)):
        rolltoken.Keyring(cast(Any, [(1, "not bytes")]), minting_id=1)
    # Over HTTP: a subject of the wrong type is the binding's TypeError, seen by the app.
    site = rt_asgi_site()
    r = site.browser().send("POST", "/login?subject=alice", API)
    assert r.status_code == 400 and "subject" in r.json()["error"]
    assert set_cookies(r)  # the request's own new anonymous cookie, nothing else


def test_session_only_cookie_has_no_lifetime_and_clearing_still_expires(rt_asgi_site: MakeSite) -> None:
    site = rt_asgi_site(cookie=rolltoken.CookieConfig(NAME, secure=False, session_only=True))
    b = site.browser()
    for request in (b.nav, b.login, b.nav):  # anonymous, login, a roll: every Set-Cookie
        r = request()
        assert r.status_code == 200 and b.token
        assert set_cookies(r) == [f"{NAME}={b.token}; Path=/; HttpOnly; SameSite=Lax"]
        assert "max-age" not in set_cookies(r)[0].lower() and "expires" not in set_cookies(r)[0].lower()
    out = b.logout()
    assert out.status_code == 200 and b.token is None
    assert set_cookies(out) == [f"{NAME}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"]
    refused = site.browser(token="rtc1_x").nav()  # a refusal's clear too
    assert refused.status_code == 401 and set_cookies(refused) == [f"{NAME}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"]


def test_other_scopes_pass_through_untouched() -> None:
    seen: List[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing to send")

    mw = RolltokenMiddleware(app, new_sessions())
    for kind in ("lifespan", "websocket"):
        scope: Scope = {"type": kind, "headers": [(b"cookie", b"rolltoken=junk")]}
        asyncio.run(mw(scope, receive, send))
        assert seen[-1] is scope and "rolltoken" not in scope


# ----------------------------------------------------------------------------------------------


class FlakyStore:
    """A `Sessions` whose store can be switched off: while it is down, requests get the core's
    own answer to a store failure (`store_failed`), and login/logout raise StoreUnavailable."""

    def __init__(self, inner: rolltoken.Sessions) -> None:
        self.inner = inner
        self.down = False

    def handle(
        self,
        cookie: str | bytes | None,
        kind: rolltoken.Kind | str,
        *,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> rolltoken.Outcome:
        if not self.down:
            return self.inner.handle(cookie, kind, user_agent=user_agent, ip=ip, now_ms=now_ms)
        step = self.inner.begin(cookie, kind, user_agent=user_agent, ip=ip, now_ms=now_ms)
        if step.outcome is not None:
            return step.outcome
        return self.inner.store_failed(step, False)

    def login(
        self,
        subject: bytes | int,
        *,
        current_cookie: str | bytes | None = None,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> rolltoken.Outcome:
        if self.down:
            raise rolltoken.StoreUnavailable("the store is down")
        return self.inner.login(
            subject, current_cookie=current_cookie, user_agent=user_agent, ip=ip, now_ms=now_ms
        )

    def logout(self, cookie: str | bytes, *, now_ms: int | None = None) -> str | None:
        if self.down:
            raise rolltoken.StoreUnavailable("the store is down")
        return self.inner.logout(cookie, now_ms=now_ms)
