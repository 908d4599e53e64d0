"""The examples in python/examples run as written over real HTTP, with their sessions in a
real redis-server: the Flask one under waitress (blocking RedisStore), the Starlette one
under uvicorn (AsyncRedisStore, every store call awaited)."""

from __future__ import annotations

import asyncio
import importlib
import pathlib
import sys
from typing import Any, Iterator, List, Tuple

import httpx
import pytest

from rolltoken.cli import main as cli_main
from servers import RedisServer
from test_asgi import Uvicorn
from test_wsgi import Waitress

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
NAV = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin", "User-Agent": "example-test"}


@pytest.fixture
def example(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
    redis_client: Any,  # the server, emptied: the keys found afterwards are the example's
) -> Iterator[Any]:
    assert cli_main(["keygen"]) == 0
    monkeypatch.setenv("ROLLTOKEN_KEYS", capsys.readouterr().out.strip())
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def load(name: str) -> Any:
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    yield load


def cookie(r: httpx.Response) -> str:
    value: str = r.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    return value


def walk(base: str) -> Tuple[str, str]:
    """Anonymous visit, login, a rolling page, logout: (first logged-in token, its log id)."""
    with httpx.Client(base_url=base, timeout=5.0) as c:
        first = c.get("/", headers=NAV)
        assert first.status_code == 200 and first.json()["authenticated"] is False
        anon = cookie(first)
        login = c.post("/login/7", headers={**NAV, "Cookie": f"rolltoken={anon}"})
        assert login.status_code == 200, login.text
        token = cookie(login)
        assert token != anon
        page = c.get("/", headers={**NAV, "Cookie": f"rolltoken={token}"})
        assert page.status_code == 200 and page.json()["authenticated"] is True
        rolled = cookie(page)
        assert rolled != token
        out = c.post("/logout", headers={**NAV, "Cookie": f"rolltoken={rolled}"})
        assert out.status_code == 200 and out.json()["ended"] == page.json()["log_id"]
        again = c.get("/", headers={**NAV, "Cookie": f"rolltoken={rolled}"})
        assert again.status_code == 401
        return token, page.json()["log_id"]


def test_the_flask_example_rolls_sessions_kept_in_redis(example: Any, redis_server: RedisServer) -> None:
    module = example("flask_app")
    store = module.session_store()
    app = module.create_app(store, insecure=True)
    server = Waitress(app)
    server.start()
    try:
        walk(f"http://127.0.0.1:{server.port}")
    finally:
        server.stop()
        store.client.close()
    assert any(redis_server.client().scan_iter(match="rolltoken:s:*"))


def test_the_starlette_example_rolls_sessions_kept_in_redis(example: Any, redis_server: RedisServer) -> None:
    module = example("starlette_app")
    store = module.session_store()
    app = module.create_app(store, insecure=True)
    loops: List[asyncio.AbstractEventLoop] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        loops.append(asyncio.get_running_loop())  # uvicorn's, where the store's sockets live
        await app(scope, receive, send)

    server = Uvicorn(recording)
    server.start()
    try:
        walk(f"http://127.0.0.1:{server.port}")
    finally:
        if loops:
            asyncio.run_coroutine_threadsafe(store.aclose(), loops[0]).result(5.0)
        server.stop()
    assert any(redis_server.client().scan_iter(match="rolltoken:s:*"))
