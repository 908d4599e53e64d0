"""The WSGI middleware over real HTTP: a real waitress server on 127.0.0.1, driven by httpx.

Every scenario runs twice: a plain WSGI callable with `wsgiref.validate.validator` on both
sides of the middleware (PEP 3333 checked on every request), and a Flask app with the
middleware around `app.wsgi_app`. Cookies are managed by hand (a jar that stores nothing) so
that tests can copy, replay and race them; where time must pass, the policy is shortened and
the sleep stays under a second.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, cast
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import flask
import httpx
import pytest
from waitress import wasyncore
from waitress.server import TcpWSGIServer

import rolltoken
from rolltoken.wsgi import ENVIRON_KEY, RequestContext, RolltokenWSGI

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CONFIG = rolltoken.CookieConfig.insecure_local()
NAME = CONFIG.name
UA_A = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
UA_B = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin", "Accept": "text/html"}
API = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}
WAIT_S = 5.0  # upper bound of any wait in this file
ONE_SHOT = httpx.Limits(max_keepalive_connections=0)  # a fresh connection per request

#: validated and flask decide over the in-memory store; postgres is the Flask app over
#: Sessions with a real PostgreSQL (PostgresStore, a table per test).
FLAVOURS = ["validated", "flask", "postgres"]


# ----------------------------------------------------------------------------------------------
# The apps under test: both answer the session as JSON, /login and /logout act on it, /slow
# holds its response until the test opens the gate.


class Gates:
    """Lets a test hold a response in flight: /slow sets `entered`, then waits for `release`."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()


def state(ctx: RequestContext) -> Dict[str, Any]:
    view = ctx.view
    return {
        "rule": ctx.outcome.rule.value,
        "authenticated": ctx.authenticated,
        "log_id": ctx.log_id,
        "counter": view.counter if view is not None else None,
    }


def act(ctx: RequestContext, path: str, query: str) -> Tuple[int, Dict[str, Any]]:
    """What both apps do: log in (digits are an int subject, anything else is passed as given,
    to show the binding's TypeError), log out, or just show the session."""
    if path == "/login":
        given = query.partition("subject=")[2] or "42"
        subject: Any = int(given) if given.isdigit() else given
        try:
            ctx.login(subject)
        except TypeError as e:
            return 400, {"error": str(e)}
    elif path == "/logout":
        ctx.logout()
    return 200, state(ctx)


def plain_app(gates: Gates) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        ctx = environ[ENVIRON_KEY]
        assert isinstance(ctx, RequestContext)
        if environ["PATH_INFO"] == "/slow":
            gates.entered.set()
            gates.release.wait(WAIT_S)
        status, body = act(ctx, environ["PATH_INFO"], environ.get("QUERY_STRING", ""))
        data = json.dumps(body).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'Bad Request'}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    return app


def flask_app(gates: Gates, sessions: Any, mw: Dict[str, Any]) -> WSGIApplication:
    app = flask.Flask("rolltoken_wsgi_test")

    @app.route("/", methods=["GET"])
    @app.route("/api", methods=["GET"])
    @app.route("/slow", methods=["GET"])
    @app.route("/no-roll", methods=["GET"])
    @app.route("/roll", methods=["GET"])
    @app.route("/login", methods=["POST"])
    @app.route("/logout", methods=["POST"])
    def endpoint() -> flask.Response:
        ctx = flask.request.environ[ENVIRON_KEY]
        assert isinstance(ctx, RequestContext)
        if flask.request.path == "/slow":
            gates.entered.set()
            gates.release.wait(WAIT_S)
        status, body = act(ctx, flask.request.path, flask.request.query_string.decode())
        response = flask.jsonify(body)
        response.status_code = status
        return response

    # Flask turns an exception into a 500 before the middleware sees it: map a store outage
    # raised by ctx.login/ctx.logout to 503 here (a bare WSGI app can let it propagate).
    @app.errorhandler(rolltoken.StoreUnavailable)
    def store_down(_: rolltoken.StoreUnavailable) -> Tuple[flask.Response, int, Dict[str, str]]:
        return flask.jsonify(rule="store_unavailable"), 503, {"Retry-After": "1"}

    app.wsgi_app = RolltokenWSGI(app.wsgi_app, sessions, **mw)  # type: ignore[method-assign]
    return app


