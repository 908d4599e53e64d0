//! The exceptions live in Python (`rolltoken/errors.py`); here they are imported and the
//! core's errors mapped onto them. Messages are the core's `Display` texts, which never
//! contain a token, a key or a session id.

use pyo3::PyErr;
use pyo3::exceptions::PyValueError;
use rolltoken::Error;
use rolltoken::cookie::CookieError as CoreCookieError;
use rolltoken::record::RecordError;
use rolltoken::store::StoreError;
use rolltoken::token::TokenError;

pyo3::import_exception!(rolltoken.errors, InvalidToken);
pyo3::import_exception!(rolltoken.errors, InvalidRecord);
pyo3::import_exception!(rolltoken.errors, CookieError);
pyo3::import_exception!(rolltoken.errors, ConfigurationError);
pyo3::import_exception!(rolltoken.errors, StoreUnavailable);
pyo3::import_exception!(rolltoken.errors, Conflict);

/// `InvalidToken(message, reason)`.
pub(crate) fn token(e: TokenError) -> PyErr {
    InvalidToken::new_err((e.to_string(), e.name()))
}

/// `InvalidRecord(message, reason)`.
pub(crate) fn record(e: RecordError) -> PyErr {
    InvalidRecord::new_err((e.to_string(), e.name()))
}

/// `CookieError(message, reason)`.
pub(crate) fn cookie(e: CoreCookieError) -> PyErr {
    CookieError::new_err((e.to_string(), e.name()))
}

/// `ConfigurationError(message)`.
pub(crate) fn configuration(message: impl Into<String>) -> PyErr {
    ConfigurationError::new_err(message.into())
}

/// A store failure: `Conflict`, `InvalidRecord` for damaged bytes, else `StoreUnavailable`.
pub(crate) fn store(e: StoreError) -> PyErr {
    match e {
        StoreError::Conflict => Conflict::new_err(e.to_string()),
        StoreError::Corrupt(r) => record(r),
        StoreError::Full | StoreError::Unavailable | StoreError::Unsupported => {
            StoreUnavailable::new_err(e.to_string())
        }
    }
}

/// Any core error.
pub(crate) fn core(e: Error) -> PyErr {
    match e {
        Error::Key(k) => configuration(k.to_string()),
        Error::Policy(p) => configuration(p.to_string()),
        Error::Token(t) => token(t),
        Error::Record(r) => record(r),
        Error::Store(s) => store(s),
        Error::Cookie(c) => cookie(c),
        Error::AnonymousSubject => PyValueError::new_err(e.to_string()),
    }
}
