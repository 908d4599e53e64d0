"""A Flask app whose session cookie rolls: sessions in Redis when REDIS_URL is set, in
PostgreSQL when DATABASE_URL is, else in memory (one process).

    ROLLTOKEN_KEYS="$(rolltoken keygen)" REDIS_URL=redis://127.0.0.1:6379/0 flask --app flask_app run
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Union

from flask import Flask, abort, request

import rolltoken
from rolltoken.stores import SessionStore
from rolltoken.wsgi import ENVIRON_KEY, RequestContext, RolltokenWSGI


def session_store() -> Optional[SessionStore]:
    """The store the environment names (None: the in-memory default)."""
    if os.environ.get("REDIS_URL"):
        from rolltoken.stores.redis import RedisStore

        return RedisStore.from_url(os.environ["REDIS_URL"])
    if os.environ.get("DATABASE_URL"):
        from rolltoken.stores.postgres import PostgresStore

        store = PostgresStore.connect(os.environ["DATABASE_URL"])
        store.migrate()
        return store
    return None


def create_app(store: Optional[SessionStore] = None, *, insecure: bool = False) -> Flask:
    keys = rolltoken.Keyring.from_base64(os.environ["ROLLTOKEN_KEYS"])
    sessions = rolltoken.Sessions(keys, rolltoken.Policy.default(), store=store)
    app = Flask(__name__)
    cookie = rolltoken.CookieConfig.insecure_local() if insecure else rolltoken.CookieConfig()
    app.wsgi_app = RolltokenWSGI(app.wsgi_app, sessions, cookie=cookie)  # type: ignore[method-assign]

    def ctx() -> RequestContext:
        context: RequestContext = request.environ[ENVIRON_KEY]
        return context

    @app.get("/")
    def index() -> Dict[str, Union[str, bool, None]]:
        return {"authenticated": ctx().authenticated, "log_id": ctx().log_id}

    @app.post("/login/<int:user_id>")
    def login(user_id: int) -> Dict[str, Union[str, bool, None]]:
        if user_id <= 0:  # a real app checks a password here
            abort(400)
        ctx().login(user_id)
        return {"authenticated": True, "log_id": ctx().log_id}

    @app.post("/logout")
    def logout() -> Dict[str, Optional[str]]:
        return {"ended": ctx().logout()}

    @app.errorhandler(rolltoken.StoreUnavailable)
    def store_down(_: rolltoken.StoreUnavailable) -> tuple[str, int, Dict[str, str]]:
        return "sessions cannot be checked right now; you are still logged in", 503, {"Retry-After": "1"}

    return app


if __name__ == "__main__":
    create_app(session_store(), insecure=True).run(host="127.0.0.1", port=8000)
