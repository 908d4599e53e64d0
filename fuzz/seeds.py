#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from the golden vectors.

    python3 fuzz/seeds.py [--vectors vectors/rolltoken-v1.json] [--out fuzz/corpus]

Deterministic, standard library only. Inputs in fuzz/regressions/<target>/ (fixed findings)
are added as seeds too. Every seed is derived from vectors/rolltoken-v1.json
(tokens, record bytes, cookies built from those tokens) or, for the sequence targets, is a short
hand-written scenario in the target's own input encoding (documented at the top of each
fuzz_targets/*.rs). Seed files are named by the SHA-1 of their content, as libFuzzer names
corpus files, so re-running the script adds nothing new. The corpus directories are not
committed (see .gitignore): `checks/fuzz.sh` runs this script before fuzzing, and the fuzzer
adds what it finds next to the seeds.
"""

import argparse
import hashlib
import json
import os
import struct
import sys

TARGETS = ["token_parse", "record_decode", "cookie_header", "set_cookie", "client_ip", "engine_sequence", "c_abi"]


def collect(vectors):
    """Every token text and every record byte string in the vectors."""
    tokens, records = [], []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str):
                    if k in ("token", "cookie", "token_out", "current_cookie") or v.startswith(("rtf1_", "rtc1_")):
                        tokens.append(v.encode("utf-8"))
                    elif k in ("hex", "record_hex", "record_out") and len(v) % 2 == 0:
                        try:
                            records.append(bytes.fromhex(v))
                        except ValueError:
                            pass
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(vectors)
    uniq = lambda xs: sorted(set(xs))
    return uniq(tokens), uniq(records)


def u16(n):
    return struct.pack(">H", n)


def u64(n):
    return struct.pack(">Q", n)


def token_parse(tokens, records):
    return list(tokens)


def record_decode(tokens, records):
    seeds = list(records)
    # Valid-length records with engine parameters after them (policy, client, key, time).
    for r in records:
        if len(r) == 128:
            for tail in (b"\x00\x01\x00\x00\x00\x00\x00", b"\x01\x00\x00\x01\x00\x10\x02", b"\x02\x01\x01\x03\xff\xf0\x01"):
                seeds.append(r + tail)
    return seeds


def cookie_header(tokens, records):
    seeds = []
    valid = [t for t in tokens if t.startswith((b"rtf1_", b"rtc1_")) and len(t) <= 115][:12]
    for t in valid:
        seeds.append(b"\x00" + b"__Host-rolltoken=" + t + b"; theme=dark")
        seeds.append(b"\x01" + b"theme=dark; rolltoken=\"" + t + b"\"; lang=en")
        seeds.append(b"\x00" + b"__Host-rolltoken=" + t + b"; __Host-rolltoken=" + t)
    if valid:
        seeds.append(b"\x00" + b"__Host-rolltoken=" + valid[0] + b"; __Host-rolltoken=x")
    seeds += [b"\x00", b"\x00a=1; b=2", b"\x00__Host-rolltoken=", b"\x02 a = 1 ;a=1", b"\x85abc=dabc=1", b"\x00x=\x01"]
    return seeds


def set_cookie(tokens, records):
    seeds = []
    valid = [t for t in tokens if t.startswith((b"rtf1_", b"rtc1_")) and len(t) <= 115][:12]
    for i, t in enumerate(valid):
        # flags: secure|http_only, default name, path "/"; cap 329; Max-Age 43200.
        seeds.append(bytes([0x03]) + u16(329) + b"\x02" + u64(43200) + t)
        # The same, session-only (bit 2 of the Max-Age byte): no Max-Age on the set line.
        seeds.append(bytes([0x03]) + u16(329) + b"\x06" + u64(43200) + t)
        # insecure local name, SameSite=Strict, a buffer one byte short.
        flags = 0x02 | (1 << 2) | (1 << 4)
        seeds.append(bytes([flags]) + u16(100 + i) + b"\x00" + t)
    # A name and a path from the input.
    seeds.append(bytes([0x03 | (3 << 4) | (3 << 6)]) + u16(400) + b"\x01" + b"\x03sid" + b"\x04/app" + b"value")
    return seeds


def client_ip(tokens, records):
    """Addresses as requests carry them, and near misses of the dotted-quad grammar."""
    return [
        s.encode()
        for s in (
            "192.0.2.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.",
            "2001:db8::1", "::ffff:192.0.2.1", "::", "fe80::1%eth0", "[::1]", "1.2.3.4:80",
        )
    ]


def engine_sequence(tokens, records):
    adv = lambda client=0, step=3, back=0: bytes([0, 1 | (client << 1) | (step << 3), back])
    read = lambda client=0, step=2, back=0: bytes([1, 0 | (client << 1) | (step << 3), back])
    tick = lambda i, back=0: bytes([6, i, back])
    strict_compact = bytes([0, 0x00, 0x06, 0x33])
    strict_full = bytes([1, 0x00, 0x06, 0x33])
    cached = bytes([2, 0x00, 0x06, 0x33])
    anon = bytes([0, 0x04, 0x06, 0x33])
    require_full = bytes([1, 0x02, 0x03, 0x21])
    honest = adv() * 3 + read() * 2 + tick(7) + adv() + read() + tick(12) + adv()
    theft = adv() * 3 + tick(7) + adv(client=2, back=2) + adv() + read(client=2, back=1)
    seeds = [
        strict_compact + honest,
        strict_full + honest,
        cached + honest + tick(13) + read() + tick(13) + adv(),
        strict_compact + theft,
        strict_full + theft,
        cached + tick(13) + theft + tick(3, back=1) + read(back=4),
        anon + bytes([12, 1, 0]) + bytes([7, 0, 0]) + honest + bytes([8, 0, 0]) + read(),
        require_full + adv() + adv(client=1) + read(client=3) + adv(),
        strict_full + adv() * 4 + bytes([13, 0, 0]) + adv() + adv(back=1),
        strict_compact + adv() + bytes([15, 1, 0]) + adv() + bytes([15, 2, 0]) + adv() + read(back=2),
        strict_compact + adv() + bytes([9, 17, 0, 0]) + bytes([10, 1, 0]) + bytes([11, 8, 1]) + b"rtc1_AAA" + adv(),
        strict_compact + bytes([7, 4, 0x80]) + adv() + bytes([14, 0, 0]) + read(),
    ]
    return seeds


def c_abi(tokens, records):
    valid = [t for t in tokens if len(t) <= 130][:10]
    seeds = []
    op = lambda code: u16(0) + bytes([code])
    for t in valid:
        blob = bytes([3, len(t)]) + t
        seeds.append(b"\x00" + op(8) + blob + b"\x00\x00\x00")  # rt_token_parse
        seeds.append(b"\x00" + op(9) + blob + b"\x00\x00\x00\x01")  # rt_token_verify
        seeds.append(b"\x00" + op(3) + b"\x01" + b"\x02" + blob + b"\x00" + u64(3600))  # rt_set_cookie_write
    for r in records[:10]:
        seeds.append(b"\x00" + op(11) + bytes([1, 3, len(r) % 256]) + r[:140] + b"\x00\x00")  # rt_record_decode
    # A tour: login, handle, begin/finish, decide, logout, revoke, names, request kind, deny.
    tour = b"\x00"
    for code in (16, 13, 13, 14, 12, 18, 19, 20, 21, 0, 1, 2, 4, 5, 6, 7, 10, 15, 17, 22, 23):
        tour += op(code) + b"\x00" * 24
    seeds.append(tour)
    seeds.append(b"\x01" + tour[1:])  # cached-mode policy
    return seeds


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", default=os.path.join(here, "..", "vectors", "rolltoken-v1.json"))
    ap.add_argument("--out", default=os.path.join(here, "corpus"))
    args = ap.parse_args()
    with open(args.vectors, encoding="utf-8") as f:
        vectors = json.load(f)
    tokens, records = collect(vectors)
    total = 0
    for name in TARGETS:
        seeds = globals()[name](tokens, records)
        # Inputs that once broke a target (fixed since) are replayed as seeds: libFuzzer runs
        # every corpus file first, so a regression fails the pass at once. Open findings live
        # in regressions/open/ and are not replayed until fixed.
        reg = os.path.join(here, "regressions", name)
        if os.path.isdir(reg):
            for f in sorted(os.listdir(reg)):
                with open(os.path.join(reg, f), "rb") as fh:
                    seeds.append(fh.read())
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        for s in seeds:
            path = os.path.join(d, hashlib.sha1(s).hexdigest())
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(s)
        total += len(set(seeds))
        print(f"seeds: {name}: {len(set(seeds))}")
    print(f"seeds: {total} from {os.path.relpath(args.vectors)} ({len(tokens)} tokens, {len(records)} records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
