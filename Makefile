# rolltoken: the two commands are `make demo` and `make test` (see README.md).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all demo walkthrough test setup lint test-rust deps no-panic icount bench vectors fmt help ffi header test-c test-go test-python install sim sim-smoke fuzz fuzz-short ct ct-short miri

all: test

help:
	@echo "make demo     serve the demo web app on 127.0.0.1:8000 (in-memory store)"
	@echo "make walkthrough  one session through the Rust core, verdict by verdict"
	@echo "make test     every check: Rust, C under sanitizers, Go, Python on real Redis/PostgreSQL, short fuzz, sim smoke"
	@echo "make bench    every benchmark (Rust, C ABI, Go, Python, ASGI under load); writes BENCHMARKS.md and docs/benchmarks.png"
	@echo "make sim      the theft-and-race simulator (writes docs/simulation.md and .png)"
	@echo "make fuzz     every fuzz target to 10^7 executions (FUZZ_RUNS; at most FUZZ_SECONDS=3600 each), two at a time"
	@echo "make ct       constant-time evidence: valgrind secret taint + dudect at 10^7 measurements"
	@echo "make miri     Miri over the core's unit tests (needs a nightly toolchain with miri)"
	@echo "make vectors  regenerate vectors/rolltoken-v1.json from the core"
	@echo "make header   regenerate include/rolltoken.h from ffi/ (cbindgen)"
	@echo "make install  install the C library, header and rolltoken.pc under PREFIX (default /usr/local)"
	@echo "make fmt      format the Rust sources"

# What the machine needs; the project's machines come with stable Rust (rustup), clippy
# and rustfmt. Everything else is fetched by cargo from crates.io.
setup:
	@command -v $(CARGO) >/dev/null || { echo "setup: cargo not found: install stable Rust (rustup) first" >&2; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || { echo "setup: clippy missing: rustup component add clippy" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || { echo "setup: rustfmt missing: rustup component add rustfmt" >&2; exit 1; }
	@echo "setup: $$($(CARGO) --version)"

# The demo web app on 127.0.0.1:8000 (PORT=…), in-memory store: builds the wheel into a venv.
demo: setup
	bash python/demo.sh

# One session walked through the Rust core, verdict by verdict.
walkthrough: setup
	$(CARGO) run --quiet --locked -p rolltoken --example walkthrough

test: setup lint test-rust deps no-panic icount sim-smoke fuzz-short ct-short test-c test-go test-python
	@echo "make test: every check passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# Unit, property, model and golden-vector tests, doc tests, and the vectors freshness check
# (the Python extension module has no Rust tests; its tests are test-python's).
test-rust:
	@mkdir -p target
	$(CARGO) test --workspace --exclude rolltoken-python --locked 2>&1 | tee target/test-rust.log
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "rust: %d passed, %d failed\n", p, f; exit (p == 0 || f > 0) }' target/test-rust.log

deps:
	bash checks/deps.sh

# Instructions per operation under callgrind (deterministic): fails on a >10% regression over
# benches/instructions.json. The criterion benches also run once each in test mode.
icount:
	bash benches/icount.sh
	$(CARGO) test --quiet --locked -p rolltoken-benches --benches

# Every benchmark (criterion: Rust groups + C ABI; Go vs golang-jwt; the Python wheel vs PyJWT /
# itsdangerous; the ASGI middleware vs Starlette's SessionMiddleware on loopback), then
# BENCHMARKS.md and docs/benchmarks.png. Installs the Python peers and matplotlib into target/py-venv.
bench: setup
	CARGO="$(CARGO)" bash benches/bench-all.sh

no-panic:
	bash checks/no-panic/run.sh

# The theft-and-race simulator over the real core: writes docs/simulation.md and
# docs/simulation.png (under 2 minutes); sim-smoke is its self-check (seconds).
sim:
	$(CARGO) run --quiet --locked --release -p rolltoken-sim

sim-smoke:
	$(CARGO) run --quiet --locked --release -p rolltoken-sim -- --smoke

# Coverage-guided fuzzing (fuzz/, its own cargo workspace; cargo-fuzz installed when missing):
# each target until 10^7 executions (at most an hour each), as many at a time as cores.
fuzz:
	FUZZ_RUNS=$${FUZZ_RUNS:-10000000} FUZZ_SECONDS=$${FUZZ_SECONDS:-3600} bash checks/fuzz.sh

# The short pass of make test: each target until 10^6 executions, at most 240 s each.
fuzz-short:
	FUZZ_RUNS=1000000 FUZZ_SECONDS=240 bash checks/fuzz.sh

# Constant time, two methods (checks/ct/, its own workspace): valgrind secret taint, and dudect
# (make ct: 10^7 measurements per bench, ~35 min; make test: the short run, controls must leak).
ct:
	bash checks/ct/taint.sh
	bash checks/ct/dudect.sh --long

ct-short:
	bash checks/ct/taint.sh
	bash checks/ct/dudect.sh --short

# Miri over the core's unit tests; prints "miri: skipped" without a nightly toolchain.
miri:
	bash checks/miri.sh

vectors:
	$(CARGO) run --quiet --locked -p rolltoken-vectors

# The C library (static and shared), release and debug, for the C and Go tests.
ffi:
	$(CARGO) build --locked -p rolltoken-ffi
	$(CARGO) build --locked --release -p rolltoken-ffi

header:
	ROLLTOKEN_BLESS=1 $(CARGO) test --quiet --locked -p rolltoken-ffi --test header

# C tests under ASan/UBSan and valgrind, the README's C example, the gateway example.
test-c: ffi
	bash ffi/tests/c/run.sh

# go vet and go test -race in go/ (installs Go from Debian if the machine has none).
test-go: ffi
	bash go/run-tests.sh

# The Python wheel (maturin, abi3) in a venv under target/, its golden vectors and API tests,
# mypy --strict and stubtest.
test-python:
	bash python/run-tests.sh

PREFIX ?= /usr/local
install:
	bash ffi/install.sh "$(PREFIX)"

fmt:
	$(CARGO) fmt --all
