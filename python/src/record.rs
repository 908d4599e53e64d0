//! `Record`: the 128-byte session record as a Python object, and its encoding.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyString};
use rolltoken::keys::Binding;
use rolltoken::record::{self as core_record, RevokeReason, State};
use rolltoken::token::{self, Form, SessionId, Subject};

use crate::convert::{self, py_bytes};
use crate::errors;
use crate::names;

/// One session's server-side state (`rolltoken::record::Record`): what a store keeps, as
/// 128 bytes (`encode_record` / `decode_record`). It holds no bearer secret.
///
/// `Record(...)` takes the fields as keyword arguments; `session_id`, `subject`, `form`,
/// `created_at` and `expires_at` are required, and the rest default as for a new session
/// (counter 0, floor = counter, last advance = creation, grace end and last seen = last
/// advance, `authenticated` = non-zero subject, active).
#[pyclass(frozen, eq, module = "rolltoken._rolltoken", name = "Record")]
#[derive(PartialEq)]
pub(crate) struct Record(pub(crate) core_record::Record);

const REQUIRED: [&str; 5] = ["session_id", "subject", "form", "created_at", "expires_at"];

/// Sets the field `key` of `r` from `value`.
fn set_field(r: &mut core_record::Record, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let u64_of = |v: &Bound<'_, PyAny>| convert::u64_arg(v, key);
    match key {
        "session_id" => r.session_id = SessionId(convert::session_id(value)?),
        "parent" => {
            r.parent = if value.is_none() {
                None
            } else {
                Some(SessionId(convert::fixed::<16>(value, "parent")?))
            }
        }
        "subject" => r.subject = Subject(convert::subject(value)?),
        "revoke_reason" => {
            r.state = match names::opt_from_py::<RevokeReason>(Some(value))? {
                Some(reason) => State::Revoked(reason),
                None => State::Active,
            }
        }
        "authenticated" => r.authenticated = value.extract()?,
        "form" => r.form = names::from_py::<Form>(value)?,
        "counter" => r.counter = u64_of(value)?,
        "floor" => r.floor = u64_of(value)?,
        "version" => r.version = u64_of(value)?,
        "created_at" => r.created_at = u64_of(value)?,
        "expires_at" => r.expires_at = u64_of(value)?,
        "last_advance_at" => r.last_advance_at = u64_of(value)?,
        "grace_until" => r.grace_until = u64_of(value)?,
        "last_seen_at" => r.last_seen_at = u64_of(value)?,
        "grace_answers" => r.grace_answers = value.extract()?,
        "confirmed" => r.confirmed = value.extract()?,
        "lateness_ms" => r.lateness_ms = value.extract()?,
        "binding" => r.binding = Binding::from_bytes(convert::fixed::<8>(value, "binding")?),
        "binding_key_id" => r.binding_key_id = value.extract()?,
        "revoked_at" => r.revoked_at = u64_of(value)?,
        other => {
            return Err(PyTypeError::new_err(format!(
                "Record has no field named {other:?}"
            )));
        }
    }
    Ok(())
}

fn apply(r: &mut core_record::Record, fields: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    if let Some(fields) = fields {
        for (key, value) in fields.iter() {
            let key = key.cast::<PyString>()?.to_cow()?;
            set_field(r, &key, &value)?;
        }
    }
    Ok(())
}

/// A record argument: a `Record`, or its encoded bytes (raises `InvalidRecord`).
pub(crate) fn from_arg(obj: &Bound<'_, PyAny>) -> PyResult<core_record::Record> {
    if let Ok(r) = obj.cast::<Record>() {
        return Ok(r.get().0);
    }
    let bytes: PyBackedBytes = obj
        .extract()
        .map_err(|_| PyTypeError::new_err("a record must be a Record or its encoded bytes"))?;
    core_record::Record::decode(&bytes).map_err(errors::record)
}

