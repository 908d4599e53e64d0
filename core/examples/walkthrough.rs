//! One session's life, printed verdict by verdict: an anonymous visit, login, page loads
//! that roll the token, a page's parallel reads inside the grace window, a copied cookie used
//! from elsewhere, and the revocation that follows.
//!
//! Run with `make demo` (until the Python demo exists) or `cargo run --example walkthrough`.

use rolltoken::keys::{BindingInput, KeyMaterial, Keyring};
use rolltoken::policy::Policy;
use rolltoken::sessions::{Kind, Outcome, Request, Sessions};
use rolltoken::store::{MemoryDenyList, MemoryStore};
use rolltoken::token::TokenBuf;
use rolltoken::verdict::Verdict;
use rolltoken::{Subject, cookie};

/// A fixed demo key; real deployments load 32 random bytes from their secret store.
const DEMO_KEY: [u8; 32] = *b"rolltoken-demo-key-not-a-secret!";
const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

type Demo<'k> = Sessions<&'k Keyring, MemoryStore<64>, MemoryDenyList<64>>;

/// The demo's browser: a cookie jar and a source of session ids (a real server uses its
/// CSPRNG; fixed ids keep this walkthrough reproducible).
struct Browser {
    jar: Option<TokenBuf>,
    next_id: u8,
}

impl Browser {
    fn fresh_id(&mut self) -> [u8; 16] {
        self.next_id = self.next_id.wrapping_add(1);
        [self.next_id; 16]
    }

    /// Sends one request (with the jar's cookie, or with `copy` when given), prints the
    /// verdict, and stores a rolled token in the jar as a browser would.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        s: &mut Demo<'_>,
        what: &str,
        at_s: u64,
        kind: Kind,
        who: &BindingInput<'_>,
        copy: Option<&TokenBuf>,
    ) {
        let cookie = copy.or(self.jar.as_ref()).map(|t| t.as_bytes().to_vec());
        let req = Request {
            cookie: cookie.as_deref(),
            kind,
            now_ms: T0 + at_s * 1000,
            binding: who,
            new_session_id: self.fresh_id(),
        };
        match s.handle(&req) {
            Outcome::Proceed {
                view,
                token,
                verdict,
                binding,
            } => {
                println!(
                    "t={at_s:>4}s  {what:<44} proceed  {:<20} log_id={} counter={} binding(ua={},ip={}){}",
                    verdict.rule().name(),
                    view.log_id,
                    view.counter,
                    binding.user_agent,
                    binding.ip,
                    match (token.is_some(), verdict) {
                        (false, _) => "",
                        (true, Verdict::Fresh | Verdict::NewAnonymous) =>
                            "  -> Set-Cookie (new token)",
                        (true, _) => "  -> Set-Cookie (current token again)",
                    }
                );
                if let (Some(t), None) = (token, copy) {
                    self.jar = Some(t);
                }
            }
            Outcome::Reject {
                verdict,
                clear_cookie,
                event,
            } => {
                println!(
                    "t={at_s:>4}s  {what:<44} REJECT   {:<20} log_id={} {verdict:?}{}",
                    verdict.rule().name(),
                    event.log_id.map(|l| l.to_string()).unwrap_or_default(),
                    if clear_cookie {
                        "  -> clear cookie, ask for a fresh login"
                    } else {
                        ""
                    }
                );
                if clear_cookie && copy.is_none() {
                    self.jar = None;
                }
            }
        }
    }
}

fn main() -> Result<(), rolltoken::Error> {
    let keys = Keyring::new(&[KeyMaterial::new(1, DEMO_KEY)], 1)?;
    let mut s: Demo<'_> = Sessions::new(
        &keys,
        Policy::default(),
        MemoryStore::new(),
        MemoryDenyList::new(),
    )?;
    let firefox = BindingInput::new(
        b"Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        Some([192, 0, 2, 10].into()),
    );
    let thief = BindingInput::new(b"python-requests/2.32", Some([203, 0, 113, 7].into()));
    let mut b = Browser {
        jar: None,
        next_id: 0,
    };

    println!("rolltoken walkthrough: one session, strict mode, compact tokens, grace 10 s\n");
    b.send(
        &mut s,
        "anonymous visit (no cookie)",
        0,
        Kind::Advance,
        &firefox,
        None,
    );
    b.send(
        &mut s,
        "anonymous page load",
        5,
        Kind::Advance,
        &firefox,
        None,
    );

    let new_id = b.fresh_id();
    let login = s.login(
        b.jar.as_ref().map(TokenBuf::as_bytes),
        new_id,
        Subject::from_u64(42).0,
        T0 + 10_000,
        &firefox,
    )?;
    println!(
        "t=  10s  {:<44} login    new session log_id={} parent log_id={}  -> Set-Cookie",
        "POST /login (password checked by the app)",
        login.view.log_id,
        login
            .view
            .parent
            .map(|p| rolltoken::log_id(&p).to_string())
            .unwrap_or_default()
    );
    b.jar = Some(login.token);

    b.send(&mut s, "page load", 20, Kind::Advance, &firefox, None);
    let previous = b.jar.clone();
    b.send(&mut s, "page load", 40, Kind::Advance, &firefox, None);
    for i in 1..=3 {
        b.send(
            &mut s,
            &format!("parallel API read {i} (current token)"),
            41,
            Kind::Read,
            &firefox,
            None,
        );
    }
    b.send(
        &mut s,
        "late API read sent with the previous token",
        42,
        Kind::Read,
        &firefox,
        previous.as_ref(),
    );
    b.send(
        &mut s,
        "second tab's page load, previous token",
        43,
        Kind::Advance,
        &firefox,
        previous.as_ref(),
    );

    let copied = b.jar.clone();
    println!("\n         a malicious extension copies the cookie at t=50s\n");
    b.send(&mut s, "page load", 60, Kind::Advance, &firefox, None);
    b.send(&mut s, "page load", 90, Kind::Advance, &firefox, None);
    b.send(
        &mut s,
        "thief replays the copied cookie elsewhere",
        120,
        Kind::Read,
        &thief,
        copied.as_ref(),
    );
    b.send(
        &mut s,
        "user's next page load",
        125,
        Kind::Advance,
        &firefox,
        None,
    );

    let mut buf = [0u8; cookie::MAX_SET_COOKIE_LEN];
    let clear = cookie::write_clear_cookie(&mut buf, &cookie::CookieConfig::default())?;
    println!("\nThe response clears the cookie with: Set-Cookie: {clear}");
    println!("and explains that the session was used from two places, asking for a fresh login.");
    Ok(())
}
