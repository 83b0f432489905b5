//! `tenantctl lint` as a command: verdicts and exit codes over fixture directories, the JSON shape,
//! the rule catalog, `--explain`, text that only looks like SQL, and the default directories in
//! their scopes. It never connects: these tests run without a database.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{Output, tenantctl_in_fixture};

/// `tenantctl lint <args>` in `tests/fixtures`, where every lint fixture is a directory.
fn lint(args: &[&str]) -> Output {
    let mut all = vec!["lint"];
    all.extend(args);
    tenantctl_in_fixture("", &all)
}

/// `tenantctl lint <args> --format json`, with the exit code asserted.
#[track_caller]
fn lint_json(args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = lint(&all);
    out.exits(code);
    out.json()
}

/// The files of a report, by path.
#[track_caller]
fn file<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["files"]
        .as_array()
        .and_then(|files| files.iter().find(|f| f["path"] == path))
        .unwrap_or_else(|| panic!("{path} is not in the report {report:#}"))
}

/// The `rule` of each finding of a file, in report order.
fn rules(file: &Value) -> Vec<&str> {
    file["findings"].as_array().map_or_else(Vec::new, |f| f.iter().filter_map(|f| f["rule"].as_str()).collect())
}

#[test]
fn lint_exits_0_when_every_file_passes_even_with_warnings() {
    let report = lint_json(&["lint_pass"], 0);
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 7, "{report:#}");
    assert!(files.iter().all(|f| f["verdict"] == "PASS"), "{report:#}");
    let rename = file(&report, "lint_pass/0006_invoices_number_rename.up.sql");
    assert_eq!(rules(rename), ["rename-column"]);
    assert_eq!(rename["findings"][0]["severity"], "warning");
    // In a down file, dropping what the up file created is a warning.
    let down = file(&report, "lint_pass/0001_invoices.down.sql");
    assert_eq!((rules(down), &down["findings"][0]["severity"]), (vec!["drop-table"], &"warning".into()), "{down}");
    // A validated CHECK (due_on IS NOT NULL) in an earlier file: SET NOT NULL does not fire.
    assert_eq!(rules(file(&report, "lint_pass/0004_invoices_due_on_required.up.sql")), Vec::<&str>::new());
    lint(&["lint_pass"]).succeeds().mentions("rename-column");
}

#[test]
fn lint_exits_1_for_a_blocked_file_and_for_a_file_that_does_not_parse() {
    let report = lint_json(&["lint_blocked"], 1);
    let blocked = file(&report, "lint_blocked/0001_customers_email.up.sql");
    assert_eq!(blocked["verdict"], "BLOCKED");
    assert_eq!(rules(blocked), ["create-index-non-concurrent", "set-not-null"], "in source order");
    let positions: Vec<(&Value, &Value)> =
        blocked["findings"].as_array().expect("findings").iter().map(|f| (&f["line"], &f["column"])).collect();
    assert_eq!(positions, [(&2.into(), &1.into()), (&3.into(), &1.into())], "line:column of each statement");
    assert!(blocked["findings"].as_array().expect("findings").iter().all(|f| f["severity"] == "error"));

    let report = lint_json(&["lint_error"], 1);
    let broken = file(&report, "lint_error/0001_broken.up.sql");
    assert_eq!(broken["verdict"], "ERROR", "{report:#}");
    assert_eq!(rules(broken), ["syntax-error"]);

    lint(&["lint_blocked"]).exits(1).mentions("BLOCKED").mentions("set-not-null");
    lint(&["lint_error"]).exits(1).mentions("ERROR").mentions("syntax-error");
}

