//! `verify`: drift detection. The structure of every tenant schema is fingerprinted from the catalog
//! (tables, columns and types, defaults, indexes, constraints; SHA-256 over a canonical form) in a
//! few queries for all tenants at once — catalog reads only, no lock on any tenant table. Tenants are
//! grouped by fingerprint and migration version; a tenant whose structure differs from the most
//! common one at its version is an outlier, with the difference spelled out. Tracking tables are
//! then read in batches (each a short transaction, so the lock table never fills) and compared with
//! the files and the registry mirror.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use tenantctl_migrations::{Checksum, MigrationSet, Version};

use crate::sharded::ShardPools;
use crate::statements::{in_transaction, query_as, query_scalar};
use crate::{
    Database, EngineError, SchemaName, ShardTarget, bootstrap, error::Context, identity::quote_ident, tenant_database,
};

/// Tracking tables read per query.
const TRACKING_BATCH: usize = 200;

/// Tenants with the same structure at the same version.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The registry's schema version (newest applied tenant migration).
    pub version: Option<i64>,
    /// SHA-256 of the canonical structure.
    pub fingerprint: String,
    /// How many tenants.
    pub count: usize,
    /// Their org ids (the first 20).
    pub sample: Vec<String>,
}

/// A tenant that differs from its peers, or whose tracking table disagrees with the files.
#[derive(Debug, Clone, Serialize)]
pub struct Outlier {
    /// The org.
    pub org_id: String,
    /// Its schema.
    pub schema: String,
    /// The registry's schema version.
    pub version: Option<i64>,
    /// What differs, one line each (`column items.note added`).
    pub differences: Vec<String>,
}

/// The result of `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Tenants verified (ACTIVE and FAILED).
    pub tenants: usize,
    /// Groups by version and fingerprint, largest first.
    pub groups: Vec<Group>,
    /// Every tenant that differs, or whose history disagrees with the files or the registry.
    pub outliers: Vec<Outlier>,
}

impl VerifyReport {
    /// True when no tenant differs.
    pub fn clean(&self) -> bool {
        self.outliers.is_empty()
    }
}

struct Target {
    org_id: String,
    /// Its identity (`tid_<hash>`): its schema, or its database's name.
    schema: SchemaName,
    /// Database isolation: its database and the schema in it that holds its migrations.
    database: Option<(String, SchemaName)>,
    version: Option<i64>,
    count: Option<i32>,
    shard: String,
}

/// Verifies every ACTIVE and FAILED tenant, on every shard: each shard's catalog is read there, and
/// the tenants of all shards are grouped together.
pub async fn verify(db: &Database, set: &MigrationSet, shards: &[ShardTarget]) -> Result<VerifyReport, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    bootstrap::require(&mut conn).await?;
    drop(conn);
    let targets = targets(db.pool()).await?;
    let pools = ShardPools::open(db, shards, targets.iter().map(|t| t.shard.as_str())).await;
    let read = read_shards(&pools, &targets, set).await;
    pools.close().await;
    let (structure, mut outliers, unreachable) = read?;
    let mut fingerprints: BTreeMap<(Option<i64>, String), Vec<usize>> = BTreeMap::new();
    for (i, t) in targets.iter().enumerate().filter(|(_, t)| !unreachable.contains(t.shard.as_str())) {
        match structure.get(t.schema.as_str()) {
            None => outliers.push(outlier(t, vec![format!("schema {} does not exist", t.schema)])),
            Some(lines) => fingerprints.entry((t.version, fingerprint(lines))).or_default().push(i),
        }
    }
    let (groups, structural) = compare(&targets, &fingerprints, &structure);
    outliers.extend(structural);
    Ok(VerifyReport { tenants: targets.len(), groups, outliers: merged(&targets, outliers) })
}

/// What the shards hold: the structure of every schema, the outliers of the tracking tables (and the
/// tenants of shards that cannot be reached), and those shards.
type ShardsRead<'t> = (BTreeMap<String, BTreeSet<String>>, Vec<Outlier>, BTreeSet<&'t str>);

