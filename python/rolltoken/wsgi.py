"""WSGI middleware (PEP 3333; works under Flask and Django): rolls the session cookie.

Usage::

    app.wsgi_app = RolltokenWSGI(app.wsgi_app, sessions)  # Flask; Django: wrap get_wsgi_application()
    # in a view: ctx = request.environ["rolltoken.session"]; ctx.view, ctx.login(user_id), ...

The same behaviour as :class:`rolltoken.asgi.RolltokenMiddleware`: the core classifies the
request (Fetch Metadata first) and decides; the app sees a :class:`RequestContext` at
``environ["rolltoken.session"]`` (PEP 3333: an extension key is dotted and prefixed with its
package's name; ``wsgiref.validate`` insists on it); ``start_response`` is wrapped to add exactly one ``Set-Cookie``;
refusals are answered without calling the app (401 with the cookie cleared and an explanation
when the core says to clear it; 429/503/403 keeping it otherwise); a store outage answers 503
and never logs anyone out.
"""

from __future__ import annotations

import inspect

import sys
from typing import TYPE_CHECKING, Callable, Iterable

from ._rolltoken import CookieConfig
from ._web import (
    Answer,
    Middleware,
    KindFor,
    RequestContext,
    RequestHeaders,
    SessionsLike,
    as_header_bytes,
    response_cookie_headers,
)
from .errors import StoreUnavailable

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ENVIRON_KEY", "RequestContext", "RolltokenWSGI", "SessionsLike"]

#: Where the app finds the request's :class:`RequestContext`.
ENVIRON_KEY = "rolltoken.session"

# The request headers the middleware reads, by their environ keys.
_ENVIRON_HEADERS = (
    ("HTTP_COOKIE", b"cookie"),
    ("HTTP_USER_AGENT", b"user-agent"),
    ("HTTP_SEC_FETCH_MODE", b"sec-fetch-mode"),
    ("HTTP_SEC_FETCH_SITE", b"sec-fetch-site"),
    ("HTTP_SEC_PURPOSE", b"sec-purpose"),
    ("HTTP_PURPOSE", b"purpose"),
    ("HTTP_ACCEPT", b"accept"),
    ("HTTP_X_FORWARDED_FOR", b"x-forwarded-for"),
)


class RolltokenWSGI:
    """Rolling session cookies for a WSGI app; the arguments are those of
    :class:`rolltoken.asgi.RolltokenMiddleware`. The client address is ``REMOTE_ADDR``."""

    def __init__(
        self,
        app: WSGIApplication,
        sessions: SessionsLike,
        *,
        cookie: CookieConfig | None = None,
        kind_for: KindFor | None = None,
        explain_url: str = "/security",
        trust_forwarded: bool = False,
    ) -> None:
        if not callable(app):
            raise TypeError("app must be a WSGI application")
        self.app = app
        self._engine = Middleware(sessions, cookie, kind_for, explain_url, trust_forwarded)
        if inspect.iscoroutinefunction(getattr(sessions, "handle", None)):
            raise TypeError("rolltoken.AsyncSessions needs an ASGI server: use rolltoken.Sessions under WSGI")

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        req = RequestHeaders(
            str(environ.get("REQUEST_METHOD", "GET")), str(environ.get("PATH_INFO", ""))
        )
        for key, name in _ENVIRON_HEADERS:
            value = environ.get(key)
            if isinstance(value, str):
                req.add(name, as_header_bytes(value))
        peer = environ.get("REMOTE_ADDR")
        prepared = self._engine.prepare(req, peer if isinstance(peer, str) else None)
        if prepared.answer is not None or prepared.context is None:
            return _answer(start_response, prepared.answer or self._engine.store_down())
        ctx = prepared.context
        environ[ENVIRON_KEY] = ctx

        def start_with_cookie(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            has_cache_control = any(n.lower() == "cache-control" for n, _ in headers)
            added = response_cookie_headers(ctx, has_cache_control)
            return start_response(status, list(headers) + added, exc_info)

        try:
            return self.app(environ, start_with_cookie)
        except StoreUnavailable:
            # From ctx.login/ctx.logout: nobody is logged out, the cookie is left as it was.
            # exc_info lets this replace headers the app may have started (PEP 3333).
            return _answer(start_response, self._engine.store_down(), sys.exc_info())


def _answer(
    start_response: StartResponse, answer: Answer, exc_info: OptExcInfo | None = None
) -> list[bytes]:
    start_response(f"{answer.status} {answer.reason}", list(answer.headers), exc_info)
    return [answer.body]
