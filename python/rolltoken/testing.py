"""A race test kit: prove in your own test suite that your routes never log honest users out
and always catch a copied cookie.

The kit is a small browser model that drives *your* ASGI or WSGI application in-process (the
application callable is called directly: no server, no sockets). It needs nothing beyond the
standard library and works with any session middleware, though it was written for
:mod:`rolltoken`'s.

The model
---------

* **One cookie jar** per browser, holding one cookie (``cookie_name``; rolltoken's default
  ``__Host-rolltoken``). Every request carries the jar's value as it is when the request is sent;
  every response's ``Set-Cookie`` for that name updates the jar when the response *arrives*, so
  responses that arrive out of order push the jar backwards, as in a real browser.
* **Navigations**: ``Sec-Fetch-Mode: navigate``, ``Sec-Fetch-Site`` (``none`` for a tab's first
  page, ``same-origin`` after it, ``cross-site`` for a link from another site), ``Sec-Fetch-Dest:
  document``, ``Accept: text/html,…``. Each is followed by a **fan-out** of ``fanout`` parallel
  API reads (``Sec-Fetch-Mode: cors``, ``Accept: application/json``) that really run
  concurrently: on threads for a WSGI app, under ``asyncio.gather`` for an ASGI app.
* **Tabs**: ``tabs`` tabs browse at the same time and share the jar.
* **Dropped responses** (``drop_rate``): the server processed the request, the client never
  sees the answer; the browser retries once (``retry=True``). **Dropped** ``Set-Cookie``
  (``drop_set_cookie_rate``): the response arrives without its cookie (a proxy, an extension,
  a browser that refused it).
* **Latency** (``jitter_s``): each request waits up to that long before it reaches the app, and
  its response as long again before the jar sees it. **Think time** (``think_s``) between a
  tab's pages lets grace windows close, so the paths that only run after a window (a lost
  response, a cookie jar gone back) are exercised too.
* **A thief** copies the jar at some moment and uses the copy from its own browser (another
  ``User-Agent`` and client address by default: ``REMOTE_ADDR`` under WSGI, ``scope["client"]``
  under ASGI): once, repeatedly, or at once after the copy. The thief ignores cookie-clearing
  answers (it keeps what it stole).
* **An attacker page** in the victim's browser (:func:`run_forced_logout`): cross-site top-level
  navigations and floods of parallel cross-site requests at the victim's session while the
  victim browses.
* **SameSite**, as browsers apply it (``samesite="auto"``): the cookie's own attribute decides
  whether it goes with a cross-site request (``Lax``: top-level ``GET`` navigations only) and
  whether a cross-site answer may set it (top-level navigations, or ``SameSite=None``).
  ``samesite="none"`` sends it everywhere (the worst case for a rolling scheme), ``"strict"``
  nowhere cross-site.
* **Seeded randomness**: every choice (drops, delays, think times, which page, when the copy is
  taken) comes from ``random.Random`` seeded by ``seed`` (one stream per tab, so the choices do
  not depend on thread scheduling). The interleaving of truly concurrent requests is the
  scheduler's, as it is in production.

Time is real: a session library reads the OS clock, so the kit sleeps where time must pass. A
theft is only *certain* to be caught once a grace window has closed between the two parties'
requests (inside one window a copy shares the chain: the documented limit of rolling), so
:func:`run_theft` waits ``grace_s`` (and a margin) whenever the other party takes its turn. Build
the app under test with a short grace (``Policy.default().replace(grace=Grace.fixed(200))``)
and pass ``grace_s=0.2`` to keep the run short.

Results
-------

Every run returns a :class:`Report`: each request as an :class:`Exchange` (status, what it did
to the cookie, whether its response or its ``Set-Cookie`` was dropped, the refusal's ``rule`` when
a JSON body names one: rolltoken's ``application/problem+json`` refusals do), and:

* ``report.false_logouts``: honest requests (the user's, or the attacker's in the user's browser)
  answered with a logout (``401``, or a ``Set-Cookie`` that clears the cookie) while no thief had
  acted, and the user's answers whose JSON body says ``"authenticated": false`` after the login
  (the session silently lost: point ``api`` at such an endpoint to catch that);
  ``report.refused``: other refusals of the user's requests (``429``, ``503``, …), which ask
  for a retry;
* ``report.detected``: after the thief acted, some request (the thief's or the user's) was
  answered with a logout: the session ended; ``report.detected_by``, ``report.thief_accepted``,
  ``report.thief_accepted_after_detection``, ``report.requests_to_detection``;
* ``report.assert_no_false_logouts()``, ``report.assert_clean()``, ``report.assert_detected()``
  raise ``AssertionError`` with a readable account of what went wrong, and ``report.summary()``.

For scenarios of your own, :class:`Browser` sends single requests (``navigate``, ``api``,
``submit``, ``fanout``, ``send``) and :meth:`Browser.copy` makes a thief's browser. The async
variants (``arun_honest``, ``arun_theft``, ``arun_forced_logout``) serve tests that already run
inside an event loop (an ASGI app whose store is bound to that loop).

Example (pytest; the project's own tests run this very example against its demo app)::

    import pytest

    from rolltoken import Grace, Policy
    from rolltoken.demo import make_app  # your app factory: any ASGI or WSGI callable
    from rolltoken.testing import Step, run_forced_logout, run_honest, run_theft

    # How a user gets a session in your app: a form post (register, or log in to an account
    # your fixture created). The kit checks that it leaves a cookie in the jar.
    LOGIN = [Step.form("/register", username="alice", password="correct horse battery")]
    GRACE_S = 0.2


    @pytest.fixture
    def app():
        return make_app(policy=Policy.default().replace(grace=Grace.fixed(int(GRACE_S * 1000))))


    def test_honest_users_are_never_logged_out(app):
        report = run_honest(
            app, login=LOGIN, paths=["/"], api=["/api/me"], tabs=3, fanout=6, pages=24,
            drop_rate=0.05, drop_set_cookie_rate=0.05, think_s=(0.0, 0.25), seed=1,
        )
        report.assert_no_false_logouts()
        assert report.false_logouts == 0


    def test_a_copied_cookie_is_caught(app):
        report = run_theft(app, login=LOGIN, api=["/api/me"], grace_s=GRACE_S, seed=2)
        report.assert_detected()
        assert report.thief_accepted_after_detection == 0


    def test_an_attacker_page_cannot_log_the_user_out(app):
        # samesite="none": every cross-site request carries the cookie, the worst case for the
        # rolling logic. The default ("auto", as browsers treat the cookie's own SameSite) also
        # sends cookieless cross-site form posts, which catch a cookie overwritten by a new
        # anonymous session (see docs/security.md).
        report = run_forced_logout(app, login=LOGIN, api=["/api/me"], pages=10, samesite="none", seed=3)
        report.assert_no_false_logouts()
        assert report.cleared == ()
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import io
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)
from urllib.parse import urlencode, urlsplit

__all__ = [
    "DEFAULT_COOKIE",
    "DEFAULT_IP",
    "DEFAULT_ORIGIN",
    "DEFAULT_USER_AGENT",
    "THIEF_IP",
    "THIEF_USER_AGENT",
    "App",
    "Browser",
    "Exchange",
    "Jar",
    "KitError",
    "Report",
    "Step",
    "arun_forced_logout",
    "arun_honest",
    "arun_theft",
    "interface_of",
    "run_forced_logout",
    "run_honest",
    "run_theft",
]

#: An ASGI application (``async (scope, receive, send)``) or a WSGI one
#: (``(environ, start_response) -> iterable of bytes``).
App = Callable[..., Any]
#: ``(low, high)`` seconds, drawn uniformly; a single number means ``(0, number)``.
Seconds = Union[float, Tuple[float, float]]

DEFAULT_COOKIE = "__Host-rolltoken"
DEFAULT_ORIGIN = "https://app.example"
DEFAULT_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
DEFAULT_IP = "198.51.100.23"
THIEF_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
THIEF_IP = "203.0.113.66"
ATTACKER_ORIGIN = "https://attacker.example"

_NAV_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_T = TypeVar("_T")


class KitError(RuntimeError):
    """The kit could not run the scenario (the login left no cookie, the app hung past the
    timeout, an argument is out of range); never raised for what the app answered."""


# ----------------------------------------------------------------------------------------------
# Requests and answers.


@dataclass(frozen=True)
class Step:
    """One request of a scripted flow (a login): ``method``, ``path`` (with any query),
    ``body`` and extra ``headers``. A ``POST`` is sent as a same-origin form submission
    (``Origin``, ``Sec-Fetch-Mode: navigate``) unless ``headers`` say otherwise."""

    method: str = "GET"
    path: str = "/"
    body: bytes = b""
    headers: Tuple[Tuple[str, str], ...] = ()

    @staticmethod
    def form(path: str, **fields: str) -> "Step":
        """A url-encoded form ``POST`` of ``fields`` to ``path``."""
        return Step(
            "POST",
            path,
            urlencode(fields).encode(),
            (("Content-Type", "application/x-www-form-urlencoded"),),
        )

    @staticmethod
    def get(path: str) -> "Step":
        """A page ``GET`` of ``path`` (a navigation)."""
        return Step("GET", path)


@dataclass(frozen=True)
class Exchange:
    """One request and what came of it. ``seq`` orders the answers as the server gave them;
    ``actor`` is ``"user"``, ``"attacker"`` (the attacker page, inside the user's browser and
    with the user's jar) or ``"thief"``; ``tab`` is the user's tab (``-1`` otherwise).
    ``cookie`` is what the response's ``Set-Cookie`` for the session cookie did: ``"set"``,
    ``"cleared"`` or ``None`` (whether or not the client saw it: see ``dropped``).
    ``after_theft`` is true when the thief had already sent a request with the copy.
    ``rule`` and ``authenticated`` are those fields of a small JSON body when it has them
    (rolltoken's ``application/problem+json`` refusals name a ``rule``; a session endpoint such
    as the demo's ``/api/me`` reports both). ``login`` marks the login steps. ``dropped`` is
    ``"response"`` (the client never saw the answer), ``"set-cookie"`` (its cookie was lost) or
    ``"samesite"`` (the browser refused to store a cross-site subresource's cookie).
    ``error`` holds the exception the app raised (answered as 500). Headers and body are kept
    out of ``repr`` (they carry tokens)."""

    seq: int
    actor: str
    tab: int
    method: str
    path: str
    mode: str
    site: str
    status: int
    cookie_sent: bool
    cookie: Optional[str]
    dropped: Optional[str]
    after_theft: bool
    retry: bool
    rule: Optional[str]
    authenticated: Optional[bool]
    login: bool
    error: Optional[str]
    sent_s: float
    answered_s: float
    headers: Tuple[Tuple[str, str], ...] = field(repr=False, default=())
    body: bytes = field(repr=False, default=b"")

    @property
    def cleared(self) -> bool:
        """The response cleared the session cookie."""
        return self.cookie == "cleared"

    @property
    def logged_out(self) -> bool:
        """The answer asks the client to log in again: ``401`` or a cleared cookie."""
        return self.status == 401 or self.cleared

    @property
    def ok(self) -> bool:
        """A ``2xx`` or ``3xx`` answer."""
        return 200 <= self.status < 400

    @property
    def lost_session(self) -> bool:
        """A ``2xx`` answer whose JSON body says ``"authenticated": false``: the client no
        longer holds its logged-in session although nobody refused it (a cookie overwritten)."""
        return self.ok and self.authenticated is False and not self.login

    @property
    def honest(self) -> bool:
        """Sent by the user's browser (the user's tabs or an attacker page in it)."""
        return self.actor != "thief"

    def header(self, name: str) -> List[str]:
        """The response's values of header ``name`` (case-insensitive)."""
        low = name.lower()
        return [v for n, v in self.headers if n.lower() == low]

    def describe(self) -> str:
        """One line for failure messages (no tokens)."""
        extra = [f"rule={self.rule}"] if self.rule else []
        if self.cookie:
            extra.append(f"cookie {self.cookie}")
        if self.dropped:
            extra.append(f"dropped {self.dropped}")
        if self.retry:
            extra.append("retry")
        if self.lost_session:
            extra.append("authenticated: false")
        if self.error:
            extra.append(f"error {self.error}")
        tab = f" tab {self.tab}" if self.tab >= 0 else ""
        more = f" ({', '.join(extra)})" if extra else ""
        return (
            f"#{self.seq} {self.actor}{tab} {self.method} {self.path} [{self.mode}/{self.site}] "
            f"-> {self.status}{more} at {self.answered_s:.3f}s"
        )


def _logs_user_out(e: Exchange) -> bool:
    if e.actor == "user":
        return e.logged_out or e.lost_session
    if e.actor == "attacker":  # in the user's browser: its cleared cookie is the user's
        return e.cleared or (e.status == 401 and e.cookie_sent)
    return False


class Report:
    """What a run did: every :class:`Exchange` in the order the server answered, and the
    verdicts computed from them."""

    def __init__(self, exchanges: Sequence[Exchange], seed: Optional[int], duration_s: float, kind: str) -> None:
        self.exchanges: Tuple[Exchange, ...] = tuple(sorted(exchanges, key=lambda e: e.seq))
        self.seed = seed
        self.duration_s = duration_s
        self.kind = kind

    # Counts.

    @property
    def requests(self) -> int:
        return len(self.exchanges)

    @property
    def statuses(self) -> Dict[int, int]:
        """How many answers had each status."""
        out: Dict[int, int] = {}
        for e in self.exchanges:
            out[e.status] = out.get(e.status, 0) + 1
        return dict(sorted(out.items()))

    @property
    def rules(self) -> Dict[str, int]:
        """How many answers named each rule (JSON bodies with a ``"rule"``: rolltoken's
        refusals, and any app endpoint that reports it)."""
        out: Dict[str, int] = {}
        for e in self.exchanges:
            if e.rule:
                out[e.rule] = out.get(e.rule, 0) + 1
        return dict(sorted(out.items()))

    @property
    def cleared(self) -> Tuple[Exchange, ...]:
        """The answers that cleared the session cookie."""
        return tuple(e for e in self.exchanges if e.cleared)

    @property
    def dropped(self) -> Tuple[Exchange, ...]:
        """The answers whose response or ``Set-Cookie`` the client never saw (lost in the
        network: ``drop_rate``, ``drop_set_cookie_rate``)."""
        return tuple(e for e in self.exchanges if e.dropped in ("response", "set-cookie"))

    @property
    def blocked(self) -> Tuple[Exchange, ...]:
        """The answers whose cookie the browser refused to store (``SameSite``)."""
        return tuple(e for e in self.exchanges if e.dropped == "samesite")

    @property
    def errors(self) -> Tuple[Exchange, ...]:
        """The requests on which the app raised."""
        return tuple(e for e in self.exchanges if e.error)

    @property
    def thief_acted(self) -> bool:
        return any(e.actor == "thief" for e in self.exchanges)

    @property
    def false_logout_exchanges(self) -> Tuple[Exchange, ...]:
        """Honest requests answered with a logout while no thief had acted: the user's
        requests answered ``401`` or clearing the cookie, and the attacker page's requests
        that cleared the user's cookie or were answered ``401`` for it."""
        return tuple(e for e in self.exchanges if not e.after_theft and _logs_user_out(e))

    @property
    def false_logouts(self) -> int:
        """How many honest requests were answered with a logout (``401`` or a clearing
        ``Set-Cookie``), or found the user silently logged out (a JSON ``"authenticated":
        false`` after the login: a cookie overwritten), while no thief had acted. ``0`` is the
        target."""
        return len(self.false_logout_exchanges)

    @property
    def logged_out(self) -> bool:
        """An honest client was logged out while no thief had acted."""
        return self.false_logouts > 0

    @property
    def refused(self) -> int:
        """The user's own requests refused without a logout (``4xx``/``5xx`` other than
        ``401``, cookie kept): retry-later answers such as ``429`` and ``503``."""
        return sum(1 for e in self.exchanges if e.actor == "user" and e.status >= 400 and not e.logged_out)

    # Theft.

    @property
    def detection(self) -> Optional[Exchange]:
        """The first answer, after the thief acted, that ended the session (``401`` or a
        cleared cookie, to the thief or to the user)."""
        for e in self.exchanges:
            if e.after_theft and e.logged_out:
                return e
        return None

    @property
    def detected(self) -> bool:
        """The copy was caught: after the thief acted, the session ended for someone."""
        return self.detection is not None

    @property
    def detected_by(self) -> Optional[str]:
        """Whose request ended the session: ``"thief"`` (the copy was refused) or ``"user"``
        (the thief won the race: the user is the one asked to log in again)."""
        d = self.detection
        return None if d is None else ("thief" if d.actor == "thief" else "user")

    @property
    def requests_to_detection(self) -> Optional[int]:
        """Requests answered from the thief's first use up to and including the detecting one."""
        d = self.detection
        if d is None:
            return None
        return sum(1 for e in self.exchanges if e.after_theft and e.seq <= d.seq)

    @property
    def thief_requests(self) -> int:
        return sum(1 for e in self.exchanges if e.actor == "thief")

    @property
    def thief_accepted(self) -> int:
        """The thief's requests answered ``2xx``/``3xx``."""
        return sum(1 for e in self.exchanges if e.actor == "thief" and e.ok)

    @property
    def thief_accepted_after_detection(self) -> int:
        """The thief's requests sent after the session ended and still answered
        ``2xx``/``3xx``. ``0`` is the target: a revocation only moves forward."""
        d = self.detection
        if d is None:
            return 0
        return sum(1 for e in self.exchanges if e.actor == "thief" and e.ok and e.sent_s > d.answered_s)

    # Output and assertions.

    def summary(self) -> str:
        """A few lines: counts, statuses, rules, and the verdicts."""
        lines = [
            f"{self.kind} run, seed {self.seed}: {self.requests} requests in {self.duration_s:.2f}s; "
            f"statuses {self.statuses}; rules {self.rules or '{}'}; "
            f"{len(self.dropped)} dropped; {len(self.cleared)} cleared the cookie",
            f"false logouts: {self.false_logouts}; other refusals of the user's requests: {self.refused}; "
            f"app errors: {len(self.errors)}",
        ]
        if self.thief_acted:
            d = self.detection
            lines.append(
                f"thief: {self.thief_requests} requests, {self.thief_accepted} accepted; "
                + (
                    f"detected by the {self.detected_by}'s request after {self.requests_to_detection} "
                    f"requests ({d.describe()}); accepted after detection: "
                    f"{self.thief_accepted_after_detection}"
                    if d is not None
                    else "NOT detected"
                )
            )
        return "\n".join(lines)

    def _account(self, picked: Iterable[Exchange], limit: int = 12) -> str:
        chosen = list(picked)
        shown = [e.describe() for e in chosen[:limit]]
        if len(chosen) > limit:
            shown.append(f"... and {len(chosen) - limit} more")
        return self.summary() + "\n" + "\n".join("  " + s for s in shown)

    def assert_no_false_logouts(self) -> None:
        """``AssertionError`` (with the offending requests) unless ``false_logouts == 0``
        and the app raised nowhere."""
        bad = self.false_logout_exchanges + self.errors
        if bad:
            raise AssertionError("honest clients were logged out:\n" + self._account(bad))

    def assert_clean(self) -> None:
        """:meth:`assert_no_false_logouts`, and none of the user's requests refused at all."""
        self.assert_no_false_logouts()
        bad = [e for e in self.exchanges if e.actor == "user" and e.status >= 400]
        if bad:
            raise AssertionError("the user's requests were refused:\n" + self._account(bad))

    def assert_detected(self) -> None:
        """``AssertionError`` unless the thief acted and the session then ended, no honest
        client was logged out before the theft, and the thief got nothing after detection."""
        if not self.thief_acted:
            raise AssertionError("the thief never acted:\n" + self.summary())
        self.assert_no_false_logouts()
        if not self.detected:
            after = [e for e in self.exchanges if e.after_theft]
            raise AssertionError("the copied cookie was not detected:\n" + self._account(after))
        if self.thief_accepted_after_detection:
            late = [e for e in self.exchanges if e.actor == "thief" and e.ok]
            raise AssertionError("the thief was served after detection:\n" + self._account(late))

    def __repr__(self) -> str:
        return (
            f"Report(kind={self.kind!r}, seed={self.seed}, requests={self.requests}, "
            f"false_logouts={self.false_logouts}, refused={self.refused}, detected={self.detected})"
        )


# ----------------------------------------------------------------------------------------------
# Cookie jar.


class Jar:
    """The browser's cookie store for the one session cookie ``name``: its value and the
    ``SameSite`` attribute it was last set with (``"lax"`` when absent, as browsers default).
    ``keep_on_clear`` models a thief that ignores the server's clearing ``Set-Cookie``.

    ``samesite`` overrides the cookie's attribute for sending and storing: ``"auto"`` (follow
    the attribute, as a browser does), ``"lax"``, ``"strict"`` or ``"none"`` (the worst case
    for a server: the cookie goes with every cross-site request)."""

    def __init__(
        self,
        name: str,
        value: Optional[str] = None,
        *,
        keep_on_clear: bool = False,
        samesite: str = "auto",
        attribute: str = "lax",
    ) -> None:
        if samesite not in ("auto", "lax", "strict", "none"):
            raise KitError(f"samesite must be auto, lax, strict or none, not {samesite!r}")
        self.name = name
        self.value = value
        self.keep_on_clear = keep_on_clear
        self.samesite = samesite
        self.attribute = attribute

    def policy(self, attribute: Optional[str] = None) -> str:
        if self.samesite != "auto":
            return self.samesite
        return attribute or self.attribute

    def sends(self, method: str, mode: str, site: str) -> bool:
        """Whether a browser sends the cookie with this request (RFC 6265bis ``SameSite``:
        ``Lax`` cookies go with cross-site requests only on top-level ``GET`` navigations)."""
        if site != "cross-site":
            return True
        policy = self.policy()
        if policy == "none":
            return True
        return policy == "lax" and mode == "navigate" and method.upper() in ("GET", "HEAD")

    def stores(self, mode: str, site: str, attribute: Optional[str]) -> bool:
        """Whether a browser stores a ``Set-Cookie`` answering this request: a cross-site
        subresource response may set only a ``SameSite=None`` cookie; a top-level navigation
        sets cookies of the site it lands on."""
        if site != "cross-site" or mode == "navigate":
            return True
        return self.policy(attribute) == "none"

    def header(self) -> Optional[str]:
        """The ``Cookie`` request header, or ``None`` when the jar is empty."""
        return f"{self.name}={self.value}" if self.value else None

    def effect(self, headers: Iterable[Tuple[str, str]]) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        """What a response's ``Set-Cookie`` headers do to this cookie: ``("set", value,
        samesite)``, ``("cleared", None, samesite)`` or ``(None, None, None)``. The last one
        for the name wins."""
        result: Tuple[Optional[str], Optional[str], Optional[str]] = (None, None, None)
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            parsed = _parse_set_cookie(value)
            if parsed is None or parsed[0] != self.name:
                continue
            result = ("cleared", None, parsed[3]) if parsed[2] else ("set", parsed[1], parsed[3])
        return result

    def apply(self, action: Optional[str], value: Optional[str], attribute: Optional[str] = None) -> None:
        if action == "set":
            self.value = value
            self.attribute = attribute or "lax"
        elif action == "cleared" and not self.keep_on_clear:
            self.value = None

    def copy(self) -> "Jar":
        """A thief's copy: the same value, clearing answers ignored."""
        return Jar(self.name, self.value, keep_on_clear=True, samesite=self.samesite, attribute=self.attribute)

    def __repr__(self) -> str:
        return f"Jar(name={self.name!r}, holds={'a cookie' if self.value else 'nothing'})"


def _parse_set_cookie(line: str) -> Optional[Tuple[str, str, bool, str]]:
    """``(name, value, clears, samesite)`` of one ``Set-Cookie`` value (``samesite`` in
    lower case, ``"lax"`` when absent), or ``None`` when unreadable."""
    pair, _, attrs = line.partition(";")
    name, eq, value = pair.partition("=")
    if not eq:
        return None
    name, value = name.strip(), value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    clears = value == ""
    samesite = "lax"
    for attr in attrs.split(";"):
        key, _, arg = attr.partition("=")
        key = key.strip().lower()
        if key == "max-age":
            try:
                clears = clears or int(arg.strip()) <= 0
            except ValueError:
                pass
        elif key == "samesite" and arg.strip().lower() in ("lax", "strict", "none"):
            samesite = arg.strip().lower()
        elif key == "expires":
            try:
                when = email.utils.parsedate_to_datetime(arg.strip())
            except (TypeError, ValueError, IndexError):
                continue
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            clears = clears or when <= datetime.now(timezone.utc)
    return name, value, clears, samesite


# ----------------------------------------------------------------------------------------------
# Transports: the app called in-process.


class _Wire:
    """A request as the app will see it."""

    __slots__ = ("method", "path", "query", "headers", "body", "ip")

    def __init__(
        self, method: str, target: str, headers: List[Tuple[str, str]], body: bytes, ip: Optional[str]
    ) -> None:
        self.method = method
        path, _, query = target.partition("?")
        self.path = path or "/"
        self.query = query
        self.headers = headers
        self.body = body
        self.ip = ip


class _Answer:
    __slots__ = ("status", "headers", "body", "error")

    def __init__(self, status: int, headers: List[Tuple[str, str]], body: bytes, error: Optional[str] = None) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.error = error


def interface_of(app: App) -> str:
    """``"asgi"`` when calling ``app`` returns a coroutine (an ``async def`` function or
    ``__call__``), else ``"wsgi"``."""
    if inspect.iscoroutinefunction(app):
        return "asgi"
    call = getattr(app, "__call__", None)
    if call is not None and inspect.iscoroutinefunction(call):
        return "asgi"
    return "wsgi"


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _call_wsgi(app: App, wire: _Wire, host: str, scheme: str) -> _Answer:
    environ: Dict[str, Any] = {
        "REQUEST_METHOD": wire.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": wire.path,
        "QUERY_STRING": wire.query,
        "SERVER_NAME": host.split(":", 1)[0],
        "SERVER_PORT": host.split(":", 1)[1] if ":" in host else ("443" if scheme == "https" else "80"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(wire.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ["HTTP_HOST"] = host
    if wire.ip is not None:
        environ["REMOTE_ADDR"] = wire.ip
    if wire.body:
        environ["CONTENT_LENGTH"] = str(len(wire.body))
    for name, value in wire.headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = value
    started: List[Tuple[str, List[Tuple[str, str]]]] = []
    chunks: List[bytes] = []

    def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and chunks:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [(status, list(headers))]
        return chunks.append

    try:
        result = app(environ, start_response)
        try:
            for chunk in result:
                chunks.append(bytes(chunk))
        finally:
            close = getattr(result, "close", None)
            if callable(close):
                close()
    except Exception as e:  # the app's bug, reported as a 500 (the run goes on)
        return _Answer(500, [], b"", _error(e))
    if not started:
        return _Answer(500, [], b"", "the app never called start_response")
    status_line, headers = started[0]
    try:
        status = int(status_line.split(" ", 1)[0])
    except ValueError:
        return _Answer(500, headers, b"".join(chunks), f"bad status line {status_line!r}")
    return _Answer(status, headers, b"".join(chunks))


async def _call_asgi(app: App, wire: _Wire, host: str, scheme: str) -> _Answer:
    port = int(host.split(":", 1)[1]) if ":" in host else (443 if scheme == "https" else 80)
    raw_headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in wire.headers]
    raw_headers.insert(0, (b"host", host.encode("latin-1")))
    if wire.body:
        raw_headers.append((b"content-length", str(len(wire.body)).encode()))
    scope: Dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": wire.method,
        "scheme": scheme,
        "path": wire.path,
        "raw_path": wire.path.encode("latin-1", "replace"),
        "query_string": wire.query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": raw_headers,
        "client": (wire.ip, 50000) if wire.ip is not None else None,
        "server": (host.split(":", 1)[0], port),
        "state": {},
    }
    finished = asyncio.Event()
    body_sent = False
    status: List[int] = []
    headers: List[Tuple[str, str]] = []
    chunks: List[bytes] = []

    async def receive() -> Dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": wire.body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[:] = [int(message["status"])]
            headers[:] = [
                (bytes(n).decode("latin-1"), bytes(v).decode("latin-1")) for n, v in message.get("headers", ())
            ]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(scope, receive, send)
    except Exception as e:  # the app's bug, reported as a 500 (the run goes on)
        finished.set()
        return _Answer(500, headers, b"".join(chunks), _error(e))
    finished.set()
    if not status:
        return _Answer(500, [], b"", "the app never started a response")
    return _Answer(status[0], headers, b"".join(chunks))


class _Host:
    """Calls the app in-process, one request at a time per call, many concurrently: WSGI on a
    thread pool, ASGI on the running loop. Numbers the answers."""

    def __init__(self, app: App, interface: str, origin: str, timeout_s: float, workers: int) -> None:
        if interface == "auto":
            interface = interface_of(app)
        if interface not in ("asgi", "wsgi"):
            raise KitError(f"interface must be 'auto', 'asgi' or 'wsgi', not {interface!r}")
        if not callable(app):
            raise KitError("app must be an ASGI or WSGI callable")
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise KitError(f"origin must be like 'https://app.example', not {origin!r}")
        self.app = app
        self.interface = interface
        self.origin = origin
        self.host = parts.netloc
        self.scheme = parts.scheme
        self.timeout_s = timeout_s
        self.workers = max(1, workers)
        self._pool: Optional[ThreadPoolExecutor] = None
        self._seq = 0
        self._lock = threading.Lock()
        self.t0 = time.monotonic()
        self.exchanges: List[Exchange] = []

    def clock(self) -> float:
        return time.monotonic() - self.t0

    def next_seq(self) -> int:
        with self._lock:
            seq = self._seq
            self._seq += 1
            return seq

    def record(self, e: Exchange) -> None:
        with self._lock:
            self.exchanges.append(e)

    async def call(self, wire: _Wire) -> Tuple[_Answer, int]:
        """The app's answer to ``wire`` and its sequence number (taken when it was answered)."""
        if self.interface == "asgi":
            try:
                answer = await asyncio.wait_for(_call_asgi(self.app, wire, self.host, self.scheme), self.timeout_s)
            except asyncio.TimeoutError:
                raise KitError(f"the app did not answer {wire.method} {wire.path} within {self.timeout_s}s") from None
            return answer, self.next_seq()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="rolltoken-testing")
        loop = asyncio.get_running_loop()

        def run() -> Tuple[_Answer, int]:
            answer = _call_wsgi(self.app, wire, self.host, self.scheme)
            return answer, self.next_seq()  # numbered on the thread that ran the app

        try:
            return await asyncio.wait_for(loop.run_in_executor(self._pool, run), self.timeout_s)
        except asyncio.TimeoutError:
            raise KitError(f"the app did not answer {wire.method} {wire.path} within {self.timeout_s}s") from None

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None


# ----------------------------------------------------------------------------------------------
# The browser.


def _request_headers(
    method: str,
    mode: str,
    site: str,
    origin: str,
    user_agent: str,
    fetch_metadata: bool,
    extra: Sequence[Tuple[str, str]],
) -> List[Tuple[str, str]]:
    if mode not in ("navigate", "cors", "no-cors", "same-origin"):
        raise KitError(f"mode must be navigate, cors, no-cors or same-origin, not {mode!r}")
    if site not in ("same-origin", "same-site", "cross-site", "none"):
        raise KitError(f"site must be same-origin, same-site, cross-site or none, not {site!r}")
    h: List[Tuple[str, str]] = [("User-Agent", user_agent)]
    if mode == "navigate":
        h.append(("Accept", _NAV_ACCEPT))
    elif mode == "no-cors":
        h.append(("Accept", "image/avif,image/webp,*/*"))
    else:
        h.append(("Accept", "application/json"))
    if fetch_metadata:
        dest = {"navigate": "document", "no-cors": "image"}.get(mode, "empty")
        h += [("Sec-Fetch-Mode", mode), ("Sec-Fetch-Site", site), ("Sec-Fetch-Dest", dest)]
        if mode == "navigate" and site != "cross-site":
            h.append(("Sec-Fetch-User", "?1"))
    sender = ATTACKER_ORIGIN if site in ("cross-site", "same-site") else origin
    if method.upper() not in ("GET", "HEAD") or (mode == "cors" and site != "same-origin"):
        h.append(("Origin", sender))
    if site == "cross-site":
        h.append(("Referer", ATTACKER_ORIGIN + "/"))
    names = {n.lower() for n, _ in extra}
    h = [(n, v) for n, v in h if n.lower() not in names]
    h += list(extra)
    return h


class _Agent:
    """A browser's identity and jar, as the scenario engine uses it (async)."""

    def __init__(
        self,
        host: _Host,
        jar: Jar,
        actor: str,
        user_agent: str,
        ip: Optional[str],
        fetch_metadata: bool = True,
    ) -> None:
        self.host = host
        self.jar = jar
        self.actor = actor
        self.user_agent = user_agent
        self.ip = ip
        self.fetch_metadata = fetch_metadata
        self.theft: Optional[List[bool]] = None  # shared flag: has the thief acted?

    async def exchange(
        self,
        step: Step,
        *,
        mode: str,
        site: str,
        tab: int = -1,
        cookie_header: Optional[str] = None,
        delay_s: float = 0.0,
        reply_delay_s: float = 0.0,
        drop: Optional[str] = None,
        retry: bool = False,
        login: bool = False,
    ) -> Exchange:
        """Sends ``step`` after ``delay_s``, delivers the answer ``reply_delay_s`` later; a
        ``drop`` of ``"response"`` or ``"set-cookie"`` keeps the answer (or its cookie) from
        the jar. The jar's ``SameSite`` model decides whether the cookie goes and whether the
        answer's cookie is stored. ``cookie_header`` replaces the ``Cookie`` header verbatim."""
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        headers = _request_headers(
            step.method, mode, site, self.host.origin, self.user_agent, self.fetch_metadata, step.headers
        )
        if cookie_header is not None:
            cookie: Optional[str] = cookie_header
        else:
            cookie = self.jar.header() if self.jar.sends(step.method, mode, site) else None
        if cookie is not None:
            headers.append(("Cookie", cookie))
        if self.actor == "thief" and self.theft is not None:
            self.theft[0] = True
        after_theft = bool(self.theft and self.theft[0])
        sent = self.host.clock()
        answer, seq = await self.host.call(_Wire(step.method.upper(), step.path, headers, step.body, self.ip))
        answered = self.host.clock()
        action, value, attribute = self.jar.effect(answer.headers)
        if reply_delay_s > 0:
            await asyncio.sleep(reply_delay_s)
        if action is not None and drop is None and not self.jar.stores(mode, site, attribute):
            drop = "samesite"  # the browser refuses a cross-site subresource's Lax cookie
        if drop is None:
            self.jar.apply(action, value, attribute)
        e = Exchange(
            seq=seq,
            actor=self.actor,
            tab=tab,
            method=step.method.upper(),
            path=step.path,
            mode=mode,
            site=site,
            status=answer.status,
            cookie_sent=cookie is not None,
            cookie=action,
            dropped=drop,
            after_theft=after_theft,
            retry=retry,
            rule=_json_field(answer, "rule", str),
            authenticated=_json_field(answer, "authenticated", bool),
            login=login,
            error=answer.error,
            sent_s=sent,
            answered_s=answered,
            headers=tuple(answer.headers),
            body=answer.body,
        )
        self.host.record(e)
        return e


def _json_field(answer: _Answer, name: str, kind: Type[_T]) -> Optional[_T]:
    """Field ``name`` of a small JSON object body when it is a ``kind``, else ``None``."""
    ctype = next((v for n, v in answer.headers if n.lower() == "content-type"), "")
    if "json" not in ctype or len(answer.body) > 16384:
        return None
    try:
        parsed = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = parsed.get(name) if isinstance(parsed, dict) else None
    return value if isinstance(value, kind) else None


def _run_sync(make: Callable[[], Awaitable[_T]]) -> _T:
    """Runs ``make()`` on a new event loop; on a helper thread when this thread already runs
    one (the ``arun_*`` functions avoid that)."""

    async def main() -> _T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(1) as ex:
        return ex.submit(asyncio.run, main()).result()


class Browser:
    """One browser driving ``app`` in-process, for scenarios of your own: its ``jar`` (the one
    session cookie ``cookie_name``), ``user_agent`` and client address ``ip``. Each method sends
    one request (or a concurrent fan-out) and returns its :class:`Exchange`; the jar follows
    the answers. Every exchange is also kept in ``exchanges`` (see :meth:`report`).

    ``interface`` is ``"auto"`` (an ``async`` callable is ASGI), ``"asgi"`` or ``"wsgi"``;
    ``origin`` gives the ``Host``/``Origin``/scheme; ``samesite`` the cookie model (see
    :class:`Jar`); ``timeout_s`` bounds each request."""

    def __init__(
        self,
        app: App,
        *,
        cookie_name: str = DEFAULT_COOKIE,
        user_agent: str = DEFAULT_USER_AGENT,
        ip: Optional[str] = DEFAULT_IP,
        origin: str = DEFAULT_ORIGIN,
        interface: str = "auto",
        fetch_metadata: bool = True,
        samesite: str = "auto",
        timeout_s: float = 10.0,
        _host: Optional[_Host] = None,
        _jar: Optional[Jar] = None,
        _actor: str = "user",
    ) -> None:
        self._host = _host if _host is not None else _Host(app, interface, origin, timeout_s, 32)
        self.jar = _jar if _jar is not None else Jar(cookie_name, samesite=samesite)
        self._agent = _Agent(self._host, self.jar, _actor, user_agent, ip, fetch_metadata)

    @property
    def exchanges(self) -> List[Exchange]:
        """Every exchange of this browser and its copies, in the order they were answered."""
        return sorted(self._host.exchanges, key=lambda e: e.seq)

    @property
    def cookie(self) -> Optional[str]:
        """The jar's value (a token: keep it out of logs)."""
        return self.jar.value

    def report(self) -> Report:
        """A :class:`Report` of every exchange so far."""
        return Report(self._host.exchanges, None, self._host.clock(), "custom")

    def send(
        self,
        step: Step,
        *,
        mode: str = "navigate",
        site: str = "same-origin",
        cookie_header: Optional[str] = None,
        drop: Optional[str] = None,
    ) -> Exchange:
        """Sends ``step`` with Fetch Metadata ``mode``/``site``; ``cookie_header`` replaces
        the ``Cookie`` header verbatim (duplicates, garbage); ``drop`` is ``"response"`` or
        ``"set-cookie"``."""
        return _run_sync(
            lambda: self._agent.exchange(step, mode=mode, site=site, cookie_header=cookie_header, drop=drop)
        )

    async def asend(
        self,
        step: Step,
        *,
        mode: str = "navigate",
        site: str = "same-origin",
        cookie_header: Optional[str] = None,
        drop: Optional[str] = None,
    ) -> Exchange:
        """:meth:`send` from inside a running event loop (an ASGI app whose store's
        connections belong to that loop); ``asyncio.gather`` several for a fan-out."""
        return await self._agent.exchange(step, mode=mode, site=site, cookie_header=cookie_header, drop=drop)

    def navigate(self, path: str = "/", *, site: str = "same-origin", drop: Optional[str] = None) -> Exchange:
        """A top-level page load (``Sec-Fetch-Mode: navigate``)."""
        return self.send(Step("GET", path), mode="navigate", site=site, drop=drop)

    def api(self, path: str, *, site: str = "same-origin", method: str = "GET") -> Exchange:
        """A script's ``fetch`` (``Sec-Fetch-Mode: cors``)."""
        return self.send(Step(method, path), mode="cors", site=site)

    def submit(self, step: Step, *, site: str = "same-origin") -> Exchange:
        """A form submission (a navigation; ``Origin`` set)."""
        return self.send(step, mode="navigate", site=site)

    def fanout(self, paths: Sequence[str], *, site: str = "same-origin") -> List[Exchange]:
        """``fetch`` of every path at once (threads for WSGI, ``asyncio.gather`` for ASGI), all
        with the cookie the jar holds now."""

        async def all_at_once() -> List[Exchange]:
            calls = [self._agent.exchange(Step("GET", p), mode="cors", site=site) for p in paths]
            return list(await asyncio.gather(*calls))

        return _run_sync(all_at_once)

    def copy(self, *, user_agent: str = THIEF_USER_AGENT, ip: Optional[str] = THIEF_IP) -> "Browser":
        """A thief's browser holding a copy of this jar's cookie now, from ``user_agent`` and
        ``ip`` (another client by default). It ignores clearing ``Set-Cookie``s; its exchanges
        have actor ``"thief"`` and share this browser's record."""
        jar = self.jar.copy()
        return Browser(self._host.app, user_agent=user_agent, ip=ip, _host=self._host, _jar=jar, _actor="thief")

    def close(self) -> None:
        """Stops the WSGI worker threads."""
        self._host.close()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Browser({self._host.interface}, {self.jar!r})"


# ----------------------------------------------------------------------------------------------
# Scenarios.


def _span(value: Seconds) -> Tuple[float, float]:
    if isinstance(value, tuple):
        lo, hi = float(value[0]), float(value[1])
    else:
        lo, hi = 0.0, float(value)
    if not 0 <= lo <= hi or hi > 60:
        raise KitError(f"a time span must be 0 <= low <= high <= 60 seconds, not {value!r}")
    return lo, hi


def _rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise KitError(f"{name} must be in 0..1, not {value!r}")
    return float(value)


class _Plan:
    """The parameters every scenario shares, checked."""

    def __init__(
        self,
        *,
        login: Sequence[Step],
        paths: Sequence[str],
        api: Sequence[str],
        tabs: int,
        fanout: int,
        drop_rate: float,
        drop_set_cookie_rate: float,
        retry: bool,
        jitter_s: float,
        think_s: Seconds,
        cross_site_rate: float,
        seed: Optional[int],
    ) -> None:
        if not 1 <= tabs <= 64:
            raise KitError(f"tabs must be in 1..64, not {tabs}")
        if not 0 <= fanout <= 256:
            raise KitError(f"fanout must be in 0..256, not {fanout}")
        if not paths:
            raise KitError("paths must name at least one page")
        if fanout and not api:
            raise KitError("a fan-out needs at least one api path")
        self.login = list(login)
        self.paths = list(paths)
        self.api = list(api)
        self.tabs = tabs
        self.fanout = fanout
        self.drop_rate = _rate("drop_rate", drop_rate)
        self.drop_set_cookie_rate = _rate("drop_set_cookie_rate", drop_set_cookie_rate)
        self.retry = retry
        self.jitter = _span(jitter_s)[1]
        self.think = _span(think_s)
        self.cross_site_rate = _rate("cross_site_rate", cross_site_rate)
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)

    def rng(self, stream: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + stream)


class _Engine:
    """Runs a scenario: the user's tabs (sharing one jar), an optional attacker page in the
    user's browser, an optional thief with a copy."""

    def __init__(
        self,
        app: App,
        plan: _Plan,
        *,
        cookie_name: str,
        samesite: str,
        user_agent: str,
        ip: Optional[str],
        origin: str,
        interface: str,
        fetch_metadata: bool,
        timeout_s: float,
    ) -> None:
        self.plan = plan
        workers = plan.tabs * (plan.fanout + 1) + 8
        self.host = _Host(app, interface, origin, timeout_s, workers)
        self.jar = Jar(cookie_name, samesite=samesite)
        self.user = _Agent(self.host, self.jar, "user", user_agent, ip, fetch_metadata)
        self.theft = [False]
        self.user.theft = self.theft
        self.page_no = 0

    def _drop(self, rng: random.Random) -> Optional[str]:
        r = rng.random()
        if r < self.plan.drop_rate:
            return "response"
        if r < self.plan.drop_rate + self.plan.drop_set_cookie_rate:
            return "set-cookie"
        return None

    async def _one(
        self, agent: _Agent, step: Step, rng: random.Random, *, mode: str, site: str, tab: int
    ) -> Exchange:
        """A request with its seeded delay and drop; a dropped response is retried once."""
        # Every draw happens before the first await, so the stream does not depend on which
        # concurrent request finishes first.
        drop = self._drop(rng)
        delay, reply = rng.uniform(0, self.plan.jitter), rng.uniform(0, self.plan.jitter)
        again = rng.uniform(0, self.plan.jitter)
        e = await agent.exchange(
            step, mode=mode, site=site, tab=tab, delay_s=delay, reply_delay_s=reply, drop=drop
        )
        if drop == "response" and self.plan.retry:
            # The browser (or the user, pressing reload) sends it again; no second drop.
            e = await agent.exchange(step, mode=mode, site=site, tab=tab, delay_s=again, retry=True)
        return e

    async def login(self) -> None:
        for step in self.plan.login:
            e = await self.user.exchange(step, mode="navigate", site="same-origin", tab=0, login=True)
            if e.status >= 400 or e.error:
                raise KitError(f"the login step {step.method} {step.path} was answered {e.status}: {e.describe()}")
        if self.jar.value is None:
            raise KitError("after the login steps the jar holds no cookie named " + repr(self.jar.name))

    async def page(self, agent: _Agent, rng: random.Random, tab: int, first: bool) -> None:
        """A navigation and its fan-out of parallel reads."""
        if rng.random() < self.plan.cross_site_rate:
            site = "cross-site"
        else:
            site = "none" if first else "same-origin"
        path = rng.choice(self.plan.paths)
        await self._one(agent, Step("GET", path), rng, mode="navigate", site=site, tab=tab)
        if self.plan.fanout:
            reads = [
                self._one(agent, Step("GET", rng.choice(self.plan.api)), rng, mode="cors", site="same-origin", tab=tab)
                for _ in range(self.plan.fanout)
            ]
            await asyncio.gather(*reads)

    async def think(self, rng: random.Random) -> None:
        lo, hi = self.plan.think
        if hi > 0:
            await asyncio.sleep(rng.uniform(lo, hi))

    async def browse(self, pages: int, stream: int) -> None:
        """The user's tabs load ``pages`` pages between them, at the same time."""

        async def tab(i: int, count: int) -> None:
            rng = self.plan.rng(stream * 100 + i)
            for k in range(count):
                await self.page(self.user, rng, i, first=(k == 0 and stream == 0))
                if k + 1 < count:
                    await self.think(rng)

        tabs = self.plan.tabs
        counts = [pages // tabs + (1 if i < pages % tabs else 0) for i in range(tabs)]
        await asyncio.gather(*(tab(i, c) for i, c in enumerate(counts) if c))

    def report(self, kind: str) -> Report:
        return Report(self.host.exchanges, self.plan.seed, self.host.clock(), kind)


async def _run(engine: _Engine, body: Callable[[], Awaitable[None]], kind: str) -> Report:
    try:
        await body()
    except BaseException:
        engine.host.close(wait=False)
        raise
    engine.host.close()
    return engine.report(kind)


def _engine(app: App, plan: _Plan, options: Mapping[str, Any]) -> _Engine:
    return _Engine(
        app,
        plan,
        cookie_name=options["cookie_name"],
        samesite=options["samesite"],
        user_agent=options["user_agent"],
        ip=options["ip"],
        origin=options["origin"],
        interface=options["interface"],
        fetch_metadata=options["fetch_metadata"],
        timeout_s=options["timeout_s"],
    )


async def arun_honest(
    app: App,
    *,
    login: Sequence[Step] = (),
    paths: Sequence[str] = ("/",),
    api: Sequence[str] = ("/api/me",),
    tabs: int = 3,
    fanout: int = 6,
    pages: int = 30,
    drop_rate: float = 0.0,
    drop_set_cookie_rate: float = 0.0,
    retry: bool = True,
    jitter_s: float = 0.0,
    think_s: Seconds = 0.0,
    cross_site_rate: float = 0.0,
    seed: Optional[int] = None,
    samesite: str = "auto",
    cookie_name: str = DEFAULT_COOKIE,
    user_agent: str = DEFAULT_USER_AGENT,
    ip: Optional[str] = DEFAULT_IP,
    origin: str = DEFAULT_ORIGIN,
    interface: str = "auto",
    fetch_metadata: bool = True,
    timeout_s: float = 10.0,
) -> Report:
    """:func:`run_honest` from inside a running event loop."""
    plan = _Plan(
        login=login, paths=paths, api=api, tabs=tabs, fanout=fanout, drop_rate=drop_rate,
        drop_set_cookie_rate=drop_set_cookie_rate, retry=retry, jitter_s=jitter_s, think_s=think_s,
        cross_site_rate=cross_site_rate, seed=seed,
    )
    if not 1 <= pages <= 100_000:
        raise KitError(f"pages must be in 1..100000, not {pages}")
    engine = _engine(app, plan, locals())

    async def body() -> None:
        if plan.login:
            await engine.login()
        await engine.browse(pages, 0)

    return await _run(engine, body, "honest")


def run_honest(
    app: App,
    *,
    login: Sequence[Step] = (),
    paths: Sequence[str] = ("/",),
    api: Sequence[str] = ("/api/me",),
    tabs: int = 3,
    fanout: int = 6,
    pages: int = 30,
    drop_rate: float = 0.0,
    drop_set_cookie_rate: float = 0.0,
    retry: bool = True,
    jitter_s: float = 0.0,
    think_s: Seconds = 0.0,
    cross_site_rate: float = 0.0,
    seed: Optional[int] = None,
    samesite: str = "auto",
    cookie_name: str = DEFAULT_COOKIE,
    user_agent: str = DEFAULT_USER_AGENT,
    ip: Optional[str] = DEFAULT_IP,
    origin: str = DEFAULT_ORIGIN,
    interface: str = "auto",
    fetch_metadata: bool = True,
    timeout_s: float = 10.0,
) -> Report:
    """An honest user: the ``login`` steps, then ``pages`` navigations (to pages drawn from
    ``paths``) shared among ``tabs`` tabs that browse at the same time with one jar, each
    navigation followed by ``fanout`` parallel reads (drawn from ``api``). ``drop_rate`` of the
    responses are lost (retried once when ``retry``), ``drop_set_cookie_rate`` arrive without
    their ``Set-Cookie``; ``jitter_s`` delays requests and responses (reordering them);
    ``think_s`` pauses between a tab's pages; ``cross_site_rate`` of the navigations come from
    another site's link (whether the cookie goes with it is ``samesite``'s call: see
    :class:`Jar`). ``fetch_metadata=False`` models a browser without ``Sec-Fetch-*``.
    Nobody steals anything, so every logout is a false one: ``report.false_logouts == 0`` is
    the target. ``seed`` makes the choices reproducible (``report.seed`` tells a random one)."""
    kwargs = dict(locals())
    return _run_sync(lambda: arun_honest(**kwargs))


async def arun_theft(
    app: App,
    *,
    login: Sequence[Step] = (),
    mode: str = "once",
    uses: int = 3,
    copy_at: Optional[int] = None,
    grace_s: float = 10.0,
    thief_user_agent: str = THIEF_USER_AGENT,
    thief_ip: Optional[str] = THIEF_IP,
    thief_fanout: int = 0,
    paths: Sequence[str] = ("/",),
    api: Sequence[str] = ("/api/me",),
    tabs: int = 2,
    fanout: int = 3,
    pages: int = 8,
    drop_rate: float = 0.0,
    drop_set_cookie_rate: float = 0.0,
    retry: bool = True,
    jitter_s: float = 0.0,
    think_s: Seconds = 0.0,
    seed: Optional[int] = None,
    samesite: str = "auto",
    cookie_name: str = DEFAULT_COOKIE,
    user_agent: str = DEFAULT_USER_AGENT,
    ip: Optional[str] = DEFAULT_IP,
    origin: str = DEFAULT_ORIGIN,
    interface: str = "auto",
    fetch_metadata: bool = True,
    timeout_s: float = 10.0,
) -> Report:
    """:func:`run_theft` from inside a running event loop."""
    if mode not in ("once", "repeat", "at_once"):
        raise KitError(f"mode must be 'once', 'repeat' or 'at_once', not {mode!r}")
    if not 2 <= pages <= 10_000:
        raise KitError(f"pages must be in 2..10000, not {pages}")
    if not 1 <= uses <= 100:
        raise KitError(f"uses must be in 1..100, not {uses}")
    if not 0 <= grace_s <= 120:
        raise KitError(f"grace_s must be in 0..120, not {grace_s}")
    if not login:
        raise KitError("a theft needs a session worth stealing: pass the login steps")
    plan = _Plan(
        login=login, paths=paths, api=api, tabs=tabs, fanout=fanout, drop_rate=drop_rate,
        drop_set_cookie_rate=drop_set_cookie_rate, retry=retry, jitter_s=jitter_s, think_s=think_s,
        cross_site_rate=0.0, seed=seed,
    )
    engine = _engine(app, plan, locals())
    choose = plan.rng(777)
    before = copy_at if copy_at is not None else choose.randint(1, pages - 1)
    if not 0 <= before < pages:
        raise KitError(f"copy_at must be in 0..pages-1, not {copy_at}")
    rest = pages - before
    wait_s = grace_s + max(0.05, grace_s * 0.25)

    async def window() -> None:
        await asyncio.sleep(wait_s)

    async def body() -> None:
        await engine.login()
        await engine.browse(before, 1)
        thief = _Agent(
            engine.host,
            engine.jar.copy(),
            "thief",
            thief_user_agent,
            thief_ip,
            fetch_metadata,
        )
        thief.theft = engine.theft
        trng = plan.rng(555)

        async def steal() -> None:
            path = trng.choice(plan.paths)
            await thief.exchange(Step("GET", path), mode="navigate", site="none")
            reads = [
                thief.exchange(Step("GET", trng.choice(plan.api)), mode="cors", site="same-origin")
                for _ in range(thief_fanout)
            ]
            await asyncio.gather(*reads)

        if mode == "at_once":
            await steal()
            await window()
            await engine.browse(rest, 2)
        elif mode == "once":
            first = rest // 2
            await engine.browse(first, 2)
            await window()
            await steal()
            await window()
            await engine.browse(rest - first, 3)
        else:
            chunks = [rest // uses + (1 if i < rest % uses else 0) for i in range(uses)]
            for i, chunk in enumerate(chunks):
                await window()
                await steal()
                if chunk:
                    await window()
                    await engine.browse(chunk, 10 + i)

    return await _run(engine, body, f"theft ({mode})")


def run_theft(
    app: App,
    *,
    login: Sequence[Step] = (),
    mode: str = "once",
    uses: int = 3,
    copy_at: Optional[int] = None,
    grace_s: float = 10.0,
    thief_user_agent: str = THIEF_USER_AGENT,
    thief_ip: Optional[str] = THIEF_IP,
    thief_fanout: int = 0,
    paths: Sequence[str] = ("/",),
    api: Sequence[str] = ("/api/me",),
    tabs: int = 2,
    fanout: int = 3,
    pages: int = 8,
    drop_rate: float = 0.0,
    drop_set_cookie_rate: float = 0.0,
    retry: bool = True,
    jitter_s: float = 0.0,
    think_s: Seconds = 0.0,
    seed: Optional[int] = None,
    samesite: str = "auto",
    cookie_name: str = DEFAULT_COOKIE,
    user_agent: str = DEFAULT_USER_AGENT,
    ip: Optional[str] = DEFAULT_IP,
    origin: str = DEFAULT_ORIGIN,
    interface: str = "auto",
    fetch_metadata: bool = True,
    timeout_s: float = 10.0,
) -> Report:
    """A user who logs in and browses ``pages`` pages (tabs, fan-out, drops as in
    :func:`run_honest`), and a thief who copies the jar after ``copy_at`` of them (seeded
    random when ``None``) and uses the copy from ``thief_user_agent``/``thief_ip`` (a page load,
    then ``thief_fanout`` reads):

    * ``"once"``: the user browses on, then the thief uses the copy once, then the user
      browses on (both keep using the session);
    * ``"repeat"``: the thief uses it ``uses`` times, the user browsing between uses;
    * ``"at_once"``: the thief uses it right after the copy (inside the user's grace window:
      it wins the race), then the user browses on.

    Whenever the other party takes its turn the kit first waits ``grace_s`` plus a margin (the
    app's grace window, which must close for a copy to be told apart: build the app under test
    with a short one). ``report.detected`` tells whether the session then ended;
    ``report.assert_detected()`` also checks that no honest request was logged out before the
    theft and that the thief was served nothing after detection."""
    kwargs = dict(locals())
    return _run_sync(lambda: arun_theft(**kwargs))


async def arun_forced_logout(
    app: App,
    *,
    login: Sequence[Step] = (),
    targets: Sequence[str] = (),
    navigations: int = 20,
    floods: int = 6,
    flood_size: int = 24,
    post_rate: float = 0.2,
    samesite: str = "auto",
    attacker_site: str = "cross-site",
    paths: Sequence[str] = ("/",),
    api: Sequence[str] = ("/api/me",),
    tabs: int = 2,
    fanout: int = 6,
    pages: int = 20,
    drop_rate: float = 0.0,
    drop_set_cookie_rate: float = 0.0,
    retry: bool = True,
    jitter_s: float = 0.0,
    think_s: Seconds = (0.0, 0.02),
    seed: Optional[int] = None,
    cookie_name: str = DEFAULT_COOKIE,
    user_agent: str = DEFAULT_USER_AGENT,
    ip: Optional[str] = DEFAULT_IP,
    origin: str = DEFAULT_ORIGIN,
    interface: str = "auto",
    fetch_metadata: bool = True,
    timeout_s: float = 10.0,
) -> Report:
    """:func:`run_forced_logout` from inside a running event loop."""
    if attacker_site not in ("cross-site", "same-site"):
        raise KitError(f"attacker_site must be 'cross-site' or 'same-site', not {attacker_site!r}")
    _rate("post_rate", post_rate)
    if not 0 <= navigations <= 10_000 or not 0 <= floods <= 1_000 or not 0 <= flood_size <= 512:
        raise KitError("navigations, floods and flood_size must be small non-negative numbers")
    if not 1 <= pages <= 100_000:
        raise KitError(f"pages must be in 1..100000, not {pages}")
    plan = _Plan(
        login=login, paths=paths, api=api, tabs=tabs, fanout=fanout, drop_rate=drop_rate,
        drop_set_cookie_rate=drop_set_cookie_rate, retry=retry, jitter_s=jitter_s, think_s=think_s,
        cross_site_rate=0.0, seed=seed,
    )
    engine = _engine(app, plan, locals())
    aims = list(targets) or list(plan.paths) + list(plan.api)
    attacker = _Agent(engine.host, engine.jar, "attacker", user_agent, ip, fetch_metadata)
    attacker.theft = engine.theft
    arng = plan.rng(4242)

    async def attack() -> None:
        # Interleaves top-level navigations and floods while the user browses (bounded).
        kinds = ["nav"] * navigations + ["flood"] * floods
        arng.shuffle(kinds)
        for kind in kinds:
            if kind == "nav":
                # A link, window.open or location= from the attacker's page (a top-level GET,
                # which a SameSite=Lax cookie goes with), or an auto-submitted form (a top-level
                # POST, which it does not go with).
                method = "POST" if arng.random() < post_rate else "GET"
                body = b"x=1" if method == "POST" else b""
                extra = (("Content-Type", "application/x-www-form-urlencoded"),) if body else ()
                await attacker.exchange(
                    Step(method, arng.choice(aims), body, extra), mode="navigate", site=attacker_site
                )
            else:
                calls = []
                for _ in range(flood_size):
                    method = arng.choice(["GET", "GET", "POST"])
                    req_mode = arng.choice(["no-cors", "cors"])
                    body = b"x=1" if method == "POST" else b""
                    extra = (("Content-Type", "text/plain"),) if body else ()
                    calls.append(
                        attacker.exchange(
                            Step(method, arng.choice(aims), body, extra), mode=req_mode, site=attacker_site
                        )
                    )
                await asyncio.gather(*calls)
            await asyncio.sleep(arng.uniform(0, 0.01))

    async def body() -> None:
        if plan.login:
            await engine.login()
        await asyncio.gather(engine.browse(pages, 0), attack())
        # The user keeps working afterwards: one more page with its fan-out.
        await engine.page(engine.user, plan.rng(31337), 0, first=False)

    return await _run(engine, body, "forced logout")


def run_forced_logout(
    app: App,
    *,
    login: Sequence[Step] = (),
    targets: Sequence[str] = (),
    navigations: int = 20,
    floods: int = 6,
    flood_size: int = 24,
    post_rate: float = 0.2,
    samesite: str = "auto",
    attacker_site: str = "cross-site",
    paths: Sequence[str] = ("/",),
    api: Sequence[str] = ("/api/me",),
    tabs: int = 2,
    fanout: int = 6,
    pages: int = 20,
    drop_rate: float = 0.0,
    drop_set_cookie_rate: float = 0.0,
    retry: bool = True,
    jitter_s: float = 0.0,
    think_s: Seconds = (0.0, 0.02),
    seed: Optional[int] = None,
    cookie_name: str = DEFAULT_COOKIE,
    user_agent: str = DEFAULT_USER_AGENT,
    ip: Optional[str] = DEFAULT_IP,
    origin: str = DEFAULT_ORIGIN,
    interface: str = "auto",
    fetch_metadata: bool = True,
    timeout_s: float = 10.0,
) -> Report:
    """An honest user browsing (as in :func:`run_honest`) while an attacker page open in the
    same browser drives ``navigations`` top-level navigations from another site and ``floods``
    bursts of ``flood_size`` parallel cross-site requests (``GET`` and ``POST``, ``cors`` and
    ``no-cors``) at ``targets`` (default: ``paths`` and ``api``); ``post_rate`` of the
    navigations are auto-submitted form ``POST``s. They run in the user's browser, with its jar:
    the cookie goes where a browser would send it and their answers' cookies are stored where a
    browser would store them. ``samesite="auto"`` follows the cookie's own attribute
    (rolltoken's is ``Lax``: sent on cross-site top-level ``GET`` navigations only, so a
    cross-site form ``POST`` arrives without it, and the default); ``"none"`` sends it with every
    request (the worst case for the rolling logic). ``attacker_site="same-site"`` models a
    hostile sibling subdomain instead (its navigations advance). A forced logout shows as
    ``report.false_logouts > 0``: a ``401``, a cleared cookie, or, when ``api`` answers JSON
    with ``"authenticated"``, a user silently logged out by an overwritten cookie."""
    kwargs = dict(locals())
    return _run_sync(lambda: arun_forced_logout(**kwargs))
