//! Child processes of a run: started with their output in log files, ended when dropped.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A started child process, killed and reaped on drop.
pub struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    /// Starts `cmd` with stdin closed and stdout/stderr in `<logs>/<name>.log`.
    pub fn spawn(name: &str, mut cmd: Command, logs: &Path) -> Result<Self> {
        let log = File::create(logs.join(format!("{name}.log")))?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `addr` accepts connections; fails early if the process exits.
    pub fn wait_listening(&mut self, addr: SocketAddr) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited ({status}) before listening on {addr}", self.name);
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("{} is not listening on {addr} after 20 s", self.name)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// The executables a run needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `moat`.
    pub moat: PathBuf,
    /// `moat-bench-upstream`.
    pub upstream: PathBuf,
}

impl Binaries {
    /// Both next to the running `moat-bench` (one cargo build puts them there), unless `moat` is
    /// given.
    pub fn locate(moat: Option<PathBuf>) -> Result<Self> {
        let me = std::env::current_exe()?;
        let dir = me.parent().context("moat-bench has no directory")?;
        let found = Self {
            moat: moat.unwrap_or_else(|| dir.join("moat")),
            upstream: dir.join("moat-bench-upstream"),
        };
        for p in [&found.moat, &found.upstream] {
            if !p.is_file() {
                bail!(
                    "{} not found: build with `cargo build --release -p moat -p moat-bench` (bench/run.sh does)",
                    p.display()
                );
            }
        }
        Ok(found)
    }

    /// Whether the binaries are an optimised build (`…/release/`).
    pub fn is_release(&self) -> bool {
        self.moat.components().any(|c| c.as_os_str() == "release")
    }
}
