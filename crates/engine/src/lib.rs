//! The PostgreSQL side of tenantctl: bootstrap tables, the tenant registry, tracking tables, locks,
//! the runner for one schema, provisioning, the fan-out, shards, and the events they report.
//! No printing and no argument parsing here: the CLI renders what the engine reports and returns.
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

mod bookkeeping;
mod bootstrap;
mod central;
mod contents;
mod db;
mod error;
mod events;
mod extensions;
mod fanout;
mod gate;
mod identity;
mod locks;
mod master;
mod moving;
mod no_transaction;
mod offboard;
mod placement;
mod provision;
mod recycle;
mod registry;
mod roles;
mod rollout;
mod runner;
mod runs;
mod schema_copy;
mod settings;
mod shard_status;
mod sharded;
mod shards;
mod statements;
mod status;
mod tenant_database;
mod tenants;
mod tracking;
mod verify;

pub use contents::TableCheck;
pub use db::{ConnectSettings, Database, Password, describe_target};
pub use error::{EngineError, ErrorKind};
pub use events::{Event, Outcome, Reporter, ShardCounts, Silent, Summary, TenantResult};
pub use fanout::FanoutControl;
pub use gate::Gate;
pub use identity::{NamingError, OrgId, OrgIdError, SchemaName, SchemaNaming};
pub use master::{MasterReport, MasterRequest, MasterRollback, MasterStep, migrate_master, rollback_master};
pub use moving::{MoveAction, MoveOutcome, MoveReport, MoveRequest, move_tenant};
pub use offboard::{OffboardReport, archive_tenant, drop_tenant};
pub use provision::{ProvisionRequest, provision};
pub use registry::{Isolation, Selection, Tenant, TenantDatabase, TenantStatus, schema_tenants_in_use};
pub use rollout::{Canary, Rollout, RolloutError, parse_waves};
pub use runs::RunContext;
pub use schema_copy::PgTools;
pub use settings::{RunSettings, TenantRoles};
pub use shard_status::{ShardStatus, shard_status};
pub use shards::{DEFAULT_SHARD, ShardOutcome, ShardReport, ShardRequest, ShardTarget, migrate_shards};
pub use status::{
    FailedTenant, MasterStatus, RecentRun, StatusReport, TenantCounts, TenantDetail, status, tenant_status,
};
pub use tenants::{FanoutReport, FanoutRequest, migrate_tenants, rollback_tenants};
pub use tracking::AppliedRow;
pub use verify::{Group, Outlier, VerifyReport, verify};
