//! moat's own log lines pass the guard before they are written: a secret or personal value that
//! reaches a log field — an upstream's error text, a stdio server's stderr, a URL — is treated
//! by the same actions as in answers (`block`, which cannot apply to a log line, masks). The
//! guard is installed once the config is read; the few lines before that are written as they are.

use std::io::Write;
use std::sync::OnceLock;

use moat_guard::{Action, Outcome, Redactor};
use tracing_subscriber::fmt::MakeWriter;

static REDACTOR: OnceLock<Redactor> = OnceLock::new();

/// Installs the guard for log lines from `guard:`.
pub(crate) fn install(guard: &moat_config::GuardConfig) -> anyhow::Result<()> {
    let detector = guard.detector()?;
    let mut actions = guard.all_actions();
    for action in actions.values_mut() {
        if *action == Action::Block {
            *action = Action::Mask;
        }
    }
    let key = guard
        .pseudonym_key
        .as_ref()
        .map(|k| k.resolve())
        .transpose()?;
    let redactor = Redactor::new(detector, actions, key.as_deref().map(str::as_bytes));
    // A second install (never done) would keep the first.
    let _ = REDACTOR.set(redactor);
    Ok(())
}

/// Standard error, each event's line through the guard.
pub(crate) struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter
    }
}

/// Writes what it is given (the formatter hands over one whole event per call), redacted.
pub(crate) struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut stderr = std::io::stderr().lock();
        match (REDACTOR.get(), std::str::from_utf8(buf)) {
            (Some(redactor), Ok(line)) => {
                let mut outcome = Outcome::default();
                stderr.write_all(redactor.redact(line, &mut outcome).as_bytes())?;
            }
            _ => stderr.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
