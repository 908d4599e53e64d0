#!/usr/bin/env python3
"""The ASGI middleware next to Starlette's ``SessionMiddleware``, in the same minimal Starlette
app, under the same bounded load on loopback.

One app, three ways (``app(variant)`` below):

- ``baseline``: no session middleware; the endpoint answers a constant JSON body.
- ``rolltoken``: :class:`rolltoken.asgi.RolltokenMiddleware` over an in-memory
  :class:`rolltoken.Sessions` (``CookieConfig.insecure_local()``: plain HTTP). Every measured
  request is a page load (``Sec-Fetch-Mode: navigate``), so it **rolls**: load, decide, mint,
  CAS save, a new ``Set-Cookie``; each client carries the cookie the previous response set.
  The endpoint reads the session (``scope["rolltoken"].view``).
- ``starlette``: ``starlette.middleware.sessions.SessionMiddleware`` (itsdangerous
  ``TimestampSigner`` over base64 JSON). The endpoint reads the session and writes one value
  (a request count), so the cookie is re-signed and set on every response, as rolltoken's is.

Every client logs in first (``POST /login``: rolltoken ``ctx.login(42)``, Starlette
``session["user"] = 42``), outside the measurement; every measured response must be 200 and
show user 42, and for both middlewares must set the session cookie.

Two measurements:

1. **HTTP** (the issue's): uvicorn (one worker, ``httptools`` when installed, else ``h11``),
   one child process per app on 127.0.0.1, all three up for the whole run; the load comes from
   this process: ``--clients`` concurrent asyncio clients per app, each on its own keep-alive
   connection (``TCP_NODELAY``, one write per request), logged in once, closed loop. Each of
   ``--rounds`` rounds runs one burst of ``--requests`` requests per app, back to back, in an
   order rotated every round (a burst of load on this shared box then hits all three alike).
   Per app: the median over rounds of requests/s and of p50/p99 latency. The cost a middleware
   adds per request is the server time per request over the baseline's,
   ``1/rps - 1/rps_baseline``, and the ratio is rolltoken's added cost / Starlette's (< 1:
   rolltoken adds less).
2. **In process** (no sockets, no server, the least noisy): the same Starlette app called as
   an ASGI callable in a loop, one session rolled request after request; median µs per
   request over interleaved rounds, and the cost added over the baseline.

    target/py-venv/bin/python python/bench/asgi_load.py [--requests 2000] [--clients 16] [--rounds 5]

Merges its section (``"asgi"``) into target/bench/python.json (``micro.py`` writes ``"micro"``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

VARIANTS = ("baseline", "rolltoken", "starlette")
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
# A page load: rolltoken's core classifies it as an advance (Fetch Metadata).
PAGE_HEADERS = [
    ("User-Agent", USER_AGENT),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Sec-Fetch-Mode", "navigate"),
    ("Sec-Fetch-Site", "same-origin"),
    ("Sec-Fetch-Dest", "document"),
]
SUBJECT = 42
STARLETTE_SECRET = "bench-secret-" + "5a" * 16


def cookie_name(variant: str) -> Optional[str]:
    if variant == "rolltoken":
        import rolltoken

        return rolltoken.CookieConfig.insecure_local().name
    if variant == "starlette":
        return "session"
    return None


# ----------------------------------------------------------------------------------------------
# The app


def app(variant: str) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    middleware: List[Any] = []
    if variant == "baseline":

        async def page(request: Request) -> JSONResponse:
            return JSONResponse({"user": SUBJECT, "n": 0})

        async def login(request: Request) -> JSONResponse:
            return JSONResponse({"user": SUBJECT})

    elif variant == "rolltoken":
        import rolltoken
        from rolltoken.asgi import RolltokenMiddleware

        sessions = rolltoken.Sessions(rolltoken.Keyring([(1, os.urandom(32))], minting_id=1))
        middleware = [
            Middleware(RolltokenMiddleware, sessions=sessions, cookie=rolltoken.CookieConfig.insecure_local())
        ]

        async def page(request: Request) -> JSONResponse:
            ctx = request.scope["rolltoken"]
            view = ctx.view
            user = int.from_bytes(view.subject, "big") if view is not None and view.authenticated else None
            return JSONResponse({"user": user, "n": view.counter if view is not None else None})

        async def login(request: Request) -> JSONResponse:
            request.scope["rolltoken"].login(SUBJECT)
            return JSONResponse({"user": SUBJECT})

    elif variant == "starlette":
        from starlette.middleware.sessions import SessionMiddleware

        middleware = [Middleware(SessionMiddleware, secret_key=STARLETTE_SECRET)]

        async def page(request: Request) -> JSONResponse:
            session = request.session
            n = session.get("n", 0) + 1
            session["n"] = n  # one write: the cookie is re-signed on every response
            return JSONResponse({"user": session.get("user"), "n": n})

        async def login(request: Request) -> JSONResponse:
            request.session["user"] = SUBJECT
            return JSONResponse({"user": SUBJECT})

    else:
        raise SystemExit(f"unknown variant {variant!r}")
    routes = [Route("/", page), Route("/login", login, methods=["POST"])]
    return Starlette(routes=routes, middleware=middleware)


def http_impl() -> str:
    try:
        import httptools  # noqa: F401

        return "httptools"
    except ImportError:
        return "h11"


def serve(variant: str) -> None:
    """Child process: uvicorn on 127.0.0.1 and a free port; prints the port, serves until killed."""
    import uvicorn

    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says TCP (proto 0 would leave Nagle on: ~40 ms per keep-alive response, as the
    # response goes out in two writes and the client delays its ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app(variant),
        http=http_impl(),
        loop="asyncio",
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=1,
        timeout_keep_alive=3600,  # a client's connection idles while the other apps' bursts run
        backlog=256,
    )
    server = uvicorn.Server(config)
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


# ----------------------------------------------------------------------------------------------
# The load: closed-loop asyncio clients on keep-alive connections


class Client:
    def __init__(self, port: int, name: Optional[str]) -> None:
        self.port = port
        self.name = name
        self.cookie: Optional[str] = None
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter
        self.set_cookies = 0
        self.bad: List[str] = []

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self.writer.close()

    async def request(self, method: str, path: str) -> Tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in PAGE_HEADERS]
        if self.cookie is not None and self.name is not None:
            lines.append(f"Cookie: {self.name}={self.cookie}")
        if method == "POST":
            lines.append("Content-Length: 0")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = 0
        for line in header_lines:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "set-cookie" and self.name is not None:
                nv = v.strip().split(";", 1)[0]
                n, _, val = nv.partition("=")
                if n == self.name:
                    self.set_cookies += 1
                    self.cookie = val if val and "max-age=0" not in v.lower() else None
        body = await self.reader.readexactly(length) if length else b""
        return status, body


class Load:
    """One variant's clients: connected and logged in once, then driven in bursts."""

    def __init__(self, port: int, pid: int, variant: str, clients: int) -> None:
        self.pid = pid
        self.variant = variant
        self.name = cookie_name(variant)
        self.clients = [Client(port, self.name) for _ in range(clients)]

    async def start(self, warmup: int, timeout_s: float) -> None:
        for c in self.clients:
            await c.connect()
        for c in self.clients:  # every client logs in (not measured)
            status, _ = await c.request("POST", "/login")
            assert status == 200, f"{self.variant}: login answered {status}"
            assert self.name is None or c.cookie is not None, f"{self.variant}: login set no cookie"
        await asyncio.wait_for(asyncio.gather(*(self._drive(c, warmup, None) for c in self.clients)), timeout_s)
        self._check(None)

    def close(self) -> None:
        for c in self.clients:
            c.close()

    async def _drive(self, c: Client, n: int, lat: Optional[List[int]]) -> None:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            status, body = await c.request("GET", "/")
            t1 = time.perf_counter_ns()
            if lat is not None:
                lat.append(t1 - t0)
            if status != 200:
                c.bad.append(f"status {status}: {body[:200]!r}")
            elif json.loads(body).get("user") != SUBJECT:
                c.bad.append(f"session lost: {body[:200]!r}")

    def _check(self, requests: Optional[int]) -> None:
        bad = [b for c in self.clients for b in c.bad]
        if bad:
            raise SystemExit(f"asgi_load: {self.variant}: {len(bad)} bad responses, first: {bad[0]}")
        set_cookies = sum(c.set_cookies for c in self.clients)
        if requests is not None and self.name is not None and set_cookies != requests:
            raise SystemExit(f"asgi_load: {self.variant}: {set_cookies} Set-Cookie for {requests} requests")
        for c in self.clients:
            c.set_cookies = 0

    def server_cpu_ns(self) -> int:
        """CPU time the server process has run, all threads (``/proc/PID/task/*/schedstat``:
        nanoseconds; else utime + stime from ``/proc/PID/stat``, in clock ticks)."""
        total = 0
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            return total
        except (OSError, ValueError, IndexError):
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")

    async def burst(self, requests: int, timeout_s: float) -> Dict[str, Any]:
        """``requests`` requests spread over the clients, all at once (closed loop): throughput
        and latency percentiles."""
        k = len(self.clients)
        per = [requests // k + (1 if i < requests % k else 0) for i in range(k)]
        lats: List[List[int]] = [[] for _ in self.clients]
        gc.collect()
        gc.disable()
        cpu0 = self.server_cpu_ns()
        own0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(self._drive(c, n, lt) for c, n, lt in zip(self.clients, per, lats))), timeout_s
            )
        finally:
            gc.enable()
        wall = time.perf_counter_ns() - t0
        own = time.process_time_ns() - own0
        cpu = self.server_cpu_ns() - cpu0
        self._check(requests)
        all_lat = sorted(x for lt in lats for x in lt)

        def pct(p: float) -> float:
            return all_lat[min(len(all_lat) - 1, int(p * len(all_lat)))] / 1e6

        return {
            "server_cpu_us_per_request": cpu / requests / 1000,
            "client_cpu_us_per_request": own / requests / 1000,
            "server_cpu_share": cpu / wall,  # of one core: < 1 means the server was not the limit
            "rps": requests / (wall / 1e9),
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": all_lat[-1] / 1e6,
        }


