"""Vectors rolltoken did not write (vectors/hmac-sha256-external.json, see vectors/README.md):
RFC 4231 and Project Wycheproof's HMAC-SHA256 cases through ``hmac_sha256``, the keyring's own
HMAC, with each case's 32-byte ``keyringKey`` (the key with the same HMAC, RFC 2104 section 2).
Valid cases must be accepted and invalid ones rejected; a 128-bit tag is compared with the
leftmost 16 bytes of the MAC.

Then the bit-flip sweep: every bit of a valid full and a valid compact token, in the text and
in the decoded body (re-encoded), through ``Keyring.verify``: none may be accepted.

``pytest -s`` shows the counts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import pytest

from rolltoken import KEY_LEN, Claims, InvalidToken, Keyring
from rolltoken._rolltoken import hmac_sha256

Json = dict[str, Any]

VECTORS = Path(
    os.environ.get(
        "ROLLTOKEN_EXTERNAL_VECTORS",
        str(Path(__file__).resolve().parents[2] / "vectors" / "hmac-sha256-external.json"),
    )
)
DATA: Json = json.loads(VECTORS.read_text(encoding="utf-8"))
CASES: list[Json] = [t for g in DATA["testGroups"] for t in g["tests"]]


def run(case: Json) -> Optional[str]:
    """Runs one case through the library; None when it passes, else what went wrong.
    Raises ``LookupError`` for a case the 32-byte key path cannot express."""
    key, msg, tag = (bytes.fromhex(case[k]) for k in ("key", "msg", "tag"))
    valid = {"valid": True, "invalid": False}[case["result"]]
    if len(key) * 8 != case["keySize"] or len(tag) * 8 != case["tagSize"] or not 0 < len(tag) <= 32:
        return "sizes do not match"
    # The file itself, checked with Python's own HMAC: the key as written, and the derived
    # 32-byte key gives the same function.
    want = hmac.new(key, msg, hashlib.sha256).digest()
    if hmac.compare_digest(want[: len(tag)], tag) != valid:
        return "the hmac module disagrees with the file"
    if case["keyringKey"] is None:
        assert case["keyForm"] == "none"
        raise LookupError(f"a {len(key)}-byte key has no 32-byte form")
    k32 = bytes.fromhex(case["keyringKey"])
    if len(k32) != KEY_LEN or hmac.new(k32, msg, hashlib.sha256).digest() != want:
        return f"keyringKey ({case['keyForm']}) is not an equivalent key"
    # Through the library.
    got = hmac_sha256(k32, msg)
    if got != want:
        return f"hmac_sha256 = {got.hex()}, want {want.hex()}"
    if hmac.compare_digest(got[: len(tag)], tag) != valid:
        return f"accepted {not valid}, want {valid}"
    return None


@pytest.mark.parametrize("case", [pytest.param(c, id=f"tc{c['tcId']}") for c in CASES])
def test_external_vector(case: Json) -> None:
    assert run(case) is None


def test_external_vector_counts() -> None:
    passed: Counter[str] = Counter()
    forms: Counter[str] = Counter()
    skipped = truncated = 0
    for case in CASES:
        try:
            problem = run(case)
        except LookupError as e:
            skipped += 1
            print(f"skipped: tcId {case['tcId']} ({e})")
            continue
        assert problem is None, f"tcId {case['tcId']}: {problem}"
        passed[f"{case['source']} {case['result']}"] += 1
        forms[case["keyForm"]] += 1
        truncated += case["tagSize"] < 256
    rfc = passed["rfc4231 valid"] + passed["rfc4231 invalid"]
    wp_valid, wp_invalid = passed["wycheproof valid"], passed["wycheproof invalid"]
    sources = DATA["sources"]
    print(
        f"\nexternal vectors: {rfc + wp_valid + wp_invalid} passed, {skipped} skipped "
        f"(rfc4231 {rfc}/{sources['rfc4231']['numberOfTests']}, wycheproof "
        f"{wp_valid + wp_invalid}/{sources['wycheproof']['numberOfTests']}: {wp_valid} valid accepted, "
        f"{wp_invalid} invalid rejected; {truncated} with 128-bit tags)"
    )
    print(
        f"external vectors: through hmac_sha256 with 32-byte keys: {forms['as_is']} as-is, "
        f"{forms['zero_padded']} zero-padded, {forms['hashed']} hashed (RFC 2104 equivalent keys)"
    )
    assert len(CASES) == DATA["numberOfTests"]
    assert skipped == 0
    assert rfc == sources["rfc4231"]["numberOfTests"]
    assert wp_valid + wp_invalid == sources["wycheproof"]["numberOfTests"]
    assert wp_invalid > 0


def test_hmac_sha256_takes_exactly_32_bytes_of_key() -> None:
    key = bytes(range(32))
    assert hmac_sha256(key, b"") == hmac.new(key, b"", hashlib.sha256).digest()
    for bad in (b"", bytes(31), bytes(33)):
        with pytest.raises(ValueError):
            hmac_sha256(bad, b"x")
    with pytest.raises(TypeError):
        hmac_sha256("0" * 32, b"x")  # type: ignore[arg-type]


# ---- the bit-flip sweep ---------------------------------------------------------------------

COUNTER = 7
SESSION_ID = bytes(range(0x10, 0x20))


def test_bit_flip_sweep() -> None:
    # The same inputs on every surface: keys 1 and 3 (flipping bit 1 of the key id names a key
    # the ring holds), a full and a compact token of key 1.
    ring = Keyring([(1, bytes(range(32))), (3, bytes(range(0x20, 0x40)))], 1)
    claims = Claims(
        key_id=1,
        session_id=SESSION_ID,
        counter=COUNTER,
        issued_at=1_700_000_000_000,
        expires_at=1_700_086_400_000,
        subject=42,
        binding=bytes(range(1, 9)),
        authenticated=True,
    )
    tokens = {"full": ring.mint_full(claims), "compact": ring.mint_compact(1, SESSION_ID, COUNTER)}

    refusals: Counter[str] = Counter()
    flips = accepted = 0

    def attempt(what: str, text: bytes, compact: bool) -> None:
        nonlocal flips, accepted
        flips += 1
        try:
            # A full token is verified on its own, a compact one against the store's counter.
            ring.verify(text, COUNTER if compact else None)
        except InvalidToken as e:
            refusals[e.reason] += 1
            return
        accepted += 1
        pytest.fail(f"{what}: flipped and accepted")

    for name, token in tokens.items():
        compact = name == "compact"
        ring.verify(token, COUNTER if compact else None)  # the unmodified token verifies
        text = token.encode()
        # 1. Every bit of the text.
        for i in range(len(text)):
            for bit in range(8):
                m = bytearray(text)
                m[i] ^= 1 << bit
                attempt(f"{name}: bit {bit} of text byte {i}", bytes(m), compact)
        # 2. Every bit of the decoded body, re-encoded canonically.
        body = base64.urlsafe_b64decode(text[5:] + b"=" * (-len(text[5:]) % 4))
        for i in range(len(body)):
            for bit in range(8):
                b = bytearray(body)
                b[i] ^= 1 << bit
                m2 = text[:5] + base64.urlsafe_b64encode(bytes(b)).rstrip(b"=")
                assert len(m2) == len(text)
                attempt(f"{name}: bit {bit} of body byte {i}", m2, compact)
        print(
            f"\nbit-flip sweep: {name} {len(text)} chars: {len(text) * 8} text flips, "
            f"{len(body)} body bytes: {len(body) * 8} body flips",
            end="",
        )
    refused = sum(refusals.values())
    print(f"\nbit-flip sweep: {flips} flips, {refused} refused, {accepted} accepted")
    print("bit-flip sweep refusals: " + ", ".join(f"{k} {v}" for k, v in sorted(refusals.items())))
    assert accepted == 0
    assert refused == flips == (115 + 49) * 8 + (82 + 33) * 8
