"""Helpers of test_store_load.py: a bounded, threaded run of advances through a Sessions
façade, the servers' own benchmarks (redis-benchmark, pgbench) with their output parsed, and
the figures as a table and as JSON.

Nothing here asserts; the test decides what must hold.
"""

from __future__ import annotations

import csv
import glob
import math
import os
import platform
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from rolltoken import Kind, Outcome, Record, Rule, Sessions
from rolltoken.stores._protocol import SessionStore

HOST = "127.0.0.1"
USER_AGENT = "rolltoken-load/1"
IP = "127.0.0.1"


# ---------------------------------------------------------------------------------------------
# scale


@dataclass(frozen=True)
class Scale:
    """The run's size. ``ROLLTOKEN_LOAD_SCALE`` (default 1) multiplies the counts (advances,
    server-benchmark requests); the concurrency stays the same unless
    ``ROLLTOKEN_LOAD_CLIENTS`` sets it (the sessions follow: ``per_client`` each)."""

    factor: float
    clients: int
    per_client_sessions: int
    advances_per_client: int
    redis_requests: int  # per redis-benchmark test
    pgbench_transactions_per_client: int

    @property
    def sessions(self) -> int:
        return self.clients * self.per_client_sessions

    @property
    def advances(self) -> int:
        return self.clients * self.advances_per_client

    @classmethod
    def from_env(cls) -> Scale:
        factor = _positive_float(os.environ.get("ROLLTOKEN_LOAD_SCALE", "1"), "ROLLTOKEN_LOAD_SCALE")
        clients = int(_positive_float(os.environ.get("ROLLTOKEN_LOAD_CLIENTS", "8"), "ROLLTOKEN_LOAD_CLIENTS"))
        per_client = 250
        return cls(
            factor=factor,
            clients=clients,
            per_client_sessions=8,
            advances_per_client=max(1, round(per_client * factor)),
            redis_requests=max(1000, round(20_000 * factor)),
            pgbench_transactions_per_client=max(1, round(per_client * factor)),
        )


def _positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a positive number, not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, not {text!r}")
    return value


# ---------------------------------------------------------------------------------------------
# statistics


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 < q <= 100) of an ascending sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


@dataclass
class Latency:
    """Throughput and latency (µs) of a timed run."""

    count: int
    wall_s: float
    per_s: float
    mean_us: float
    p50_us: float
    p99_us: float
    max_us: float

    @classmethod
    def of(cls, latencies_us: Sequence[float], wall_s: float) -> Latency:
        values = sorted(latencies_us)
        n = len(values)
        return cls(
            count=n,
            wall_s=wall_s,
            per_s=n / wall_s if wall_s > 0 else math.nan,
            mean_us=sum(values) / n if n else math.nan,
            p50_us=percentile(values, 50),
            p99_us=percentile(values, 99),
            max_us=values[-1] if values else math.nan,
        )


# ---------------------------------------------------------------------------------------------
# CPU accounting (what limits a path: the client's CPU, the server's, or neither)

_TICK = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


def proc_cpu_s(pids: Sequence[int]) -> float:
    """CPU seconds (user + system, of reaped children too) of the processes pids, from
    /proc; a process that is gone counts 0 (a reaped one is in its parent's figures)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / _TICK


def children_cpu_s() -> float:
    """CPU seconds of this process's waited-for children (the benchmark tools)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class Cpu:
    """CPU spent by the client side and the server during a run of ops operations."""

    ops: int
    wall_s: float
    client_s: float
    server_s: float

    @property
    def client_us_per_op(self) -> float:
        return self.client_s * 1e6 / self.ops if self.ops else math.nan

    @property
    def server_us_per_op(self) -> float:
        return self.server_s * 1e6 / self.ops if self.ops else math.nan

    def summary(self) -> Dict[str, float]:
        return {
            "ops": self.ops,
            "wall_s": self.wall_s,
            "client_cpu_s": self.client_s,
            "server_cpu_s": self.server_s,
            "client_cpu_us_per_op": self.client_us_per_op,
            "server_cpu_us_per_op": self.server_us_per_op,
            "client_cores": self.client_s / self.wall_s if self.wall_s > 0 else math.nan,
            "server_cores": self.server_s / self.wall_s if self.wall_s > 0 else math.nan,
        }