/// Reads the catalog and tracking tables of each shard's tenants on that shard.
async fn read_shards<'t>(
    pools: &ShardPools<'_>,
    targets: &'t [Target],
    set: &MigrationSet,
) -> Result<ShardsRead<'t>, EngineError> {
    let (mut structures, mut outliers, mut unreachable) = (BTreeMap::new(), Vec::new(), BTreeSet::new());
    let names: BTreeSet<&str> = targets.iter().map(|t| t.shard.as_str()).collect();
    for name in names {
        let of_shard: Vec<&Target> = targets.iter().filter(|t| t.shard == name).collect();
        match pools.get(name, 1) {
            Err(reason) => {
                unreachable.insert(name);
                let problem = format!("shard {name} cannot be reached: {reason}");
                outliers.extend(of_shard.iter().map(|t| outlier(t, vec![problem.clone()])));
            }
            Ok((pool, _)) => {
                let (own_database, in_shard): (Vec<&Target>, Vec<&Target>) =
                    of_shard.into_iter().partition(|t| t.database.is_some());
                let schemas: Vec<&str> = in_shard.iter().map(|t| t.schema.as_str()).collect();
                structures.extend(structure(pool, &schemas).await?);
                outliers.extend(history(pool, &in_shard, set).await?);
                for t in own_database {
                    let (read, problem) = read_database(pool, t, set).await?;
                    structures.extend(read);
                    outliers.extend(problem);
                }
            }
        }
    }
    Ok((structures, outliers, unreachable))
}

/// The structure and history of a tenant of database isolation, read in its own database on one
/// connection closed after it (catalogs are per database), keyed by its identity as a schema tenant's are.
/// A database that cannot be reached makes the tenant an outlier; a missing one, one without structure.
async fn read_database(
    shard: &PgPool,
    t: &Target,
    set: &MigrationSet,
) -> Result<(BTreeMap<String, BTreeSet<String>>, Vec<Outlier>), EngineError> {
    let Some((name, home)) = &t.database else { return Ok((BTreeMap::new(), Vec::new())) };
    let pool = match tenant_database::open(shard, name).await {
        Ok(pool) => pool,
        Err(e) if tenant_database::is_missing(&e) => {
            return Ok((BTreeMap::new(), vec![outlier(t, vec![format!("database {name} does not exist")])]));
        }
        Err(e) => {
            let problem = format!("database {name} cannot be reached: {}", crate::error::describe(&e));
            return Ok((BTreeMap::new(), vec![outlier(t, vec![problem])]));
        }
    };
    let inside = Target {
        org_id: t.org_id.clone(),
        schema: home.clone(),
        database: None,
        version: t.version,
        count: t.count,
        shard: t.shard.clone(),
    };
    let read = async {
        let structure = structure(&pool, &[home.as_str()]).await?;
        let history = history(&pool, &[&inside], set).await?;
        Ok::<_, EngineError>((structure, history))
    }
    .await;
    pool.close().await;
    let (structure, history) = read?;
    let structure = structure.into_values().map(|lines| (t.schema.to_string(), lines)).collect();
    let history = history.into_iter().map(|o| Outlier { schema: t.schema.to_string(), ..o }).collect();
    Ok((structure, history))
}

/// One entry per tenant, in registry order.
fn merged(targets: &[Target], outliers: Vec<Outlier>) -> Vec<Outlier> {
    let mut by_schema: BTreeMap<String, Outlier> = BTreeMap::new();
    for o in outliers {
        match by_schema.get_mut(&o.schema) {
            Some(existing) => existing.differences.extend(o.differences),
            None => {
                by_schema.insert(o.schema.clone(), o);
            }
        }
    }
    targets.iter().filter_map(|t| by_schema.remove(t.schema.as_str())).collect()
}

fn outlier(t: &Target, differences: Vec<String>) -> Outlier {
    Outlier { org_id: t.org_id.clone(), schema: t.schema.to_string(), version: t.version, differences }
}

