//! Cookie helpers: the core's `Cookie:` header lookup and `Set-Cookie` writers.

use pyo3::prelude::*;
use rolltoken::cookie::{
    self as core_cookie, CookieConfig as CoreConfig, MAX_SET_COOKIE_LEN, SameSite,
};

use crate::convert::Text;
use crate::errors;
use crate::names;

/// How the session cookie is named and scoped. The defaults are the strict ones:
/// `__Host-rolltoken`, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/` (no `Domain`, ever).
/// `session_only=True` writes no `Max-Age`, so the browser drops the cookie when it closes
/// (the session still ends at its timeouts on the server; clearing still sends `Max-Age=0`).
/// Checked when built: raises `CookieError` for a name, path or combination browsers would
/// refuse (a `__Host-` name needs `secure=True` and `path="/"`).
#[pyclass(frozen, eq, module = "rolltoken._rolltoken", name = "CookieConfig")]
#[derive(PartialEq)]
pub(crate) struct CookieConfig {
    name: String,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    path: String,
    session_only: bool,
}

impl CookieConfig {
    fn core(&self) -> CoreConfig<'_> {
        CoreConfig {
            name: &self.name,
            secure: self.secure,
            http_only: self.http_only,
            same_site: self.same_site,
            path: &self.path,
            session_only: self.session_only,
        }
    }

    fn of(c: &CoreConfig<'_>) -> CookieConfig {
        CookieConfig {
            name: c.name.to_owned(),
            secure: c.secure,
            http_only: c.http_only,
            same_site: c.same_site,
            path: c.path.to_owned(),
            session_only: c.session_only,
        }
    }
}

#[pymethods]
impl CookieConfig {
    #[new]
    #[pyo3(signature = (name = None, *, secure = None, http_only = None, same_site = None, path = None, session_only = None))]
    fn new(
        name: Option<String>,
        secure: Option<bool>,
        http_only: Option<bool>,
        same_site: Option<&Bound<'_, PyAny>>,
        path: Option<String>,
        session_only: Option<bool>,
    ) -> PyResult<Self> {
        let d = CoreConfig::default();
        let config = CookieConfig {
            name: name.unwrap_or_else(|| d.name.to_owned()),
            secure: secure.unwrap_or(d.secure),
            http_only: http_only.unwrap_or(d.http_only),
            same_site: names::opt_from_py::<SameSite>(same_site)?.unwrap_or(d.same_site),
            path: path.unwrap_or_else(|| d.path.to_owned()),
            session_only: session_only.unwrap_or(d.session_only),
        };
        config.core().validate().map_err(errors::cookie)?;
        Ok(config)
    }

    /// For plain-HTTP local development only: `rolltoken`, not `Secure`, `HttpOnly`,
    /// `SameSite=Lax`, `Path=/`.
    #[staticmethod]
    fn insecure_local() -> Self {
        CookieConfig::of(&CoreConfig::insecure_local())
    }

    #[getter]
    fn name(&self) -> &str {
        &self.name
    }
    #[getter]
    fn secure(&self) -> bool {
        self.secure
    }
    #[getter]
    fn http_only(&self) -> bool {
        self.http_only
    }
    #[getter]
    fn same_site<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        names::to_py(py, self.same_site)
    }
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }
    #[getter]
    fn session_only(&self) -> bool {
        self.session_only
    }

    fn __repr__(&self) -> String {
        let b = |v: bool| if v { "True" } else { "False" };
        format!(
            "CookieConfig(name={:?}, secure={}, http_only={}, same_site='{}', path={:?}, session_only={})",
            self.name,
            b(self.secure),
            b(self.http_only),
            self.same_site.as_str(),
            self.path,
            b(self.session_only)
        )
    }
}

/// The value of the session cookie in a `Cookie:` request header, or `None` when absent
/// (`""` is what a cleared cookie sends). Raises `CookieError`: `too_long` (over 8192
/// bytes), `malformed` (control characters), `invalid_value`, or `duplicate` (sent twice
/// with different values: cookie tossing, refused).
#[pyfunction]
#[pyo3(signature = (header, config = None))]
pub(crate) fn find_cookie(
    header: Text,
    config: Option<PyRef<'_, CookieConfig>>,
) -> PyResult<Option<String>> {
    let name = config
        .as_ref()
        .map_or(core_cookie::DEFAULT_COOKIE_NAME, |c| c.name.as_str());
    core_cookie::find_cookie(header.as_bytes(), name)
        .map(|v| v.map(str::to_owned))
        .map_err(errors::cookie)
}

/// The `Set-Cookie` value that sets the cookie to `token` for `max_age_secs` seconds (no
/// `Max-Age` at all when `config.session_only`: `max_age_secs` is then ignored).
#[pyfunction]
pub(crate) fn set_cookie(
    config: PyRef<'_, CookieConfig>,
    token: &str,
    max_age_secs: u64,
) -> PyResult<String> {
    let mut buf = [0u8; MAX_SET_COOKIE_LEN];
    core_cookie::write_set_cookie(&mut buf, &config.core(), token, max_age_secs)
        .map(str::to_owned)
        .map_err(errors::cookie)
}

/// The `Set-Cookie` value that deletes the cookie (`Max-Age=0`, same attributes, also when
/// `config.session_only`).
#[pyfunction]
pub(crate) fn clear_cookie(config: PyRef<'_, CookieConfig>) -> PyResult<String> {
    let mut buf = [0u8; MAX_SET_COOKIE_LEN];
    core_cookie::write_clear_cookie(&mut buf, &config.core())
        .map(str::to_owned)
        .map_err(errors::cookie)
}