# ----------------------------------------------------------------------------------------------
# A real server per test, and a browser whose cookie is handled by hand.


class Waitress:
    """waitress in a thread on 127.0.0.1 and a free port; its loop polls a stop flag."""

    def __init__(self, app: WSGIApplication) -> None:
        self.map: Dict[int, Any] = {}
        self.server = TcpWSGIServer(
            app,
            map=self.map,
            host="127.0.0.1",
            port=0,
            threads=4,
            clear_untrusted_proxy_headers=False,  # let the X-Forwarded-For test see the header
        )
        self.port = int(self.server.getsockname()[1])
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            wasyncore.loop(timeout=0.02, map=self.map, use_poll=True, count=1)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "waitress did not stop"
        wasyncore.close_all(self.map)
        self.server.task_dispatcher.shutdown(timeout=int(WAIT_S))


class Site:
    def __init__(self, server: Waitress, sessions: Any, gates: Gates) -> None:
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


@pytest.fixture(params=FLAVOURS)
def rt_wsgi_site(request: pytest.FixtureRequest) -> Iterator[MakeSite]:
    """Starts the test's server (either flavour) on demand; stops it after the test."""
    sites: List[Site] = []

    def make(policy: Optional[rolltoken.Policy] = None, sessions: Any = None, **mw: Any) -> Site:
        if sessions is None:
            sessions = postgres_sessions(request, policy) if request.param == "postgres" else new_sessions(policy)
        mw.setdefault("cookie", CONFIG)
        gates = Gates()
        app: WSGIApplication
        if request.param == "validated":
            app = validator(RolltokenWSGI(validator(plain_app(gates)), sessions, **mw))
        else:
            app = flask_app(gates, sessions, mw)
        server = Waitress(app)
        server.start()
        site = Site(server, sessions, gates)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.gates.release.set()
        for b in site.clients:
            b.close()
        site.server.stop()
        store = getattr(site.sessions, "store", None)
        if store is not None and not isinstance(store, rolltoken.MemoryStore):
            store.close()


def postgres_sessions(request: pytest.FixtureRequest, policy: Optional[rolltoken.Policy]) -> rolltoken.Sessions:
    from rolltoken.stores.postgres import PostgresStore

    pg = request.getfixturevalue("postgres_server")
    store = PostgresStore.connect(pg.dsn, table=f"wsgi_{os.urandom(6).hex()}")
    store.migrate()
    keys = rolltoken.Keyring([(1, os.urandom(32))], minting_id=1)
    return rolltoken.Sessions(keys, policy, store=store)


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
        self, method: str, path: str, headers: Dict[str, str], token: Any = _KEEP
    ) -> httpx.Response:
        h = {"User-Agent": self.ua, **headers}
        tok = self.token if token is _KEEP else token
        if tok is not None:
            h["Cookie"] = f"{NAME}={tok}"
        r = self.http.request(method, path, headers=h)
        new = cookie_of(r)
        if new is not None:
            self.token = new or None
        return r

    def nav(self, path: str = "/", **kw: Any) -> httpx.Response:
        return self.send("GET", path, NAV, **kw)

    def api(self, path: str = "/api", **kw: Any) -> httpx.Response:
        return self.send("GET", path, API, **kw)

    def login(self) -> httpx.Response:
        r = self.send("POST", "/login?subject=42", API)
        assert r.status_code == 200, r.text
        assert r.json()["authenticated"] is True
        return r

    def logout(self) -> httpx.Response:
        return self.send("POST", "/logout", API)


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


