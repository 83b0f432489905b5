//! One SQL file, lexed and parsed once: its statements with the position of their first real token,
//! its `--` comments, and the mapping from byte offsets to line and column.

use pg_query::NodeEnum;
use pg_query::protobuf::{ScanToken, Token};

use crate::report::Span;

/// A file that parsed.
#[derive(Debug)]
pub(crate) struct Source<'a> {
    sql: &'a str,
    tree: pg_query::protobuf::ParseResult,
    /// Byte span of each statement, from its first non-comment token to the end of its last token.
    spans: Vec<Span>,
    /// `--` comments, in order.
    comments: Vec<Span>,
    line_starts: Vec<usize>,
}

/// A file that does not parse.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    /// The parser's message.
    pub message: String,
    /// Where the statement that fails to parse starts.
    pub span: Span,
}

fn is_comment(token: &ScanToken) -> bool {
    token.token == Token::SqlComment as i32 || token.token == Token::CComment as i32
}

fn span(token: &ScanToken) -> Span {
    let start = usize::try_from(token.start).unwrap_or(0);
    Span { start, end: usize::try_from(token.end).unwrap_or(start) }
}

/// The non-comment, non-`;` tokens of `sql` between `start` and `end`, as one span.
fn token_span(tokens: &[ScanToken], start: usize, end: usize) -> Option<Span> {
    let mut real = tokens
        .iter()
        .filter(|t| !is_comment(t) && t.token != Token::Ascii59 as i32)
        .map(span)
        .skip_while(|s| s.start < start)
        .take_while(|s| s.start < end);
    let first = real.next()?;
    let last = real.last().unwrap_or(first);
    Some(Span { start: first.start, end: last.end })
}

impl<'a> Source<'a> {
    /// Lexes and parses `sql`.
    pub(crate) fn parse(sql: &'a str) -> Result<Self, SyntaxError> {
        let tree = pg_query::parse(sql, 0).map_err(|e| syntax_error(sql, e))?.protobuf;
        let tokens = scan(sql).map_err(|e| syntax_error(sql, e))?;
        let spans = tree
            .stmts
            .iter()
            .map(|raw| {
                let start = usize::try_from(raw.stmt_location).unwrap_or(0);
                let end = match usize::try_from(raw.stmt_len) {
                    Ok(0) | Err(_) => sql.len(),
                    Ok(len) => start + len,
                };
                token_span(&tokens, start, end).unwrap_or(Span { start, end })
            })
            .collect();
        let comments = tokens.iter().filter(|t| t.token == Token::SqlComment as i32).map(span).collect();
        Ok(Self { sql, tree, spans, comments, line_starts: line_starts(sql) })
    }

    /// The statements, in order, with their index and span.
    pub(crate) fn statements(&self) -> impl Iterator<Item = (usize, &NodeEnum, Span)> {
        self.tree
            .stmts
            .iter()
            .zip(&self.spans)
            .enumerate()
            .filter_map(|(index, (raw, span))| Some((index, raw.stmt.as_ref()?.node.as_ref()?, *span)))
    }

    /// Start offsets of the statements' first tokens.
    pub(crate) fn statement_starts(&self) -> impl Iterator<Item = usize> {
        self.spans.iter().map(|s| s.start)
    }

    /// The `--` comments with their text.
    pub(crate) fn comments(&self) -> impl Iterator<Item = (Span, &'a str)> {
        let sql = self.sql;
        self.comments.iter().map(move |s| (*s, &sql[s.start..s.end]))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        position(self.sql, &self.line_starts, offset)
    }
}

fn line_starts(sql: &str) -> Vec<usize> {
    std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// 1-based line and column (in characters) of a byte offset, given the file's line starts.
fn position(sql: &str, line_starts: &[usize], offset: usize) -> (usize, usize) {
    let line = line_starts.partition_point(|&s| s <= offset).max(1);
    let start = line_starts[line - 1];
    let column = sql.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The file's tokens. Not `pg_query::scan_tokens`: on input without a token it builds a slice from a
/// null pointer (undefined behaviour; an abort in debug builds). `scan` goes through protobuf.
fn scan(sql: &str) -> Result<Vec<pg_query::protobuf::ScanToken>, pg_query::Error> {
    pg_query::scan(sql).map(|result| result.tokens)
}

/// Finds the statement that fails: the first `;`-separated piece that does not parse on its own.
/// (Only used once the whole file failed; a `BEGIN ATOMIC` body split at its `;` may be blamed early.)
fn syntax_error(sql: &str, error: pg_query::Error) -> SyntaxError {
    let message = match error {
        pg_query::Error::Parse(m) | pg_query::Error::Scan(m) => m,
        other => other.to_string(),
    };
    let tokens = scan(sql).unwrap_or_default();
    let mut piece_start = 0;
    let mut failing = None;
    for end in tokens.iter().filter(|t| t.token == Token::Ascii59 as i32).map(|t| span(t).start).chain([sql.len()]) {
        if let Some(piece) = token_span(&tokens, piece_start, end) {
            if pg_query::parse(&sql[piece.start..piece.end], 0).is_err() {
                failing = Some(piece);
                break;
            }
        }
        piece_start = end + 1;
    }
    SyntaxError { message, span: failing.unwrap_or(Span { start: 0, end: sql.len() }) }
}

/// 1-based line and column of a byte offset in a file that did not parse.
pub(crate) fn position_in(sql: &str, offset: usize) -> (usize, usize) {
    position(sql, &line_starts(sql), offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_start_at_their_first_token_not_their_leading_comments() {
        let sql = "-- header\n/* block */ select 1; -- trailing\n-- lead\n  select 'é', 2";
        let source = Source::parse(sql).unwrap();
        let starts: Vec<_> = source.statement_starts().map(|s| source.position(s)).collect();
        assert_eq!(starts, vec![(2, 13), (4, 3)]);
        assert_eq!(source.comments().map(|(_, t)| t).collect::<Vec<_>>(), vec!["-- header", "-- trailing", "-- lead"]);
    }

    #[test]
    fn columns_count_characters() {
        let sql = "select 'ééé'; select 1";
        let source = Source::parse(sql).unwrap();
        let second = source.statement_starts().nth(1).unwrap();
        assert_eq!(source.position(second), (1, 15));
    }

    #[test]
    fn a_syntax_error_points_at_the_failing_statement() {
        let sql = "select 1;\n\n  selec 2;";
        let error = Source::parse(sql).unwrap_err();
        assert_eq!(position_in(sql, error.span.start), (3, 3));
        assert!(error.message.contains("selec"), "{}", error.message);
    }
}
