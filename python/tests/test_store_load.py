"""Load: a bounded run of advances through RedisStore and PostgresStore, next to the server's
own benchmark against the same server, at the same concurrency, in the same test.

For each store: log in ``clients × 8`` sessions, then ``clients`` threads (default 8) each
make a fixed number of advances (default 250, after one untimed warm-up advance per session)
through ``Sessions.handle(cookie, Kind.ADVANCE)`` on the sessions they own, so that every
advance wins (rule ``fresh``); each call is timed with ``time.perf_counter_ns``. Then the
server's own benchmark does the same work with the same number of clients:

- Redis: an advance is one ``GET`` of the record and one ``EVALSHA`` of the store's
  compare-and-swap script (``rolltoken.stores.redis._SAVE``: ``GET``, compare the version
  bytes, ``SET … PX``). ``redis-benchmark`` cannot alternate two commands, so it runs each
  as a custom command (``GET {prefix}__rand_int__`` and ``EVALSHA sha 1 {prefix}__rand_int__
  version record ttl`` over records whose version always matches, so every call writes);
  per client the two times add up, so the pair's rate is ``1 / (1/get + 1/evalsha)``. This
  is the reference of the ratio. ``-t set,get -d 128`` runs too, for comparison with the
  usual figures (a plain ``SET`` does less than the script).
- PostgreSQL: ``pgbench -n -M prepared -c clients -j 2 -t N -f advance.sql`` on a table made
  by ``migrate`` (the store's own layout), where the script is the store's load + CAS: ``SELECT
  record, version … WHERE session_id = … \\gset`` then ``UPDATE … SET … version = v + 1,
  record = … WHERE session_id = … AND version = v``, each statement its own (autocommit,
  fsynced) transaction as in the store, each pgbench client on rows of its own. No ``pgbench
  -i`` (TPC-B tables are not the workload compared).

Both servers are the session fixtures of conftest.py (Redis with AOF ``appendfsync always``,
PostgreSQL with ``fsync`` and ``synchronous_commit`` on), so the writes are durable in both
paths. A single-client pass (store path through a timing wrapper, and the server benchmark
with one client) splits an advance into the store's two round trips and rolltoken's own
work.

Assertions: correctness is hard (every advance proceeded as ``fresh``; each stored record's
counter is its number of advances; the server benchmark really did its compare-and-swap
writes); performance only for sanity (the run finished, the figures are finite, the ratio is
positive): never a timing threshold.

Figures: ``target/store-load.json`` (from the repository root) and a table on stdout
(``pytest -s``, or ``-rA``). ``ROLLTOKEN_LOAD_SCALE=10`` multiplies every count (for the
documentation's figures); ``ROLLTOKEN_LOAD_CLIENTS`` changes the concurrency (default 8).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple, cast

import redis

from rolltoken import Keyring, Policy, Sessions, decode_record
from rolltoken.stores.postgres import PostgresStore, migrate
from rolltoken.stores.redis import _SAVE, RedisStore

from loadrun import (
    AdvanceRun,
    Breakdown,
    Latency,
    PgBench,
    RedisBench,
    Row,
    Scale,
    Session,
    TimedStore,
    breakdown,
    cpu_sum,
    finite,
    loadavg,
    login_sessions,
    machine,
    pair,
    pgbench,
    redis_benchmark,
    run_advances,
    table,
    write_json,
)
from servers import PostgresServer, RedisServer, find_binary

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "target" / "store-load.json"
RESULTS: Dict[str, Any] = {}


def _keyring() -> Keyring:
    return Keyring([(1, os.urandom(32))], 1)


def _owned(logged: List[Session], scale: Scale) -> List[List[Session]]:
    k = scale.per_client_sessions
    return [logged[i * k : (i + 1) * k] for i in range(scale.clients)]


def _check_run(run: AdvanceRun, scale: Scale) -> None:
    """The hard assertions on the threaded run itself."""
    assert not run.errors, run.errors
    assert run.threads_finished == scale.clients
    assert run.bad_count == 0, f"{run.bad_count} advances did not proceed as fresh, e.g. {run.bad}"
    assert run.latency.count == scale.advances
    lat = run.latency
    assert finite(lat.wall_s, lat.per_s, lat.p50_us, lat.p99_us) and lat.per_s > 0 and lat.p99_us >= lat.p50_us > 0


def _check_counters(sessions: Sessions, logged: List[Session]) -> None:
    """Each stored record's counter is the number of advances made on its session."""
    wrong: List[Tuple[str, int, int]] = []
    for s in logged:
        raw = sessions.load_record(s.session_id)
        assert raw is not None, "a session's record is gone"
        record = decode_record(raw)
        assert record.is_active
        if record.counter != s.advances:
            wrong.append((record.log_id, record.counter, s.advances))
    assert not wrong, f"stored counter != advances made (log_id, stored, made): {wrong[:5]}"