async fn targets(pool: &PgPool) -> Result<Vec<Target>, EngineError> {
    let rows = sqlx::raw_sql(
        "SELECT org_id, schema_name, schema_version, migration_count, shard, database_name, database_schema \
         FROM public.tenants \
         WHERE status IN ('ACTIVE', 'FAILED') ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await
    .context("reading the registry")?;
    let mut targets = Vec::with_capacity(rows.len());
    for row in rows {
        let schema: String = row.try_get("schema_name").context("reading the registry")?;
        let Some(schema) = SchemaName::new(&schema) else { continue };
        targets.push(Target {
            org_id: row.try_get("org_id").context("reading the registry")?,
            schema,
            version: row.try_get("schema_version").context("reading the registry")?,
            count: row.try_get("migration_count").context("reading the registry")?,
            shard: row.try_get("shard").context("reading the registry")?,
            database: database_of(&row).context("reading the registry")?,
        });
    }
    Ok(targets)
}

fn database_of(row: &sqlx::postgres::PgRow) -> Result<Option<(String, SchemaName)>, sqlx::Error> {
    let name: Option<String> = row.try_get("database_name")?;
    let schema: Option<String> = row.try_get("database_schema")?;
    Ok(name.zip(schema.as_deref().and_then(SchemaName::new)))
}

/// The canonical structure of each schema: `kind name: definition` lines, schema names removed.
pub(crate) async fn structure(
    pool: &PgPool,
    schemas: &[&str],
) -> Result<BTreeMap<String, BTreeSet<String>>, EngineError> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let existing: Vec<String> = in_transaction(pool, async |conn| {
        query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($1)")
            .bind(schemas)
            .fetch_all(conn)
            .await
    })
    .await
    .context("reading pg_namespace")?;
    for schema in existing {
        out.entry(schema).or_default();
    }
    let queries = [
        // Columns, with type, nullability and default. `pg_get_expr` with a relation opens it (an
        // ACCESS SHARE lock, queued behind any migration): a default has no column references and
        // deparses without one; a generated column's expression is compared as its node tree,
        // without the parse locations.
        "SELECT n.nspname::text, 'column ' || c.relname || '.' || a.attname,
                format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                || coalesce(CASE a.attgenerated
                              WHEN '' THEN ' default ' || pg_get_expr(d.adbin, 0)
                              ELSE ' generated ' || regexp_replace(d.adbin::text, ' :location -?[0-9]+', '', 'g')
                            END, '')
           FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
          WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        // Tables and views.
        "SELECT n.nspname::text, 'relation ' || c.relname, c.relkind::text
           FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
          WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')",
        // Indexes, spelled from pg_index (`pg_get_indexdef` locks the table): kind, method, each
        // column with its operator class and options, then expressions and predicate as node trees.
        "SELECT n.nspname::text, 'index ' || t.relname || '.' || i.relname,
                concat_ws(' ',
                  CASE WHEN x.indisprimary THEN 'primary key' WHEN x.indisunique THEN 'unique' END,
                  CASE WHEN x.indnullsnotdistinct THEN 'nulls not distinct' END,
                  am.amname,
                  '(' || (SELECT string_agg(concat_ws(' ', coalesce(a.attname::text, 'expression'), oc.opcname,
                                                      nullif(k.option, 0)::text), ', ' ORDER BY k.position)
                            FROM unnest(x.indkey::int2[], x.indclass::oid[], x.indoption::int2[])
                                 WITH ORDINALITY AS k(attnum, opclass, option, position)
                            LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                            LEFT JOIN pg_opclass oc ON oc.oid = k.opclass) || ')',
                  'expressions ' || regexp_replace(x.indexprs::text, ' :location -?[0-9]+', '', 'g'),
                  'where ' || regexp_replace(x.indpred::text, ' :location -?[0-9]+', '', 'g'))
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_am am ON am.oid = i.relam
           JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = ANY($1)",
        // Constraints.
        // Constraints, spelled from pg_constraint (`pg_get_constraintdef` locks the table too).
        "SELECT n.nspname::text, 'constraint ' || c.relname || '.' || k.conname,
                concat_ws(' ',
                  CASE k.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
                                 WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' ELSE k.contype::text END,
                  '(' || (SELECT string_agg(a.attname, ', ' ORDER BY u.position)
                            FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, position)
                            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) || ')',
                  'references ' || f.relname || ' (' || (SELECT string_agg(a.attname, ', ' ORDER BY u.position)
                            FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, position)
                            JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) || ')',
                  CASE WHEN k.contype = 'f'
                       THEN format('match %s on update %s on delete %s', k.confmatchtype, k.confupdtype, k.confdeltype)
                  END,
                  regexp_replace(k.conbin::text, ' :location -?[0-9]+', '', 'g'),
                  CASE WHEN k.condeferrable THEN 'deferrable' END,
                  CASE WHEN k.condeferred THEN 'initially deferred' END,
                  CASE WHEN NOT k.convalidated THEN 'not valid' END)
           FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_class f ON f.oid = k.confrelid
          WHERE n.nspname = ANY($1)",
    ];
    for sql in queries {
        let rows: Vec<(String, String, Option<String>)> =
            in_transaction(pool, async |conn| query_as(sql).bind(schemas).fetch_all(conn).await)
                .await
                .context("reading the catalog")?;
        for (schema, key, definition) in rows {
            let definition = unqualify(&definition.unwrap_or_default(), &schema);
            out.entry(schema).or_default().insert(format!("{key}: {definition}"));
        }
    }
    Ok(out)
}

