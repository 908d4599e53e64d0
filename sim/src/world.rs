//! One simulated session: a browser (tabs sharing one cookie jar), maybe a thief, several
//! server processes with skewed clocks sharing one store, and the network between them, as a
//! discrete-event simulation over the real [`Sessions`] façade.
//!
//! The servers run the façade's own halves ([`Sessions::begin`], [`Sessions::finish`]) with
//! the store I/O in the simulator's hands, so a request's load and its compare-and-swap save
//! are separate events: requests that race through different processes really conflict, and
//! the loser reloads and decides again, as `Sessions::handle` does.

use core::net::{IpAddr, Ipv4Addr};

use rolltoken::keys::{BindingInput, Keyring};
use rolltoken::policy::Policy;
use rolltoken::record::Record;
use rolltoken::sessions::{Finish, Kind, MAX_ATTEMPTS, Outcome, Pending, Request, Sessions, Step};
use rolltoken::store::{MemoryDenyList, MemoryStore, Store, StoreError};
use rolltoken::token::TokenBuf;
use rolltoken::verdict::{Rule, Verdict};

use crate::queue::EventQueue;
use crate::rng::Rng;

/// Simulated time 0 on the servers' clocks (2026-01-01T00:00:00Z, in ms).
pub const T0: u64 = 1_767_225_600_000;

const UAS: [&[u8]; 2] = [
    b"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
    b"python-requests/2.32.3",
];
const NETS: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), // the user's home network
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)), // the user's phone network (roaming)
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)), // the thief's network
];

/// A client identity: user agent and network, indexes into the tables above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Who {
    ua: usize,
    net: usize,
}

impl Who {
    fn input(self) -> BindingInput<'static> {
        BindingInput::new(UAS[self.ua], Some(NETS[self.net]))
    }
}

/// The network and deployment a session lives in.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Probability that a response to the user is lost (processed by the server, never
    /// received: its `Set-Cookie` never reaches the jar).
    pub loss: f64,
    /// Largest extra one-way delay (ms), drawn per message with a heavy tail.
    pub jitter_ms: u64,
    /// Largest clock offset of a server process from true time (ms, either way).
    pub skew_ms: u64,
    /// Server processes behind the load balancer, all on one store.
    pub servers: usize,
    /// Most tabs open at once (all share the jar).
    pub max_tabs: u64,
    /// The browser moves to another network (Wi-Fi to LTE) once, at a random moment.
    pub roaming: bool,
}

/// When and how often a thief uses its copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThiefMode {
    /// One page load, 0.5 s to 10 minutes after the copy.
    Once,
    /// One page load within a second of the copy (racing the user).
    AtOnce,
    /// A page load every 30 s (±5 s), the first 1–30 s after the copy, until the user's
    /// return visit.
    Periodic,
    /// Within a second of the copy, then every 30 s as `Periodic`.
    Eager,
}

/// Where the thief's requests come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThiefBinding {
    /// Another user agent on another network.
    Other,
    /// The user's user agent string, another network.
    SameUa,
    /// The user's user agent on the user's network (malware on the device or the LAN).
    Same,
}

/// A thief.
#[derive(Clone, Copy, Debug)]
pub struct Thief {
    /// Timing.
    pub mode: ThiefMode,
    /// Origin.
    pub binding: ThiefBinding,
}

/// Who sent a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The honest browser.
    User,
    /// The holder of the copied cookie.
    Thief,
}

/// How a session with a thief ended up revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// Whose request was refused as reuse (and so revoked the session).
    pub by: Party,
    /// From the copy to the revoking request's arrival (ms).
    pub ms_after_copy: u64,
    /// Requests of both parties (reads included) that reached a server after the copy, the
    /// revoking one included.
    pub requests: u64,
    /// The user's page loads sent after the copy, up to the revocation.
    pub user_advances: u64,
    /// The thief's page loads, up to the revocation.
    pub thief_advances: u64,
}

