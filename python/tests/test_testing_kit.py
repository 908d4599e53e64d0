"""The race test kit (`rolltoken.testing`) against the project's own apps, in-process.

* the demo (`rolltoken.demo`, WSGI: a thread per concurrent request) and a Starlette app with
  `RolltokenMiddleware` (ASGI: `asyncio.gather`), each wrapped in a probe that counts requests
  in flight, so the tests prove the fan-out really ran concurrently;
* honest runs (tabs, fan-out, lost responses, lost Set-Cookies, latency, grace windows that
  close between pages): 0 false logouts, while the rolltoken paths that protect them were taken;
* theft runs (once, repeatedly, at once after the copy; another browser and address): detected,
  and the thief served nothing afterwards;
* negative controls, so that none of the above can pass vacuously: a policy that forgives no
  lost Set-Cookie and a naive rotating cookie both log honest users out, and the kit says so; a
  cookie that never rolls lets a thief through, and the kit says so;
* the pytest example of the module's docstring, run as written against the demo.

The grace window is shortened (GRACE_MS) so that windows close within the run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple
from urllib.parse import parse_qs

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

import rolltoken
import rolltoken.testing as kit
from rolltoken.asgi import RolltokenMiddleware
from rolltoken.demo import make_app
from rolltoken.testing import Browser, Exchange, KitError, Report, Step, run_honest, run_theft

GRACE_MS = 60
PASSWORD = "correct horse battery"
Environ = Dict[str, Any]
StartResponse = Callable[..., Any]


@pytest.fixture(autouse=True)
def quiet_refusals() -> Iterator[None]:
    """The middleware logs each refusal as a warning; the negative controls make hundreds."""
    logger = logging.getLogger("rolltoken")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def policy(grace_ms: int = GRACE_MS, **changes: Any) -> rolltoken.Policy:
    return rolltoken.Policy.default().replace(grace=rolltoken.Grace.fixed(grace_ms), **changes)


def register() -> List[Step]:
    """The demo's login: registering logs the new account in."""
    return [Step.form("/register", username=f"u{secrets.token_hex(4)}", password=PASSWORD)]


# ----------------------------------------------------------------------------------------------
# The apps, each behind a probe that counts the requests in flight.


class WsgiProbe:
    """Counts concurrent requests; holds each one a millisecond so that overlaps are seen."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(0.001)
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.now -= 1


class AsgiProbe:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.now = 0
        self.peak = 0

    async def __call__(self, scope: Dict[str, Any], receive: Any, send: Any) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(0.001)
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


def demo(pol: Optional[rolltoken.Policy] = None) -> WsgiProbe:
    return WsgiProbe(make_app(policy=pol if pol is not None else policy()))


def starlette_app(sessions: Any, seen: Optional[List[str]] = None) -> Starlette:
    """Pages (HTML), a JSON session endpoint, a login form: the shape of a real app. ``seen``
    collects the core's rule for every page load."""

    async def page(request: Request) -> Response:
        ctx = request.scope["rolltoken"]
        if seen is not None:
            seen.append(ctx.outcome.rule.value)
        return HTMLResponse(f"<!DOCTYPE html><p>session {ctx.log_id}</p>")

    async def me(request: Request) -> Response:
        ctx = request.scope["rolltoken"]
        return JSONResponse(
            {"authenticated": ctx.authenticated, "log_id": ctx.log_id, "rule": ctx.outcome.rule.value}
        )

    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())  # no python-multipart needed
        if form.get("password") != [PASSWORD]:
            return HTMLResponse("wrong", status_code=400)
        await request.scope["rolltoken"].alogin(42)
        return RedirectResponse("/", status_code=303)

    routes = [
        Route("/", page),
        Route("/inbox", page),
        Route("/api/me", me),
        Route("/api/mail", me),
        Route("/login", login, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RolltokenMiddleware, sessions=sessions)])