/// Removes the schema's own name from a definition, so that identical tenants compare equal.
fn unqualify(definition: &str, schema: &str) -> String {
    definition.replace(&format!("{}.", quote_ident(schema)), "").replace(&format!("{schema}."), "")
}

fn fingerprint(lines: &BTreeSet<String>) -> String {
    let mut hasher = Sha256::new();
    for line in lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// Groups, and the tenants that differ from the most common structure at their version (with a tie,
/// every tied group is reported, each against the other).
fn compare(
    targets: &[Target],
    fingerprints: &BTreeMap<(Option<i64>, String), Vec<usize>>,
    structure: &BTreeMap<String, BTreeSet<String>>,
) -> (Vec<Group>, Vec<Outlier>) {
    let mut groups: Vec<Group> = fingerprints
        .iter()
        .map(|((version, fingerprint), members)| Group {
            version: *version,
            fingerprint: fingerprint.clone(),
            count: members.len(),
            sample: members.iter().take(20).map(|&i| targets[i].org_id.clone()).collect(),
        })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.version.cmp(&b.version)));
    let mut by_version: BTreeMap<Option<i64>, Vec<&Group>> = BTreeMap::new();
    for g in &groups {
        by_version.entry(g.version).or_default().push(g);
    }
    let mut suspects: Vec<(usize, String)> = Vec::new();
    for peers in by_version.values().filter(|peers| peers.len() > 1) {
        let top = peers[0].count;
        let tied = peers.iter().filter(|g| g.count == top).count();
        for (rank, group) in peers.iter().enumerate() {
            if rank >= tied || tied > 1 {
                let reference = if rank == 0 { peers[1] } else { peers[0] };
                let members = &fingerprints[&(group.version, group.fingerprint.clone())];
                suspects.extend(members.iter().map(|&i| (i, reference.fingerprint.clone())));
            }
        }
    }
    let representative: BTreeMap<&String, &BTreeSet<String>> = fingerprints
        .iter()
        .filter_map(|((_, fp), members)| Some((fp, structure.get(targets[*members.first()?].schema.as_str())?)))
        .collect();
    let mut outliers = Vec::new();
    for (i, reference) in suspects {
        let t = &targets[i];
        let (Some(own), Some(reference)) = (structure.get(t.schema.as_str()), representative.get(&reference)) else {
            continue;
        };
        outliers.push(outlier(t, differences(own, reference)));
    }
    (groups, outliers)
}

/// `kind name added|missing|changed (was → now)` lines between a tenant and its reference.
pub(crate) fn differences(own: &BTreeSet<String>, reference: &BTreeSet<String>) -> Vec<String> {
    let split = |set: &BTreeSet<String>| -> BTreeMap<String, String> {
        set.iter()
            .map(|line| match line.split_once(": ") {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (line.clone(), String::new()),
            })
            .collect()
    };
    let (own, reference) = (split(own), split(reference));
    let mut out = Vec::new();
    for (key, value) in &own {
        match reference.get(key) {
            None => out.push(format!("{key} added")),
            Some(was) if was != value => out.push(format!("{key} changed ({was} → {value})")),
            Some(_) => {}
        }
    }
    out.extend(reference.keys().filter(|k| !own.contains_key(*k)).map(|k| format!("{k} missing")));
    out
}

