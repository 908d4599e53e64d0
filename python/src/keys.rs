//! `Keyring` and the token primitives: parsing, verifying, minting, binding hashes, log ids.

use std::sync::Arc;

use base64ct::{Base64Unpadded, Base64UrlUnpadded, Encoding};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use rolltoken::engine;
use rolltoken::keys::{Binding, KEY_LEN, KeyMaterial, Keyring, MAX_KEYS, PrekeyedMac};
use rolltoken::token::{self, Form, Parsed, SessionId, Subject, TokenError};
use zeroize::Zeroizing;

use crate::convert::{self, Client, Text, py_bytes};
use crate::errors;
use crate::names;
use crate::outcome::Decision;
use crate::policy::Policy;
use crate::record;

/// Up to four 32-byte keys: one mints, all verify. Immutable; share one between `Sessions`.
///
/// The secrets are copied into the core, which keeps only keyed HMAC states and zeroizes them
/// when the keyring is dropped. `repr` shows key ids only.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "Keyring")]
pub(crate) struct PyKeyring {
    pub(crate) keys: Arc<Keyring>,
    ids: Vec<u8>,
}

fn key_id(obj: &Bound<'_, PyAny>) -> PyResult<u8> {
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err("a key id must be an int"));
    }
    let id: i64 = obj
        .extract()
        .map_err(|_| PyTypeError::new_err("a key id must be an int"))?;
    u8::try_from(id).map_err(|_| errors::configuration("a key id must be in 0..=255"))
}

/// Decodes a secret given as base64 or base64url text, padded or not, into 32 bytes.
fn decode_secret(text: &[u8], id: u8) -> PyResult<Zeroizing<[u8; KEY_LEN]>> {
    let trimmed: &[u8] = text.trim_ascii();
    let unpadded = trimmed
        .strip_suffix(b"==")
        .or_else(|| trimmed.strip_suffix(b"="))
        .unwrap_or(trimmed);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    let decoded = if unpadded.iter().any(|b| matches!(b, b'-' | b'_')) {
        Base64UrlUnpadded::decode(unpadded, &mut *out).map(<[u8]>::len)
    } else {
        Base64Unpadded::decode(unpadded, &mut *out).map(<[u8]>::len)
    };
    match decoded {
        Ok(KEY_LEN) => Ok(out),
        _ => Err(errors::configuration(format!(
            "key {id}: the secret must be base64 or base64url text of exactly 32 bytes"
        ))),
    }
}

