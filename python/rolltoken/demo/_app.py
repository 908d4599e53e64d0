"""The demo WSGI app: routes, forms, CSRF check, and the security record.

Layers, outside in::

    DemoApp            records refusals as events, shows the explanation page after a reuse
      RolltokenWSGI    the middleware: classifies, asks the core, rolls, refuses
        DemoApp._app   the pages; sees the session at environ[ENVIRON_KEY]

The middleware answers refusals itself, without calling the app. Its only report of one is a
``rolltoken`` logger record (its structured ``rolltoken_rule``/``rolltoken_log_id`` fields): a handler
installed on that logger copies rule and log id into the current request's state (a context
variable, so concurrent requests and several apps in one process never mix), and the outer
layer records the event with the request's coarse client details. A refusal the logger did not
report (logging disabled) is still recorded, as ``refused`` with its HTTP status and the log id
its cookie names.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import rolltoken as rt
from ..errors import RolltokenError
from ..wsgi import ENVIRON_KEY, RequestContext, RolltokenWSGI
from . import _pages as pages
from ._store import Account, Client, FormError, Store, coarse_address, user_agent_family

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DemoApp", "PAGES", "cross_site"]

log = logging.getLogger("rolltoken.demo")

#: Routes that are pages: a GET advances the session (a roll) unless Fetch Metadata says the
#: browser is prefetching or navigating from another site (the core decides those).
PAGES = frozenset({"/", "/register", "/login", "/fanout", "/security"})
MAX_FORM_BYTES = 8192
Headers = List[Tuple[str, str]]

# Rules of a proceeding request worth an event (the others are every request's: fresh, current).
_NOTABLE = frozenset(
    {rt.Rule.CONCURRENT_IN_GRACE, rt.Rule.LOST_RESPONSE, rt.Rule.COOKIE_JAR_BEHIND, rt.Rule.STORE_BEHIND}
)
_SECURITY_HEADERS: Headers = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
]
_REASONS = {
    200: "OK",
    303: "See Other",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
}


class _RequestState:
    """What the outer layer knows of one request, shared with the logger hook and kind_for."""

    __slots__ = ("client", "kind", "app_called", "refusal", "replacement", "cookie_header")

    def __init__(self, environ: WSGIEnvironment) -> None:
        ua = environ.get("HTTP_USER_AGENT")
        addr = environ.get("REMOTE_ADDR")
        self.client = Client(
            user_agent_family(ua if isinstance(ua, str) else None),
            coarse_address(addr if isinstance(addr, str) else None),
        )
        self.kind = _page_kind(environ)
        self.app_called = False
        self.refusal: Optional[Tuple[rt.Rule, Optional[str]]] = None
        self.replacement: Optional[bytes] = None
        cookie = environ.get("HTTP_COOKIE")
        self.cookie_header = cookie if isinstance(cookie, str) else None


_current: contextvars.ContextVar[Optional[_RequestState]] = contextvars.ContextVar(
    "rolltoken_demo_request", default=None
)


def _page_kind(environ: WSGIEnvironment) -> Optional[rt.Kind]:
    """The demo's route table for the middleware's ``kind_for``: API calls and assets read;
    a page GET advances when the request carries no Fetch Metadata (curl, scripts, old
    browsers: the core would otherwise read any GET whose Accept is not led by text/html);
    with Fetch Metadata, and for every other request, the core decides."""
    path = str(environ.get("PATH_INFO", ""))
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    if path.startswith("/api/") or path.startswith("/static/"):
        return rt.Kind.READ
    if path in PAGES and method == "GET":
        metadata = ("HTTP_SEC_FETCH_MODE", "HTTP_SEC_PURPOSE", "HTTP_PURPOSE")
        if not any(environ.get(k) for k in metadata):
            return rt.Kind.ADVANCE
    return None


def _kind_for(method: str, path: str) -> Optional[rt.Kind]:
    state = _current.get()
    return state.kind if state is not None else None


class _RefusalHook(logging.Handler):
    """Copies the middleware's refusal record (rule, log id) into the current request."""

    def emit(self, record: logging.LogRecord) -> None:
        state = _current.get()
        if state is None or record.name != "rolltoken":
            return
        # The middleware's structured fields (``extra=``): no parsing of the message text.
        rule_name = getattr(record, "rolltoken_rule", None)
        if not isinstance(rule_name, str):
            return
        try:
            rule = rt.Rule(rule_name)
        except ValueError:
            return
        log_id = getattr(record, "rolltoken_log_id", None)
        state.refusal = (rule, log_id if isinstance(log_id, str) and log_id else None)


