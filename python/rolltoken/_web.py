"""What the ASGI and WSGI middleware share: framework-free, and deciding nothing.

Every decision (advance or read, proceed or refuse, clear the cookie or keep it) is the core's:
:func:`rolltoken.request_kind` and :meth:`rolltoken.Sessions.handle`. This module only turns
request headers into their arguments and the core's :class:`rolltoken.Outcome` into an HTTP
answer, and holds the per-request context the application sees.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import inspect
from typing import Any, Awaitable, Callable, List, Optional, Protocol, Tuple, TypeVar, Union

from ._rolltoken import (
    CookieConfig,
    Kind,
    Outcome,
    Rule,
    SessionView,
    clear_cookie,
    find_cookie,
    request_kind,
    set_cookie,
)
from .errors import CookieError

__all__ = [
    "AnySessions",
    "AsyncSessionsLike",
    "KindFor",
    "RequestContext",
    "SessionsLike",
]

logger = logging.getLogger("rolltoken")

T = TypeVar("T")

#: A route override: called with the request's method and path, it returns the ``Kind`` to use
#: or ``None`` to keep the core's classification from Fetch Metadata.
KindFor = Callable[[str, str], Optional[Kind]]

#: Response headers as (name, value) text pairs.
Headers = List[Tuple[str, str]]


class SessionsLike(Protocol):
    """What the middleware needs of a session façade: :class:`rolltoken.Sessions` has it.
    Under ASGI, :class:`rolltoken.AsyncSessions` (the same methods as coroutines) serves
    too, and is what a networked store needs there."""

    def handle(
        self,
        cookie: str | bytes | None,
        kind: Kind | str,
        *,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> Outcome: ...

    def login(
        self,
        subject: bytes | int,
        *,
        current_cookie: str | bytes | None = None,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> Outcome: ...

    def logout(self, cookie: str | bytes, *, now_ms: int | None = None) -> str | None: ...


class AsyncSessionsLike(Protocol):
    """:class:`SessionsLike` with coroutines: :class:`rolltoken.AsyncSessions` has it."""

    async def handle(
        self,
        cookie: str | bytes | None,
        kind: Kind | str,
        *,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> Outcome: ...

    async def login(
        self,
        subject: bytes | int,
        *,
        current_cookie: str | bytes | None = None,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> Outcome: ...

    async def logout(self, cookie: str | bytes, *, now_ms: int | None = None) -> str | None: ...


AnySessions = Union[SessionsLike, AsyncSessionsLike]


def _no_coroutine(value: Union[T, Awaitable[T]], instead: str) -> T:
    """``value``; a coroutine (from :class:`rolltoken.AsyncSessions`) is a ``TypeError``."""
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited: no "coroutine was never awaited" warning
        raise TypeError(f"these sessions are asyncio ones: use `await ctx.{instead}(...)`")
    return value


async def _settle(value: Union[T, Awaitable[T]]) -> T:
    """``value``, awaited when a coroutine façade returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


def check_sessions(sessions: object) -> AnySessions:
    """``sessions`` if it has ``handle``, ``login`` and ``logout``, else ``TypeError``."""
    for name in ("handle", "login", "logout"):
        if not callable(getattr(sessions, name, None)):
            raise TypeError(
                f"sessions must be a rolltoken.Sessions (or have .{name}()), "
                f"not {type(sessions).__name__}"
            )
    return sessions  # type: ignore[return-value]


def check_cookie(cookie: object) -> CookieConfig:
    """``cookie`` (``None`` = the strict defaults) if it is a ``CookieConfig``, else ``TypeError``."""
    if cookie is None:
        return CookieConfig()
    if not isinstance(cookie, CookieConfig):
        raise TypeError(f"cookie must be a rolltoken.CookieConfig, not {type(cookie).__name__}")
    return cookie


def check_kind_for(kind_for: object) -> KindFor | None:
    """``kind_for`` if ``None`` or callable, else ``TypeError``."""
    if kind_for is not None and not callable(kind_for):
        raise TypeError("kind_for must be a callable (method, path) -> Kind | None")
    return kind_for


