//! `tenantctl lint`: the safety verdict of migration files. Never connects to a database.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use tenantctl_engine::Isolation;
use tenantctl_lint::{LintInput, LintOptions, Scope, Verdict};

use crate::args::{Format, GlobalArgs, IsolationArg, RunArgs};
use crate::exit::{self, InputError};
use crate::settings::Settings;

/// Arguments of `tenantctl lint`.
#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Files or directories, linted in order as one run [default: the master directory in master
    /// scope, then the tenant directory in tenant scope]. Other directories are tenant scope unless a
    /// file says `-- tenantctl:scope master`.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The PostgreSQL major version the migrations will run on.
    #[arg(long, value_name = "N", default_value_t = 15, value_parser = clap::value_parser!(u32).range(10..=30))]
    pg_version: u32,
    /// Which isolation the tenant migrations serve: with `database`, the schema of each tenant's own
    /// database (`tenant_database_schema`, `public` by default) is the tenant's, and a tenant migration
    /// may name it; a fleet mixing both is linted as `schema`, the stricter reading [default:
    /// `isolation` in tenantctl.toml, else schema].
    #[arg(long, env = "TENANTCTL_ISOLATION", value_enum, value_name = "KIND")]
    isolation: Option<IsolationArg>,
    /// Print the rule catalog (a Markdown table; JSON with --format json).
    #[arg(long, conflicts_with_all = ["paths", "explain"])]
    list_rules: bool,
    /// Explain one rule: what it catches, the lock it takes, the safe alternative.
    #[arg(long, value_name = "RULE")]
    explain: Option<String>,
}

/// Runs `tenantctl lint`; exit 0 when every file passes (warnings allowed), 1 when any is BLOCKED or ERROR.
pub(crate) fn run(global: &GlobalArgs, args: &LintArgs) -> anyhow::Result<u8> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let json = global.format != Format::Text;
    if args.list_rules {
        match json {
            true => writeln!(out, "{}", serde_json::to_string_pretty(tenantctl_lint::rules())?)?,
            false => tenantctl_lint::render_rules_markdown(&mut out)?,
        }
        return Ok(exit::SUCCESS);
    }
    if let Some(id) = &args.explain {
        let rule = tenantctl_lint::rule(id)
            .ok_or_else(|| InputError::new(format!("unknown rule `{id}` (see `tenantctl lint --list-rules`)")))?;
        match json {
            true => writeln!(out, "{}", serde_json::to_string_pretty(rule)?)?,
            false => tenantctl_lint::render_explain(rule, &mut out)?,
        }
        return Ok(exit::SUCCESS);
    }
    let settings = Settings::resolve(global, &RunArgs::default())?;
    let inputs = inputs(&settings, &args.paths)?;
    let options = LintOptions {
        pg_version: args.pg_version,
        scope: Scope::Tenant,
        tenant_prefix: settings.naming.prefix().to_owned(),
        tenant_database_schema: match args.isolation.map_or(settings.isolation, Into::into) {
            Isolation::Database => Some(settings.database_schema.as_str().to_owned()),
            Isolation::Schema => None,
        },
    };
    let report = tenantctl_lint::lint(&inputs, &options);
    match json {
        true => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        false => tenantctl_lint::render_text(&report, &mut out)?,
    }
    out.flush()?;
    let clean = report.files.iter().all(|f| f.verdict == Verdict::Pass);
    Ok(if clean { exit::SUCCESS } else { exit::FAILURE })
}

/// The files to lint: the named paths, or both migration directories; the master directory's
/// files are in master scope.
fn inputs(settings: &Settings, paths: &[PathBuf]) -> Result<Vec<LintInput>, InputError> {
    let named = !paths.is_empty();
    let paths: Vec<PathBuf> = match named {
        true => paths.to_vec(),
        false => [&settings.master_dir, &settings.tenant_dir].into_iter().filter(|d| d.exists()).cloned().collect(),
    };
    if paths.is_empty() {
        return Err(InputError::new(format!(
            "nothing to lint: neither {} nor {} exists (name files or directories)",
            settings.master_dir.display(),
            settings.tenant_dir.display()
        )));
    }
    let mut inputs = Vec::new();
    for path in &paths {
        let scope = same_path(path, &settings.master_dir).then_some(Scope::Master);
        let collected =
            tenantctl_lint::collect(std::slice::from_ref(path)).map_err(|e| InputError::new(e.to_string()))?;
        inputs.extend(collected.into_iter().map(|input| LintInput { scope: input.scope.or(scope), ..input }));
    }
    Ok(inputs)
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_rule_table_is_the_catalog() {
        let readme = include_str!("../../../README.md");
        let start = readme.find("<!-- rules:start -->\n").expect("README has a rules:start marker") + 21;
        let end = readme.find("<!-- rules:end -->").expect("README has a rules:end marker");
        let mut generated = Vec::new();
        tenantctl_lint::render_rules_markdown(&mut generated).expect("rendering to memory");
        assert_eq!(
            &readme[start..end],
            String::from_utf8(generated).expect("UTF-8"),
            "README rule table is stale: regenerate it with `tenantctl lint --list-rules`"
        );
    }
}