/// Each tenant's tracking table against the files and the registry mirror, in batches.
async fn history(pool: &PgPool, targets: &[&Target], set: &MigrationSet) -> Result<Vec<Outlier>, EngineError> {
    let schemas: Vec<&str> = targets.iter().map(|t| t.schema.as_str()).collect();
    let exists: BTreeSet<String> = in_transaction(pool, async |conn| {
        query_scalar(
            "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = 'tenantctl_migrations' AND n.nspname = ANY($1)",
        )
        .bind(&schemas)
        .fetch_all(conn)
        .await
    })
    .await
    .context("reading the catalog")?
    .into_iter()
    .collect();
    let readable: Vec<&Target> = targets.iter().copied().filter(|t| exists.contains(t.schema.as_str())).collect();
    let mut outliers = Vec::new();
    for batch in readable.chunks(TRACKING_BATCH) {
        let sql = batch
            .iter()
            .map(|t| {
                format!(
                    "SELECT {} AS s, version, checksum FROM {}.tenantctl_migrations",
                    sql_literal(t.schema.as_str()),
                    t.schema.quoted()
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows: Vec<(String, i64, String)> =
            in_transaction(pool, async |conn| query_as(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await)
                .await
                .context("reading tracking tables")?;
        for t in batch {
            let applied: Vec<(i64, &str)> =
                rows.iter().filter(|(s, ..)| s == t.schema.as_str()).map(|(_, v, c)| (*v, c.as_str())).collect();
            let problems = history_problems(t, &applied, set);
            if !problems.is_empty() {
                outliers.push(outlier(t, problems));
            }
        }
    }
    Ok(outliers)
}

fn history_problems(t: &Target, applied: &[(i64, &str)], set: &MigrationSet) -> Vec<String> {
    let mut problems = Vec::new();
    for &(version, checksum) in applied {
        match Version::from_i64(version).and_then(|v| set.get(v)) {
            None => problems.push(format!("tracking table lists version {version}, which has no file")),
            Some(m) if Checksum::from_hex(checksum) != Some(m.checksum) => {
                problems.push(format!("tracking table checksum of {} differs from the file", m.up.file_name()))
            }
            Some(_) => {}
        }
    }
    let newest = applied.iter().map(|(v, _)| *v).max();
    let count = i32::try_from(applied.len()).unwrap_or(i32::MAX);
    if t.version.is_some() && (t.version != newest || t.count != Some(count)) {
        problems.push(format!(
            "registry says version {:?} with {:?} migrations, tracking table has {newest:?} with {count}",
            t.version, t.count
        ));
    }
    problems
}

fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lines: &[&str]) -> BTreeSet<String> {
        lines.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn differences_are_spelled_out() {
        let reference = set(&["column items.id: bigint not null", "column items.name: text"]);
        let own =
            set(&["column items.id: bigint not null", "column items.name: varchar(10)", "column items.note: text"]);
        assert_eq!(
            differences(&own, &reference),
            vec!["column items.name changed (text → varchar(10))", "column items.note added"]
        );
        assert_eq!(differences(&reference, &own).last().map(String::as_str), Some("column items.note missing"));
    }

    #[test]
    fn schema_names_are_removed_from_definitions() {
        assert_eq!(
            unqualify("CREATE INDEX i ON tid_ab.items USING btree (name)", "tid_ab"),
            "CREATE INDEX i ON items USING btree (name)"
        );
        assert_eq!(
            unqualify("nextval('\"tid_ab\".items_id_seq'::regclass)", "tid_ab"),
            "nextval('items_id_seq'::regclass)"
        );
    }

    #[test]
    fn fingerprints_ignore_order() {
        assert_eq!(fingerprint(&set(&["a", "b"])), fingerprint(&set(&["b", "a"])));
        assert_ne!(fingerprint(&set(&["a"])), fingerprint(&set(&["a", "b"])));
    }
}
