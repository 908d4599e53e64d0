//! Running a population of sessions (in parallel, deterministically) and summing it up.

use std::collections::BTreeMap;

use rolltoken::keys::Keyring;
use rolltoken::policy::Policy;

use crate::rng::derive;
use crate::scenario::Scenario;
use crate::world::{Party, SessionResult, Tally, run_session};

/// The summary of one (scenario, grace policy) cell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    /// Sessions simulated.
    pub sessions: u64,
    /// Requests that reached a server.
    pub requests: u64,
    /// The users' page loads.
    pub user_advances: u64,
    /// Sessions whose honest user was refused with a cleared cookie before any thief acted.
    pub false_logouts: u64,
    /// Those, by verdict (and how far behind, for reuse).
    pub false_logout_kinds: BTreeMap<String, u64>,
    /// Sessions where the thief used its copy.
    pub thefts: u64,
    /// Of those, revoked as reuse.
    pub detected: u64,
    /// Revoked on a request of the user.
    pub revoked_by_user: u64,
    /// Revoked on a request of the thief.
    pub revoked_by_thief: u64,
    /// Per detection: requests after the copy until the revocation.
    pub requests_to_revoke: Vec<u64>,
    /// Per detection: page loads of the slower party.
    pub slower_advances: Vec<u64>,
    /// Per detection: seconds from the copy (as ms).
    pub ms_to_revoke: Vec<u64>,
    /// Verdict counts.
    pub tally: Tally,
}

impl Cell {
    fn add_session(&mut self, r: &SessionResult) {
        self.sessions += 1;
        self.requests += r.requests;
        self.user_advances += r.user_advances;
        self.tally.add(&r.tally);
        if let Some(v) = r.false_logout {
            self.false_logouts += 1;
            let mut name = v.rule().name().to_string();
            if let Some(how) = &r.false_logout_how {
                name = format!("{name}: {how}");
            }
            *self.false_logout_kinds.entry(name).or_default() += 1;
        }
        if r.theft {
            self.thefts += 1;
        }
        if let Some(rev) = r.revoked {
            self.detected += 1;
            match rev.by {
                Party::User => self.revoked_by_user += 1,
                Party::Thief => self.revoked_by_thief += 1,
            }
            self.requests_to_revoke.push(rev.requests);
            self.slower_advances.push(rev.slower_party_advances());
            self.ms_to_revoke.push(rev.ms_after_copy);
        }
    }

    fn merge(&mut self, o: Cell) {
        self.sessions += o.sessions;
        self.requests += o.requests;
        self.user_advances += o.user_advances;
        self.false_logouts += o.false_logouts;
        for (k, v) in o.false_logout_kinds {
            *self.false_logout_kinds.entry(k).or_default() += v;
        }
        self.thefts += o.thefts;
        self.detected += o.detected;
        self.revoked_by_user += o.revoked_by_user;
        self.revoked_by_thief += o.revoked_by_thief;
        self.requests_to_revoke.extend(o.requests_to_revoke);
        self.slower_advances.extend(o.slower_advances);
        self.ms_to_revoke.extend(o.ms_to_revoke);
        self.tally.add(&o.tally);
    }

    fn sort(&mut self) {
        self.requests_to_revoke.sort_unstable();
        self.slower_advances.sort_unstable();
        self.ms_to_revoke.sort_unstable();
    }

    /// False logouts per session.
    pub fn false_logout_rate(&self) -> f64 {
        ratio(self.false_logouts, self.sessions)
    }

    /// Detected thefts per theft.
    pub fn detection_rate(&self) -> f64 {
        ratio(self.detected, self.thefts)
    }
}

/// `a / b`, 0 when `b` is 0.
pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The `q`-quantile (0..=1) of sorted `v` by nearest rank; `None` when empty.
pub fn quantile(v: &[u64], q: f64) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let rank = (q * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len()) - 1).copied()
}

/// The seed of session `i` of scenario `sc` in a run seeded `seed`: the same for every grace
/// policy (so the policies are compared on the same users) and every thread count.
pub fn session_seed(seed: u64, sc: &Scenario, i: u64) -> u64 {
    let stream = derive(&sc.key.bytes().map(u64::from).collect::<Vec<_>>());
    derive(&[seed, stream, i])
}

/// Simulates `sessions` sessions of `sc` under `policy` on `threads` threads. Session `i`
/// always gets the seed `derive(seed, scenario, i)`, whatever the policy and the thread
/// count, so the result is a pure function of the arguments and every policy meets the same
/// users.
pub fn run_cell(
    keys: &Keyring,
    policy: Policy,
    sc: &Scenario,
    sessions: u64,
    seed: u64,
    threads: usize,
) -> Cell {
    let threads = threads.max(1) as u64;
    let mut total = Cell::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut cell = Cell::default();
                    let mut i = t;
                    while i < sessions {
                        let r = run_session(
                            keys,
                            policy,
                            sc.faults,
                            sc.thief,
                            session_seed(seed, sc, i),
                        );
                        cell.add_session(&r);
                        i += threads;
                    }
                    cell
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(c) => total.merge(c),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    });
    total.sort();
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), Some(50));
        assert_eq!(quantile(&v, 0.99), Some(99));
        assert_eq!(quantile(&v, 1.0), Some(100));
        assert_eq!(quantile(&v, 0.0), Some(1));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.99), Some(7));
    }
}
