//! dudect (Reparaz, Balasch, Verbauwhede 2017) timing test of rolltoken's verify, on the
//! `dudect-bencher` crate: per measurement a random class and a random token of that class,
//! the operation timed alone, Welch's t-test on the raw times and on 100 cropped percentiles;
//! "max t" is the t of largest magnitude among those 101 tests.
//!
//! The operation is verify as a server runs it (and as the C ABI's rt_token_verify does):
//! parse the token text (base64url decode), MAC under the key's precomputed state, compare.
//! Benches, for each tag byte position II (00..15):
//!   {compact,full}_valid_vs_wrongII   Left: a valid token; Right: the same token with tag
//!       byte II changed (random non-zero XOR, re-encoded canonically).
//!   {compact,full}_random_vs_wrongII  Left: the token with a random tag; Right: the token
//!       with only tag byte II changed. Both refused: the verdict (public) is the same in both
//!       classes, so any difference is the compare (or decode) looking at the tag.
//!   control_compact_{valid,random}_vs_wrongII   CONTROL: the compact verify path with the
//!       tags compared by an early-exit loop (same classes). An early exit leaks at small II
//!       in valid_vs_wrong and at large II in random_vs_wrong.
//!   control_compare   CONTROL: the early-exit compare alone, equal tags vs tags that differ
//!       in byte 0.
//!   aa_compact_same_pool, aa_compact_two_pools   DIAGNOSTIC A/A checks of the harness: both
//!       classes from one pool, or from two independent pools of valid tokens.
//! Both classes draw from pools of POOL tokens (CT_POOL overrides) (each its own session) with the same index
//! distribution, drawn afresh every CT_REFRESH (8,192) measurements, stored interleaved in one
//! buffer (token j of each class side by side), and every input is copied into one scratch
//! buffer before it is timed.
//!
//! Usage: dudect --measurements N --control-measurements M [--filter SUBSTRING]... [--list]
//! (a filter starting with `^` matches the start of a bench name only).
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::time::Instant;

use dudect_bencher::ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::Rng;
use dudect_bencher::{BenchRng, Class, CtRunner};
use rolltoken::token::{Form, TAG_LEN};
use rolltoken_ct::{
    Gen, Pool, keyring, leaky_eq, leaky_verify_compact, pool_size, tag_of, verify_compact,
    verify_full,
};

const _: () = assert!(
    TAG_LEN == 16,
    "the per-position bench list below assumes 16 tag bytes"
);

/// One cache-line-aligned input buffer (tokens are at most 115 characters).
#[repr(C, align(64))]
struct Scratch([u8; 128]);

impl Scratch {
    /// The two tags of the compare control: expected at 0, presented at 64.
    fn tags(&self) -> (&[u8; TAG_LEN], &[u8; TAG_LEN]) {
        let a = self.0[..TAG_LEN].try_into().unwrap_or(&[0; TAG_LEN]);
        let b = self.0[64..64 + TAG_LEN].try_into().unwrap_or(&[0; TAG_LEN]);
        (a, b)
    }
}

static MEASUREMENTS: AtomicUsize = AtomicUsize::new(100_000);

static CONTROL_MEASUREMENTS: AtomicUsize = AtomicUsize::new(100_000);

fn measurements() -> usize {
    MEASUREMENTS.load(Ordering::Relaxed)
}

fn control_measurements() -> usize {
    CONTROL_MEASUREMENTS.load(Ordering::Relaxed)
}

/// Fixture generator seeded from the bench's own (printed) seed.
fn gen_from(rng: &mut BenchRng) -> Gen {
    Gen(rng.next_u64())
}

/// Both classes' inputs in one buffer, token j of each class side by side, so that where the
/// inputs are copied from (cache sets, pages, the allocator's placement of two separate
/// pools) is the same for both classes: with two pools, a full token's class could come from
/// memory that the cache treats differently, on every refresh alike.
struct Interleaved {
    bytes: Vec<u8>,
    counters: Vec<u64>,
    len: usize,
}

impl Interleaved {
    fn of((left, right): (Pool, Pool)) -> Interleaved {
        let len = left.text(0).len();
        let mut bytes = Vec::with_capacity(2 * len * pool_size());
        let mut counters = Vec::with_capacity(2 * pool_size());
        for j in 0..pool_size() {
            for pool in [&left, &right] {
                bytes.extend_from_slice(pool.text(j));
                counters.push(pool.counter(j));
            }
        }
        Interleaved {
            bytes,
            counters,
            len,
        }
    }

