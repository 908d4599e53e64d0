//! `Engine`: the core's request façade and deny list behind a mutex: the store-free halves
//! (`begin`/`finish`, `plan_login`, …) that `rolltoken.Sessions` drives over any store, and
//! whole requests in one call over a shared `MemoryStore`.
//!
//! Every call converts its arguments while holding the GIL, then releases the GIL for the
//! core call (the mutex is only ever taken without the GIL, so the two cannot deadlock), then
//! converts the answer.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use rolltoken::engine::Kind;
use rolltoken::keys::Keyring;
use rolltoken::policy;
use rolltoken::record::{self as core_record, RecordError, RevokeReason};
use rolltoken::sessions::{self as core, Pending, Request};
use rolltoken::store::{MemoryDenyList, Store, StoreError};
use rolltoken::token::{SessionId, Subject};

use crate::convert::{self, Client, Text, py_bytes};
use crate::errors;
use crate::keys::PyKeyring;
use crate::names;
use crate::outcome::Outcome;
use crate::policy::Policy;
use crate::record;
use crate::store::{MemoryStore, Shared, on_big_stack};

/// Entries of the deny list (cached mode's revoked sessions inside their fresh window).
pub(crate) const DENY_LIST_CAPACITY: usize = 1024;

/// The engine's store: a shared `MemoryStore`, or none (the caller drives its own store
/// through the halves; whole-request calls then answer `store_unavailable`).
struct EngineStore(Option<Shared>);

impl EngineStore {
    fn get(&mut self) -> Result<&mut Shared, StoreError> {
        self.0.as_mut().ok_or(StoreError::Unavailable)
    }
}

impl Store for EngineStore {
    fn load(&mut self, id: &SessionId) -> Result<Option<core_record::Record>, StoreError> {
        self.get()?.load(id)
    }

    fn save(
        &mut self,
        record: &core_record::Record,
        expected_version: Option<u64>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.get()?.save(record, expected_version, now_ms)
    }

    fn delete(&mut self, id: &SessionId) -> Result<(), StoreError> {
        self.get()?.delete(id)
    }

    fn list_by_subject(
        &mut self,
        subject: &Subject,
        out: &mut [SessionId],
    ) -> Result<usize, StoreError> {
        self.get()?.list_by_subject(subject, out)
    }
}

type Core = core::Sessions<Arc<Keyring>, EngineStore, MemoryDenyList<DENY_LIST_CAPACITY>>;

fn build(keys: Arc<Keyring>, policy: policy::Policy, store: Option<Shared>) -> PyResult<Box<Core>> {
    on_big_stack(move || {
        Core::new(keys, policy, EngineStore(store), MemoryDenyList::new()).map(Box::new)
    })?
    .map_err(errors::core)
}

/// One request's inputs, owned so that the GIL can be released and a `Step` can keep them.
struct Req {
    cookie: Option<Text>,
    kind: Kind,
    now_ms: u64,
    client: Client,
    new_session_id: [u8; 16],
}

impl Req {
    fn new(
        cookie: Option<Text>,
        kind: Kind,
        user_agent: Option<Text>,
        ip: Option<&str>,
        now_ms: Option<u64>,
        new_session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Req> {
        Ok(Req {
            cookie,
            kind,
            now_ms: convert::now(now_ms),
            client: Client::new(user_agent, ip)?,
            new_session_id: convert::new_session_id(new_session_id)?,
        })
    }

    fn cookie(&self) -> Option<&[u8]> {
        self.cookie.as_ref().map(Text::as_bytes)
    }

    fn with<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let binding = self.client.binding();
        f(&Request {
            cookie: self.cookie(),
            kind: self.kind,
            now_ms: self.now_ms,
            binding: &binding,
            new_session_id: self.new_session_id,
        })
    }
}

/// The core's decisions for one keyring and policy, with the deny list of cached mode (1024
/// entries), safe to share between threads. `rolltoken.Sessions` drives it; use it directly
/// only to write a driver of your own: the store-free halves `begin`/`finish`/`store_failed`,
/// `plan_login`, `logout_target`, `revoke_record`; and, over a `MemoryStore` given as
/// `store`, whole requests in one call (`handle`, `login`, `logout`, `revoke_all`; without a
/// store these answer `store_unavailable` / raise `StoreUnavailable`).
///
/// `now_ms` defaults to the OS clock and `new_session_id` to 16 bytes from the OS RNG;
/// `user_agent` is hashed as given (`str` as UTF-8; pass the raw header as `bytes` when you
/// have it); `ip` is the client address as text, or `None`.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "Engine")]
pub(crate) struct Engine {
    inner: Mutex<Box<Core>>,
    keyring: Py<PyKeyring>,
    store: Option<Py<MemoryStore>>,
    policy: policy::Policy,
}

