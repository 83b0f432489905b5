//! Black-box tests of the linter's public API: a fixture directory of realistic migrations linted
//! as one ordered run, snapshots of the text and JSON output, and reading paths.

use std::path::PathBuf;

use tenantctl_lint::{
    LintOptions, Report, Verdict, collect, lint, render_explain, render_rules_markdown, render_text, rule, rules,
};

fn fixture_run() -> Report {
    let inputs = collect(&[PathBuf::from("tests/fixtures/tenant_run")]).expect("fixtures are readable");
    lint(&inputs, &LintOptions::default())
}

#[test]
fn fixture_run_has_the_expected_verdicts() {
    let report = fixture_run();
    let verdicts: Vec<(&str, Verdict)> =
        report.files.iter().map(|f| (f.path.rsplit('/').next().unwrap(), f.verdict)).collect();
    assert_eq!(
        verdicts,
        vec![
            ("0001_create_users.up.sql", Verdict::Pass),
            ("0001_create_users.down.sql", Verdict::Pass),
            ("0002_plan_not_null_check.up.sql", Verdict::Pass),
            ("0003_plan_not_null.up.sql", Verdict::Pass),
            ("0004_users_created_at_index.up.sql", Verdict::Pass),
            ("0004_users_created_at_index.down.sql", Verdict::Pass),
            ("0005_orders.up.sql", Verdict::Blocked),
            ("0006_backfill_plan.up.sql", Verdict::Pass),
            ("0007_citext.up.sql", Verdict::Blocked),
            ("0008_broken.up.sql", Verdict::Error),
            ("0009_widen_email.up.sql", Verdict::Pass),
            ("0010_shared_plans.up.sql", Verdict::Pass),
            ("0011_template_seed.up.sql", Verdict::Blocked),
        ]
    );
    let s = report.summary;
    assert_eq!((s.files, s.pass, s.blocked, s.error), (13, 9, 3, 1));
}

#[test]
fn fixture_run_text_output() {
    let mut out = Vec::new();
    render_text(&fixture_run(), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn fixture_run_json_output() {
    let json = serde_json::to_string_pretty(&fixture_run()).unwrap();
    insta::assert_snapshot!(json);
}

#[test]
fn json_has_the_documented_shape() {
    let value = serde_json::to_value(fixture_run()).unwrap();
    let file = &value["files"][6];
    assert_eq!(file["path"], "tests/fixtures/tenant_run/0005_orders.up.sql");
    for key in ["path", "verdict", "transaction", "findings"] {
        assert!(file.get(key).is_some(), "file lacks {key}");
    }
    let finding = &file["findings"][0];
    for key in ["rule", "severity", "line", "column", "message"] {
        assert!(finding.get(key).is_some(), "finding lacks {key}");
    }
    assert_eq!(file["verdict"], "BLOCKED");
    assert_eq!(value["files"][5]["transaction"], "none");
    assert_eq!(value["summary"]["files"], 13);
}

#[test]
fn rule_table_markdown() {
    let mut out = Vec::new();
    render_rules_markdown(&mut out).unwrap();
    let table = String::from_utf8(out).unwrap();
    assert_eq!(table.lines().count(), 2 + 40);
    insta::assert_snapshot!(table);
}

#[test]
fn explain_prints_the_catalog_entry() {
    let mut out = Vec::new();
    render_explain(rule("set-not-null").unwrap(), &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn the_catalog_has_forty_unique_rules() {
    let mut ids: Vec<&str> = rules().iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 40);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40);
}

#[test]
fn a_missing_path_is_an_error() {
    let error = collect(&[PathBuf::from("tests/fixtures/nope")]).unwrap_err();
    assert!(matches!(error, tenantctl_lint::CollectError::NotFound(_)), "{error:?}");
}

#[test]
fn a_non_utf8_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("0001_a.sql"), b"select '\xff';").unwrap();
    let error = collect(&[dir.path().to_owned()]).unwrap_err();
    assert!(matches!(error, tenantctl_lint::CollectError::NotUtf8(_)), "{error:?}");
}

#[test]
fn directories_run_in_version_order_or_lexical_order() {
    let names = |files: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(dir.path().join(f), "select 1;").unwrap();
        }
        std::fs::write(dir.path().join("README.md"), "not sql").unwrap();
        let inputs = collect(&[dir.path().to_owned()]).unwrap();
        inputs.iter().map(|i| i.path.rsplit('/').next().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(
        names(&["10_b.sql", "9_a.down.sql", "9_a.up.sql", "0011_c.down.sql"]),
        ["9_a.up.sql", "9_a.down.sql", "10_b.sql", "0011_c.down.sql"]
    );
    assert_eq!(names(&["b.sql", "10_a.sql", "a.sql"]), ["10_a.sql", "a.sql", "b.sql"]);
}

#[test]
fn linting_a_thousand_files_is_fast() {
    let sql = "CREATE TABLE t (id bigint PRIMARY KEY, email text);\n\
               ALTER TABLE t ADD COLUMN plan text DEFAULT 'free';\n\
               -- tenantctl:allow create-index-non-concurrent reason=\"small\"\n\
               CREATE INDEX t_email ON users (email);\n\
               UPDATE t SET plan = 'free' WHERE plan IS NULL;\n";
    let inputs: Vec<_> = (1..=1000)
        .map(|i| tenantctl_lint::LintInput {
            path: format!("{i:04}_m.up.sql"),
            sql: sql.to_owned(),
            role: tenantctl_lint::FileRole::Up,
            scope: None,
        })
        .collect();
    let started = std::time::Instant::now();
    let report = lint(&inputs, &LintOptions::default());
    let elapsed = started.elapsed();
    assert_eq!(report.summary.pass, 1000);
    // The release target is well under a second; debug builds get slack.
    let limit = if cfg!(debug_assertions) { 10 } else { 1 };
    assert!(elapsed.as_secs() < limit, "linting 1,000 files took {elapsed:?}");
}
