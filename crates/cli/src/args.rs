//! The command line, as clap structs. Recurring groups (connection, directories, output) are
//! flattened and global, so they are accepted before or after the subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// PostgreSQL migrations for schema-per-tenant SaaS databases.
///
/// Exit codes: 0 success; 1 the operation ran and something failed (a tenant, a migration, a lint
/// verdict, a shard or its tenants unreachable); 2 invalid input (usage, configuration, migration files, org ids), nothing changed;
/// 3 the database could not be reached; 130/143 interrupted by SIGINT/SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "tenantctl", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// PostgreSQL URL of the control database (else DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME, DB_SSL...).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// The connection goes through a transaction pooler (PgBouncer, pool_mode = transaction): keep no
    /// statement prepared, refuse no-transaction migrations; `--transaction-pooler=false` overrides
    /// the file [default: from tenantctl.toml, else false].
    #[arg(
        long,
        global = true,
        env = "TENANTCTL_TRANSACTION_POOLER",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    pub(crate) transaction_pooler: Option<bool>,
    /// Configuration file [default: tenantctl.toml in the working directory, if present].
    #[arg(long, global = true, env = "TENANTCTL_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Directory of master migrations [default: master_migrations].
    #[arg(long, global = true, env = "TENANTCTL_MASTER_DIR", value_name = "DIR")]
    pub(crate) master_dir: Option<PathBuf>,
    /// Directory of tenant migrations [default: tenant_migrations].
    #[arg(long, global = true, env = "TENANTCTL_TENANT_DIR", value_name = "DIR")]
    pub(crate) tenant_dir: Option<PathBuf>,
    /// Directory of migrations applied to `public` on every shard (shards: `[shards.<name>]` in
    /// tenantctl.toml, or TENANTCTL_SHARD_<NAME>_URL) [default: shard_master_migrations, if present].
    #[arg(long, global = true, env = "TENANTCTL_SHARD_MASTER_DIR", value_name = "DIR")]
    pub(crate) shard_master_dir: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// More logging (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

/// `--isolation`: how tenants are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IsolationArg {
    /// A schema of its own in its shard's database.
    Schema,
    /// A database of its own on its shard.
    Database,
}

impl From<IsolationArg> for tenantctl_engine::Isolation {
    fn from(arg: IsolationArg) -> Self {
        match arg {
            IsolationArg::Schema => Self::Schema,
            IsolationArg::Database => Self::Database,
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// One JSON document.
    Json,
    /// Fan-out commands: one JSON object per tenant as it finishes, then the summary (others: JSON).
    Jsonl,
}

/// Log formats on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// For people.
    Text,
    /// JSON lines, each carrying the run's id.
    Json,
}

/// Timeouts and concurrency of commands that run tenant transactions.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RunArgs {
    /// Tenants migrated at once [default: from tenantctl.toml, else 8].
    #[arg(long, env = "TENANTCTL_CONCURRENCY", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) concurrency: Option<u32>,
    /// lock_timeout of every migration transaction, e.g. 500ms, 5s [default: 5s].
    #[arg(long, env = "TENANTCTL_LOCK_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) lock_timeout: Option<std::time::Duration>,
    /// statement_timeout of every migration transaction [default: none].
    #[arg(long, env = "TENANTCTL_STATEMENT_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) statement_timeout: Option<std::time::Duration>,
    /// Retries after a lock timeout or deadlock, with backoff from 250ms doubling [default: 3].
    #[arg(long, env = "TENANTCTL_LOCK_RETRIES", value_name = "N")]
    pub(crate) lock_retries: Option<u32>,
    /// How long to wait for a connection [default: 5s].
    #[arg(long, env = "TENANTCTL_CONNECT_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) connect_timeout: Option<std::time::Duration>,
}

/// Tenant roles, for `provision-tenant`.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct RoleArgs {
    /// Give each new tenant a NOLOGIN role named like its schema; its migrations run as it, so it owns
    /// what they create (needs CREATEROLE) [default: from tenantctl.toml, else false].
    #[arg(
        long,
        env = "TENANTCTL_CREATE_ROLE",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = parse_bool
    )]
    pub(crate) create_role: Option<bool>,
    /// With --create-role: make every tenant role a member of this existing role, to which master
    /// migrations grant what tenants need on shared tables.
    #[arg(long, env = "TENANTCTL_ROLE_GROUP", value_name = "ROLE")]
    pub(crate) role_group: Option<String>,
}

