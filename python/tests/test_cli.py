"""The command line, in-process and as a real `python -m rolltoken` process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from rolltoken import Claims, Keyring, parse_token
from rolltoken.cli import main

T0 = 1_700_000_000_000


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    try:
        if env is not None:
            os.environ.update(env)
        status = main(list(argv), out, err)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return status, out.getvalue(), err.getvalue()


def full_token(keys: Keyring) -> str:
    claims = Claims(
        key_id=1,
        session_id=bytes(range(16)),
        counter=7,
        issued_at=T0,
        expires_at=T0 + 3_600_000,
        subject=42,
        binding=bytes(8),
        authenticated=True,
    )
    return keys.mint_full(claims)


def test_keygen_prints_a_key_the_keyring_accepts() -> None:
    status, out, _ = run("keygen", "--id", "3")
    assert status == 0
    spec = out.strip()
    assert spec.startswith("3:")
    keys = Keyring.from_base64(spec)
    assert keys.key_ids == [3]
    assert run("keygen")[1] != out, "every key is fresh randomness"


def test_inspect_shows_public_claims_without_a_key_and_never_the_token() -> None:
    keys = Keyring.from_base64(run("keygen")[1].strip())
    token = full_token(keys)
    status, out, _ = run("inspect", token)
    assert status == 0
    shown = json.loads(out)
    assert shown["form"] == "full" and shown["verified"] is False
    assert shown["claims"]["counter"] == 7 and shown["claims"]["authenticated"] is True
    assert shown["log_id"] == parse_token(token).log_id
    assert token not in out and token[5:30] not in out


def test_verify_checks_the_tag_with_the_given_or_environment_keys() -> None:
    spec = run("keygen")[1].strip()
    other = run("keygen")[1].strip()
    token = full_token(Keyring.from_base64(spec))
    status, out, _ = run("verify", token, "--keys", spec)
    assert status == 0 and json.loads(out)["verified"] is True
    status, out, _ = run("verify", token, env={"ROLLTOKEN_KEYS": spec})
    assert status == 0
    status, _, err = run("verify", token, "--keys", other)
    assert status == 1 and "bad_tag" in err
    status, _, err = run("verify", token[:-2], "--keys", spec)
    assert status == 1 and "wrong_length" in err
    status, _, err = run("verify", token, env={"ROLLTOKEN_KEYS": ""})
    assert status == 2 and "ROLLTOKEN_KEYS" in err
    status, _, err = run("verify", token, "--keys", "1:not base64!")
    assert status == 2 and token not in err


def test_compact_tokens_verify_against_a_counter() -> None:
    spec = run("keygen")[1].strip()
    keys = Keyring.from_base64(spec)
    token = keys.mint_compact(1, bytes(16), 5)
    assert run("verify", token, "--keys", spec, "--counter", "5")[0] == 0
    assert run("verify", token, "--keys", spec, "--counter", "6")[0] == 1


def test_python_dash_m_runs_as_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rolltoken", "inspect", "rtc1_nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "invalid token: wrong_length" in proc.stderr