def client_ip(peer: str | None, forwarded_for: bytes | None, trust_forwarded: bool) -> str | None:
    """The client address to bind the session to, as text, or ``None`` when unknown.

    ``peer`` is the connection's address. With ``trust_forwarded`` (exactly one trusted proxy in
    front), the *last* ``X-Forwarded-For`` entry, the one that proxy added, is used instead:
    earlier entries are whatever the client chose to send.
    """
    if trust_forwarded and forwarded_for:
        last = forwarded_for.split(b",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last.decode("ascii")))
        except (UnicodeDecodeError, ValueError):
            pass
    if not peer:
        return None
    try:
        return str(ipaddress.ip_address(peer.split("%", 1)[0]))  # no IPv6 zone id
    except ValueError:  # a Unix socket path, a host name: not an address
        return None


class RequestHeaders:
    """The request headers the middleware reads, as raw bytes (``None`` when absent)."""

    __slots__ = (
        "method",
        "path",
        "cookie",
        "user_agent",
        "sec_fetch_mode",
        "sec_fetch_site",
        "sec_purpose",
        "purpose",
        "accept",
        "forwarded_for",
    )

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path
        self.cookie: bytes | None = None
        self.user_agent: bytes | None = None
        self.sec_fetch_mode: bytes | None = None
        self.sec_fetch_site: bytes | None = None
        self.sec_purpose: bytes | None = None
        self.purpose: bytes | None = None
        self.accept: bytes | None = None
        self.forwarded_for: bytes | None = None

    def add(self, name: bytes, value: bytes) -> None:
        """Records one header line; ``name`` is lower-case. Repeated ``Cookie`` lines join
        with ``; `` (HTTP/2 sends one per cookie); other repeats keep the first."""
        if name == b"cookie":
            self.cookie = value if self.cookie is None else self.cookie + b"; " + value
            return
        attr = _HEADER_ATTRS.get(name)
        if attr is not None and getattr(self, attr) is None:
            setattr(self, attr, value)

    def kind(self, kind_for: KindFor | None) -> Kind:
        """The route override's kind, else the core's classification (Fetch Metadata first)."""
        if kind_for is not None:
            chosen = kind_for(self.method, self.path)
            if chosen is not None:
                return Kind(chosen)
        return request_kind(
            self.method,
            sec_fetch_mode=self.sec_fetch_mode,
            sec_fetch_site=self.sec_fetch_site,
            sec_purpose=self.sec_purpose,
            purpose=self.purpose,
            accept=self.accept,
        )

    def cross_site(self) -> bool:
        """``Sec-Fetch-Site: cross-site``: another site caused this request."""
        return self.sec_fetch_site is not None and self.sec_fetch_site.strip().lower() == b"cross-site"

    def wants_html(self, kind: Kind) -> bool:
        """Whether a refusal is shown to a person (an HTML page) rather than to a script (a
        problem+json body): an advancing request, any navigation, or an ``Accept`` that leads
        with ``text/html`` (asked of the core: a ``GET`` with that ``Accept`` advances)."""
        if kind is Kind.ADVANCE:
            return True
        if self.sec_fetch_mode is not None and self.sec_fetch_mode.strip().lower() == b"navigate":
            return True
        if self.accept is None:
            return False
        return request_kind("GET", accept=self.accept) is Kind.ADVANCE


_HEADER_ATTRS = {
    b"user-agent": "user_agent",
    b"sec-fetch-mode": "sec_fetch_mode",
    b"sec-fetch-site": "sec_fetch_site",
    b"sec-purpose": "sec_purpose",
    b"purpose": "purpose",
    b"accept": "accept",
    b"x-forwarded-for": "forwarded_for",
}


class Answer:
    """A response the middleware writes itself (a refusal): status, headers, body."""

    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class RequestContext:
    """What the application sees of the session, at ``scope["rolltoken"]`` (ASGI) or
    ``environ["rolltoken.session"]`` (WSGI).

    ``outcome`` is the core's answer for this request (for a request the core let through
    without a session, rule ``no_session``, ``view`` is ``None``). Call :meth:`login` after
    checking the user's credentials, and :meth:`logout`; each decides the one ``Set-Cookie``
    the response carries (the last call wins), and must come before the response starts.
    """

    __slots__ = (
        "_sessions",
        "_config",
        "_cookie",
        "_user_agent",
        "_ip",
        "_action",
        "_started",
        "_outcome",
        "_view",
        "_hand_out",
    )

    def __init__(
        self,
        sessions: AnySessions,
        config: CookieConfig,
        cookie: str | None,
        user_agent: bytes | None,
        ip: str | None,
        outcome: Outcome,
        hand_out: bool = True,
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._cookie = cookie
        self._user_agent = user_agent
        self._ip = ip
        self._action: str | None = None
        self._started = False
        self._outcome = outcome
        self._view = outcome.view
        self._hand_out = hand_out

    @property
    def outcome(self) -> Outcome:
        """The core's answer for this request (after :meth:`login`, the login's)."""
        return self._outcome

    @property
    def view(self) -> SessionView | None:
        """The session, or ``None`` (no session, or after :meth:`logout`)."""
        return self._view

    @property
    def authenticated(self) -> bool:
        """True when the session belongs to a logged-in subject."""
        return self.view is not None and self.view.authenticated

    @property
    def log_id(self) -> str | None:
        """The session's log id (safe to log and show), or ``None`` without a session."""
        return self.view.log_id if self.view is not None else None

    def login(self, subject: bytes | int) -> Outcome:
        """Starts an authenticated session for ``subject`` (16 bytes or an int user id) with a
        new session id (the old one, anonymous or not, is retired: no fixation); the response
        sets its cookie. Raises what :meth:`rolltoken.Sessions.login` raises; a
        :class:`rolltoken.StoreUnavailable` the app lets through is answered 503. Over
        :class:`rolltoken.AsyncSessions`, use ``await`` :meth:`alogin`."""
        self._check_not_started()
        return self._logged_in(_no_coroutine(self._sessions.login(**self._login_args(subject)), "alogin"))

    async def alogin(self, subject: bytes | int) -> Outcome:
        """:meth:`login` for ASGI apps (either façade)."""
        self._check_not_started()
        return self._logged_in(await _settle(self._sessions.login(**self._login_args(subject))))

    def logout(self) -> str | None:
        """Ends the session for every holder of its cookie; the response clears the cookie.
        Returns the ended session's log id, or ``None`` when there was none. Raises what
        :meth:`rolltoken.Sessions.logout` raises (the cookie is then left as it was). Over
        :class:`rolltoken.AsyncSessions`, use ``await`` :meth:`alogout`."""
        self._check_not_started()
        ended = _no_coroutine(self._sessions.logout(self._cookie), "alogout") if self._cookie else None
        return self._logged_out(ended)

    async def alogout(self) -> str | None:
        """:meth:`logout` for ASGI apps (either façade)."""
        self._check_not_started()
        ended = await _settle(self._sessions.logout(self._cookie)) if self._cookie else None
        return self._logged_out(ended)

    def _login_args(self, subject: bytes | int) -> dict[str, Any]:
        return {
            "subject": subject,
            "current_cookie": self._cookie or None,
            "user_agent": self._user_agent,
            "ip": self._ip,
        }

    def _logged_in(self, outcome: Outcome) -> Outcome:
        view = outcome.view
        if outcome.token is None or view is None:  # the binding promises both
            raise RuntimeError("login answered without a token")
        self._action = set_cookie(self._config, outcome.token, view.max_age_secs)
        self._cookie = outcome.token  # a logout later in this request ends the new session
        self._outcome = outcome
        self._view = view
        return outcome

    def _logged_out(self, ended: str | None) -> str | None:
        self._action = clear_cookie(self._config)
        self._view = None
        return ended

    def _check_not_started(self) -> None:
        if self._started:
            raise RuntimeError("the response has started: its Set-Cookie is already sent")

    def _response_cookie(self) -> str | None:
        """The one ``Set-Cookie`` value for the response (login, logout, else the rolled or
        new token), or ``None``; marks the response as started."""
        self._started = True
        if self._action is not None:
            return self._action
        if not self._hand_out:
            return None
        token, view = self._outcome.token, self._outcome.view
        if token is None or view is None:
            return None
        return set_cookie(self._config, token, view.max_age_secs)


class Prepared:
    """One request, decided: either an :class:`Answer` to send instead of calling the app, or
    the :class:`RequestContext` to hand to it."""

    __slots__ = ("answer", "context")

    def __init__(self, answer: Answer | None, context: RequestContext | None) -> None:
        self.answer = answer
        self.context = context


class Middleware:
    """The middleware's request logic, shared by the ASGI and WSGI skins."""

    __slots__ = ("sessions", "config", "kind_for", "explain_url", "trust_forwarded")

    def __init__(
        self,
        sessions: object,
        cookie: object,
        kind_for: object,
        explain_url: str,
        trust_forwarded: bool,
    ) -> None:
        if not isinstance(explain_url, str):
            raise TypeError("explain_url must be a str")
        self.sessions = check_sessions(sessions)
        self.config = check_cookie(cookie)
        self.kind_for = check_kind_for(kind_for)
        self.explain_url = explain_url
        self.trust_forwarded = bool(trust_forwarded)

    def prepare(self, req: RequestHeaders, peer: str | None) -> Prepared:
        """Reads the cookie, classifies the request and asks the core (blocking façade)."""
        asked = self._ask(req, peer)
        if isinstance(asked, Prepared):
            return asked
        cookie, kind, ip = asked
        handled = self.sessions.handle(cookie, kind, user_agent=req.user_agent, ip=ip)
        return self._decided(req, asked, _no_coroutine(handled, "handle"))

    async def prepare_async(self, req: RequestHeaders, peer: str | None) -> Prepared:
        """:meth:`prepare` for ASGI: an :class:`rolltoken.AsyncSessions` is awaited (its
        store calls never block the loop); a blocking :class:`rolltoken.Sessions` is called
        on the loop, which suits its in-memory store only."""
        asked = self._ask(req, peer)
        if isinstance(asked, Prepared):
            return asked
        cookie, kind, ip = asked
        handled = self.sessions.handle(cookie, kind, user_agent=req.user_agent, ip=ip)
        return self._decided(req, asked, await _settle(handled))

    def _ask(self, req: RequestHeaders, peer: str | None) -> Prepared | Tuple[str | None, Kind, str | None]:
        """The core's arguments (cookie, kind, address), or a 400 for an unreadable header."""
        try:
            cookie = find_cookie(req.cookie, self.config) if req.cookie is not None else None
        except CookieError as e:
            # Unreadable (duplicate, oversized, control characters): refuse, but leave the
            # browser's cookie alone; a duplicate may be a sibling domain's cookie tossing.
            logger.warning("rolltoken: bad Cookie header refused (reason=%s)", e.reason)
            return Prepared(bad_request(e.reason), None)
        kind = req.kind(self.kind_for)
        ip = client_ip(peer, req.forwarded_for, self.trust_forwarded)
        return cookie, kind, ip

    def _decided(
        self, req: RequestHeaders, asked: Tuple[str | None, Kind, str | None], outcome: Outcome
    ) -> Prepared:
        cookie, kind, ip = asked
        if outcome.proceed or outcome.rule is Rule.NO_SESSION:
            # A request another site caused may arrive without the session cookie although the
            # browser holds one (SameSite withholds it from cross-site POSTs, Strict from every
            # cross-site navigation): a new anonymous cookie in its answer would overwrite the
            # user's session, a forced logout. Such a request runs anonymous, handing out none.
            hand_out = not (outcome.rule is Rule.NEW_ANONYMOUS and req.cross_site())
            ctx = RequestContext(self.sessions, self.config, cookie, req.user_agent, ip, outcome, hand_out)
            return Prepared(None, ctx)
        logger.warning(
            "rolltoken: request refused (rule=%s, log_id=%s, kind=%s)",
            outcome.rule.value,
            outcome.log_id or "-",
            kind.value,
            # Structured for handlers (the demo's security page): no parsing of the message.
            extra={
                "rolltoken_rule": outcome.rule.value,
                "rolltoken_detail": outcome.detail,
                "rolltoken_log_id": outcome.log_id,
                "rolltoken_kind": kind.value,
            },
        )
        return Prepared(self.refusal(outcome, req.wants_html(kind)), None)

    def refusal(self, outcome: Outcome, html_page: bool) -> Answer:
        """The answer to a refused request, from the core's rule and ``clear_cookie``."""
        rule = outcome.rule
        if outcome.clear_cookie:
            status, reason = 401, "Unauthorized"
        else:
            status, reason = _KEEP_COOKIE.get(rule, (403, "Forbidden"))
        headers: Headers = [("Cache-Control", "no-store")]
        if status in (429, 503):
            headers.append(("Retry-After", "1"))
        if outcome.clear_cookie:
            headers.append(("Set-Cookie", clear_cookie(self.config)))
        # The second party after a reuse (thief or user) gets the same explanation as the first.
        ended_by_reuse = rule is Rule.REVOKED and outcome.detail == "reuse"
        title, detail = _TEXTS.get(Rule.REUSE if ended_by_reuse else rule, _GENERIC)
        if html_page:
            body = _page(title, detail, self.explain_url, outcome.clear_cookie)
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        else:
            problem = {
                "type": f"{self.explain_url}#{rule.value}",
                "title": title,
                "status": status,
                "detail": detail,
                "rule": rule.value,
                "log_id": outcome.log_id,
            }
            body = json.dumps(problem).encode()
            headers.append(("Content-Type", "application/problem+json"))
        headers.append(("Content-Length", str(len(body))))
        return Answer(status, reason, headers, body)

    def store_down(self) -> Answer:
        """503 for a store failure that reached the middleware (e.g. in ``login``)."""
        logger.warning("rolltoken: session store unavailable (rule=store_unavailable)")
        body = json.dumps(
            {"title": _TEXTS[Rule.STORE_UNAVAILABLE][0], "status": 503, "rule": "store_unavailable"}
        ).encode()
        headers: Headers = [
            ("Cache-Control", "no-store"),
            ("Retry-After", "1"),
            ("Content-Type", "application/problem+json"),
            ("Content-Length", str(len(body))),
        ]
        return Answer(503, "Service Unavailable", headers, body)


def bad_request(reason: str) -> Answer:
    """400 for a ``Cookie`` header that cannot be read; the cookie is not cleared."""
    body = json.dumps(
        {"title": "Bad Cookie header", "status": 400, "detail": reason}
    ).encode()
    headers: Headers = [
        ("Cache-Control", "no-store"),
        ("Content-Type", "application/problem+json"),
        ("Content-Length", str(len(body))),
    ]
    return Answer(400, "Bad Request", headers, body)


# Refusals that keep the cookie: retry later, or this client may not use it.
_KEEP_COOKIE = {
    Rule.GRACE_EXHAUSTED: (429, "Too Many Requests"),
    Rule.BUSY: (503, "Service Unavailable"),
    Rule.STORE_UNAVAILABLE: (503, "Service Unavailable"),
    Rule.BINDING_MISMATCH: (403, "Forbidden"),
    Rule.NO_SESSION: (401, "Unauthorized"),
}

_GENERIC = ("Your session has ended", "Please log in again.")

_TEXTS = {
    Rule.REUSE: (
        "Your session was used from two places",
        "This session's cookie was used by two different clients, so it may have been "
        "copied. The session has been ended everywhere to protect your account. Please log "
        "in again, and review your account's sessions and security events.",
    ),
    Rule.REVOKED: ("Your session has ended", "This session was ended. Please log in again."),
    Rule.EXPIRED: ("Your session has expired", "Please log in again."),
    Rule.FORGED: ("Your session cookie is not valid", "Please log in again."),
    Rule.MALFORMED: ("Your session cookie is not valid", "Please log in again."),
    Rule.UNKNOWN_SESSION: ("Your session has ended", "Please log in again."),
    Rule.GRACE_EXHAUSTED: (
        "Too many requests",
        "Too many requests raced on this session. Please try again in a moment.",
    ),
    Rule.BUSY: ("Please try again", "The session is busy. Please try again in a moment."),
    Rule.STORE_UNAVAILABLE: (
        "Please try again",
        "Sessions cannot be checked right now. You are still logged in; please try again "
        "in a moment.",
    ),
    Rule.BINDING_MISMATCH: (
        "This session belongs to another browser",
        "This session cannot be used from this browser or network.",
    ),
}


def _page(title: str, detail: str, explain_url: str, ended: bool) -> bytes:
    t, d, u = html.escape(title), html.escape(detail), html.escape(explain_url, quote=True)
    more = (
        f'<p><a href="{u}">Review your sessions and security events</a></p>' if ended else ""
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{t}</title></head>\n<body><h1>{t}</h1>\n<p>{d}</p>\n{more}\n</body></html>\n"
    ).encode()


def as_header_bytes(value: str) -> bytes:
    """A WSGI ``environ`` header value (text decoded as Latin-1 by the server, PEP 3333)
    back to the bytes the client sent. A value the server decoded otherwise is taken as
    UTF-8, never an error."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def response_cookie_headers(ctx: RequestContext, has_cache_control: bool) -> Headers:
    """The headers the middleware adds to the app's response: its one ``Set-Cookie``, and
    ``Cache-Control: no-store`` with it unless the app chose caching itself (a shared cache
    must never hand one user's session token to another)."""
    value = ctx._response_cookie()
    if value is None:
        return []
    added: Headers = [("Set-Cookie", value)]
    if not has_cache_control:
        added.append(("Cache-Control", "no-store"))
    return added