impl Revocation {
    /// Page loads of the party that made fewer of them (the slower party).
    pub fn slower_party_advances(&self) -> u64 {
        self.user_advances.min(self.thief_advances)
    }
}

/// Verdict counts of one session (all parties).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rule 2 answers (stale token inside the window).
    pub concurrent: u64,
    /// Rule 3, lost response.
    pub lost_response: u64,
    /// Rule 3, cookie jar behind.
    pub jar_behind: u64,
    /// Refused past the grace-answer cap (retryable).
    pub grace_exhausted: u64,
    /// Refused after `MAX_ATTEMPTS` lost compare-and-swaps (retryable).
    pub busy: u64,
    /// Lost compare-and-swaps (reloaded and decided again).
    pub conflicts: u64,
}

impl Tally {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &Tally) {
        self.concurrent += o.concurrent;
        self.lost_response += o.lost_response;
        self.jar_behind += o.jar_behind;
        self.grace_exhausted += o.grace_exhausted;
        self.busy += o.busy;
        self.conflicts += o.conflicts;
    }
}

/// What happened in one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionResult {
    /// Requests that reached a server (both parties).
    pub requests: u64,
    /// The user's page loads (retries included).
    pub user_advances: u64,
    /// The verdict that cleared the honest user's cookie while no thief had used the copy.
    pub false_logout: Option<Verdict>,
    /// How it happened: distance behind, window, confirmation, binding.
    pub false_logout_how: Option<String>,
    /// The thief took a copy and used it at least once while the session was live.
    pub theft: bool,
    /// The session was revoked as reuse after the theft.
    pub revoked: Option<Revocation>,
    /// Verdict counts.
    pub tally: Tally,
}

/// The server's answer as the client sees it.
#[derive(Clone, Debug)]
enum Answer {
    /// Proceed, maybe with a token to set (its counter: the token is in `World::tokens`).
    Proceed(Option<u64>),
    /// Refused, cookie cleared.
    Clear,
    /// Refused, try again later (grace exhausted, busy, outage, binding policy).
    Retry,
}

#[derive(Debug)]
enum Ev {
    /// A tab's next page load (the user's think-time schedule).
    Nav { tab: usize },
    /// A background poll (an API read) from a tab.
    Poll { tab: usize },
    /// A user request leaves the browser.
    Send { kind: Kind, tab: usize, attempt: u8 },
    /// A request reaches its server process.
    Arrive(usize),
    /// The server's compare-and-swap save happens.
    Save(usize),
    /// The response (kept in the request) reaches the client.
    Deliver(usize),
    /// The user reloads a page whose response never came.
    Retry(usize),
    /// The thief copies the cookie jar.
    Copy,
    /// The thief uses its copy.
    ThiefUse { attempt: u8 },
    /// The browser changes network.
    Roam,
    /// The user comes back after a pause: one more page load.
    Return,
}

/// One request in flight.
#[derive(Debug)]
struct Req {
    party: Party,
    kind: Kind,
    /// The counter of the token presented (the cookie is `World::tokens[counter]`; the
    /// simulator knows the counter, compact tokens hide it).
    counter: u64,
    who: Who,
    server: usize,
    sent_at: u64,
    /// The server's clock at arrival (ms since the epoch).
    now_ms: u64,
    tab: usize,
    attempt: u8,
    pending: Option<Pending>,
    save: Option<Box<(Record, u64, Outcome)>>,
    /// The record the last decision was made on.
    seen: Option<Box<Record>>,
    answer: Option<Answer>,
    cas_tries: usize,
}

#[derive(Debug, Default)]
struct Tab {
    /// The newest page load sent from this tab (request index).
    last_nav: Option<usize>,
}

type Server<'k> = Sessions<&'k Keyring, MemoryStore<2>, MemoryDenyList<2>>;

struct ThiefState {
    spec: Thief,
    who: Who,
    jar: Option<u64>,
    base_ms: u64,
}

