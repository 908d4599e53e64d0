//! Markdown tables of the results (printed, and written to `docs/simulation.md`).

use core::fmt::Write as _;

use crate::scenario::{GraceChoice, Scenario};
use crate::stats::{Cell, quantile, ratio};

/// One row of a scenario's table.
pub type Row = (GraceChoice, Cell);

/// `k` of `n` as a percentage, or the 95% upper bound for zero (rule of three).
pub fn rate(k: u64, n: u64) -> String {
    if n == 0 {
        "-".into()
    } else if k == 0 {
        format!("0 (< {} at 95%)", pct(3.0 / n as f64))
    } else {
        pct(ratio(k, n))
    }
}

/// A fraction as a percentage with sensible digits.
pub fn pct(f: f64) -> String {
    let p = f * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p >= 10.0 {
        format!("{p:.1}%")
    } else if p >= 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{p:.4}%")
    }
}

fn q(v: &[u64], p: f64) -> String {
    quantile(v, p).map_or("-".into(), |x| x.to_string())
}

/// The `p`-quantile of `v` (ms) in whole seconds, or `-`.
pub fn qs(v: &[u64], p: f64) -> String {
    quantile(v, p).map_or("-".into(), |x| format!("{:.0}", x as f64 / 1000.0))
}

fn label(g: &GraceChoice) -> String {
    if g.is_default {
        format!("**{}**", g.label)
    } else {
        g.label.to_string()
    }
}

/// The heading and table of one scenario.
pub fn scenario_table(sc: &Scenario, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### `{}`\n\n{}.\n", sc.key, sc.about);
    if sc.thief.is_none() {
        s.push_str(
            "| grace | sessions | requests | false logouts | rate | rule-2 answers | rule-3 answers | retryable refusals | lost CAS |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for (g, c) in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                label(g),
                c.sessions,
                c.requests,
                c.false_logouts,
                rate(c.false_logouts, c.sessions),
                c.tally.concurrent,
                c.tally.lost_response + c.tally.jar_behind,
                c.tally.grace_exhausted + c.tally.busy,
                c.tally.conflicts,
            );
        }
    } else {
        s.push_str(
            "| grace | sessions | thefts | false logouts before the thief acted | detected | detection rate | revoked on a request of user / thief | requests copy→revocation p50 / p99 | slower party's page loads p50 / p99 / max | seconds copy→revocation p50 / p99 |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for (g, c) in rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} / {} / {} | {} / {} |",
                label(g),
                c.sessions,
                c.thefts,
                c.false_logouts,
                c.detected,
                pct(c.detection_rate()),
                c.revoked_by_user,
                c.revoked_by_thief,
                q(&c.requests_to_revoke, 0.5),
                q(&c.requests_to_revoke, 0.99),
                q(&c.slower_advances, 0.5),
                q(&c.slower_advances, 0.99),
                q(&c.slower_advances, 1.0),
                qs(&c.ms_to_revoke, 0.5),
                qs(&c.ms_to_revoke, 0.99),
            );
        }
    }
    let causes: Vec<_> = rows
        .iter()
        .filter(|(_, c)| !c.false_logout_kinds.is_empty())
        .collect();
    if !causes.is_empty() {
        s.push_str("\nFalse logouts by cause (verdict: how far behind the presented token was, the grace window, whether the current token had been presented, the user's binding against the last advance's):\n\n");
        for (g, c) in causes {
            let mut kinds: Vec<_> = c.false_logout_kinds.iter().collect();
            kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = kinds
                .iter()
                .take(4)
                .map(|(k, n)| format!("{n} × {k}"))
                .collect();
            let more = kinds.len().saturating_sub(4);
            let _ = writeln!(
                s,
                "- {}: {}{}",
                g.label,
                list.join("; "),
                if more > 0 {
                    format!("; and {more} other kinds")
                } else {
                    String::new()
                }
            );
        }
    }
    s.push('\n');
    s
}

/// One point of the trade-off curve.
#[derive(Debug, Clone)]
pub struct CurvePoint {
    /// Window length (s); `None` for the adaptive default.
    pub secs: Option<f64>,
    /// Label.
    pub label: String,
    /// The design's default (adaptive 5-60 s).
    pub is_default: bool,
    /// honest-target.
    pub target: Cell,
    /// honest-harsh.
    pub harsh: Cell,
    /// thief-periodic-other.
    pub thief: Cell,
}

/// The trade-off table.
pub fn curve_table(points: &[CurvePoint]) -> String {
    let mut s = String::from(
        "| grace | false logouts, target faults | false logouts, harsh faults | detection, thief every 30 s | slower party's page loads p50 / p99 / max | seconds copy→revocation p50 / p99 |\n|---|--:|--:|--:|--:|--:|\n",
    );
    for p in points {
        let _ = writeln!(
            s,
            "| {} | {} of {} ({}) | {} of {} ({}) | {} of {} | {} / {} / {} | {} / {} |",
            p.label,
            p.target.false_logouts,
            p.target.sessions,
            pct(p.target.false_logout_rate()),
            p.harsh.false_logouts,
            p.harsh.sessions,
            pct(p.harsh.false_logout_rate()),
            p.thief.detected,
            p.thief.thefts,
            q(&p.thief.slower_advances, 0.5),
            q(&p.thief.slower_advances, 0.99),
            q(&p.thief.slower_advances, 1.0),
            qs(&p.thief.ms_to_revoke, 0.5),
            qs(&p.thief.ms_to_revoke, 0.99),
        );
    }
    s
}
