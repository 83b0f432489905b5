# tenantctl: on a fresh clone, `make demo` then `make test`.
# Needs Rust and the PostgreSQL server binaries; any other system package is installed here.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# Leave the demo's cluster running: `make demo KEEP=1`.
KEEP ?=
# apt-get needs root: use sudo when we are not root.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: help deps build demo test fmt clippy check lint bench

help:
	@echo "make demo        the whole flow against a throwaway PostgreSQL (KEEP=1 leaves it running)"
	@echo "make test        the test suite (starts its own PostgreSQL, or uses TEST_DATABASE_URL)"
	@echo "make check       fmt + clippy + test, as CI runs it"
	@echo "make build | fmt | clippy | lint | deps | bench"

# libclang (for pg_query's bindgen), the PostgreSQL server binaries (the TLS tests start a cluster of
# their own even when TEST_DATABASE_URL names a server), pg_dump and pg_restore on PATH (move-tenant), openssl (the TLS tests' certificates) and
# pgbouncer (the connection pooler tests): installed with apt-get only when missing.
deps:
	@missing=""; \
	if ! ldconfig -p 2>/dev/null | grep -qE 'libclang(-[0-9.]+)?\.so' \
	   && ! ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1; then \
	    missing="$$missing libclang-dev"; \
	fi; \
	if ! { [ -n "$${PG_BIN:-}" ] && [ -x "$${PG_BIN}/initdb" ]; } \
	   && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	   && ! command -v initdb >/dev/null 2>&1; then \
	    missing="$$missing postgresql"; \
	fi; \
	if ! command -v pg_dump >/dev/null 2>&1 || ! command -v pg_restore >/dev/null 2>&1; then \
	    missing="$$missing postgresql-client"; \
	fi; \
	if ! command -v openssl >/dev/null 2>&1; then \
	    missing="$$missing openssl"; \
	fi; \
	if ! command -v pgbouncer >/dev/null 2>&1 && ! [ -x /usr/sbin/pgbouncer ]; then \
	    missing="$$missing pgbouncer"; \
	fi; \
	if [ -n "$$missing" ]; then \
	    command -v apt-get >/dev/null 2>&1 \
	        || { echo "make deps: missing$$missing, and no apt-get to install it: install it yourself" >&2; exit 1; }; \
	    echo "make deps: installing$$missing"; \
	    $(SUDO) apt-get update; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(CARGO) build --workspace

demo: deps
	KEEP="$(KEEP)" scripts/demo.sh

test: deps
	$(CARGO) test --workspace --no-fail-fast

fmt:
	$(CARGO) fmt --all --check

clippy: deps
	$(CARGO) clippy --workspace --all-targets -- -D warnings

check: fmt clippy test

# The safety linter over the example migrations.
lint: deps
	$(CARGO) run -q -- lint master_migrations tenant_migrations

# tenantctl against the raw-SQL limit on a throwaway PostgreSQL (bench/README.md): `make bench`,
# `make bench N=10000 REPS=3`, SWEEP=0 skips the --concurrency sweep, SHARDS=0 the case over 2 servers.
# Installs GNU time (peak RSS) if missing.
bench: deps
	@type -P time >/dev/null || { \
	    command -v apt-get >/dev/null 2>&1 \
	        || { echo "make bench: GNU time is missing, and no apt-get to install it: install it yourself" >&2; exit 1; }; \
	    echo "make bench: installing time"; \
	    $(SUDO) apt-get update; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends time; \
	}
	$(CARGO) build --release
	python3 bench/bench.py --tenants $(or $(N),2000) --reps $(or $(REPS),3) --sweep $(or $(SWEEP),1) \
	    --shards $(or $(SHARDS),1)