impl Engine {
    fn lock(&self) -> MutexGuard<'_, Box<Core>> {
        // The core never panics; should a panic have poisoned the lock, the façade's state is
        // still consistent (every change is one store call), so go on.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Core) -> T + Send) -> T {
        py.detach(|| f(&mut self.lock()))
    }
}

fn kind_arg(kind: &Bound<'_, PyAny>) -> PyResult<Kind> {
    names::from_py::<Kind>(kind)
}

/// A store-free login, as `plan_login` returns it.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "LoginPlan")]
pub(crate) struct LoginPlan {
    outcome: Outcome,
    record: core_record::Record,
    retire: Option<SessionId>,
}

#[pymethods]
impl LoginPlan {
    /// The new session (rule `fresh`) and its first token.
    #[getter]
    fn outcome(&self) -> Outcome {
        self.outcome.clone()
    }
    /// The new session's record: insert it (fail if the id exists), then hand out the token.
    #[getter]
    fn record<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.record.encode())
    }
    /// An authenticated session the current cookie named: load it and revoke it with
    /// `revoke_record(record, RevokeReason.UPGRADED_AT_LOGIN)`; it may no longer exist.
    #[getter]
    fn retire<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.retire.map(|s| py_bytes(py, &s.0))
    }

    fn __repr__(&self) -> String {
        format!(
            "LoginPlan(log_id='{}', retire={})",
            rolltoken::log_id(&self.record.session_id),
            if self.retire.is_some() {
                "<session>"
            } else {
                "None"
            }
        )
    }
}

enum State {
    Done(Outcome),
    Load(Pending),
}

/// The first half of a request (`Sessions.begin`): either decided (`outcome`), or waiting
/// for the record of `session_id`; pass that (or `None`) to `Sessions.finish`. It keeps the
/// request, cookie included, so `repr` shows neither.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "Step")]
pub(crate) struct Step {
    req: Req,
    state: State,
}

impl Step {
    fn pending(&self) -> PyResult<&Pending> {
        match &self.state {
            State::Load(p) => Ok(p),
            State::Done(_) => Err(PyValueError::new_err(
                "this step is already decided: use step.outcome",
            )),
        }
    }
}

#[pymethods]
impl Step {
    /// True when `outcome` is the answer and no record is needed.
    #[getter]
    fn done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }
    /// The answer, when `done`.
    #[getter]
    fn outcome(&self) -> Option<Outcome> {
        match &self.state {
            State::Done(o) => Some(o.clone()),
            State::Load(_) => None,
        }
    }
    /// The session whose record to load, when not `done`.
    #[getter]
    fn session_id<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        match &self.state {
            State::Load(p) => Some(py_bytes(py, &p.session_id().0)),
            State::Done(_) => None,
        }
    }
    /// The log id of that session, when not `done`.
    #[getter]
    fn log_id(&self) -> Option<String> {
        match &self.state {
            State::Load(p) => Some(rolltoken::log_id(&p.session_id()).to_string()),
            State::Done(_) => None,
        }
    }
    /// The request's time (ms): pass it to your store for expiry bookkeeping.
    #[getter]
    fn now_ms(&self) -> u64 {
        self.req.now_ms
    }

    fn __repr__(&self) -> String {
        match &self.state {
            State::Done(o) => format!("Step(done=True, rule='{}')", o.rule_name()),
            State::Load(p) => format!(
                "Step(done=False, log_id='{}')",
                rolltoken::log_id(&p.session_id())
            ),
        }
    }
}

/// The second half of a request (`Sessions.finish`):
///
/// * `load_primary`: the token is ahead of this copy of the store; load the record from the
///   primary and call `finish` again with `from_primary=True` (`outcome` is `None`);
/// * `save` is not `None`: store it if the stored record's version is still
///   `expected_version` (compare-and-swap), then answer `outcome`; on a conflict, load again
///   from the primary and call `finish` again with `from_primary=True` (at most
///   `MAX_ATTEMPTS` times in all, then `store_failed(step, conflict=True)`); on a store
///   failure, `store_failed(step, False)`;
/// * otherwise `outcome` is the answer and nothing is written.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "Finish")]
pub(crate) struct Finish {
    outcome: Option<Outcome>,
    save: Option<core_record::Record>,
    expected_version: Option<u64>,
}

