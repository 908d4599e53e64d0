#!/usr/bin/env python3
"""Writes BENCHMARKS.md and docs/benchmarks.png from the results of the last bench runs.

Inputs (each may be missing: its rows say "not run"):

- criterion: ``$CARGO_TARGET_DIR/criterion/<group>/<bench>/new/estimates.json`` (median point
  estimate, ns), from ``cargo bench -p rolltoken-benches`` (benches/rolltoken.rs and
  benches/ffi.rs);
- ``target/bench/go.json`` from ``bash go/bench/run.sh`` (ns/op per Go benchmark);
- ``target/bench/ffi.json`` from the C ABI bench's interleaved pass (``benches/benches/ffi.rs``);
- ``target/bench/python.json`` from ``python/bench/micro.py`` (section ``micro``) and
  ``python/bench/asgi_load.py`` (section ``asgi``);
- ``target/bench/run-info.json`` from ``benches/bench-all.sh`` (when the run started, each
  step's command and exit status): a result older than the run is marked stale.

Every ratio is of two figures measured side by side in the same run (the same criterion group,
the same Go run, the same Python process): this is a shared 2-core machine, so nanoseconds
move with the load and ratios much less. The targets are issue 7's.

    python3 benches/write_benchmarks.py            # stdlib only; the PNG needs matplotlib
    target/py-venv/bin/python benches/write_benchmarks.py
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
CRITERION = TARGET / "criterion"
GO_JSON = TARGET / "bench" / "go.json"
PY_JSON = TARGET / "bench" / "python.json"
FFI_JSON = TARGET / "bench" / "ffi.json"
RUN_INFO = TARGET / "bench" / "run-info.json"
OUT_MD = ROOT / "BENCHMARKS.md"
OUT_PNG = ROOT / "docs" / "benchmarks.png"

NOT_RUN = "not run"

# ----------------------------------------------------------------------------------------------
# What benches/report.py knows (its peers and targets), with a copy in case it changes shape.

_FLOOR = "floor_hmac_29B"
_PEERS = {
    ("verify_compact", "rolltoken"): "jsonwebtoken_decode",
    ("verify_full", "rolltoken"): "jsonwebtoken_decode",
    ("advance_memory", "rolltoken_compact"): "jsonwebtoken_decode_encode",
    ("advance_memory", "rolltoken_full"): "jsonwebtoken_decode_encode",
    ("mint", "rolltoken_compact"): "jsonwebtoken_encode",
    ("mint", "rolltoken_full"): "jsonwebtoken_encode",
    ("parse", "rolltoken_compact"): "jsonwebtoken_insecure_decode",
    ("parse", "rolltoken_full"): "jsonwebtoken_insecure_decode",
    ("cookie_header", "rolltoken_find_cookie"): "cookie_parse_signed_get",
    ("cookie_header", "rolltoken_write_set_cookie"): "cookie_signed_add_render",
    ("cookie_header", "rolltoken_round_trip"): "cookie_round_trip",
}
_TARGETS = {
    ("verify_compact", "rolltoken"): ("<= 1.5x floor", 1.5, ">= 20x faster", 20),
    ("verify_full", "rolltoken"): ("<= 2.5x floor", 2.5, ">= 10x faster", 10),
    ("advance_memory", "rolltoken_compact"): ("<= 4x floor", 4.0, None, None),
}


def _report_module() -> Any:
    try:
        spec = importlib.util.spec_from_file_location("rolltoken_bench_report", ROOT / "benches" / "report.py")
        if spec is None or spec.loader is None:
            return None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    except Exception:  # noqa: BLE001 - a broken report.py must not stop BENCHMARKS.md
        return None


_report = _report_module()
FLOOR: str = getattr(_report, "FLOOR", _FLOOR)
PEERS: Dict[Tuple[str, str], str] = dict(getattr(_report, "PEERS", _PEERS))
TARGETS: Dict[Tuple[str, str], Tuple[Any, ...]] = dict(getattr(_report, "TARGETS", _TARGETS))

# Readable names for the Rust rows.
OPS = {
    ("verify_compact", "rolltoken"): "compact verify (parse + MAC + compare, counter in hand)",
    ("verify_full", "rolltoken"): "full verify (parse + MAC + compare)",
    ("advance_memory", "rolltoken_compact"): "advance, memory store, compact (load, decide, mint, CAS save)",
    ("advance_memory", "rolltoken_full"): "advance, memory store, full form",
    ("mint", "rolltoken_compact"): "mint compact",
    ("mint", "rolltoken_full"): "mint full",
    ("parse", "rolltoken_compact"): "parse compact",
    ("parse", "rolltoken_full"): "parse full",
    ("cookie_header", "rolltoken_find_cookie"): "find the cookie in a 406-byte header",
    ("cookie_header", "rolltoken_write_set_cookie"): "write Set-Cookie",
    ("cookie_header", "rolltoken_round_trip"): "cookie round trip (find + verify + mint + write)",
}
SHORT = {
    ("verify_compact", "rolltoken"): "compact verify",
    ("verify_full", "rolltoken"): "full verify",
    ("advance_memory", "rolltoken_compact"): "advance (compact)",
    ("advance_memory", "rolltoken_full"): "advance (full)",
}
PEER_NAMES = {
    "jsonwebtoken_decode": "jsonwebtoken HS256 decode",
    "jsonwebtoken_decode_encode": "jsonwebtoken decode + encode",
    "jsonwebtoken_encode": "jsonwebtoken encode",
    "jsonwebtoken_insecure_decode": "jsonwebtoken insecure_decode",
    "cookie_parse_signed_get": "cookie: header → jar + signed get",
    "cookie_signed_add_render": "cookie: signed add + render",
    "cookie_round_trip": "cookie: round trip",
}
FFI_GROUPS = [
    ("ffi_verify_compact", "compact verify"),
    ("ffi_verify_full", "full verify"),
    ("ffi_advance", "advance"),
]
FFI_TARGET = 1.1
GO_TARGET = 8.0

# ----------------------------------------------------------------------------------------------
# Inputs


def run_info() -> Dict[str, Any]:
    try:
        data = json.loads(RUN_INFO.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


RUN = run_info()
RUN_START: Optional[float] = RUN.get("started_epoch")


def stale(path: Path) -> Optional[str]:
    """The date of ``path`` when it predates this run (bench-all.sh), else None."""
    if RUN_START is None or not path.exists():
        return None
    mtime = path.stat().st_mtime
    if mtime + 5 < RUN_START:
        return dt.datetime.fromtimestamp(mtime).strftime("%Y-%m-%d %H:%M")
    return None


def criterion_ns(group: str, bench: str) -> Optional[float]:
    f = CRITERION / group / bench / "new" / "estimates.json"
    try:
        return float(json.loads(f.read_text())["median"]["point_estimate"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def criterion_stale(group: str) -> Optional[str]:
    gdir = CRITERION / group
    if not gdir.is_dir():
        return None
    dates = [stale(p) for p in gdir.glob("*/new/estimates.json")]
    return max((d for d in dates if d), default=None)


def load_json(path: Path) -> Optional[Dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


NS_KEYS = ("ns_per_op", "ns_op", "nsperop", "ns/op", "ns", "median_ns", "nsop", "value")


def _norm(name: str) -> str:
    name = re.sub(r"^Benchmark", "", name)
    name = re.sub(r"-\d+$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def go_benchmarks(data: Dict[str, Any]) -> Dict[str, float]:
    """Every (name → ns/op) found in go.json, whatever its exact shape: a list or map of
    benchmarks with a ns/op field, or a flat name → number map; ratio sections are skipped."""
    found: Dict[str, float] = {}

    def ns_of(d: Dict[str, Any]) -> Optional[float]:
        for k, v in d.items():
            if _norm(k) in {_norm(x) for x in NS_KEYS} and isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        return None

    def walk(node: Any, path: str) -> None:
        if "ratio" in path.lower():
            return
        if isinstance(node, dict):
            name = node.get("name") or node.get("benchmark")
            ns = ns_of(node)
            if isinstance(name, str) and ns is not None:
                found.setdefault(_norm(name), ns)
            for k, v in node.items():
                if "ratio" in k.lower():
                    continue
                if isinstance(v, (int, float)) and not isinstance(v, bool) and _norm(k) not in {_norm(x) for x in NS_KEYS}:
                    if any(w in _norm(k) for w in ("verify", "advance", "jwt", "parse", "sign", "floor", "hmac")):
                        found.setdefault(_norm(k), float(v))
                elif isinstance(v, dict):
                    ns2 = ns_of(v)
                    if ns2 is not None and not isinstance(v.get("name"), str):
                        found.setdefault(_norm(k), ns2)
                    walk(v, path + "/" + k)
                elif isinstance(v, list):
                    walk(v, path + "/" + k)
        elif isinstance(node, list):
            for x in node:
                walk(x, path)

    walk(data, "")
    return found


def go_pick(found: Dict[str, float], *needles: str, exclude: Tuple[str, ...] = ()) -> Optional[Tuple[str, float]]:
    for name, ns in sorted(found.items()):
        if all(n in name for n in needles) and not any(e in name for e in exclude):
            return name, ns
    return None


# ----------------------------------------------------------------------------------------------
# Formatting


def fmt_ns(ns: Optional[float]) -> str:
    if ns is None:
        return NOT_RUN
    if ns >= 100_000:
        return f"{ns / 1000:,.0f} µs"
    if ns >= 10_000:
        return f"{ns / 1000:,.1f} µs"
    return f"{ns:,.0f} ns"


def fmt_x(x: Optional[float]) -> str:
    if x is None:
        return NOT_RUN
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def verdict(ok: Optional[bool]) -> str:
    if ok is None:
        return NOT_RUN
    return "met" if ok else "**missed**"


class Target:
    """One of issue 7's targets, as measured."""

    def __init__(
        self, lang: str, text: str, measured: Optional[float], ok: Optional[bool], note: str = "", shown: str = ""
    ) -> None:
        self.lang, self.text, self.measured, self.ok, self.note = lang, text, measured, ok, note
        self.shown = shown  # instead of the figure (and the verdict), when set
        self.stale: Optional[str] = None  # the date of a result older than this run