impl PyKeyring {
    fn build(
        materials: &[KeyMaterial],
        minting_id: u8,
        audience: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyKeyring> {
        let audience: Option<Text> = match audience {
            Some(a) if !a.is_none() => Some(
                a.extract()
                    .map_err(|_| PyTypeError::new_err("an audience must be str or bytes"))?,
            ),
            _ => None,
        };
        let audience = audience.as_ref().map_or(&b""[..], Text::as_bytes);
        let keys = Keyring::for_audience(materials, minting_id, audience)
            .map_err(|e| errors::core(e.into()))?;
        Ok(PyKeyring {
            keys: Arc::new(keys),
            ids: materials.iter().map(KeyMaterial::id).collect(),
        })
    }

    /// Collects at most one more than the core accepts, so that it reports `TooMany`.
    fn collect<'py>(
        pairs: &Bound<'py, PyAny>,
        mut secret: impl FnMut(&Bound<'py, PyAny>, u8) -> PyResult<KeyMaterial>,
    ) -> PyResult<Vec<KeyMaterial>> {
        // Room for all of them up front: a reallocation would leave copies of secrets behind.
        let mut out = Vec::with_capacity(MAX_KEYS + 1);
        for item in pairs.try_iter()? {
            let item = item?;
            let (id, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item
                .extract()
                .map_err(|_| PyTypeError::new_err("each key must be a (key_id, secret) pair"))?;
            let id = key_id(&id)?;
            out.push(secret(&value, id)?);
            if out.len() > MAX_KEYS {
                break;
            }
        }
        Ok(out)
    }

    /// The key ids, in the order given.
    pub(crate) fn ids(&self) -> &[u8] {
        &self.ids
    }
}

#[pymethods]
impl PyKeyring {
    /// `keys`: `(key_id, secret)` pairs, key ids 0..=255, secrets of exactly 32 bytes (from a
    /// CSPRNG, e.g. `os.urandom(32)`); `minting_id` names the key that mints.
    ///
    /// `audience` (str or bytes, at most 64 bytes) names the application: subkeys are derived
    /// from the secrets and the audience, so applications sharing secrets but not the audience
    /// refuse each other's tokens. Issuer and verifier configure the same one.
    ///
    /// Raises `ConfigurationError` for a wrong length, no keys, more than four, a duplicate
    /// id, a missing minting key or a too long audience, and `TypeError` for values of the
    /// wrong type.
    #[new]
    #[pyo3(signature = (keys, minting_id, *, audience = None))]
    fn new(
        keys: &Bound<'_, PyAny>,
        minting_id: &Bound<'_, PyAny>,
        audience: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let minting = key_id(minting_id)?;
        let materials = Self::collect(keys, |value, id| {
            let secret: pyo3::pybacked::PyBackedBytes = value
                .extract()
                .map_err(|_| PyTypeError::new_err("a key secret must be bytes"))?;
            KeyMaterial::from_slice(id, &secret).map_err(|_| {
                errors::configuration(format!("key {id}: a key secret must be exactly 32 bytes"))
            })
        })?;
        Self::build(&materials, minting, audience)
    }

    /// A keyring from secrets written as base64 or base64url text (padding optional), as kept
    /// in environment variables: either `"1:<secret>,2:<secret>"` or `(key_id, text)` pairs.
    /// `minting_id` may be left out when there is exactly one key; `audience` as for the
    /// constructor.
    #[staticmethod]
    #[pyo3(signature = (keys, minting_id = None, *, audience = None))]
    fn from_base64(
        keys: &Bound<'_, PyAny>,
        minting_id: Option<&Bound<'_, PyAny>>,
        audience: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let secret = |value: &Bound<'_, PyAny>, id: u8| -> PyResult<KeyMaterial> {
            let text: Text = value
                .extract()
                .map_err(|_| PyTypeError::new_err("a base64 key secret must be str or bytes"))?;
            let bytes = decode_secret(text.as_bytes(), id)?;
            Ok(KeyMaterial::new(id, *bytes))
        };
        let materials = if keys.is_instance_of::<PyString>() {
            // Parsed from the UTF-8 bytes Python holds: no Rust copy of the text to wipe.
            let spec: Text = keys.extract()?;
            let mut out = Vec::with_capacity(MAX_KEYS + 1);
            let entries = spec
                .as_bytes()
                .split(|b| *b == b',')
                .map(<[u8]>::trim_ascii);
            for entry in entries.filter(|e| !e.is_empty()) {
                let colon = entry.iter().position(|b| *b == b':').ok_or_else(|| {
                    errors::configuration("each key must be written as <key_id>:<base64 secret>")
                })?;
                let (id, text) = entry.split_at(colon);
                let id: u8 = core::str::from_utf8(id)
                    .ok()
                    .and_then(|id| id.trim().parse().ok())
                    .ok_or_else(|| {
                        errors::configuration("a key id must be a decimal number in 0..=255")
                    })?;
                let bytes = decode_secret(text.get(1..).unwrap_or_default(), id)?;
                out.push(KeyMaterial::new(id, *bytes));
                if out.len() > MAX_KEYS {
                    break;
                }
            }
            out
        } else {
            Self::collect(keys, secret)?
        };
        let minting = match minting_id {
            Some(m) if !m.is_none() => key_id(m)?,
            _ => match materials.as_slice() {
                [only] => only.id(),
                [] => 0, // the core reports the empty keyring
                _ => {
                    return Err(errors::configuration(
                        "minting_id is required when the keyring has more than one key",
                    ));
                }
            },
        };
        Self::build(&materials, minting, audience)
    }

    /// The id of the key that mints new tokens.
    #[getter]
    fn minting_id(&self) -> u8 {
        self.keys.minting_id()
    }

    /// The key ids, in the order given.
    #[getter]
    fn key_ids(&self) -> Vec<u32> {
        // Not `Vec<u8>`, which PyO3 turns into `bytes`.
        self.ids.iter().map(|&id| u32::from(id)).collect()
    }

    fn __contains__(&self, key_id: &Bound<'_, PyAny>) -> bool {
        key_id
            .extract::<u8>()
            .is_ok_and(|id| self.keys.contains(id))
    }

    fn __repr__(&self) -> String {
        format!(
            "Keyring(key_ids={:?}, minting_id={})",
            self.ids,
            self.keys.minting_id()
        )
    }

    /// Verifies a token and returns what it proves. A full token is checked on its own (and,
    /// when `counter` is given, must carry that counter); a compact token proves only its
    /// session and key, and is checked against `counter`, which is then required.
    ///
    /// Raises `InvalidToken` (`.reason` as the core names it; a token that is not the one
    /// of `counter` is `bad_tag`).
    #[pyo3(signature = (text, counter = None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        text: Text,
        counter: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match token::parse(text.as_bytes()).map_err(errors::token)? {
            Parsed::Full(full) => {
                let claims = full.verify(&self.keys).map_err(errors::token)?;
                if counter.is_some_and(|c| c != claims.counter) {
                    return Err(errors::token(TokenError::BadTag));
                }
                Ok(Bound::new(py, Claims(claims))?.into_any())
            }
            Parsed::Compact(compact) => {
                let counter = counter.ok_or_else(|| {
                    PyValueError::new_err("a compact token can only be verified against a counter")
                })?;
                if !compact
                    .matches(&self.keys, counter)
                    .map_err(errors::token)?
                {
                    return Err(errors::token(TokenError::BadTag));
                }
                let claims = CompactClaims {
                    key_id: compact.key_id(),
                    session_id: compact.session_id(),
                    counter,
                };
                Ok(Bound::new(py, claims)?.into_any())
            }
        }
    }