def _sample(scale: Scale) -> int:
    return max(100, round(200 * scale.factor))


def _report(name: str, rows: List[Row], split: Breakdown, data: Dict[str, Any]) -> None:
    RESULTS["machine"] = machine()
    RESULTS["scale"] = {
        "factor": data["scale"].factor,
        "clients": data["scale"].clients,
        "sessions": data["scale"].sessions,
        "advances": data["scale"].advances,
    }
    env = [f"{k}={os.environ[k]}" for k in ("ROLLTOKEN_LOAD_SCALE", "ROLLTOKEN_LOAD_CLIENTS") if k in os.environ]
    RESULTS["command"] = " ".join([*env, os.path.basename(sys.executable), "-m", "pytest", *sys.argv[1:]])
    RESULTS[name] = {k: v for k, v in data.items() if k != "scale"}
    RESULTS[name]["loadavg_after"] = loadavg()
    write_json(OUT, RESULTS)
    text = table(rows)
    text += (
        f"\n1 client, per advance: {split.per_advance_us:.0f} µs = store.load {split.store_load_us:.0f}"
        f" + store.save {split.store_save_us:.0f} + rolltoken/driver {split.rest_us:.0f}"
    )
    print(f"\n== {name}: {data['scale'].clients} clients, {data['scale'].advances} advances ==\n{text}\n(-> {OUT})")


# ---------------------------------------------------------------------------------------------
# Redis


def _cmdstat_calls(client: redis.Redis, command: str) -> int:
    info = client.info("commandstats")
    entry = info.get(f"cmdstat_{command}")
    return int(entry["calls"]) if isinstance(entry, dict) else 0


