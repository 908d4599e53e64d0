"""The rolltoken demo web app (standard library only): ``python -m rolltoken demo`` or
``python -m rolltoken.demo`` [``--host 127.0.0.1``] [``--port 8000``] [``--allow-remote``].

A WSGI app inside :class:`rolltoken.wsgi.RolltokenWSGI`, served by ``wsgiref`` with a thread
per request. Accounts (passwords hashed with ``hashlib.scrypt``), sessions and security events
live in memory. Routes (a stable contract, documented in ``python/README.md``):

========================  =============================================================
``GET /``                 a page (advances: the cookie rolls)
``GET|POST /register``    form fields ``username``, ``password``; success: 303 to ``/``,
                          logged in with a new session id
``GET|POST /login``       the same fields; success: 303 to ``/`` with a new session id
``POST /logout``          ends the session for every holder; 303 to ``/``, cookie cleared
``GET /fanout``           a page whose script fires 6 parallel ``GET /api/me``
``GET /api/me``           JSON ``authenticated``, ``username``, ``log_id`` (and ``rule``);
                          reads (never rolls, never sets a cookie)
``GET /security``         the account's sessions and security events
========================  =============================================================

POSTs from another site (``Sec-Fetch-Site``, else ``Origin`` against ``Host``) are refused
with 403. After a detected reuse, whoever presents the session's cookie gets the explanation
page (401). Set ``ROLLTOKEN_DEMO_INSECURE=1`` to drop ``Secure`` and ``__Host-`` for plain
HTTP on 127.0.0.1; keys come from ``ROLLTOKEN_KEYS`` or are random per run.
"""

from __future__ import annotations

from ._app import PAGES, DemoApp, cross_site
from ._server import DemoServer, is_loopback, load_keys, make_app, make_server, serve
from ._store import Store

__all__ = [
    "PAGES",
    "DemoApp",
    "DemoServer",
    "Store",
    "cross_site",
    "is_loopback",
    "load_keys",
    "make_app",
    "make_server",
    "serve",
]
