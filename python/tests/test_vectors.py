"""The golden vectors (vectors/rolltoken-v1.json, see vectors/README.md), byte for byte,
through the Python API: every section, every test case.

The façade sequences run twice: through ``Sessions`` (the core's memory store) and through the
store-free halves with a plain dict as the store, which must give the same answers.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Optional, Union

import pytest

import rolltoken
from rolltoken import (
    MAX_ATTEMPTS,
    Claims,
    CompactClaims,
    Decision,
    Expiry,
    Form,
    Grace,
    InvalidToken,
    Keyring,
    Outcome,
    Policy,
    Record,
    RevokeReason,
    Rule,
    Sessions,
    decode_record,
    encode_record,
    log_id,
    parse_token,
)

Json = dict[str, Any]

VECTORS = Path(
    os.environ.get(
        "ROLLTOKEN_VECTORS",
        str(Path(__file__).resolve().parents[2] / "vectors" / "rolltoken-v1.json"),
    )
)
DATA: Json = json.loads(VECTORS.read_text(encoding="utf-8"))


def cases(section: str, group_type: str) -> list[Any]:
    """(group, test) pairs of one group type, with the tcId as the test id."""
    return [
        pytest.param(group, test, id=f"tc{test['tcId']}")
        for group in DATA[section]["testGroups"]
        if group["type"] == group_type
        for test in group["tests"]
    ]


def entries(section: str) -> list[Any]:
    return [pytest.param(entry, id=f"tc{entry['tcId']}") for entry in DATA[section]]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def opt_h(text: Optional[str]) -> Optional[bytes]:
    return None if text is None else h(text)


def opt_hex(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else data.hex()


def opt_str(n: Optional[int]) -> Optional[str]:
    return None if n is None else str(n)


def keyring(spec: Json) -> Keyring:
    return Keyring([(k["id"], h(k["secret"])) for k in spec["keys"]], spec["minting_id"])


def policy(spec: Json) -> Policy:
    g = spec["grace"]
    grace = Grace.fixed(g["ms"]) if g["kind"] == "fixed" else Grace.adaptive(g["min_ms"], g["max_ms"])
    p = Policy(
        mode=spec["mode"],
        form=spec["form"],
        anonymous=spec["anonymous"],
        grace=grace,
        span_cap=spec["span_cap"],
        answer_cap=spec["answer_cap"],
        reissue_one_behind=spec["reissue_one_behind"],
        jar_behind_ms=int(spec["jar_behind_ms"]),
        binding=spec["binding"],
        fresh_ms=int(spec["fresh_ms"]),
        session_lifetime_ms=int(spec["session_lifetime_ms"]),
        idle_timeout_ms=int(spec["idle_timeout_ms"]),
        anonymous_lifetime_ms=int(spec["anonymous_lifetime_ms"]),
    )
    assert policy_spec(p) == spec
    return p


def policy_spec(p: Policy) -> Json:
    g = p.grace
    grace: Json = (
        {"kind": "adaptive", "min_ms": g.min_ms, "max_ms": g.max_ms}
        if g.is_adaptive
        else {"kind": "fixed", "ms": g.ms}
    )
    return {
        "mode": p.mode.value,
        "form": p.form.value,
        "anonymous": p.anonymous,
        "grace": grace,
        "span_cap": p.span_cap,
        "answer_cap": p.answer_cap,
        "reissue_one_behind": p.reissue_one_behind,
        "jar_behind_ms": str(p.jar_behind_ms),
        "binding": p.binding.value,
        "fresh_ms": str(p.fresh_ms),
        "session_lifetime_ms": str(p.session_lifetime_ms),
        "idle_timeout_ms": str(p.idle_timeout_ms),
        "anonymous_lifetime_ms": str(p.anonymous_lifetime_ms),
    }


U64_FIELDS = (
    "counter",
    "floor",
    "version",
    "created_at",
    "expires_at",
    "last_advance_at",
    "grace_until",
    "last_seen_at",
    "revoked_at",
)


def record_of(f: Json) -> Record:
    assert (f["state"] == "active") == (f["revoke_reason"] is None)
    return Record(
        session_id=h(f["session_id"]),
        parent=opt_h(f["parent"]),
        subject=h(f["subject"]),
        revoke_reason=f["revoke_reason"],
        authenticated=f["authenticated"],
        form=f["form"],
        counter=int(f["counter"]),
        floor=int(f["floor"]),
        version=int(f["version"]),
        created_at=int(f["created_at"]),
        expires_at=int(f["expires_at"]),
        last_advance_at=int(f["last_advance_at"]),
        grace_until=int(f["grace_until"]),
        last_seen_at=int(f["last_seen_at"]),
        grace_answers=f["grace_answers"],
        confirmed=f["confirmed"],
        lateness_ms=f["lateness_ms"],
        binding=h(f["binding"]),
        binding_key_id=f["binding_key_id"],
        revoked_at=int(f["revoked_at"]),
    )


def fields_of(r: Record) -> Json:
    reason = r.revoke_reason
    out: Json = {
        "session_id": r.session_id.hex(),
        "parent": opt_hex(r.parent),
        "subject": r.subject.hex(),
        "state": "active" if r.is_active else "revoked",
        "revoke_reason": None if reason is None else reason.value,
        "authenticated": r.authenticated,
        "form": r.form.value,
        "grace_answers": r.grace_answers,
        "confirmed": r.confirmed,
        "lateness_ms": r.lateness_ms,
        "binding": r.binding.hex(),
        "binding_key_id": r.binding_key_id,
    }
    for name in U64_FIELDS:
        out[name] = str(getattr(r, name))
    return out


def details_of(x: Union[Outcome, Decision]) -> Json:
    """The verdict's details in the vectors' shape, each name checked against its enum."""
    rule = x.rule
    if rule == Rule.CONCURRENT_IN_GRACE:
        return {"behind": str(x.steps)}
    if rule == Rule.STORE_BEHIND:
        return {"ahead": str(x.steps)}
    if rule == Rule.REUSE:
        return {"presented": opt_str(x.presented), "current": str(x.current)}
    if rule == Rule.REVOKED:
        assert x.detail is not None
        return {"reason": RevokeReason(x.detail).value}
    if rule == Rule.EXPIRED:
        assert x.detail is not None
        return {"expiry": Expiry(x.detail).value}
    if rule == Rule.MALFORMED:
        return {"reason": x.detail}
    assert (x.steps, x.presented, x.current, x.detail) == (None, None, None, None)
    return {}


def view_of(o: Outcome) -> Optional[Json]:
    v = o.view
    if v is None:
        return None
    assert v.log_id == o.log_id == log_id(v.session_id)
    return {
        "session_id": v.session_id.hex(),
        "log_id": v.log_id,
        "subject": v.subject.hex(),
        "authenticated": v.authenticated,
        "counter": str(v.counter),
        "parent": opt_hex(v.parent),
        "expires_at": str(v.expires_at),
    }


# keys


@pytest.mark.parametrize(("group", "test"), cases("keys", "compact_tag"))
def test_keys_compact_tag(group: Json, test: Json) -> None:
    key_id: int = group["key"]["id"]
    keys = Keyring([(key_id, h(group["key"]["secret"]))], key_id)
    token = keys.mint_compact(key_id, h(test["session_id"]), int(test["counter"]))
    assert token == test["token"]
    body = base64.urlsafe_b64decode(token[5:] + "=" * (-len(token[5:]) % 4))
    assert body[0] == key_id
    assert body[1:17] == h(test["session_id"])
    assert body[17:] == h(test["tag"])


@pytest.mark.parametrize(("group", "test"), cases("keys", "binding"))
def test_keys_binding(group: Json, test: Json) -> None:
    key_id: int = group["key"]["id"]
    keys = Keyring([(key_id, h(group["key"]["secret"]))], key_id)
    assert keys.binding(key_id, test["user_agent"], test["ip"]).hex() == test["binding"]
    # The same user agent as raw bytes hashes the same.
    assert keys.binding(key_id, test["user_agent"].encode(), test["ip"]).hex() == test["binding"]


@pytest.mark.parametrize(("group", "test"), cases("keys", "log_id"))
def test_keys_log_id(group: Json, test: Json) -> None:
    assert log_id(h(test["session_id"])) == test["log_id"]


# tokens


@pytest.mark.parametrize(("group", "test"), cases("tokens", "full"))
def test_tokens_full(group: Json, test: Json) -> None:
    keys = keyring(group["keyring"])
    c = test["claims"]
    claims = Claims(
        key_id=c["key_id"],
        session_id=h(c["session_id"]),
        counter=int(c["counter"]),
        issued_at=int(c["issued_at"]),
        expires_at=int(c["expires_at"]),
        subject=h(c["subject"]),
        binding=h(c["binding"]),
        authenticated=c["authenticated"],
    )
    assert keys.mint_full(claims) == test["token"]
    parsed = parse_token(test["token"])
    assert parsed.form == Form.FULL
    assert parsed.claims == claims
    assert (parsed.key_id, parsed.session_id) == (claims.key_id, claims.session_id)
    assert keys.verify(test["token"]) == claims
    assert keys.verify(test["token"], int(c["counter"])) == claims


@pytest.mark.parametrize(("group", "test"), cases("tokens", "compact"))
def test_tokens_compact(group: Json, test: Json) -> None:
    keys = keyring(group["keyring"])
    counter = int(test["counter"])
    sid = h(test["session_id"])
    token = keys.mint_compact(test["key_id"], sid, counter)
    assert token == test["token"]
    parsed = parse_token(token)
    assert (parsed.form, parsed.key_id, parsed.session_id, parsed.claims) == (
        Form.COMPACT,
        test["key_id"],
        sid,
        None,
    )
    verified = keys.verify(token, counter)
    assert isinstance(verified, CompactClaims)
    assert (verified.key_id, verified.session_id, verified.counter) == (test["key_id"], sid, counter)
    for neighbour in (counter - 1, counter + 1):
        if 0 <= neighbour < 2**64:
            with pytest.raises(InvalidToken) as e:
                keys.verify(token, neighbour)
            assert e.value.reason == "bad_tag"


@pytest.mark.parametrize(("group", "test"), cases("tokens", "invalid"))
def test_tokens_invalid(group: Json, test: Json) -> None:
    keys = keyring(group["keyring"])
    text: str = test["token"]
    counter = None if test["counter"] is None else int(test["counter"])
    try:
        parsed = parse_token(text)
    except InvalidToken as parse_error:
        assert parse_error.reason == test["error"]
        assert counter is None
    else:
        assert parsed.form == Form.FULL or counter is not None
    with pytest.raises(InvalidToken) as verify_error:
        keys.verify(text, counter)
    assert verify_error.value.reason == test["error"]
    assert text == "" or text not in str(verify_error.value)


# records


@pytest.mark.parametrize(("group", "test"), cases("records", "valid"))
def test_records_valid(group: Json, test: Json) -> None:
    record = record_of(test["fields"])
    assert encode_record(record).hex() == test["hex"]
    assert record.encode().hex() == test["hex"]
    decoded = decode_record(h(test["hex"]))
    assert fields_of(decoded) == test.get("decoded", test["fields"])
    if "decoded" not in test:
        assert decoded == record


@pytest.mark.parametrize(("group", "test"), cases("records", "invalid"))
def test_records_invalid(group: Json, test: Json) -> None:
    with pytest.raises(rolltoken.InvalidRecord) as e:
        decode_record(h(test["hex"]))
    assert e.value.reason == test["error"]


# engine sequences


@pytest.mark.parametrize("seq", entries("sequences"))
def test_sequences(seq: Json) -> None:
    keys = keyring(seq["keyring"])
    pol = policy(seq["policy"])
    initial = seq["initial_record"]
    assert encode_record(record_of(initial["fields"])).hex() == initial["hex"]
    record = h(initial["hex"])
    for i, step in enumerate(seq["steps"]):
        d = keys.decide(
            pol, record, step["token"], step["kind"], int(step["now_ms"]), step["user_agent"], step["ip"]
        )
        e = step["expect"]
        got = {
            "verdict": d.rule.value,
            "details": details_of(d),
            "binding": {"user_agent": d.binding_user_agent, "ip": d.binding_ip},
            "clear_cookie": d.clear_cookie,
            "token_out": d.token,
            "record_out": opt_hex(d.save),
        }
        assert got == e, f"step {i}: {step['comment']}"
        assert not (d.proceed and d.clear_cookie)
        if d.save is not None:
            record = d.save


# façade sequences


def check_request(o: Outcome, e: Json, now_ms: int) -> None:
    got = {
        "outcome": "proceed" if o.proceed else "reject",
        "verdict": o.rule.value,
        "details": details_of(o),
        "binding": {"user_agent": o.binding_user_agent, "ip": o.binding_ip},
        "clear_cookie": o.clear_cookie,
        "token_out": o.token,
        "view": view_of(o),
        "event": None if o.proceed else {"log_id": o.log_id, "at_ms": str(o.at_ms)},
    }
    assert got == e
    assert o.at_ms == now_ms


def check_login(o: Outcome, e: Json) -> None:
    assert o.proceed and o.rule == Rule.FRESH
    assert {"token_out": o.token, "view": view_of(o)} == e


class DictStore:
    """What a caller's own store does, over a dict: compare-and-swap on the write version."""

    def __init__(self) -> None:
        self.records: dict[bytes, bytes] = {}

    def save(self, record: bytes, expected_version: Optional[int]) -> bool:
        sid = decode_record(record).session_id
        stored = self.records.get(sid)
        version = None if stored is None else decode_record(stored).version
        if version != expected_version:
            return False
        self.records[sid] = record
        return True

    def handle(self, s: Sessions, **request: Any) -> Outcome:
        step = s.begin(request.pop("cookie"), request.pop("kind"), **request)
        if step.outcome is not None:
            assert step.done and step.session_id is None
            return step.outcome
        assert step.session_id is not None and step.log_id == log_id(step.session_id)
        from_primary = False
        for _ in range(MAX_ATTEMPTS):
            finish = s.finish(step, self.records.get(step.session_id), from_primary=from_primary)
            if finish.load_primary:
                assert finish.outcome is None
                from_primary = True
                continue
            assert finish.outcome is not None
            if finish.save is None or self.save(finish.save, finish.expected_version):
                return finish.outcome
            from_primary = True  # someone wrote first: the copy we read may lag
        return s.store_failed(step, True)

    def revoke(self, s: Sessions, sid: bytes, reason: RevokeReason, now_ms: int) -> bool:
        for _ in range(MAX_ATTEMPTS):
            stored = self.records.get(sid)
            if stored is None:
                return False
            revoked = s.revoke_record(stored, reason, now_ms=now_ms)
            if revoked is None:
                return False
            if self.save(revoked, decode_record(stored).version):
                return True
        raise rolltoken.Conflict("contended")

    def login(self, s: Sessions, subject: bytes, **request: Any) -> Outcome:
        plan = s.plan_login(subject, **request)
        if plan.retire is not None:
            self.revoke(s, plan.retire, RevokeReason.UPGRADED_AT_LOGIN, request["now_ms"])
        assert self.save(plan.record, None)
        return plan.outcome

    def logout(self, s: Sessions, cookie: str, now_ms: int) -> Optional[str]:
        sid = s.logout_target(cookie, now_ms=now_ms)
        if sid is None or not self.revoke(s, sid, RevokeReason.LOGOUT, now_ms):
            return None
        return log_id(sid)

    def revoke_all(self, s: Sessions, subject: bytes, now_ms: int) -> int:
        sids = [
            sid
            for sid, raw in self.records.items()
            if decode_record(raw).subject == subject and decode_record(raw).is_active
        ]
        return sum(self.revoke(s, sid, RevokeReason.ADMIN, now_ms) for sid in sids)


