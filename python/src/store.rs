//! `MemoryStore`: the core's fixed-capacity in-memory store behind a mutex, shared between
//! the Python object (the store contract's methods, for tests and tools) and the `Engine`
//! that decides over it in one call.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rolltoken::record::Record;
use rolltoken::store::{self as core_store, Store, StoreError};
use rolltoken::token::{SessionId, Subject};

use crate::convert::{self, py_bytes};
use crate::errors;
use crate::record;

/// Records the in-memory store holds (it evicts expired, then revoked sessions when full).
pub(crate) const STORE_CAPACITY: usize = 4096;

type Memory = core_store::MemoryStore<STORE_CAPACITY>;

/// Runs `f` on a helper thread with a 32 MiB stack: the core's fixed-capacity maps are
/// hundreds of KB inline, more than some threads' stacks hold (a debug build copies them
/// several times on the way to the heap).
pub(crate) fn on_big_stack<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    std::thread::Builder::new()
        .name("rolltoken-init".to_owned())
        .stack_size(32 << 20)
        .spawn(f)
        .map_err(|e| PyOSError::new_err(format!("cannot start a thread: {e}")))?
        .join()
        .map_err(|_| PyRuntimeError::new_err("building the in-memory store failed"))
}

/// The in-memory store, shareable: the engine's handle on it implements the core's `Store`
/// by taking the lock per call (never held across a call into Python).
#[derive(Clone)]
pub(crate) struct Shared(Arc<Mutex<Memory>>);

impl Shared {
    fn new() -> PyResult<Shared> {
        on_big_stack(|| Shared(Arc::new(Mutex::new(Memory::new()))))
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        // The core never panics; a poisoned lock still guards a consistent map (every change
        // is one insert or retain).
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for Shared {
    fn load(&mut self, id: &SessionId) -> Result<Option<Record>, StoreError> {
        self.lock().load(id)
    }

    fn save(
        &mut self,
        record: &Record,
        expected_version: Option<u64>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.lock().save(record, expected_version, now_ms)
    }

    fn delete(&mut self, id: &SessionId) -> Result<(), StoreError> {
        self.lock().delete(id)
    }

    fn list_by_subject(
        &mut self,
        subject: &Subject,
        out: &mut [SessionId],
    ) -> Result<usize, StoreError> {
        self.lock().list_by_subject(subject, out)
    }
}

/// The core's in-memory store of up to `STORE_CAPACITY` (4096) records, safe to share between
/// threads; one process only. When full it evicts expired, then revoked records, else `save`
/// raises `StoreUnavailable`. Implements the store contract (`rolltoken.stores.SessionStore`);
/// `Sessions(keyring, policy, store=MemoryStore())` decides over it in one native call.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "MemoryStore")]
pub(crate) struct MemoryStore {
    pub(crate) shared: Shared,
}

impl MemoryStore {
    fn run<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Memory) -> T + Send) -> T {
        py.detach(|| f(&mut self.shared.lock()))
    }
}

#[pymethods]
impl MemoryStore {
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        Ok(MemoryStore {
            shared: py.detach(Shared::new)?,
        })
    }

    /// The stored record of `session_id` (128 bytes), or `None`. One copy: `primary` changes
    /// nothing.
    #[pyo3(signature = (session_id, *, primary = false))]
    fn load<'py>(
        &self,
        py: Python<'py>,
        session_id: &Bound<'py, PyAny>,
        primary: bool,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let _ = primary;
        let sid = SessionId(convert::session_id(session_id)?);
        let found = self.run(py, |m| m.load(&sid)).map_err(errors::store)?;
        Ok(found.map(|r| py_bytes(py, &r.encode())))
    }

    /// Stores `record` (a `Record` or its bytes) if the stored version is `expected_version`
    /// (`None`: absent), else raises `Conflict`; `StoreUnavailable` when full.
    fn save(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        expected_version: Option<&Bound<'_, PyAny>>,
        now_ms: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let record = record::from_arg(record)?;
        let expected_version = expected_version
            .filter(|v| !v.is_none())
            .map(|v| convert::u64_arg(v, "expected_version"))
            .transpose()?;
        let now_ms = convert::u64_arg(now_ms, "now_ms")?;
        self.run(py, |m| m.save(&record, expected_version, now_ms))
            .map_err(errors::store)
    }

    /// Removes the record of `session_id` (no error when absent).
    fn delete(&self, py: Python<'_>, session_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let sid = SessionId(convert::session_id(session_id)?);
        self.run(py, |m| m.delete(&sid)).map_err(errors::store)
    }

    /// The ids of `subject`'s active sessions (not revoked, not expired at `now_ms`).
    fn list_by_subject<'py>(
        &self,
        py: Python<'py>,
        subject: &Bound<'py, PyAny>,
        now_ms: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let subject = Subject(convert::subject(subject)?);
        let now_ms = convert::u64_arg(now_ms, "now_ms")?;
        let ids = self.run(py, |m| {
            let mut ids = vec![SessionId::default(); m.len()];
            let n = m.list_by_subject(&subject, &mut ids).unwrap_or(0);
            ids.truncate(n);
            ids.retain(|id| matches!(m.load(id), Ok(Some(r)) if now_ms < r.expires_at));
            ids
        });
        Ok(ids.iter().map(|id| py_bytes(py, &id.0)).collect())
    }

    /// Number of records held.
    fn __len__(&self, py: Python<'_>) -> usize {
        self.run(py, |m| m.len())
    }

    /// The capacity (`STORE_CAPACITY`).
    #[getter]
    fn capacity(&self) -> usize {
        STORE_CAPACITY
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "MemoryStore(len={}, capacity={STORE_CAPACITY})",
            self.__len__(py)
        )
    }
}
