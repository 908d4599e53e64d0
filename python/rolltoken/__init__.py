"""Rolling session tokens that notice when a cookie is copied.

Every page load rolls the session cookie to a new token whose HMAC covers a counter the
server also keeps; a copy used out of sequence proves that two parties hold the session, and
the session is revoked. Reads verify without rolling, and a grace window keeps honest races
(parallel requests, a second tab, a lost response) from logging anyone out.

>>> import os, rolltoken
>>> keys = rolltoken.Keyring([(1, os.urandom(32))], minting_id=1)
>>> sessions = rolltoken.Sessions(keys, rolltoken.Policy.default())
>>> login = sessions.login(42, user_agent="Mozilla/5.0", ip="198.51.100.23")
>>> page = sessions.handle(login.token, rolltoken.Kind.ADVANCE, user_agent="Mozilla/5.0", ip="198.51.100.23")
>>> page.rule, page.proceed, page.token is not None
(<Rule.FRESH: 'fresh'>, True, True)

Every decision is made by the Rust core (``rolltoken._rolltoken``); this package re-exports
its typed API, defines the exceptions (:mod:`rolltoken.errors`), and drives any store of the
contract in :mod:`rolltoken.stores` (in memory, Redis, PostgreSQL) through the same decisions.
"""

from __future__ import annotations

from ._rolltoken import (
    DENY_LIST_CAPACITY,
    KEY_LEN,
    MAX_ATTEMPTS,
    MAX_CLOCK_SKEW_MS,
    MAX_KEYS,
    MAX_TOKEN_LEN,
    RECORD_LEN,
    SESSION_ID_LEN,
    STORE_CAPACITY,
    BindingPolicy,
    Claims,
    CompactClaims,
    CookieConfig,
    Decision,
    Engine,
    Expiry,
    Finish,
    Form,
    Grace,
    Keyring,
    Kind,
    LoginPlan,
    MemoryStore,
    Mode,
    Outcome,
    ParsedToken,
    Policy,
    Record,
    RevokeReason,
    Rule,
    SameSite,
    SessionView,
    Step,
    __version__,
    clear_cookie,
    decode_record,
    encode_record,
    find_cookie,
    log_id,
    parse_token,
    request_kind,
    set_cookie,
)
from ._sessions import AsyncSessions, Sessions
from .errors import (
    ConfigurationError,
    Conflict,
    CookieError,
    InvalidRecord,
    InvalidToken,
    RolltokenError,
    StoreUnavailable,
)

__all__ = [
    "AsyncSessions",
    "Engine",
    "MemoryStore",
    "DENY_LIST_CAPACITY",
    "KEY_LEN",
    "MAX_ATTEMPTS",
    "MAX_CLOCK_SKEW_MS",
    "MAX_KEYS",
    "MAX_TOKEN_LEN",
    "RECORD_LEN",
    "SESSION_ID_LEN",
    "STORE_CAPACITY",
    "BindingPolicy",
    "Claims",
    "CompactClaims",
    "ConfigurationError",
    "Conflict",
    "CookieConfig",
    "CookieError",
    "Decision",
    "Expiry",
    "Finish",
    "Form",
    "Grace",
    "InvalidRecord",
    "InvalidToken",
    "Keyring",
    "Kind",
    "LoginPlan",
    "Mode",
    "Outcome",
    "ParsedToken",
    "Policy",
    "Record",
    "RevokeReason",
    "RolltokenError",
    "Rule",
    "SameSite",
    "SessionView",
    "Sessions",
    "Step",
    "StoreUnavailable",
    "__version__",
    "clear_cookie",
    "decode_record",
    "encode_record",
    "find_cookie",
    "log_id",
    "parse_token",
    "request_kind",
    "set_cookie",
]