def test_anonymous_cookie_is_set_once_and_kept(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
    b = site.browser()
    r = b.nav()
    assert r.status_code == 200
    first = r.json()
    assert first["rule"] == "new_anonymous" and first["authenticated"] is False
    header = set_cookies(r)[0]
    assert header.startswith(f"{NAME}=rtf1_") and "HttpOnly" in header and "Secure" not in header
    assert r.headers["cache-control"] == "no-store"
    again = b.nav()
    assert again.json()["rule"] == "anonymous" and again.json()["log_id"] == first["log_id"]
    assert set_cookies(again) == []


def test_login_rotates_the_session_id(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
    b = site.browser()
    anon_log_id = b.nav().json()["log_id"]
    anon = b.token
    assert anon is not None
    assert b.login().json()["log_id"] != anon_log_id
    assert b.token is not None
    assert rolltoken.parse_token(b.token).session_id != rolltoken.parse_token(anon).session_id
    fixed = site.browser(token=anon).api()
    assert fixed.status_code == 401 and clears(fixed) and fixed.json()["rule"] == "revoked"


def test_page_loads_roll_and_reads_do_not(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
    b = site.browser()
    b.login()
    seen = {b.token}
    for n in range(1, 4):
        r = b.nav()
        assert r.json()["rule"] == "fresh" and r.json()["counter"] == n
        assert b.token not in seen
        seen.add(b.token)
        read = b.api()
        assert read.json()["rule"] == "current" and set_cookies(read) == []


def test_parallel_reads_in_grace_pass_and_never_set_a_cookie(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
    b = site.browser()
    b.login()
    old = b.token
    b.nav()
    tabs = [site.browser(token=tok) for tok in [old, b.token] * 4]
    start = threading.Barrier(len(tabs), timeout=WAIT_S)

    def read(tab: Browser) -> httpx.Response:
        start.wait()
        return tab.api()

    with ThreadPoolExecutor(len(tabs)) as pool:
        responses = list(pool.map(read, tabs))
    assert [r.status_code for r in responses] == [200] * len(tabs)
    assert all(set_cookies(r) == [] for r in responses)
    assert {r.json()["rule"] for r in responses} == {"concurrent_in_grace", "current"}


def test_racing_navigations_both_succeed_without_clearing(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
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
    assert tabs[0].token == tabs[1].token != token


def test_prefetch_and_cross_site_navigations_never_advance(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
    b = site.browser()
    b.login()
    b.nav()
    token = b.token
    for extra in ({"Sec-Purpose": "prefetch"}, {"Purpose": "prefetch"}, {"Sec-Fetch-Site": "cross-site"}):
        r = b.send("GET", "/", {**NAV, **extra})
        assert r.status_code == 200 and r.json()["counter"] == 1, extra
        assert set_cookies(r) == [], extra
    assert b.token == token
    assert b.send("GET", "/", {"Accept": "text/html,*/*;q=0.8"}).json()["counter"] == 2


def test_a_copied_cookie_revokes_the_session_for_both(
    rt_wsgi_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rolltoken")
    site = rt_wsgi_site(rolltoken.Policy(grace=rolltoken.Grace.fixed(300)))
    user = site.browser(UA_A)
    user.login()
    user.nav()
    copied = user.token
    log_id = user.nav().json()["log_id"]
    time.sleep(0.45)  # past the grace window
    stolen = site.browser(UA_B, token=copied).nav()
    assert stolen.status_code == 401 and clears(stolen)
    assert "used from two places" in stolen.text and 'href="/security"' in stolen.text
    own = user.api()
    assert own.status_code == 401 and clears(own)
    assert own.headers["content-type"] == "application/problem+json"
    assert own.json()["rule"] == "revoked" and own.json()["log_id"] == log_id
    assert own.json()["title"] == "Your session was used from two places", "the second party is told why"
    assert any("rule=reuse" in r.getMessage() for r in caplog.records if r.name == "rolltoken")
    assert copied is not None and copied not in caplog.text and copied not in own.text


def test_logout_invalidates_even_a_late_rolled_cookie(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
    b = site.browser()
    b.login()
    held = b.token
    in_flight = site.browser(token=held)
    with ThreadPoolExecutor(1) as pool:
        late = pool.submit(in_flight.nav, "/slow")
        assert site.gates.entered.wait(WAIT_S)
        out = b.logout()
        assert out.status_code == 200 and clears(out)
        site.gates.release.set()
        r = late.result(WAIT_S)
    reinstalled = cookie_of(r)
    assert r.status_code == 200 and reinstalled
    after = site.browser(token=reinstalled).nav()
    assert after.status_code == 401 and clears(after)


def test_expired_cookies_are_refused(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site(rolltoken.Policy(idle_timeout_ms=800))
    b = site.browser()
    b.login()
    assert b.nav().status_code == 200
    time.sleep(1.0)
    r = b.api()
    assert r.status_code == 401 and clears(r) and r.json()["rule"] == "expired"


def test_tampered_cookies_are_rejected_and_cleared(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site(rolltoken.Policy(form="full"))
    b = site.browser()
    b.login()
    token = b.token
    assert token is not None
    flip = "A" if token[-3] != "A" else "B"
    for bad, rule in ((token[:-3] + flip + token[-2:], "forged"), ("rtx1_" + token[5:], "malformed")):
        r = site.browser(token=bad).api()
        assert r.status_code == 401 and clears(r) and r.json()["rule"] == rule
    assert b.nav().status_code == 200


def test_a_store_outage_answers_503_and_logs_nobody_out(rt_wsgi_site: MakeSite) -> None:
    flaky = FlakyStore(new_sessions())
    site = rt_wsgi_site(sessions=flaky)
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
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert set_cookies(r) == []
    assert b.token == token and visitor.token == anonymous
    flaky.down = False
    assert visitor.login().status_code == 200
    assert b.nav().json()["rule"] == "fresh"


def test_binding_mismatch_is_403_and_keeps_the_cookie(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site(rolltoken.Policy(binding="require_user_agent"))
    b = site.browser(UA_A)
    b.login()
    other = site.browser(UA_B, token=b.token).api()
    assert other.status_code == 403 and set_cookies(other) == []
    assert other.json()["rule"] == "binding_mismatch"
    assert b.nav().status_code == 200


def test_grace_exhausted_is_429_and_never_clears(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site(rolltoken.Policy(answer_cap=1))
    b = site.browser()
    b.login()
    stale = b.token
    b.nav()
    statuses = []
    for _ in range(4):
        r = site.browser(token=stale).nav()
        statuses.append(r.status_code)
        assert not clears(r)
    assert statuses[0] == 200 and 429 in statuses
    assert b.nav().status_code == 200


def test_no_session_passes_through_when_anonymous_is_off(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site(rolltoken.Policy(anonymous=False))
    r = site.browser().nav()
    assert r.status_code == 200 and set_cookies(r) == []
    assert r.json() == {"rule": "no_session", "authenticated": False, "log_id": None, "counter": None}


def test_route_override_and_forwarded_addresses(rt_wsgi_site: MakeSite) -> None:
    def kind_for(method: str, path: str) -> Optional[rolltoken.Kind]:
        return {"/no-roll": rolltoken.Kind.READ, "/roll": rolltoken.Kind.ADVANCE}.get(path)

    site = rt_wsgi_site(kind_for=kind_for)
    b = site.browser()
    b.login()
    assert set_cookies(b.nav("/no-roll")) == []
    assert cookie_of(b.api("/roll"))
    strict = rolltoken.Policy(binding="require_full")
    for trusted, expect in ((False, 200), (True, 403)):
        s = rt_wsgi_site(strict, trust_forwarded=trusted)
        c = s.browser()
        c.send("POST", "/login", {**API, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
        r = c.send("GET", "/", {**NAV, "X-Forwarded-For": "192.0.2.99"})
        assert r.status_code == expect, trusted


def test_bad_cookie_headers_are_400_and_the_server_keeps_serving(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site()
    b = site.browser()
    b.login()
    good = b.token
    for cookie in (
        f"{NAME}={good}; pad={'x' * 9000}",
        f"{NAME}={good}; {NAME}=rtc1_other",
        f"{NAME}=rtc1_a b",
    ):
        r = b.http.get("/api", headers={**API, "User-Agent": UA_A, "Cookie": cookie})
        assert r.status_code == 400 and set_cookies(r) == [], cookie[:40]
    for raw in (
        raw_get(f"Cookie: {NAME}=".encode() + b"\xff\xfe\x80\r\n"),
        raw_get(f"Cookie: {NAME}=".encode() + b"a\x01b\r\n"),
        raw_get(f"Cookie: {NAME}=".encode() + b"a\x7fb\r\n"),
    ):
        assert raw_status(site.port, raw) == 400
    assert raw_status(site.port, raw_get(b"User-Agent: \xff\xfe caf\xe9\r\n")) == 200
    assert b.nav().status_code == 200


def test_constructor_and_app_calls_refuse_wrong_types(rt_wsgi_site: MakeSite) -> None:
    sessions = new_sessions()
    app = plain_app(Gates())
    with pytest.raises(TypeError, match="sessions"):
        RolltokenWSGI(app, cast(Any, object()))
    with pytest.raises(TypeError, match="cookie"):
        RolltokenWSGI(app, sessions, cookie=cast(Any, {"name": "rolltoken"}))
    with pytest.raises(TypeError, match="kind_for"):
        RolltokenWSGI(app, sessions, kind_for=cast(Any, "advance"))
    with pytest.raises(TypeError):
        RolltokenWSGI(cast(Any, None), sessions)
    site = rt_wsgi_site()
    r = site.browser().send("POST", "/login?subject=alice", API)
    assert r.status_code == 400 and "subject" in r.json()["error"]


def test_session_only_cookie_has_no_lifetime_and_clearing_still_expires(rt_wsgi_site: MakeSite) -> None:
    site = rt_wsgi_site(cookie=rolltoken.CookieConfig(NAME, secure=False, session_only=True))
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


def test_pep_3333_under_wsgiref_validate_without_a_server() -> None:
    """Every kind of answer, straight through `validator` (no server in between)."""
    sessions = new_sessions()
    wrapped = validator(RolltokenWSGI(validator(plain_app(Gates())), sessions, cookie=CONFIG))
    token = sessions.login(7, user_agent=UA_A, ip="127.0.0.1").token

    def call(cookie: Optional[str], **extra: str) -> Tuple[str, List[Tuple[str, str]], bytes]:
        environ: Dict[str, Any] = {
            "REMOTE_ADDR": "127.0.0.1",
            "QUERY_STRING": "",
            "HTTP_USER_AGENT": UA_A,
            "wsgi.input": BytesIO(b""),
            **extra,
        }
        if cookie is not None:
            environ["HTTP_COOKIE"] = cookie
        setup_testing_defaults(environ)
        seen: List[Tuple[str, List[Tuple[str, str]]]] = []

        def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            seen.append((status, headers))
            return lambda _: None

        result = wrapped(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return seen[-1][0], seen[-1][1], body

    status, headers, _ = call(f"{NAME}={token}", HTTP_SEC_FETCH_MODE="navigate")
    assert status == "200 OK" and [n for n, _ in headers].count("Set-Cookie") == 1
    status, headers, body = call(f"{NAME}=rtc1_x", HTTP_ACCEPT="application/json")
    assert status == "401 Unauthorized" and b'"rule": "malformed"' in body
    status, headers, _ = call(f"{NAME}=a; {NAME}=b")
    assert status == "400 Bad Request" and "Set-Cookie" not in [n for n, _ in headers]
    status, _, body = call(None)
    assert status == "200 OK" and b"new_anonymous" in body


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
