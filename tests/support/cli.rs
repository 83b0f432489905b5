//! Running the real `tenantctl` binary: a clean environment (no inherited connection settings
//! or log level), a bounded wait, and the output with helpers for assertions.

use std::{
    ffi::OsStr,
    io::{Read, Write},
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use serde_json::Value;

/// A run that takes longer than this is killed and fails the test instead of hanging CI.
const TIMEOUT: Duration = Duration::from_secs(180);

/// Variables of the caller's environment that would change what the binary connects to or logs.
fn inherited_setting(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("DB_")
        || name.starts_with("PG")
        || name.starts_with("TENANTCTL")
        || matches!(&*name, "DATABASE_URL" | "TEST_DATABASE_URL" | "RUST_LOG")
}

/// A `tenantctl` invocation being prepared.
#[derive(Debug)]
pub struct Tenantctl {
    command: Command,
    stdin: Option<Vec<u8>>,
    label: String,
}

impl Tenantctl {
    /// `tenantctl <args>` in `dir`, with the caller's connection settings and log level removed.
    pub fn new(dir: &Path, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tenantctl"));
        command.args(args).current_dir(dir);
        for (name, _) in std::env::vars_os().filter(|(name, _)| inherited_setting(name)) {
            command.env_remove(name);
        }
        Self { command, stdin: None, label: format!("tenantctl {}", args.join(" ")) }
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    /// Removes an environment variable for the run.
    pub fn env_remove(mut self, name: &str) -> Self {
        self.command.env_remove(name);
        self
    }

    /// Feeds `input` to the binary's standard input (otherwise it reads an empty one).
    pub fn stdin(mut self, input: &str) -> Self {
        self.stdin = Some(input.as_bytes().to_vec());
        self
    }

    /// Runs to completion.
    pub fn run(self) -> Output {
        self.spawn().wait()
    }

    /// Starts the binary without waiting for it, to run several at once.
    pub fn spawn(mut self) -> Running {
        let stdin = if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() };
        let mut child = self
            .command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.label));
        if let (Some(input), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            // A binary that exits without reading its input makes this fail: that is its business.
            thread::spawn(move || pipe.write_all(&input));
        }
        let stdout = read_all(child.stdout.take());
        let stderr = read_all(child.stderr.take());
        Running { child, stdout, stderr, label: self.label }
    }
}

fn read_all(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes).expect("read the binary's output");
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A `tenantctl` process that runs.
#[derive(Debug)]
pub struct Running {
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
    label: String,
}

impl Running {
    /// Waits for the process (at most [`TIMEOUT`]) and collects its output.
    pub fn wait(mut self) -> Output {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for tenantctl") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("`{}` did not finish within {TIMEOUT:?}", self.label);
            }
            thread::sleep(Duration::from_millis(10));
        };
        Output {
            // A signal has no exit code: -1 fails every assertion on the code.
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.join().expect("stdout reader"),
            stderr: self.stderr.join().expect("stderr reader"),
            label: self.label,
        }
    }
}

/// What a finished run left: its exit code and output.
#[derive(Debug)]
pub struct Output {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    label: String,
}

impl Output {
    /// Asserts the exit code, showing the whole output when it differs.
    #[track_caller]
    pub fn exits(&self, expected: i32) -> &Self {
        assert_eq!(self.code, expected, "exit code of `{}`\n{}", self.label, self.dump());
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn succeeds(&self) -> &Self {
        self.exits(0)
    }

    /// Standard output parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout of `{}` is not one JSON document: {e}\n{}", self.label, self.dump()))
    }

    /// Asserts that standard error holds exactly one non-empty line, and returns it.
    #[track_caller]
    pub fn one_error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "`{}` should explain itself in one line\n{}", self.label, self.dump());
        lines[0]
    }

    /// Asserts that standard output or error mentions `text`.
    #[track_caller]
    pub fn mentions(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "`{}` should mention {text:?}\n{}",
            self.label,
            self.dump()
        );
        self
    }

    fn dump(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}---", self.stdout, self.stderr)
    }
}

/// A URL to a port on which nothing listens: an unreachable database.
pub fn closed_port_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind a free port").port();
    format!("postgres://postgres:s3cret-pw@127.0.0.1:{port}/postgres")
}

impl Running {
    /// Whether the process has already exited on its own (it is not collected yet).
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().expect("poll tenantctl").is_some()
    }

    /// `kill -9`: SIGKILL (what `Child::kill` sends), then collects the process. Returns what it
    /// printed, and whether the SIGKILL is what ended it (false: it had exited on its own first).
    pub fn kill(mut self) -> (Output, bool) {
        use std::os::unix::process::ExitStatusExt;
        // Fails only when the process is already collected, which `has_exited` never does.
        let _ = self.child.kill();
        let status = self.child.wait().expect("collect the killed tenantctl");
        let killed = status.signal() == Some(9);
        let output = Output {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.join().expect("stdout reader"),
            stderr: self.stderr.join().expect("stderr reader"),
            label: self.label,
        };
        (output, killed)
    }
}

impl Output {
    /// Asserts that neither standard output nor standard error contains `secret`.
    #[track_caller]
    pub fn never_shows(&self, secret: &str) -> &Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "`{}` must not show {secret:?}\n{}",
            self.label,
            self.dump()
        );
        self
    }
}

impl Running {
    /// The process id of the running binary, e.g. to send it a signal.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}
