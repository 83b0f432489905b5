//! Interrupting a running binary, and reading line-oriented JSON output (`--format jsonl` on
//! stdout, `--log-format json` on stderr).

use std::process::Command;

use serde_json::Value;

use super::{Output, cli::Running};

impl Running {
    /// Sends `signal` (`INT`, `TERM`) to the process with `kill -s`, as a terminal or an
    /// orchestrator would.
    #[track_caller]
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap_or_else(|e| panic!("cannot run `kill -s {signal} {pid}`: {e}"));
        assert!(status.success(), "`kill -s {signal} {pid}` failed: {status}");
    }
}

impl Output {
    /// Standard output as JSON lines: every non-empty line must parse as one JSON object.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        objects("stdout", &self.stdout)
    }

    /// Standard error as JSON lines: every non-empty line must parse as one JSON object.
    #[track_caller]
    pub fn stderr_json_lines(&self) -> Vec<Value> {
        objects("stderr", &self.stderr)
    }
}

#[track_caller]
fn objects(stream: &str, text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(value) if value.is_object() => value,
            Ok(other) => panic!("a line of {stream} is JSON but not an object: {other}\n--- {stream}\n{text}"),
            Err(e) => panic!("a line of {stream} is not JSON ({e}): {line:?}\n--- {stream}\n{text}"),
        })
        .collect()
}

/// Whether `value` holds, at any depth, the key `key` with the string `expected`.
pub fn carries(value: &Value, key: &str, expected: &str) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| (k == key && v == expected) || carries(v, key, expected)),
        Value::Array(items) => items.iter().any(|v| carries(v, key, expected)),
        _ => false,
    }
}
