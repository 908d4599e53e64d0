"""The root README's Python quick start runs as written (under Flask's test client)."""

from __future__ import annotations

import pathlib
from typing import Any

from rolltoken import Keyring
from rolltoken.cli import main

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def quick_start() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```python\n") + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_readme_quick_start_serves_a_rolling_session(monkeypatch: Any, capsys: Any) -> None:
    assert main(["keygen"]) == 0
    key = capsys.readouterr().out.strip()
    monkeypatch.setenv("ROLLTOKEN_KEYS", key)
    namespace: dict[str, Any] = {"__name__": "readme_quick_start"}
    exec(compile(quick_start(), str(README), "exec"), namespace)
    client = namespace["app"].test_client()
    first = client.get("/", headers={"Sec-Fetch-Mode": "navigate", "User-Agent": "test"})
    assert first.status_code == 200 and first.text.startswith("session ")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("__Host-rolltoken=rtf1_") and "Secure" in cookie and "HttpOnly" in cookie
    assert cookie.split(";")[0].split("=", 1)[1] not in first.text
    assert Keyring.from_base64(key).key_ids == [1]
