//! What the façade and the engine answer: `Outcome`, `SessionView` and `Decision`.
//!
//! Tokens are kept in the core's zeroizing `TokenBuf` until Python asks for them; no `repr`
//! prints one.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rolltoken::engine;
use rolltoken::keys::BindingMatch;
use rolltoken::record::Record;
use rolltoken::sessions::{self, Login};
use rolltoken::token::{LogId, TokenBuf};
use rolltoken::verdict::Verdict;

use crate::convert::py_bytes;
use crate::names;

/// A verdict's details, flattened: `steps` (behind for `concurrent_in_grace`, ahead for
/// `store_behind`), `presented` and `current` (`reuse`), and `detail`, the name of a
/// revoke reason (`revoked`), an expiry (`expired`) or a token error (`malformed`).
#[derive(Clone, Copy, Default)]
struct Details {
    steps: Option<u64>,
    presented: Option<u64>,
    current: Option<u64>,
    detail: Option<&'static str>,
}

fn details(v: &Verdict) -> Details {
    let none = Details::default();
    match *v {
        Verdict::ConcurrentInGrace { behind } => Details {
            steps: Some(behind),
            ..none
        },
        Verdict::StoreBehind { ahead } => Details {
            steps: Some(ahead),
            ..none
        },
        Verdict::Reuse { presented, current } => Details {
            presented,
            current: Some(current),
            ..none
        },
        Verdict::Revoked(reason) => Details {
            detail: Some(reason.name()),
            ..none
        },
        Verdict::Expired(expiry) => Details {
            detail: Some(expiry.name()),
            ..none
        },
        Verdict::Malformed(error) => Details {
            detail: Some(error.name()),
            ..none
        },
        _ => none,
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn token_repr(t: Option<&TokenBuf>) -> &'static str {
    if t.is_some() { "<redacted>" } else { "None" }
}

/// What the application may know about the session of a request that proceeds.
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "SessionView")]
#[derive(Clone, Copy)]
pub(crate) struct SessionView {
    view: sessions::SessionView,
    now_ms: u64,
}

#[pymethods]
impl SessionView {
    /// The session id (log `log_id` instead: the id is what tokens carry).
    #[getter]
    fn session_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.view.session_id.0)
    }
    /// The session's log id: 16 hex characters, safe to log.
    #[getter]
    fn log_id(&self) -> String {
        self.view.log_id.to_string()
    }
    /// The user: 16 bytes, all zero for anonymous sessions. An int subject `n` given to
    /// `login` reads back as `int.from_bytes(subject, "big") == n`.
    #[getter]
    fn subject<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        py_bytes(py, &self.view.subject.0)
    }
    /// True once a subject has logged in.
    #[getter]
    fn authenticated(&self) -> bool {
        self.view.authenticated
    }
    /// The counter of the newest token (the one just issued, if any).
    #[getter]
    fn counter(&self) -> u64 {
        self.view.counter
    }
    /// The anonymous session this one replaced at login (unknown on the cache path).
    #[getter]
    fn parent<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.view.parent.map(|p| py_bytes(py, &p.0))
    }
    /// Absolute expiry (ms since the Unix epoch).
    #[getter]
    fn expires_at(&self) -> u64 {
        self.view.expires_at
    }
    /// Seconds from the request until expiry, rounded up: the cookie's `Max-Age`.
    #[getter]
    fn max_age_secs(&self) -> u64 {
        self.view.max_age_secs(self.now_ms)
    }

    fn __repr__(&self) -> String {
        format!(
            "SessionView(log_id='{}', authenticated={}, counter={}, expires_at={})",
            self.view.log_id,
            py_bool(self.view.authenticated),
            self.view.counter,
            self.view.expires_at
        )
    }
}

/// The answer to one request: serve it as `view` (`proceed`) or refuse it; set `token` as
/// the cookie when it is not `None`; clear the cookie when `clear_cookie`. Log `rule` and
/// `log_id`, never the token (`repr` leaves it out).
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "Outcome")]
#[derive(Clone)]
pub(crate) struct Outcome {
    verdict: Verdict,
    clear_cookie: bool,
    token: Option<TokenBuf>,
    binding: BindingMatch,
    view: Option<sessions::SessionView>,
    log_id: Option<LogId>,
    at_ms: u64,
}

impl Outcome {
    /// The façade's answer to a request decided at `now_ms`.
    pub(crate) fn new(o: sessions::Outcome, now_ms: u64) -> Outcome {
        match o {
            sessions::Outcome::Proceed {
                view,
                token,
                verdict,
                binding,
            } => Outcome {
                verdict,
                clear_cookie: false,
                token,
                binding,
                view: Some(view),
                log_id: Some(view.log_id),
                at_ms: now_ms,
            },
            sessions::Outcome::Reject {
                verdict,
                clear_cookie,
                event,
            } => Outcome {
                verdict,
                clear_cookie,
                token: None,
                binding: event.binding,
                view: None,
                log_id: event.log_id,
                at_ms: event.at_ms,
            },
        }
    }

    /// The rule's name, for `repr`s.
    pub(crate) fn rule_name(&self) -> &'static str {
        self.verdict.rule().name()
    }

    /// A login: the new session, rule `fresh`, with its first token (as the C ABI reports it).
    pub(crate) fn login(login: Login, now_ms: u64) -> Outcome {
        Outcome {
            verdict: Verdict::Fresh,
            clear_cookie: false,
            token: Some(login.token),
            binding: BindingMatch::FULL,
            view: Some(login.view),
            log_id: Some(login.view.log_id),
            at_ms: now_ms,
        }
    }
}

