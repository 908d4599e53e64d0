# Hand-written stubs of the compiled module, checked against it by `python -m mypy.stubtest`
# (python/run-tests.sh). Times are milliseconds since the Unix epoch; counters, times and
# versions are unsigned 64-bit ints. Text arguments take `str` (used as UTF-8) or `bytes`.

import enum
from collections.abc import Iterable
from typing import ClassVar, final

from typing_extensions import Self

__all__ = [
    "Rule",
    "Kind",
    "Form",
    "Mode",
    "BindingPolicy",
    "RevokeReason",
    "Expiry",
    "SameSite",
    "Keyring",
    "Claims",
    "CompactClaims",
    "ParsedToken",
    "Grace",
    "Policy",
    "Record",
    "SessionView",
    "Outcome",
    "Decision",
    "Engine",
    "MemoryStore",
    "Step",
    "Finish",
    "LoginPlan",
    "CookieConfig",
    "parse_token",
    "log_id",
    "hmac_sha256",
    "encode_record",
    "decode_record",
    "find_cookie",
    "set_cookie",
    "clear_cookie",
    "request_kind",
    "__version__",
    "KEY_LEN",
    "MAX_KEYS",
    "SESSION_ID_LEN",
    "MAX_TOKEN_LEN",
    "RECORD_LEN",
    "MAX_ATTEMPTS",
    "MAX_CLOCK_SKEW_MS",
    "STORE_CAPACITY",
    "DENY_LIST_CAPACITY",
]

__version__: str
KEY_LEN: int
MAX_KEYS: int
SESSION_ID_LEN: int
MAX_TOKEN_LEN: int
RECORD_LEN: int
MAX_ATTEMPTS: int
MAX_CLOCK_SKEW_MS: int
STORE_CAPACITY: int
DENY_LIST_CAPACITY: int

# Enums: `str` values are the core's names (`str()` gives the value, as `enum.StrEnum` does);
# arguments also accept the plain strings. `__new__` looks a member up by value.

