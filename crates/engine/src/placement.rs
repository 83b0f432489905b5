//! Where `provision-tenant` puts new tenants: on `--shard`; else, with shards configured, on the
//! configured shard with the fewest registry tenants (not ARCHIVED), counting those placed so far in
//! this run, ties by name; else on `default`. An org already in the registry stays on its shard.

use std::collections::{BTreeMap, HashMap};

use sqlx::PgPool;

use crate::statements::{in_transaction, query_as};
use crate::{DEFAULT_SHARD, EngineError, OrgId, ShardTarget, error::Context};

/// The shard of each org, in the order of `orgs`.
pub(crate) async fn place(
    pool: &PgPool,
    orgs: &[OrgId],
    shards: &[ShardTarget],
    chosen: Option<&str>,
) -> Result<Vec<String>, EngineError> {
    let ids: Vec<&str> = orgs.iter().map(OrgId::as_str).collect();
    let (existing, counts) = in_transaction(pool, async |conn| {
        let existing: Vec<(String, String)> =
            query_as("SELECT org_id, shard FROM public.tenants WHERE org_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await?;
        let counts: Vec<(String, i64)> =
            query_as("SELECT shard, count(*) FROM public.tenants WHERE status <> 'ARCHIVED' GROUP BY shard")
                .fetch_all(conn)
                .await?;
        Ok((existing, counts))
    })
    .await
    .context("reading the tenant registry")?;
    let existing: HashMap<String, String> = existing.into_iter().collect();
    let mut load: BTreeMap<&str, i64> = shards.iter().map(|s| (s.name.as_str(), 0)).collect();
    for (shard, count) in &counts {
        if let Some(n) = load.get_mut(shard.as_str()) {
            *n = *count;
        }
    }
    let mut placed = Vec::with_capacity(orgs.len());
    for org in orgs {
        let shard = match (existing.get(org.as_str()), chosen) {
            (Some(registered), _) => registered.clone(),
            (None, Some(name)) => name.to_owned(),
            (None, None) => least_loaded(&mut load),
        };
        placed.push(shard);
    }
    Ok(placed)
}

/// The shard with the fewest tenants (the first by name among equals), now counting one more.
fn least_loaded(load: &mut BTreeMap<&str, i64>) -> String {
    // BTreeMap iterates by name, and `min_by_key` keeps the first of equal minimums.
    let Some(name) = load.iter().min_by_key(|(_, n)| **n).map(|(name, _)| *name) else {
        return DEFAULT_SHARD.to_owned();
    };
    if let Some(n) = load.get_mut(name) {
        *n += 1;
    }
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_loaded_shard_takes_the_next_tenant_ties_by_name() {
        let mut load = BTreeMap::from([("eu1", 2), ("eu2", 0), ("default", 1)]);
        let placed: Vec<String> = (0..5).map(|_| least_loaded(&mut load)).collect();
        assert_eq!(placed, ["eu2", "default", "eu2", "default", "eu1"]);
        assert_eq!(least_loaded(&mut BTreeMap::new()), DEFAULT_SHARD);
    }
}