/// What a rollback reverts.
#[derive(Debug, Args, Clone)]
pub(crate) struct RollbackArgs {
    /// Revert the N most recent applied migrations (by version, across batches).
    #[arg(long, value_name = "N", conflicts_with = "to", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) steps: Option<u32>,
    /// Revert every migration above VERSION, keeping VERSION applied (0 reverts all).
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: Option<u64>,
    /// Show what would be reverted; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// Which tenants a fan-out visits.
#[derive(Debug, Args, Clone)]
pub(crate) struct TenantSelection {
    /// Only this tenant (ACTIVE or FAILED); repeatable.
    #[arg(long = "tenant", value_name = "ORG_ID")]
    pub(crate) tenants: Vec<String>,
    /// Also visit FAILED tenants (they become ACTIVE again on success).
    #[arg(long, conflicts_with = "tenants")]
    pub(crate) include_failed: bool,
    /// Stop scheduling new tenants after N failures; the rest are reported as skipped.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_failures: Option<u32>,
    /// Migrate the N oldest tenants first; stop (exit 1) if any of them failed.
    #[arg(long, value_name = "N", conflicts_with = "canary_tenants", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) canary: Option<u32>,
    /// Migrate this tenant first, as a canary; repeatable.
    #[arg(long = "canary-tenant", value_name = "ORG_ID")]
    pub(crate) canary_tenants: Vec<String>,
    /// Stages as cumulative shares of the targets, e.g. 1%,10%,100%; a stage with a failure stops the run.
    #[arg(long, value_name = "LIST")]
    pub(crate) waves: Option<String>,
}

/// Which kind of migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// `master_migrations/`, applied once to `public`.
    Master,
    /// `tenant_migrations/`, applied to every tenant schema.
    Tenant,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or upgrade tenantctl's tables, then apply pending master migrations to `public`.
    MigrateMaster {
        /// List what would run; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        gate: crate::gate::GateArgs,
    },
    /// Revert the last batch of master migrations (or --steps N, --to VERSION).
    RollbackMaster {
        #[command(flatten)]
        rollback: RollbackArgs,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        gate: crate::gate::GateArgs,
    },
    /// Register tenants, create their schemas, apply every tenant migration, mark them ACTIVE.
    ProvisionTenant {
        /// Organisation ids (1-255 characters, no control characters).
        #[arg(value_name = "ORG_ID", required_unless_present = "from_file")]
        org_ids: Vec<String>,
        /// Read org ids from FILE (one a line; `-` for stdin; blank lines and `#` comments ignored).
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// The shard new tenants go to: `default` (the control database) or a configured shard
        /// [default: the configured shard with the fewest tenants; `default` without shards].
        #[arg(long, value_name = "NAME")]
        shard: Option<String>,
        /// How new tenants are isolated: a schema each in their shard's database, or a database each on
        /// their shard [default: `isolation` in tenantctl.toml, else schema].
        #[arg(long, env = "TENANTCTL_ISOLATION", value_enum, value_name = "KIND")]
        isolation: Option<IsolationArg>,
        #[command(flatten)]
        roles: RoleArgs,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        gate: crate::gate::GateArgs,
    },
    /// Apply pending tenant migrations to every ACTIVE tenant, concurrently.
    MigrateTenants {
        #[command(flatten)]
        selection: TenantSelection,
        /// Show the plan per tenant; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply pending migrations older than the newest applied one.
        #[arg(long)]
        allow_out_of_order: bool,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        gate: crate::gate::GateArgs,
    },
    /// Revert tenant migrations: the last batch of each tenant (or --steps N, --to VERSION).
    RollbackTenants {
        #[command(flatten)]
        rollback: RollbackArgs,
        #[command(flatten)]
        selection: TenantSelection,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        gate: crate::gate::GateArgs,
    },
    /// Write the next `<VERSION>_<name>.up.sql` / `.down.sql` pair.
    MakeMigration {
        /// master or tenant.
        kind: Kind,
        /// The migration's name (letters, digits, `_`; spaces and `-` become `_`).
        name: String,
        /// Use a UTC timestamp version even in a sequential directory.
        #[arg(long)]
        timestamp: bool,
    },
    /// Take a tenant out of every fan-out (ARCHIVED); its schema is kept.
    ArchiveTenant {
        /// The org.
        org_id: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Drop the schema of an ARCHIVED tenant; the registry row stays, with a note.
    DropTenant {
        /// The org.
        org_id: String,
        /// The tenant's schema name, typed out: the drop happens only when it matches.
        #[arg(long, value_name = "SCHEMA", required = true)]
        confirm: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Move a tenant's schema to another shard: copy it (pg_dump | pg_restore), compare every table,
    /// flip the registry row; the tenant is MOVING (out of every fan-out, read-only for the app)
    /// meanwhile. Rerun to resume a killed move; --abort rolls it back.
    MoveTenant {
        /// The org.
        org_id: String,
        /// The target shard: `default` (the control database) or a configured shard.
        #[arg(long, value_name = "SHARD", required_unless_present_any = ["abort", "drop_source"])]
        to: Option<String>,
        /// Drop the source's copy after the flip; without --to, drop the copy an earlier move left behind.
        #[arg(long)]
        drop_source: bool,
        /// Roll back a move in progress: drop the target's copy; the tenant is ACTIVE on its source again.
        #[arg(long, conflicts_with_all = ["to", "drop_source"])]
        abort: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Check migration files for operations that are unsafe on a live database (never connects).
    Lint(crate::lint_cmd::LintArgs),
    /// Master version, tenants by status, tenants behind, failed tenants with their errors.
    Status {
        /// Show one tenant's applied and pending migrations.
        #[arg(long, value_name = "ORG_ID")]
        tenant: Option<String>,
        /// Exit 1 when any tenant is FAILED or behind, or (with --verify) differs (for CI).
        #[arg(long)]
        check: bool,
        /// Also verify every tenant's structure and history (as `tenantctl verify`).
        #[arg(long, conflicts_with = "tenant")]
        verify: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Fingerprint every tenant schema from the catalog and report tenants that differ from their
    /// peers at the same version, or whose tracking table disagrees with the files (exit 1).
    Verify {
        #[command(flatten)]
        run: RunArgs,
    },
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration such as 500ms, 5s or 2min ({e})"))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    crate::settings::bool_value(text).ok_or_else(|| "expected true, false, 1 or 0".to_owned())
}

impl Command {
    /// `--allow-unsafe`, for the commands that apply or revert migrations.
    pub(crate) fn gate_args(&self) -> crate::gate::GateArgs {
        match self {
            Self::MigrateMaster { gate, .. }
            | Self::RollbackMaster { gate, .. }
            | Self::ProvisionTenant { gate, .. }
            | Self::MigrateTenants { gate, .. }
            | Self::RollbackTenants { gate, .. } => *gate,
            Self::MakeMigration { .. }
            | Self::Status { .. }
            | Self::Verify { .. }
            | Self::Lint(_)
            | Self::ArchiveTenant { .. }
            | Self::DropTenant { .. }
            | Self::MoveTenant { .. } => crate::gate::GateArgs::default(),
        }
    }

    /// The command's name as typed.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::MigrateMaster { .. } => "migrate-master",
            Self::RollbackMaster { .. } => "rollback-master",
            Self::ProvisionTenant { .. } => "provision-tenant",
            Self::MigrateTenants { .. } => "migrate-tenants",
            Self::RollbackTenants { .. } => "rollback-tenants",
            Self::MakeMigration { .. } => "make-migration",
            Self::Status { .. } => "status",
            Self::Verify { .. } => "verify",
            Self::Lint(_) => "lint",
            Self::ArchiveTenant { .. } => "archive-tenant",
            Self::DropTenant { .. } => "drop-tenant",
            Self::MoveTenant { .. } => "move-tenant",
        }
    }
}
