"""The typed Python API: defaults, conversions, errors, reprs, threads, and the store-free
halves with a dict as the store. The rules themselves are checked by test_vectors.py."""

from __future__ import annotations

import base64
import pickle
import threading
import time
from typing import Callable, Optional

import pytest

import rolltoken
from rolltoken import (
    MAX_ATTEMPTS,
    BindingPolicy,
    Claims,
    CompactClaims,
    ConfigurationError,
    Conflict,
    CookieConfig,
    CookieError,
    Decision,
    Form,
    Grace,
    InvalidRecord,
    InvalidToken,
    Keyring,
    Kind,
    Mode,
    Outcome,
    Policy,
    Record,
    RevokeReason,
    RolltokenError,
    Rule,
    SameSite,
    Sessions,
    Step,
    StoreUnavailable,
    clear_cookie,
    decode_record,
    encode_record,
    find_cookie,
    log_id,
    parse_token,
    set_cookie,
)

SECRET = bytes(range(32))
OTHER = bytes(range(100, 132))
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IP = "198.51.100.23"
T0 = 1_700_000_000_000


def keys() -> Keyring:
    return Keyring([(1, SECRET)], 1)


def sessions(policy: Optional[Policy] = None) -> Sessions:
    return Sessions(keys(), policy)


def sid(n: int) -> bytes:
    return bytes([n]) * 16


def token_of(o: Outcome) -> str:
    assert o.token is not None, o
    return o.token


def token_of_decision(d: Decision) -> str:
    assert d.token is not None, d
    return d.token


def test_package_docstring_example() -> None:
    import doctest

    result = doctest.testmod(rolltoken)
    assert result.attempted > 0 and result.failed == 0


# Defaults: the OS clock and the OS RNG.


def test_defaults_use_the_os_clock_and_random_session_ids() -> None:
    s = sessions()
    before = time.time_ns() // 1_000_000
    a = s.handle(None, Kind.ADVANCE, user_agent=UA)
    b = s.handle(None, "advance")
    after = time.time_ns() // 1_000_000
    for o in (a, b):
        assert o.rule == Rule.NEW_ANONYMOUS and o.proceed and o.token is not None
        assert before <= o.at_ms <= after
        assert o.view is not None and o.view.max_age_secs == 24 * 3600
    assert a.view is not None and b.view is not None
    assert a.view.session_id != b.view.session_id
    assert len(a.view.session_id) == rolltoken.SESSION_ID_LEN
    login = s.login(7, user_agent=UA)
    assert login.view is not None and login.view.session_id not in (a.view.session_id, b.view.session_id)
    assert before <= login.at_ms <= time.time_ns() // 1_000_000
    assert login.view.expires_at == login.at_ms + Policy.default().session_lifetime_ms


def test_explicit_time_and_id_are_used() -> None:
    s = sessions()
    o = s.handle(None, Kind.READ, now_ms=T0, new_session_id=sid(3))
    assert o.at_ms == T0
    assert o.view is not None and o.view.session_id == sid(3)
    assert o.log_id == log_id(sid(3)) == o.view.log_id


# Keyrings.


def test_keyring_checks_keys() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        Keyring([(1, b"short")], 1)
    with pytest.raises(ConfigurationError):
        Keyring([], 1)
    with pytest.raises(ConfigurationError):
        Keyring([(i, SECRET) for i in range(5)], 1)
    with pytest.raises(ConfigurationError):
        Keyring([(1, SECRET), (1, OTHER)], 1)
    with pytest.raises(ConfigurationError):
        Keyring([(1, SECRET)], 2)
    with pytest.raises(ConfigurationError):
        Keyring([(256, SECRET)], 256)
    with pytest.raises(TypeError):
        Keyring([(1, SECRET.hex())], 1)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Keyring([("1", SECRET)], 1)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Keyring([(1, SECRET, 3)], 1)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Keyring(None, 1)  # type: ignore[arg-type]
    ring = Keyring([(1, SECRET), (2, bytearray(OTHER))], 2)  # type: ignore[list-item]
    assert ring.key_ids == [1, 2] and ring.minting_id == 2
    assert 1 in ring and 3 not in ring and "1" not in ring


