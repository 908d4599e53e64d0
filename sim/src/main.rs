//! rolltoken-sim: the theft-and-race simulator (issue 8).
//!
//! Browsers with several tabs, lost responses, retries and jittery networks, server processes
//! with skewed clocks on one store, and thieves who copy the cookie, all driving the real
//! `rolltoken` façade. The default run sweeps grace policies over every scenario, prints the
//! tables and writes `docs/simulation.md` and `docs/simulation.png`; `--smoke` is the short
//! self-check that `make test` runs. See `sim/src/model.md` for what is simulated.

mod plot;
mod queue;
mod report;
mod rng;
mod scenario;
mod stats;
mod world;

use core::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use rolltoken::keys::{KeyMaterial, Keyring};

use crate::plot::{Canvas, Panel, SERIES, Series};
use crate::report::{CurvePoint, Row, pct, qs};
use crate::scenario::{GraceChoice, Scenario};
use crate::stats::{Cell, quantile, run_cell};

/// The seed of the default run (the figures in `docs/simulation.md`).
const DEFAULT_SEED: u64 = 2026;

const USAGE: &str = "usage: rolltoken-sim [--smoke] [--seed N] [--scale F] [--threads N] [--out DIR] [--no-write] [--only SCENARIO] [--trace SCENARIO POLICY_INDEX SESSION_INDEX]";