#[pymethods]
impl Finish {
    /// The answer (once saved, when `save` is set); `None` when `load_primary`.
    #[getter]
    fn outcome(&self) -> Option<Outcome> {
        self.outcome.clone()
    }
    /// The record to save (encoded), or `None`.
    #[getter]
    fn save<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.save.map(|r| py_bytes(py, &r.encode()))
    }
    /// The write version the stored record must still have for `save`.
    #[getter]
    fn expected_version(&self) -> Option<u64> {
        self.expected_version
    }
    /// Reload from the primary and call `finish` again with `from_primary=True`.
    #[getter]
    fn load_primary(&self) -> bool {
        self.outcome.is_none()
    }

    fn __repr__(&self) -> String {
        match (&self.outcome, &self.expected_version) {
            (None, _) => "Finish(load_primary=True)".to_owned(),
            (Some(o), Some(v)) => format!(
                "Finish(rule='{}', save=<record>, expected_version={v})",
                o.rule_name()
            ),
            (Some(o), None) => format!("Finish(rule='{}', save=None)", o.rule_name()),
        }
    }
}

/// What a caller's store returned: nothing, a `Record`, or bytes (damaged bytes are handed to
/// the core as a corrupt record, which ends the session).
fn loaded(
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<Result<Option<core_record::Record>, StoreError>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Ok(None));
    };
    if let Ok(r) = obj.cast::<record::Record>() {
        return Ok(Ok(Some(r.get().0)));
    }
    let bytes: PyBackedBytes = obj
        .extract()
        .map_err(|_| PyTypeError::new_err("a record must be bytes, a Record or None"))?;
    if bytes.len() != core_record::RECORD_LEN {
        return Err(errors::record(RecordError::WrongLength));
    }
    Ok(core_record::Record::decode(&bytes)
        .map(Some)
        .map_err(StoreError::Corrupt))
}

#[pymethods]
impl Engine {
    /// An engine under `keyring` and `policy` (default: `Policy.default()`), deciding whole
    /// requests over `store` when given.
    #[new]
    #[pyo3(signature = (keyring, policy = None, *, store = None))]
    fn new(
        py: Python<'_>,
        keyring: Bound<'_, PyKeyring>,
        policy: Option<PyRef<'_, Policy>>,
        store: Option<Bound<'_, MemoryStore>>,
    ) -> PyResult<Self> {
        let policy = policy.map_or_else(policy::Policy::default, |p| p.0);
        let keys = Arc::clone(&keyring.get().keys);
        let shared = store.as_ref().map(|s| s.get().shared.clone());
        let inner = py.detach(|| build(keys, policy, shared))?;
        Ok(Engine {
            inner: Mutex::new(inner),
            keyring: keyring.unbind(),
            store: store.map(Bound::unbind),
            policy,
        })
    }

    /// The `MemoryStore` whole requests are decided over, or `None`.
    #[getter]
    fn store(&self, py: Python<'_>) -> Option<Py<MemoryStore>> {
        self.store.as_ref().map(|s| s.clone_ref(py))
    }

    /// The keyring.
    #[getter]
    fn keyring(&self, py: Python<'_>) -> Py<PyKeyring> {
        self.keyring.clone_ref(py)
    }

    /// The policy.
    #[getter]
    fn policy(&self) -> Policy {
        Policy(self.policy)
    }