class CpuMeter:
    """Samples the client's CPU (``client``: this process, or its waited-for children) and
    the server's (``server_pids()``, read again at each sample) around a run."""

    def __init__(self, server_pids: Callable[[], Sequence[int]], *, client: str = "self") -> None:
        self._server_pids = server_pids
        self._client = client
        self._t0 = 0.0
        self._c0 = 0.0
        self._s0 = 0.0

    def _client_s(self) -> float:
        return time.process_time() if self._client == "self" else children_cpu_s()

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._c0 = self._client_s()
        self._s0 = proc_cpu_s(self._server_pids())

    def stop(self, ops: int) -> Cpu:
        wall = time.perf_counter() - self._t0
        return Cpu(ops, wall, self._client_s() - self._c0, proc_cpu_s(self._server_pids()) - self._s0)


# ---------------------------------------------------------------------------------------------
# the store path


class TimedStore:
    """A store that forwards to ``inner`` and adds up the time spent in each call (for the
    single-threaded breakdown: store round trips vs everything else)."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self.load_ns = 0
        self.save_ns = 0
        self.loads = 0
        self.saves = 0

    def load(self, session_id: bytes, *, primary: bool = False) -> Optional[bytes]:
        t0 = time.perf_counter_ns()
        try:
            return self.inner.load(session_id, primary=primary)
        finally:
            self.load_ns += time.perf_counter_ns() - t0
            self.loads += 1

    def save(self, record: Record, expected_version: Optional[int], now_ms: int) -> None:
        t0 = time.perf_counter_ns()
        try:
            self.inner.save(record, expected_version, now_ms)
        finally:
            self.save_ns += time.perf_counter_ns() - t0
            self.saves += 1

    def delete(self, session_id: bytes) -> None:
        self.inner.delete(session_id)

    def list_by_subject(self, subject: bytes, now_ms: int) -> List[bytes]:
        return self.inner.list_by_subject(subject, now_ms)


@dataclass
class Session:
    """One logged-in session a client thread owns: its id, its current cookie, and how many
    advances were made on it."""

    session_id: bytes
    cookie: str
    advances: int = 0


@dataclass
class Bad:
    """An advance that did not proceed as ``fresh`` (the first few are kept)."""

    session_log_id: str
    rule: str
    proceed: bool
    detail: Optional[str]


@dataclass
class AdvanceRun:
    """What a run of advances did."""

    latency: Latency
    sessions: List[Session]
    cpu: Optional[Cpu] = None
    bad: List[Bad] = field(default_factory=list)
    bad_count: int = 0
    errors: List[str] = field(default_factory=list)
    threads_finished: int = 0


def login_sessions(sessions: Sessions, count: int, first_subject: int = 1) -> List[Session]:
    """``count`` logins, one subject each; the sessions with their first cookies."""
    out: List[Session] = []
    for i in range(count):
        outcome = sessions.login(first_subject + i, user_agent=USER_AGENT, ip=IP)
        if outcome.rule is not Rule.FRESH or outcome.token is None or outcome.view is None:
            raise AssertionError(f"login {i} answered {outcome.rule.value} ({outcome.detail})")
        out.append(Session(outcome.view.session_id, outcome.token))
    return out


def _advance(sessions: Sessions, s: Session) -> Outcome:
    return sessions.handle(s.cookie, Kind.ADVANCE, user_agent=USER_AGENT, ip=IP)


def run_advances(
    sessions: Sessions,
    owned: List[List[Session]],
    per_client: int,
    *,
    warmup: int = 0,
    server_pids: Callable[[], Sequence[int]] = lambda: [],
) -> AdvanceRun:
    """len(owned) client threads; thread i makes ``warmup`` untimed then ``per_client`` timed
    advances, round-robin over the sessions of owned[i] (nobody else touches them, so every
    advance should win: rule ``fresh``). Each timed call is measured with perf_counter_ns;
    the wall time runs from the common start to the last thread's end. The CPU of this
    process (all its threads) and of ``server_pids()`` is measured over the same span."""
    clients = len(owned)
    start = threading.Barrier(clients + 1)
    lock = threading.Lock()
    latencies: List[List[int]] = [[] for _ in range(clients)]
    ends: List[int] = [0] * clients
    run = AdvanceRun(latency=Latency.of([], 0.0), sessions=[s for group in owned for s in group])

    def note_bad(s: Session, o: Outcome) -> None:
        with lock:
            run.bad_count += 1
            if len(run.bad) < 10:
                run.bad.append(Bad(s.session_id.hex()[:8], o.rule.value, o.proceed, o.detail))

    def one(s: Session) -> int:
        t0 = time.perf_counter_ns()
        o = _advance(sessions, s)
        took = time.perf_counter_ns() - t0
        s.advances += 1
        if o.proceed and o.rule is Rule.FRESH and o.token is not None:
            s.cookie = o.token
        else:
            note_bad(s, o)
        return took

    def client(i: int) -> None:
        mine = owned[i]
        try:
            for j in range(warmup):
                one(mine[j % len(mine)])
            start.wait(timeout=60)
            out = latencies[i]
            for j in range(per_client):
                out.append(one(mine[(warmup + j) % len(mine)]))
            ends[i] = time.perf_counter_ns()
            with lock:
                run.threads_finished += 1
        except BaseException as e:  # reported by the test, never left to the thread hook
            with lock:
                run.errors.append(f"client {i}: {type(e).__name__}: {e}")
            start.abort()

    threads = [threading.Thread(target=client, args=(i,), name=f"load-{i}", daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    meter = CpuMeter(server_pids)
    try:
        start.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    meter.start()
    t0 = time.perf_counter_ns()
    for t in threads:
        t.join(timeout=600)
        if t.is_alive():
            run.errors.append(f"{t.name} did not finish within 600 s")
    if run.threads_finished == clients:
        wall_s = (max(ends) - t0) / 1e9
        run.latency = Latency.of([ns / 1000.0 for out in latencies for ns in out], wall_s)
        run.cpu = meter.stop(run.latency.count)
        run.cpu.wall_s = wall_s
    return run


@dataclass
class Breakdown:
    """One client alone: where the time of an advance goes."""

    advances: int
    per_advance_us: float
    store_load_us: float  # in store.load: the GET / SELECT round trip and its client library
    store_save_us: float  # in store.save: the EVALSHA / UPDATE round trip and its client library
    rest_us: float  # rolltoken itself: token check, engine decision, driver, decode/encode
    cpu: Optional[Cpu] = None


def breakdown(
    sessions: Sessions,
    timed: TimedStore,
    owned: List[Session],
    advances: int,
    *,
    server_pids: Callable[[], Sequence[int]] = lambda: [],
) -> Breakdown:
    """``advances`` advances from this thread alone, over a façade whose store is ``timed``."""
    meter = CpuMeter(server_pids)
    meter.start()
    t0 = time.perf_counter_ns()
    for j in range(advances):
        s = owned[j % len(owned)]
        o = _advance(sessions, s)
        s.advances += 1
        if o.token is not None and o.proceed:
            s.cookie = o.token
    total = time.perf_counter_ns() - t0
    cpu = meter.stop(advances)
    n = max(advances, 1)
    load_us = timed.load_ns / 1000.0 / n
    save_us = timed.save_ns / 1000.0 / n
    per = total / 1000.0 / n
    return Breakdown(advances, per, load_us, save_us, per - load_us - save_us, cpu)


# ---------------------------------------------------------------------------------------------
# processes


def run_tool(argv: List[str], *, timeout: float, cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> str:
    """argv's stdout; AssertionError (with its output) when it fails or overruns."""
    try:
        out = subprocess.run(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{os.path.basename(argv[0])}: not done within {timeout:g} s") from None
    text = out.stdout.decode(errors="replace")
    if out.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv[:3])} … exited {out.returncode}:\n{text[-2000:]}\n{out.stderr.decode(errors='replace')[-2000:]}"
        )
    return text


