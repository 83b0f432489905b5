//! Lexical facts about SQL text, from PostgreSQL's own scanner and parser (libpg_query):
//! whether a file holds any statement, its header comments, and its statements one by one.

/// A `--` line comment found by the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment's text, `--` included.
    pub text: String,
    /// Byte offset of the comment in the file.
    pub offset: usize,
    /// 1-based line of the comment.
    pub line: usize,
}

/// SQL that PostgreSQL's scanner or parser rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SqlError(String);

fn tokens(sql: &str) -> Result<Vec<pg_query::protobuf::ScanToken>, SqlError> {
    // `pg_query::scan_tokens` builds a slice from a null pointer when there is no token (undefined
    // behaviour, aborts in debug builds); `scan` goes through protobuf and is sound.
    pg_query::scan(sql).map(|r| r.tokens).map_err(|e| SqlError(e.to_string()))
}

fn is_comment(token: &pg_query::protobuf::ScanToken) -> bool {
    use pg_query::protobuf::Token;
    token.token == Token::SqlComment as i32 || token.token == Token::CComment as i32
}

/// True when the text holds nothing but comments and white space (`;` alone counts as nothing too).
pub fn is_empty_sql(sql: &str) -> Result<bool, SqlError> {
    use pg_query::protobuf::Token;
    Ok(tokens(sql)?.iter().all(|t| is_comment(t) || t.token == Token::Ascii59 as i32))
}

/// The `--` line comments that stand before the first statement: where header directives live.
pub fn header_comments(sql: &str) -> Result<Vec<Comment>, SqlError> {
    use pg_query::protobuf::Token;
    let mut comments = Vec::new();
    for token in tokens(sql)? {
        if !is_comment(&token) {
            break;
        }
        if token.token == Token::SqlComment as i32 {
            let offset = usize::try_from(token.start).unwrap_or(0);
            let end = usize::try_from(token.end).unwrap_or(offset);
            comments.push(Comment {
                text: sql.get(offset..end).unwrap_or_default().to_owned(),
                offset,
                line: 1 + sql[..offset].matches('\n').count(),
            });
        }
    }
    Ok(comments)
}

/// The statements of a file, split by PostgreSQL's parser (a `;` inside a string, a comment or a
/// dollar-quoted body does not split). Used for files that must be sent one statement at a time.
pub fn split_statements(sql: &str) -> Result<Vec<&str>, SqlError> {
    let statements = pg_query::split_with_parser(sql).map_err(|e| SqlError(e.to_string()))?;
    Ok(statements.into_iter().map(str::trim).filter(|s| !s.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_only_is_empty() {
        assert!(is_empty_sql("-- nothing here\n/* nor here */\n\n").unwrap());
        assert!(is_empty_sql("").unwrap());
        assert!(!is_empty_sql("-- a table\ncreate table t (id int);").unwrap());
    }

    #[test]
    fn header_stops_at_the_first_statement() {
        let sql = "-- tenantctl:no-transaction\n/* block */\n-- second\nselect 1; -- after\n";
        let header = header_comments(sql).unwrap();
        assert_eq!(header.iter().map(|c| c.line).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(header[0].text, "-- tenantctl:no-transaction");
    }

    #[test]
    fn a_directive_inside_a_string_is_not_a_comment() {
        let sql = "select '-- tenantctl:no-transaction';";
        assert!(header_comments(sql).unwrap().is_empty());
    }

    #[test]
    fn split_respects_strings_and_dollar_quotes() {
        let sql = "create index concurrently i on t (a);\nselect 'a;b';\ndo $$ begin perform 1; end $$;";
        assert_eq!(split_statements(sql).unwrap().len(), 3);
    }
}
