//! The fixture shared by the criterion benches, the no-allocation test and the `icount`
//! binary: one keyring, a façade over the memory store holding a live session among others,
//! and the inputs of each measured operation. Everything here runs once, before timing.
//!
//! Every constructor checks that the operation it prepares succeeds (a bench of a failing
//! operation measures an early return), and panics with a message otherwise: this crate is a
//! measuring tool, not a library.
// Setup panics by design (see above): no `# Panics` section on every constructor.
#![allow(clippy::panic, clippy::expect_used, clippy::missing_panics_doc)]

use core::net::{IpAddr, Ipv4Addr};

use rolltoken::cookie::{self, CookieConfig, DEFAULT_COOKIE_NAME};
use rolltoken::keys::{Binding, BindingInput, KeyMaterial, Keyring};
use rolltoken::policy::Policy;
use rolltoken::sessions::{Kind, Outcome, Request, Sessions};
use rolltoken::store::{MemoryDenyList, MemoryStore};
use rolltoken::token::{self, Claims, Parsed, SessionId, Subject, TokenBuf};

/// The root secret of key id 1 (a real one comes from a CSPRNG).
pub const SECRET: [u8; 32] = [0x5a; 32];
/// The key id that mints.
pub const KEY_ID: u8 = 1;
/// A current desktop Chrome user agent (105 bytes): the binding hashes it on every advance.
pub const USER_AGENT: &[u8] = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// The client address (its /24 is hashed).
pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
/// The time of the first login (ms since the Unix epoch).
pub const T0: u64 = 1_760_000_000_000;
/// The session the benches roll.
pub const SESSION_ID: [u8; 16] = [0x42; 16];
/// Its subject.
pub const SUBJECT: u64 = 42;
/// Capacity of the memory store (a power of two).
pub const STORE_CAPACITY: usize = 1024;
/// Other live sessions in the store, so lookups probe a populated map.
pub const OTHER_SESSIONS: usize = 255;

/// The façade the benches drive: borrowed keyring, memory store and deny list.
pub type BenchSessions<'k> =
    Sessions<&'k Keyring, MemoryStore<STORE_CAPACITY>, MemoryDenyList<256>>;

/// The keyring: one key, id [`KEY_ID`].
pub fn keyring() -> Keyring {
    Keyring::new(&[KeyMaterial::new(KEY_ID, SECRET)], KEY_ID).expect("keyring")
}

/// The client of every request.
pub fn client() -> BindingInput<'static> {
    BindingInput::new(USER_AGENT, Some(CLIENT_IP))
}

/// The claims of the full token the benches verify: realistic values, authenticated.
pub fn full_claims(keys: &Keyring) -> Claims {
    let binding = keys.binding(KEY_ID, &client()).expect("binding");
    Claims {
        key_id: KEY_ID,
        session_id: SessionId(SESSION_ID),
        counter: 1_234,
        issued_at: T0,
        expires_at: T0 + 12 * 3_600_000,
        subject: Subject::from_u64(SUBJECT),
        binding,
        authenticated: true,
    }
}

/// The counter of the compact token the benches verify.
pub const COMPACT_COUNTER: u64 = 1_234;

/// A compact token minted at [`COMPACT_COUNTER`], checked to be 49 characters.
pub fn compact_token(keys: &Keyring) -> TokenBuf {
    let t = token::mint_compact(keys, KEY_ID, &SessionId(SESSION_ID), COMPACT_COUNTER)
        .expect("mint compact");
    assert_eq!(t.as_bytes().len(), token::COMPACT_TOKEN_LEN);
    assert_eq!(t.as_bytes().len(), 49);
    assert!(verify_compact(keys, t.as_bytes(), COMPACT_COUNTER));
    t
}

/// A full token of [`full_claims`], checked to be 115 characters and to verify.
pub fn full_token(keys: &Keyring) -> TokenBuf {
    let t = token::mint_full(keys, &full_claims(keys)).expect("mint full");
    assert_eq!(t.as_bytes().len(), token::FULL_TOKEN_LEN);
    assert_eq!(t.as_bytes().len(), 115);
    assert!(verify_full(keys, t.as_bytes()));
    t
}

/// The compact tag's 29-byte MAC input (`"rtc1" ‖ key id ‖ session id ‖ counter`): the message
/// the floor HMACs.
pub fn compact_mac_input() -> [u8; 29] {
    let mut m = [0u8; 29];
    m[..4].copy_from_slice(b"rtc1");
    m[4] = KEY_ID;
    m[5..21].copy_from_slice(&SESSION_ID);
    m[21..].copy_from_slice(&COMPACT_COUNTER.to_be_bytes());
    m
}