def asgi(
    pol: Optional[rolltoken.Policy] = None, *, asynchronous: bool = True, seen: Optional[List[str]] = None
) -> AsgiProbe:
    keys = rolltoken.Keyring([(1, os.urandom(32))], minting_id=1)
    p = pol if pol is not None else policy()
    sessions: Any = rolltoken.AsyncSessions(keys, p) if asynchronous else rolltoken.Sessions(keys, p)
    return AsgiProbe(starlette_app(sessions, seen))


ASGI_LOGIN = [Step.form("/login", username="alice", password=PASSWORD)]
ASGI_PAGES = {"paths": ["/", "/inbox"], "api": ["/api/me", "/api/mail"]}
DEMO_PAGES = {"paths": ["/", "/fanout"], "api": ["/api/me"]}


def rules(report: Report) -> Dict[str, int]:
    return report.rules


# ----------------------------------------------------------------------------------------------
# Honest runs.

#: The rules under which a stale token is answered without a logout (grace, lost response,
#: cookie jar gone back): at least one must show, or the run raced nothing.
RACE_RULES = {"concurrent_in_grace", "lost_response", "cookie_jar_behind"}

HONEST = dict(
    tabs=3, fanout=6, pages=45, drop_rate=0.05, drop_set_cookie_rate=0.05, jitter_s=0.01, think_s=(0.0, 0.09)
)


def test_honest_users_of_the_demo_are_never_logged_out() -> None:
    app = demo()
    report = run_honest(app, login=register(), seed=11, **DEMO_PAGES, **HONEST)  # type: ignore[arg-type]
    report.assert_no_false_logouts()
    assert report.false_logouts == 0 and report.cleared == () and report.refused == 0
    assert report.requests >= 45 * 7 and set(report.statuses) <= {200, 303}
    # Not vacuous: requests really overlapped, responses and Set-Cookies were lost, and the
    # rolltoken paths for races and lost responses answered (the demo's /api/me names its rule).
    assert app.peak >= 3, app.peak
    assert {e.dropped for e in report.dropped} == {"response", "set-cookie"}
    assert any(e.retry for e in report.exchanges)
    seen = rules(report)
    assert seen.get("current", 0) > 0 and set(seen) & RACE_RULES, seen


@pytest.mark.parametrize("asynchronous", [True, False], ids=["AsyncSessions", "Sessions"])
def test_honest_users_of_a_starlette_app_are_never_logged_out(asynchronous: bool) -> None:
    app = asgi(asynchronous=asynchronous)
    report = run_honest(app, login=ASGI_LOGIN, seed=12, **ASGI_PAGES, **HONEST)  # type: ignore[arg-type]
    report.assert_no_false_logouts()
    assert report.false_logouts == 0 and report.cleared == () and report.refused == 0
    assert app.peak >= 4, app.peak  # asyncio.gather ran them together
    assert set(rules(report)) & RACE_RULES, rules(report)
    assert all(e.authenticated for e in report.exchanges if e.path.startswith("/api/"))


def test_windows_that_close_between_pages_exercise_the_lost_response_paths() -> None:
    """Think time far above the grace window: a lost response or Set-Cookie is found after the
    window, where only rule 3 (same client: lost_response / cookie_jar_behind) saves the user."""
    seen: List[str] = []
    app = asgi(policy(grace_ms=5), seen=seen)
    report = run_honest(
        app, login=ASGI_LOGIN, tabs=2, fanout=3, pages=24, drop_rate=0.1, drop_set_cookie_rate=0.15,
        think_s=(0.02, 0.04), seed=13, **ASGI_PAGES,  # type: ignore[arg-type]
    )
    report.assert_no_false_logouts()
    assert {"lost_response", "cookie_jar_behind"} & set(seen), seen


def test_old_browsers_without_fetch_metadata_and_links_from_other_sites() -> None:
    report = run_honest(
        demo(), login=register(), tabs=2, fanout=4, pages=16, cross_site_rate=0.3, fetch_metadata=False,
        drop_set_cookie_rate=0.1, seed=14, **DEMO_PAGES,  # type: ignore[arg-type]
    )
    report.assert_clean()
    report = run_honest(
        asgi(), login=ASGI_LOGIN, tabs=2, fanout=4, pages=16, cross_site_rate=0.3, seed=15, **ASGI_PAGES  # type: ignore[arg-type]
    )
    report.assert_clean()
    assert any(e.site == "cross-site" and e.mode == "navigate" and e.cookie is None for e in report.exchanges)


