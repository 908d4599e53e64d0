//! The scenarios and the grace policies of the sweep.

use rolltoken::policy::{Grace, Policy};

use crate::world::{Faults, Thief, ThiefBinding, ThiefMode};

/// The target's conditions: up to 5% lost responses and up to 2 s of jitter (here: exactly
/// 5%, and a 2 s cap on each direction), with 3 server processes whose clocks are up to
/// 0.5 s off, and 1–3 tabs.
pub const TARGET: Faults = Faults {
    loss: 0.05,
    jitter_ms: 2_000,
    skew_ms: 500,
    servers: 3,
    max_tabs: 3,
    roaming: false,
};

/// No faults: one server, no loss, at most 50 ms of jitter.
pub const CLEAN: Faults = Faults {
    loss: 0.0,
    jitter_ms: 50,
    skew_ms: 0,
    servers: 1,
    max_tabs: 3,
    roaming: false,
};

/// Beyond the target: 10% loss, 5 s jitter tails, clocks 2 s apart, up to 4 tabs.
pub const HARSH: Faults = Faults {
    loss: 0.10,
    jitter_ms: 5_000,
    skew_ms: 2_000,
    servers: 3,
    max_tabs: 4,
    roaming: false,
};

/// One simulated population.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Short name (also the seed stream).
    pub key: &'static str,
    /// One line for the table's heading.
    pub about: &'static str,
    /// Network and deployment.
    pub faults: Faults,
    /// The thief, if any.
    pub thief: Option<Thief>,
    /// Sessions per fixed grace policy in the default run.
    pub sessions: u64,
    /// Sessions under the default (adaptive) grace in the default run.
    pub default_sessions: u64,
    /// The detection targets apply: thief and user both keep using the session, and the
    /// thief is not on the user's own binding (which the design forgives by rule 3).
    pub detection_target: bool,
    /// The scenario is on the trade-off curve (extra fixed windows).
    pub on_curve: bool,
}

const fn thief(mode: ThiefMode, binding: ThiefBinding) -> Option<Thief> {
    Some(Thief { mode, binding })
}

/// Every scenario of the default run, honest ones first.
pub fn all(scale: f64) -> Vec<Scenario> {
    let n = |base: u64| ((base as f64 * scale).round() as u64).max(1);
    let thief_faults = TARGET;
    vec![
        Scenario {
            key: "honest-clean",
            about: "no thief, no faults (1 server, no loss, jitter <= 50 ms), 1-3 tabs",
            faults: CLEAN,
            thief: None,
            sessions: n(500),
            default_sessions: n(500),
            detection_target: false,
            on_curve: false,
        },
        Scenario {
            key: "honest-target",
            about: "no thief; the target's faults: 5% lost responses, jitter up to 2 s each way, 3 servers with clocks +-0.5 s, 1-3 tabs",
            faults: TARGET,
            thief: None,
            sessions: n(2_000),
            default_sessions: n(100_000),
            detection_target: false,
            on_curve: true,
        },
        Scenario {
            key: "honest-harsh",
            about: "no thief; 10% lost responses, jitter up to 5 s each way, clocks +-2 s, 1-4 tabs",
            faults: HARSH,
            thief: None,
            sessions: n(1_500),
            default_sessions: n(1_500),
            detection_target: false,
            on_curve: true,
        },
        Scenario {
            key: "honest-roaming",
            about: "no thief; the target's faults, and the browser changes network (Wi-Fi to LTE) once per session",
            faults: Faults {
                roaming: true,
                ..TARGET
            },
            thief: None,
            sessions: n(1_500),
            default_sessions: n(1_500),
            detection_target: false,
            on_curve: false,
        },
        Scenario {
            key: "thief-periodic-other",
            about: "thief on another user agent and network, a page load every 30 s until the user's return visit (both keep using)",
            faults: thief_faults,
            thief: thief(ThiefMode::Periodic, ThiefBinding::Other),
            sessions: n(1_000),
            default_sessions: n(2_500),
            detection_target: true,
            on_curve: true,
        },
        Scenario {
            key: "thief-eager-other",
            about: "thief on another binding, at once after the copy (within 1 s), then every 30 s (both keep using)",
            faults: thief_faults,
            thief: thief(ThiefMode::Eager, ThiefBinding::Other),
            sessions: n(1_000),
            default_sessions: n(2_500),
            detection_target: true,
            on_curve: false,
        },
        Scenario {
            key: "thief-periodic-same-ua",
            about: "thief with the user's user-agent string on another network, every 30 s (both keep using)",
            faults: thief_faults,
            thief: thief(ThiefMode::Periodic, ThiefBinding::SameUa),
            sessions: n(1_000),
            default_sessions: n(2_500),
            detection_target: true,
            on_curve: false,
        },
        Scenario {
            key: "thief-once-other",
            about: "thief on another binding, one page load 0.5 s to 10 min after the copy",
            faults: thief_faults,
            thief: thief(ThiefMode::Once, ThiefBinding::Other),
            sessions: n(1_000),
            default_sessions: n(1_000),
            detection_target: false,
            on_curve: false,
        },
        Scenario {
            key: "thief-atonce-other",
            about: "thief on another binding, one page load within 1 s of the copy, never again",
            faults: thief_faults,
            thief: thief(ThiefMode::AtOnce, ThiefBinding::Other),
            sessions: n(1_000),
            default_sessions: n(1_000),
            detection_target: false,
            on_curve: false,
        },
        Scenario {
            key: "thief-periodic-same",
            about: "thief on the user's own binding (same user agent and network: malware on the device or LAN), every 30 s",
            faults: thief_faults,
            thief: thief(ThiefMode::Periodic, ThiefBinding::Same),
            sessions: n(1_000),
            default_sessions: n(1_000),
            detection_target: false,
            on_curve: false,
        },
        Scenario {
            key: "thief-once-same",
            about: "thief on the user's own binding, one page load 0.5 s to 10 min after the copy",
            faults: thief_faults,
            thief: thief(ThiefMode::Once, ThiefBinding::Same),
            sessions: n(1_000),
            default_sessions: n(1_000),
            detection_target: false,
            on_curve: false,
        },
    ]
}