def test_keyring_from_base64() -> None:
    std = base64.b64encode(SECRET).decode()
    url = base64.urlsafe_b64encode(OTHER).decode().rstrip("=")
    assert "-" in url or "_" in url
    a = Keyring.from_base64(f"1:{std}, 2:{url}", 2)
    b = Keyring.from_base64([(1, std), (2, url.encode())], 2)
    c = Keyring([(1, SECRET), (2, OTHER)], 2)
    assert a.key_ids == b.key_ids == [1, 2]
    token = c.mint_compact(2, sid(1), 5)
    assert a.mint_compact(2, sid(1), 5) == b.mint_compact(2, sid(1), 5) == token
    assert Keyring.from_base64(f"7:{std}").minting_id == 7
    assert Keyring.from_base64([(7, std)]).minting_id == 7
    with pytest.raises(ConfigurationError, match="minting_id"):
        Keyring.from_base64(f"1:{std},2:{url}")
    with pytest.raises(ConfigurationError, match="at least one key"):
        Keyring.from_base64(" , ")
    with pytest.raises(ConfigurationError, match="at most 4"):
        Keyring.from_base64(",".join(f"{i}:{std}" for i in range(6)), 1)
    bad = "not*base64*at*all*********************"
    with pytest.raises(ConfigurationError) as e:
        Keyring.from_base64(f"1:{bad}")
    assert bad not in str(e.value)
    with pytest.raises(ConfigurationError):
        Keyring.from_base64("1:" + base64.b64encode(SECRET[:31]).decode())
    with pytest.raises(ConfigurationError):
        Keyring.from_base64(std)  # no "<id>:" prefix
    with pytest.raises(ConfigurationError):
        Keyring.from_base64(f"x:{std}")
    with pytest.raises(TypeError):
        Keyring.from_base64([(1, 5)])  # type: ignore[list-item]


def test_keyring_repr_shows_ids_only() -> None:
    ring = Keyring([(1, SECRET), (2, OTHER)], 2)
    text = repr(ring)
    assert text == "Keyring(key_ids=[1, 2], minting_id=2)"
    for secret in (SECRET, OTHER):
        assert secret.hex() not in text and base64.b64encode(secret).decode() not in text


# Token primitives.


def test_tokens_mint_parse_verify() -> None:
    ring = keys()
    claims = Claims(
        key_id=1,
        session_id=sid(9),
        counter=3,
        issued_at=T0,
        expires_at=T0 + 1000,
        subject=42,
        binding=ring.binding(1, UA, IP),
        authenticated=True,
    )
    assert claims.subject == (42).to_bytes(16, "big") and claims.form == Form.FULL
    full = ring.mint_full(claims)
    assert full.startswith("rtf1_") and len(full) == rolltoken.MAX_TOKEN_LEN
    parsed = parse_token(full)
    assert parsed.form == Form.FULL and parsed.claims == claims and parsed.log_id == log_id(sid(9))
    assert ring.verify(full) == claims
    with pytest.raises(InvalidToken) as e:
        ring.verify(full, 4)
    assert e.value.reason == "bad_tag"
    with pytest.raises(InvalidToken) as e:
        Keyring([(1, OTHER)], 1).verify(full)
    assert e.value.reason == "bad_tag"
    with pytest.raises(InvalidToken) as e:
        Keyring([(2, SECRET)], 2).verify(full)
    assert e.value.reason == "unknown_key"

    compact = ring.mint_compact(1, sid(9), 3)
    assert parse_token(compact.encode()).claims is None
    verified = ring.verify(compact, 3)
    assert isinstance(verified, CompactClaims) and verified.form == Form.COMPACT
    assert (verified.key_id, verified.session_id, verified.counter) == (1, sid(9), 3)
    with pytest.raises(ValueError, match="counter"):
        ring.verify(compact)
    with pytest.raises(ValueError, match="no key"):
        ring.mint_compact(2, sid(9), 3)
    with pytest.raises(ValueError, match="no key"):
        ring.binding(2, UA)
    with pytest.raises(ValueError, match="16 bytes"):
        ring.mint_compact(1, b"short", 3)
    with pytest.raises(OverflowError):
        ring.mint_compact(1, sid(9), -1)


def test_binding_inputs() -> None:
    ring = keys()
    assert ring.binding(1, UA, "198.51.100.1") == ring.binding(1, UA.encode(), "198.51.100.200")
    assert ring.binding(1, UA, "::ffff:198.51.100.1") == ring.binding(1, UA, "198.51.100.9")
    assert ring.binding(1, UA) == ring.binding(1, UA, None) == ring.binding(1, UA, "")
    assert ring.binding(1) == ring.binding(1, "") == ring.binding(1, b"")
    assert ring.binding(1, UA, "2001:db8::1")[4:] != ring.binding(1, UA)[4:]
    with pytest.raises(ValueError, match="IP"):
        ring.binding(1, UA, "testclient")