# ----------------------------------------------------------------------------------------------
# Theft runs.

GRACE_S = GRACE_MS / 1000


@pytest.mark.parametrize(
    ("mode", "copy_at", "by"),
    [("once", 2, "thief"), ("repeat", None, None), ("at_once", 3, "user")],
)
def test_a_copied_demo_cookie_is_detected(mode: str, copy_at: Optional[int], by: Optional[str]) -> None:
    # One tab when the thief acts at once: with racing tabs the copy could be a step behind
    # and share the chain inside the user's window (the documented limit), not collide.
    report = run_theft(
        demo(), login=register(), mode=mode, copy_at=copy_at, grace_s=GRACE_S, pages=8, uses=3,
        thief_fanout=2, tabs=1 if mode == "at_once" else 2, seed=21, **DEMO_PAGES,  # type: ignore[arg-type]
    )
    report.assert_detected()
    assert report.false_logouts == 0
    assert report.thief_accepted_after_detection == 0
    if by is not None:
        # once: the user moved on before the copy was used, so the copy itself is refused;
        # at once: the thief won the race, so the user is the one asked to log in again.
        assert report.detected_by == by, report.summary()
    d = report.detection
    assert d is not None and d.rule in (None, "reuse") and d.status == 401
    if d.actor == "thief":
        assert report.thief_accepted == 0


def test_a_copied_cookie_in_a_starlette_app_is_detected_across_repeated_use() -> None:
    report = run_theft(
        asgi(), login=ASGI_LOGIN, mode="repeat", uses=3, grace_s=GRACE_S, pages=9, tabs=2, fanout=4,
        drop_set_cookie_rate=0.1, seed=22, **ASGI_PAGES,  # type: ignore[arg-type]
    )
    report.assert_detected()
    assert report.thief_requests == 3 and report.thief_accepted_after_detection == 0
    # After detection every further use of the copy is refused (a revocation only moves forward).
    d = report.detection
    assert d is not None
    late = [e for e in report.exchanges if e.actor == "thief" and e.sent_s > d.answered_s]
    assert late and all(e.status == 401 for e in late)


# ----------------------------------------------------------------------------------------------
# Negative controls: the kit sees what it is there to see.


def test_control_a_policy_that_forgives_no_lost_set_cookie_logs_users_out() -> None:
    """Rule 3 off and a 1 ms window: a lost Set-Cookie leaves the jar one step behind, and its
    next request after the window is taken for reuse. The kit must report it."""
    app = demo(policy(grace_ms=1, reissue_one_behind=False))
    report = run_honest(
        app, login=register(), tabs=1, fanout=2, pages=12, drop_set_cookie_rate=0.3,
        think_s=(0.005, 0.01), seed=0, **DEMO_PAGES,  # type: ignore[arg-type]
    )
    assert report.false_logouts > 0 and report.cleared
    assert report.rules.get("reuse", 0) >= 1
    with pytest.raises(AssertionError, match="honest clients were logged out"):
        report.assert_no_false_logouts()


def naive_rotating_app() -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """A rotating session cookie without grace: every request must present the latest token
    and gets a new one; anything else is 'theft': 401 and the cookie cleared."""
    lock = threading.Lock()
    current: Dict[str, str] = {}

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        cookie = environ.get("HTTP_COOKIE", "")
        token = cookie.partition("=")[2] if cookie.startswith("sid=") else ""
        with lock:
            if environ["PATH_INFO"] == "/login":
                fresh = secrets.token_hex(8)
                current["alice"] = fresh
                start_response("303 See Other", [("Location", "/"), ("Set-Cookie", f"sid={fresh}; Path=/")])
                return [b""]
            if token and current.get("alice") == token:
                fresh = secrets.token_hex(8)
                current["alice"] = fresh
                start_response("200 OK", [("Content-Type", "text/html"), ("Set-Cookie", f"sid={fresh}; Path=/")])
                return [b"ok"]
        start_response("401 Unauthorized", [("Set-Cookie", "sid=; Max-Age=0; Path=/")])
        return [b"log in again"]

    return app


