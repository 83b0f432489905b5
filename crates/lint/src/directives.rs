//! The `-- tenantctl:` directives of one file (LINT_RULES.md §1.4): its header (scope,
//! no-transaction), the findings it accepts, and the directives that are themselves wrong.
//! The grammar is `tenantctl_migrations::parse_directive`; this module decides where they apply.

use tenantctl_migrations::{Directive, Scope, parse_directive};

use crate::catalog;
use crate::report::Span;
use crate::source::Source;

/// A finding accepted by a directive.
#[derive(Debug)]
struct Allow {
    rules: Vec<&'static str>,
    reason: String,
    /// The statement it applies to; `None` for `allow-file`.
    statement: Option<usize>,
}

/// The directives of one file.
#[derive(Debug, Default)]
pub(crate) struct Directives {
    /// `-- tenantctl:scope`, if given.
    pub scope: Option<Scope>,
    /// Where `-- tenantctl:no-transaction` is, if present.
    pub no_transaction: Option<Span>,
    allows: Vec<Allow>,
    /// Directives that are wrong, with why (rule `invalid-lint-directive`).
    pub invalid: Vec<(Span, String)>,
}

impl Directives {
    /// Reads every `--` comment of the file.
    pub(crate) fn read(source: &Source<'_>) -> Self {
        let starts: Vec<usize> = source.statement_starts().collect();
        let mut directives = Self::default();
        for (span, text) in source.comments() {
            match parse_directive(text) {
                None => {}
                Some(Err(e)) => directives.invalid.push((span, e.to_string())),
                Some(Ok(d)) => directives.add(d, span, &starts),
            }
        }
        directives
    }

    fn add(&mut self, directive: Directive, span: Span, starts: &[usize]) {
        let after_first_statement = starts.first().is_some_and(|&first| span.start > first);
        match directive {
            Directive::Allow { rules, reason, whole_file } => {
                let statement = if whole_file {
                    None
                } else {
                    match starts.iter().position(|&s| s > span.start) {
                        Some(index) => Some(index),
                        None => {
                            self.invalid.push((span, "`tenantctl:allow` has no statement after it".to_owned()));
                            return;
                        }
                    }
                };
                match known_rules(&rules) {
                    Ok(rules) => self.allows.push(Allow { rules, reason, statement }),
                    Err(problem) => self.invalid.push((span, problem)),
                }
            }
            header if after_first_statement => {
                let verb = match header {
                    Directive::NoTransaction => "no-transaction",
                    Directive::Scope(_) => "scope",
                    Directive::LockTimeout(_) => "lock-timeout",
                    _ => "statement-timeout",
                };
                self.invalid.push((span, format!("`tenantctl:{verb}` must come before the first statement")));
            }
            Directive::NoTransaction => self.no_transaction = Some(span),
            Directive::Scope(scope) => self.scope = Some(scope),
            // Timeouts are the runner's business; the linter only checks where they stand.
            Directive::LockTimeout(_) | Directive::StatementTimeout(_) => {}
        }
    }

    /// The reason given for accepting `rule` at this statement (`None` for file-level findings).
    pub(crate) fn allowance(&self, rule: &str, statement: Option<usize>) -> Option<&str> {
        self.allows
            .iter()
            .find(|a| a.rules.contains(&rule) && (a.statement.is_none() || a.statement == statement))
            .map(|a| a.reason.as_str())
    }
}

/// Checks that every id names a rule that can be suppressed.
fn known_rules(ids: &[String]) -> Result<Vec<&'static str>, String> {
    ids.iter()
        .map(|id| match catalog::rule(id) {
            Some(rule) if rule.suppressible() => Ok(rule.id),
            Some(rule) => Err(format!("`{}` cannot be suppressed", rule.id)),
            None => Err(format!("unknown rule id `{id}`")),
        })
        .collect()
}