def test_decide_is_the_pure_engine() -> None:
    ring = keys()
    s = sessions()
    login = s.login(5, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(4))
    record = s.load_record(sid(4))
    assert record is not None and len(record) == rolltoken.RECORD_LEN
    d = ring.decide(Policy.default(), record, token_of(login), Kind.ADVANCE, T0 + 1000, UA, IP)
    assert d.rule == Rule.FRESH and d.proceed and not d.clear_cookie and d.token is not None
    assert d.save is not None and decode_record(d.save).counter == 1
    assert (d.binding_user_agent, d.binding_ip) == (True, True)
    again = ring.decide(Policy.default(), decode_record(record), token_of(login), "read", T0 + 1000)
    assert again.rule == Rule.CURRENT and again.token is None
    assert token_of(login) not in repr(d) and token_of_decision(d) not in repr(d)
    with pytest.raises(InvalidToken) as e:
        ring.decide(Policy.default(), record, "garbage", Kind.READ, T0)
    assert e.value.reason == "wrong_prefix"
    with pytest.raises(InvalidRecord) as r:
        ring.decide(Policy.default(), record[:-1], token_of(login), Kind.READ, T0)
    assert r.value.reason == "wrong_length"


# Policies.


def test_policy_fields_defaults_and_validation() -> None:
    p = Policy.default()
    assert p == Policy()
    assert (p.mode, p.form, p.binding) == (Mode.STRICT, Form.COMPACT, BindingPolicy.EVIDENCE)
    assert p.grace == Grace.fixed(10_000) and p.grace.ms == 10_000 and not p.grace.is_adaptive
    assert (p.span_cap, p.answer_cap, p.anonymous, p.reissue_one_behind) == (8, 16, True, True)
    assert (p.fresh_ms, p.jar_behind_ms, p.idle_timeout_ms) == (900_000, 1_800_000, 1_800_000)
    assert (p.session_lifetime_ms, p.anonymous_lifetime_ms) == (43_200_000, 86_400_000)
    c = Policy.cached()
    assert (c.mode, c.form) == (Mode.CACHED, Form.FULL)
    assert Policy(mode="cached", form="full") == c == Policy(mode=Mode.CACHED, form=Form.FULL)
    adaptive = p.replace(grace=Grace.adaptive(5_000, 60_000), binding="require_full")
    assert adaptive.grace.is_adaptive and (adaptive.grace.min_ms, adaptive.grace.max_ms) == (5_000, 60_000)
    assert adaptive.grace.ms is None and adaptive.binding == BindingPolicy.REQUIRE_FULL
    assert adaptive.span_cap == 8 and p.binding == BindingPolicy.EVIDENCE
    assert "Grace.adaptive(5000, 60000)" in repr(adaptive) and "require_full" in repr(adaptive)
    checks: list[Callable[[], object]] = [
        lambda: Policy(span_cap=0),
        lambda: Policy(answer_cap=0),
        lambda: Policy(grace=Grace.fixed(0)),
        lambda: Policy(grace=Grace.adaptive(10, 5)),
        lambda: Policy(idle_timeout_ms=Policy.default().session_lifetime_ms + 1),
        lambda: Policy(mode="cached"),  # cached mode needs full tokens
        lambda: c.replace(fresh_ms=c.idle_timeout_ms),
    ]
    for bad in checks:
        with pytest.raises(ConfigurationError):
            bad()
    with pytest.raises(ValueError, match="'strict', 'cached'"):
        Policy(mode="fast")
    with pytest.raises(OverflowError):
        Policy(span_cap=256)


# Enums.


def test_enums_are_str_valued() -> None:
    fresh: str = Rule.FRESH  # a str subclass: compares, formats and hashes as its value
    assert fresh == "fresh" and str(Rule.FRESH) == "fresh" and f"{Rule.REUSE}" == "reuse"
    assert {fresh: 1}["fresh"] == 1
    assert Rule("concurrent_in_grace") is Rule.CONCURRENT_IN_GRACE
    assert [k.value for k in Kind] == ["advance", "read"]
    assert [f.value for f in Form] == ["full", "compact"]
    assert [r.value for r in RevokeReason] == ["logout", "reuse", "upgraded_at_login", "admin"]
    assert len(Rule) == 20 and SameSite.LAX.value == "Lax"
    assert pickle.loads(pickle.dumps(Rule.REUSE)) is Rule.REUSE
    assert Rule.__module__ == "rolltoken._rolltoken"
    with pytest.raises(ValueError):
        Rule("nope")


