//! Local servers as child processes: newline-delimited JSON-RPC on stdin/stdout, stderr to the log.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use futures::StreamExt;
use moat_config::Value;
use moat_proto::Message;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use crate::connection::Shared;
use crate::error::UpstreamErrorKind;

/// What to start.
pub(crate) struct Spec<'a> {
    pub(crate) command: &'a str,
    pub(crate) args: &'a [String],
    pub(crate) env: &'a [(String, Value)],
    pub(crate) inherit_env: &'a [String],
    pub(crate) cwd: Option<&'a Path>,
}

/// The sending half: lines queued for the child's stdin.
pub(crate) struct StdioLink {
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

impl StdioLink {
    pub(crate) fn send(&self, msg: Message) -> Result<(), UpstreamErrorKind> {
        let mut line = msg.to_bytes();
        line.push(b'\n');
        self.tx
            .send(line)
            .map_err(|_| UpstreamErrorKind::Closed("stdin closed".into()))
    }
}

/// Starts the child with a cleared environment: only `inherit_env` from moat's own, plus `env`.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    spec: &Spec<'_>,
    max_line: usize,
) -> Result<StdioLink, UpstreamErrorKind> {
    let mut cmd = Command::new(spec.command);
    cmd.args(spec.args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in spec.inherit_env {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    for (name, value) in spec.env {
        let v = value
            .resolve()
            .map_err(|e| UpstreamErrorKind::Connect(format!("env {name}: {e}")))?;
        cmd.env(name, v);
    }
    if let Some(dir) = spec.cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| UpstreamErrorKind::Connect(format!("cannot start {:?}: {e}", spec.command)))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(UpstreamErrorKind::Connect(
            "child process has no stdio pipes".into(),
        ));
    };
    tracing::info!(server = %shared.name, pid = child.id(), command = spec.command, "started stdio server");

    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(write_lines(stdin, rx, shared.clone()));
    tokio::spawn(read_messages(
        FramedRead::new(stdout, LinesCodec::new_with_max_length(max_line)),
        shared.clone(),
    ));
    let name = shared.name.clone();
    tokio::spawn(async move {
        let mut lines = FramedRead::new(stderr, LinesCodec::new_with_max_length(64 * 1024));
        while let Some(Ok(line)) = lines.next().await {
            tracing::info!(target: "moat::upstream::stderr", server = %name, "{line}");
        }
    });
    tokio::spawn(supervise(child, shared.clone()));
    Ok(StdioLink { tx })
}

async fn write_lines(
    stdin: ChildStdin,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    shared: Arc<Shared>,
) {
    let mut w = BufWriter::new(stdin);
    while let Some(line) = rx.recv().await {
        let mut ok = w.write_all(&line).await.is_ok();
        // Flush only when the queue is drained: several queued messages share one write.
        if ok && rx.is_empty() {
            ok = w.flush().await.is_ok();
        }
        if !ok {
            shared.close("cannot write to the server's stdin".into());
            return;
        }
    }
}

async fn read_messages<R: tokio::io::AsyncRead + Unpin>(
    mut lines: FramedRead<R, LinesCodec>,
    shared: Arc<Shared>,
) {
    loop {
        match lines.next().await {
            Some(Ok(line)) if line.trim().is_empty() => {}
            Some(Ok(line)) => shared.dispatch_bytes(line.as_bytes(), None),
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                shared.close("the server sent a message larger than the configured limit".into());
                return;
            }
            Some(Err(LinesCodecError::Io(e))) => {
                shared.close(format!("reading stdout: {e}"));
                return;
            }
            None => {
                shared.close("the server closed its stdout".into());
                return;
            }
        }
    }
}

async fn supervise(mut child: Child, shared: Arc<Shared>) {
    tokio::select! {
        status = child.wait() => {
            let why = match status {
                Ok(s) => format!("process exited ({s})"),
                Err(e) => format!("process lost: {e}"),
            };
            tracing::warn!(server = %shared.name, "{why}");
            shared.close(why);
        }
        () = shared.cancel.cancelled() => {
            let _ = child.kill().await;
        }
    }
}