def test_control_a_naive_rotating_cookie_is_caught_by_the_fan_out_alone() -> None:
    report = run_honest(
        naive_rotating_app(), login=[Step.form("/login", user="alice")], cookie_name="sid", tabs=1, fanout=6,
        pages=3, seed=1,
    )
    # Six parallel reads with one token: one rotates, the other five are "reuse".
    assert report.false_logouts >= 5
    assert {e.status for e in report.false_logout_exchanges} == {401}


def static_cookie_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """A session cookie that never rolls: a copy is as good as the original, forever."""
    if environ["PATH_INFO"] == "/login":
        start_response("303 See Other", [("Location", "/"), ("Set-Cookie", "sid=static-session; Path=/; SameSite=Lax")])
        return [b""]
    if environ["PATH_INFO"] == "/nowhere":  # answers, but sets no cookie
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"nothing here"]
    ok = environ.get("HTTP_COOKIE") == "sid=static-session"
    start_response("200 OK" if ok else "401 Unauthorized", [("Content-Type", "text/plain")])
    return [b"hello" if ok else b"log in"]


def test_control_a_cookie_that_never_rolls_lets_the_thief_through() -> None:
    report = run_theft(
        static_cookie_app, login=[Step.form("/login")], cookie_name="sid", mode="repeat", uses=2,
        grace_s=0.0, seed=3,
    )
    assert not report.detected and report.thief_accepted == 2
    with pytest.raises(AssertionError, match="not detected"):
        report.assert_detected()


# ----------------------------------------------------------------------------------------------
# The kit itself.


def test_the_cookie_jar_reads_set_cookie_as_a_browser_does() -> None:
    jar = kit.Jar("sid")
    assert jar.effect([("Set-Cookie", "sid=abc; Path=/; SameSite=Strict")]) == ("set", "abc", "strict")
    assert jar.effect([("set-cookie", 'sid="q"')]) == ("set", "q", "lax")
    for clearing in ("sid=; Max-Age=0", "sid=x; Max-Age=-1", "sid=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"):
        assert jar.effect([("Set-Cookie", clearing)])[0] == "cleared", clearing
    assert jar.effect([("Set-Cookie", "other=1"), ("X-Sid", "sid=2")]) == (None, None, None)
    assert jar.effect([("Set-Cookie", "sid=1"), ("Set-Cookie", "sid=2")])[1] == "2"  # the last wins
    jar.apply("set", "abc", "lax")
    # SameSite=Lax: cross-site only on top-level GET navigations; stored from navigations only.
    assert jar.sends("GET", "navigate", "cross-site") and not jar.sends("POST", "navigate", "cross-site")
    assert not jar.sends("GET", "cors", "cross-site") and jar.sends("POST", "cors", "same-site")
    assert jar.stores("navigate", "cross-site", "lax") and not jar.stores("no-cors", "cross-site", "lax")
    assert jar.stores("no-cors", "cross-site", "none")
    assert kit.Jar("sid", samesite="none").sends("POST", "no-cors", "cross-site")
    assert not kit.Jar("sid", samesite="strict").sends("GET", "navigate", "cross-site")
    thief = jar.copy()
    thief.apply("cleared", None)
    assert thief.value == "abc" and "abc" not in repr(thief)


def test_the_same_seed_makes_the_same_choices() -> None:
    def choices(seed: int) -> List[Tuple[object, ...]]:
        report = run_honest(
            demo(), login=register(), tabs=3, fanout=3, pages=12, drop_rate=0.2, drop_set_cookie_rate=0.2,
            seed=seed, **DEMO_PAGES,  # type: ignore[arg-type]
        )
        return sorted((e.tab, e.path, e.mode, e.site, e.dropped or "", e.retry) for e in report.exchanges)

    assert choices(5) == choices(5)
    assert choices(5) != choices(6)


