//! Tenants over shards: a pool per shard the run's targets live on, and the fan-out that works on
//! every shard at once, each within its own concurrency, so that a slow shard starves no other. A
//! shard that cannot be reached, before the run or during it, leaves its tenants unreachable:
//! nothing about them changes, and the next run picks them up.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use futures::future::join_all;
use sqlx::PgPool;

use crate::events::{Outcome, Reporter, TenantResult};
use crate::fanout::{Budget, Target, fan_out, unreachable};
use crate::{DEFAULT_SHARD, Database, EngineError, ShardTarget, TenantRoles, error::Context, extensions};

/// The shards a run works on.
pub(crate) struct ShardPools<'a> {
    control: &'a Database,
    /// Whether shards are configured (the summary then counts per shard).
    configured: bool,
    /// Per shard other than `default`: its database and concurrency, or why it cannot be reached.
    open: BTreeMap<String, Result<(Database, usize), String>>,
}

impl<'a> ShardPools<'a> {
    /// Connects to every shard among `needed` but `default`, all at once.
    pub(crate) async fn open(
        control: &'a Database,
        shards: &[ShardTarget],
        needed: impl IntoIterator<Item = &str>,
    ) -> ShardPools<'a> {
        let mut names: Vec<&str> = needed.into_iter().filter(|n| *n != DEFAULT_SHARD).collect();
        names.sort_unstable();
        names.dedup();
        let connect = names.iter().map(|name| async move {
            let opened = match ShardTarget::find(shards, name) {
                Err(reason) => Err(reason),
                Ok(shard) => shard.open(control).await.map(|db| (db, shard.concurrency)).map_err(|e| e.to_string()),
            };
            ((*name).to_owned(), opened)
        });
        let open = join_all(connect).await.into_iter().collect();
        ShardPools { control, configured: !shards.is_empty(), open }
    }

    /// Opens the shards among `needed`, runs `work` with them, and closes them whatever it returns.
    pub(crate) async fn scoped<T>(
        control: &'a Database,
        shards: &[ShardTarget],
        needed: impl IntoIterator<Item = &str>,
        work: impl AsyncFnOnce(&ShardPools<'a>) -> T,
    ) -> T {
        let pools = Self::open(control, shards, needed).await;
        let result = work(&pools).await;
        pools.close().await;
        result
    }

    /// Whether shards are configured.
    pub(crate) fn configured(&self) -> bool {
        self.configured
    }

    /// Closes the shards' pools.
    pub(crate) async fn close(&self) {
        join_all(self.open.values().filter_map(|o| o.as_ref().ok()).map(|(db, _)| db.close())).await;
    }

    /// Ensures the extensions on every reachable shard but `default` (whose are ensured with the
    /// control database's), as the control path does.
    pub(crate) async fn ensure_extensions(
        &self,
        extensions: &[String],
        reporter: &dyn Reporter,
    ) -> Result<(), EngineError> {
        for (db, _) in self.open.values().filter_map(|o| o.as_ref().ok()) {
            let mut conn = db.pool().acquire().await.context("connecting to a shard")?;
            extensions::ensure(db.pool(), &mut conn, extensions, reporter).await?;
        }
        Ok(())
    }

    /// Checks on every reachable shard but `default` (checked with the control database) that tenant
    /// roles can be created there, when they are asked for.
    pub(crate) async fn check_roles(&self, roles: &TenantRoles) -> Result<(), EngineError> {
        for (db, _) in self.open.values().filter_map(|o| o.as_ref().ok()) {
            let mut conn = db.pool().acquire().await.context("connecting to a shard")?;
            crate::roles::check(&mut conn, roles).await?;
        }
        Ok(())
    }

    /// The shard's pool, or why it cannot be reached.
    pub(crate) fn pool(&self, name: &str) -> Result<&PgPool, EngineError> {
        self.get(name, 1)
            .map(|(pool, _)| pool)
            .map_err(|reason| EngineError::ShardUnreachable { shard: name.to_owned(), reason: reason.to_owned() })
    }

    /// The shard's pool and concurrency (`default`'s is the control database, with the run's), or
    /// why it cannot be reached.
    pub(crate) fn get(&self, name: &str, run_concurrency: usize) -> Result<(&PgPool, usize), &str> {
        match self.open.get(name) {
            None => Ok((self.control.pool(), run_concurrency)),
            Some(Ok((db, concurrency))) => Ok((db.pool(), *concurrency)),
            Some(Err(reason)) => Err(reason),
        }
    }
}

/// Runs `work` (given the pool of the target's shard) on every target, every shard at once, each
/// shard at most `limit(its concurrency)` targets at once. Results come back in the order of
/// `targets`; each is also reported as it finishes.
pub(crate) async fn fan_out_shards<'a, T, F, Fut>(
    targets: &'a [T],
    pools: &'a ShardPools<'_>,
    concurrency: usize,
    limit: impl Fn(usize) -> usize,
    budget: &Budget<'_>,
    reporter: &dyn Reporter,
    work: F,
) -> Vec<TenantResult>
where
    T: Target,
    F: Fn(&'a PgPool, &'a T) -> Fut,
    Fut: Future<Output = TenantResult>,
{
    let mut groups: BTreeMap<&str, (Vec<usize>, Vec<&'a T>)> = BTreeMap::new();
    for (index, target) in targets.iter().enumerate() {
        let (indices, group) = groups.entry(target.shard()).or_default();
        indices.push(index);
        group.push(target);
    }
    let work = &work;
    let runs = groups.into_values().map(|(indices, group)| {
        let shard = pools.get(group[0].shard(), concurrency);
        let limit = shard.map_or(1, |(_, c)| limit(c));
        async move {
            // Set when a tenant finds the shard gone: its other tenants are then not tried.
            let down: OnceLock<String> = OnceLock::new();
            let down = &down;
            let results = fan_out(&group, limit, budget, reporter, |target: &&'a T| async move {
                match (shard, down.get().map(String::as_str)) {
                    (Err(reason), _) | (Ok(_), Some(reason)) => unreachable(target, reason),
                    (Ok((pool, _)), None) => {
                        let result = work(pool, target).await;
                        if result.outcome == Outcome::Unreachable {
                            let _ = down.set(result.error.clone().unwrap_or_default());
                        }
                        result
                    }
                }
            })
            .await;
            indices.into_iter().zip(results).collect::<Vec<_>>()
        }
    });
    let mut results: Vec<(usize, TenantResult)> = join_all(runs).await.into_iter().flatten().collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}
