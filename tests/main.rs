//! Black-box tests of the `tenantctl` binary against a real PostgreSQL: one test binary, one
//! module per feature area, the harness in `support`.
//!
//! `cargo test` starts a throwaway cluster with `scripts/pg.sh` (or uses `TEST_DATABASE_URL`);
//! every test gets a fresh database and a project directory copied from `tests/fixtures/`.

mod support;

mod bad_input;
mod checksums;
mod concurrency;
mod config;
mod crash;
mod drift;
mod examples;
mod fanout;
mod gate;
mod hostile_input;
mod isolation;
mod lint_cli;
mod locks;
mod make_migration;
mod master;
mod move_tenant;
mod no_transaction;
mod offboard;
mod pgbouncer;
mod provision;
mod resilience;
mod roles;
mod rollback;
mod rollout;
mod shard_fanout;
mod shards;
mod status;
mod tls;