def test_the_interface_is_told_from_the_callable() -> None:
    assert kit.interface_of(asgi()) == "asgi" and kit.interface_of(asgi().app) == "asgi"
    assert kit.interface_of(demo()) == "wsgi" and kit.interface_of(static_cookie_app) == "wsgi"
    with pytest.raises(KitError):
        Browser(demo(), interface="cgi")


def test_a_browser_for_scenarios_of_ones_own() -> None:
    with Browser(demo()) as b:
        assert b.submit(register()[0]).status == 303 and b.cookie is not None
        first = b.cookie
        page = b.navigate("/")
        assert page.status == 200 and page.cookie == "set" and b.cookie != first
        reads = b.fanout(["/api/me"] * 4)
        assert [r.status for r in reads] == [200] * 4 and all(r.cookie is None for r in reads)
        assert all(r.authenticated for r in reads)
        thief = b.copy()
        assert thief.cookie == b.cookie and thief.navigate("/").status == 200  # inside the window
        assert [e.actor for e in b.exchanges].count("thief") == 1
        assert "rtc1_" not in repr(page) and "rtc1_" not in repr(b)


def test_inside_an_event_loop_the_async_variants_run_on_that_loop() -> None:
    async def main() -> Tuple[Report, List[Exchange]]:
        app = asgi()
        report = await kit.arun_honest(app, login=ASGI_LOGIN, tabs=2, fanout=3, pages=4, seed=7, **ASGI_PAGES)  # type: ignore[arg-type]
        b = Browser(app)
        await b.asend(ASGI_LOGIN[0])
        reads = await asyncio.gather(*(b.asend(Step.get("/api/me"), mode="cors") for _ in range(3)))
        return report, list(reads)

    report, reads = asyncio.run(main())
    report.assert_clean()
    assert [r.status for r in reads] == [200, 200, 200] and all(r.authenticated for r in reads)


def test_failures_of_the_scenario_are_kit_errors_and_app_errors_are_reported() -> None:
    with pytest.raises(KitError, match="answered 400"):
        run_honest(asgi(), login=[Step.form("/login", password="wrong")], pages=1, **ASGI_PAGES)  # type: ignore[arg-type]
    with pytest.raises(KitError, match="no cookie"):
        run_honest(static_cookie_app, login=[Step.get("/nowhere")], cookie_name="sid", pages=1)
    with pytest.raises(KitError, match="tabs"):
        run_honest(demo(), tabs=0)
    with pytest.raises(KitError, match="login steps"):
        run_theft(demo())

    def broken(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        raise ValueError("boom")

    report = run_honest(broken, pages=2, fanout=1)
    assert report.statuses == {500: 4} and report.errors
    assert "ValueError: boom" in (report.errors[0].error or "")
    with pytest.raises(AssertionError, match="boom"):
        report.assert_no_false_logouts()

    def stuck(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        time.sleep(0.4)
        start_response("200 OK", [])
        return [b""]

    t0 = time.monotonic()
    with pytest.raises(KitError, match="did not answer"):
        run_honest(stuck, pages=1, fanout=0, timeout_s=0.1)
    assert time.monotonic() - t0 < 2


def test_the_report_reads_well() -> None:
    report = run_theft(
        demo(), login=register(), mode="once", copy_at=2, grace_s=GRACE_S, pages=6, seed=4, **DEMO_PAGES  # type: ignore[arg-type]
    )
    text = report.summary()
    assert "detected by the thief" in text and "false logouts: 0" in text
    assert re.search(r"requests in \d+\.\d\ds", text)
    assert "rtc1_" not in text and "rtc1_" not in repr(report)
    assert "rtc1_" not in "".join(repr(e) for e in report.exchanges)


# ----------------------------------------------------------------------------------------------
# The documented example, run as written.


def docstring_example() -> str:
    doc = kit.__doc__ or ""
    start = doc.index("Example (pytest;")
    body = doc[doc.index("::\n", start) + 3 :]
    return textwrap.dedent(body)


def test_the_module_docstring_example_passes_against_the_demo(tmp_path: Path) -> None:
    code = docstring_example()
    assert "from rolltoken.testing import" in code and "def test_" in code
    path = tmp_path / "test_kit_example.py"
    path.write_text(code)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout, done.stdout