_hook_lock = threading.Lock()
_hook: Optional[_RefusalHook] = None


def _install_hook() -> None:
    """Once per process: the hook on the ``rolltoken`` logger, which must pass warnings."""
    global _hook
    with _hook_lock:
        if _hook is not None:
            return
        _hook = _RefusalHook(logging.WARNING)
        logger = logging.getLogger("rolltoken")
        logger.addHandler(_hook)
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)


def cross_site(environ: WSGIEnvironment) -> bool:
    """Whether an unsafe request comes from another site (CSRF): ``Sec-Fetch-Site`` when the
    browser sends it (only ``same-origin`` and ``none`` pass), else ``Origin`` against
    ``Host``. A request with neither is not from a browser form, and passes."""
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if isinstance(site, str) and site.strip():
        return site.strip().lower() not in ("same-origin", "none")
    origin = environ.get("HTTP_ORIGIN")
    if not isinstance(origin, str) or not origin.strip():
        return False
    host = environ.get("HTTP_HOST")
    try:
        netloc = urlsplit(origin.strip()).netloc
    except ValueError:
        return True
    return not netloc or not isinstance(host, str) or netloc.lower() != host.strip().lower()


class _Form:
    __slots__ = ("fields", "status", "error")

    def __init__(self, fields: Dict[str, str], status: int = 200, error: str = "") -> None:
        self.fields = fields
        self.status = status
        self.error = error


def _read_form(environ: WSGIEnvironment) -> _Form:
    ctype = str(environ.get("CONTENT_TYPE", "") or "").split(";", 1)[0].strip().lower()
    if ctype not in ("", "application/x-www-form-urlencoded"):
        return _Form({}, 415, "Send the form as application/x-www-form-urlencoded.")
    try:
        length = int(str(environ.get("CONTENT_LENGTH", "") or "0"))
    except ValueError:
        return _Form({}, 400, "Bad Content-Length.")
    if length < 0:
        return _Form({}, 400, "Bad Content-Length.")
    if length > MAX_FORM_BYTES:
        return _Form({}, 413, "The form is too large.")
    body = environ["wsgi.input"].read(length) if length else b""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return _Form({}, 400, "The form could not be read.")
    return _Form({k: v[0] for k, v in parsed.items() if v})


