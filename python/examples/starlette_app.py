"""A Starlette app whose session cookie rolls, with every store call awaited: sessions in
Redis when REDIS_URL is set (redis.asyncio), else in memory.

    ROLLTOKEN_KEYS="$(rolltoken keygen)" REDIS_URL=redis://127.0.0.1:6379/0 uvicorn starlette_app:app
"""

from __future__ import annotations

import os
from typing import Optional

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import rolltoken
from rolltoken.asgi import RequestContext, RolltokenMiddleware
from rolltoken.stores import AsyncSessionStore


def session_store() -> Optional[AsyncSessionStore]:
    """The store the environment names (None: the in-memory default)."""
    if os.environ.get("REDIS_URL"):
        from rolltoken.stores.redis import AsyncRedisStore

        return AsyncRedisStore.from_url(os.environ["REDIS_URL"])
    return None


def create_app(store: Optional[AsyncSessionStore] = None, *, insecure: bool = False) -> Starlette:
    keys = rolltoken.Keyring.from_base64(os.environ["ROLLTOKEN_KEYS"])
    sessions = rolltoken.AsyncSessions(keys, rolltoken.Policy.default(), store=store)

    def ctx(request: Request) -> RequestContext:
        context: RequestContext = request.scope["rolltoken"]
        return context

    async def index(request: Request) -> JSONResponse:
        c = ctx(request)
        return JSONResponse({"authenticated": c.authenticated, "log_id": c.log_id})

    async def login(request: Request) -> JSONResponse:
        user_id = int(request.path_params["user_id"])  # a real app checks a password here
        await ctx(request).alogin(user_id)
        return JSONResponse({"authenticated": True, "log_id": ctx(request).log_id})

    async def logout(request: Request) -> JSONResponse:
        return JSONResponse({"ended": await ctx(request).alogout()})

    cookie = rolltoken.CookieConfig.insecure_local() if insecure else rolltoken.CookieConfig()
    return Starlette(
        routes=[
            Route("/", index),
            Route("/login/{user_id:int}", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
        ],
        middleware=[Middleware(RolltokenMiddleware, sessions=sessions, cookie=cookie)],
    )


app = create_app(session_store()) if os.environ.get("ROLLTOKEN_KEYS") else None
