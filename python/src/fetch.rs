//! `request_kind`: whether a request advances or reads, by the core's `fetch` rules.

use pyo3::prelude::*;
use rolltoken::fetch::{self, FetchHeaders};

use crate::convert::Text;
use crate::names;

/// Whether a request advances (`Kind.ADVANCE`: a top-level navigation from this site) or
/// reads (`Kind.READ`: API calls, cross-site navigations, prefetches), from its method and
/// headers (`None` when absent): `Sec-Fetch-Mode` first, else a `GET` whose `Accept` leads
/// with `text/html`. Override per route where a response cannot set a cookie.
#[pyfunction]
#[pyo3(signature = (method, *, sec_fetch_mode = None, sec_fetch_site = None, sec_purpose = None, purpose = None, accept = None))]
pub(crate) fn request_kind<'py>(
    py: Python<'py>,
    method: Text,
    sec_fetch_mode: Option<Text>,
    sec_fetch_site: Option<Text>,
    sec_purpose: Option<Text>,
    purpose: Option<Text>,
    accept: Option<Text>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = fetch::kind_of(&FetchHeaders {
        method: method.as_bytes(),
        sec_fetch_mode: header(&sec_fetch_mode),
        sec_fetch_site: header(&sec_fetch_site),
        sec_purpose: header(&sec_purpose),
        purpose: header(&purpose),
        accept: header(&accept),
    });
    names::to_py(py, kind)
}

fn header(t: &Option<Text>) -> Option<&[u8]> {
    t.as_ref().map(Text::as_bytes)
}
