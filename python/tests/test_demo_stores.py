"""`rolltoken demo` keeps its sessions in Redis or PostgreSQL when REDIS_URL / DATABASE_URL
is set: the demo command runs as a process of its own against a real server, and a second
demo process over the same store and keys continues the same session (what several web
processes behind a load balancer do)."""

from __future__ import annotations

import io
import uuid
from typing import Dict, Iterator, List, Tuple

import pytest

import rolltoken as rt
from rolltoken.cli import main as cli_main
from servers import PostgresServer, RedisServer
from test_demo import PASSWORD, Browser, Served, Site, cookie_of, footer_counter

NAME = "rolltoken"


@pytest.fixture(params=["redis", "postgres"])
def store_env(request: pytest.FixtureRequest) -> Iterator[Tuple[str, Dict[str, str]]]:
    secret = io.StringIO()
    assert cli_main(["keygen", "--id", "3"], secret) == 0
    env = {"ROLLTOKEN_DEMO_INSECURE": "1", "ROLLTOKEN_KEYS": secret.getvalue().strip()}
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        if not server.running:
            server.start()
        yield "redis", {**env, "REDIS_URL": server.url, "DATABASE_URL": ""}
    else:
        pg: PostgresServer = request.getfixturevalue("postgres_server")
        yield "postgres", {**env, "DATABASE_URL": pg.dsn, "REDIS_URL": ""}


def _stored_ids(kind: str, env: Dict[str, str]) -> List[str]:
    """The session ids the store holds, as hex."""
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(env["REDIS_URL"])
        try:
            return [k.decode().rsplit(":", 1)[1] for k in client.scan_iter(match="rolltoken:s:*")]
        finally:
            client.close()
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        return [bytes(r[0]).hex() for r in conn.execute("SELECT session_id FROM rolltoken_sessions")]


def test_the_demo_keeps_sessions_in_the_store_the_environment_names(
    store_env: Tuple[str, Dict[str, str]],
) -> None:
    kind, env = store_env
    first = Served(["-m", "rolltoken", "demo"], env)
    second = Served(["-m", "rolltoken", "demo"], env)
    try:
        line, url = first.startup()
        assert ("sessions in Redis (REDIS_URL)" if kind == "redis" else "sessions in PostgreSQL (DATABASE_URL)") in line
        assert env["REDIS_URL" if kind == "redis" else "DATABASE_URL"] not in line  # no credentials shown
        _, url2 = second.startup()
        site = Site(None, url.rstrip("/"))  # type: ignore[arg-type]
        b = Browser(site, "Mozilla/5.0 Firefox/128.0", None)
        username = f"u{uuid.uuid4().hex[:10]}"
        b.page("/register")
        r = b.post("/register", {"username": username, "password": PASSWORD})
        assert r.status_code == 303, r.text
        token = b.cookie
        assert token is not None
        sid = rt.parse_token(token).session_id
        page = b.page("/")
        assert page.status_code == 200 and footer_counter(page) == 1 and b.cookie != token
        assert sid.hex() in _stored_ids(kind, env)

        # The other process, over the same store and keys, continues the same session.
        other = Browser(Site(None, url2.rstrip("/")), "Mozilla/5.0 Firefox/128.0", b.cookie)  # type: ignore[arg-type]
        page2 = other.page("/")
        assert page2.status_code == 200 and footer_counter(page2) == 2
        assert cookie_of(page2)
        # The first process now sees the token the second one minted, and a stale copy of
        # the first token long after is a reuse only if replayed; here the user goes on.
        b.cookie = other.cookie
        assert b.page("/").status_code == 200
        b.close()
        other.close()
    finally:
        assert first.stop()[0] == 0
        assert second.stop()[0] == 0