def test_bad_enum_strings_are_value_errors() -> None:
    s = sessions()
    with pytest.raises(ValueError, match="'advance', 'read'"):
        s.handle(None, "jump")
    with pytest.raises(ValueError):
        s.handle(None, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Record(session_id=sid(1), subject=1, form="medium", created_at=0, expires_at=1)
    with pytest.raises(ValueError):
        s.revoke_record(
            encode_record(Record(session_id=sid(1), subject=1, form="full", created_at=0, expires_at=1)),
            "bored",
        )
    with pytest.raises(ValueError):
        CookieConfig(same_site="loose")
    assert s.handle(None, "READ", now_ms=T0).rule == Rule.NEW_ANONYMOUS


# Bad input to the façade.


def test_bad_arguments_raise() -> None:
    s = sessions()
    with pytest.raises(ValueError, match="16 bytes"):
        s.handle(None, Kind.READ, new_session_id=b"short")
    with pytest.raises(TypeError):
        s.handle(None, Kind.READ, new_session_id="x" * 16)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="IP"):
        s.handle(None, Kind.READ, ip="not-an-ip")
    with pytest.raises(TypeError):
        s.handle(42, Kind.READ)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        s.handle(None, Kind.READ, now_ms=-1)
    with pytest.raises(ValueError, match="non-zero subject"):
        s.login(0)
    with pytest.raises(ValueError, match="non-zero subject"):
        s.login(bytes(16))
    with pytest.raises(ValueError):
        s.login(-1)
    with pytest.raises(ValueError):
        s.login(2**64)
    with pytest.raises(ValueError, match="16 bytes"):
        s.login(b"\x01")
    with pytest.raises(TypeError):
        s.login(True)
    with pytest.raises(TypeError):
        s.login("user")  # type: ignore[arg-type]
    assert s.login(2**64 - 1, now_ms=T0).rule == Rule.FRESH


def test_non_utf8_input() -> None:
    s = sessions()
    # A cookie that is not UTF-8 (bytes) is just malformed; a str that cannot be encoded as
    # UTF-8 (a lone surrogate) is refused before the core sees it.
    o = s.handle(b"rtc1_\xff\xfe", Kind.ADVANCE, now_ms=T0)
    assert o.rule == Rule.MALFORMED and o.clear_cookie
    with pytest.raises(UnicodeEncodeError):
        s.handle("rtc1_\udcff", Kind.ADVANCE)
    with pytest.raises(UnicodeEncodeError):
        parse_token("rtf1_\ud800")
    with pytest.raises(UnicodeEncodeError):
        keys().binding(1, "bad \udcff agent")
    assert keys().binding(1, b"\xff agent") != keys().binding(1, "\xff agent")
    with pytest.raises(InvalidToken) as e:
        parse_token(b"\xff" * 10)
    assert e.value.reason == "wrong_prefix"


def test_oversized_cookies() -> None:
    s = sessions(Policy(anonymous=False))
    o = s.handle("rtc1_" + "A" * 10_000, Kind.ADVANCE, now_ms=T0)
    assert o.rule == Rule.MALFORMED and o.detail == "too_long" and o.clear_cookie and not o.proceed
    with pytest.raises(CookieError) as e:
        find_cookie("a=" + "b" * 9000, CookieConfig())
    assert e.value.reason == "too_long"
    with pytest.raises(CookieError) as e:
        set_cookie(CookieConfig(), "x" * 129, 60)
    assert e.value.reason == "invalid_value"
    assert s.handle(None, Kind.READ).rule == Rule.NO_SESSION


# Reprs and messages never show a token, a key or a session id.


