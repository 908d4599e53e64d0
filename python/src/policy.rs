//! `Grace` and `Policy`: every field of the core's `policy::Policy`, validated by the core.

use pyo3::prelude::*;
use rolltoken::policy::{self, BindingPolicy, Grace as CoreGrace, Mode};
use rolltoken::token::Form;

use crate::errors;
use crate::names;

/// How long stale tokens are accepted after the chain moves: `Grace.fixed(ms)` or
/// `Grace.adaptive(min_ms, max_ms)` (twice the lateness the session has shown, clamped).
#[pyclass(frozen, eq, module = "rolltoken._rolltoken", name = "Grace")]
#[derive(PartialEq)]
pub(crate) struct Grace(pub(crate) CoreGrace);

#[pymethods]
impl Grace {
    /// A fixed window of `ms` milliseconds.
    #[staticmethod]
    fn fixed(ms: u32) -> Self {
        Grace(CoreGrace::Fixed { ms })
    }

    /// A window of twice the session's observed lateness, clamped to `min_ms..=max_ms`.
    #[staticmethod]
    fn adaptive(min_ms: u32, max_ms: u32) -> Self {
        Grace(CoreGrace::Adaptive { min_ms, max_ms })
    }

    /// True for an adaptive window.
    #[getter]
    fn is_adaptive(&self) -> bool {
        matches!(self.0, CoreGrace::Adaptive { .. })
    }

    /// The fixed window (ms); `None` when adaptive.
    #[getter]
    fn ms(&self) -> Option<u32> {
        match self.0 {
            CoreGrace::Fixed { ms } => Some(ms),
            CoreGrace::Adaptive { .. } => None,
        }
    }

    /// The adaptive minimum (ms); `None` when fixed.
    #[getter]
    fn min_ms(&self) -> Option<u32> {
        match self.0 {
            CoreGrace::Adaptive { min_ms, .. } => Some(min_ms),
            CoreGrace::Fixed { .. } => None,
        }
    }

    /// The adaptive maximum (ms); `None` when fixed.
    #[getter]
    fn max_ms(&self) -> Option<u32> {
        match self.0 {
            CoreGrace::Adaptive { max_ms, .. } => Some(max_ms),
            CoreGrace::Fixed { .. } => None,
        }
    }

    fn __repr__(&self) -> String {
        repr_grace(&self.0)
    }
}

fn repr_grace(g: &CoreGrace) -> String {
    match *g {
        CoreGrace::Fixed { ms } => format!("Grace.fixed({ms})"),
        CoreGrace::Adaptive { min_ms, max_ms } => format!("Grace.adaptive({min_ms}, {max_ms})"),
    }
}

/// Every tunable of the rolling rules and the façade. Build one with keyword arguments
/// (unset fields take the defaults of `Policy.default()`), or start from `Policy.default()` /
/// `Policy.cached()` and `replace(...)` fields. Raises `ConfigurationError` when the core's
/// `Policy::validate` refuses the combination, and `ValueError` for unknown enum names.
#[pyclass(frozen, eq, module = "rolltoken._rolltoken", name = "Policy")]
#[derive(PartialEq)]
pub(crate) struct Policy(pub(crate) policy::Policy);

/// The fields as optional keyword arguments: `None` keeps the base value.
struct Changes<'py> {
    mode: Option<Bound<'py, PyAny>>,
    form: Option<Bound<'py, PyAny>>,
    anonymous: Option<bool>,
    grace: Option<PyRef<'py, Grace>>,
    span_cap: Option<u8>,
    answer_cap: Option<u8>,
    reissue_one_behind: Option<bool>,
    jar_behind_ms: Option<u64>,
    binding: Option<Bound<'py, PyAny>>,
    fresh_ms: Option<u64>,
    session_lifetime_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    anonymous_lifetime_ms: Option<u64>,
}

impl Changes<'_> {
    fn apply(self, base: policy::Policy) -> PyResult<Policy> {
        let mut p = base;
        if let Some(v) = names::opt_from_py::<Mode>(self.mode.as_ref())? {
            p.mode = v;
        }
        if let Some(v) = names::opt_from_py::<Form>(self.form.as_ref())? {
            p.form = v;
        }
        if let Some(v) = names::opt_from_py::<BindingPolicy>(self.binding.as_ref())? {
            p.binding = v;
        }
        if let Some(g) = self.grace {
            p.grace = g.0;
        }
        let set = |slot: &mut u64, v: Option<u64>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut p.jar_behind_ms, self.jar_behind_ms);
        set(&mut p.fresh_ms, self.fresh_ms);
        set(&mut p.session_lifetime_ms, self.session_lifetime_ms);
        set(&mut p.idle_timeout_ms, self.idle_timeout_ms);
        set(&mut p.anonymous_lifetime_ms, self.anonymous_lifetime_ms);
        p.anonymous = self.anonymous.unwrap_or(p.anonymous);
        p.span_cap = self.span_cap.unwrap_or(p.span_cap);
        p.answer_cap = self.answer_cap.unwrap_or(p.answer_cap);
        p.reissue_one_behind = self.reissue_one_behind.unwrap_or(p.reissue_one_behind);
        p.validate().map_err(|e| errors::core(e.into()))?;
        Ok(Policy(p))
    }
}

