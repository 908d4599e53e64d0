"""The demo's in-memory accounts, sessions and security events: one lock, bounded sizes.

Passwords are hashed with ``hashlib.scrypt`` (n=2**14, r=8, p=1, 32 bytes) and a 16-byte
per-user salt, compared in constant time; an unknown username costs the same hash. At most
four hashes run at once (each needs 16 MiB). Sessions and events are kept per account and
identified by log ids, never by tokens or session ids.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import threading
import time
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Tuple

__all__ = [
    "Account",
    "Client",
    "Event",
    "FormError",
    "SessionEntry",
    "Store",
    "coarse_address",
    "user_agent_family",
]

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
SALT_LEN = 16
USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,32}\Z")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_USERS = 10_000
MAX_SESSIONS_PER_USER = 50
MAX_EVENTS_PER_USER = 200

_hashing = threading.BoundedSemaphore(4)
_DUMMY_SALT = os.urandom(SALT_LEN)


def hash_password(password: str, salt: bytes) -> bytes:
    """scrypt(password, salt), at most four at a time."""
    with _hashing:
        return hashlib.scrypt(
            password.encode("utf-8", "surrogatepass"),
            salt=salt,
            n=SCRYPT_N,
            r=SCRYPT_R,
            p=SCRYPT_P,
            dklen=SCRYPT_DKLEN,
        )


class FormError(ValueError):
    """A form the demo refuses; the message is shown to the user (escaped)."""


class Client:
    """Coarse client details: a user agent family and an address prefix."""

    __slots__ = ("family", "address")

    def __init__(self, family: str, address: str) -> None:
        self.family = family
        self.address = address

    def __str__(self) -> str:
        return f"{self.family} on {self.address}"


class Account:
    __slots__ = ("user_id", "username", "salt", "password_hash")

    def __init__(self, user_id: int, username: str, salt: bytes, password_hash: bytes) -> None:
        self.user_id = user_id
        self.username = username
        self.salt = salt
        self.password_hash = password_hash


class SessionEntry:
    """One session of an account, as the security page lists it."""

    __slots__ = ("log_id", "created", "last_seen", "client", "ended", "end_reason")

    def __init__(self, log_id: str, created: float, client: Client) -> None:
        self.log_id = log_id
        self.created = created
        self.last_seen = created
        self.client = client
        self.ended: Optional[float] = None
        self.end_reason: Optional[str] = None

    def copy(self) -> SessionEntry:
        c = SessionEntry(self.log_id, self.created, self.client)
        c.last_seen, c.ended, c.end_reason = self.last_seen, self.ended, self.end_reason
        return c


class Event:
    """A security event: what happened (a core rule name or a demo action), to which session,
    from which coarse client."""

    __slots__ = ("at", "log_id", "kind", "client", "detail")

    def __init__(self, at: float, log_id: Optional[str], kind: str, client: Client, detail: str) -> None:
        self.at = at
        self.log_id = log_id
        self.kind = kind
        self.client = client
        self.detail = detail


class _Entry:
    __slots__ = ("account", "sessions", "events")

    def __init__(self, account: Account) -> None:
        self.account = account
        self.sessions: Dict[str, SessionEntry] = {}
        self.events: Deque[Event] = deque(maxlen=MAX_EVENTS_PER_USER)


class Store:
    """Accounts by username (case-insensitive), their sessions and events. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._by_name: Dict[str, _Entry] = {}
        self._by_subject: Dict[bytes, _Entry] = {}
        self._by_log_id: Dict[str, _Entry] = {}
        self._next_id = 1

    # Accounts.

    def register(self, username: str, password: str) -> Account:
        """A new account; :class:`FormError` for a bad or taken username or a bad password."""
        if not USERNAME.match(username):
            raise FormError("A username is 1 to 32 letters, digits, '.', '_' or '-'.")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise FormError(f"A password is {MIN_PASSWORD} to {MAX_PASSWORD} characters.")
        key = username.lower()
        with self._lock:
            self._check_free(key)
        salt = os.urandom(SALT_LEN)
        digest = hash_password(password, salt)
        with self._lock:
            self._check_free(key)  # again: another thread may have taken it while we hashed
            account = Account(self._next_id, username, salt, digest)
            self._next_id += 1
            self._by_name[key] = _Entry(account)
        return account

    def _check_free(self, key: str) -> None:
        if key in self._by_name:
            raise FormError("That username is taken.")
        if len(self._by_name) >= MAX_USERS:
            raise FormError("This demo holds no more accounts; restart it.")

    def authenticate(self, username: str, password: str) -> Tuple[Optional[Account], bool]:
        """``(account, True)`` for the right password; ``(account, False)`` for a wrong one;
        ``(None, False)`` for an unknown username (after the same work as a known one)."""
        with self._lock:
            entry = self._by_name.get(username.lower())
        if entry is None or len(password) > MAX_PASSWORD:
            hash_password(password[:MAX_PASSWORD], _DUMMY_SALT)
            return (entry.account if entry else None), False
        account = entry.account
        ok = hmac.compare_digest(hash_password(password, account.salt), account.password_hash)
        return account, ok

    def account(self, username: str) -> Optional[Account]:
        with self._lock:
            entry = self._by_name.get(username.lower())
        return entry.account if entry is not None else None

    def account_for_subject(self, subject: bytes) -> Optional[Account]:
        with self._lock:
            entry = self._by_subject.get(subject)
        return entry.account if entry is not None else None

    def account_for_log_id(self, log_id: str) -> Optional[Account]:
        with self._lock:
            entry = self._by_log_id.get(log_id)
        return entry.account if entry is not None else None

    # Sessions.

    def start_session(self, account: Account, subject: bytes, log_id: str, client: Client) -> None:
        """Links a session (by its log id) and the core's subject to ``account``."""
        now = self._clock()
        with self._lock:
            entry = self._by_name[account.username.lower()]
            self._by_subject[subject] = entry
            self._by_log_id[log_id] = entry
            entry.sessions[log_id] = SessionEntry(log_id, now, client)
            while len(entry.sessions) > MAX_SESSIONS_PER_USER:
                drop = min(entry.sessions.values(), key=lambda s: (s.ended is None, s.last_seen))
                del entry.sessions[drop.log_id]
                self._by_log_id.pop(drop.log_id, None)

    def seen(self, log_id: str, client: Client) -> None:
        """A request of the session proceeded: last seen now, from ``client``."""
        now = self._clock()
        with self._lock:
            entry = self._by_log_id.get(log_id)
            session = entry.sessions.get(log_id) if entry is not None else None
            if session is not None:
                session.last_seen = now
                session.client = client

    def end_session(self, log_id: str, reason: str) -> None:
        """Marks the session ended (the first reason is kept)."""
        now = self._clock()
        with self._lock:
            entry = self._by_log_id.get(log_id)
            session = entry.sessions.get(log_id) if entry is not None else None
            if session is not None and session.ended is None:
                session.ended, session.end_reason = now, reason

    def ended_by_reuse(self, log_id: str) -> Optional[SessionEntry]:
        """The session, if the demo saw it ended by a detected reuse."""
        with self._lock:
            entry = self._by_log_id.get(log_id)
            session = entry.sessions.get(log_id) if entry is not None else None
            if session is not None and session.end_reason == "reuse":
                return session.copy()
        return None

    # Events.

    def record(self, log_id: Optional[str], kind: str, client: Client, detail: str = "",
               account: Optional[Account] = None) -> bool:
        """Adds an event to ``account``, else to the account the log id belongs to; returns
        whether it was attributed (events of sessions no account owns are dropped)."""
        now = self._clock()
        with self._lock:
            if account is not None:
                entry: Optional[_Entry] = self._by_name.get(account.username.lower())
            else:
                entry = self._by_log_id.get(log_id) if log_id is not None else None
            if entry is None:
                return False
            entry.events.append(Event(now, log_id, kind, client, detail))
            return True

    def security(self, account: Account) -> Tuple[List[SessionEntry], List[Event]]:
        """Copies of the account's sessions (newest first) and events (newest first)."""
        with self._lock:
            entry = self._by_name[account.username.lower()]
            sessions = [s.copy() for s in entry.sessions.values()]
            events = list(entry.events)
        sessions.sort(key=lambda s: s.created, reverse=True)
        events.reverse()
        return sessions, events


# Coarse client details: enough for a person to recognise their devices, no more.

_FAMILIES = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("Wget/", "Wget"),
    ("python-httpx/", "python-httpx"),
    ("python-requests/", "python-requests"),
    ("Python-urllib/", "Python-urllib"),
)


def user_agent_family(user_agent: Optional[str]) -> str:
    """A browser family (``Firefox``, ``Chrome``, ``curl``, …), ``other`` or ``unknown``."""
    if not user_agent:
        return "unknown"
    for marker, family in _FAMILIES:
        if marker in user_agent:
            return family
    return "other"


def coarse_address(address: Optional[str]) -> str:
    """The address prefix the core binds to: ``192.0.2.x`` (/24) or ``2001:db8:1:2::/64``."""
    if not address:
        return "unknown network"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "unknown network"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        a, b, c, _ = ip.packed
        return f"{a}.{b}.{c}.x"
    net = ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))
    return str(net)