def test_reprs_never_show_secrets() -> None:
    s = sessions()
    login = s.login(9, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(0xAB))
    token = token_of(login)
    page = s.handle(token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1)
    rolled = token_of(page)
    secrets = [token, rolled, SECRET.hex(), sid(0xAB).hex(), token[5:20], rolled[5:20]]
    step = s.begin(rolled, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 2)
    record = s.load_record(sid(0xAB))
    assert record is not None
    finish = s.finish(step, record)
    assert finish.save is not None and finish.outcome is not None and finish.outcome.token is not None
    secrets.append(finish.outcome.token)
    plan = s.plan_login(9, current_cookie=token, now_ms=T0 + 3, new_session_id=sid(0xAC))
    secrets.append(token_of(plan.outcome))
    reuse = s.handle(token, Kind.ADVANCE, now_ms=T0 + 60_000, user_agent="curl/8", ip="203.0.113.9")
    assert reuse.rule == Rule.REUSE and reuse.log_id == log_id(sid(0xAB))
    shown = [
        login,
        login.view,
        page,
        step,
        finish,
        finish.outcome,
        plan,
        reuse,
        s,
        keys(),
        parse_token(token),
        decode_record(record),
        keys().verify(token, 0),
        keys().verify(rolled, 1),
        Policy.default(),
        CookieConfig(),
    ]
    for obj in shown:
        for text in (repr(obj), str(obj)):
            for secret in secrets:
                assert secret not in text, (type(obj).__name__, text)
    assert "<redacted>" in repr(login) and log_id(sid(0xAB)) in repr(login)
    with pytest.raises(InvalidToken) as e:
        keys().verify(token[:-1] + ("A" if token[-1] != "A" else "B"), 0)
    assert all(secret not in str(e.value) and secret not in repr(e.value) for secret in secrets)


# Exceptions.


def test_exception_hierarchy() -> None:
    for cls in (InvalidToken, InvalidRecord, CookieError, ConfigurationError, StoreUnavailable, Conflict):
        assert issubclass(cls, RolltokenError)
    for cls in (InvalidToken, InvalidRecord, CookieError, ConfigurationError):
        assert issubclass(cls, ValueError)
    with pytest.raises(InvalidRecord) as e:
        decode_record(b"XX" + bytes(126))
    assert e.value.reason == "foreign" and str(e.value) == "not a rolltoken session record"
    copy = pickle.loads(pickle.dumps(e.value))
    assert isinstance(copy, InvalidRecord) and copy.reason == "foreign" and str(copy) == str(e.value)
    with pytest.raises(TypeError):
        decode_record("text")  # type: ignore[arg-type]


def test_store_errors_from_login() -> None:
    s = sessions()
    s.login(1, now_ms=T0, new_session_id=sid(1))
    with pytest.raises(Conflict):
        s.login(1, now_ms=T0, new_session_id=sid(1))


# Records.


def test_record_defaults_replace_and_encoding() -> None:
    r = Record(session_id=sid(1), subject=5, form=Form.COMPACT, created_at=T0, expires_at=T0 + 10)
    assert (r.counter, r.floor, r.version, r.authenticated, r.is_active) == (0, 0, 0, True, True)
    assert r.last_advance_at == r.grace_until == r.last_seen_at == T0
    assert r.parent is None and r.revoke_reason is None and r.binding == bytes(8)
    assert r.log_id == log_id(sid(1)) and sid(1).hex() not in repr(r)
    r2 = r.replace(counter=7, revoke_reason="admin", revoked_at=T0 + 1, parent=sid(2))
    assert (r2.counter, r2.floor, r2.revoke_reason, r2.is_active, r2.parent) == (7, 0, RevokeReason.ADMIN, False, sid(2))
    assert decode_record(encode_record(r2)) == r2 == decode_record(r2.encode())
    assert r2.replace(parent=None, revoke_reason=None, revoked_at=0).parent is None
    with pytest.raises(TypeError, match="session_id"):
        Record(subject=5, form="full", created_at=0, expires_at=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="colour"):
        r.replace(colour="blue")  # type: ignore[call-arg]
    with pytest.raises(InvalidRecord) as e:
        decode_record(encode_record(r)[:-1] + b"\x00")
    assert e.value.reason == "corrupt"
    anonymous = Record(session_id=sid(1), subject=0, form="full", created_at=0, expires_at=1)
    assert not anonymous.authenticated


# Cookies.


