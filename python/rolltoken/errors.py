"""The exceptions of rolltoken, one hierarchy under :class:`RolltokenError`.

Per-request answers (a copied cookie, an expired session, a store outage seen by
``Sessions.handle``) are *returned* as :class:`rolltoken.Outcome` values, never raised.
Exceptions are for misuse and for inputs that cannot be decided on: a malformed token handed to
a primitive, damaged record bytes, a bad configuration, a store failure in ``login``/``logout``.

Messages never contain a token, a key or a session id; log the session's ``log_id`` instead.
The classes that describe bad input also derive from :class:`ValueError`.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "ConfigurationError",
    "CookieError",
    "InvalidRecord",
    "InvalidToken",
    "RolltokenError",
    "StoreUnavailable",
]


class RolltokenError(Exception):
    """Base class of every exception this package raises on purpose."""


class _WithReason(RolltokenError):
    """An error that names its cause with a stable snake_case ``reason``."""

    reason: str

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, reason)
        self.reason = reason

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidToken(_WithReason, ValueError):
    """A token text that cannot be parsed or verified.

    ``reason`` is the core's ``TokenError`` name: ``empty``, ``too_long``, ``wrong_prefix``,
    ``unsupported_version``, ``wrong_length``, ``bad_base64``, ``bad_flags``, ``unknown_key``
    or ``bad_tag``.
    """


class InvalidRecord(_WithReason, ValueError):
    """Session record bytes that cannot be decoded.

    ``reason`` is the core's ``RecordError`` name: ``wrong_length``, ``foreign``,
    ``unsupported_version``, ``corrupt`` or ``invalid``.
    """


class CookieError(_WithReason, ValueError):
    """A ``Cookie`` header that cannot be read, or a cookie that cannot be written.

    ``reason`` names the cause: ``buffer_too_small``, ``invalid_name``, ``invalid_value``,
    ``invalid_path``, ``host_prefix_needs_secure``, ``host_prefix_needs_root_path``,
    ``secure_prefix_needs_secure``, ``same_site_none_needs_secure``, ``duplicate`` (the cookie
    was sent twice with different values), ``malformed`` or ``too_long``.
    """


class ConfigurationError(RolltokenError, ValueError):
    """A keyring or policy that the core refuses (cookie settings raise :class:`CookieError`)."""


class StoreUnavailable(RolltokenError):
    """The session store could not be used (unreachable, or full). Nobody is logged out."""


class Conflict(RolltokenError):
    """A compare-and-swap save lost: the record changed concurrently, or the id exists."""
