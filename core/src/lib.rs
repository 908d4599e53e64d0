//! Rolling HMAC-SHA256 session tokens that detect a copied cookie.
//!
//! A session cookie is a bearer secret: whoever holds a copy *is* the user. rolltoken rolls
//! the token on every advancing request (a page load) so that the server-side counter and the
//! token's counter move together; a copy used out of sequence proves that two parties hold the
//! session, and the session is revoked. Reading requests verify without rolling, a grace
//! window keeps honest races from logging anyone out, and a full token can be trusted without
//! a store lookup for a short fresh window (cookie as a cache).
//!
//! The crate is `#![no_std]`, allocates nothing and never panics: time (milliseconds since the
//! Unix epoch) and randomness (new session ids) are always inputs.
//!
//! Layers, one concept per module:
//! - [`keys`]: the keyring, per-purpose subkeys with precomputed HMAC state, binding hashes.
//! - [`addr`]: client addresses from their text, as every binding receives them.
//! - [`token`]: the full and compact token formats, parsing and minting, [`log_id`].
//! - [`record`]: the fixed-size binary session record the caller stores.
//! - [`engine`]: the rolling rules (`advance`, `verify`) as a pure decision over a record.
//! - [`store`]: the [`store::Store`] and [`store::DenyList`] traits and their fixed-capacity defaults.
//! - [`fetch`]: which requests advance (page loads) and which only read, from their headers.
//! - [`sessions`]: the request façade (strict, cached and anonymous modes, login, logout).
//! - [`cookie`]: `Cookie:` header lookup and `Set-Cookie` writers into caller buffers.
//!
//! ```
//! use rolltoken::{keys::{Keyring, KeyMaterial}, policy::Policy, sessions::{Sessions, Request, Kind, Outcome}};
//! use rolltoken::store::{MemoryStore, MemoryDenyList};
//! use rolltoken::keys::BindingInput;
//!
//! let keys = Keyring::new(&[KeyMaterial::new(1, [7u8; 32])], 1)?;
//! let mut sessions = Sessions::new(&keys, Policy::default(), MemoryStore::<64>::new(), MemoryDenyList::<64>::new())?;
//! let client = BindingInput::new(b"Mozilla/5.0", None);
//! let now = 1_700_000_000_000;
//!
//! // Log in (here without an anonymous session first): a new session with its first token.
//! let login = sessions.login(None, [0u8; 16], [9u8; 16], now, &client)?;
//! // A page load rolls the token; the old one is now spent.
//! let req = Request { cookie: Some(login.token.as_bytes()), kind: Kind::Advance, now_ms: now + 1_000, binding: &client, new_session_id: [1u8; 16] };
//! match sessions.handle(&req) {
//!     Outcome::Proceed { view, token, .. } => {
//!         assert!(view.authenticated);
//!         assert!(token.is_some()); // set this as the new cookie
//!     }
//!     Outcome::Reject { .. } => unreachable!(),
//! }
//! # Ok::<(), rolltoken::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

pub mod addr;
pub mod cookie;
pub mod engine;
pub mod error;
pub mod fetch;
pub mod keys;
pub mod policy;
pub mod record;
pub mod sessions;
pub mod store;
pub mod token;
mod util;
pub mod verdict;

pub use error::Error;
pub use token::{LogId, SessionId, Subject, log_id};

/// The version of this crate, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// The repository README's Rust example is compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExample;