def test_cookie_helpers() -> None:
    c = CookieConfig()
    assert (c.name, c.secure, c.http_only, c.same_site, c.path) == ("__Host-rolltoken", True, True, SameSite.LAX, "/")
    assert find_cookie("a=1; __Host-rolltoken=rtc1_abc; b=2", c) == "rtc1_abc"
    assert find_cookie(b"__Host-rolltoken=\"rtc1_abc\"") == "rtc1_abc"
    assert find_cookie("a=1", c) is None
    assert find_cookie("__Host-rolltoken=", c) == ""
    with pytest.raises(CookieError) as e:
        find_cookie("__Host-rolltoken=a; __Host-rolltoken=b", c)
    assert e.value.reason == "duplicate"
    with pytest.raises(CookieError) as e:
        find_cookie("a=1\r\nb=2", c)
    assert e.value.reason == "malformed"
    assert set_cookie(c, "rtc1_abc", 3600) == "__Host-rolltoken=rtc1_abc; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert clear_cookie(c) == "__Host-rolltoken=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    local = CookieConfig.insecure_local()
    assert set_cookie(local, "t", 1) == "rolltoken=t; Max-Age=1; Path=/; HttpOnly; SameSite=Lax"
    strict = CookieConfig("sid", secure=False, http_only=False, same_site="strict", path="/app")
    assert strict.same_site == SameSite.STRICT
    assert clear_cookie(strict) == "sid=; Max-Age=0; Path=/app; SameSite=Strict"
    assert CookieConfig(same_site="NONE").same_site == SameSite.NONE
    for kwargs, reason in (
        ({"secure": False}, "host_prefix_needs_secure"),
        ({"path": "/app"}, "host_prefix_needs_root_path"),
        ({"name": "bad name"}, "invalid_name"),
        ({"name": "x", "secure": False, "same_site": "none"}, "same_site_none_needs_secure"),
        ({"name": "x", "path": "app"}, "invalid_path"),
    ):
        with pytest.raises(CookieError) as e:
            CookieConfig(**kwargs)
        assert e.value.reason == reason
    with pytest.raises(CookieError) as e:
        set_cookie(c, "", 1)
    assert e.value.reason == "invalid_value"


def test_session_only_cookie() -> None:
    assert not CookieConfig().session_only and not CookieConfig.insecure_local().session_only
    c = CookieConfig(session_only=True)
    assert c.session_only and c != CookieConfig() and c == CookieConfig(session_only=True)
    assert repr(c).endswith(", session_only=True)")
    # No Max-Age whatever max_age_secs says: the browser drops the cookie when it closes.
    for max_age in (0, 3600, 2**64 - 1):
        assert set_cookie(c, "rtc1_abc", max_age) == "__Host-rolltoken=rtc1_abc; Path=/; Secure; HttpOnly; SameSite=Lax"
    # Clearing still needs Max-Age=0, or the browser would keep an empty cookie.
    assert clear_cookie(c) == "__Host-rolltoken=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    strict = CookieConfig("sid", secure=False, http_only=False, same_site="strict", path="/app", session_only=True)
    assert set_cookie(strict, "t", 1) == "sid=t; Path=/app; SameSite=Strict"
    assert clear_cookie(strict) == "sid=; Max-Age=0; Path=/app; SameSite=Strict"
    assert set_cookie(CookieConfig(session_only=False), "t", 1) == set_cookie(CookieConfig(), "t", 1)
    with pytest.raises(CookieError) as e:
        CookieConfig(secure=False, session_only=True)
    assert e.value.reason == "host_prefix_needs_secure"


# The façade: a session's life.


def test_login_roll_logout_revoke_all() -> None:
    s = sessions()
    anon = s.handle(None, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(1))
    login = s.login(b"\x00" * 15 + b"\x2a", current_cookie=anon.token, user_agent=UA, ip=IP, now_ms=T0 + 1, new_session_id=sid(2))
    assert login.view is not None and login.view.parent == sid(1) and login.view.authenticated
    assert int.from_bytes(login.view.subject, "big") == 42
    assert s.handle(anon.token, Kind.READ, now_ms=T0 + 2).rule == Rule.REVOKED
    page = s.handle(login.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1000)
    assert page.rule == Rule.FRESH and page.view is not None and page.view.counter == 1
    race = s.handle(login.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1500)
    assert race.rule == Rule.CONCURRENT_IN_GRACE and race.steps == 1 and race.token == page.token
    thief = s.handle(login.token, Kind.READ, user_agent="curl/8", ip="203.0.113.9", now_ms=T0 + 120_000)
    assert thief.rule == Rule.REUSE and thief.clear_cookie and (thief.presented, thief.current) == (0, 1)
    assert thief.log_id == log_id(sid(2)) and thief.view is None
    gone = s.handle(page.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 121_000)
    assert gone.rule == Rule.REVOKED and gone.detail == "reuse" and gone.clear_cookie
    assert s.logout(token_of(page), now_ms=T0 + 122_000) is None  # already revoked
    again = s.login(42, now_ms=T0 + 130_000, new_session_id=sid(3))
    other = s.login(42, now_ms=T0 + 130_001, new_session_id=sid(4))
    assert s.logout(token_of(other), now_ms=T0 + 131_000) == log_id(sid(4))
    assert s.revoke_all(42, now_ms=T0 + 132_000) == 1
    assert s.handle(again.token, Kind.READ, now_ms=T0 + 133_000).detail == "admin"
    assert s.revoke_all(42, now_ms=T0 + 134_000) == 0
    assert s.keyring.key_ids == [1] and s.policy == Policy.default() and not s.is_degraded(now_ms=T0)
    assert "stored=3" in repr(s)  # sid 2, 3 and 4; the anonymous session is not stored


