//! The crate-wide error for misuse and malformed input. Expected request outcomes are
//! [`Verdict`](crate::verdict::Verdict)s, not errors.

use core::fmt;

use crate::cookie::CookieError;
use crate::keys::KeyError;
use crate::policy::PolicyError;
use crate::record::RecordError;
use crate::store::StoreError;
use crate::token::TokenError;

/// Everything that can go wrong outside the request verdicts. Messages never contain a token,
/// a key or a session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The keyring could not be built.
    Key(KeyError),
    /// The policy is inconsistent.
    Policy(PolicyError),
    /// A token could not be parsed or verified.
    Token(TokenError),
    /// Record bytes could not be decoded.
    Record(RecordError),
    /// The store failed.
    Store(StoreError),
    /// A cookie could not be read or written.
    Cookie(CookieError),
    /// A session can only be logged in for a non-zero subject.
    AnonymousSubject,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Key(e) => write!(f, "key: {e}"),
            Error::Policy(e) => write!(f, "policy: {e}"),
            Error::Token(e) => write!(f, "token: {e}"),
            Error::Record(e) => write!(f, "record: {e}"),
            Error::Store(e) => write!(f, "store: {e}"),
            Error::Cookie(e) => write!(f, "cookie: {e}"),
            Error::AnonymousSubject => f.write_str("login needs a non-zero subject"),
        }
    }
}

impl core::error::Error for Error {}

macro_rules! from_error {
    ($($source:ty => $variant:ident),* $(,)?) => {$(
        impl From<$source> for Error {
            fn from(e: $source) -> Self {
                Error::$variant(e)
            }
        }
    )*};
}

from_error! {
    KeyError => Key,
    PolicyError => Policy,
    TokenError => Token,
    RecordError => Record,
    StoreError => Store,
    CookieError => Cookie,
}
