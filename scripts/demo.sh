#!/usr/bin/env bash
# `make demo`: the whole tenantctl flow on the example migrations, against a throwaway PostgreSQL
# started from the local server binaries. KEEP=1 leaves the cluster running to look inside.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KEEP="${KEEP:-}"
ORGS=(acme-corp globex initech umbrella)

if [[ -t 1 ]]; then bold=$'\e[1m' reset=$'\e[0m'; else bold="" reset=""; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
run() {
    printf '$ tenantctl %s\n' "$*"
    "$BIN" "$@"
}

say "Building tenantctl"
cargo build --quiet --bin tenantctl
BIN="${CARGO_TARGET_DIR:-target}/debug/tenantctl"

say "Starting a throwaway PostgreSQL"
cluster="$(mktemp -d "${TMPDIR:-/tmp}/tenantctl-demo-pg.XXXXXX")"
release1="$(mktemp -d "${TMPDIR:-/tmp}/tenantctl-demo-release1.XXXXXX")"
cleanup() {
    local status=$?
    rm -rf "$release1"
    if [[ -n "$KEEP" && -n "$DATABASE_URL" ]]; then
        say "The cluster keeps running (KEEP=1)"
        echo "  DATABASE_URL=$DATABASE_URL"
        echo "  look inside:  psql '$DATABASE_URL'"
        echo "  stop it:      scripts/pg.sh stop $cluster"
    else
        scripts/pg.sh stop "$cluster" || true
        rmdir "$cluster" 2>/dev/null || true
    fi
    if [[ $status -ne 0 ]]; then
        echo "demo failed (exit $status)" >&2
    fi
    exit "$status"
}
DATABASE_URL=""
trap cleanup EXIT
DATABASE_URL="$(scripts/pg.sh start "$cluster" | tail -n 1)"
export DATABASE_URL
# Only DATABASE_URL says where the demo goes.
unset DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME DB_SSL DB_SSL_CERT_PATH DB_SSL_REJECT_UNAUTHORIZED

say "1. Shared tables: the tool's registry, then master_migrations/ (categories, focus areas) in public"
run migrate-master

say "2. Four customers sign up while release 1 is live (tenant migrations 0001-0003 only)"
cp tenant_migrations/000[123]_* "$release1/"
ls "$release1"
run provision-tenant --tenant-dir "$release1" "${ORGS[@]}"

say "3. Release 2 ships tenant migration 0004: every tenant is behind until the fan-out applies it"
run status
run migrate-tenants

say "4. Where things stand: master version, tenants by status, tenants behind"
run status
run status --tenant acme-corp

say "5. Release 2 is rolled back: revert the newest tenant migration everywhere"
run rollback-tenants --steps 1

say "6. Every tenant is now one migration behind"
run status
run status --format json

say "Done: every step succeeded."