def test_cached_mode_skips_the_store() -> None:
    s = sessions(Policy.cached())
    login = s.login(3, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(5))
    first = s.handle(login.token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1000)
    assert first.rule == Rule.CACHED and first.token is None and first.view is not None
    late = s.handle(login.token, Kind.READ, user_agent=UA, ip=IP, now_ms=T0 + 16 * 60_000)
    assert late.rule == Rule.FRESH and late.token is not None


def test_deny_feed_from_other_processes() -> None:
    s = sessions(Policy.cached())
    login = s.login(3, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(5))
    assert s.handle(login.token, Kind.READ, user_agent=UA, ip=IP, now_ms=T0 + 1).rule == Rule.CACHED
    # Another process revoked the session: its deny entry reaches this one.
    until = T0 + Policy.cached().fresh_ms + rolltoken.MAX_CLOCK_SKEW_MS
    s.deny(sid(5), until, now_ms=T0 + 2)
    assert s.handle(login.token, Kind.READ, user_agent=UA, ip=IP, now_ms=T0 + 3).rule != Rule.CACHED
    with pytest.raises(ValueError, match="16 bytes"):
        s.deny(b"x", until)


def test_request_kind() -> None:
    from rolltoken import request_kind

    assert request_kind("GET", sec_fetch_mode="navigate") == Kind.ADVANCE
    assert request_kind(b"GET", sec_fetch_mode=b"navigate", sec_fetch_site=b"same-origin") == Kind.ADVANCE
    assert request_kind("GET", sec_fetch_mode="navigate", sec_fetch_site="cross-site") == Kind.READ
    assert request_kind("GET", sec_fetch_mode="cors") == Kind.READ
    assert request_kind("GET", sec_fetch_mode="navigate", sec_purpose="prefetch") == Kind.READ
    assert request_kind("GET", accept="text/html,application/xhtml+xml") == Kind.ADVANCE
    assert request_kind("POST", accept="text/html") == Kind.READ
    assert request_kind("GET") == Kind.READ


# Threads: one façade, many threads, the GIL released around the core.


def test_threads_hammering_one_session() -> None:
    s = sessions()
    token = token_of(s.login(1, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(6)))
    threads, rounds = 8, 40
    barrier = threading.Barrier(threads)
    results: list[list[Outcome]] = [[] for _ in range(rounds)]
    lock = threading.Lock()
    tokens = [token]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for r in range(rounds):
                barrier.wait()
                o = s.handle(tokens[r], Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + (r + 1) * 60_000)
                with lock:
                    results[r].append(o)
                barrier.wait()
                if o.rule == Rule.FRESH:
                    tokens.append(token_of(o))
                barrier.wait()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
            barrier.abort()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    assert len(tokens) == rounds + 1
    for r, outcomes in enumerate(results):
        rules = sorted(o.rule.value for o in outcomes)
        assert rules == ["concurrent_in_grace"] * (threads - 1) + ["fresh"], (r, rules)
        assert {o.token for o in outcomes} == {tokens[r + 1]}


# The store-free halves with a dict as the store.


class DictStore:
    def __init__(self) -> None:
        self.records: dict[bytes, bytes] = {}
        self.saves = 0
        self.conflicts = 0
        self.interfere: Optional[bytes] = None

    def cas(self, record: bytes, expected: Optional[int]) -> bool:
        sid = decode_record(record).session_id
        if self.interfere is not None:
            # Another server wrote this session between our load and our save.
            self.records[sid] = self.interfere
            self.interfere = None
        stored = self.records.get(sid)
        if (None if stored is None else decode_record(stored).version) != expected:
            self.conflicts += 1
            return False
        self.records[sid] = record
        self.saves += 1
        return True

    def run(self, s: Sessions, step: Step) -> Outcome:
        if step.outcome is not None:
            return step.outcome
        assert step.session_id is not None
        primary = False
        for _ in range(MAX_ATTEMPTS):
            f = s.finish(step, self.records.get(step.session_id), from_primary=primary)
            if f.load_primary:
                primary = True
                continue
            assert f.outcome is not None
            if f.save is None:
                assert f.expected_version is None
                return f.outcome
            if self.cas(f.save, f.expected_version):
                return f.outcome
            primary = True  # someone wrote first: the copy we read may lag
        return s.store_failed(step, True)