#[pymethods]
impl Policy {
    #[new]
    #[pyo3(signature = (*, mode = None, form = None, anonymous = None, grace = None,
        span_cap = None, answer_cap = None, reissue_one_behind = None, jar_behind_ms = None,
        binding = None, fresh_ms = None, session_lifetime_ms = None, idle_timeout_ms = None,
        anonymous_lifetime_ms = None))]
    #[allow(clippy::too_many_arguments)]
    fn new<'py>(
        mode: Option<Bound<'py, PyAny>>,
        form: Option<Bound<'py, PyAny>>,
        anonymous: Option<bool>,
        grace: Option<PyRef<'py, Grace>>,
        span_cap: Option<u8>,
        answer_cap: Option<u8>,
        reissue_one_behind: Option<bool>,
        jar_behind_ms: Option<u64>,
        binding: Option<Bound<'py, PyAny>>,
        fresh_ms: Option<u64>,
        session_lifetime_ms: Option<u64>,
        idle_timeout_ms: Option<u64>,
        anonymous_lifetime_ms: Option<u64>,
    ) -> PyResult<Self> {
        Changes {
            mode,
            form,
            anonymous,
            grace,
            span_cap,
            answer_cap,
            reissue_one_behind,
            jar_behind_ms,
            binding,
            fresh_ms,
            session_lifetime_ms,
            idle_timeout_ms,
            anonymous_lifetime_ms,
        }
        .apply(policy::Policy::default())
    }

    /// A copy with the given fields changed (validated again).
    #[pyo3(signature = (*, mode = None, form = None, anonymous = None, grace = None,
        span_cap = None, answer_cap = None, reissue_one_behind = None, jar_behind_ms = None,
        binding = None, fresh_ms = None, session_lifetime_ms = None, idle_timeout_ms = None,
        anonymous_lifetime_ms = None))]
    #[allow(clippy::too_many_arguments)]
    fn replace<'py>(
        &self,
        mode: Option<Bound<'py, PyAny>>,
        form: Option<Bound<'py, PyAny>>,
        anonymous: Option<bool>,
        grace: Option<PyRef<'py, Grace>>,
        span_cap: Option<u8>,
        answer_cap: Option<u8>,
        reissue_one_behind: Option<bool>,
        jar_behind_ms: Option<u64>,
        binding: Option<Bound<'py, PyAny>>,
        fresh_ms: Option<u64>,
        session_lifetime_ms: Option<u64>,
        idle_timeout_ms: Option<u64>,
        anonymous_lifetime_ms: Option<u64>,
    ) -> PyResult<Self> {
        Changes {
            mode,
            form,
            anonymous,
            grace,
            span_cap,
            answer_cap,
            reissue_one_behind,
            jar_behind_ms,
            binding,
            fresh_ms,
            session_lifetime_ms,
            idle_timeout_ms,
            anonymous_lifetime_ms,
        }
        .apply(self.0)
    }

    /// The defaults: strict mode, compact tokens, anonymous sessions, 10 s fixed grace, span
    /// cap 8, answer cap 16, rule 3 on (30 min), binding as evidence, 15 min fresh window,
    /// 12 h lifetime, 30 min idle timeout, 24 h anonymous lifetime.
    #[staticmethod]
    fn default() -> Self {
        Policy(policy::Policy::default())
    }

    /// The defaults in cached mode: full tokens trusted without the store for 15 minutes.
    #[staticmethod]
    fn cached() -> Self {
        Policy(policy::Policy::cached())
    }

    #[getter]
    fn mode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.0.mode)
    }
    #[getter]
    fn form<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.0.form)
    }
    #[getter]
    fn anonymous(&self) -> bool {
        self.0.anonymous
    }
    #[getter]
    fn grace(&self) -> Grace {
        Grace(self.0.grace)
    }
    #[getter]
    fn span_cap(&self) -> u8 {
        self.0.span_cap
    }
    #[getter]
    fn answer_cap(&self) -> u8 {
        self.0.answer_cap
    }
    #[getter]
    fn reissue_one_behind(&self) -> bool {
        self.0.reissue_one_behind
    }
    #[getter]
    fn jar_behind_ms(&self) -> u64 {
        self.0.jar_behind_ms
    }
    #[getter]
    fn binding<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.0.binding)
    }
    #[getter]
    fn fresh_ms(&self) -> u64 {
        self.0.fresh_ms
    }
    #[getter]
    fn session_lifetime_ms(&self) -> u64 {
        self.0.session_lifetime_ms
    }
    #[getter]
    fn idle_timeout_ms(&self) -> u64 {
        self.0.idle_timeout_ms
    }
    #[getter]
    fn anonymous_lifetime_ms(&self) -> u64 {
        self.0.anonymous_lifetime_ms
    }

    fn __repr__(&self) -> String {
        let p = &self.0;
        let py_bool = |b: bool| if b { "True" } else { "False" };
        format!(
            "Policy(mode='{}', form='{}', anonymous={}, grace={}, span_cap={}, answer_cap={}, \
             reissue_one_behind={}, jar_behind_ms={}, binding='{}', fresh_ms={}, \
             session_lifetime_ms={}, idle_timeout_ms={}, anonymous_lifetime_ms={})",
            p.mode.name(),
            p.form.name(),
            py_bool(p.anonymous),
            repr_grace(&p.grace),
            p.span_cap,
            p.answer_cap,
            py_bool(p.reissue_one_behind),
            p.jar_behind_ms,
            p.binding.name(),
            p.fresh_ms,
            p.session_lifetime_ms,
            p.idle_timeout_ms,
            p.anonymous_lifetime_ms
        )
    }
}