# ---------------------------------------------------------------------------------------------
# redis-benchmark


@dataclass
class RedisBench:
    """One redis-benchmark test (its --csv row): requests/s and latencies in µs."""

    test: str
    rps: float
    avg_us: float
    p50_us: float
    p99_us: float
    max_us: float
    cpu: Optional[Cpu] = None  # of the whole redis-benchmark invocation


def parse_redis_csv(text: str) -> List[RedisBench]:
    """The rows of ``redis-benchmark --csv`` (redis 6+: test, rps, avg, min, p50, p95, p99,
    max; latencies in ms)."""
    rows = list(csv.reader(line for line in text.splitlines() if line.startswith('"')))
    if not rows:
        return []
    header = rows[0]
    if header[0] != "test":
        raise AssertionError(f"unexpected redis-benchmark CSV header: {header}")
    col = {name: i for i, name in enumerate(header)}
    out = []
    for row in rows[1:]:
        ms = {name: float(row[i]) for name, i in col.items() if name != "test"}
        out.append(
            RedisBench(
                test=row[0],
                rps=ms["rps"],
                avg_us=ms["avg_latency_ms"] * 1000.0,
                p50_us=ms["p50_latency_ms"] * 1000.0,
                p99_us=ms["p99_latency_ms"] * 1000.0,
                max_us=ms["max_latency_ms"] * 1000.0,
            )
        )
    return out