def test_begin_finish_with_a_dict_store() -> None:
    s = sessions()
    db = DictStore()
    plan = s.plan_login(11, user_agent=UA, ip=IP, now_ms=T0, new_session_id=sid(7))
    assert plan.retire is None and plan.outcome.rule == Rule.FRESH
    assert db.cas(plan.record, None)
    assert s.load_record(sid(7)) is None  # nothing went into the façade's own store
    token = token_of(plan.outcome)

    step = s.begin(token, Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 1000)
    assert not step.done and step.session_id == sid(7) and step.outcome is None and step.now_ms == T0 + 1000
    page = db.run(s, step)
    assert page.rule == Rule.FRESH and decode_record(db.records[sid(7)]).counter == 1
    with pytest.raises(ValueError, match="already decided"):
        s.finish(s.begin(None, Kind.READ), None)

    # A concurrent writer: the first save conflicts, the retry decides again on the new record.
    current = db.records[sid(7)]
    db.interfere = decode_record(current).replace(version=decode_record(current).version + 1).encode()
    retried = db.run(s, s.begin(token_of(page), Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 2000))
    assert retried.rule == Rule.FRESH and db.conflicts == 1

    # A store outage and endless contention: no logout, the cookie is kept.
    step = s.begin(token_of(retried), Kind.READ, user_agent=UA, ip=IP, now_ms=T0 + 3000)
    down = s.store_failed(step, False)
    assert down.rule == Rule.STORE_UNAVAILABLE and not down.clear_cookie and not down.proceed
    busy = s.store_failed(step, True)
    assert busy.rule == Rule.BUSY and not busy.clear_cookie and busy.log_id == log_id(sid(7))

    # Absent and damaged records.
    ghost = s.begin(keys().mint_compact(1, sid(8), 0), Kind.READ, now_ms=T0)
    assert s.finish(ghost, None).outcome is not None
    assert db.run(s, ghost).rule == Rule.UNKNOWN_SESSION
    damaged = s.finish(step, b"\x00" * 128)
    assert damaged.outcome is not None and damaged.outcome.rule == Rule.UNKNOWN_SESSION
    assert damaged.outcome.clear_cookie and damaged.save is None
    with pytest.raises(TypeError):
        s.finish(step, "record")  # type: ignore[arg-type]

    # The store is behind (a lost write): the token is ahead, so the primary is asked first.
    behind = db.records[sid(7)]
    ahead = db.run(s, s.begin(token_of(retried), Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 4000))
    db.records[sid(7)] = behind
    step = s.begin(token_of(ahead), Kind.ADVANCE, user_agent=UA, ip=IP, now_ms=T0 + 5000)
    first = s.finish(step, behind)
    assert first.load_primary and first.outcome is None and first.save is None
    repaired = db.run(s, step)
    assert repaired.rule == Rule.STORE_BEHIND and repaired.steps == 1

    # Logout and login over an authenticated session, store-free.
    target = s.logout_target(token_of(repaired), now_ms=T0 + 6000)
    assert target == sid(7)
    revoked = s.revoke_record(db.records[sid(7)], RevokeReason.LOGOUT, now_ms=T0 + 6000)
    assert revoked is not None and db.cas(revoked, decode_record(db.records[sid(7)]).version)
    assert s.revoke_record(revoked, "admin", now_ms=T0 + 7000) is None
    gone = db.run(s, s.begin(token_of(repaired), Kind.READ, now_ms=T0 + 7000))
    assert gone.rule == Rule.REVOKED and gone.detail == "logout"
    # An authenticated session the cookie names is retired, not linked as the parent.
    relogin = s.plan_login(11, current_cookie=token_of(repaired), now_ms=T0 + 8000, new_session_id=sid(9))
    assert relogin.retire == sid(7) and relogin.outcome.view is not None
    assert relogin.outcome.view.parent is None and decode_record(relogin.record).parent is None
    assert "retire=<session>" in repr(relogin)

    # A record of the wrong length is the caller's bug: raised, not the end of the session.
    with pytest.raises(InvalidRecord) as e:
        s.finish(step, b"")
    assert e.value.reason == "wrong_length"