    /// Mints the full token of `claims` under the key `claims.key_id`.
    fn mint_full(&self, claims: PyRef<'_, Claims>) -> PyResult<String> {
        token::mint_full(&self.keys, &claims.0)
            .map(|t| t.as_str().to_owned())
            .map_err(|_| no_key(claims.0.key_id))
    }

    /// Mints the compact token of `session_id` at `counter` under the key `key_id`.
    fn mint_compact(
        &self,
        key_id: u8,
        session_id: &Bound<'_, PyAny>,
        counter: u64,
    ) -> PyResult<String> {
        let sid = SessionId(convert::session_id(session_id)?);
        token::mint_compact(&self.keys, key_id, &sid, counter)
            .map(|t| t.as_str().to_owned())
            .map_err(|_| no_key(key_id))
    }

    /// The 8-byte keyed hash of a client under the key `key_id`: 4 bytes of user agent, 4 of
    /// address prefix (/24 for IPv4, /64 for IPv6).
    #[pyo3(signature = (key_id, user_agent = None, ip = None))]
    fn binding<'py>(
        &self,
        py: Python<'py>,
        key_id: u8,
        user_agent: Option<Text>,
        ip: Option<&str>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let client = Client::new(user_agent, ip)?;
        let binding = self
            .keys
            .binding(key_id, &client.binding())
            .ok_or_else(|| no_key(key_id))?;
        Ok(py_bytes(py, &binding.to_bytes()))
    }

    /// The pure engine (`engine::decide`): the rules applied to one request on a loaded
    /// record, with no store, clock or randomness. Raises `InvalidToken` when `token` does
    /// not parse (the façade answers `malformed` instead).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (policy, record, token, kind, now_ms, user_agent = None, ip = None))]
    fn decide(
        &self,
        policy: PyRef<'_, Policy>,
        record: &Bound<'_, PyAny>,
        token: Text,
        kind: &Bound<'_, PyAny>,
        now_ms: u64,
        user_agent: Option<Text>,
        ip: Option<&str>,
    ) -> PyResult<Decision> {
        let record = record::from_arg(record)?;
        let parsed = token::parse(token.as_bytes()).map_err(errors::token)?;
        let kind = names::from_py::<engine::Kind>(kind)?;
        let client = Client::new(user_agent, ip)?;
        let decision = engine::decide(
            &self.keys,
            &policy.0,
            &record,
            &parsed,
            kind,
            &client.binding(),
            now_ms,
        );
        Ok(Decision::new(decision))
    }
}

fn no_key(key_id: u8) -> PyErr {
    PyValueError::new_err(format!("the keyring has no key with id {key_id}"))
}

/// The claims of a full token: what it says about its session.
#[pyclass(frozen, eq, module = "rolltoken._rolltoken", name = "Claims")]
#[derive(PartialEq)]
pub(crate) struct Claims(pub(crate) token::Claims);

