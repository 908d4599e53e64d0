"""Serving the demo: a threading ``wsgiref`` server (each request on its own thread, so a
page's parallel API calls run in parallel), keys, the loopback check and the startup line."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import socketserver
import sys
from typing import Callable, Mapping, Optional, TextIO, Tuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import rolltoken as rt
from ..errors import ConfigurationError
from ..stores import SessionStore
from ._app import DemoApp

__all__ = [
    "DATABASE_URL_ENV",
    "INSECURE_ENV",
    "KEYS_ENV",
    "MINTING_ID_ENV",
    "REDIS_URL_ENV",
    "DemoServer",
    "is_loopback",
    "load_keys",
    "make_app",
    "make_server",
    "serve",
]

KEYS_ENV = "ROLLTOKEN_KEYS"
MINTING_ID_ENV = "ROLLTOKEN_MINTING_ID"
INSECURE_ENV = "ROLLTOKEN_DEMO_INSECURE"
REDIS_URL_ENV = "REDIS_URL"
DATABASE_URL_ENV = "DATABASE_URL"

log = logging.getLogger("rolltoken.demo")


class DemoServer(socketserver.ThreadingMixIn, WSGIServer):
    """``wsgiref``'s server with a thread per request."""

    daemon_threads = True  # a stuck client never blocks exit
    block_on_close = False
    request_queue_size = 64


class _DemoServer6(DemoServer):
    address_family = socket.AF_INET6


class _Handler(WSGIRequestHandler):
    timeout = 10  # seconds a client may take to send its request: a slow one holds one thread

    def address_string(self) -> str:
        return str(self.client_address[0])

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        # The request line and status: paths and methods, never a header (so never a cookie).
        log.info("%s %s", self.address_string(), format % args)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_keys(env: Mapping[str, str]) -> Tuple[rt.Keyring, str]:
    """The keyring from ``ROLLTOKEN_KEYS`` (``rolltoken keygen``'s ``ID:BASE64`` list, with
    ``ROLLTOKEN_MINTING_ID`` when it holds several), else a fresh random key; and how the
    startup line describes it (never the key)."""
    spec = env.get(KEYS_ENV, "").strip()
    if not spec:
        keys = rt.Keyring([(1, os.urandom(rt.KEY_LEN))], minting_id=1)
        return keys, f"a fresh random key for this run ({KEYS_ENV} is not set)"
    minting = env.get(MINTING_ID_ENV, "").strip()
    try:
        minting_id = int(minting) if minting else None
    except ValueError:
        raise ConfigurationError(f"{MINTING_ID_ENV} must be a key id (an integer)") from None
    keys = rt.Keyring.from_base64(spec, minting_id)
    ids = ", ".join(str(i) for i in keys.key_ids)
    return keys, f"keys {ids} from {KEYS_ENV} (minting with {keys.minting_id})"


def make_app(
    keys: Optional[rt.Keyring] = None,
    policy: Optional[rt.Policy] = None,
    *,
    insecure: bool = False,
    store: Optional[SessionStore] = None,
) -> DemoApp:
    """The demo WSGI app over a new :class:`rolltoken.Sessions` in ``store`` (default: in
    memory): ``keys`` default to a fresh random key, ``policy`` to
    :meth:`rolltoken.Policy.default` (strict, compact tokens). ``insecure`` drops ``Secure``
    and the ``__Host-`` prefix (plain HTTP only)."""
    if keys is None:
        keys = rt.Keyring([(1, os.urandom(rt.KEY_LEN))], minting_id=1)
    sessions = rt.Sessions(keys, policy if policy is not None else rt.Policy.default(), store=store)
    return DemoApp(sessions, insecure=insecure)