class DemoApp:
    """The demo as one WSGI callable: the pages inside :class:`rolltoken.wsgi.RolltokenWSGI`,
    inside the layer that records refusals. ``store`` holds accounts, sessions and events."""

    def __init__(self, sessions: rt.Sessions, *, insecure: bool = False, store: Optional[Store] = None) -> None:
        self.sessions = sessions
        self.store = store if store is not None else Store()
        self.cookie = rt.CookieConfig.insecure_local() if insecure else rt.CookieConfig()
        self.insecure = insecure
        _install_hook()
        self.wsgi = RolltokenWSGI(
            self._app, sessions, cookie=self.cookie, kind_for=_kind_for, explain_url="/security"
        )

    # The outer layer.

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        state = _RequestState(environ)
        reset = _current.set(state)

        def start(status: str, headers: Headers, exc_info: Optional[OptExcInfo] = None) -> Callable[[bytes], object]:
            if not state.app_called:  # the middleware answered by itself: a refusal
                headers = self._refused(state, status, headers)
            return start_response(status, headers, exc_info)

        try:
            result = self.wsgi(environ, start)
        finally:
            _current.reset(reset)
        if state.replacement is not None:
            close = getattr(result, "close", None)
            if callable(close):
                close()
            return [state.replacement]
        return result

    def _refused(self, state: _RequestState, status: str, headers: Headers) -> Headers:
        """Records the refusal; after a reuse, swaps the middleware's HTML page for the demo's
        explanation (same status, same cookie-clearing header)."""
        code = int(status.split(" ", 1)[0])
        if state.refusal is not None:
            rule: Optional[rt.Rule] = state.refusal[0]
            log_id = state.refusal[1]
        else:
            rule, log_id = None, self._cookie_log_id(state.cookie_header)
        if log_id is None:
            return headers
        if rule is rt.Rule.REUSE:
            self.store.end_session(log_id, "reuse")
        kind = rule.value if rule is not None else "refused"
        self.store.record(log_id, kind, state.client, f"HTTP {code}")
        html_page = any(
            n.lower() == "content-type" and v.lower().startswith("text/html") for n, v in headers
        )
        if not html_page or code != 401:
            return headers
        ended = self.store.ended_by_reuse(log_id)
        if ended is None:
            return headers
        body = pages.explanation(log_id, ended.ended).encode()
        state.replacement = body
        kept = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
        return kept + [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ] + [h for h in _SECURITY_HEADERS if h[0] != "Cache-Control"]

    def _cookie_log_id(self, header: Optional[str]) -> Optional[str]:
        """The log id the request's cookie names (no key needed; the tag is not checked)."""
        if not header:
            return None
        try:
            token = rt.find_cookie(header, self.cookie)
            return rt.parse_token(token).log_id if token else None
        except (RolltokenError, ValueError, TypeError):
            return None

    # The pages.

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        state = _current.get()
        if state is not None:
            state.app_called = True
        else:  # called without the outer layer (tests of the inner app): no client details
            state = _RequestState(environ)
            state.app_called = True
        ctx = environ[ENVIRON_KEY]
        if not isinstance(ctx, RequestContext):
            raise TypeError("the demo app runs inside RolltokenWSGI")
        account = self._observe(ctx, state.client)
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "") or "/")
        head = method == "HEAD"
        if head:
            method = "GET"
        route = _ROUTES.get(path)
        if route is None:
            status, headers, body = self._html(404, pages.message("Not found", "No such page.", self._frame(ctx, account)))
        elif method not in route:
            status, headers, body = self._plain(405, "Method not allowed")
            allowed = set(route) | ({"HEAD"} if "GET" in route else set())
            headers.append(("Allow", ", ".join(sorted(allowed))))
        else:
            status, headers, body = route[method](self, environ, ctx, account, state.client)
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {_REASONS.get(status, 'OK')}", headers)
        return [b"" if head else body]

    def _observe(self, ctx: RequestContext, client: Client) -> Optional[Account]:
        """The account of the request's session; updates its last-seen time and records the
        rules worth an event (grace answers, repairs)."""
        view = ctx.view
        if view is None or not view.authenticated:
            return None
        account = self.store.account_for_subject(view.subject)
        if account is None:
            return None
        self.store.seen(view.log_id, client)
        rule = ctx.outcome.rule
        if rule in _NOTABLE:
            steps = ctx.outcome.steps
            self.store.record(view.log_id, rule.value, client, f"{steps} step(s)" if steps else "")
        return account

    def _frame(self, ctx: RequestContext, account: Optional[Account]) -> pages.Frame:
        view = ctx.view
        return pages.Frame(
            account.username if account is not None else None,
            ctx.log_id,
            view.counter if view is not None else None,
            ctx.outcome.rule.value,
        )

    @staticmethod
    def _html(status: int, text: str, extra: Optional[Headers] = None) -> Tuple[int, Headers, bytes]:
        headers = [("Content-Type", "text/html; charset=utf-8")] + list(_SECURITY_HEADERS)
        return status, headers + (extra or []), text.encode()

    @staticmethod
    def _plain(status: int, text: str) -> Tuple[int, Headers, bytes]:
        return status, [("Content-Type", "text/plain; charset=utf-8")] + list(_SECURITY_HEADERS), (text + "\n").encode()

    @staticmethod
    def _redirect(location: str) -> Tuple[int, Headers, bytes]:
        return 303, [("Location", location)] + list(_SECURITY_HEADERS), b""

    def _cross_site_refusal(self, environ: WSGIEnvironment, ctx: RequestContext,
                            account: Optional[Account]) -> Optional[Tuple[int, Headers, bytes]]:
        if not cross_site(environ):
            return None
        log.warning("rolltoken demo: cross-site POST %s refused", environ.get("PATH_INFO", ""))
        return self._html(403, pages.message(
            "Cross-site request refused",
            "This form may only be sent from this site's own pages.",
            self._frame(ctx, account),
        ))

    def home(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
             client: Client) -> Tuple[int, Headers, bytes]:
        grace = self.sessions.policy.grace
        grace_ms = grace.ms if grace.ms is not None else (grace.max_ms or 0)
        host = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "127.0.0.1")
        page = pages.home(self._frame(ctx, account), self.cookie.name, host, grace_ms / 1000,
                          ctx.outcome.token is not None)
        return self._html(200, page)

    def register_form(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
                      client: Client) -> Tuple[int, Headers, bytes]:
        return self._html(200, pages.form_page("register", self._frame(ctx, account)))

    def login_form(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
                   client: Client) -> Tuple[int, Headers, bytes]:
        return self._html(200, pages.form_page("login", self._frame(ctx, account)))

    def register(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
                 client: Client) -> Tuple[int, Headers, bytes]:
        return self._credentials("register", environ, ctx, account, client)

    def login(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
              client: Client) -> Tuple[int, Headers, bytes]:
        return self._credentials("login", environ, ctx, account, client)

    def _credentials(self, action: str, environ: WSGIEnvironment, ctx: RequestContext,
                     current: Optional[Account], client: Client) -> Tuple[int, Headers, bytes]:
        refused = self._cross_site_refusal(environ, ctx, current)
        if refused is not None:
            return refused
        form = _read_form(environ)
        username = form.fields.get("username", "").strip()
        password = form.fields.get("password", "")
        if form.status != 200:
            return self._html(form.status, pages.form_page(action, self._frame(ctx, current), username, form.error))
        if action == "register":
            try:
                account: Optional[Account] = self.store.register(username, password)
            except FormError as e:
                return self._html(400, pages.form_page(action, self._frame(ctx, current), username, str(e)))
        else:
            account, ok = self.store.authenticate(username, password)
            if not ok:
                if account is not None:
                    self.store.record(None, "login_failed", client, account=account)
                error = "Wrong username or password."
                return self._html(400, pages.form_page(action, self._frame(ctx, current), username, error))
        assert account is not None
        before = ctx.log_id if ctx.authenticated else None
        outcome = ctx.login(account.user_id)
        view = outcome.view
        assert view is not None  # login always answers with a session
        self.store.start_session(account, view.subject, view.log_id, client)
        if action == "register":
            self.store.record(view.log_id, "register", client)
        self.store.record(view.log_id, "login", client)
        if before is not None and before != view.log_id:
            self.store.end_session(before, "upgraded_at_login")
            self.store.record(before, "upgraded_at_login", client, f"new session {view.log_id}")
        log.info("rolltoken demo: %s %s, session %s", action, account.username, view.log_id)
        return self._redirect("/")

    def logout(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
               client: Client) -> Tuple[int, Headers, bytes]:
        refused = self._cross_site_refusal(environ, ctx, account)
        if refused is not None:
            return refused
        ended = ctx.logout()
        if ended is not None:
            self.store.end_session(ended, "logout")
            self.store.record(ended, "logout", client)
        return self._redirect("/")

    def fanout(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
               client: Client) -> Tuple[int, Headers, bytes]:
        return self._html(200, pages.fanout(self._frame(ctx, account)))

    def security(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
                 client: Client) -> Tuple[int, Headers, bytes]:
        frame = self._frame(ctx, account)
        if account is None:
            return self._html(200, pages.security_anonymous(frame))
        sessions, events = self.store.security(account)
        return self._html(200, pages.security(frame, sessions, events))

    def api_me(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
               client: Client) -> Tuple[int, Headers, bytes]:
        body = json.dumps({
            "authenticated": account is not None,
            "username": account.username if account is not None else None,
            "log_id": ctx.log_id,
            "rule": ctx.outcome.rule.value,
        }).encode()
        return 200, [("Content-Type", "application/json")] + list(_SECURITY_HEADERS), body

    def style(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
              client: Client) -> Tuple[int, Headers, bytes]:
        return 200, [("Content-Type", "text/css; charset=utf-8")] + list(_SECURITY_HEADERS), pages.STYLE_CSS

    def script(self, environ: WSGIEnvironment, ctx: RequestContext, account: Optional[Account],
               client: Client) -> Tuple[int, Headers, bytes]:
        return 200, [("Content-Type", "text/javascript; charset=utf-8")] + list(_SECURITY_HEADERS), pages.FANOUT_JS


Handler = Callable[
    [DemoApp, "WSGIEnvironment", RequestContext, Optional[Account], Client], Tuple[int, Headers, bytes]
]

#: path -> {method: handler}. The public contract is in python/README.md.
_ROUTES: Dict[str, Dict[str, Handler]] = {
    "/": {"GET": DemoApp.home},
    "/register": {"GET": DemoApp.register_form, "POST": DemoApp.register},
    "/login": {"GET": DemoApp.login_form, "POST": DemoApp.login},
    "/logout": {"POST": DemoApp.logout},
    "/fanout": {"GET": DemoApp.fanout},
    "/security": {"GET": DemoApp.security},
    "/api/me": {"GET": DemoApp.api_me},
    "/static/demo.css": {"GET": DemoApp.style},
    "/static/fanout.js": {"GET": DemoApp.script},
}
