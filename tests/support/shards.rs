//! Two more throwaway PostgreSQL servers standing for shards, each started once per test binary
//! like the main one; every test gets a fresh database on each.

use std::sync::OnceLock;

use super::{TestDb, server::start_cluster};

/// How many shard servers the tests have.
const SHARD_SERVERS: usize = 2;

/// A test's database on one shard server, and the shard name the test gives it.
#[derive(Debug)]
pub struct ShardDb {
    /// The shard's name in `tenantctl.toml`.
    pub name: &'static str,
    /// Its database (its project directory is unused).
    pub db: TestDb,
}

impl ShardDb {
    /// The `[shards.<name>]` table naming this database.
    pub fn toml(&self) -> String {
        format!("[shards.{}]\nurl = \"{}\"\n", self.name, self.db.url())
    }

    /// The versions in its `public.tenantctl_shard_migrations`, with their batches.
    pub fn applied(&self) -> Vec<(i64, i64)> {
        self.db
            .rows("select version, batch from public.tenantctl_shard_migrations order by version")
            .iter()
            .map(|r| (r["version"].as_i64().expect("version"), r["batch"].as_i64().expect("batch")))
            .collect()
    }
}

/// A fresh database on each shard server, named `eu1` and `us2`.
pub fn shard_dbs() -> [ShardDb; SHARD_SERVERS] {
    let [first, second] = shard_servers();
    [ShardDb { name: "eu1", db: TestDb::blank(first) }, ShardDb { name: "us2", db: TestDb::blank(second) }]
}

/// The URLs of the shard servers' maintenance databases. Panics, in every test that asks, when
/// they cannot be had: never a skip.
fn shard_servers() -> [&'static str; SHARD_SERVERS] {
    static SERVERS: [OnceLock<Result<String, String>>; SHARD_SERVERS] = [const { OnceLock::new() }; SHARD_SERVERS];
    std::array::from_fn(|i| {
        let server = SERVERS[i].get_or_init(|| start_cluster(&format!("tenantctl-test-shard{i}-pg-"), &[], &[]));
        match server {
            Ok(url) => url.as_str(),
            Err(message) => panic!("no PostgreSQL server for shard {i}: {message}"),
        }
    })
}
