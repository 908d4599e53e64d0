"""The ``rolltoken`` command line: ``keygen``, ``inspect`` and ``verify``.

``inspect`` decodes a token's public claims and log id *without* a key (claims are signed,
not encrypted); ``verify`` checks its tag with the keys from ``--keys`` or ``ROLLTOKEN_KEYS``
(``"1:<base64>,2:<base64>"``, the format ``keygen`` prints). Output never repeats the token.

Exit status: 0 success, 1 the token is invalid, 2 usage or configuration error.

``demo`` serves the demo web app (:mod:`rolltoken.demo`) until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ._rolltoken import Claims, CompactClaims, Keyring, ParsedToken, parse_token
from .errors import ConfigurationError, InvalidToken

__all__ = ["main"]

KEYS_ENV = "ROLLTOKEN_KEYS"


def _claims_json(claims: Claims) -> dict[str, Any]:
    return {
        "key_id": claims.key_id,
        "log_id": claims.log_id,
        "counter": claims.counter,
        "issued_at": claims.issued_at,
        "expires_at": claims.expires_at,
        "subject": claims.subject.hex(),
        "binding": claims.binding.hex(),
        "authenticated": claims.authenticated,
    }


def _parsed_json(parsed: ParsedToken) -> dict[str, Any]:
    out: dict[str, Any] = {
        "form": str(parsed.form),
        "key_id": parsed.key_id,
        "log_id": parsed.log_id,
        "verified": False,
    }
    if parsed.claims is not None:
        out["claims"] = _claims_json(parsed.claims)
    return out


def _keygen(args: argparse.Namespace, out: TextIO) -> int:
    secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")
    out.write(f"{args.id}:{secret}\n")
    return 0


def _inspect(args: argparse.Namespace, out: TextIO) -> int:
    parsed = parse_token(args.token)
    out.write(json.dumps(_parsed_json(parsed), indent=2) + "\n")
    return 0


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    spec = args.keys if args.keys is not None else os.environ.get(KEYS_ENV)
    if not spec:
        raise ConfigurationError(f"no keys: pass --keys or set {KEYS_ENV}")
    keys = Keyring.from_base64(spec, args.minting_id)
    claims = keys.verify(args.token, args.counter)
    result: dict[str, Any]
    if isinstance(claims, CompactClaims):
        result = {"form": "compact", "key_id": claims.key_id, "log_id": claims.log_id, "counter": claims.counter}
    else:
        result = {"form": "full", **_claims_json(claims)}
    result["verified"] = True
    out.write(json.dumps(result, indent=2) + "\n")
    return 0


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from .demo import serve  # here: the other commands need no web app

    return serve(args.host, args.port, allow_remote=args.allow_remote, out=out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rolltoken", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="print a new key as ID:BASE64URL (32 random bytes)")
    keygen.add_argument("--id", type=int, default=1, choices=range(256), metavar="ID", help="key id, 0..255")
    keygen.set_defaults(run=_keygen)
    inspect = commands.add_parser("inspect", help="decode a token's public claims without a key")
    inspect.add_argument("token")
    inspect.set_defaults(run=_inspect)
    verify = commands.add_parser("verify", help=f"check a token's tag (keys from --keys or {KEYS_ENV})")
    verify.add_argument("token")
    verify.add_argument("--keys", help='"ID:BASE64,ID:BASE64" (default: $' + KEYS_ENV + ")")
    verify.add_argument("--minting-id", type=int, default=None, help="needed with more than one key")
    verify.add_argument("--counter", type=int, default=None, help="a compact token's counter (from the store)")
    verify.set_defaults(run=_verify)
    demo = commands.add_parser(
        "demo", help="serve the demo web app (set ROLLTOKEN_DEMO_INSECURE=1 for plain HTTP)"
    )
    demo.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback only)")
    demo.add_argument("--port", type=int, default=8000, help="default 8000; 0 picks a free port")
    demo.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Runs the command line; returns the exit status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args, out)
        return status
    except InvalidToken as e:
        err.write(f"rolltoken: invalid token: {e.reason}\n")
        return 1
    except (ConfigurationError, ValueError, TypeError) as e:
        err.write(f"rolltoken: {e}\n")
        return 2
