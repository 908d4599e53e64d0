#!/usr/bin/env python3
"""rolltoken through the Python wheel next to the libraries a Python user would otherwise pick,
measured side by side in ONE process run (compare ratios, not nanoseconds: shared 2-core box).

Per operation (every one checked to succeed before timing; equivalent inputs everywhere):

- ``rolltoken_verify_compact``: ``Keyring.verify(compact_token, counter)`` — the 49-character
  ``rtc1_`` token with the counter in hand (the record already loaded), as in the Rust
  ``verify_compact`` group.
- ``rolltoken_verify_full``: ``Keyring.verify(full_token)`` — the 115-character ``rtf1_`` token
  (claims inside, binding included).
- ``rolltoken_handle_compact`` / ``rolltoken_handle_full``: ``Sessions.handle(token,
  Kind.ADVANCE, user_agent=…, ip=…, now_ms=…)`` over the in-memory store holding 256 sessions,
  as a chain like the Rust ``advance_memory`` bench: every call presents the token the
  previous one rolled, 1 ms later (rule ``fresh`` each time: load, decide, mint, CAS save).
- ``pyjwt_decode``: ``jwt.decode(token, key, algorithms=["HS256"])`` of ``{sub, sid, ctr, iat,
  exp, bnd}`` (the full token's claims; PyJWT verifies the signature, ``alg`` and ``exp``).
- ``pyjwt_encode`` and ``pyjwt_roll`` (decode + encode of the next claims: what rolling a JWT
  costs, without any store — the peer of ``handle``).
- ``itsdangerous_loads``: ``URLSafeTimedSerializer.loads(token, max_age=3600)`` of the same
  claims (what Flask's and Starlette's session cookies use); ``itsdangerous_dumps``.
- floors (not targets): an empty loop iteration, a PyO3 call (``key_id in keyring``), the
  standard library's pre-keyed HMAC-SHA256 (``h.copy(); update; digest``) of the 29-byte
  compact MAC input.

Method: timed on this process's CPU time (``--clock cpu``, the default; ``--clock wall`` for
wall time), a hand-written loop per operation (``for _ in range(n): op(…)``, the loop counted in
every row alike, as ``timeit`` does), ``gc`` disabled while timing; ``n`` calibrated so a
sample lasts ~``--sample-ms``; ``--rounds`` rounds, each measuring every operation once in
turn (interleaved, so a burst of load on the box hits every row of a round alike). Per op:
min and median over rounds, in ns per call; ratios are of medians.

    target/py-venv/bin/python python/bench/micro.py [--rounds 15] [--out target/bench/python.json]

Merges its section (``"micro"``) into the JSON file (``asgi_load.py`` writes ``"asgi"``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import itsdangerous
import jwt

import rolltoken
from rolltoken import Claims, Keyring, Kind, Policy, Rule, Sessions

# The fixture of the Rust benches (benches/src/lib.rs).
SECRET = bytes([0x5A]) * 32
KEY_ID = 1
SESSION_ID = bytes([0x42]) * 16
SUBJECT = 42
COUNTER = 1_234
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
CLIENT_IP = "203.0.113.7"
T0 = 1_760_000_000_000  # ms
OTHER_SESSIONS = 255
MAX_AGE_S = 3600

Bench = Callable[[int], int]  # runs n ops, returns elapsed ns

# The clock of every sample: this process's CPU time by default (CLOCK_PROCESS_CPUTIME_ID: the
# time the loop ran, not the time other processes on this shared box held the core; the
# process is single-threaded and gc is off while timing), or wall time (--clock wall).
_clock = time.process_time_ns


def verify_compact_bench(keys: Keyring, token: str, counter: int) -> Bench:
    verify = keys.verify

    def run(n: int) -> int:
        t0 = _clock()
        for _ in range(n):
            verify(token, counter)
        return _clock() - t0

    return run


def verify_full_bench(keys: Keyring, token: str) -> Bench:
    verify = keys.verify

    def run(n: int) -> int:
        t0 = _clock()
        for _ in range(n):
            verify(token)
        return _clock() - t0

    return run


class Chain:
    """One session rolled by ``Sessions.handle``: each call presents the previous call's token,
    1 ms later. The state survives between samples, so every call is an advance on live state."""

    def __init__(self, form: str) -> None:
        keys = Keyring([(KEY_ID, SECRET)], minting_id=KEY_ID)
        self.sessions = Sessions(keys, Policy(form=form))
        for i in range(OTHER_SESSIONS):  # a populated store, as in the Rust fixture
            self.sessions.login(1_000 + i, user_agent=USER_AGENT, ip=CLIENT_IP, now_ms=T0)
        first = self.sessions.login(SUBJECT, user_agent=USER_AGENT, ip=CLIENT_IP, now_ms=T0)
        assert first.token is not None
        self.token: str = first.token
        self.now = T0
        self.steps = 0
        self.form = form
        self.run(2)
        self.check()

    def run(self, n: int) -> int:
        handle = self.sessions.handle
        advance = Kind.ADVANCE
        token, now = self.token, self.now
        t0 = _clock()
        for _ in range(n):
            now += 1
            token = handle(token, advance, user_agent=USER_AGENT, ip=CLIENT_IP, now_ms=now).token  # type: ignore[assignment]
        elapsed = _clock() - t0
        self.token, self.now, self.steps = token, now, self.steps + n
        return elapsed

    def check(self) -> None:
        """The last token is current and the last call was a plain advance (rule fresh)."""
        out = self.sessions.handle(self.token, Kind.READ, user_agent=USER_AGENT, ip=CLIENT_IP, now_ms=self.now + 1)
        assert out.proceed and out.rule in (Rule.CURRENT, Rule.FRESH), out.rule
        assert out.view is not None and out.view.counter == self.steps, (out.view, self.steps)
        assert len(self.token) == (49 if self.form == "compact" else 115)


def call_bench(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Bench:
    if kwargs:

        def run(n: int) -> int:
            t0 = _clock()
            for _ in range(n):
                fn(*args, **kwargs)
            return _clock() - t0

        return run
    if len(args) == 1:
        (a,) = args

        def run1(n: int) -> int:
            t0 = _clock()
            for _ in range(n):
                fn(a)
            return _clock() - t0

        return run1

    def runn(n: int) -> int:
        t0 = _clock()
        for _ in range(n):
            fn(*args)
        return _clock() - t0

    return runn


def contains_bench(keys: Keyring) -> Bench:
    """A PyO3 call that does next to nothing: ``key_id in keyring`` (the sq_contains slot)."""

    def run(n: int) -> int:
        t0 = _clock()
        for _ in range(n):
            KEY_ID in keys  # noqa: B015
        return _clock() - t0

    return run


def empty_loop(n: int) -> int:
    t0 = _clock()
    for _ in range(n):
        pass
    return _clock() - t0


def fixtures() -> Tuple[Dict[str, Bench], Callable[[], None]]:
    keys = Keyring([(KEY_ID, SECRET)], minting_id=KEY_ID)
    compact = keys.mint_compact(KEY_ID, SESSION_ID, COUNTER)
    assert len(compact) == 49 and keys.verify(compact, COUNTER).counter == COUNTER
    binding = keys.binding(KEY_ID, USER_AGENT, CLIENT_IP)
    now_s = int(time.time())
    claims = Claims(
        key_id=KEY_ID,
        session_id=SESSION_ID,
        counter=COUNTER,
        issued_at=now_s * 1000,
        expires_at=(now_s + 12 * 3600) * 1000,
        subject=SUBJECT,
        binding=binding,
        authenticated=True,
    )
    full = keys.mint_full(claims)
    assert len(full) == 115 and keys.verify(full) == claims

    # PyJWT / itsdangerous: the full token's claims, as the Rust bench gives jsonwebtoken.
    payload = {
        "sub": f"user-{SUBJECT:06d}",
        "sid": SESSION_ID.hex(),
        "ctr": COUNTER,
        "iat": now_s,
        "exp": now_s + 12 * 3600,
        "bnd": binding.hex(),
    }
    jwt_token = jwt.encode(payload, SECRET, algorithm="HS256")
    assert jwt.decode(jwt_token, SECRET, algorithms=["HS256"]) == payload

    def jwt_roll(token: str) -> str:
        c = jwt.decode(token, SECRET, algorithms=["HS256"])
        c["ctr"] += 1
        return jwt.encode(c, SECRET, algorithm="HS256")

    assert jwt.decode(jwt_roll(jwt_token), SECRET, algorithms=["HS256"])["ctr"] == COUNTER + 1
    ser = itsdangerous.URLSafeTimedSerializer(SECRET, salt="session")
    its_token = ser.dumps(payload)
    assert ser.loads(its_token, max_age=MAX_AGE_S) == payload

    mac_input = b"rtc1" + bytes([KEY_ID]) + SESSION_ID + COUNTER.to_bytes(8, "big")
    assert len(mac_input) == 29
    prekeyed = hmac.new(SECRET, digestmod=hashlib.sha256)

    def stdlib_hmac(msg: bytes) -> bytes:
        h = prekeyed.copy()
        h.update(msg)
        return h.digest()

    chain_compact = Chain("compact")
    chain_full = Chain("full")
    benches: Dict[str, Bench] = {
        "rolltoken_verify_compact": verify_compact_bench(keys, compact, COUNTER),
        "rolltoken_verify_full": verify_full_bench(keys, full),
        "rolltoken_handle_compact": chain_compact.run,
        "rolltoken_handle_full": chain_full.run,
        "pyjwt_decode": call_bench(jwt.decode, jwt_token, SECRET, algorithms=["HS256"]),
        "pyjwt_encode": call_bench(jwt.encode, payload, SECRET, algorithm="HS256"),
        "pyjwt_roll": call_bench(jwt_roll, jwt_token),
        "itsdangerous_loads": call_bench(ser.loads, its_token, max_age=MAX_AGE_S),
        "itsdangerous_dumps": call_bench(ser.dumps, payload),
        "floor_empty_loop": empty_loop,
        "floor_pyo3_call": contains_bench(keys),
        "floor_stdlib_hmac_prekeyed_29B": call_bench(stdlib_hmac, mac_input),
    }

    def checks() -> None:
        chain_compact.check()
        chain_full.check()

    return benches, checks


def calibrate(run: Bench, sample_ns: int) -> int:
    n = 1
    while True:
        elapsed = run(n)
        if elapsed >= sample_ns // 4 or n >= 1 << 24:
            return max(1, int(n * sample_ns / max(elapsed, 1)))
        n *= 4


# Ratios reported (name, slower op, faster op, target speed-up or None).
RATIOS = [
    ("verify_compact vs PyJWT decode", "pyjwt_decode", "rolltoken_verify_compact", 50.0),
    ("verify_full vs PyJWT decode", "pyjwt_decode", "rolltoken_verify_full", 50.0),
    ("verify_compact vs itsdangerous loads", "itsdangerous_loads", "rolltoken_verify_compact", None),
    ("verify_full vs itsdangerous loads", "itsdangerous_loads", "rolltoken_verify_full", None),
    ("handle (compact) vs PyJWT decode", "pyjwt_decode", "rolltoken_handle_compact", None),
    ("handle (compact) vs PyJWT decode+encode", "pyjwt_roll", "rolltoken_handle_compact", None),
    ("handle (full) vs PyJWT decode+encode", "pyjwt_roll", "rolltoken_handle_full", None),
    ("handle (compact) vs itsdangerous loads", "itsdangerous_loads", "rolltoken_handle_compact", None),
]


def versions() -> Dict[str, str]:
    out = {"python": platform.python_version(), "implementation": platform.python_implementation()}
    for dist in ("rolltoken", "PyJWT", "itsdangerous"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "?"
    import ssl

    out["openssl"] = ssl.OPENSSL_VERSION
    return out


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
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("PY_BENCH_ROUNDS", "15")))
    ap.add_argument("--sample-ms", type=float, default=float(os.environ.get("PY_BENCH_SAMPLE_MS", "100")))
    ap.add_argument("--clock", choices=("cpu", "wall"), default=os.environ.get("PY_BENCH_CLOCK", "cpu"))
    ap.add_argument("--out", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "bench", "python.json"))
    args = ap.parse_args()
    global _clock
    _clock = time.process_time_ns if args.clock == "cpu" else time.perf_counter_ns

    benches, checks = fixtures()
    sample_ns = int(args.sample_ms * 1e6)
    counts = {name: calibrate(run, sample_ns) for name, run in benches.items()}
    samples: Dict[str, List[float]] = {name: [] for name in benches}
    gc_was = gc.isenabled()
    t_start = time.monotonic()
    load0 = os.getloadavg()[0]
    for r in range(args.rounds):
        for name, run in benches.items():
            gc.collect()
            gc.disable()
            try:
                elapsed = run(counts[name])
            finally:
                if gc_was:
                    gc.enable()
            samples[name].append(elapsed / counts[name])
        print(f"micro: round {r + 1}/{args.rounds}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    checks()  # the chains are still rolling on live state

    results: Dict[str, Dict[str, Any]] = {}
    for name, xs in samples.items():
        results[name] = {
            "median_ns": statistics.median(xs),
            "min_ns": min(xs),
            "max_ns": max(xs),
            "n_per_sample": counts[name],
            "samples": len(xs),
        }
    ratios: List[Dict[str, Any]] = []
    for label, slow, fast, target in RATIOS:
        med = results[slow]["median_ns"] / results[fast]["median_ns"]
        best = results[slow]["min_ns"] / results[fast]["min_ns"]
        per_round = [a / b for a, b in zip(samples[slow], samples[fast])]
        ratios.append(
            {
                "name": label,
                "slower": slow,
                "faster": fast,
                "speedup": med,
                "speedup_of_mins": best,
                "speedup_range": [min(per_round), max(per_round)],
                "target": target,
                "met": (med >= target) if target is not None else None,
            }
        )
    data: Dict[str, Any] = {
        "method": (
            f"one process; hand-written loop per op, gc off; {args.rounds} interleaved rounds of "
            f"~{args.sample_ms:g} ms per op; {'process CPU time' if args.clock == 'cpu' else 'wall time'}; "
            "median (and min) ns per call over rounds"
        ),
        "command": "target/py-venv/bin/python python/bench/micro.py",
        "versions": versions(),
        "loadavg_before_after": [load0, os.getloadavg()[0]],
        "seconds": round(time.monotonic() - t_start, 1),
        "results": results,
        "ratios": ratios,
    }
    out = Path(args.out)
    merge_write(out, "micro", data)

    print(f"{'op':<34} {'median ns':>11} {'min ns':>11}")
    for name, res in results.items():
        print(f"{name:<34} {res['median_ns']:>11,.0f} {res['min_ns']:>11,.0f}")
    for rat in ratios:
        tgt = f"  target >= {rat['target']:g}x: {'met' if rat['met'] else 'MISSED'}" if rat["target"] else ""
        lo, hi = rat["speedup_range"]
        print(f"{rat['name']:<42} {rat['speedup']:7.1f}x faster (rounds {lo:.1f}-{hi:.1f}){tgt}")
    print(f"micro: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