#[derive(Debug)]
struct Args {
    smoke: bool,
    seed: u64,
    scale: f64,
    threads: usize,
    out: PathBuf,
    write: bool,
    only: Option<String>,
    trace: Option<(String, usize, u64)>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        smoke: false,
        seed: DEFAULT_SEED,
        scale: 1.0,
        threads: std::thread::available_parallelism().map_or(2, usize::from),
        out: Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new(".."))
            .join("docs"),
        write: true,
        only: None,
        trace: None,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, what: &str| -> Result<String, String> {
        v.ok_or_else(|| format!("{what} needs a value"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" => a.smoke = true,
            "--seed" => {
                a.seed = num(it.next(), "--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--scale" => {
                a.scale = num(it.next(), "--scale")?
                    .parse()
                    .map_err(|e| format!("--scale: {e}"))?
            }
            "--threads" => {
                a.threads = num(it.next(), "--threads")?
                    .parse()
                    .map_err(|e| format!("--threads: {e}"))?;
            }
            "--out" => a.out = PathBuf::from(num(it.next(), "--out")?),
            "--no-write" => a.write = false,
            "--only" => a.only = Some(num(it.next(), "--only")?),
            "--trace" => {
                let sc = num(it.next(), "--trace")?;
                let p = num(it.next(), "--trace")?
                    .parse()
                    .map_err(|e| format!("--trace: {e}"))?;
                let i = num(it.next(), "--trace")?
                    .parse()
                    .map_err(|e| format!("--trace: {e}"))?;
                a.trace = Some((sc, p, i));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.scale.is_nan() || a.scale <= 0.0 {
        return Err("--scale must be positive".into());
    }
    Ok(a)
}

fn keyring() -> Keyring {
    Keyring::new(&[KeyMaterial::new(1, [0x5e; 32])], 1).expect("a valid demo keyring")
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let keys = keyring();
    if let Some((key, p, i)) = &args.trace {
        return trace(&keys, &args, key, *p, *i);
    }
    if args.smoke {
        return smoke(&keys, &args);
    }
    full(&keys, &args)
}

fn trace(keys: &Keyring, args: &Args, key: &str, p: usize, i: u64) -> ExitCode {
    let Some(sc) = scenario::all(1.0).into_iter().find(|s| s.key == key) else {
        eprintln!("no scenario {key}");
        return ExitCode::from(2);
    };
    let Some(g) = scenario::sweep().get(p).copied() else {
        eprintln!(
            "policy index {p} is not in the sweep (0..{})",
            scenario::sweep().len()
        );
        return ExitCode::from(2);
    };
    let seed = stats::session_seed(args.seed, &sc, i);
    eprintln!(
        "{} / {} / session {i} (seed {})",
        sc.key, g.label, args.seed
    );
    let r = world::trace_session(keys, g.policy(), sc.faults, sc.thief, seed);
    eprintln!("{r:#?}");
    ExitCode::SUCCESS
}

/// The short self-check for `make test`: the simulator must see no false logout without
/// faults, must see them with a 1 s window under the target's faults (the faults are real),
/// must catch a thief who keeps using the session, and must be deterministic.
fn smoke(keys: &Keyring, args: &Args) -> ExitCode {
    let start = Instant::now();
    let scs = scenario::all(1.0);
    let find = |k: &str| {
        scs.iter()
            .find(|s| s.key == k)
            .copied()
            .expect("known scenario")
    };
    let sweep = scenario::sweep();
    let default = sweep
        .iter()
        .find(|g| g.is_default)
        .copied()
        .expect("a default");
    let one_s = sweep[0];
    let threads = args.threads;
    let mut passed = 0;
    let mut failed = 0;
    let mut check = |name: &str, ok: bool, detail: String| {
        println!(
            "smoke: {} {name}: {detail}",
            if ok { "ok  " } else { "FAIL" }
        );
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    };

    let clean = run_cell(
        keys,
        default.policy(),
        &find("honest-clean"),
        1_000,
        args.seed,
        threads,
    );
    check(
        "no faults, no thief: no false logout",
        clean.false_logouts == 0 && clean.requests > 0,
        format!(
            "{} false logouts in {} sessions ({} requests)",
            clean.false_logouts, clean.sessions, clean.requests
        ),
    );
    let target = run_cell(
        keys,
        default.policy(),
        &find("honest-target"),
        2_000,
        args.seed,
        threads,
    );
    check(
        "target faults, default grace: no false logout",
        target.false_logouts == 0,
        format!(
            "{} false logouts in {} sessions; {:?}",
            target.false_logouts, target.sessions, target.false_logout_kinds
        ),
    );
    let short = run_cell(
        keys,
        one_s.policy(),
        &find("honest-target"),
        1_000,
        args.seed,
        threads,
    );
    check(
        "target faults, 1 s window: false logouts happen (the faults bite)",
        short.false_logouts > 0,
        format!(
            "{} false logouts in {} sessions",
            short.false_logouts, short.sessions
        ),
    );
    let thief = run_cell(
        keys,
        default.policy(),
        &find("thief-periodic-other"),
        500,
        args.seed,
        threads,
    );
    check(
        "a thief who keeps using the session is detected",
        thief.thefts > 0 && thief.detected > 0 && thief.detected <= thief.thefts,
        format!("{} of {} thefts detected", thief.detected, thief.thefts),
    );
    let once = run_cell(
        keys,
        default.policy(),
        &find("thief-periodic-other"),
        200,
        args.seed,
        1,
    );
    let again = run_cell(
        keys,
        default.policy(),
        &find("thief-periodic-other"),
        200,
        args.seed,
        2,
    );
    check(
        "deterministic for a seed, whatever the thread count",
        once == again,
        format!("{} requests both times", once.requests),
    );
    println!("smoke: ran in {:.1} s", start.elapsed().as_secs_f64());
    println!("smoke: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Results of the default run, by scenario.
struct Results {
    tables: Vec<(Scenario, Vec<Row>)>,
    curve: Vec<CurvePoint>,
}

impl Results {
    fn rows(&self, key: &str) -> Option<&[Row]> {
        self.tables
            .iter()
            .find(|(s, _)| s.key == key)
            .map(|(_, r)| r.as_slice())
    }
}

fn sessions_for(sc: &Scenario, g: &GraceChoice) -> u64 {
    if g.is_default {
        sc.default_sessions
    } else {
        sc.sessions
    }
}

fn full(keys: &Keyring, args: &Args) -> ExitCode {
    let start = Instant::now();
    let sweep = scenario::sweep();
    let mut scs = scenario::all(args.scale);
    if let Some(only) = &args.only {
        scs.retain(|s| s.key == only);
        if scs.is_empty() {
            eprintln!("no scenario {only}");
            return ExitCode::from(2);
        }
    }
    println!(
        "rolltoken-sim: seed {}, {} threads, {} scenarios x {} grace policies\n",
        args.seed,
        args.threads,
        scs.len(),
        sweep.len()
    );
    let mut tables = Vec::new();
    for sc in &scs {
        let rows: Vec<Row> = sweep
            .iter()
            .map(|g| {
                let n = sessions_for(sc, g);
                (
                    *g,
                    run_cell(keys, g.policy(), sc, n, args.seed, args.threads),
                )
            })
            .collect();
        print!("{}", report::scenario_table(sc, &rows));
        tables.push((*sc, rows));
    }
    // The trade-off curve: the sweep's fixed windows plus a few more, on three scenarios.
    let mut extra: Vec<(GraceChoice, [Option<Cell>; 3])> = Vec::new();
    let curve_keys = ["honest-target", "honest-harsh", "thief-periodic-other"];
    if scs.iter().filter(|s| s.on_curve).count() == curve_keys.len() {
        let choices = scenario::CURVE_EXTRA_MS
            .iter()
            .map(|&ms| scenario::curve_point(ms))
            .chain([scenario::ADAPTIVE_10]);
        for g in choices {
            let mut cells: [Option<Cell>; 3] = [None, None, None];
            for (slot, key) in cells.iter_mut().zip(curve_keys) {
                if let Some(sc) = scs.iter().find(|s| s.key == key) {
                    *slot = Some(run_cell(
                        keys,
                        g.policy(),
                        sc,
                        sc.sessions,
                        args.seed,
                        args.threads,
                    ));
                }
            }
            extra.push((g, cells));
        }
    }
    let mut results = Results {
        tables,
        curve: Vec::new(),
    };
    results.curve = build_curve(&results, &extra);
    let elapsed = start.elapsed().as_secs_f64();
    let mut summary = String::new();
    if !results.curve.is_empty() {
        summary.push_str(&report::curve_table(&results.curve));
    }
    let targets = targets_section(&results);
    println!("{summary}\n{targets}");
    println!("finished in {elapsed:.1} s");
    if args.write && args.only.is_none() {
        let md = document(&results, args, elapsed, &summary, &targets);
        let png = figure(&results).png();
        let md_path = args.out.join("simulation.md");
        let png_path = args.out.join("simulation.png");
        if let Err(e) = std::fs::write(&md_path, md).and_then(|()| std::fs::write(&png_path, png)) {
            eprintln!("cannot write {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {} and {}", md_path.display(), png_path.display());
    } else if args.write {
        println!("(--only: not writing the docs)");
    }
    ExitCode::SUCCESS
}

fn build_curve(res: &Results, extra: &[(GraceChoice, [Option<Cell>; 3])]) -> Vec<CurvePoint> {
    let (Some(t), Some(h), Some(th)) = (
        res.rows("honest-target"),
        res.rows("honest-harsh"),
        res.rows("thief-periodic-other"),
    ) else {
        return Vec::new();
    };
    let mut points = Vec::new();
    for (i, (g, c)) in t.iter().enumerate() {
        points.push(CurvePoint {
            secs: g.fixed_secs(),
            label: g.label.to_string(),
            is_default: g.is_default,
            target: c.clone(),
            harsh: h[i].1.clone(),
            thief: th[i].1.clone(),
        });
    }
    for (g, cells) in extra {
        if let [Some(a), Some(b), Some(c)] = cells {
            points.push(CurvePoint {
                secs: g.fixed_secs(),
                label: match g.fixed_secs() {
                    Some(secs) => format!("fixed {secs} s"),
                    None => g.label.to_string(),
                },
                is_default: false,
                target: a.clone(),
                harsh: b.clone(),
                thief: c.clone(),
            });
        }
    }
    // Fixed windows by length, then the adaptive default, then other adaptive windows.
    points.sort_by(|a, b| match (a.secs, b.secs) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => core::cmp::Ordering::Less,
        (None, Some(_)) => core::cmp::Ordering::Greater,
        (None, None) => b.is_default.cmp(&a.is_default),
    });
    points
}

/// The targets of issue 8, measured against the default (adaptive) grace.
fn targets_section(res: &Results) -> String {
    let mut s = String::new();
    let default_of = |key: &str| {
        res.rows(key)
            .and_then(|rows| rows.iter().find(|(g, _)| g.is_default))
            .map(|(_, c)| c.clone())
    };
    let verdict = |ok: bool| if ok { "**met**" } else { "**missed**" };
    if let Some(c) = default_of("honest-target") {
        let ok = c.false_logouts == 0 && c.sessions >= 100_000;
        let _ = writeln!(
            s,
            "1. 0 false logouts in 10^5 honest sessions with up to 5% lost responses and up to 2 s of jitter: {} ({} false logouts in {} sessions, {} requests).",
            verdict(ok),
            c.false_logouts,
            c.sessions,
            c.requests
        );
    }
    let mut det = Vec::new();
    let mut p99 = Vec::new();
    for (sc, rows) in &res.tables {
        if !sc.detection_target {
            continue;
        }
        if let Some((_, c)) = rows.iter().find(|(g, _)| g.is_default) {
            det.push((sc.key, c.detected, c.thefts));
            p99.push((
                sc.key,
                quantile(&c.slower_advances, 0.99),
                quantile(&c.slower_advances, 1.0),
            ));
        }
    }
    if !det.is_empty() {
        let ok = det.iter().all(|(_, d, t)| d == t && *t > 0);
        let list: Vec<String> = det
            .iter()
            .map(|(k, d, t)| format!("`{k}` {d} of {t}"))
            .collect();
        let _ = writeln!(
            s,
            "2. 100% detection when thief and user both keep using the session (thief on another binding or another network): {} ({}).",
            verdict(ok),
            list.join(", ")
        );
        let ok = p99.iter().all(|(_, p, _)| p.is_some_and(|v| v <= 2));
        let list: Vec<String> = p99
            .iter()
            .map(|(k, p, m)| {
                format!(
                    "`{k}` p99 {} (max {})",
                    p.map_or("-".into(), |v| v.to_string()),
                    m.map_or("-".into(), |v| v.to_string())
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "3. p99 detection within 2 advancing requests (page loads) of the slower party: {} ({}).",
            verdict(ok),
            list.join(", ")
        );
    }
    s
}

/// What the curve suggests, computed from it: the shortest fixed window without false
/// logouts under the target's faults, and the longest that meets the detection bound.
fn suggestion(curve: &[CurvePoint]) -> String {
    let fixed: Vec<&CurvePoint> = curve.iter().filter(|p| p.secs.is_some()).collect();
    let p99 = |p: &CurvePoint| quantile(&p.thief.slower_advances, 0.99).unwrap_or(u64::MAX);
    let full = |p: &CurvePoint| p.thief.detected == p.thief.thefts;
    let safe = fixed.iter().find(|p| p.target.false_logouts == 0);
    let safe_harsh = fixed
        .iter()
        .find(|p| p.target.false_logouts == 0 && p.harsh.false_logouts == 0);
    let fast = fixed.iter().rev().find(|p| p99(p) <= 2 && full(p));
    let both = fixed
        .iter()
        .find(|p| p.target.false_logouts == 0 && p99(p) <= 2 && full(p));
    let mut s = String::new();
    match both {
        Some(p) => {
            let _ = writeln!(
                s,
                "- The shortest fixed window that meets both the false-logout and the detection targets is {} ({} false logouts in {}; p99 {} page loads of the slower party).",
                p.label,
                p.target.false_logouts,
                p.target.sessions,
                p99(p)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "- No window on the curve meets both targets: they pull in opposite directions."
            );
        }
    }
    if let Some(p) = safe {
        let _ = writeln!(
            s,
            "- The shortest fixed window with no false logout under the target's faults is {}: detection {} of {}, p99 {} page loads of the slower party, p99 {} s from the copy.",
            p.label,
            p.thief.detected,
            p.thief.thefts,
            p99(p),
            qs(&p.thief.ms_to_revoke, 0.99)
        );
    }
    if let Some(p) = safe_harsh {
        let _ = writeln!(
            s,
            "- The shortest with none under the harsh faults too (5 s jitter tails, 10% loss, clocks 2 s apart) is {}: p99 {} page loads, p99 {} s.",
            p.label,
            p99(p),
            qs(&p.thief.ms_to_revoke, 0.99)
        );
    }
    if let Some(p) = fast {
        let _ = writeln!(
            s,
            "- The longest fixed window that meets the detection bound (100%, p99 <= 2) is {}, where {} of {} honest sessions under the target's faults are logged out ({}).",
            p.label,
            p.target.false_logouts,
            p.target.sessions,
            pct(p.target.false_logout_rate())
        );
    }
    for a in curve.iter().filter(|p| p.secs.is_none()) {
        let _ = writeln!(
            s,
            "- {}: {} false logouts in {} (target faults), {} in {} (harsh faults); detection {} of {}, p99 {} page loads, p99 {} s.",
            a.label,
            a.target.false_logouts,
            a.target.sessions,
            a.harsh.false_logouts,
            a.harsh.sessions,
            a.thief.detected,
            a.thief.thefts,
            p99(a),
            qs(&a.thief.ms_to_revoke, 0.99)
        );
    }
    if let Some(d) = curve.iter().find(|p| p.is_default) {
        let dp = p99(d);
        let meets_1_2 = d.target.false_logouts == 0 && full(d);
        if meets_1_2 && both.is_none() {
            let _ = write!(
                s,
                "\n**What the curve suggests.** Keep the adaptive 5-60 s default: it logs no honest session out under the target's faults and detects every thief who keeps using the session. No window reaches a p99 of 2 page loads without logging honest users out{}, so the curve argues for restating target 3 as p99 <= {dp} page loads of the slower party (median {}, p99 {} s from the copy) rather than for a shorter window. ",
                fast.map_or(String::new(), |f| format!(
                    " ({} logs out {} of sessions under the target's faults)",
                    f.label,
                    pct(f.target.false_logout_rate())
                )),
                quantile(&d.thief.slower_advances, 0.5).unwrap_or(0),
                qs(&d.thief.ms_to_revoke, 0.99),
            );
            if d.harsh.false_logouts > 0
                && let Some(h) = safe_harsh
            {
                let _ = writeln!(
                    s,
                    "Its 5 s minimum is what sets its behaviour: under 5 s latency tails it logs out {} of sessions, where {} logs out none at p99 {} page loads and {} s; deployments with such tails should raise the minimum.",
                    pct(d.harsh.false_logout_rate()),
                    h.label,
                    p99(h),
                    qs(&h.thief.ms_to_revoke, 0.99)
                );
            } else {
                s.push('\n');
            }
        }
    }
    s
}

fn document(res: &Results, args: &Args, elapsed: f64, curve: &str, targets: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Theft-and-race simulation\n");
    let mut command = String::from("cargo run --release -p rolltoken-sim");
    if args.seed != DEFAULT_SEED || args.scale != 1.0 {
        let _ = write!(command, " -- --seed {}", args.seed);
        if args.scale != 1.0 {
            let _ = write!(command, " --scale {}", args.scale);
        }
    }
    let _ = writeln!(
        s,
        "Generated by `{command}` (`make sim`: seed {}) on {} threads in {:.0} s; do not edit by hand. Every figure below comes from the real core (`Sessions` over a `MemoryStore`), not from a model of it. The same seed gives the same tables on any machine and thread count.\n",
        args.seed, args.threads, elapsed
    );
    s.push_str(include_str!("model.md"));
    let _ = writeln!(
        s,
        "\n## Targets (issue 8), with the default adaptive grace (5-60 s)\n"
    );
    s.push_str(targets);
    let _ = writeln!(s, "\n## Trade-off: false logouts against detection\n");
    s.push_str(
        "Fixed windows from 1 s to 30 s and the adaptive default, on the target's honest traffic, the harsh honest traffic, and the thief who uses the copy every 30 s from another binding (`thief-periodic-other`). Rows of the sweep use the sessions of its tables; the 3, 4, 7 and 15 s rows and adaptive 10-60 s as many as the fixed rows.\n\n",
    );
    s.push_str(curve);
    s.push_str(
        "\n![False-logout rate and detection delay against the grace window](simulation.png)\n\n",
    );
    s.push_str(&suggestion(&res.curve));
    s.push('\n');
    s.push_str(include_str!("notes.md"));
    let _ = writeln!(s, "\n## Tables by scenario\n");
    s.push_str("Column guide: *false logouts* are sessions whose honest user got a cookie-clearing refusal while no thief had used the copy; *rule-2 answers* are stale tokens answered inside the window; *rule-3 answers* are `lost_response` and `cookie_jar_behind`; *retryable refusals* are `grace_exhausted` and `busy`; *lost CAS* are compare-and-swap saves that lost a race between server processes and were decided again. In thief scenarios *detected* means the session was revoked as reuse after the thief's first use; the *slower party's page loads* are the page loads (advancing requests) made between the copy and the revocation by whichever party made fewer of them.\n\n");
    for (sc, rows) in &res.tables {
        s.push_str(&report::scenario_table(sc, rows));
    }
    let _ = writeln!(s, "## Reproduce\n");
    let _ = writeln!(
        s,
        "```sh\nmake sim                                              # this page and simulation.png\ncargo run --release -p rolltoken-sim -- --seed {}     # the same run by hand\ncargo run --release -p rolltoken-sim -- --seed 7 --no-write   # another seed, tables only\ncargo run --release -p rolltoken-sim -- --only honest-roaming --scale 5 --no-write\ncargo run --release -p rolltoken-sim -- --trace thief-eager-other 5 0   # one session, event by event\ncargo run --release -p rolltoken-sim -- --smoke       # the self-check in make test\n```",
        args.seed
    );
    s
}

/// Four panels: false-logout rate, detection delay (s), the slower party's page loads, and
/// the thefts left undetected.
fn figure(res: &Results) -> Canvas {
    let curve = &res.curve;
    let mut c = Canvas::new(1200, 940);
    let fixed: Vec<&CurvePoint> = curve.iter().filter(|p| p.secs.is_some()).collect();
    let adaptive = curve.iter().find(|p| p.is_default);
    let series = |label: &str, color: u8, dashed: bool, f: &dyn Fn(&CurvePoint) -> f64| Series {
        label: label.to_string(),
        color,
        dashed,
        points: fixed
            .iter()
            .map(|p| (p.secs.unwrap_or(1.0), f(p)))
            .collect(),
        adaptive: adaptive.map(f),
    };
    // Scenarios outside the curve, at the sweep's windows only.
    let sweep_series = |key: &str, label: &str, color: u8| {
        let rows = res.rows(key).unwrap_or(&[]);
        Series {
            label: label.to_string(),
            color,
            dashed: true,
            points: rows
                .iter()
                .filter_map(|(g, c)| {
                    g.fixed_secs()
                        .map(|x| (x, 100.0 * (1.0 - c.detection_rate())))
                })
                .collect(),
            adaptive: rows
                .iter()
                .find(|(g, _)| g.is_default)
                .map(|(_, c)| 100.0 * (1.0 - c.detection_rate())),
        }
    };
    let secs = |v: &[u64], q: f64| quantile(v, q).map_or(0.0, |x| x as f64 / 1000.0);
    let panels = [
        Panel {
            title: "false logouts, % of honest sessions".into(),
            y_label: "% of sessions".into(),
            series: vec![
                series(
                    "target faults (5% loss, 2 s jitter, clocks +-0.5 s)",
                    SERIES[0],
                    false,
                    &|p| 100.0 * p.target.false_logout_rate(),
                ),
                series(
                    "harsh faults (10% loss, 5 s jitter, clocks +-2 s)",
                    SERIES[1],
                    false,
                    &|p| 100.0 * p.harsh.false_logout_rate(),
                ),
            ],
            reference: None,
            y_max: Some(20.0),
        },
        Panel {
            title: "copy to revocation, thief every 30 s".into(),
            y_label: "seconds".into(),
            series: vec![
                series("median", SERIES[2], false, &|p| {
                    secs(&p.thief.ms_to_revoke, 0.5)
                }),
                series("p99", SERIES[3], true, &|p| {
                    secs(&p.thief.ms_to_revoke, 0.99)
                }),
            ],
            reference: None,
            y_max: Some(300.0),
        },
        Panel {
            title: "slower party's page loads to revocation".into(),
            y_label: "page loads".into(),
            series: vec![
                series("median", SERIES[2], false, &|p| {
                    quantile(&p.thief.slower_advances, 0.5).unwrap_or(0) as f64
                }),
                series("p99", SERIES[3], true, &|p| {
                    quantile(&p.thief.slower_advances, 0.99).unwrap_or(0) as f64
                }),
            ],
            reference: Some((2.0, "target: p99 <= 2".into())),
            y_max: Some(10.0),
        },
        Panel {
            title: "thefts not detected, %".into(),
            y_label: "% of thefts".into(),
            series: vec![
                series(
                    "thief every 30 s (both keep using)",
                    SERIES[0],
                    false,
                    &|p| 100.0 * (1.0 - p.thief.detection_rate()),
                ),
                sweep_series(
                    "thief-atonce-other",
                    "one use within 1 s of the copy",
                    SERIES[1],
                ),
                sweep_series(
                    "thief-once-other",
                    "one use 0.5 s-10 min after the copy",
                    SERIES[2],
                ),
            ],
            reference: None,
            y_max: None,
        },
    ];
    let ticks = [1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0];
    for (i, p) in panels.iter().enumerate() {
        let (x, y) = ((i % 2) as i64 * 600, (i / 2) as i64 * 455);
        plot::draw_panel(&mut c, (x, y, 600, 455), p, &ticks);
    }
    c.text(10, 922, "hollow markers right of the dashed line: adaptive grace 5-60 s (the default). data: docs/simulation.md", plot::GREY, 1);
    c
}