def store_from_env(env: Mapping[str, str]) -> Tuple[Optional[SessionStore], str, Callable[[], None]]:
    """The session store ``REDIS_URL`` or ``DATABASE_URL`` names (Redis first), a line for
    the startup message (no credentials), and how to close it; ``None`` for in memory."""
    redis_url, database_url = env.get(REDIS_URL_ENV), env.get(DATABASE_URL_ENV)
    if redis_url:
        try:
            from ..stores.redis import RedisStore
        except ImportError:
            raise ConfigurationError(f"{REDIS_URL_ENV} is set: pip install 'rolltoken[redis]'") from None

        try:
            redis_store = RedisStore.from_url(redis_url)
        except ValueError as e:
            raise ConfigurationError(f"{REDIS_URL_ENV} is not a Redis URL: {e}") from None
        return redis_store, f"sessions in Redis ({REDIS_URL_ENV})", redis_store.client.close
    if database_url:
        try:
            from ..stores.postgres import PostgresStore
        except ImportError:
            raise ConfigurationError(f"{DATABASE_URL_ENV} is set: pip install 'rolltoken[postgres]'") from None

        try:
            pg_store = PostgresStore.connect(database_url, wait=True)
        except ValueError as e:
            raise ConfigurationError(f"{DATABASE_URL_ENV} is not a PostgreSQL URL: {e}") from None
        try:
            pg_store.migrate()
        except BaseException:
            pg_store.close()
            raise
        return pg_store, f"sessions in PostgreSQL ({DATABASE_URL_ENV})", pg_store.close
    return None, "sessions in memory", lambda: None


def make_server(host: str, port: int, app: DemoApp) -> DemoServer:
    """A bound threading server for ``app`` (not yet serving); port 0 picks a free one."""
    cls = _DemoServer6 if ":" in host else DemoServer
    server = cls((host.strip("[]"), port), _Handler)
    server.set_app(app)
    return server


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def startup_line(url: str, app: DemoApp, keys_text: str, store_text: str = "sessions in memory") -> str:
    if app.insecure:
        cookie = (
            f'cookie "{app.cookie.name}" without Secure or the __Host- prefix '
            f"({INSECURE_ENV}=1: plain HTTP, for this machine only)"
        )
    else:
        cookie = (
            f'cookie "{app.cookie.name}" (Secure): browsers will not keep it over plain http://, '
            f"so set {INSECURE_ENV}=1 for local use or serve the demo behind HTTPS"
        )
    return (
        f"rolltoken demo: serving on {url}; {cookie}; {keys_text}; {store_text}, accounts "
        "in memory (a restart ends them); Ctrl-C stops"
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    allow_remote: bool = False,
    env: Optional[Mapping[str, str]] = None,
    policy: Optional[rt.Policy] = None,
    out: Optional[TextIO] = None,
) -> int:
    """Serves the demo until interrupted; returns the exit status (0). Refuses a non-loopback
    ``host`` unless ``allow_remote`` (:class:`rolltoken.ConfigurationError`)."""
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    if not 0 <= port <= 65535:
        raise ConfigurationError(f"port {port} is not in 0..65535")
    if not is_loopback(host) and not allow_remote:
        raise ConfigurationError(
            f"refusing to serve on {host}: not a loopback address (the demo is for this "
            "machine; pass --allow-remote to serve other machines)"
        )
    insecure = _truthy(env.get(INSECURE_ENV))
    keys, keys_text = load_keys(env)
    store, store_text, close_store = store_from_env(env)
    app = make_app(keys, policy, insecure=insecure, store=store)
    try:
        server = make_server(host, port, app)
    except OSError as e:
        close_store()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    bound = server.server_address[0]
    bound_host = bound.decode() if isinstance(bound, bytes) else str(bound)
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown}:{server.server_port}/"
    out.write(startup_line(url, app, keys_text, store_text) + "\n")
    if not is_loopback(host):
        out.write("rolltoken demo: WARNING: serving other machines" +
                  (" over plain HTTP with insecure cookies\n" if insecure else "\n"))
    out.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        out.write("rolltoken demo: stopped\n")
        out.flush()
    finally:
        server.server_close()
        close_store()
    return 0
