//! The harness of the black-box tests: one PostgreSQL server per test binary (and a second one,
//! speaking TLS, for the TLS tests, two more standing for shards, and a PgBouncer in front of the
//! first for the pooler tests), a fresh database and project directory per test, and the real
//! `tenantctl` binary run against them.

mod checks;
mod cli;
mod db;
mod fixtures;
mod pgbouncer;
mod process;
mod project;
pub mod report;
mod roles;
mod server;
mod shards;
mod snapshot;
mod tenants;
mod tls;
mod waiting;

pub use cli::{Output, Tenantctl, closed_port_url};
pub use db::TestDb;
pub use fixtures::tenantctl_in_fixture;
pub use pgbouncer::{POOL_SIZE, pgbouncer};
pub use process::carries;
pub use roles::Roles;
pub use shards::{ShardDb, shard_dbs};
pub use tenants::org_ids;
pub use tls::{TLS_PASSWORD, tls_server};
pub use waiting::HeldTransaction;

mod state;
pub use cli::Running;
pub use state::TenantState;