/// `verify_compact`: parse, then match the tag against the counter in hand.
#[inline]
pub fn verify_compact(keys: &Keyring, text: &[u8], counter: u64) -> bool {
    match token::parse(text) {
        Ok(Parsed::Compact(c)) => c.matches(keys, counter).unwrap_or(false),
        _ => false,
    }
}

/// `verify_full`: parse, then check the tag; returns whether it verified.
#[inline]
pub fn verify_full(keys: &Keyring, text: &[u8]) -> bool {
    match token::parse(text) {
        Ok(Parsed::Full(f)) => f.verify(keys).is_ok(),
        _ => false,
    }
}

/// A façade with [`OTHER_SESSIONS`] other sessions and the bench session logged in at
/// [`T0`] in `policy`'s form. Returns the façade and the bench session's first token.
pub fn sessions(keys: &Keyring, policy: Policy) -> (BenchSessions<'_>, TokenBuf) {
    let mut s =
        Sessions::new(keys, policy, MemoryStore::new(), MemoryDenyList::new()).expect("policy");
    let c = client();
    for i in 0..OTHER_SESSIONS {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        id[8] = 0xee;
        let subject = Subject::from_u64(1_000 + i as u64).0;
        s.login(None, id, subject, T0, &c).expect("login");
    }
    let login = s
        .login(None, SESSION_ID, Subject::from_u64(SUBJECT).0, T0, &c)
        .expect("login");
    (s, login.token)
}

/// A session whose token rolls on every step: the state of the `advance_memory` chain.
#[derive(Debug)]
pub struct Chain {
    /// The current token (the cookie the client holds).
    pub token: TokenBuf,
    /// The time of the last step (ms); each step is 1 ms later.
    pub now: u64,
}

impl Chain {
    /// The chain of the bench session, starting from its login token.
    pub fn new(token: TokenBuf) -> Chain {
        Chain { token, now: T0 }
    }

    /// One page load: `Sessions::handle` with [`Kind::Advance`] (load, decide, mint, CAS
    /// save); the rolled token replaces the current one. Returns `false` (leaving the chain
    /// as it was) unless the request proceeded with a new token.
    #[inline]
    pub fn advance(&mut self, sessions: &mut BenchSessions<'_>, client: &BindingInput<'_>) -> bool {
        self.now += 1;
        let req = Request {
            cookie: Some(self.token.as_bytes()),
            kind: Kind::Advance,
            now_ms: self.now,
            binding: client,
            new_session_id: [0; 16],
        };
        match sessions.handle(&req) {
            Outcome::Proceed {
                token: Some(next), ..
            } => {
                self.token = next;
                true
            }
            _ => false,
        }
    }
}

/// The bench session's chain after `warm` checked advances (the store holds its record at
/// counter `warm`).
pub fn chain(sessions: &mut BenchSessions<'_>, first: TokenBuf, warm: u64) -> Chain {
    let mut chain = Chain::new(first);
    let c = client();
    for _ in 0..warm {
        assert!(chain.advance(sessions, &c), "advance must roll the token");
    }
    chain
}

/// A realistic `Cookie:` request header of about 400 bytes, the session cookie in the middle
/// of consent, analytics and preference cookies.
pub fn cookie_header(name: &str, value: &str) -> String {
    let h = format!(
        "_ga=GA1.1.1849212764.1759991234; _ga_Q4WZ8XKLM2=GS1.1.1759991234.3.1.1759993410.0.0.0; \
         cookie_consent=necessary%2Cpreferences%2Cstatistics; theme=dark; lang=en-GB; \
         {name}={value}; _gid=GA1.2.908765432.1759991234; \
         ajs_anonymous_id=%2201HF3Q9ZK8Y6T4W2R0P8N6M4K2%22; recently_viewed=1827%2C1733%2C1590; \
         _fbp=fb.1.1759991234567.1234567890; tz=Europe%2FLondon"
    );
    assert!((380..=460).contains(&h.len()), "header length {}", h.len());
    let found = cookie::find_cookie(h.as_bytes(), name).expect("find");
    assert_eq!(found, Some(value));
    h
}

/// The default cookie name (`__Host-rolltoken`).
pub const COOKIE_NAME: &str = DEFAULT_COOKIE_NAME;

/// The default cookie configuration.
pub fn cookie_config() -> CookieConfig<'static> {
    CookieConfig::default()
}

/// The binding of the bench client under the bench key (for peers' equivalent claims).
pub fn client_binding(keys: &Keyring) -> Binding {
    keys.binding(KEY_ID, &client()).expect("binding")
}