/// A grace policy of the sweep.
#[derive(Clone, Copy, Debug)]
pub struct GraceChoice {
    /// Table label.
    pub label: &'static str,
    /// The grace setting; everything else is `Policy::default()`.
    pub grace: Grace,
    /// The design's adaptive default (5-60 s).
    pub is_default: bool,
}

impl GraceChoice {
    /// The full policy.
    pub fn policy(&self) -> Policy {
        Policy {
            grace: self.grace,
            ..Policy::default()
        }
    }

    /// Fixed window length in seconds (`None` for adaptive).
    pub fn fixed_secs(&self) -> Option<f64> {
        match self.grace {
            Grace::Fixed { ms } => Some(f64::from(ms) / 1000.0),
            Grace::Adaptive { .. } => None,
        }
    }
}

const fn fixed(label: &'static str, ms: u32) -> GraceChoice {
    GraceChoice {
        label,
        grace: Grace::Fixed { ms },
        is_default: false,
    }
}

/// Extra fixed windows (ms) for the trade-off curve, run on the `on_curve` scenarios.
pub const CURVE_EXTRA_MS: [u32; 4] = [3_000, 4_000, 7_000, 15_000];

/// A fixed window of `ms` for the curve.
pub fn curve_point(ms: u32) -> GraceChoice {
    GraceChoice {
        label: "curve",
        grace: Grace::Fixed { ms },
        is_default: false,
    }
}

/// An alternative adaptive window for the curve: the default's maximum with a 10 s minimum.
pub const ADAPTIVE_10: GraceChoice = GraceChoice {
    label: "adaptive 10-60 s",
    grace: Grace::Adaptive {
        min_ms: 10_000,
        max_ms: 60_000,
    },
    is_default: false,
};

/// The sweep: fixed windows of 1, 2, 5, 10 and 30 s, and adaptive grace.
pub fn sweep() -> Vec<GraceChoice> {
    vec![
        fixed("fixed 1 s", 1_000),
        fixed("fixed 2 s", 2_000),
        fixed("fixed 5 s", 5_000),
        fixed("fixed 10 s", 10_000),
        fixed("fixed 30 s", 30_000),
        GraceChoice {
            label: "adaptive 5-60 s (default)",
            grace: Grace::Adaptive {
                min_ms: 5_000,
                max_ms: 60_000,
            },
            is_default: true,
        },
    ]
}