#[pymethods]
impl Outcome {
    /// Serve the request as this session (else refuse it).
    #[getter]
    fn proceed(&self) -> bool {
        self.verdict.proceeds()
    }
    /// The rule that decided.
    #[getter]
    fn rule<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.verdict.rule())
    }
    /// Refused, and the response must clear the cookie (never for races, contention,
    /// outages or binding mismatches).
    #[getter]
    fn clear_cookie(&self) -> bool {
        self.clear_cookie
    }
    /// The token to set as the cookie; `None`: leave the cookie as it is.
    #[getter]
    fn token(&self) -> Option<String> {
        self.token.as_ref().map(|t| t.as_str().to_owned())
    }
    /// The request's user agent matched the session's last advancing request (or the token,
    /// on the cache path).
    #[getter]
    fn binding_user_agent(&self) -> bool {
        self.binding.user_agent
    }
    /// The request's address prefix matched.
    #[getter]
    fn binding_ip(&self) -> bool {
        self.binding.ip
    }
    /// Steps behind (`concurrent_in_grace`) or ahead (`store_behind`); else `None`.
    #[getter]
    fn steps(&self) -> Option<u64> {
        details(&self.verdict).steps
    }
    /// `reuse`: the presented counter (`None` for a compact token that matched none).
    #[getter]
    fn presented(&self) -> Option<u64> {
        details(&self.verdict).presented
    }
    /// `reuse`: the session's current counter.
    #[getter]
    fn current(&self) -> Option<u64> {
        details(&self.verdict).current
    }
    /// `revoked`: the `RevokeReason` value; `expired`: the `Expiry` value; `malformed`: the
    /// token error (as `InvalidToken.reason`); else `None`.
    #[getter]
    fn detail(&self) -> Option<&'static str> {
        details(&self.verdict).detail
    }
    /// The session, when the request proceeds.
    #[getter]
    fn view(&self) -> Option<SessionView> {
        self.view.map(|view| SessionView {
            view,
            now_ms: self.at_ms,
        })
    }
    /// The session's log id, refusals included (`None` when no session is known).
    #[getter]
    fn log_id(&self) -> Option<String> {
        self.log_id.map(|l| l.to_string())
    }
    /// When the request was decided (ms since the Unix epoch).
    #[getter]
    fn at_ms(&self) -> u64 {
        self.at_ms
    }

    fn __repr__(&self) -> String {
        format!(
            "Outcome(rule='{}', proceed={}, log_id={}, token={}, clear_cookie={})",
            self.verdict.rule().name(),
            py_bool(self.verdict.proceeds()),
            self.log_id
                .map_or_else(|| "None".to_owned(), |l| format!("'{l}'")),
            token_repr(self.token.as_ref()),
            py_bool(self.clear_cookie)
        )
    }
}

/// What the pure engine decided for one request (`Keyring.decide`).
#[pyclass(frozen, module = "rolltoken._rolltoken", name = "Decision")]
pub(crate) struct Decision {
    verdict: Verdict,
    binding: BindingMatch,
    save: Option<Record>,
    token: Option<TokenBuf>,
}

impl Decision {
    pub(crate) fn new(d: engine::Decision) -> Decision {
        Decision {
            verdict: d.verdict,
            binding: d.binding,
            save: d.save,
            token: d.token,
        }
    }
}

#[pymethods]
impl Decision {
    /// The request may proceed as the session.
    #[getter]
    fn proceed(&self) -> bool {
        self.verdict.proceeds()
    }
    /// The rule that applied.
    #[getter]
    fn rule<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.verdict.rule())
    }
    /// The response must clear the cookie.
    #[getter]
    fn clear_cookie(&self) -> bool {
        self.verdict.clears_cookie()
    }
    /// The token to set as the cookie, or `None`.
    #[getter]
    fn token(&self) -> Option<String> {
        self.token.as_ref().map(|t| t.as_str().to_owned())
    }
    /// The record to save (encoded), compare-and-swap on the loaded record's version; `None`:
    /// nothing changed.
    #[getter]
    fn save<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.save.map(|r| py_bytes(py, &r.encode()))
    }
    #[getter]
    fn binding_user_agent(&self) -> bool {
        self.binding.user_agent
    }
    #[getter]
    fn binding_ip(&self) -> bool {
        self.binding.ip
    }
    /// As `Outcome.steps`.
    #[getter]
    fn steps(&self) -> Option<u64> {
        details(&self.verdict).steps
    }
    /// As `Outcome.presented`.
    #[getter]
    fn presented(&self) -> Option<u64> {
        details(&self.verdict).presented
    }
    /// As `Outcome.current`.
    #[getter]
    fn current(&self) -> Option<u64> {
        details(&self.verdict).current
    }
    /// As `Outcome.detail`.
    #[getter]
    fn detail(&self) -> Option<&'static str> {
        details(&self.verdict).detail
    }

    fn __repr__(&self) -> String {
        format!(
            "Decision(rule='{}', proceed={}, token={}, save={})",
            self.verdict.rule().name(),
            py_bool(self.verdict.proceeds()),
            token_repr(self.token.as_ref()),
            if self.save.is_some() {
                "<record>"
            } else {
                "None"
            }
        )
    }
}