    fn text(&self, j: usize, side: usize) -> &[u8] {
        let at = (2 * j + side) * self.len;
        &self.bytes[at..at + self.len]
    }

    fn counter(&self, j: usize, side: usize) -> u64 {
        self.counters[2 * j + side]
    }
}

/// How many measurements use one pair of pools before both are drawn afresh: `CT_REFRESH`
/// from the environment (0 = never), else 8,192.
fn refresh_every() -> usize {
    std::env::var("CT_REFRESH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(8192)
}

/// The measurement loop shared by every bench: `n` times, a random token index and a random
/// class, then `op` on that class's token, timed alone by dudect-bencher. The pools come from
/// `fresh` and are replaced every [`refresh_every`] measurements (outside the timed region):
/// with one fixed pool of 1,024 tokens per class, 10^7 measurements resolve the pools' own
/// mean times, which differ by chance if verify's time varies at all with the data (a run's
/// t then depends on its draw: large, with a sign that flips from run to run). Fresh pools
/// make the classes what dudect assumes: distributions, not two fixed samples.
fn measure<T>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    name: &str,
    control: bool,
    mut fresh: impl FnMut() -> (Pool, Pool),
    op: impl Fn(&[u8], u64) -> T,
) {
    let n = if control {
        control_measurements()
    } else {
        measurements()
    };
    // Each input is copied into this one buffer before it is timed, so that both classes are
    // read from the same address (pool placement and alignment cannot differ between classes).
    let mut scratch = Scratch([0u8; 128]);
    let refresh = refresh_every();
    let mut inputs = Interleaved::of(fresh());
    let len = inputs.len;
    let mut pools = 1usize;
    let start = Instant::now();
    for i in 0..n {
        if refresh > 0 && i > 0 && i % refresh == 0 {
            inputs = Interleaved::of(fresh());
            pools += 1;
        }
        let r = rng.next_u64();
        let j = (r as usize) % pool_size();
        let (class, side) = if r >> 63 == 0 {
            (Class::Left, 0)
        } else {
            (Class::Right, 1)
        };
        scratch.0[..len].copy_from_slice(inputs.text(j, side));
        let counter = inputs.counter(j, side);
        // Let the copy (whose loads may miss the cache for one pool more than for the other)
        // complete before the clock starts, so that it cannot overlap the timed operation.
        fence(Ordering::SeqCst);
        let text = black_box(&scratch.0[..len]);
        runner.run_one(class, || op(black_box(text), black_box(counter)));
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "# {name}: {n} measurements over {pools} pool pairs in {secs:.1} s ({:.0} ns each, harness included)",
        secs * 1e9 / n as f64
    );
}

/// Valid tokens of `form` and the same tokens with a random tag (every tag byte replaced;
/// the first difference is then at byte 0 with probability 255/256).
fn random_tags(valid: &Pool, g: &mut Gen) -> Pool {
    let mut out = valid.clone();
    for pos in 0..TAG_LEN {
        out = out.tag_byte_changed(pos, g);
    }
    out
}

/// The classes of one bench, drawn from `g`.
fn classes(family: Family, form: Form, pos: usize, g: &mut Gen) -> (Pool, Pool) {
    let keys = keyring();
    let valid = Pool::valid(&keys, form, g);
    let wrong = valid.tag_byte_changed(pos, g);
    match family {
        Family::ValidVsWrong => (valid, wrong),
        Family::RandomVsWrong => (random_tags(&valid, g), wrong),
    }
}

#[derive(Clone, Copy)]
enum Family {
    /// Left: the valid token; Right: the token with tag byte `pos` changed.
    ValidVsWrong,
    /// Left: the token with a random tag; Right: the token with only tag byte `pos` changed.
    /// Both are refused, so the verdict is the same in both classes.
    RandomVsWrong,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::ValidVsWrong => "valid_vs_wrong",
            Family::RandomVsWrong => "random_vs_wrong",
        }
    }
}