def redis_benchmark(
    binary: str,
    port: int,
    clients: int,
    requests: int,
    command: Sequence[str],
    *,
    keyspace: int,
    timeout: float,
    server_pids: Callable[[], Sequence[int]] = lambda: [],
) -> List[RedisBench]:
    """``redis-benchmark -c clients -n requests -r keyspace --csv`` and ``command`` (``-t
    tests …`` or a custom command, with ``__rand_int__`` in its key); with the CPU of
    redis-benchmark and of ``server_pids()`` over the invocation."""
    argv = [binary, "-h", HOST, "-p", str(port), "-c", str(clients), "-n", str(requests), "-r", str(keyspace), "--csv",
            *command]  # fmt: skip
    meter = CpuMeter(server_pids, client="children")
    meter.start()
    rows = parse_redis_csv(run_tool(argv, timeout=timeout))
    cpu = meter.stop(requests * max(len(rows), 1))
    if not rows:
        raise AssertionError(f"redis-benchmark printed no results for {' '.join(command)[:60]}")
    for row in rows:
        row.cpu = cpu
    return rows


def pair(first: RedisBench, second: RedisBench) -> Dict[str, float]:
    """Two commands one after the other by each of the same clients (an advance: a GET then
    the save): requests/s combine harmonically (the per-client times add up); the latencies
    are the sums of the two percentiles (an approximation: the percentile of a sum is not
    the sum of the percentiles)."""
    return {
        "pairs_per_s": 1.0 / (1.0 / first.rps + 1.0 / second.rps),
        "mean_us": first.avg_us + second.avg_us,
        "p50_us": first.p50_us + second.p50_us,
        "p99_us": first.p99_us + second.p99_us,
    }


# ---------------------------------------------------------------------------------------------
# pgbench


@dataclass
class PgBench:
    """A pgbench run: transactions/s and per-transaction latencies (µs, from its -l log)."""

    transactions: int
    failed: int
    tps: float
    latency: Latency
    statements_ms: List[Tuple[float, str]]
    output: str
    cpu: Optional[Cpu] = None


_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)
_PROCESSED = re.compile(r"^number of transactions actually processed: (\d+)", re.M)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)


def parse_pgbench(output: str, log_prefix: str) -> PgBench:
    """pgbench's summary (tps, processed, failed, -r statement latencies) and its -l
    per-transaction log files ``{log_prefix}.PID[.THREAD]`` (field 3: latency in µs)."""
    tps = _TPS.search(output)
    processed = _PROCESSED.search(output)
    if tps is None or processed is None:
        raise AssertionError(f"unexpected pgbench output:\n{output[-2000:]}")
    failed = _FAILED.search(output)
    statements: List[Tuple[float, str]] = []
    in_statements = False
    for line in output.splitlines():
        if line.startswith("statement latencies"):
            in_statements = True
            continue
        if in_statements:
            parts = line.split()
            if not parts:
                continue
            try:
                ms = float(parts[0])
            except ValueError:
                in_statements = False
                continue
            rest = parts[2:] if len(parts) > 2 and parts[1].isdigit() else parts[1:]  # PG15: failures column
            statements.append((ms, " ".join(rest)[:70]))
    latencies: List[float] = []
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    for path in glob.glob(glob.escape(log_prefix) + ".*"):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) < 6 or not fields[2].lstrip("-").isdigit():
                    continue
                latencies.append(float(fields[2]))
                ts = int(fields[4]) + int(fields[5]) / 1e6  # end of the transaction
                first_ts = ts if first_ts is None else min(first_ts, ts)
                last_ts = ts if last_ts is None else max(last_ts, ts)
    n = int(processed.group(1))
    rate = float(tps.group(1))
    wall = n / rate if rate > 0 else math.nan
    return PgBench(
        transactions=n,
        failed=int(failed.group(1)) if failed else 0,
        tps=rate,
        latency=Latency.of(latencies, wall),
        statements_ms=statements,
        output=output,
    )


