//! Argument conversions shared by the classes: text given as `str` or `bytes`, fixed-size
//! ids, subjects, client addresses, and the clock and randomness defaults.

use core::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyBytes, PyInt, PyString};
use rolltoken::keys::BindingInput;
use rolltoken::token::{SESSION_ID_LEN, Subject};

/// Text given as `str` (hashed and parsed as its UTF-8 bytes) or as `bytes` (taken as is, e.g.
/// a raw header value). A `str` that cannot be encoded (lone surrogates) is a
/// `UnicodeEncodeError`.
pub(crate) struct Text(PyBackedBytes);

impl Text {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Text(PyBackedBytes::from(s.encode_utf8()?)));
        }
        obj.extract::<PyBackedBytes>()
            .map(Text)
            .map_err(|_| PyTypeError::new_err("expected str or bytes"))
    }
}

/// Exactly `N` bytes from a `bytes`-like argument.
pub(crate) fn fixed<const N: usize>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<[u8; N]> {
    let bytes: PyBackedBytes = obj
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be bytes")))?;
    <[u8; N]>::try_from(&*bytes)
        .map_err(|_| PyValueError::new_err(format!("{what} must be exactly {N} bytes")))
}

/// A session id: 16 bytes.
pub(crate) fn session_id(obj: &Bound<'_, PyAny>) -> PyResult<[u8; SESSION_ID_LEN]> {
    fixed::<SESSION_ID_LEN>(obj, "session_id")
}

/// A subject: 16 bytes (a UUID's bytes, say), or a non-negative int below 2**64, stored
/// big-endian in the last 8 bytes (`Subject::from_u64`).
pub(crate) fn subject(obj: &Bound<'_, PyAny>) -> PyResult<[u8; 16]> {
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err("subject must be bytes or int"));
    }
    if obj.is_instance_of::<PyInt>() {
        let id: u64 = obj
            .extract()
            .map_err(|_| PyValueError::new_err("an int subject must be in 0..2**64"))?;
        return Ok(Subject::from_u64(id).0);
    }
    if obj.is_instance_of::<PyBytes>() {
        return fixed::<16>(obj, "subject");
    }
    Err(PyTypeError::new_err("subject must be bytes or int"))
}

/// A client address as text (`"192.0.2.1"`, `"2001:db8::1"`, `"::ffff:192.0.2.1"`); `None`
/// or `""` when unknown.
pub(crate) fn ip(text: Option<&str>) -> PyResult<Option<IpAddr>> {
    match text {
        None | Some("") => Ok(None),
        Some(t) => rolltoken::addr::parse_ip(t.as_bytes())
            .map(Some)
            .ok_or_else(|| PyValueError::new_err("ip must be an IPv4 or IPv6 address, or None")),
    }
}

/// The time in ms since the Unix epoch: `now_ms`, or the OS clock.
pub(crate) fn now(now_ms: Option<u64>) -> u64 {
    now_ms.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    })
}

/// A new session id: the one given, or 16 bytes from the OS RNG.
pub(crate) fn new_session_id(given: Option<&Bound<'_, PyAny>>) -> PyResult<[u8; SESSION_ID_LEN]> {
    match given {
        Some(obj) if !obj.is_none() => session_id(obj),
        _ => {
            let mut id = [0u8; SESSION_ID_LEN];
            getrandom::fill(&mut id)
                .map_err(|e| PyOSError::new_err(format!("the OS random source failed: {e}")))?;
            Ok(id)
        }
    }
}

/// A client: user agent bytes and address, owned so that the GIL can be released.
pub(crate) struct Client {
    user_agent: Option<Text>,
    ip: Option<IpAddr>,
}

impl Client {
    pub(crate) fn new(user_agent: Option<Text>, ip_text: Option<&str>) -> PyResult<Client> {
        Ok(Client {
            user_agent,
            ip: ip(ip_text)?,
        })
    }

    pub(crate) fn user_agent(&self) -> &[u8] {
        self.user_agent.as_ref().map_or(b"", Text::as_bytes)
    }

    pub(crate) fn binding(&self) -> BindingInput<'_> {
        BindingInput::new(self.user_agent(), self.ip)
    }
}

/// `bytes` for Python.
pub(crate) fn py_bytes<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, data)
}

/// A non-negative int below 2**64: `TypeError` for anything but an int (`bool` included),
/// `ValueError` (not `OverflowError`) for one out of range.
pub(crate) fn u64_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!("{what} must be an int")));
    }
    obj.extract()
        .map_err(|_| PyValueError::new_err(format!("{what} must be in 0..2**64")))
}