fn bench<const I: usize>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    family: Family,
    form: Form,
    control: bool,
) {
    let keys = keyring();
    let mut g = gen_from(rng);
    let name = format!(
        "{}{}_{}{I:02}",
        if control { "control_" } else { "" },
        form.name(),
        family.name()
    );
    // Every pool pair is checked before it is timed: valid tokens accepted, changed refused.
    let mut fresh = |accepts: &dyn Fn(&[u8], u64) -> bool| {
        let (left, right) = classes(family, form, I, &mut g);
        sanity(&left, &right, family, accepts);
        (left, right)
    };
    match (form, control) {
        (Form::Compact, false) => {
            let accepts = |t: &[u8], c| verify_compact(&keys, t, c) == Ok(true);
            measure(runner, rng, &name, control, || fresh(&accepts), |t, c| {
                verify_compact(&keys, t, c)
            });
        }
        (Form::Full, false) => {
            let accepts = |t: &[u8], _| verify_full(&keys, t).is_ok();
            measure(runner, rng, &name, control, || fresh(&accepts), |t, _| {
                verify_full(&keys, t)
            });
        }
        (_, true) => {
            let accepts = |t: &[u8], c| leaky_verify_compact(&keys, t, c);
            measure(runner, rng, &name, control, || fresh(&accepts), |t, c| {
                leaky_verify_compact(&keys, t, c)
            });
        }
    }
}

fn compact_valid<const I: usize>(r: &mut CtRunner, g: &mut BenchRng) {
    bench::<I>(r, g, Family::ValidVsWrong, Form::Compact, false);
}
fn full_valid<const I: usize>(r: &mut CtRunner, g: &mut BenchRng) {
    bench::<I>(r, g, Family::ValidVsWrong, Form::Full, false);
}
fn compact_random<const I: usize>(r: &mut CtRunner, g: &mut BenchRng) {
    bench::<I>(r, g, Family::RandomVsWrong, Form::Compact, false);
}
fn full_random<const I: usize>(r: &mut CtRunner, g: &mut BenchRng) {
    bench::<I>(r, g, Family::RandomVsWrong, Form::Full, false);
}
fn control_valid<const I: usize>(r: &mut CtRunner, g: &mut BenchRng) {
    bench::<I>(r, g, Family::ValidVsWrong, Form::Compact, true);
}
fn control_random<const I: usize>(r: &mut CtRunner, g: &mut BenchRng) {
    bench::<I>(r, g, Family::RandomVsWrong, Form::Compact, true);
}

/// Diagnostic A/A test: both classes are the same 1,024 valid compact tokens. |t| must stay
/// small; a large one means the harness, not verify, differs between classes.
fn aa_compact_same_pool(runner: &mut CtRunner, rng: &mut BenchRng) {
    let keys = keyring();
    let mut g = gen_from(rng);
    let fresh = || {
        let valid = Pool::valid(&keys, Form::Compact, &mut g);
        (valid.clone(), valid)
    };
    measure(runner, rng, "aa_compact_same_pool", false, fresh, |t, c| {
        verify_compact(&keys, t, c)
    });
}

/// Diagnostic: two independent pools of valid compact tokens (different sessions and tags).
/// A large |t| here means verify's time varies from token to token (with the data), so two
/// finite pools differ in mean time by chance, whatever the classes are.
fn aa_compact_two_pools(runner: &mut CtRunner, rng: &mut BenchRng) {
    let keys = keyring();
    let mut g = gen_from(rng);
    let fresh = || {
        let a = Pool::valid(&keys, Form::Compact, &mut g);
        (a, Pool::valid(&keys, Form::Compact, &mut g))
    };
    measure(runner, rng, "aa_compact_two_pools", false, fresh, |t, c| {
        verify_compact(&keys, t, c)
    });
}

fn control_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (valid, wrong) = classes(Family::ValidVsWrong, Form::Compact, 0, &mut gen_from(rng));
    // The expected tag of token j is the tag of valid token j; the presented one is either.
    let expected: Vec<[u8; TAG_LEN]> = (0..pool_size()).map(|j| tag_of(valid.text(j))).collect();
    let presented_valid: Vec<[u8; TAG_LEN]> = expected.clone();
    let presented_wrong: Vec<[u8; TAG_LEN]> =
        (0..pool_size()).map(|j| tag_of(wrong.text(j))).collect();
    let mut scratch = Scratch([0u8; 128]);
    let n = control_measurements();
    let start = Instant::now();
    for _ in 0..n {
        let r = rng.next_u64();
        let j = (r as usize) % pool_size();
        let (class, presented) = if r >> 63 == 0 {
            (Class::Left, &presented_valid)
        } else {
            (Class::Right, &presented_wrong)
        };
        scratch.0[..TAG_LEN].copy_from_slice(&expected[j]);
        scratch.0[64..64 + TAG_LEN].copy_from_slice(&presented[j]);
        fence(Ordering::SeqCst);
        let (a, b) = black_box(scratch.tags());
        runner.run_one(class, || leaky_eq(black_box(a), black_box(b)));
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("# control_compare: {n} measurements in {secs:.1} s");
}

