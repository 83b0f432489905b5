//! Reading the JSON reports of `provision-tenant`, `migrate-tenants` and `rollback-tenants`:
//! `{"run_id", "summary": {"succeeded", "failed", "skipped"}, "tenants": [{"org_id", "schema",
//! "outcome", "applied" | "reverted", "error"}]}`.

use serde_json::Value;

/// `[succeeded, failed, skipped]` of a report, after checking that it carries a UUID run id.
#[track_caller]
pub fn summary(report: &Value) -> [u64; 3] {
    let run_id = report["run_id"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(run_id).is_ok(), "run_id is not a UUID in {report:#}");
    let count = |key: &str| {
        report["summary"][key].as_u64().unwrap_or_else(|| panic!("summary.{key} is not a count in {report:#}"))
    };
    [count("succeeded"), count("failed"), count("skipped")]
}

/// The report's entry for `org`.
#[track_caller]
pub fn entry<'a>(report: &'a Value, org: &str) -> &'a Value {
    tenants(report)
        .iter()
        .find(|t| t["org_id"] == org)
        .unwrap_or_else(|| panic!("{org} is not in the report {report:#}"))
}

/// The org ids of the report's tenants, in report order.
#[track_caller]
pub fn reported_orgs(report: &Value) -> Vec<String> {
    tenants(report).iter().map(|t| t["org_id"].as_str().expect("org_id is a string").to_owned()).collect()
}

/// A JSON array of versions (`applied`, `reverted`), sorted ascending.
#[track_caller]
pub fn versions(list: &Value) -> Vec<i64> {
    let mut versions: Vec<i64> = list
        .as_array()
        .unwrap_or_else(|| panic!("not a list of versions: {list}"))
        .iter()
        .map(|v| v.as_i64().unwrap_or_else(|| panic!("not a version: {v}")))
        .collect();
    versions.sort_unstable();
    versions
}

#[track_caller]
fn tenants(report: &Value) -> &Vec<Value> {
    report["tenants"].as_array().unwrap_or_else(|| panic!("no tenants list in {report:#}"))
}