#[pymethods]
impl Record {
    #[new]
    #[pyo3(signature = (**fields))]
    fn new(fields: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let given = |k: &str| fields.is_some_and(|f| f.contains(k).unwrap_or(false));
        if let Some(missing) = REQUIRED.iter().find(|k| !given(k)) {
            return Err(PyTypeError::new_err(format!(
                "Record() missing required keyword argument {missing:?}"
            )));
        }
        let mut r = core_record::Record::new(
            SessionId::default(),
            None,
            Subject::ANONYMOUS,
            Form::Full,
            0,
            0,
            Binding::default(),
            0,
        );
        apply(&mut r, fields)?;
        if !given("authenticated") {
            r.authenticated = !r.subject.is_anonymous();
        }
        if !given("floor") {
            r.floor = r.counter;
        }
        if !given("last_advance_at") {
            r.last_advance_at = r.created_at;
        }
        if !given("grace_until") {
            r.grace_until = r.last_advance_at;
        }
        if !given("last_seen_at") {
            r.last_seen_at = r.last_advance_at;
        }
        Ok(Record(r))
    }

    /// A copy with the given fields changed.
    #[pyo3(signature = (**changes))]
    fn replace(&self, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut r = self.0;
        apply(&mut r, changes)?;
        Ok(Record(r))
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
    /// The anonymous session this one replaced at login, if any.
    #[getter]
    fn parent<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.0.parent.map(|p| py_bytes(py, &p.0))
    }
    #[getter]
    fn subject<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.0.subject.0)
    }
    /// True unless revoked.
    #[getter]
    fn is_active(&self) -> bool {
        self.0.is_active()
    }
    /// Why the session was revoked; `None` while active.
    #[getter]
    fn revoke_reason<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.0.state {
            State::Active => Ok(None),
            State::Revoked(reason) => names::to_py(py, reason).map(Some),
        }
    }
    #[getter]
    fn authenticated(&self) -> bool {
        self.0.authenticated
    }
    #[getter]
    fn form<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.0.form)
    }
    #[getter]
    fn counter(&self) -> u64 {
        self.0.counter
    }
    #[getter]
    fn floor(&self) -> u64 {
        self.0.floor
    }
    #[getter]
    fn version(&self) -> u64 {
        self.0.version
    }
    #[getter]
    fn created_at(&self) -> u64 {
        self.0.created_at
    }
    #[getter]
    fn expires_at(&self) -> u64 {
        self.0.expires_at
    }
    #[getter]
    fn last_advance_at(&self) -> u64 {
        self.0.last_advance_at
    }
    #[getter]
    fn grace_until(&self) -> u64 {
        self.0.grace_until
    }
    #[getter]
    fn last_seen_at(&self) -> u64 {
        self.0.last_seen_at
    }
    #[getter]
    fn grace_answers(&self) -> u8 {
        self.0.grace_answers
    }
    #[getter]
    fn confirmed(&self) -> bool {
        self.0.confirmed
    }
    #[getter]
    fn lateness_ms(&self) -> u32 {
        self.0.lateness_ms
    }
    #[getter]
    fn binding<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.0.binding.to_bytes())
    }
    #[getter]
    fn binding_key_id(&self) -> u8 {
        self.0.binding_key_id
    }
    #[getter]
    fn revoked_at(&self) -> u64 {
        self.0.revoked_at
    }

    /// The 128-byte encoding (same as `encode_record(self)`).
    fn encode<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.0.encode())
    }

    fn __repr__(&self) -> String {
        let r = &self.0;
        let state = match r.state {
            State::Active => "active",
            State::Revoked(reason) => reason.name(),
        };
        format!(
            "Record(log_id='{}', state='{}', form='{}', counter={}, floor={}, version={}, expires_at={})",
            token::log_id(&r.session_id),
            state,
            r.form.name(),
            r.counter,
            r.floor,
            r.version,
            r.expires_at
        )
    }
}

/// The 128-byte encoding of `record`.
#[pyfunction]
pub(crate) fn encode_record<'py>(
    py: Python<'py>,
    record: PyRef<'py, Record>,
) -> Bound<'py, PyBytes> {
    py_bytes(py, &record.0.encode())
}

/// Decodes record bytes. Raises `InvalidRecord` (`.reason`: `wrong_length`, `foreign`,
/// `unsupported_version`, `corrupt`, `invalid`).
#[pyfunction]
pub(crate) fn decode_record(data: &Bound<'_, PyAny>) -> PyResult<Record> {
    let bytes: PyBackedBytes = data
        .extract()
        .map_err(|_| PyTypeError::new_err("record data must be bytes"))?;
    core_record::Record::decode(&bytes)
        .map(Record)
        .map_err(errors::record)
}