class Rule(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    FRESH = "fresh"
    CURRENT = "current"
    CONCURRENT_IN_GRACE = "concurrent_in_grace"
    LOST_RESPONSE = "lost_response"
    COOKIE_JAR_BEHIND = "cookie_jar_behind"
    STORE_BEHIND = "store_behind"
    CACHED = "cached"
    ANONYMOUS = "anonymous"
    NEW_ANONYMOUS = "new_anonymous"
    REUSE = "reuse"
    GRACE_EXHAUSTED = "grace_exhausted"
    REVOKED = "revoked"
    EXPIRED = "expired"
    FORGED = "forged"
    MALFORMED = "malformed"
    UNKNOWN_SESSION = "unknown_session"
    BINDING_MISMATCH = "binding_mismatch"
    NO_SESSION = "no_session"
    STORE_UNAVAILABLE = "store_unavailable"
    BUSY = "busy"

class Kind(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    ADVANCE = "advance"
    READ = "read"

class Form(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    FULL = "full"
    COMPACT = "compact"

class Mode(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    STRICT = "strict"
    CACHED = "cached"

class BindingPolicy(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    EVIDENCE = "evidence"
    REQUIRE_USER_AGENT = "require_user_agent"
    REQUIRE_FULL = "require_full"

class RevokeReason(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    LOGOUT = "logout"
    REUSE = "reuse"
    UPGRADED_AT_LOGIN = "upgraded_at_login"
    ADMIN = "admin"

class Expiry(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    ABSOLUTE = "absolute"
    IDLE = "idle"
    COUNTER_EXHAUSTED = "counter_exhausted"

class SameSite(str, enum.Enum):
    def __new__(cls, value: str) -> Self: ...
    LAX = "Lax"
    STRICT = "Strict"
    NONE = "None"

# Keys and tokens.

@final
class Keyring:
    def __new__(
        cls,
        keys: Iterable[tuple[int, bytes]],
        minting_id: int,
        *,
        audience: str | bytes | None = None,
    ) -> Keyring: ...
    @staticmethod
    def from_base64(
        keys: str | Iterable[tuple[int, str | bytes]],
        minting_id: int | None = None,
        *,
        audience: str | bytes | None = None,
    ) -> Keyring: ...
    @property
    def minting_id(self) -> int: ...
    @property
    def key_ids(self) -> list[int]: ...
    def __contains__(self, key_id: object, /) -> bool: ...
    def verify(self, text: str | bytes, counter: int | None = None) -> Claims | CompactClaims: ...
    def mint_full(self, claims: Claims) -> str: ...
    def mint_compact(self, key_id: int, session_id: bytes, counter: int) -> str: ...
    def binding(
        self, key_id: int, user_agent: str | bytes | None = None, ip: str | None = None
    ) -> bytes: ...
    def decide(
        self,
        policy: Policy,
        record: Record | bytes,
        token: str | bytes,
        kind: Kind | str,
        now_ms: int,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
    ) -> Decision: ...

@final
class Claims:
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(
        cls,
        *,
        key_id: int,
        session_id: bytes,
        counter: int,
        issued_at: int,
        expires_at: int,
        subject: bytes | int,
        binding: bytes,
        authenticated: bool,
    ) -> Claims: ...
    def __eq__(self, other: object, /) -> bool: ...
    @property
    def form(self) -> Form: ...
    @property
    def key_id(self) -> int: ...
    @property
    def session_id(self) -> bytes: ...
    @property
    def log_id(self) -> str: ...
    @property
    def counter(self) -> int: ...
    @property
    def issued_at(self) -> int: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def subject(self) -> bytes: ...
    @property
    def binding(self) -> bytes: ...
    @property
    def authenticated(self) -> bool: ...

@final
class CompactClaims:
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __eq__(self, other: object, /) -> bool: ...
    @property
    def form(self) -> Form: ...
    @property
    def key_id(self) -> int: ...
    @property
    def session_id(self) -> bytes: ...
    @property
    def log_id(self) -> str: ...
    @property
    def counter(self) -> int: ...

@final
class ParsedToken:
    @property
    def form(self) -> Form: ...
    @property
    def key_id(self) -> int: ...
    @property
    def session_id(self) -> bytes: ...
    @property
    def log_id(self) -> str: ...
    @property
    def claims(self) -> Claims | None: ...

def parse_token(text: str | bytes) -> ParsedToken: ...
def log_id(session_id: bytes) -> str: ...

# HMAC-SHA256 of msg under a 32-byte key, by the keyring's own HMAC: for checking published
# HMAC vectors (RFC 4231, Project Wycheproof) through the library. ValueError unless the key
# is 32 bytes.
def hmac_sha256(key: bytes, msg: bytes) -> bytes: ...

# Policy.

@final
class Grace:
    __hash__: ClassVar[None]  # type: ignore[assignment]
    @staticmethod
    def fixed(ms: int) -> Grace: ...
    @staticmethod
    def adaptive(min_ms: int, max_ms: int) -> Grace: ...
    def __eq__(self, other: object, /) -> bool: ...
    @property
    def is_adaptive(self) -> bool: ...
    @property
    def ms(self) -> int | None: ...
    @property
    def min_ms(self) -> int | None: ...
    @property
    def max_ms(self) -> int | None: ...

@final
class Policy:
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(
        cls,
        *,
        mode: Mode | str | None = None,
        form: Form | str | None = None,
        anonymous: bool | None = None,
        grace: Grace | None = None,
        span_cap: int | None = None,
        answer_cap: int | None = None,
        reissue_one_behind: bool | None = None,
        jar_behind_ms: int | None = None,
        binding: BindingPolicy | str | None = None,
        fresh_ms: int | None = None,
        session_lifetime_ms: int | None = None,
        idle_timeout_ms: int | None = None,
        anonymous_lifetime_ms: int | None = None,
    ) -> Policy: ...
    def replace(
        self,
        *,
        mode: Mode | str | None = None,
        form: Form | str | None = None,
        anonymous: bool | None = None,
        grace: Grace | None = None,
        span_cap: int | None = None,
        answer_cap: int | None = None,
        reissue_one_behind: bool | None = None,
        jar_behind_ms: int | None = None,
        binding: BindingPolicy | str | None = None,
        fresh_ms: int | None = None,
        session_lifetime_ms: int | None = None,
        idle_timeout_ms: int | None = None,
        anonymous_lifetime_ms: int | None = None,
    ) -> Policy: ...
    @staticmethod
    def default() -> Policy: ...
    @staticmethod
    def cached() -> Policy: ...
    def __eq__(self, other: object, /) -> bool: ...
    @property
    def mode(self) -> Mode: ...
    @property
    def form(self) -> Form: ...
    @property
    def anonymous(self) -> bool: ...
    @property
    def grace(self) -> Grace: ...
    @property
    def span_cap(self) -> int: ...
    @property
    def answer_cap(self) -> int: ...
    @property
    def reissue_one_behind(self) -> bool: ...
    @property
    def jar_behind_ms(self) -> int: ...
    @property
    def binding(self) -> BindingPolicy: ...
    @property
    def fresh_ms(self) -> int: ...
    @property
    def session_lifetime_ms(self) -> int: ...
    @property
    def idle_timeout_ms(self) -> int: ...
    @property
    def anonymous_lifetime_ms(self) -> int: ...

# Records.

@final
class Record:
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(
        cls,
        *,
        session_id: bytes,
        subject: bytes | int,
        form: Form | str,
        created_at: int,
        expires_at: int,
        parent: bytes | None = ...,
        revoke_reason: RevokeReason | str | None = ...,
        authenticated: bool = ...,
        counter: int = ...,
        floor: int = ...,
        version: int = ...,
        last_advance_at: int = ...,
        grace_until: int = ...,
        last_seen_at: int = ...,
        grace_answers: int = ...,
        confirmed: bool = ...,
        lateness_ms: int = ...,
        binding: bytes = ...,
        binding_key_id: int = ...,
        revoked_at: int = ...,
    ) -> Record: ...
    def replace(
        self,
        *,
        session_id: bytes = ...,
        subject: bytes | int = ...,
        form: Form | str = ...,
        created_at: int = ...,
        expires_at: int = ...,
        parent: bytes | None = ...,
        revoke_reason: RevokeReason | str | None = ...,
        authenticated: bool = ...,
        counter: int = ...,
        floor: int = ...,
        version: int = ...,
        last_advance_at: int = ...,
        grace_until: int = ...,
        last_seen_at: int = ...,
        grace_answers: int = ...,
        confirmed: bool = ...,
        lateness_ms: int = ...,
        binding: bytes = ...,
        binding_key_id: int = ...,
        revoked_at: int = ...,
    ) -> Record: ...
    def __eq__(self, other: object, /) -> bool: ...
    def encode(self) -> bytes: ...
    @property
    def session_id(self) -> bytes: ...
    @property
    def log_id(self) -> str: ...
    @property
    def parent(self) -> bytes | None: ...
    @property
    def subject(self) -> bytes: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def revoke_reason(self) -> RevokeReason | None: ...
    @property
    def authenticated(self) -> bool: ...
    @property
    def form(self) -> Form: ...
    @property
    def counter(self) -> int: ...
    @property
    def floor(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> int: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def last_advance_at(self) -> int: ...
    @property
    def grace_until(self) -> int: ...
    @property
    def last_seen_at(self) -> int: ...
    @property
    def grace_answers(self) -> int: ...
    @property
    def confirmed(self) -> bool: ...
    @property
    def lateness_ms(self) -> int: ...
    @property
    def binding(self) -> bytes: ...
    @property
    def binding_key_id(self) -> int: ...
    @property
    def revoked_at(self) -> int: ...

def encode_record(record: Record) -> bytes: ...
def decode_record(data: bytes) -> Record: ...

# Answers.

@final
class SessionView:
    @property
    def session_id(self) -> bytes: ...
    @property
    def log_id(self) -> str: ...
    @property
    def subject(self) -> bytes: ...
    @property
    def authenticated(self) -> bool: ...
    @property
    def counter(self) -> int: ...
    @property
    def parent(self) -> bytes | None: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def max_age_secs(self) -> int: ...

@final
class Outcome:
    @property
    def proceed(self) -> bool: ...
    @property
    def rule(self) -> Rule: ...
    @property
    def clear_cookie(self) -> bool: ...
    @property
    def token(self) -> str | None: ...
    @property
    def binding_user_agent(self) -> bool: ...
    @property
    def binding_ip(self) -> bool: ...
    @property
    def steps(self) -> int | None: ...
    @property
    def presented(self) -> int | None: ...
    @property
    def current(self) -> int | None: ...
    @property
    def detail(self) -> str | None: ...
    @property
    def view(self) -> SessionView | None: ...
    @property
    def log_id(self) -> str | None: ...
    @property
    def at_ms(self) -> int: ...

@final
class Decision:
    @property
    def proceed(self) -> bool: ...
    @property
    def rule(self) -> Rule: ...
    @property
    def clear_cookie(self) -> bool: ...
    @property
    def token(self) -> str | None: ...
    @property
    def save(self) -> bytes | None: ...
    @property
    def binding_user_agent(self) -> bool: ...
    @property
    def binding_ip(self) -> bool: ...
    @property
    def steps(self) -> int | None: ...
    @property
    def presented(self) -> int | None: ...
    @property
    def current(self) -> int | None: ...
    @property
    def detail(self) -> str | None: ...

# The façade.

@final
class Step:
    @property
    def done(self) -> bool: ...
    @property
    def outcome(self) -> Outcome | None: ...
    @property
    def session_id(self) -> bytes | None: ...
    @property
    def log_id(self) -> str | None: ...
    @property
    def now_ms(self) -> int: ...

@final
class Finish:
    @property
    def outcome(self) -> Outcome | None: ...
    @property
    def save(self) -> bytes | None: ...
    @property
    def expected_version(self) -> int | None: ...
    @property
    def load_primary(self) -> bool: ...

@final
class LoginPlan:
    @property
    def outcome(self) -> Outcome: ...
    @property
    def record(self) -> bytes: ...
    @property
    def retire(self) -> bytes | None: ...

@final
class MemoryStore:
    def __new__(cls) -> MemoryStore: ...
    def load(self, session_id: bytes, *, primary: bool = False) -> bytes | None: ...
    def save(self, record: Record | bytes, expected_version: int | None, now_ms: int) -> None: ...
    def delete(self, session_id: bytes) -> None: ...
    def list_by_subject(self, subject: bytes | int, now_ms: int) -> list[bytes]: ...
    def __len__(self) -> int: ...
    @property
    def capacity(self) -> int: ...

@final
class Engine:
    def __new__(
        cls, keyring: Keyring, policy: Policy | None = None, *, store: MemoryStore | None = None
    ) -> Engine: ...
    @property
    def keyring(self) -> Keyring: ...
    @property
    def policy(self) -> Policy: ...
    @property
    def store(self) -> MemoryStore | None: ...
    def handle(
        self,
        cookie: str | bytes | None,
        kind: Kind | str,
        *,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> Outcome: ...
    def begin(
        self,
        cookie: str | bytes | None,
        kind: Kind | str,
        *,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> Step: ...
    def finish(
        self, step: Step, record: bytes | Record | None, *, from_primary: bool = False
    ) -> Finish: ...
    def store_failed(self, step: Step, conflict: bool) -> Outcome: ...
    def login(
        self,
        subject: bytes | int,
        *,
        current_cookie: str | bytes | None = None,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> Outcome: ...
    def plan_login(
        self,
        subject: bytes | int,
        *,
        current_cookie: str | bytes | None = None,
        user_agent: str | bytes | None = None,
        ip: str | None = None,
        now_ms: int | None = None,
        new_session_id: bytes | None = None,
    ) -> LoginPlan: ...
    def logout(self, cookie: str | bytes, *, now_ms: int | None = None) -> str | None: ...
    def logout_target(self, cookie: str | bytes, *, now_ms: int | None = None) -> bytes | None: ...
    def revoke_all(self, subject: bytes | int, *, now_ms: int | None = None) -> int: ...
    def revoke_record(
        self, record: bytes | Record, reason: RevokeReason | str, *, now_ms: int | None = None
    ) -> bytes | None: ...
    def deny(self, session_id: bytes, until_ms: int, *, now_ms: int | None = None) -> None: ...
    def deny_until(self, record: bytes | Record, *, now_ms: int | None = None) -> int | None: ...
    def is_degraded(self, now_ms: int | None = None) -> bool: ...

# Cookies.

@final
class CookieConfig:
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(
        cls,
        name: str | None = None,
        *,
        secure: bool | None = None,
        http_only: bool | None = None,
        same_site: SameSite | str | None = None,
        path: str | None = None,
        session_only: bool | None = None,
    ) -> CookieConfig: ...
    @staticmethod
    def insecure_local() -> CookieConfig: ...
    def __eq__(self, other: object, /) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def secure(self) -> bool: ...
    @property
    def http_only(self) -> bool: ...
    @property
    def same_site(self) -> SameSite: ...
    @property
    def path(self) -> str: ...
    @property
    def session_only(self) -> bool: ...

def find_cookie(header: str | bytes, config: CookieConfig | None = None) -> str | None: ...
def set_cookie(config: CookieConfig, token: str, max_age_secs: int) -> str: ...
def clear_cookie(config: CookieConfig) -> str: ...

# Which requests advance.

def request_kind(
    method: str | bytes,
    *,
    sec_fetch_mode: str | bytes | None = None,
    sec_fetch_site: str | bytes | None = None,
    sec_purpose: str | bytes | None = None,
    purpose: str | bytes | None = None,
    accept: str | bytes | None = None,
) -> Kind: ...