class Bar:
    """One bar of the chart: ``kind`` "speedup" (higher is better) or "cost" (lower is better)."""

    def __init__(self, label: str, value: Optional[float], kind: str, target: Optional[float], lang: str) -> None:
        self.label, self.value, self.kind, self.target, self.lang = label, value, kind, target, lang

    @property
    def ok(self) -> Optional[bool]:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.kind == "speedup" else self.value <= self.target


TARGETS_OUT: List[Target] = []
BARS: List[Bar] = []

# ----------------------------------------------------------------------------------------------
# Sections


def rust_section() -> List[str]:
    out = ["## Rust (criterion)", ""]
    if not CRITERION.is_dir():
        out += [f"Rust benches: {NOT_RUN} (no `{CRITERION.relative_to(ROOT) if CRITERION.is_relative_to(ROOT) else CRITERION}`).", ""]
        for text in ("compact verify ≤ 1.5× floor", "full verify ≤ 2.5× floor", "advance ≤ 4× floor",
                     "compact verify ≥ 20× faster than jsonwebtoken", "full verify ≥ 10× faster than jsonwebtoken"):
            TARGETS_OUT.append(Target("Rust", text, None, None))
        TARGETS_OUT.append(Target("C", f"C ABI ≤ {FFI_TARGET:g}× direct Rust", None, None))
        return out
    out += [
        "The unit is the **floor** measured in each group of the same run: a clone of a keyed "
        "`Hmac<Sha256>` + update + finalize over the compact tag's 29-byte MAC input (two SHA-256 "
        "compressions). Peers are measured in the same group.",
        "",
        "| operation | median | × floor | peer | peer median | rolltoken faster by | target |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    floors = []
    for (group, bench), peer in PEERS.items():
        ns = criterion_ns(group, bench)
        floor = criterion_ns(group, FLOOR)
        pns = criterion_ns(group, peer)
        if floor:
            floors.append(floor)
        xf = ns / floor if ns and floor else None
        sp = pns / ns if ns and pns else None
        tgt_txt = []
        t = TARGETS.get((group, bench))
        name = OPS.get((group, bench), f"{group} / {bench}")
        short = SHORT.get((group, bench), name.split(" (")[0])
        if t:
            floor_txt, floor_max, peer_txt, peer_min = (list(t) + [None] * 4)[:4]
            ok = None if xf is None else xf <= floor_max
            tgt_txt.append(f"≤ {floor_max:g}× floor: {verdict(ok)}")
            TARGETS_OUT.append(Target("Rust", f"{short} ≤ {floor_max:g}× floor", xf, ok, "× floor"))
            TARGETS_OUT[-1].stale = criterion_stale(group)
            BARS.append(Bar(f"Rust {short} ÷ floor", xf, "cost", float(floor_max), "Rust"))
            if peer_min:
                ok2 = None if sp is None else sp >= peer_min
                tgt_txt.append(f"≥ {peer_min:g}× faster: {verdict(ok2)}")
                TARGETS_OUT.append(Target("Rust", f"{short} ≥ {peer_min:g}× faster than {PEER_NAMES.get(peer, peer)}", sp, ok2, "× faster"))
                TARGETS_OUT[-1].stale = criterion_stale(group)
        if group in ("verify_compact", "verify_full", "advance_memory"):
            BARS.append(Bar(f"Rust {short} vs {PEER_NAMES.get(peer, peer).replace(' + ', '+')}", sp, "speedup",
                            float(t[3]) if t and len(t) > 3 and t[3] else None, "Rust"))
        st = criterion_stale(group)
        stale_txt = f" (stale: {st})" if st else ""
        out.append(
            f"| {name}{stale_txt} | {fmt_ns(ns)} | {fmt_x(xf)} | {PEER_NAMES.get(peer, peer)} | {fmt_ns(pns)} | "
            f"{fmt_x(sp)} | {'; '.join(tgt_txt) or '—'} |"
        )
    if floors:
        out += ["", f"The floor measured {min(floors):,.0f}–{max(floors):,.0f} ns across the groups of this run."]
    out.append("")

    # The C ABI.
    out += ["### C ABI (benches/ffi.rs)", ""]
    if not any((CRITERION / g).is_dir() for g, _ in FFI_GROUPS):
        out += [f"C ABI benches: {NOT_RUN}.", ""]
        TARGETS_OUT.append(Target("C", f"C ABI ≤ {FFI_TARGET:g}× direct Rust", None, None))
        return out
    out += [
        "The same operation through the `extern \"C\"` `rt_*` functions (opaque handles, caller "
        "buffers, status checked) and through the Rust API, in the same group.",
        "",
        "| operation | direct Rust | C ABI | C ABI ÷ Rust | target ≤ 1.1× |",
        "|---|---:|---:|---:|---|",
    ]
    worst: Optional[float] = None
    any_missing = False
    for group, label in FFI_GROUPS:
        gdir = CRITERION / group
        benches = sorted(d.name for d in gdir.iterdir()) if gdir.is_dir() else []
        pairs = [(b, b.replace("c_abi", "rust_direct", 1)) for b in benches if b.startswith("c_abi")]
        if not pairs:
            out.append(f"| {label} | {NOT_RUN} | {NOT_RUN} | {NOT_RUN} | {NOT_RUN} |")
            any_missing = True
            continue
        for c_name, r_name in pairs:
            c_ns, r_ns = criterion_ns(group, c_name), criterion_ns(group, r_name)
            ratio = c_ns / r_ns if c_ns and r_ns else None
            suffix = c_name[len("c_abi"):].strip("_")
            op = f"{label} ({suffix})" if suffix else label
            if ratio is None:
                any_missing = True
            else:
                worst = ratio if worst is None else max(worst, ratio)
            BARS.append(Bar(f"C ABI ÷ Rust: {op}", ratio, "cost", FFI_TARGET, "C"))
            st = criterion_stale(group)
            out.append(
                f"| {op}{f' (stale: {st})' if st else ''} | {fmt_ns(r_ns)} | {fmt_ns(c_ns)} | {fmt_x(ratio)} | "
                f"{verdict(None if ratio is None else ratio <= FFI_TARGET)} |"
            )
    TARGETS_OUT.append(
        Target("C", f"C ABI ≤ {FFI_TARGET:g}× direct Rust (worst op)", worst,
               None if worst is None else worst <= FFI_TARGET, "×" + (" (some ops not run)" if any_missing else ""))
    )
    TARGETS_OUT[-1].stale = max((d for g, _ in FFI_GROUPS if (d := criterion_stale(g))), default=None)
    out.append("")
    out += ffi_paired_rows()
    return out


def ffi_paired_rows() -> List[str]:
    """The C ABI bench's interleaved pass: Rust and C timed in alternating batches, so each
    round's ratio compares two figures taken under the same load (criterion's medians above
    come from separate, consecutive measurements)."""
    data = load_json(FFI_JSON)
    paired = (data or {}).get("paired") or {}
    ops = paired.get("ops") or {}
    if not ops:
        return [f"Interleaved pass: {NOT_RUN} (no `{FFI_JSON.name}`).", ""]
    out = [
        f"Interleaved pass ({paired.get('rounds', '?')} rounds of alternating batches, "
        f"`{FFI_JSON.relative_to(ROOT) if FFI_JSON.is_relative_to(ROOT) else FFI_JSON}`"
        f"{f', stale: {st}' if (st := stale(FFI_JSON)) else ''}):",
        "",
        "| operation | Rust, fastest batch | C ABI, fastest batch | ÷ (fastest) | ÷ (median of the rounds' ratios) | target ≤ 1.1× |",
        "|---|---:|---:|---:|---:|---|",
    ]
    worst: Optional[float] = None
    for op, v in ops.items():
        med = v.get("c_over_rust_paired_median")
        if med is not None:
            worst = med if worst is None else max(worst, med)
        out.append(
            f"| {op.replace('_', ' ')} | {fmt_ns(v.get('rust_min_ns'))} | {fmt_ns(v.get('c_abi_min_ns'))} | "
            f"{fmt_x(v.get('c_over_rust_min'))} | {fmt_x(med)} | "
            f"{verdict(None if med is None else med <= FFI_TARGET)} |"
        )
    TARGETS_OUT.append(
        Target("C", f"C ABI ≤ {FFI_TARGET:g}× direct Rust (worst op, interleaved)", worst,
               None if worst is None else worst <= FFI_TARGET, "×")
    )
    out.append("")
    return out


def go_section() -> List[str]:
    out = ["## Go (`go test -bench`, cgo over the C ABI)", ""]
    data = load_json(GO_JSON)
    rel = GO_JSON.relative_to(ROOT) if GO_JSON.is_relative_to(ROOT) else GO_JSON
    if data is None:
        out += [f"Go benches: {NOT_RUN} (no `{rel}`; `bash go/bench/run.sh` writes it).", ""]
        TARGETS_OUT.append(Target("Go", f"verify ≥ {GO_TARGET:g}× faster than golang-jwt HS256 parse", None, None))
        return out
    found = go_benchmarks(data)
    st = stale(GO_JSON)
    parse = go_pick(found, "jwt", "parse")
    sign = go_pick(found, "jwt", "sign")
    rows = [
        ("compact verify", go_pick(found, "verifycompact", exclude=("jwt",)), parse, GO_TARGET),
        ("full verify", go_pick(found, "verifyfull", exclude=("jwt",)), parse, GO_TARGET),
        ("advance (memory store)", go_pick(found, "advance", exclude=("jwt",)), None, None),
    ]
    out += [
        f"From `{rel}`{f' (stale: {st})' if st else ''}. The peer is `golang-jwt/jwt/v5` HS256 with "
        "equivalent claims, in the same `go test -bench` run.",
        "",
        "| operation | rolltoken ns/op | peer | peer ns/op | rolltoken faster by | target |",
        "|---|---:|---|---:|---:|---|",
    ]
    for label, mine, peer, target in rows:
        m_ns = mine[1] if mine else None
        if label.startswith("advance"):
            p_ns = (parse[1] + sign[1]) if parse and sign else None
            p_name = "golang-jwt parse + sign (rolling a JWT)"
        else:
            p_ns = parse[1] if parse else None
            p_name = "golang-jwt HS256 parse"
        sp = p_ns / m_ns if m_ns and p_ns else None
        ok = None if sp is None or target is None else sp >= target
        if target is not None:
            TARGETS_OUT.append(Target("Go", f"{label} ≥ {target:g}× faster than golang-jwt HS256 parse", sp, ok, "× faster"))
            TARGETS_OUT[-1].stale = st
        BARS.append(Bar(f"Go {label} vs {p_name.split(' (')[0]}", sp, "speedup", target, "Go"))
        tgt = f"≥ {target:g}×: {verdict(ok)}" if target is not None else "—"
        out.append(f"| {label} | {fmt_ns(m_ns)} | {p_name} | {fmt_ns(p_ns)} | {fmt_x(sp)} | {tgt} |")
    if sign:
        out += ["", f"golang-jwt HS256 sign: {fmt_ns(sign[1])}."]
    known = {x[1][0] for x in rows if x[1]} | {x[0] for x in (parse, sign) if x}
    others = {k: v for k, v in found.items() if k not in known}
    if others:
        out += ["", "Other Go benchmarks in the file: " + ", ".join(f"`{k}` {fmt_ns(v)}" for k, v in sorted(others.items())) + "."]
    out.append("")
    return out


MICRO_LABELS = {
    "rolltoken_verify_compact": "rolltoken `Keyring.verify(compact, counter)`",
    "rolltoken_verify_full": "rolltoken `Keyring.verify(full)`",
    "rolltoken_handle_compact": "rolltoken `Sessions.handle` advance, compact (chain)",
    "rolltoken_handle_full": "rolltoken `Sessions.handle` advance, full (chain)",
    "pyjwt_decode": "PyJWT `jwt.decode` HS256 (signature, alg, exp)",
    "pyjwt_encode": "PyJWT `jwt.encode` HS256",
    "pyjwt_roll": "PyJWT decode + encode (rolling a JWT)",
    "itsdangerous_loads": "itsdangerous `URLSafeTimedSerializer.loads(max_age)`",
    "itsdangerous_dumps": "itsdangerous `URLSafeTimedSerializer.dumps`",
    "floor_empty_loop": "floor: one empty loop iteration",
    "floor_pyo3_call": "floor: a PyO3 call (`key_id in keyring`)",
    "floor_stdlib_hmac_prekeyed_29B": "floor: stdlib pre-keyed HMAC-SHA256, 29 B",
}


def python_section() -> List[str]:
    out = ["## Python (the wheel, `target/py-venv`)", ""]
    data = load_json(PY_JSON) or {}
    st = stale(PY_JSON)
    stale_txt = f" (stale: {st})" if st else ""
    micro = data.get("micro")
    if not micro:
        out += [f"Python micro benches: {NOT_RUN}.", ""]
        TARGETS_OUT.append(Target("Python", "verify ≥ 50× faster than PyJWT decode", None, None))
    else:
        v = micro.get("versions", {})
        out += [
            f"`python/bench/micro.py`{stale_txt}: {micro.get('method', '')}. "
            f"CPython {v.get('python', '?')}, rolltoken {v.get('rolltoken', '?')}, PyJWT {v.get('PyJWT', '?')}, "
            f"itsdangerous {v.get('itsdangerous', '?')} ({v.get('openssl', '')}). Equivalent claims "
            "`{sub, sid, ctr, iat, exp, bnd}` for PyJWT and itsdangerous; `handle` is a chain that "
            "presents the token the previous call rolled (load, decide, mint, CAS save).",
            "",
            "| operation | median per call | min |",
            "|---|---:|---:|",
        ]
        for name, r in micro.get("results", {}).items():
            out.append(f"| {MICRO_LABELS.get(name, name)} | {fmt_ns(r.get('median_ns'))} | {fmt_ns(r.get('min_ns'))} |")
        out += ["", "| ratio | rolltoken faster by (median) | of mins | range over rounds | target |", "|---|---:|---:|---:|---|"]
        for r in micro.get("ratios", []):
            tgt = r.get("target")
            ok = r.get("met")
            lo, hi = (r.get("speedup_range") or [None, None])[:2]
            rng = f"{lo:.0f}–{hi:.0f}×" if lo is not None and hi is not None else "—"
            out.append(
                f"| {r['name']} | {fmt_x(r.get('speedup'))} | {fmt_x(r.get('speedup_of_mins'))} | {rng} | "
                f"{f'≥ {tgt:g}×: {verdict(ok)}' if tgt else '—'} |"
            )
            if tgt:
                TARGETS_OUT.append(Target("Python", f"{r['name'].replace(' vs ', ' ≥ ' + format(tgt, 'g') + '× faster than ')}", r.get("speedup"), ok, "× faster"))
                TARGETS_OUT[-1].stale = st
            if r["name"] in (
                "verify_compact vs PyJWT decode",
                "verify_full vs PyJWT decode",
                "verify_compact vs itsdangerous loads",
                "handle (compact) vs PyJWT decode+encode",
            ):
                BARS.append(Bar(f"Python {r['name']}", r.get("speedup"), "speedup", tgt, "Python"))
        out.append("")

    asgi = data.get("asgi")
    out += ["### ASGI middleware under load", ""]
    if not asgi or "http" not in asgi:
        out += [f"ASGI load: {NOT_RUN}.", ""]
        TARGETS_OUT.append(Target("Python", "ASGI middleware adds less per request than Starlette's SessionMiddleware", None, None))
        return out
    http = asgi["http"]
    cfg = http.get("config", {})
    hv = http["variants"]
    out += [
        f"`python/bench/asgi_load.py`{stale_txt}: the same minimal Starlette app (one JSON endpoint "
        "reading the session) three ways — no session middleware (baseline), "
        "`RolltokenMiddleware` (in-memory `Sessions`; every request is a page load that rolls the "
        "cookie), Starlette's `SessionMiddleware` (itsdangerous-signed cookie; the app writes one "
        "value, so the cookie is re-signed on every response). "
        f"Server: {cfg.get('server', '?')}. Load: {cfg.get('clients', '?')} concurrent clients per app "
        f"({cfg.get('client', '')}), each logged in first and carrying the cookie the previous response "
        f"set; {cfg.get('rounds', '?')} rounds of one {cfg.get('requests', '?')}-request burst per app; "
        "medians over rounds. **Added cost** = the server process's CPU time per request "
        "(`/proc/PID/task/*/schedstat`) over the baseline's: on this shared 2-core box the server "
        "rarely has a core to itself, so requests/s and latency move with other processes' load "
        "(see the CPU share column), while CPU time per request is what the middleware itself costs.",
        "",
        "| app | requests/s | p50 | p99 | server CPU per request | added CPU per request | server's share of a core |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("baseline", "rolltoken", "starlette"):
        r = hv.get(name)
        if not r:
            out.append(f"| {name} | {NOT_RUN} | | | | | |")
            continue
        cpu = r.get("server_cpu_us_per_request")
        added = r.get("added_cpu_us_per_request")
        share = r.get("server_cpu_share")
        out.append(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
            f"{'—' if cpu is None else f'{cpu:,.1f} µs'} | {'—' if added is None else f'{added:,.1f} µs'} | "
            f"{'—' if share is None else f'{share:.0%}'} |"
        )
    ratio = http.get("added_ratio_rolltoken_over_starlette")

    def rr(xs: Any) -> str:
        return ", ".join(f"{x:.2f}" if x is not None else "—" for x in (xs or []))

    out += [
        "",
        f"- added server CPU per request, rolltoken ÷ Starlette: **{fmt_x(ratio)}** (per round: "
        f"{rr(http.get('added_ratio_per_round'))}); target < 1: {verdict(http.get('met'))}",
        f"- under the same load: requests/s rolltoken ÷ Starlette "
        f"{fmt_x(http.get('rps_ratio_rolltoken_over_starlette'))}, p99 rolltoken ÷ Starlette "
        f"{fmt_x(http.get('p99_ratio_rolltoken_over_starlette'))}; the added cost taken from throughput "
        f"instead (1/rps − 1/rps₀), rolltoken ÷ Starlette: {fmt_x(http.get('added_ratio_from_rps'))} "
        f"(per round: {rr(http.get('added_ratio_from_rps_per_round'))}: throughput here is set by the "
        "scheduler more than by the server)",
    ]
    TARGETS_OUT.append(
        Target("Python", "ASGI: rolltoken adds less per request than Starlette SessionMiddleware (added-cost ratio < 1)",
               ratio, http.get("met"), "× (rolltoken ÷ Starlette)",
               shown="" if ratio is not None else "inconclusive (Starlette's added cost not above the noise)")
    )
    TARGETS_OUT[-1].stale = st
    BARS.append(Bar("ASGI added server CPU/request: rolltoken ÷ Starlette", ratio, "cost", 1.0, "Python"))
    ip = asgi.get("inprocess")
    if ip:
        iv = ip["variants"]
        out += [
            f"- in process (the app awaited as an ASGI callable, no sockets, one session rolled per "
            f"call): baseline {iv['baseline']['median_us']:.1f} µs, rolltoken "
            f"{iv['rolltoken']['median_us']:.1f} µs (+{iv['rolltoken']['added_us']:.1f}), Starlette "
            f"{iv['starlette']['median_us']:.1f} µs (+{iv['starlette']['added_us']:.1f}) per request: "
            f"added-cost ratio **{fmt_x(ip.get('added_ratio_rolltoken_over_starlette'))}**",
        ]
        BARS.append(Bar("ASGI added time/request in process: rolltoken ÷ Starlette",
                        ip.get("added_ratio_rolltoken_over_starlette"), "cost", 1.0, "Python"))
    v = asgi.get("versions", {})
    out += [
        f"- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
    ]
    return out


# ----------------------------------------------------------------------------------------------
# The machine


def _cmd(*argv: str) -> Optional[str]:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (r.stdout or r.stderr).strip().splitlines()[0] if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def machine() -> List[str]:
    cpu: Dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            k, _, v = line.partition(":")
            cpu.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    flags = set(cpu.get("flags", "").split())
    feats = [f for f in ("sha_ni", "avx2", "avx512f", "aes", "hypervisor") if f in flags]
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    nproc = _cmd("nproc") or str(os.cpu_count())
    model = cpu.get("model name", platform.processor() or "?")
    family = f"family {cpu['cpu family']}" if "cpu family" in cpu else ""
    lines = [
        f"- CPU: {model}{f' ({family})' if family else ''}, {nproc} online CPUs (`nproc`), "
        f"flags: {', '.join(feats) or '—'}; memory {mem or '?'}",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- toolchains: {_cmd('rustc', '--version') or 'rustc ?'}; {_cmd('go', 'version') or 'go: not found'}; "
        f"Python {platform.python_version()} (this script's interpreter)",
    ]
    try:
        lock = (ROOT / "Cargo.lock").read_text()
        crates = []
        for name in ("criterion", "hmac", "sha2", "jsonwebtoken", "cookie"):
            vs = re.findall(rf'name = "{name}"\nversion = "([^"]+)"', lock)
            if vs:
                crates.append(f"{name} {'/'.join(sorted(set(vs)))}")
        if crates:
            lines.append(f"- crates (Cargo.lock): {', '.join(crates)}")
    except OSError:
        pass
    try:
        gomod = (ROOT / "go" / "go.sum").read_text() if (ROOT / "go" / "go.sum").exists() else ""
        m = re.search(r"github.com/golang-jwt/jwt/v5 (v[^ /]+) ", gomod)
        if m:
            lines.append(f"- golang-jwt/jwt/v5 {m.group(1)} (go/go.sum)")
    except OSError:
        pass
    if RUN:
        la = RUN.get("loadavg_start"), RUN.get("loadavg_end")
        when = RUN.get("started")
        lines.append(
            f"- run: started {when or '?'}, load average (1 min) {la[0] if la[0] is not None else '?'} at the start, "
            f"{la[1] if la[1] is not None else '?'} at the end — a shared machine: other builds may run "
            "beside the benches, which is why only ratios of side-by-side figures are reported"
        )
    return lines


# ----------------------------------------------------------------------------------------------
# The chart


def chart() -> str:
    """Writes OUT_PNG; returns a Markdown line (the image, or why there is none)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "_(chart not generated: matplotlib is not installed in this interpreter; `make bench` installs it in target/py-venv)_"
    speed = [b for b in BARS if b.kind == "speedup"]
    cost = [b for b in BARS if b.kind == "cost"]
    colors = {True: "#2e7d32", False: "#c62828", None: "#78909c"}
    rows = len(speed) + len(cost)
    fig, axes = plt.subplots(
        2, 1, figsize=(11, 0.36 * rows + 2.6), gridspec_kw={"height_ratios": [max(len(speed), 1), max(len(cost), 1)]}
    )

    def panel(ax: Any, bars: List[Bar], title: str, log: bool) -> None:
        bars = bars[::-1]
        ys = list(range(len(bars)))
        vals = [b.value if b.value is not None else 0.0 for b in bars]
        ax.barh(ys, vals, color=[colors[b.ok] for b in bars], height=0.66)
        ax.set_yticks(ys)
        ax.set_yticklabels([b.label for b in bars], fontsize=8.5)
        ends = [max(v, b.target or 0.0) for v, b in zip(vals, bars)]
        top = max(ends + [1.0])
        if log:
            ax.set_xscale("log")
            ax.set_xlim(0.8, top * 12)
        else:
            ax.set_xlim(0, top * 1.45)
        for y, b, end in zip(ys, bars, ends):
            if b.target is not None:
                ax.plot([b.target, b.target], [y - 0.45, y + 0.45], color="black", lw=2.2)
            if b.value is None:
                txt = NOT_RUN
            else:
                txt = f"{b.value:,.0f}×" if b.value >= 10 else f"{b.value:.2f}×"
            if b.target is not None:
                rel = "≥" if b.kind == "speedup" else ("<" if b.target == 1.0 else "≤")
                txt += f"   target {rel} {b.target:g}×"
            x = (max(end, 1.0) * 1.15) if log else end + top * 0.015
            ax.text(x, y, txt, va="center", fontsize=8.5)
        if not log:
            ax.axvline(1.0, color="#999", lw=0.8, ls="--")
        ax.set_title(title, fontsize=10, loc="left")
        ax.grid(axis="x", color="#e0e0e0", lw=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    panel(axes[0], speed, "rolltoken faster than the peer, × (log scale; higher is better)", True)
    panel(axes[1], cost, "cost ratios, × (lower is better): ÷ HMAC floor · C ABI ÷ Rust · added ÷ Starlette's", False)
    from matplotlib.patches import Patch

    fig.legend(
        handles=[Patch(color=colors[True], label="target met"), Patch(color=colors[False], label="target missed"),
                 Patch(color=colors[None], label="no target / not run"),
                 Patch(color="black", label="target (black tick)")],
        loc="lower center", ncol=4, fontsize=8.5, frameon=False,
    )
    when = (RUN.get("started") or "").replace("T", " ").replace("Z", " UTC")
    fig.suptitle(f"rolltoken benchmarks — ratios of figures measured side by side{f' ({when})' if when else ''}", fontsize=11)
    fig.tight_layout(rect=(0, 0.035, 1, 0.97))
    OUT_PNG.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT_PNG, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return f"![ratios]({OUT_PNG.relative_to(ROOT).as_posix()})"


# ----------------------------------------------------------------------------------------------


COMMANDS = """\
```sh
make bench                                   # everything below, then this file and the chart
bash benches/bench-all.sh                    # what make bench runs
cargo bench --locked -p rolltoken-benches    # Rust groups + C ABI groups (target/criterion)
python3 benches/report.py                    # the Rust ratio table alone
bash go/bench/run.sh                         # Go vs golang-jwt (target/bench/go.json)
target/py-venv/bin/python python/bench/micro.py      # Python verify/handle vs PyJWT, itsdangerous
target/py-venv/bin/python python/bench/asgi_load.py  # ASGI middleware vs Starlette SessionMiddleware
target/py-venv/bin/python benches/write_benchmarks.py  # BENCHMARKS.md + docs/benchmarks.png
```"""


def main() -> int:
    sections = rust_section() + go_section() + python_section()
    img = chart()
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benches/write_benchmarks.py` (run by `make bench`); do not edit by hand. "
        "Every ratio compares figures measured side by side in the same run — the same criterion "
        "group, the same `go test -bench` run, the same Python process, the same load — because "
        "this is a shared 2-core machine where absolute times move with the load.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Targets (issue 7)",
        "",
        "| | target | measured | |",
        "|---|---|---:|---|",
    ]
    for t in TARGETS_OUT:
        if t.shown:
            lines.append(f"| {t.lang} | {t.text} | {t.shown} | {t.shown} |")
        else:
            old = f" (stale: {t.stale}, this run's step failed)" if t.stale else ""
            lines.append(f"| {t.lang} | {t.text} | {fmt_x(t.measured)} | {verdict(t.ok)}{old} |")
    met = sum(1 for t in TARGETS_OUT if t.ok)
    missed = sum(1 for t in TARGETS_OUT if t.ok is False)
    notrun = sum(1 for t in TARGETS_OUT if t.ok is None)
    lines += ["", f"{met} met, {missed} missed, {notrun} not run or inconclusive.", "", img, ""]
    lines += sections
    steps = RUN.get("steps") or []
    lines += ["## Commands", "", COMMANDS, ""]
    if steps:
        lines += ["This run (`benches/bench-all.sh`):", "", "| step | command | exit | seconds |", "|---|---|---:|---:|"]
        for s in steps:
            lines.append(f"| {s.get('name')} | `{s.get('command')}` | {s.get('status')} | {s.get('seconds')} |")
        lines.append("")
    OUT_MD.write_text("\n".join(lines))
    print(f"write_benchmarks: wrote {OUT_MD.relative_to(ROOT)}" + (f" and {OUT_PNG.relative_to(ROOT)}" if img.startswith("!") else ""))
    print(f"write_benchmarks: targets {met} met, {missed} missed, {notrun} not run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