/// One session's world.
struct World<'k> {
    rng: Rng,
    faults: Faults,
    servers: Vec<(Server<'k>, i64)>,
    store: MemoryStore<2>,
    q: EventQueue<Ev>,
    reqs: Vec<Req>,
    /// Every token handed out, by counter (one per counter: the chain never forks).
    tokens: Vec<TokenBuf>,
    /// The user's cookie jar: the counter of the token it holds.
    jar: Option<u64>,
    user: Who,
    user_base_ms: u64,
    user_end: u64,
    /// When the user comes back for one page load after the pause.
    return_at: u64,
    tabs: Vec<Tab>,
    thief: Option<ThiefState>,
    copy_at: Option<u64>,
    thief_seen: u64,
    /// Some request was refused as reuse: the session is revoked.
    revoked: bool,
    since_copy: Revocation,
    out: SessionResult,
    trace: bool,
}

/// Runs one session to its end and reports what happened. Deterministic in `seed`.
///
/// # Panics
/// If the core refuses the policy or the first login (a bug in the simulator's set-up).
pub fn run_session(
    keys: &Keyring,
    policy: Policy,
    faults: Faults,
    thief: Option<Thief>,
    seed: u64,
) -> SessionResult {
    run(keys, policy, faults, thief, seed, false)
}

/// As [`run_session`], printing every request and delivery to stderr.
pub fn trace_session(
    keys: &Keyring,
    policy: Policy,
    faults: Faults,
    thief: Option<Thief>,
    seed: u64,
) -> SessionResult {
    run(keys, policy, faults, thief, seed, true)
}