def start_server(variant: str) -> Tuple["subprocess.Popen[str]", int]:
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", variant],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise SystemExit(f"asgi_load: the {variant} server did not start")
    port = int(line)
    deadline = time.monotonic() + 10
    while True:  # uvicorn prints nothing at log level warning: wait until it accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit(f"asgi_load: the {variant} server does not accept")
            time.sleep(0.02)
    return proc, port


def stop_server(proc: "subprocess.Popen[str]") -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def added_ratio(a_rt: float, a_st: float) -> Optional[float]:
    """rolltoken's added cost over Starlette's; None when Starlette's is not above zero (the
    difference drowned in noise: no ratio can be formed)."""
    return a_rt / a_st if a_st > 0 else None


async def http_rounds(servers: Dict[str, Tuple[int, int]], args: argparse.Namespace) -> Dict[str, List[Dict[str, Any]]]:
    loads = {v: Load(port, pid, v, args.clients) for v, (pid, port) in servers.items()}
    for load in loads.values():
        await load.start(args.warmup, args.timeout)
    rounds: Dict[str, List[Dict[str, Any]]] = {v: [] for v in VARIANTS}
    try:
        for r in range(args.rounds):
            order = VARIANTS[r % 3 :] + VARIANTS[: r % 3]  # rotated: no variant always goes first
            for variant in order:
                res = await loads[variant].burst(args.requests, args.timeout)
                rounds[variant].append(res)
                print(
                    f"asgi http round {r + 1}/{args.rounds} {variant:<10} {res['rps']:8.0f} req/s  "
                    f"p50 {res['p50_ms']:6.2f} ms  p99 {res['p99_ms']:6.2f} ms  "
                    f"server CPU {res['server_cpu_us_per_request']:6.1f} µs/req "
                    f"({res['server_cpu_share']:.0%} of a core), client CPU {res['client_cpu_us_per_request']:5.1f} µs/req",
                    file=sys.stderr,
                )
    finally:
        for load in loads.values():
            load.close()
    return rounds


