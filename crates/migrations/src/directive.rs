//! `-- tenantctl:...` directives: the grammar of LINT_RULES.md §1.4, plus per-file timeouts.
//!
//! This module parses the text of one SQL line comment. Finding the comments (never inside strings,
//! dollar-quoted bodies or block comments) is the lexer's job, in [`crate::sql`].

use std::time::Duration;

/// Where a migration file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Once, against the shared `public` schema.
    Master,
    /// Once per tenant schema.
    Tenant,
}

/// One parsed directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `-- tenantctl:no-transaction`: run the file outside a transaction, one statement at a time.
    NoTransaction,
    /// `-- tenantctl:scope master|tenant`.
    Scope(Scope),
    /// `-- tenantctl:allow rule[,rule] reason="..."` (next statement), or `allow-file` (whole file).
    Allow {
        /// The rule ids to accept, as written (the linter checks that they exist).
        rules: Vec<String>,
        /// Why the finding is accepted; never empty.
        reason: String,
        /// `allow-file` rather than `allow`.
        whole_file: bool,
    },
    /// `-- tenantctl:lock-timeout 30s`: this file's `lock_timeout`.
    LockTimeout(Duration),
    /// `-- tenantctl:statement-timeout 10min`: this file's `statement_timeout`.
    StatementTimeout(Duration),
}

impl Directive {
    /// Whether the directive belongs in the file header (before the first statement).
    pub fn is_header(&self) -> bool {
        !matches!(self, Self::Allow { whole_file: false, .. })
    }
}

/// Why a `-- tenantctl:` comment is not a valid directive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// The word after `tenantctl:` is not a known directive.
    #[error(
        "unknown directive `tenantctl:{0}` (known: no-transaction, scope, allow, allow-file, lock-timeout, statement-timeout)"
    )]
    UnknownVerb(String),
    /// The directive takes no argument but has one, or lacks a required one.
    #[error("`tenantctl:{verb}` {problem}")]
    BadArgument {
        /// The directive.
        verb: &'static str,
        /// What is wrong with its argument.
        problem: String,
    },
}

const PREFIX: &str = "tenantctl:";

/// Parses one SQL line comment (with or without its leading `--`).
///
/// Returns `None` when the comment is not a tenantctl directive at all.
pub fn parse(comment: &str) -> Option<Result<Directive, DirectiveError>> {
    let body = comment.trim_start_matches('-').trim();
    let rest = body.strip_prefix(PREFIX)?;
    let (verb, argument) = match rest.find(char::is_whitespace) {
        Some(at) => (&rest[..at], rest[at..].trim()),
        None => (rest, ""),
    };
    Some(parse_verb(verb, argument))
}

fn parse_verb(verb: &str, argument: &str) -> Result<Directive, DirectiveError> {
    match verb {
        "no-transaction" => no_argument("no-transaction", argument).map(|()| Directive::NoTransaction),
        "scope" => match argument {
            "master" => Ok(Directive::Scope(Scope::Master)),
            "tenant" => Ok(Directive::Scope(Scope::Tenant)),
            other => Err(bad("scope", format!("takes `master` or `tenant`, not `{other}`"))),
        },
        "allow" => parse_allow("allow", argument, false),
        "allow-file" => parse_allow("allow-file", argument, true),
        "lock-timeout" => duration("lock-timeout", argument).map(Directive::LockTimeout),
        "statement-timeout" => duration("statement-timeout", argument).map(Directive::StatementTimeout),
        other => Err(DirectiveError::UnknownVerb(other.to_owned())),
    }
}

fn bad(verb: &'static str, problem: String) -> DirectiveError {
    DirectiveError::BadArgument { verb, problem }
}

fn no_argument(verb: &'static str, argument: &str) -> Result<(), DirectiveError> {
    if argument.is_empty() { Ok(()) } else { Err(bad(verb, format!("takes no argument, found `{argument}`"))) }
}

fn duration(verb: &'static str, argument: &str) -> Result<Duration, DirectiveError> {
    match humantime::parse_duration(argument) {
        Ok(d) if d >= Duration::from_millis(1) => Ok(d),
        Ok(_) => Err(bad(verb, "must be at least 1ms".to_owned())),
        Err(_) => Err(bad(verb, format!("takes a duration such as `30s` or `10min`, not `{argument}`"))),
    }
}

fn parse_allow(verb: &'static str, argument: &str, whole_file: bool) -> Result<Directive, DirectiveError> {
    let (rules, reason) = match argument.find("reason=") {
        Some(at) => (argument[..at].trim(), argument[at + "reason=".len()..].trim()),
        None => {
            return Err(bad(verb, "needs reason=\"...\" saying why the finding is accepted".to_owned()));
        }
    };
    let reason = reason
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| bad(verb, "reason must be written in double quotes: reason=\"...\"".to_owned()))?
        .trim();
    if reason.is_empty() {
        return Err(bad(verb, "has an empty reason".to_owned()));
    }
    let rules: Vec<String> = rules.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect();
    if rules.is_empty() {
        return Err(bad(verb, "names no rule id".to_owned()));
    }
    Ok(Directive::Allow { rules, reason: reason.to_owned(), whole_file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_comments_are_not_directives() {
        assert_eq!(parse("-- just a note"), None);
        assert_eq!(parse("-- tenantctl is great"), None);
    }

    #[test]
    fn header_directives_parse() {
        assert_eq!(parse("-- tenantctl:no-transaction"), Some(Ok(Directive::NoTransaction)));
        assert_eq!(parse("--tenantctl:scope master"), Some(Ok(Directive::Scope(Scope::Master))));
        assert_eq!(parse("-- tenantctl:lock-timeout 30s"), Some(Ok(Directive::LockTimeout(Duration::from_secs(30)))));
        assert_eq!(
            parse("-- tenantctl:statement-timeout 10min"),
            Some(Ok(Directive::StatementTimeout(Duration::from_secs(600))))
        );
    }

    #[test]
    fn allow_needs_rules_and_a_quoted_reason() {
        assert_eq!(
            parse(r#"-- tenantctl:allow drop-column, rename-column reason="column unused since v12""#),
            Some(Ok(Directive::Allow {
                rules: vec!["drop-column".into(), "rename-column".into()],
                reason: "column unused since v12".into(),
                whole_file: false,
            }))
        );
        assert!(matches!(parse("-- tenantctl:allow drop-column"), Some(Err(_))));
        assert!(matches!(parse(r#"-- tenantctl:allow drop-column reason="""#), Some(Err(_))));
        assert!(matches!(parse(r#"-- tenantctl:allow-file reason="x""#), Some(Err(_))));
    }

    #[test]
    fn bad_verbs_and_arguments_are_errors() {
        assert_eq!(parse("-- tenantctl:yolo"), Some(Err(DirectiveError::UnknownVerb("yolo".into()))));
        assert!(matches!(parse("-- tenantctl:no-transaction please"), Some(Err(_))));
        assert!(matches!(parse("-- tenantctl:scope both"), Some(Err(_))));
        assert!(matches!(parse("-- tenantctl:lock-timeout soon"), Some(Err(_))));
    }
}