fn run(
    keys: &Keyring,
    policy: Policy,
    faults: Faults,
    thief: Option<Thief>,
    seed: u64,
    trace: bool,
) -> SessionResult {
    let mut rng = Rng::new(seed);
    let servers: Vec<(Server<'_>, i64)> = (0..faults.servers.max(1))
        .map(|_| {
            let s = Sessions::new(keys, policy, MemoryStore::new(), MemoryDenyList::new())
                .expect("the swept policies are valid");
            (s, rng.symmetric(faults.skew_ms))
        })
        .collect();
    let mut w = World {
        faults,
        servers,
        store: MemoryStore::new(),
        q: EventQueue::new(),
        reqs: Vec::with_capacity(512),
        tokens: Vec::new(),
        jar: None,
        user: Who { ua: 0, net: 0 },
        user_base_ms: rng.range_incl(10, 80),
        user_end: 0,
        return_at: 0,
        tabs: Vec::new(),
        thief: None,
        copy_at: None,
        thief_seen: 0,
        revoked: false,
        since_copy: Revocation {
            by: Party::User,
            ms_after_copy: 0,
            requests: 0,
            user_advances: 0,
            thief_advances: 0,
        },
        out: SessionResult::default(),
        trace,
        rng,
    };
    w.start(thief);
    while let Some((now, ev)) = w.q.pop() {
        w.step(now, ev);
    }
    w.out
}

impl World<'_> {
    fn note(&self, now: u64, what: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("{:>9.3}s  {}", now as f64 / 1000.0, what());
        }
    }

    fn server_now(&self, server: usize, real: u64) -> u64 {
        let skew = self.servers[server].1;
        T0.saturating_add_signed(skew).saturating_add(real)
    }

    /// A one-way delay: the client's base latency plus jitter with a heavy tail
    /// (`jitter_ms × u⁴`: median 1/16 of the maximum, 16% above half of it).
    fn latency(&mut self, base: u64, jitter_max: u64) -> u64 {
        let u = self.rng.f64();
        base + (jitter_max as f64 * u * u * u * u) as u64
    }

    fn start(&mut self, thief: Option<Thief>) {
        // Log in through server 0 at time 0 (the login response is not in the simulation).
        let sid = self.rng.bytes16();
        let now_ms = self.server_now(0, 0);
        let input = self.user.input();
        let plan = self.servers[0]
            .0
            .plan_login(None, sid, [0x42; 16], now_ms, &input)
            .expect("login of a fresh session");
        self.store
            .save(&plan.record, None, now_ms)
            .expect("an empty store takes the new record");
        self.tokens.push(plan.login.token);
        self.jar = Some(0);

        // The user is active 3 to 12 minutes, in 1..=max_tabs tabs, then comes back once after
        // a pause of 1 to 20 minutes (inside the 30-minute idle timeout) for one page load.
        self.user_end = self.rng.range_incl(180_000, 720_000);
        self.return_at = self.user_end + self.rng.range_incl(60_000, 1_200_000);
        self.q.push(self.return_at, Ev::Return);
        let tabs = self.rng.range_incl(1, self.faults.max_tabs.max(1)) as usize;
        for i in 0..tabs {
            let polls = i == 0 && self.rng.chance(0.3);
            self.tabs.push(Tab::default());
            let open = if i == 0 {
                500
            } else {
                self.rng.range(1_000, self.user_end / 2)
            };
            self.q.push(open, Ev::Nav { tab: i });
            if polls {
                let at = open + self.rng.range(20_000, 60_000);
                self.q.push(at, Ev::Poll { tab: i });
            }
        }
        if self.faults.roaming {
            let at = self.rng.range(1_000, self.user_end);
            self.q.push(at, Ev::Roam);
        }
        if let Some(spec) = thief {
            let who = match spec.binding {
                ThiefBinding::Other => Who { ua: 1, net: 2 },
                ThiefBinding::SameUa => Who { ua: 0, net: 2 },
                ThiefBinding::Same => self.user,
            };
            let base_ms = self.rng.range_incl(20, 100);
            self.thief = Some(ThiefState {
                spec,
                who,
                jar: None,
                base_ms,
            });
            // The copy happens while the user still has at least half the activity ahead.
            let at = self.rng.range(5_000, self.user_end / 2);
            self.q.push(at, Ev::Copy);
        }
    }

    fn step(&mut self, now: u64, ev: Ev) {
        match ev {
            Ev::Nav { tab } => {
                self.q.push(
                    now,
                    Ev::Send {
                        kind: Kind::Advance,
                        tab,
                        attempt: 0,
                    },
                );
                let gap = self.rng.log_uniform(500.0, 120_000.0) as u64;
                if now + gap <= self.user_end {
                    self.q.push(now + gap, Ev::Nav { tab });
                }
            }
            Ev::Poll { tab } => {
                self.q.push(
                    now,
                    Ev::Send {
                        kind: Kind::Read,
                        tab,
                        attempt: 0,
                    },
                );
                let gap = self.rng.range(20_000, 60_000);
                if now + gap <= self.user_end {
                    self.q.push(now + gap, Ev::Poll { tab });
                }
            }
            Ev::Send { kind, tab, attempt } => self.send_user(now, kind, tab, attempt),
            Ev::Arrive(id) => self.arrive(now, id),
            Ev::Save(id) => self.save(now, id),
            Ev::Deliver(id) => {
                if let Some(answer) = self.reqs[id].answer.take() {
                    self.deliver(now, id, answer);
                }
            }
            Ev::Retry(id) => {
                let r = &self.reqs[id];
                let tab = r.tab;
                // Reload only if the user has not moved on in this tab, at most 3 times.
                if self.tabs[tab].last_nav == Some(id) && r.attempt < 3 {
                    let attempt = r.attempt + 1;
                    self.send_user(now, Kind::Advance, tab, attempt);
                }
            }
            Ev::Copy => {
                if let (Some(t), Some(c)) = (self.thief.as_mut(), self.jar) {
                    t.jar = Some(c);
                    self.copy_at = Some(now);
                    let mode = t.spec.mode;
                    self.note(now, || format!("THE THIEF COPIES the cookie (#{c})"));
                    let first = match mode {
                        ThiefMode::Once => self.rng.range(500, 600_000),
                        ThiefMode::AtOnce | ThiefMode::Eager => self.rng.range(0, 1_000),
                        ThiefMode::Periodic => self.rng.range(1_000, 30_000),
                    };
                    self.q.push(now + first, Ev::ThiefUse { attempt: 0 });
                }
            }
            Ev::ThiefUse { attempt } => self.thief_use(now, attempt),
            Ev::Return => self.send_user(now, Kind::Advance, 0, 0),
            Ev::Roam => {
                self.note(now, || "the browser moves to another network".into());
                self.user.net = 1;
            }
        }
    }

    fn send_user(&mut self, now: u64, kind: Kind, tab: usize, attempt: u8) {
        let Some(counter) = self.jar else {
            return; // logged out: this browser sends nothing more of the session
        };
        let server = self.rng.range(0, self.servers.len() as u64) as usize;
        let id = self.reqs.len();
        self.reqs.push(Req {
            party: Party::User,
            kind,
            counter,
            who: self.user,
            server,
            sent_at: now,
            now_ms: 0,
            tab,
            attempt,
            pending: None,
            save: None,
            seen: None,
            answer: None,
            cas_tries: 0,
        });
        if kind == Kind::Advance {
            self.tabs[tab].last_nav = Some(id);
            self.out.user_advances += 1;
        }
        let up = self.latency(self.user_base_ms, self.faults.jitter_ms);
        self.q.push(now + up, Ev::Arrive(id));
    }

    fn thief_use(&mut self, now: u64, attempt: u8) {
        let Some(t) = self.thief.as_ref() else {
            return;
        };
        let Some(counter) = t.jar else {
            return; // refused with a cleared cookie: the copy is dead
        };
        let (who, base, mode) = (t.who, t.base_ms, t.spec.mode);
        let server = self.rng.range(0, self.servers.len() as u64) as usize;
        let id = self.reqs.len();
        self.reqs.push(Req {
            party: Party::Thief,
            kind: Kind::Advance,
            counter,
            who,
            server,
            sent_at: now,
            now_ms: 0,
            tab: 0,
            attempt,
            pending: None,
            save: None,
            seen: None,
            answer: None,
            cas_tries: 0,
        });
        let up = self.latency(base, 300);
        self.q.push(now + up, Ev::Arrive(id));
        if attempt == 0 && matches!(mode, ThiefMode::Periodic | ThiefMode::Eager) {
            let next = now + 30_000 - 5_000 + self.rng.range_incl(0, 10_000);
            if next < self.return_at {
                self.q.push(next, Ev::ThiefUse { attempt: 0 });
            }
        }
    }

    fn arrive(&mut self, now: u64, id: usize) {
        let server = self.reqs[id].server;
        let now_ms = self.server_now(server, now);
        self.reqs[id].now_ms = now_ms;
        let r = &self.reqs[id];
        let input = r.who.input();
        let req = Request {
            cookie: Some(self.tokens[r.counter as usize].as_bytes()),
            kind: r.kind,
            now_ms,
            binding: &input,
            new_session_id: [0x77; 16],
        };
        match self.servers[server].0.begin(&req) {
            Step::Done(o) => self.respond(now, id, &o),
            Step::Load(p) => {
                self.reqs[id].pending = Some(p);
                self.decide(now, id, false);
            }
        }
    }

    /// Load → decide; answers, or schedules the compare-and-swap save after the server's
    /// processing time (1–20 ms), during which other requests may write first.
    fn decide(&mut self, now: u64, id: usize, mut from_primary: bool) {
        let r = &self.reqs[id];
        let Some(pending) = r.pending else {
            return;
        };
        let input = r.who.input();
        let req = Request {
            cookie: Some(self.tokens[r.counter as usize].as_bytes()),
            kind: r.kind,
            now_ms: r.now_ms,
            binding: &input,
            new_session_id: [0x77; 16],
        };
        let sid = pending.session_id();
        let server = &mut self.servers[r.server].0;
        let (finish, basis) = loop {
            let loaded = if from_primary {
                self.store.load_primary(&sid)
            } else {
                self.store.load(&sid)
            };
            let basis = loaded.as_ref().ok().copied().flatten();
            match server.finish(&pending, &req, loaded, from_primary) {
                // One store has no lagging copy: the primary is never behind itself.
                Finish::LoadPrimary if !from_primary => from_primary = true,
                f => break (f, basis),
            }
        };
        let clears = |o: &Outcome| {
            matches!(
                o,
                Outcome::Reject {
                    clear_cookie: true,
                    ..
                }
            )
        };
        match finish {
            Finish::Done(o) => {
                if clears(&o) {
                    self.reqs[id].seen = basis.map(Box::new);
                }
                self.respond(now, id, &o);
            }
            Finish::Save {
                record,
                expected_version,
                outcome,
            } => {
                if clears(&outcome) {
                    self.reqs[id].seen = basis.map(Box::new);
                }
                self.reqs[id].save = Some(Box::new((record, expected_version, outcome)));
                let proc = self.rng.range_incl(1, 20);
                self.q.push(now + proc, Ev::Save(id));
            }
            Finish::LoadPrimary => unreachable!("the primary was behind the primary"),
        }
    }

    fn save(&mut self, now: u64, id: usize) {
        let Some(saved) = self.reqs[id].save.take() else {
            return;
        };
        let (record, expected, outcome) = *saved;
        let now_ms = self.reqs[id].now_ms;
        match self.store.save(&record, Some(expected), now_ms) {
            Ok(()) => self.respond(now, id, &outcome),
            Err(StoreError::Conflict) => {
                self.out.tally.conflicts += 1;
                self.reqs[id].cas_tries += 1;
                if self.reqs[id].cas_tries >= MAX_ATTEMPTS {
                    self.answer(now, id, Verdict::Busy, Answer::Retry);
                } else {
                    self.decide(now, id, true);
                }
            }
            Err(e) => {
                let r = &self.reqs[id];
                let Some(pending) = r.pending else {
                    return;
                };
                let input = r.who.input();
                let req = Request {
                    cookie: Some(self.tokens[r.counter as usize].as_bytes()),
                    kind: r.kind,
                    now_ms,
                    binding: &input,
                    new_session_id: [0x77; 16],
                };
                let o = self.servers[r.server].0.store_failed(&pending, &req, e);
                self.respond(now, id, &o);
            }
        }
    }

    fn respond(&mut self, now: u64, id: usize, o: &Outcome) {
        let answer = match o {
            Outcome::Proceed { token, view, .. } => Answer::Proceed(token.as_ref().map(|t| {
                let c = view.counter;
                match self.tokens.get(c as usize) {
                    Some(known) => {
                        assert_eq!(known, t, "two tokens for counter {c}: the chain forked")
                    }
                    None => {
                        assert_eq!(self.tokens.len() as u64, c, "a counter was skipped");
                        self.tokens.push(t.clone());
                    }
                }
                c
            })),
            Outcome::Reject {
                clear_cookie: true, ..
            } => Answer::Clear,
            Outcome::Reject { .. } => Answer::Retry,
        };
        self.answer(now, id, o.verdict(), answer);
    }

    /// Accounts for the server's decision, then sends the answer back over the network.
    fn answer(&mut self, now: u64, id: usize, verdict: Verdict, answer: Answer) {
        let (party, kind, sent_at) = {
            let r = &self.reqs[id];
            (r.party, r.kind, r.sent_at)
        };
        self.out.requests += 1;
        self.note(now, || {
            let r = &self.reqs[id];
            format!(
                "{:?} {} sent {:.3}s with #{} via server {} -> {}{}",
                r.party,
                r.kind.name(),
                r.sent_at as f64 / 1000.0,
                r.counter,
                r.server,
                verdict.rule().name(),
                match &answer {
                    Answer::Proceed(Some(c)) => format!(", token #{c}"),
                    Answer::Clear => ", clear cookie".into(),
                    _ => String::new(),
                }
            )
        });
        let t = &mut self.out.tally;
        match verdict.rule() {
            Rule::ConcurrentInGrace => t.concurrent += 1,
            Rule::LostResponse => t.lost_response += 1,
            Rule::CookieJarBehind => t.jar_behind += 1,
            Rule::GraceExhausted => t.grace_exhausted += 1,
            Rule::Busy => t.busy += 1,
            _ => {}
        }
        if party == Party::User
            && matches!(answer, Answer::Clear)
            && self.thief_seen == 0
            && self.out.false_logout.is_none()
        {
            self.out.false_logout = Some(verdict);
            self.out.false_logout_how = Some(self.explain(id));
        }
        // Everything that reaches a server after the copy counts towards detection, requests
        // already in flight when the copy was taken included.
        if let Some(copy) = self.copy_at
            && self.out.revoked.is_none()
        {
            self.since_copy.requests += 1;
            if kind == Kind::Advance {
                match party {
                    Party::User => self.since_copy.user_advances += 1,
                    Party::Thief => self.since_copy.thief_advances += 1,
                }
            }
            // Detection needs a thief who has used the copy (this request or an earlier one);
            // a revocation before that is a false logout.
            let thief_acted = party == Party::Thief || self.thief_seen > 0;
            if matches!(verdict, Verdict::Reuse { .. }) && thief_acted {
                self.out.revoked = Some(Revocation {
                    by: party,
                    ms_after_copy: now - copy,
                    ..self.since_copy
                });
            }
        }
        if party == Party::Thief {
            // A theft counts if the copy reached a live session (a session already revoked
            // by a false logout refuses the thief: nothing to detect).
            if !self.revoked {
                self.out.theft = true;
            }
            self.thief_seen += 1;
        }
        if matches!(verdict, Verdict::Reuse { .. }) {
            self.revoked = true;
        }

        match party {
            Party::User => {
                if self.rng.chance(self.faults.loss) {
                    self.note(now, || format!("  response to request {id} lost"));
                    // Processed, never received. A page load is reloaded by the user.
                    if kind == Kind::Advance {
                        let at = sent_at + self.rng.range(2_000, 10_000);
                        self.q.push(at.max(now), Ev::Retry(id));
                    }
                    return;
                }
                let down = self.latency(self.user_base_ms, self.faults.jitter_ms);
                self.reqs[id].answer = Some(answer);
                self.q.push(now + down, Ev::Deliver(id));
            }
            Party::Thief => {
                let base = self.thief.as_ref().map_or(50, |t| t.base_ms);
                let down = self.latency(base, 300);
                self.reqs[id].answer = Some(answer);
                self.q.push(now + down, Ev::Deliver(id));
            }
        }
    }

    /// Why the user's request `id` was refused: how far behind its token was, whether the
    /// grace window was open, whether the current token had been presented, and how the
    /// user's binding compared with the last advance's.
    fn explain(&self, id: usize) -> String {
        let r = &self.reqs[id];
        let Some(rec) = r.seen.as_deref() else {
            return "no record".into();
        };
        let behind = rec.counter.saturating_sub(r.counter);
        let window = match (r.now_ms < rec.grace_until, r.counter < rec.floor) {
            (true, true) => "in window but below its floor",
            (true, false) => "in window",
            (false, true) => "after window, below the floor",
            (false, false) => "after window",
        };
        let confirmed = if rec.confirmed {
            "current confirmed"
        } else {
            "current unconfirmed"
        };
        let input = r.who.input();
        let binding = self.servers[0]
            .0
            .keys()
            .binding(rec.binding_key_id, &input)
            .map(|b| b.compare(&rec.binding));
        let binding = match binding {
            Some(m) if m.full() => "same binding",
            Some(m) if m.user_agent => "other network",
            _ => "other binding",
        };
        format!("{behind} behind, {window}, {confirmed}, {binding}")
    }

    fn deliver(&mut self, now: u64, id: usize, answer: Answer) {
        let (party, kind, tab, attempt) = {
            let r = &self.reqs[id];
            (r.party, r.kind, r.tab, r.attempt)
        };
        match party {
            Party::User => match answer {
                Answer::Proceed(token) => {
                    if let Some(t) = token {
                        // Last response wins: out-of-order responses can move the jar back.
                        let (old, new) = (self.jar, t);
                        self.note(now, || format!("  user jar {old:?} -> #{new}"));
                        self.jar = Some(t);
                    }
                    if kind == Kind::Advance {
                        // The page fans out its API calls with whatever the jar holds then.
                        let k = self.rng.range_incl(0, 6);
                        for _ in 0..k {
                            let at = now + self.rng.range(0, 300);
                            self.q.push(
                                at,
                                Ev::Send {
                                    kind: Kind::Read,
                                    tab,
                                    attempt: 0,
                                },
                            );
                        }
                    }
                }
                Answer::Clear => self.jar = None,
                Answer::Retry => {
                    if kind == Kind::Advance && attempt < 5 {
                        let at = now + self.rng.range(1_000, 3_000);
                        self.q.push(
                            at,
                            Ev::Send {
                                kind,
                                tab,
                                attempt: attempt + 1,
                            },
                        );
                    }
                }
            },
            Party::Thief => {
                let Some(t) = self.thief.as_mut() else {
                    return;
                };
                match answer {
                    Answer::Proceed(Some(tok)) => t.jar = Some(tok),
                    Answer::Proceed(None) => {}
                    Answer::Clear => t.jar = None,
                    Answer::Retry => {
                        if attempt < 5 {
                            self.q.push(
                                now + 1_000,
                                Ev::ThiefUse {
                                    attempt: attempt + 1,
                                },
                            );
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{CLEAN, TARGET};
    use rolltoken::keys::KeyMaterial;
    use rolltoken::policy::Grace;

    fn keys() -> Keyring {
        Keyring::new(&[KeyMaterial::new(1, [9; 32])], 1).expect("keyring")
    }

    fn adaptive() -> Policy {
        Policy {
            grace: Grace::Adaptive {
                min_ms: 5_000,
                max_ms: 60_000,
            },
            ..Policy::default()
        }
    }

    #[test]
    fn a_session_is_a_pure_function_of_its_seed() {
        let k = keys();
        let thief = Some(Thief {
            mode: ThiefMode::Periodic,
            binding: ThiefBinding::Other,
        });
        for seed in 0..20 {
            let a = run_session(&k, adaptive(), TARGET, thief, seed);
            let b = run_session(&k, adaptive(), TARGET, thief, seed);
            assert_eq!(a, b);
        }
        let a = run_session(&k, adaptive(), TARGET, None, 1);
        let b = run_session(&k, adaptive(), TARGET, None, 2);
        assert_ne!(a, b);
    }

    #[test]
    fn honest_traffic_without_faults_is_never_logged_out() {
        let k = keys();
        for seed in 0..50 {
            let r = run_session(&k, Policy::default(), CLEAN, None, seed);
            assert!(r.requests > 10, "{r:?}");
            assert!(r.user_advances > 0);
            assert_eq!(r.false_logout, None, "seed {seed}: {r:?}");
            assert!(!r.theft && r.revoked.is_none());
        }
    }

    #[test]
    fn a_thief_on_another_binding_who_keeps_going_is_caught() {
        let k = keys();
        let thief = Some(Thief {
            mode: ThiefMode::Eager,
            binding: ThiefBinding::Other,
        });
        let mut caught = 0;
        for seed in 0..50 {
            let r = run_session(&k, adaptive(), CLEAN, thief, seed);
            assert!(r.theft);
            if let Some(rev) = r.revoked {
                caught += 1;
                assert!(rev.requests >= 1);
                assert!(rev.user_advances + rev.thief_advances >= 1);
            }
        }
        assert_eq!(caught, 50);
    }
}
