//! `status` of the shards: whether each can be reached, its shard migrations applied and pending,
//! and how many registry tenants it holds. Read-only, like the rest of `status`; an unreachable
//! shard is data, not an error.

use std::collections::BTreeMap;

use futures::future::join_all;
use serde::Serialize;
use tenantctl_migrations::{MigrationSet, Version};

use crate::shards::{DEFAULT_SHARD, ShardTarget};
use crate::statements::query_as;
use crate::status::pending;
use crate::tracking::TrackingTable;
use crate::{Database, EngineError, bootstrap, error::Context};

/// One shard's state.
#[derive(Debug, Clone, Serialize)]
pub struct ShardStatus {
    /// Its name.
    pub name: String,
    /// Whether it could be read.
    pub reachable: bool,
    /// Why not, in one line; never a password.
    pub error: Option<String>,
    /// Newest applied shard migration; `None` when nothing is applied (or the shard was not read).
    pub version: Option<Version>,
    /// Shard files not applied yet (empty for `default` when it is not listed as a shard).
    pub pending: Vec<String>,
    /// Registry tenants whose `shard` is this one.
    pub tenants: i64,
}

impl ShardStatus {
    /// `status --check`: reachable, and every shard file applied.
    pub fn healthy(&self) -> bool {
        self.reachable && self.pending.is_empty()
    }
}

/// The state of `default` and of each listed shard (`default` first).
pub async fn shard_status(
    control: &Database,
    shards: &[ShardTarget],
    set: &MigrationSet,
) -> Result<Vec<ShardStatus>, EngineError> {
    let counts = tenants_per_shard(control).await?;
    let tenants = |name: &str| counts.get(name).copied().unwrap_or(0);
    let mut statuses = Vec::with_capacity(shards.len() + 1);
    if !shards.iter().any(|s| s.name == DEFAULT_SHARD) {
        let (version, pending) = (None, Vec::new());
        let name = DEFAULT_SHARD.to_owned();
        statuses.push(ShardStatus {
            name,
            reachable: true,
            error: None,
            version,
            pending,
            tenants: tenants(DEFAULT_SHARD),
        });
    }
    // All at once: an unreachable shard's connect timeout delays no other.
    let reads = join_all(shards.iter().map(|shard| read_shard(control, shard, set))).await;
    for (shard, read) in shards.iter().zip(reads) {
        let (reachable, error, version, pending) = match read {
            Ok((version, pending)) => (true, None, version, pending),
            Err(error) => (false, Some(error.to_string()), None, Vec::new()),
        };
        let tenants = tenants(&shard.name);
        statuses.push(ShardStatus { name: shard.name.clone(), reachable, error, version, pending, tenants });
    }
    Ok(statuses)
}

/// A shard's newest applied shard migration and its pending files.
async fn read_shard(
    control: &Database,
    shard: &ShardTarget,
    set: &MigrationSet,
) -> Result<(Option<Version>, Vec<String>), EngineError> {
    let db = shard.open(control).await?;
    let read = async {
        let mut conn = db.pool().acquire().await.context("connecting")?;
        TrackingTable::shard().read_if_exists(&mut conn).await.context("reading public.tenantctl_shard_migrations")
    };
    let applied = read.await;
    shard.close(&db).await;
    let applied = applied?;
    Ok((applied.iter().map(|r| r.version).max(), pending(set, &applied)))
}

/// Registry tenants per shard name; none before the first `migrate-master`.
async fn tenants_per_shard(control: &Database) -> Result<BTreeMap<String, i64>, EngineError> {
    let mut tx = control.pool().begin().await.context("connecting")?;
    if bootstrap::current(&mut tx).await? == 0 {
        return Ok(BTreeMap::new());
    }
    let counts: Vec<(String, i64)> = query_as("SELECT shard, count(*) FROM public.tenants GROUP BY shard")
        .fetch_all(&mut *tx)
        .await
        .context("counting tenants per shard")?;
    tx.commit().await.context("counting tenants per shard")?;
    Ok(counts.into_iter().collect())
}