/// Every valid token is accepted and every changed one refused, before anything is timed.
fn sanity(left: &Pool, right: &Pool, family: Family, accepts: impl Fn(&[u8], u64) -> bool) {
    let left_valid = matches!(family, Family::ValidVsWrong);
    for j in 0..pool_size() {
        if accepts(left.text(j), left.counter(j)) != left_valid
            || accepts(right.text(j), right.counter(j))
        {
            rolltoken_ct::fail("a valid token was refused or a changed one accepted");
        }
    }
}

type BenchFn = fn(&mut CtRunner, &mut BenchRng);

macro_rules! positions {
    ($f:ident) => {
        [
            $f::<0>, $f::<1>, $f::<2>, $f::<3>, $f::<4>, $f::<5>, $f::<6>, $f::<7>, $f::<8>,
            $f::<9>, $f::<10>, $f::<11>, $f::<12>, $f::<13>, $f::<14>, $f::<15>,
        ]
    };
}

fn benches() -> Vec<(String, BenchFn)> {
    let mut out: Vec<(String, BenchFn)> = Vec::new();
    let per: [(&str, [BenchFn; 16]); 6] = [
        ("compact_valid_vs_wrong", positions!(compact_valid)),
        ("full_valid_vs_wrong", positions!(full_valid)),
        ("compact_random_vs_wrong", positions!(compact_random)),
        ("full_random_vs_wrong", positions!(full_random)),
        ("control_compact_valid_vs_wrong", positions!(control_valid)),
        (
            "control_compact_random_vs_wrong",
            positions!(control_random),
        ),
    ];
    for (prefix, fns) in per {
        for (i, f) in fns.into_iter().enumerate() {
            out.push((format!("{prefix}{i:02}"), f));
        }
    }
    out.push(("control_compare".into(), control_compare));
    out.push(("aa_compact_same_pool".into(), aa_compact_same_pool));
    out.push(("aa_compact_two_pools".into(), aa_compact_two_pools));
    out
}

fn main() {
    let mut filters: Vec<String> = Vec::new();
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--measurements" => {
                let n = args.next().and_then(|v| v.parse::<usize>().ok());
                match n {
                    Some(n) if n >= 1000 => MEASUREMENTS.store(n, Ordering::Relaxed),
                    _ => rolltoken_ct::fail("--measurements needs a number >= 1000"),
                }
            }
            "--control-measurements" => {
                let n = args.next().and_then(|v| v.parse::<usize>().ok());
                match n {
                    Some(n) if n >= 1000 => CONTROL_MEASUREMENTS.store(n, Ordering::Relaxed),
                    _ => rolltoken_ct::fail("--control-measurements needs a number >= 1000"),
                }
            }
            "--filter" => match args.next() {
                Some(f) => filters.push(f),
                None => rolltoken_ct::fail("--filter needs a value"),
            },
            "--list" => list = true,
            other => rolltoken_ct::fail(&format!(
                "unknown argument {other}; usage: dudect --measurements N --control-measurements M [--filter S]... [--list]"
            )),
        }
    }
    let chosen: Vec<BenchMetadata> = benches()
        .into_iter()
        .filter(|(name, _)| {
            filters.is_empty()
                || filters.iter().any(|f| match f.strip_prefix('^') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name.contains(f.as_str()),
                })
        })
        .map(|(name, f)| BenchMetadata {
            name: BenchName(Box::leak(name.into_boxed_str())),
            seed: None,
            benchfn: f,
        })
        .collect();
    if list {
        for b in &chosen {
            println!("{}", b.name.0);
        }
        return;
    }
    if chosen.is_empty() {
        rolltoken_ct::fail("no bench matches the filters");
    }
    eprintln!(
        "# {} measurements per verify bench, {} per control bench",
        measurements(),
        control_measurements()
    );
    if let Err(e) = run_benches_console(BenchOpts::default(), chosen) {
        rolltoken_ct::fail(&format!("dudect-bencher: {e}"));
    }
}