    /// Decides one request: `cookie` is the session cookie's value (`None` without one),
    /// `kind` whether it advances (a page load) or reads (an API call). Never raises for
    /// anything the cookie holds: every answer is an `Outcome` naming its rule.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (cookie, kind, *, user_agent = None, ip = None, now_ms = None, new_session_id = None))]
    fn handle(
        &self,
        py: Python<'_>,
        cookie: Option<Text>,
        kind: &Bound<'_, PyAny>,
        user_agent: Option<Text>,
        ip: Option<&str>,
        now_ms: Option<u64>,
        new_session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Outcome> {
        let req = Req::new(
            cookie,
            kind_arg(kind)?,
            user_agent,
            ip,
            now_ms,
            new_session_id,
        )?;
        let out = self.run(py, |s| req.with(|r| s.handle(r)));
        Ok(Outcome::new(out, req.now_ms))
    }

    /// The half of a request that needs no store; see `Step`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (cookie, kind, *, user_agent = None, ip = None, now_ms = None, new_session_id = None))]
    fn begin(
        &self,
        py: Python<'_>,
        cookie: Option<Text>,
        kind: &Bound<'_, PyAny>,
        user_agent: Option<Text>,
        ip: Option<&str>,
        now_ms: Option<u64>,
        new_session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Step> {
        let req = Req::new(
            cookie,
            kind_arg(kind)?,
            user_agent,
            ip,
            now_ms,
            new_session_id,
        )?;
        let step = self.run(py, |s| req.with(|r| s.begin(r)));
        let state = match step {
            core::Step::Done(o) => State::Done(Outcome::new(o, req.now_ms)),
            core::Step::Load(p) => State::Load(p),
        };
        Ok(Step { req, state })
    }

    /// The half of a request that needs its record: `record` is what your store holds for
    /// `step.session_id` (bytes, a `Record`, or `None` when absent); see `Finish`.
    #[pyo3(signature = (step, record, *, from_primary = false))]
    fn finish(
        &self,
        py: Python<'_>,
        step: PyRef<'_, Step>,
        record: Option<&Bound<'_, PyAny>>,
        from_primary: bool,
    ) -> PyResult<Finish> {
        let pending = *step.pending()?;
        let loaded = loaded(record)?;
        let req = &step.req;
        let finish = self.run(py, |s| {
            req.with(|r| s.finish(&pending, r, loaded, from_primary))
        });
        Ok(match finish {
            core::Finish::Done(o) => Finish {
                outcome: Some(Outcome::new(o, req.now_ms)),
                save: None,
                expected_version: None,
            },
            core::Finish::Save {
                record,
                expected_version,
                outcome,
            } => Finish {
                outcome: Some(Outcome::new(outcome, req.now_ms)),
                save: Some(record),
                expected_version: Some(expected_version),
            },
            core::Finish::LoadPrimary => Finish {
                outcome: None,
                save: None,
                expected_version: None,
            },
        })
    }

    /// The answer when your store failed for `step`: `busy` after too many conflicts
    /// (`conflict=True`), else `store_unavailable`. Neither logs anyone out.
    fn store_failed(
        &self,
        py: Python<'_>,
        step: PyRef<'_, Step>,
        conflict: bool,
    ) -> PyResult<Outcome> {
        let pending = *step.pending()?;
        let error = if conflict {
            StoreError::Conflict
        } else {
            StoreError::Unavailable
        };
        let req = &step.req;
        let out = self.run(py, |s| req.with(|r| s.store_failed(&pending, r, error)));
        Ok(Outcome::new(out, req.now_ms))
    }

    /// Starts an authenticated session for `subject` (16 bytes, or an int user id). When
    /// `current_cookie` holds a valid token, that session becomes the parent and is retired
    /// (an authenticated one revoked as `upgraded_at_login`). Returns rule `fresh` with the
    /// new token. Raises `ValueError` for the zero (anonymous) subject, `Conflict` when the id
    /// exists, `StoreUnavailable` when the store is full.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (subject, *, current_cookie = None, user_agent = None, ip = None, now_ms = None, new_session_id = None))]
    fn login(
        &self,
        py: Python<'_>,
        subject: &Bound<'_, PyAny>,
        current_cookie: Option<Text>,
        user_agent: Option<Text>,
        ip: Option<&str>,
        now_ms: Option<u64>,
        new_session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Outcome> {
        let subject = convert::subject(subject)?;
        let req = Req::new(
            current_cookie,
            Kind::Advance,
            user_agent,
            ip,
            now_ms,
            new_session_id,
        )?;
        let login = self.run(py, |s| {
            let binding = req.client.binding();
            s.login(
                req.cookie(),
                req.new_session_id,
                subject,
                req.now_ms,
                &binding,
            )
        });
        login
            .map(|l| Outcome::login(l, req.now_ms))
            .map_err(errors::core)
    }

    /// The store-free half of `login`: what to insert and what to retire; see `LoginPlan`.
    /// An anonymous current session is retired here (deny list).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (subject, *, current_cookie = None, user_agent = None, ip = None, now_ms = None, new_session_id = None))]
    fn plan_login(
        &self,
        py: Python<'_>,
        subject: &Bound<'_, PyAny>,
        current_cookie: Option<Text>,
        user_agent: Option<Text>,
        ip: Option<&str>,
        now_ms: Option<u64>,
        new_session_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LoginPlan> {
        let subject = convert::subject(subject)?;
        let req = Req::new(
            current_cookie,
            Kind::Advance,
            user_agent,
            ip,
            now_ms,
            new_session_id,
        )?;
        let plan = self.run(py, |s| {
            let binding = req.client.binding();
            s.plan_login(
                req.cookie(),
                req.new_session_id,
                subject,
                req.now_ms,
                &binding,
            )
        });
        let plan = plan.map_err(errors::core)?;
        Ok(LoginPlan {
            outcome: Outcome::login(plan.login, req.now_ms),
            record: plan.record,
            retire: plan.retire,
        })
    }

    /// Ends the session `cookie` names, for every holder. Returns its log id, or `None` when
    /// the cookie names no active stored session; clear the cookie either way. Raises
    /// `StoreUnavailable` or `Conflict` (contention outlasted the retries).
    #[pyo3(signature = (cookie, *, now_ms = None))]
    fn logout(
        &self,
        py: Python<'_>,
        cookie: Text,
        now_ms: Option<u64>,
    ) -> PyResult<Option<String>> {
        let now = convert::now(now_ms);
        let found = self.run(py, |s| s.logout(cookie.as_bytes(), now));
        Ok(found.map_err(errors::core)?.map(|l| l.to_string()))
    }

    /// The store-free half of `logout`: the session id to revoke with `revoke_record(...,
    /// RevokeReason.LOGOUT)`, or `None` (an anonymous session is retired here).
    #[pyo3(signature = (cookie, *, now_ms = None))]
    fn logout_target<'py>(
        &self,
        py: Python<'py>,
        cookie: Text,
        now_ms: Option<u64>,
    ) -> Option<Bound<'py, PyBytes>> {
        let now = convert::now(now_ms);
        let target = self.run(py, |s| s.logout_target(cookie.as_bytes(), now));
        target.map(|sid| py_bytes(py, &sid.0))
    }

    /// Revokes every active session of `subject` (e.g. after a password change); returns how
    /// many were revoked.
    #[pyo3(signature = (subject, *, now_ms = None))]
    fn revoke_all(
        &self,
        py: Python<'_>,
        subject: &Bound<'_, PyAny>,
        now_ms: Option<u64>,
    ) -> PyResult<usize> {
        let subject = Subject(convert::subject(subject)?);
        let now = convert::now(now_ms);
        self.run(py, |s| s.revoke_all(&subject, now))
            .map_err(errors::core)
    }

    /// The store-free revocation: the record to save (compare-and-swap on the given record's
    /// version; on a conflict reload and call again), or `None` when it is already revoked (the
    /// first reason is kept). In cached mode the session goes on the deny list now.
    #[pyo3(signature = (record, reason, *, now_ms = None))]
    fn revoke_record<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        reason: &Bound<'py, PyAny>,
        now_ms: Option<u64>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let record = record::from_arg(record)?;
        let reason = names::from_py::<RevokeReason>(reason)?;
        let now = convert::now(now_ms);
        let next = self.run(py, |s| s.revoke_record(&record, reason, now));
        Ok(next.map(|r| py_bytes(py, &r.encode())))
    }

    /// In cached mode, until when every process must refuse the session of `record` (a
    /// `Record` or its bytes) revoked at `now_ms`: publish it with the revocation and feed it
    /// to `deny` everywhere. `None` in strict mode (nothing is cached).
    #[pyo3(signature = (record, *, now_ms = None))]
    fn deny_until(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        now_ms: Option<u64>,
    ) -> PyResult<Option<u64>> {
        let record = record::from_arg(record)?;
        let now = convert::now(now_ms);
        Ok(self.run(py, |s| s.deny_until(&record, now)))
    }

    /// Refuses `session_id` in cached mode until `until_ms`: how revocations made by other
    /// processes reach this one inside the fresh window. Publish `max(now, the record's
    /// last_advance_at) + policy.fresh_ms + MAX_CLOCK_SKEW_MS` with each revocation and feed
    /// it to every process. A full deny list drops nothing: the cache is bypassed until
    /// `until_ms` instead.
    #[pyo3(signature = (session_id, until_ms, *, now_ms = None))]
    fn deny(
        &self,
        py: Python<'_>,
        session_id: &Bound<'_, PyAny>,
        until_ms: u64,
        now_ms: Option<u64>,
    ) -> PyResult<()> {
        let sid = SessionId(convert::session_id(session_id)?);
        let now = convert::now(now_ms);
        self.run(py, |s| s.deny(&sid, until_ms, now));
        Ok(())
    }

    /// True while cached mode falls back to the store because the deny list was full.
    #[pyo3(signature = (now_ms = None))]
    fn is_degraded(&self, py: Python<'_>, now_ms: Option<u64>) -> bool {
        let now = convert::now(now_ms);
        self.run(py, |s| s.is_degraded(now))
    }

    fn __repr__(&self) -> String {
        format!(
            "Engine(mode='{}', form='{}', key_ids={:?}, store={})",
            self.policy.mode.name(),
            self.policy.form.name(),
            self.keyring.get().ids(),
            if self.store.is_some() {
                "MemoryStore"
            } else {
                "None"
            },
        )
    }
}