def http_bench(args: argparse.Namespace) -> Dict[str, Any]:
    servers = {v: start_server(v) for v in VARIANTS}
    try:
        rounds = asyncio.run(http_rounds({v: (proc.pid, port) for v, (proc, port) in servers.items()}, args))
    finally:
        for proc, _ in servers.values():
            stop_server(proc)
    out: Dict[str, Any] = {"variants": {}}
    keys = ("server_cpu_us_per_request", "client_cpu_us_per_request", "server_cpu_share", "rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")
    for variant, rs in rounds.items():
        med: Dict[str, Any] = {k: statistics.median(x[k] for x in rs) for k in keys}
        med["us_per_request"] = 1e6 / med["rps"]
        med["rps_per_round"] = [round(x["rps"], 1) for x in rs]
        med["p99_ms_per_round"] = [round(x["p99_ms"], 3) for x in rs]
        med["server_cpu_us_per_round"] = [round(x["server_cpu_us_per_request"], 2) for x in rs]
        out["variants"][variant] = med
    v = out["variants"]
    base = v["baseline"]
    for mw in ("rolltoken", "starlette"):
        v[mw]["added_cpu_us_per_request"] = v[mw]["server_cpu_us_per_request"] - base["server_cpu_us_per_request"]
        v[mw]["added_us_per_request"] = v[mw]["us_per_request"] - base["us_per_request"]
        v[mw]["added_p50_ms"] = v[mw]["p50_ms"] - base["p50_ms"]
        v[mw]["added_p99_ms"] = v[mw]["p99_ms"] - base["p99_ms"]
        v[mw]["rps_vs_baseline"] = v[mw]["rps"] / base["rps"]
    rt, st = v["rolltoken"], v["starlette"]
    # The decision: server CPU time per request (what the middleware costs the server; on this
    # shared box wall-clock throughput also moves with other processes' load).
    ratio = added_ratio(rt["added_cpu_us_per_request"], st["added_cpu_us_per_request"])
    out["added_ratio_rolltoken_over_starlette"] = ratio
    out["added_ratio_per_round"] = [
        added_ratio(r["server_cpu_us_per_request"] - b["server_cpu_us_per_request"],
                    s_["server_cpu_us_per_request"] - b["server_cpu_us_per_request"])
        for b, r, s_ in zip(rounds["baseline"], rounds["rolltoken"], rounds["starlette"])
    ]
    # The same from throughput (1/rps - 1/rps0): noisier here, reported beside it.
    out["added_ratio_from_rps"] = added_ratio(rt["added_us_per_request"], st["added_us_per_request"])
    out["added_ratio_from_rps_per_round"] = [
        added_ratio(1e6 / r["rps"] - 1e6 / b["rps"], 1e6 / s_["rps"] - 1e6 / b["rps"])
        for b, r, s_ in zip(rounds["baseline"], rounds["rolltoken"], rounds["starlette"])
    ]
    out["rps_ratio_rolltoken_over_starlette"] = rt["rps"] / st["rps"]
    out["p99_ratio_rolltoken_over_starlette"] = rt["p99_ms"] / st["p99_ms"]
    out["target"] = (
        "rolltoken adds less per request than Starlette's SessionMiddleware: added server CPU time "
        "per request, rolltoken / Starlette < 1"
    )
    out["met"] = None if ratio is None else ratio < 1
    out["config"] = {
        "requests": args.requests,
        "clients": args.clients,
        "warmup_per_client": args.warmup,
        "rounds": args.rounds,
        "server": f"uvicorn {metadata.version('uvicorn')}, 1 worker, http={http_impl()}, loop=asyncio, 127.0.0.1, "
        "one child process per app, all three up for the whole run",
        "client": "asyncio in the parent process, one keep-alive connection per client, TCP_NODELAY, closed loop; "
        "each round runs one burst per app back to back, in rotated order",
    }
    return out


