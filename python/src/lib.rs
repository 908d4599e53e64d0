//! `rolltoken._rolltoken`: the compiled half of the Python package `rolltoken`.
//!
//! A thin skin over the core (house style, rule 1): arguments are converted, the core
//! decides, answers are converted back. Enum names come from the core's `ALL`/`name()`
//! ([`names`]), exceptions are the Python classes of `rolltoken/errors.py` ([`errors`]).
//! The public API is the pure-Python package `rolltoken`, typed by `rolltoken/_rolltoken.pyi`.

use pyo3::prelude::*;

mod convert;
mod cookie;
mod errors;
mod fetch;
mod keys;
mod names;
mod outcome;
mod policy;
mod record;
mod sessions;
mod store;

/// The module's dotted name, set as `__module__` of every class.
pub(crate) const MODULE: &str = "rolltoken._rolltoken";

#[pymodule]
fn _rolltoken(m: &Bound<'_, PyModule>) -> PyResult<()> {
    names::add::<rolltoken::verdict::Rule>(m)?;
    names::add::<rolltoken::engine::Kind>(m)?;
    names::add::<rolltoken::token::Form>(m)?;
    names::add::<rolltoken::policy::Mode>(m)?;
    names::add::<rolltoken::policy::BindingPolicy>(m)?;
    names::add::<rolltoken::record::RevokeReason>(m)?;
    names::add::<rolltoken::verdict::Expiry>(m)?;
    names::add::<rolltoken::cookie::SameSite>(m)?;

    m.add_class::<keys::PyKeyring>()?;
    m.add_class::<keys::Claims>()?;
    m.add_class::<keys::CompactClaims>()?;
    m.add_class::<keys::ParsedToken>()?;
    m.add_class::<policy::Grace>()?;
    m.add_class::<policy::Policy>()?;
    m.add_class::<record::Record>()?;
    m.add_class::<outcome::SessionView>()?;
    m.add_class::<outcome::Outcome>()?;
    m.add_class::<outcome::Decision>()?;
    m.add_class::<sessions::Engine>()?;
    m.add_class::<store::MemoryStore>()?;
    m.add_class::<sessions::Step>()?;
    m.add_class::<sessions::Finish>()?;
    m.add_class::<sessions::LoginPlan>()?;
    m.add_class::<cookie::CookieConfig>()?;

    m.add_function(wrap_pyfunction!(keys::parse_token, m)?)?;
    m.add_function(wrap_pyfunction!(keys::log_id, m)?)?;
    m.add_function(wrap_pyfunction!(keys::hmac_sha256, m)?)?;
    m.add_function(wrap_pyfunction!(record::encode_record, m)?)?;
    m.add_function(wrap_pyfunction!(record::decode_record, m)?)?;
    m.add_function(wrap_pyfunction!(cookie::find_cookie, m)?)?;
    m.add_function(wrap_pyfunction!(cookie::set_cookie, m)?)?;
    m.add_function(wrap_pyfunction!(cookie::clear_cookie, m)?)?;
    m.add_function(wrap_pyfunction!(fetch::request_kind, m)?)?;

    m.add("__version__", rolltoken::VERSION)?;
    m.add("KEY_LEN", rolltoken::keys::KEY_LEN)?;
    m.add("MAX_KEYS", rolltoken::keys::MAX_KEYS)?;
    m.add("SESSION_ID_LEN", rolltoken::token::SESSION_ID_LEN)?;
    m.add("MAX_TOKEN_LEN", rolltoken::token::MAX_TOKEN_LEN)?;
    m.add("RECORD_LEN", rolltoken::record::RECORD_LEN)?;
    m.add("MAX_ATTEMPTS", rolltoken::sessions::MAX_ATTEMPTS)?;
    m.add("MAX_CLOCK_SKEW_MS", rolltoken::sessions::MAX_CLOCK_SKEW_MS)?;
    m.add("STORE_CAPACITY", store::STORE_CAPACITY)?;
    m.add("DENY_LIST_CAPACITY", sessions::DENY_LIST_CAPACITY)?;
    Ok(())
}