def test_redis_store_load(redis_server: RedisServer) -> None:
    scale = Scale.from_env()
    prefix = f"rolltoken-load-{uuid.uuid4().hex[:8]}:"
    bench_prefix = f"{prefix}bench:"
    client = redis_server.client(socket_timeout=30.0)
    load_before = loadavg()
    try:
        store = RedisStore(client, prefix=prefix)
        keyring = _keyring()
        sessions = Sessions(keyring, Policy.default(), store=store)
        logged = login_sessions(sessions, scale.sessions)
        owned = _owned(logged, scale)

        pids = redis_server.pids
        run = run_advances(sessions, owned, scale.advances_per_client, warmup=scale.per_client_sessions, server_pids=pids)
        _check_run(run, scale)

        timed = TimedStore(store)
        split = breakdown(Sessions(keyring, Policy.default(), store=timed), timed, owned[0], _sample(scale), server_pids=pids)
        assert timed.loads == timed.saves == split.advances  # one GET and one EVALSHA each
        _check_counters(sessions, logged)

        # The server's own benchmark, same server, same clients: GET and the store's CAS script.
        version = "00000000"  # bytes 64..72 of the record: the version the CAS compares
        record = "r" * 64 + version + "r" * 56
        assert len(record) == 128
        with client.pipeline(transaction=False) as pipe:
            for i in range(scale.sessions):
                pipe.set(f"{bench_prefix}{i:012d}", record, px=3_600_000)
            pipe.execute()
        sha = str(cast(Callable[[str], Any], client.script_load)(_SAVE))
        key = f"{bench_prefix}__rand_int__"
        binary = find_binary("redis-benchmark")
        n, c, keys = scale.redis_requests, scale.clients, scale.sessions
        timeout = 120.0 * max(scale.factor, 1.0)

        def bench(clients: int, requests: int, command: List[str]) -> RedisBench:
            return redis_benchmark(
                binary, redis_server.port, clients, requests, command, keyspace=keys, timeout=timeout, server_pids=pids
            )[0]

        eval_cmd = ["EVALSHA", sha, "1", key, version, record, "3600000"]
        get = bench(c, n, ["GET", key])
        sets_before = _cmdstat_calls(client, "set")
        cas = bench(c, n, eval_cmd)
        # Every EVALSHA of the benchmark wrote (the CAS matched): one SET per call.
        assert _cmdstat_calls(client, "set") - sets_before == n
        assert client.get(f"{bench_prefix}{0:012d}") == record.encode()
        std = redis_benchmark(
            binary, redis_server.port, c, n, ["-t", "set,get", "-d", "128"], keyspace=keys, timeout=timeout, server_pids=pids
        )
        std_by = {r.test: r for r in std}
        get1 = bench(1, max(1000, n // 10), ["GET", key])
        cas1 = bench(1, max(1000, n // 10), eval_cmd)
    finally:
        try:
            client.delete(*[f"key:{i:012d}" for i in range(max(scale.sessions, 1))], "key:__rand_int__")
            for k in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(k)
        finally:
            client.close()

    ref = pair(get, cas)
    ref1 = pair(get1, cas1)
    plain = pair(std_by["GET"], std_by["SET"]) if "GET" in std_by and "SET" in std_by else None
    lat = run.latency
    ratio = lat.per_s / ref["pairs_per_s"]
    assert finite(ratio, ref["pairs_per_s"], get.rps, cas.rps) and ratio > 0
    single_per_s = 1e6 / split.per_advance_us
    nan = float("nan")
    rows: List[Row] = [
        ("RedisStore advance (Sessions.handle)", lat.per_s, lat.p50_us, lat.p99_us, run.cpu,
         f"ratio {ratio:.2f} of the next line"),
        ("redis-benchmark GET + EVALSHA(CAS)", ref["pairs_per_s"], ref["p50_us"], ref["p99_us"], cpu_sum(get.cpu, cas.cpu),
         "pairs/s; p50/p99: sums"),
        ("  redis-benchmark GET", get.rps, get.p50_us, get.p99_us, cpu_sum(get.cpu), "requests/s"),
        ("  redis-benchmark EVALSHA (CAS)", cas.rps, cas.p50_us, cas.p99_us, cpu_sum(cas.cpu), "requests/s"),
    ]
    if plain is not None:
        rows.append(("redis-benchmark -t get,set (pair)", plain["pairs_per_s"], plain["p50_us"], plain["p99_us"],
                     cpu_sum(std[0].cpu, std[0].cpu), f"ratio {lat.per_s / plain['pairs_per_s']:.2f}"))
    rows += [
        ("1 client: RedisStore advance", single_per_s, split.per_advance_us, nan, split.cpu, "mean µs in p50"),
        ("1 client: GET + EVALSHA(CAS)", ref1["pairs_per_s"], ref1["p50_us"], ref1["p99_us"], cpu_sum(get1.cpu, cas1.cpu),
         f"ratio {single_per_s / ref1['pairs_per_s']:.2f}"),
    ]  # fmt: skip
    _report(
        "redis",
        rows,
        split,
        {
            "scale": scale,
            "server": subprocess.run([redis_server.binary, "--version"], capture_output=True, text=True).stdout.strip(),
            "loadavg_before": load_before,
            "store": {"advance": run.latency, "cpu": run.cpu, "breakdown_1_client": split},
            "server_benchmark": {
                "command": f"redis-benchmark -h 127.0.0.1 -p PORT -c {c} -n {n} -r {keys} --csv"
                " (GET key | EVALSHA sha 1 key version record ttl | -t set,get -d 128)",
                "get": get,
                "evalsha_cas": cas,
                "pair": ref,
                "pair_cpu_per_pair": cpu_sum(get.cpu, cas.cpu),
                "set_get": std,
                "set_get_pair": plain,
                "one_client": {"get": get1, "evalsha_cas": cas1, "pair": ref1, "pair_cpu_per_pair": cpu_sum(get1.cpu, cas1.cpu)},
            },
            "ratio": ratio,
            "ratio_vs_set_get": lat.per_s / plain["pairs_per_s"] if plain else None,
            "ratio_1_client": single_per_s / ref1["pairs_per_s"],
        },
    )


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _pgbench_script(table_name: str, per_client: int) -> str:
    sid = "decode(lpad(to_hex(:id::bigint), 32, '0'), 'hex')"
    return (
        f"\\set id :client_id * {per_client} + random(0, {per_client - 1})\n"
        f"SELECT record AS rec, version AS v FROM {table_name} WHERE session_id = {sid} \\gset\n"
        "\\set nv :v + 1\n"
        f"UPDATE {table_name} SET subject = subject, parent = parent, version = :nv, record = :rec,"
        f" expires_at = expires_at, active = active WHERE session_id = {sid} AND version = :v;\n"
    )


def test_postgres_store_load(postgres_server: PostgresServer) -> None:
    scale = Scale.from_env()
    tag = uuid.uuid4().hex[:8]
    table_name, bench_table = f"load_{tag}", f"load_bench_{tag}"
    c = scale.clients
    store = PostgresStore.connect(postgres_server.dsn, table=table_name, timeout=30.0, min_size=c, max_size=c, wait=True)
    load_before = loadavg()
    pids = postgres_server.pids
    try:
        store.migrate()
        keyring = _keyring()
        sessions = Sessions(keyring, Policy.default(), store=store)
        logged = login_sessions(sessions, scale.sessions)
        owned = _owned(logged, scale)

        run = run_advances(sessions, owned, scale.advances_per_client, warmup=scale.per_client_sessions, server_pids=pids)
        _check_run(run, scale)

        timed = TimedStore(store)
        split = breakdown(Sessions(keyring, Policy.default(), store=timed), timed, owned[0], _sample(scale), server_pids=pids)
        assert timed.loads == timed.saves == split.advances  # one SELECT and one UPDATE each
        _check_counters(sessions, logged)

        # The server's own benchmark: the same load + CAS on a table of the same layout.
        k = scale.per_client_sessions
        migrate(store.pool, table=bench_table)
        with store.pool.connection() as conn:
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {bench_table} (session_id, subject, parent, version, record, expires_at, active)"
                    " VALUES (%s, %s, NULL, 0, %s, %s, true)",
                    [(i.to_bytes(16, "big"), os.urandom(16), os.urandom(128), 2**62) for i in range(c * k)],
                )
            conn.execute(f"VACUUM ANALYZE {bench_table}")
        binary = postgres_server.pgbench_path
        timeout = 120.0 * max(scale.factor, 1.0)
        t = scale.pgbench_transactions_per_client
        script = _pgbench_script(bench_table, k)
        pg = pgbench(
            binary, postgres_server.port, script, clients=c, threads=min(2, c), transactions=t, timeout=timeout,
            server_pids=pids,
        )  # fmt: skip
        # Every transaction loaded its row and won its compare-and-swap (rows are per client).
        with store.pool.connection() as conn:
            row = conn.execute(f"SELECT sum(version)::bigint, count(*) FROM {bench_table}").fetchone()
        assert row is not None and int(row[0]) == c * t and int(row[1]) == c * k
        assert pg.transactions == c * t and pg.failed == 0
        t1 = _sample(scale)
        pg1 = pgbench(
            binary, postgres_server.port, script, clients=1, threads=1, transactions=t1, timeout=timeout, server_pids=pids
        )
    finally:
        try:
            with postgres_server.connect(autocommit=True) as conn:
                conn.execute(f"DROP TABLE IF EXISTS {table_name}, {bench_table}")
        finally:
            store.close()

    lat = run.latency
    ratio = lat.per_s / pg.tps
    assert finite(ratio, pg.tps, pg.latency.p50_us, pg.latency.p99_us) and ratio > 0
    assert pg.latency.count == c * t
    single_per_s = 1e6 / split.per_advance_us
    rows: List[Row] = [
        ("PostgresStore advance (Sessions.handle)", lat.per_s, lat.p50_us, lat.p99_us, run.cpu,
         f"ratio {ratio:.2f} of the next line"),
        ("pgbench SELECT + UPDATE(CAS)", pg.tps, pg.latency.p50_us, pg.latency.p99_us, pg.cpu, "transactions/s"),
        ("1 client: PostgresStore advance", single_per_s, split.per_advance_us, float("nan"), split.cpu, "mean µs in p50"),
        ("1 client: pgbench SELECT + UPDATE", pg1.tps, pg1.latency.p50_us, pg1.latency.p99_us, pg1.cpu,
         f"ratio {single_per_s / pg1.tps:.2f}"),
    ]  # fmt: skip

    def bench_json(b: PgBench) -> Dict[str, Any]:
        return {
            "transactions": b.transactions,
            "failed": b.failed,
            "tps": b.tps,
            "latency": b.latency,
            "cpu": b.cpu,
            "statement_latencies_ms": b.statements_ms,
        }

    _report(
        "postgres",
        rows,
        split,
        {
            "scale": scale,
            "server": subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip(),
            "loadavg_before": load_before,
            "store": {"advance": run.latency, "cpu": run.cpu, "breakdown_1_client": split},
            "server_benchmark": {
                "command": f"pgbench -h 127.0.0.1 -p PORT -U postgres -n -M prepared -c {c} -j {min(2, c)}"
                f" -t {t} -r -l -f advance.sql",
                "script": script,
                "run": bench_json(pg),
                "one_client": bench_json(pg1),
            },
            "ratio": ratio,
            "ratio_1_client": single_per_s / pg1.tps,
        },
    )


def test_percentile_and_parsers() -> None:
    """The helpers the figures rest on, without servers."""
    from loadrun import parse_redis_csv, percentile

    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([5.0], 99) == 5.0
    rows = parse_redis_csv(
        '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n'
        '"GET","50000.00","0.150","0.050","0.143","0.200","0.300","1.000"\n'
    )
    assert [(r.test, r.rps, r.p50_us, r.p99_us) for r in rows] == [("GET", 50000.0, 143.0, 300.0)]
    two = pair(rows[0], rows[0])
    assert abs(two["pairs_per_s"] - 25000.0) < 1e-6 and two["p50_us"] == 286.0
    lat = Latency.of([3.0, 1.0, 2.0], 0.5)
    assert (lat.count, lat.per_s, lat.p50_us, lat.max_us) == (3, 6.0, 2.0, 3.0)
