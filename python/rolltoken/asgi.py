"""Pure ASGI middleware (works under Starlette and FastAPI): rolls the session cookie.

Usage::

    app = RolltokenMiddleware(app, sessions)  # or Starlette's Middleware(RolltokenMiddleware, sessions=...)
    # in a handler: ctx = request.scope["rolltoken"]; ctx.view, await ctx.alogin(user_id),
    # await ctx.alogout() (ctx.login/ctx.logout serve a blocking in-memory Sessions too)

Per HTTP request: the session cookie is read (an unreadable ``Cookie`` header is answered 400
and left alone), the core classifies the request as advance or read from Fetch Metadata
(:func:`rolltoken.request_kind`, or a per-route ``kind_for``), and
:meth:`rolltoken.AsyncSessions.handle` (or :meth:`rolltoken.Sessions.handle`) decides. When it proceeds, the app runs with a
:class:`RequestContext` at ``scope["rolltoken"]`` and the response gets exactly one
``Set-Cookie`` (the login token, the clearing cookie after a logout, else the rolled or new
token). When it refuses, the app is not called: a cookie the core says to clear is cleared
with a 401 that explains (an HTML page for navigations, ``application/problem+json`` for API
calls); retry-later refusals (``grace_exhausted``, ``busy``, ``store_unavailable``) answer
429/503 with ``Retry-After`` and keep the cookie, as does ``binding_mismatch`` (403). A store
outage never logs anyone out. Other scope types (``websocket``, ``lifespan``) pass through
untouched. Needs no web framework at run time.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, MutableMapping

from ._rolltoken import CookieConfig, MemoryStore
from ._sessions import Sessions
from ._web import (
    AnySessions,
    Answer,
    AsyncSessionsLike,
    KindFor,
    Middleware,
    RequestContext,
    RequestHeaders,
    SessionsLike,
    response_cookie_headers,
)
from .errors import ConfigurationError, StoreUnavailable

__all__ = [
    "ASGIApp",
    "Message",
    "Receive",
    "RequestContext",
    "RolltokenMiddleware",
    "Scope",
    "Send",
    "AsyncSessionsLike",
    "SessionsLike",
]

# The ASGI types, as starlette/types.py spells them, so that no framework is needed.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RolltokenMiddleware:
    """Rolling session cookies for an ASGI app.

    ``sessions`` is a :class:`rolltoken.AsyncSessions` (any store: its store calls are
    awaited) or a :class:`rolltoken.Sessions` over the in-memory store (a blocking store would
    stall the event loop, so it is refused); ``cookie`` the cookie's name and attributes
    (default: ``__Host-rolltoken``, ``Secure``; use ``CookieConfig.insecure_local()`` for
    plain-HTTP development); ``kind_for(method, path)`` may return a ``Kind`` to override the
    core's classification for a route (``None`` keeps it); ``explain_url`` is the page the
    refusal links to (the account's sessions and security events). The client address is the
    connection's; ``trust_forwarded=True`` takes the last ``X-Forwarded-For`` entry instead
    (only behind exactly one proxy of your own that sets it).
    """

    def __init__(
        self,
        app: ASGIApp,
        sessions: AnySessions,
        *,
        cookie: CookieConfig | None = None,
        kind_for: KindFor | None = None,
        explain_url: str = "/security",
        trust_forwarded: bool = False,
    ) -> None:
        if not callable(app):
            raise TypeError("app must be an ASGI application")
        self.app = app
        self._engine = Middleware(sessions, cookie, kind_for, explain_url, trust_forwarded)
        if isinstance(sessions, Sessions) and not isinstance(sessions.store, MemoryStore):
            raise ConfigurationError(
                "a blocking store would stall the event loop: use rolltoken.AsyncSessions "
                "with an asyncio store under ASGI"
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        req = RequestHeaders(str(scope.get("method", "GET")), str(scope.get("path", "")))
        for name, value in scope.get("headers", ()):
            req.add(bytes(name).lower(), bytes(value))
        client = scope.get("client")
        peer = str(client[0]) if client else None
        # AsyncSessions awaits its store; a blocking Sessions (in-memory) is called on the loop.
        prepared = await self._engine.prepare_async(req, peer)
        if prepared.answer is not None or prepared.context is None:
            await _send_answer(send, prepared.answer or self._engine.store_down())
            return
        ctx = prepared.context
        scope["rolltoken"] = ctx
        started = False

        async def send_with_cookie(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                headers = list(message.get("headers", ()))
                has_cache_control = any(bytes(n).lower() == b"cache-control" for n, _ in headers)
                for name, value in response_cookie_headers(ctx, has_cache_control):
                    headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                message = dict(message)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        except StoreUnavailable:
            # From ctx.login/ctx.logout: nobody is logged out, the cookie is left as it was.
            if started:
                raise
            await _send_answer(send, self._engine.store_down())


async def _send_answer(send: Send, answer: Answer) -> None:
    headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