#[test]
fn lint_of_a_path_that_does_not_exist_is_exit_2_with_one_line() {
    let out = lint(&["no_such_dir"]);
    out.exits(2);
    assert!(out.one_error_line().contains("no_such_dir"), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn lint_json_has_exactly_the_documented_shape() {
    // Three directories as one ordered run: PASS (with a no-transaction file), BLOCKED, ERROR.
    let report = lint_json(&["lint_pass", "lint_blocked", "lint_error"], 1);
    let files = report["files"].as_array().unwrap_or_else(|| panic!("files is a list: {report:#}"));
    let mut verdicts = [0, 0, 0];
    let mut transactions = BTreeSet::new();
    for f in files {
        assert!(f["path"].is_string(), "{f}");
        match f["verdict"].as_str() {
            Some("PASS") => verdicts[0] += 1,
            Some("BLOCKED") => verdicts[1] += 1,
            Some("ERROR") => verdicts[2] += 1,
            _ => panic!("verdict is PASS, BLOCKED or ERROR: {f}"),
        }
        let transaction = f["transaction"].as_str().unwrap_or_default();
        assert!(["transaction", "none"].contains(&transaction), "transaction is `transaction` or `none`: {f}");
        transactions.insert(transaction.to_owned());
        for finding in f["findings"].as_array().unwrap_or_else(|| panic!("findings is a list: {f}")) {
            assert!(finding["rule"].is_string() && finding["message"].is_string(), "{finding}");
            let severity = finding["severity"].as_str().unwrap_or_default();
            assert!(["error", "warning", "allowed"].contains(&severity), "severity: {finding}");
            for key in ["line", "column"] {
                assert!(finding[key].as_u64().is_some_and(|n| n >= 1), "{key} is 1-based: {finding}");
            }
        }
    }
    assert_eq!(transactions, BTreeSet::from(["none".to_owned(), "transaction".to_owned()]));
    assert_eq!(
        (
            &report["summary"]["files"],
            &report["summary"]["pass"],
            &report["summary"]["blocked"],
            &report["summary"]["error"]
        ),
        (&files.len().into(), &verdicts[0].into(), &verdicts[1].into(), &verdicts[2].into()),
        "{:#}",
        report["summary"]
    );
    assert_eq!(verdicts, [7, 1, 1]);
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    let first_blocked = paths.iter().position(|p| p.starts_with("lint_blocked/")).expect("lint_blocked linted");
    assert!(paths[..first_blocked].iter().all(|p| p.starts_with("lint_pass/")), "files in the order linted: {paths:?}");
    assert_eq!(paths.last(), Some(&"lint_error/0001_broken.up.sql"), "{paths:?}");
}

#[test]
fn list_rules_prints_the_40_rules_and_explain_prints_one() {
    let out = lint(&["--list-rules"]);
    out.succeeds();
    let rows: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| # ")).collect();
    assert_eq!(rows.len(), 40, "{}", out.stdout);
    assert!(out.stdout.contains("`set-not-null`") && out.stdout.contains("`invalid-lint-directive`"));

    let catalog = lint_json(&["--list-rules"], 0);
    let ids: BTreeSet<&str> =
        catalog.as_array().expect("a list of rules").iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), 40, "40 distinct rule ids: {ids:?}");

    lint(&["--explain", "set-not-null"])
        .succeeds()
        .mentions("set-not-null")
        .mentions("ACCESS EXCLUSIVE")
        .mentions("VALIDATE CONSTRAINT");
    let out = lint(&["--explain", "nope"]);
    out.exits(2);
    assert!(out.one_error_line().contains("nope"), "{out:?}");
}

#[test]
fn drop_table_in_a_string_a_comment_or_a_dollar_quoted_body_does_not_fire() {
    let report = lint_json(&["lint_strings"], 1);
    let text_only = file(&report, "lint_strings/0001_notes.up.sql");
    assert_eq!(text_only["verdict"], "PASS", "{text_only:#}");
    assert_eq!(rules(text_only), Vec::<&str>::new(), "{text_only:#}");
    // The control: the linter does see a real DROP TABLE.
    let real = file(&report, "lint_strings/0002_drop_legacy_notes.up.sql");
    assert_eq!((&real["verdict"], rules(real)), (&"BLOCKED".into(), vec!["drop-table"]), "{real:#}");
    assert_eq!((&real["findings"][0]["line"], &real["findings"][0]["column"]), (&2.into(), &1.into()));
}

#[test]
fn lint_without_paths_lints_master_then_tenant_migrations_in_their_scopes_as_one_report() {
    let out = tenantctl_in_fixture("lint_default", &["lint", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    let paths: Vec<&str> =
        report["files"].as_array().expect("files").iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, ["master_migrations/0001_trigram.up.sql", "tenant_migrations/0001_trigram.up.sql"]);
    // The same CREATE EXTENSION: fine in master scope, BLOCKED in tenant scope.
    let master = file(&report, "master_migrations/0001_trigram.up.sql");
    assert_eq!((&master["verdict"], rules(master)), (&"PASS".into(), vec![]), "{master:#}");
    let tenant = file(&report, "tenant_migrations/0001_trigram.up.sql");
    assert_eq!((&tenant["verdict"], rules(tenant)), (&"BLOCKED".into(), vec!["tenant-create-extension"]), "{tenant:#}");
    assert_eq!((&report["summary"]["files"], &report["summary"]["blocked"]), (&2.into(), &1.into()));

    let text = tenantctl_in_fixture("lint_default", &["lint"]);
    text.exits(1).mentions("master_migrations/0001_trigram.up.sql").mentions("tenant_migrations/0001_trigram.up.sql");
    let summaries = text.stdout.lines().filter(|l| l.contains("pass,")).count();
    assert_eq!(summaries, 1, "one report, one summary line:\n{}", text.stdout);
}

#[test]
fn a_directory_is_one_run_in_version_order_whatever_the_file_names() {
    // 9, 10, 11 (lexically 10, 11, 9): in that order 11's SET NOT NULL follows a validated CHECK.
    let report = lint_json(&["lint_order"], 0);
    let paths: Vec<&str> =
        report["files"].as_array().expect("files").iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(
        paths,
        [
            "lint_order/9_accounts_email_check.sql",
            "lint_order/10_accounts_email_validate.sql",
            "lint_order/11_accounts_email_required.sql"
        ]
    );
    assert_eq!(rules(file(&report, "lint_order/11_accounts_email_required.sql")), Vec::<&str>::new());
    // The control: alone, without the earlier files, the same SET NOT NULL is BLOCKED.
    let report = lint_json(&["lint_order/11_accounts_email_required.sql"], 1);
    assert_eq!(rules(file(&report, "lint_order/11_accounts_email_required.sql")), ["set-not-null"]);
}