#[pymethods]
impl Claims {
    #[new]
    #[pyo3(signature = (*, key_id, session_id, counter, issued_at, expires_at, subject, binding, authenticated))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        key_id: u8,
        session_id: &Bound<'_, PyAny>,
        counter: u64,
        issued_at: u64,
        expires_at: u64,
        subject: &Bound<'_, PyAny>,
        binding: &Bound<'_, PyAny>,
        authenticated: bool,
    ) -> PyResult<Self> {
        Ok(Claims(token::Claims {
            key_id,
            session_id: SessionId(convert::session_id(session_id)?),
            counter,
            issued_at,
            expires_at,
            subject: Subject(convert::subject(subject)?),
            binding: Binding::from_bytes(convert::fixed::<8>(binding, "binding")?),
            authenticated,
        }))
    }

    /// Always `Form.FULL`.
    #[getter]
    fn form<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, Form::Full)
    }
    #[getter]
    fn key_id(&self) -> u8 {
        self.0.key_id
    }
    #[getter]
    fn session_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.0.session_id.0)
    }
    /// The session's log id: log this, never the session id.
    #[getter]
    fn log_id(&self) -> String {
        token::log_id(&self.0.session_id).to_string()
    }
    #[getter]
    fn counter(&self) -> u64 {
        self.0.counter
    }
    #[getter]
    fn issued_at(&self) -> u64 {
        self.0.issued_at
    }
    #[getter]
    fn expires_at(&self) -> u64 {
        self.0.expires_at
    }
    #[getter]
    fn subject<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.0.subject.0)
    }
    #[getter]
    fn binding<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.0.binding.to_bytes())
    }
    #[getter]
    fn authenticated(&self) -> bool {
        self.0.authenticated
    }

    fn __repr__(&self) -> String {
        let c = &self.0;
        format!(
            "Claims(key_id={}, log_id='{}', counter={}, issued_at={}, expires_at={}, authenticated={})",
            c.key_id,
            token::log_id(&c.session_id),
            c.counter,
            c.issued_at,
            c.expires_at,
            if c.authenticated { "True" } else { "False" }
        )
    }
}

/// What a verified compact token proves: its key, its session, and the counter it was
/// checked against.
#[pyclass(frozen, eq, module = "rolltoken._rolltoken", name = "CompactClaims")]
#[derive(PartialEq)]
pub(crate) struct CompactClaims {
    key_id: u8,
    session_id: SessionId,
    counter: u64,
}

#[pymethods]
impl CompactClaims {
    /// Always `Form.COMPACT`.
    #[getter]
    fn form<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, Form::Compact)
    }
    #[getter]
    fn key_id(&self) -> u8 {
        self.key_id
    }
    #[getter]
    fn session_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.session_id.0)
    }
    /// The session's log id: log this, never the session id.
    #[getter]
    fn log_id(&self) -> String {
        token::log_id(&self.session_id).to_string()
    }
    #[getter]
    fn counter(&self) -> u64 {
        self.counter
    }

    fn __repr__(&self) -> String {
        format!(
            "CompactClaims(key_id={}, log_id='{}', counter={})",
            self.key_id,
            token::log_id(&self.session_id),
            self.counter
        )
    }
}

/// A token parsed but **not verified**: for inspection and logs only.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "ParsedToken")]
pub(crate) struct ParsedToken(Parsed);

#[pymethods]
impl ParsedToken {
    #[getter]
    fn form<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.0.form())
    }
    #[getter]
    fn key_id(&self) -> u8 {
        self.0.key_id()
    }
    #[getter]
    fn session_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.0.session_id().0)
    }
    /// The session's log id: log this, never the session id.
    #[getter]
    fn log_id(&self) -> String {
        token::log_id(&self.0.session_id()).to_string()
    }
    /// A full token's claims, unverified; `None` for a compact token.
    #[getter]
    fn claims(&self) -> Option<Claims> {
        match &self.0 {
            Parsed::Full(full) => Some(Claims(*full.unverified_claims())),
            Parsed::Compact(_) => None,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "ParsedToken(form={}, key_id={}, log_id='{}')",
            self.0.form().name(),
            self.0.key_id(),
            token::log_id(&self.0.session_id())
        )
    }
}

/// Parses a token text without checking its tag. Raises `InvalidToken`.
#[pyfunction]
pub(crate) fn parse_token(text: Text) -> PyResult<ParsedToken> {
    token::parse(text.as_bytes())
        .map(ParsedToken)
        .map_err(errors::token)
}

/// The log id of a session id: 16 lowercase hex characters, stable across key rotation.
#[pyfunction]
pub(crate) fn log_id(session_id: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(token::log_id(&SessionId(convert::session_id(session_id)?)).to_string())
}

/// HMAC-SHA256 of `msg` under a 32-byte `key`, computed by the keyring's own precomputed-state
/// HMAC (`rolltoken::keys::PrekeyedMac`, the state a keyring keys with each secret). It reads
/// no keyring and makes no token: it is there so that published HMAC-SHA256 vectors (RFC 4231,
/// Project Wycheproof) can be checked through this library's HMAC. A key of another length
/// has the same HMAC as a 32-byte key when it is shorter (padded with zeros) or longer than 64
/// bytes (its SHA-256 hash), as RFC 2104 defines. Raises `ValueError` unless `key` is 32 bytes.
#[pyfunction]
pub(crate) fn hmac_sha256<'py>(
    py: Python<'py>,
    key: &Bound<'_, PyAny>,
    msg: pyo3::pybacked::PyBackedBytes,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = Zeroizing::new(convert::fixed::<KEY_LEN>(key, "key")?);
    Ok(py_bytes(py, &PrekeyedMac::new(&*key).mac(&[&msg])))
}