# ----------------------------------------------------------------------------------------------
# In process: the ASGI callable, no sockets


class Direct:
    """One browser calling the app as an ASGI callable: cookie in, Set-Cookie out."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.app = app(variant)
        self.name = cookie_name(variant)
        self.cookie: Optional[str] = None
        self.status = 0
        self.body = b""
        self.base_headers = [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS]
        self.base_headers.insert(0, (b"host", b"127.0.0.1:8000"))

    def scope(self, method: str, path: str) -> Dict[str, Any]:
        headers = list(self.base_headers)
        if self.cookie is not None and self.name is not None:
            headers.append((b"cookie", f"{self.name}={self.cookie}".encode("latin-1")))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    async def receive(self) -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(self, message: Dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for k, v in message.get("headers", ()):
                if k == b"set-cookie" and self.name is not None:
                    n, _, val = v.decode("latin-1").split(";", 1)[0].partition("=")
                    if n == self.name:
                        self.cookie = val or None
        elif message["type"] == "http.response.body":
            self.body = message.get("body", b"")

    async def call(self, method: str, path: str) -> None:
        await self.app(self.scope(method, path), self.receive, self.send)

    async def run(self, n: int) -> int:
        """``n`` requests; this process's CPU time in ns (single-threaded, gc off: the time the
        requests ran, not the time other processes on this shared box held the core)."""
        call = self.call
        t0 = time.process_time_ns()
        for _ in range(n):
            await call("GET", "/")
        return time.process_time_ns() - t0

    async def check(self) -> None:
        before = self.cookie
        await self.call("GET", "/")
        assert self.status == 200 and json.loads(self.body)["user"] == SUBJECT, (self.variant, self.body)
        assert self.name is None or (self.cookie is not None and self.cookie != before), self.variant


async def inprocess_bench(rounds: int, sample_ms: float) -> Dict[str, Any]:
    directs = {v: Direct(v) for v in VARIANTS}
    for d in directs.values():
        await d.call("POST", "/login")
        for _ in range(50):
            await d.check()
    counts = {}
    for v, d in directs.items():
        n = 16
        while (el := await d.run(n)) < sample_ms * 1e6 / 4:
            n *= 2
        counts[v] = max(1, int(n * sample_ms * 1e6 / el))
    samples: Dict[str, List[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for v, d in directs.items():
            gc.collect()
            gc.disable()
            try:
                el = await d.run(counts[v])
            finally:
                gc.enable()
            samples[v].append(el / counts[v] / 1000)
    for d in directs.values():
        await d.check()
    out: Dict[str, Any] = {"variants": {}}
    for v, xs in samples.items():
        out["variants"][v] = {"median_us": statistics.median(xs), "min_us": min(xs), "n_per_sample": counts[v]}
    base = out["variants"]["baseline"]["median_us"]
    for mw in ("rolltoken", "starlette"):
        out["variants"][mw]["added_us"] = out["variants"][mw]["median_us"] - base
    a_rt = out["variants"]["rolltoken"]["added_us"]
    a_st = out["variants"]["starlette"]["added_us"]
    ratio = added_ratio(a_rt, a_st)
    out["added_ratio_rolltoken_over_starlette"] = ratio
    out["added_ratio_per_round"] = [
        added_ratio(r - b, s - b) for b, r, s in zip(samples["baseline"], samples["rolltoken"], samples["starlette"])
    ]
    out["met"] = None if ratio is None else ratio < 1
    out["config"] = {"rounds": rounds, "sample_ms": sample_ms, "method": "await app(scope, receive, send) in a loop, one session, gc off, process CPU time"}
    return out


# ----------------------------------------------------------------------------------------------


def merge_write(path: Path, section: str, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: Dict[str, Any] = {}
    if path.exists():
        try:
            doc = json.loads(path.read_text())
        except ValueError:
            doc = {}
    doc[section] = data
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--requests", type=int, default=int(os.environ.get("ASGI_BENCH_REQUESTS", "2000")),
                    help="requests per burst (one burst per app per round)")
    ap.add_argument("--clients", type=int, default=int(os.environ.get("ASGI_BENCH_CLIENTS", "16")))
    ap.add_argument("--warmup", type=int, default=25, help="requests per client before timing")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ASGI_BENCH_ROUNDS", "5")))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds, per burst (bounds the run)")
    ap.add_argument("--inprocess-rounds", type=int, default=9)
    ap.add_argument("--inprocess-sample-ms", type=float, default=150.0)
    ap.add_argument("--out", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "bench", "python.json"))
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    t_start = time.monotonic()
    load0 = os.getloadavg()[0]
    inproc = asyncio.run(inprocess_bench(args.inprocess_rounds, args.inprocess_sample_ms))
    http = http_bench(args)
    versions = {"python": sys.version.split()[0]}
    for dist in ("rolltoken", "starlette", "uvicorn", "itsdangerous", "httptools"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    data = {
        "command": "target/py-venv/bin/python python/bench/asgi_load.py",
        "versions": versions,
        "loadavg_before_after": [load0, os.getloadavg()[0]],
        "seconds": round(time.monotonic() - t_start, 1),
        "http": http,
        "inprocess": inproc,
    }
    out = Path(args.out)
    merge_write(out, "asgi", data)

    hv = http["variants"]
    print(f"HTTP, {args.rounds} rounds of {args.requests} requests per app, {args.clients} clients; medians:")
    print(f"{'variant':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11} {'added CPU µs':>13} {'added wall µs':>14}")
    for name in VARIANTS:
        r = hv[name]
        a_cpu = f"{r['added_cpu_us_per_request']:13.1f}" if "added_cpu_us_per_request" in r else f"{'—':>13}"
        a_wall = f"{r['added_us_per_request']:14.1f}" if "added_us_per_request" in r else f"{'—':>14}"
        print(
            f"{name:<10} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{r['server_cpu_us_per_request']:11.1f} {a_cpu} {a_wall}"
        )
    ratio = http["added_ratio_rolltoken_over_starlette"]
    verdict = {True: "met", False: "MISSED", None: "inconclusive (Starlette added nothing measurable)"}

    def fr(x: Optional[float]) -> str:
        return "—" if x is None else f"{x:.2f}"

    print(
        f"added server CPU per request, rolltoken/starlette: {fr(ratio)} (rounds: "
        + ", ".join(fr(x) for x in http["added_ratio_per_round"])
        + f"); target < 1: {verdict[http['met']]}"
    )
    print(
        f"from throughput (1/rps - 1/rps0): {fr(http['added_ratio_from_rps'])} (rounds: "
        + ", ".join(fr(x) for x in http["added_ratio_from_rps_per_round"])
        + f"); req/s rolltoken/starlette {http['rps_ratio_rolltoken_over_starlette']:.2f}, "
        f"p99 rolltoken/starlette {http['p99_ratio_rolltoken_over_starlette']:.2f}"
    )
    iv = inproc["variants"]
    print(
        f"in process (µs/request): baseline {iv['baseline']['median_us']:.1f}, "
        f"rolltoken {iv['rolltoken']['median_us']:.1f} (+{iv['rolltoken']['added_us']:.1f}), "
        f"starlette {iv['starlette']['median_us']:.1f} (+{iv['starlette']['added_us']:.1f}); "
        f"added ratio {inproc['added_ratio_rolltoken_over_starlette'] or float('nan'):.2f}"
    )
    print(f"asgi_load: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
