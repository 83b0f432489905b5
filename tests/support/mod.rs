//! The harness of the black-box tests: one PostgreSQL server per test binary, a fresh database
//! and project directory per test, and the real `tenantctl` binary run against them.

mod cli;
mod db;
mod project;
pub mod report;
mod server;
mod snapshot;
mod tenants;
mod waiting;

pub use cli::{Output, closed_port_url};
pub use db::TestDb;
pub use tenants::org_ids;
pub use waiting::HeldTransaction;
