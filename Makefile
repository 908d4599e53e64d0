# rolltoken: the two commands are `make demo` and `make test` (see README.md).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all demo test setup lint test-rust deps no-panic vectors fmt help

all: test

help:
	@echo "make demo     run the walkthrough demo (one session, verdict by verdict)"
	@echo "make test     every check: format, clippy, Rust tests, golden vectors, deps, no-panic proof"
	@echo "make vectors  regenerate vectors/rolltoken-v1.json from the core"
	@echo "make fmt      format the Rust sources"

# What the machine needs; the project's machines come with stable Rust (rustup), clippy
# and rustfmt. Everything else is fetched by cargo from crates.io.
setup:
	@command -v $(CARGO) >/dev/null || { echo "setup: cargo not found: install stable Rust (rustup) first" >&2; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || { echo "setup: clippy missing: rustup component add clippy" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || { echo "setup: rustfmt missing: rustup component add rustfmt" >&2; exit 1; }
	@echo "setup: $$($(CARGO) --version)"

demo: setup
	$(CARGO) run --quiet --locked -p rolltoken --example walkthrough

test: setup lint test-rust deps no-panic
	@echo "make test: every check passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# Unit, property, model and golden-vector tests, doc tests, and the vectors freshness check.
test-rust:
	@mkdir -p target
	$(CARGO) test --workspace --locked 2>&1 | tee target/test-rust.log
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "rust: %d passed, %d failed\n", p, f; exit (p == 0 || f > 0) }' target/test-rust.log

deps:
	bash checks/deps.sh

no-panic:
	bash checks/no-panic/run.sh

vectors:
	$(CARGO) run --quiet --locked -p rolltoken-vectors

fmt:
	$(CARGO) fmt --all