@pytest.mark.parametrize("store", ["memory", "dict"])
@pytest.mark.parametrize("seq", entries("sessions"))
def test_sessions(seq: Json, store: str) -> None:
    s = Sessions(keyring(seq["keyring"]), policy(seq["policy"]))
    mine = DictStore() if store == "dict" else None
    for i, step in enumerate(seq["steps"]):
        e = step["expect"]
        now = int(step["now_ms"])
        where = f"step {i}: {step['comment']}"
        if step["op"] == "request":
            request: Json = {
                "cookie": step["cookie"],
                "kind": step["kind"],
                "user_agent": step["user_agent"],
                "ip": step["ip"],
                "now_ms": now,
                "new_session_id": h(step["new_session_id"]),
            }
            o = s.handle(**request) if mine is None else mine.handle(s, **request)
            check_request(o, e, now)
        elif step["op"] == "login":
            subject = h(step["subject"])
            login: Json = {
                "current_cookie": step["cookie"],
                "user_agent": step["user_agent"],
                "ip": step["ip"],
                "now_ms": now,
                "new_session_id": h(step["new_session_id"]),
            }
            if "error" in e:
                assert e["error"] == "anonymous_subject", where
                with pytest.raises(ValueError, match="non-zero subject"):
                    s.login(subject, **login) if mine is None else mine.login(s, subject, **login)
                continue
            o = s.login(subject, **login) if mine is None else mine.login(s, subject, **login)
            check_login(o, e)
        elif step["op"] == "logout":
            cookie: str = step["cookie"]
            got = s.logout(cookie, now_ms=now) if mine is None else mine.logout(s, cookie, now)
            assert got == e["log_id"], where
        elif step["op"] == "revoke_all":
            subject = h(step["subject"])
            n = s.revoke_all(subject, now_ms=now) if mine is None else mine.revoke_all(s, subject, now)
            assert n == e["count"], where
        else:
            pytest.fail(f"unknown op {step['op']!r}")


def test_every_test_case_is_checked() -> None:
    """numberOfTests counts every tcId; the parametrized tests above cover them all."""
    ids = {t["tcId"] for section in ("keys", "tokens", "records") for g in DATA[section]["testGroups"] for t in g["tests"]}
    ids |= {e["tcId"] for e in DATA["sequences"]} | {e["tcId"] for e in DATA["sessions"]}
    assert len(ids) == DATA["numberOfTests"]
    kinds = {(s, g["type"]) for s in ("keys", "tokens", "records") for g in DATA[s]["testGroups"]}
    assert kinds == {
        ("keys", "compact_tag"),
        ("keys", "binding"),
        ("keys", "log_id"),
        ("tokens", "full"),
        ("tokens", "compact"),
        ("tokens", "invalid"),
        ("records", "valid"),
        ("records", "invalid"),
    }
    assert DATA["algorithm"] == "rolltoken-v1"
