#!/usr/bin/env python3
"""Prints the ratio table of the last `cargo bench -p rolltoken-benches` run as Markdown.

Reads criterion's `estimates.json` (median) under `$CARGO_TARGET_DIR/criterion` (default
`target/criterion`). Every row is divided by the floor measured in its own group, and
rolltoken rows also by their peer in the same group.

    python3 benches/report.py
"""

import json
import os
import sys
from pathlib import Path

FLOOR = "floor_hmac_29B"
GROUPS = [
    "verify_compact",
    "verify_full",
    "advance_memory",
    "mint",
    "parse",
    "cookie_header",
    "components",
]
# rolltoken row -> the peer it is compared with (same group); targets from the issue.
PEERS = {
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
TARGETS = {
    ("verify_compact", "rolltoken"): ("<= 1.5x floor", 1.5, ">= 20x faster", 20),
    ("verify_full", "rolltoken"): ("<= 2.5x floor", 2.5, ">= 10x faster", 10),
    ("advance_memory", "rolltoken_compact"): ("<= 4x floor", 4.0, None, None),
}


def median_ns(root: Path, group: str, bench: str):
    f = root / group / bench / "new" / "estimates.json"
    if not f.exists():
        return None
    return json.loads(f.read_text())["median"]["point_estimate"]


def fmt_ns(ns: float) -> str:
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.1f}"


def main() -> int:
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    root = target / "criterion"
    if not root.is_dir():
        print(f"no criterion results under {root}: run cargo bench -p rolltoken-benches", file=sys.stderr)
        return 1
    print("| group | bench | median ns | × floor | peer speed-up | target |")
    print("|---|---|---:|---:|---:|---|")
    for group in GROUPS:
        gdir = root / group
        if not gdir.is_dir():
            continue
        floor = median_ns(root, group, FLOOR)
        benches = sorted(
            (d.name for d in gdir.iterdir() if (d / "new" / "estimates.json").exists()),
            key=lambda n: (not n.startswith("rolltoken"), n == FLOOR, n),
        )
        for bench in benches:
            ns = median_ns(root, group, bench)
            ratio = f"{ns / floor:.2f}" if floor else "—"
            peer = PEERS.get((group, bench))
            speedup = "—"
            if peer and (pns := median_ns(root, group, peer)):
                speedup = f"{pns / ns:.1f}× vs {peer}"
            target_txt = ""
            if (t := TARGETS.get((group, bench))) and floor:
                floor_txt, floor_max, peer_txt, peer_min = t
                ok = ns / floor <= floor_max
                target_txt = f"{floor_txt}: {'met' if ok else 'MISSED'}"
                if peer_txt and peer:
                    pns = median_ns(root, group, peer)
                    ok = pns / ns >= peer_min
                    target_txt += f"; {peer_txt}: {'met' if ok else 'MISSED'}"
            print(f"| {group} | {bench} | {fmt_ns(ns)} | {ratio} | {speedup} | {target_txt} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
