//! The Python enums (`Rule`, `Kind`, `Form`, …): `str`-valued `enum.Enum` classes built at
//! import time from the core's `ALL` and `name()`, so every name lives once, in the core.
//!
//! Arguments accept a member or its plain string value (members are `str` instances).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyType};
use rolltoken::cookie::SameSite;
use rolltoken::engine::Kind;
use rolltoken::policy::{BindingPolicy, Mode};
use rolltoken::record::RevokeReason;
use rolltoken::token::Form;
use rolltoken::verdict::{Expiry, Rule};

use crate::MODULE;

/// A fieldless core enum exposed to Python as a `str` enum.
pub(crate) trait Named: Copy + PartialEq + 'static {
    /// The Python class name.
    const CLASS: &'static str;
    /// The Python class docstring.
    const DOC: &'static str;
    /// Every variant, in the core's order.
    fn all() -> &'static [Self];
    /// The stable name: the member's value.
    fn name(self) -> &'static str;
    /// Where the built class and its members are kept.
    fn cache() -> &'static PyOnceLock<EnumClass>;
}

/// A built enum class and its members, in the order of [`Named::all`].
pub(crate) struct EnumClass {
    class: Py<PyType>,
    members: Vec<Py<PyAny>>,
}

macro_rules! named {
    ($ty:ty, $class:literal, $doc:literal, $all:expr, $name:expr) => {
        impl Named for $ty {
            const CLASS: &'static str = $class;
            const DOC: &'static str = $doc;
            fn all() -> &'static [Self] {
                &$all
            }
            fn name(self) -> &'static str {
                ($name)(self)
            }
            fn cache() -> &'static PyOnceLock<EnumClass> {
                static CACHE: PyOnceLock<EnumClass> = PyOnceLock::new();
                &CACHE
            }
        }
    };
}

named!(
    Rule,
    "Rule",
    "The rule that decided a request (the core's `Rule::name()`): proceeding rules such as \
     `fresh`, `concurrent_in_grace`, `lost_response`; refusals such as `reuse`, `expired`, \
     `store_unavailable`.",
    Rule::ALL,
    Rule::name
);
named!(
    Form,
    "Form",
    "Token form: `full` (self-contained claims) or `compact` (session id and tag).",
    Form::ALL,
    Form::name
);
named!(
    Mode,
    "Mode",
    "Where authenticated requests are checked: `strict` (always the store) or `cached`.",
    Mode::ALL,
    Mode::name
);
named!(
    BindingPolicy,
    "BindingPolicy",
    "What the client binding may decide: `evidence` (default), `require_user_agent`, \
     `require_full`.",
    BindingPolicy::ALL,
    BindingPolicy::name
);
named!(
    RevokeReason,
    "RevokeReason",
    "Why a session was revoked: `logout`, `reuse`, `upgraded_at_login`, `admin`.",
    RevokeReason::ALL,
    RevokeReason::name
);
named!(
    Expiry,
    "Expiry",
    "Which limit ended a session: `absolute`, `idle`, `counter_exhausted`.",
    Expiry::ALL,
    Expiry::name
);
named!(
    Kind,
    "Kind",
    "Whether a request advances the chain (`advance`: a page load, rolls the token) or only \
     reads (`read`: an API call).",
    Kind::ALL,
    Kind::name
);
named!(
    SameSite,
    "SameSite",
    "The `SameSite` cookie attribute; the values are as written in `Set-Cookie` (`Lax`, \
     `Strict`, `None`) and arguments match them case-insensitively.",
    SameSite::ALL,
    SameSite::as_str
);

/// Builds the class of `T` and adds it to `module`.
pub(crate) fn add<T: Named>(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let built = class::<T>(module.py())?;
    module.add(T::CLASS, built.class.bind(module.py()))
}

fn class<T: Named>(py: Python<'_>) -> PyResult<&'static EnumClass> {
    T::cache().get_or_try_init(py, || build::<T>(py))
}

/// `enum.Enum(CLASS, [(NAME, name), …], module=…, qualname=…, type=str)` with `str()` and
/// `format()` giving the value, as `enum.StrEnum` does on Python 3.11+.
fn build<T: Named>(py: Python<'_>) -> PyResult<EnumClass> {
    let pairs = PyList::empty(py);
    for v in T::all() {
        let value = v.name();
        pairs.append((value.to_ascii_uppercase(), value))?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("module", MODULE)?;
    kwargs.set_item("qualname", T::CLASS)?;
    kwargs.set_item("type", py.get_type::<PyString>())?;
    let class = py
        .import("enum")?
        .getattr("Enum")?
        .call((T::CLASS, pairs), Some(&kwargs))?
        .cast_into::<PyType>()?;
    let str_type = py.get_type::<PyString>();
    class.setattr("__str__", str_type.getattr("__str__")?)?;
    class.setattr("__format__", str_type.getattr("__format__")?)?;
    class.setattr("__doc__", T::DOC)?;
    let members = T::all()
        .iter()
        .map(|v| class.call1((v.name(),)).map(Bound::unbind))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(EnumClass {
        class: class.unbind(),
        members,
    })
}

/// The Python member for `value`.
pub(crate) fn to_py<T: Named>(py: Python<'_>, value: T) -> PyResult<Bound<'_, PyAny>> {
    let built = class::<T>(py)?;
    T::all()
        .iter()
        .zip(&built.members)
        .find(|(v, _)| **v == value)
        .map(|(_, member)| member.bind(py).clone())
        .ok_or_else(|| PyValueError::new_err(format!("no {} member for this value", T::CLASS)))
}

/// The core value named by `obj`: a member of the enum, or its value as a string
/// (case-insensitive). Anything else is a `ValueError` listing the names.
pub(crate) fn from_py<T: Named>(obj: &Bound<'_, PyAny>) -> PyResult<T> {
    let Ok(text) = obj.cast::<PyString>() else {
        return Err(unknown::<T>());
    };
    let text = text.to_cow()?;
    T::all()
        .iter()
        .copied()
        .find(|v| v.name().eq_ignore_ascii_case(&text))
        .ok_or_else(unknown::<T>)
}

fn unknown<T: Named>() -> PyErr {
    let names: Vec<String> = T::all().iter().map(|v| format!("'{}'", v.name())).collect();
    PyValueError::new_err(format!(
        "not a {}: expected one of {}",
        T::CLASS,
        names.join(", ")
    ))
}

/// The Python enum argument or `None`, for optional enum arguments.
pub(crate) fn opt_from_py<T: Named>(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<T>> {
    match obj {
        Some(o) if !o.is_none() => from_py::<T>(o).map(Some),
        _ => Ok(None),
    }
}