def pgbench(
    binary: str,
    port: int,
    script: str,
    *,
    clients: int,
    threads: int,
    transactions: int,
    timeout: float,
    server_pids: Callable[[], Sequence[int]] = lambda: [],
) -> PgBench:
    """``pgbench -n -M prepared -c clients -j threads -t transactions -r -l -f script`` as the
    superuser postgres against 127.0.0.1:port, database postgres; with the CPU of pgbench and
    of ``server_pids()`` over the invocation (connection setup included)."""
    with tempfile.TemporaryDirectory(prefix="rolltoken-pgbench-") as d:
        path = os.path.join(d, "advance.sql")
        with open(path, "w") as f:
            f.write(script)
        prefix = os.path.join(d, "log")
        argv = [binary, "-h", HOST, "-p", str(port), "-U", "postgres", "-n", "-M", "prepared",
                "-c", str(clients), "-j", str(threads), "-t", str(transactions), "-r", "-l",
                f"--log-prefix={prefix}", "-f", path, "postgres"]  # fmt: skip
        env = dict(os.environ, PGCONNECT_TIMEOUT="10", PGAPPNAME="rolltoken-load")
        meter = CpuMeter(server_pids, client="children")
        meter.start()
        output = run_tool(argv, timeout=timeout, cwd=d, env=env)
        cpu = meter.stop(clients * transactions)
        result = parse_pgbench(output, prefix)
        result.cpu = cpu
        return result


# ---------------------------------------------------------------------------------------------
# reporting


def machine() -> Dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": loadavg(),
    }


def loadavg() -> str:
    """/proc/loadavg (other work on the machine shows here)."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return ""


def finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def to_json(value: Any) -> Any:
    """Dataclasses as dicts (a Cpu as its summary), floats rounded; NaN/inf as null."""
    if isinstance(value, Cpu):
        return to_json(value.summary())
    if hasattr(value, "__dataclass_fields__"):
        return {f: to_json(getattr(value, f)) for f in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    return value


Row = Tuple[str, float, float, float, Optional[Cpu], str]


def cpu_sum(*parts: Optional[Cpu]) -> Optional[Cpu]:
    """The CPU per op of ops made of one op of each part (a GET then an EVALSHA), as one Cpu
    of 1 op (wall: the sum of the parts' per-op wall times)."""
    if any(p is None or not p.ops for p in parts):
        return None
    ps = [p for p in parts if p is not None]
    return Cpu(
        1,
        sum(p.wall_s / p.ops for p in ps),
        sum(p.client_s / p.ops for p in ps),
        sum(p.server_s / p.ops for p in ps),
    )


def table(rows: Sequence[Row]) -> str:
    """A fixed-width table: label, per second, p50 µs, p99 µs, CPU µs per op of the client
    side and of the server, note."""
    head = f"{'':40} {'per s':>7} {'p50 µs':>7} {'p99 µs':>7} {'cli CPU':>8} {'srv CPU':>8}  "
    lines = [head, "-" * (len(head) + 30)]
    for label, per_s, p50, p99, cpu, note in rows:
        c = f"{cpu.client_us_per_op:8.0f} {cpu.server_us_per_op:8.0f}" if cpu is not None else f"{'':8} {'':8}"
        p99s = f"{p99:7.0f}" if math.isfinite(p99) else f"{'-':>7}"
        lines.append(f"{label:40} {per_s:7.0f} {p50:7.0f} {p99s} {c}  {note}")
    lines.append("(cli/srv CPU: µs of CPU per advance (pair, transaction) in the client process(es) / the server)")
    return "\n".join(lines)


def write_json(path: Path, data: Dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    import json

    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_json(data), indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
