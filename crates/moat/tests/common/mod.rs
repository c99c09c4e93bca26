//! The harness every end-to-end test shares: the real `moat` binary (and other servers) as child
//! processes that are ready when they say so, killed when dropped, plus temporary directories.
//!
//! Readiness is never a sleep: a process is ready when a line of its output says it listens, and
//! every wait is bounded by [`TIMEOUT`].

// Each test file uses a different part of the harness.
#![allow(dead_code)]

pub(crate) mod client;
pub(crate) mod http;
pub(crate) mod servers;
pub(crate) mod tokens;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The bound on every wait: a process getting ready, an HTTP exchange, a client call.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a server is restarted on a fresh port when the one it was given was taken.
const PORT_ATTEMPTS: usize = 5;

/// The `moat` binary under test.
pub(crate) fn moat_bin() -> &'static str {
    env!("CARGO_BIN_EXE_moat")
}

/// The repository's root directory.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// This crate's test fixtures (scripts posing as upstream servers and clients).
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Installs the process-wide rustls crypto provider that reqwest (built without one) needs.
pub(crate) fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A loopback port that was free a moment ago (callers retry on the rare race).
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A child process whose stdout and stderr are collected; killed when dropped.
pub(crate) struct Process {
    name: String,
    child: Child,
    log: Arc<Log>,
}

/// A process's output so far, and a signal for each new line.
#[derive(Default)]
struct Log {
    text: Mutex<String>,
    grew: Condvar,
}

/// Why a process did not become ready.
#[derive(Debug)]
pub(crate) struct NotReady {
    /// Everything it printed.
    pub(crate) log: String,
    /// Whether it exited (rather than staying silent past the timeout).
    pub(crate) exited: bool,
}

impl Process {
    /// Starts `cmd` and waits until a line of its output contains `ready`.
    pub(crate) fn start(name: &str, mut cmd: Command, ready: &str) -> Result<Self, NotReady> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let log = Arc::new(Log::default());
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        collect(stdout, log.clone(), tx.clone());
        collect(stderr, log.clone(), tx);
        let mut process = Self {
            name: name.to_owned(),
            child,
            log,
        };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(ready) => return Ok(process),
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    process.kill();
                    return Err(NotReady {
                        log: process.log(),
                        exited: false,
                    });
                }
                // Both pipes closed: the process is gone.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = process.child.wait();
                    return Err(NotReady {
                        log: process.log(),
                        exited: true,
                    });
                }
            }
        }
    }

    /// Starts a server on a free loopback port, retrying on a new port when `taken` says the
    /// output means the port was in use. `make` builds the command for a port.
    pub(crate) fn start_on_free_port(
        name: &str,
        ready: &str,
        taken: &[&str],
        mut make: impl FnMut(u16) -> Command,
    ) -> (Self, u16) {
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            match Self::start(name, make(port), ready) {
                Ok(p) => return (p, port),
                Err(e) if e.exited && taken.iter().any(|t| e.log.contains(t)) => last = e.log,
                Err(e) => panic!(
                    "{name} did not get ready (exited: {}); its output:\n{}",
                    e.exited, e.log
                ),
            }
        }
        panic!("{name} found no free port in {PORT_ATTEMPTS} attempts; last output:\n{last}")
    }

    /// Everything the process printed so far.
    pub(crate) fn log(&self) -> String {
        self.log.text.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) until a line containing `needle` has been printed; returns the whole log.
    pub(crate) fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let mut text = self.log.text.lock().expect("log lock");
        while !text.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{} never printed {needle:?}; its output:\n{text}",
                self.name
            );
            text = self.log.grew.wait_timeout(text, left).expect("log lock").0;
        }
        text.clone()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("---- output of {} ----\n{}", self.name, self.log());
        }
    }
}

/// Copies lines of `pipe` into `log` and to `tx` (until the receiver stops listening).
fn collect(pipe: impl Read + Send + 'static, log: Arc<Log>, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut text) = log.text.lock() {
                text.push_str(&line);
                text.push('\n');
            }
            log.grew.notify_all();
            let _ = tx.send(line);
        }
    });
}

/// A running `moat serve` on a free loopback port.
pub(crate) struct Moat {
    process: Process,
    /// Its MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub(crate) url: String,
    /// Its port.
    pub(crate) port: u16,
}

impl Moat {
    /// `moat serve ARGS --listen 127.0.0.1:PORT`, run in the repository root.
    pub(crate) fn serve(args: &[&str]) -> Self {
        let (process, port) = Process::start_on_free_port(
            "moat",
            "moat listening on http://",
            &["cannot listen", "in use"],
            |port| {
                let mut cmd = Command::new(moat_bin());
                cmd.current_dir(repo_root())
                    .arg("serve")
                    .args(args)
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}"))
                    .env("MOAT_LOG", "info")
                    .env("NO_COLOR", "1");
                cmd
            },
        );
        Self {
            process,
            url: format!("http://127.0.0.1:{port}/mcp"),
            port,
        }
    }

    /// `moat serve --config FILE` with `yaml` written to `FILE` in `dir`.
    pub(crate) fn with_config(dir: &TempDir, yaml: &str) -> Self {
        let file = dir.write("moat.yaml", yaml);
        Self::serve(&["--config", file.to_str().expect("UTF-8 temp path")])
    }

    /// `moat serve --config FILE` where `yaml` writes the config for the port moat is given (it
    /// must say `listen: 127.0.0.1:{port}`); `ready` is what moat prints once it listens
    /// (`http://` or `https://`) and `env` is added to moat's environment.
    pub(crate) fn config_for_port(
        dir: &TempDir,
        ready: &str,
        env: &[(&str, &str)],
        yaml: impl Fn(u16) -> String,
    ) -> (Process, u16) {
        Process::start_on_free_port("moat", ready, &["cannot listen", "in use"], |port| {
            let config = dir.write("moat.yaml", &yaml(port));
            let mut cmd = Command::new(moat_bin());
            cmd.current_dir(repo_root())
                .args(["serve", "--config"])
                .arg(config)
                .env("NO_COLOR", "1");
            for (k, v) in env {
                cmd.env(k, v);
            }
            cmd
        })
    }

    /// Everything moat logged so far.
    pub(crate) fn log(&self) -> String {
        self.process.log()
    }

    /// Waits (bounded) until moat has logged `needle`.
    pub(crate) fn wait_for_log(&self, needle: &str) -> String {
        self.process.wait_for_log(needle)
    }
}

/// A directory under the system's temporary directory, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "moat-test-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    pub(crate) fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a temporary file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
