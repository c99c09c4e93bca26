//! The policy at the edge: Cedar files read from disk (relative to the config file), compiled
//! with the config's `policy:`; and the reload loop that swaps it in on SIGHUP or when a file
//! changes, keeping the old policy when the new one is wrong.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use moat_config::Config;
use moat_policy::{CedarSource, Policy};

use crate::config_args;

/// The Cedar files of `config`, resolved against the config file's directory.
pub(crate) fn cedar_paths(config: &Config, config_path: Option<&Path>) -> Vec<PathBuf> {
    let base = config_path
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    config
        .policy
        .iter()
        .flat_map(|p| &p.cedar_files)
        .map(|f| base.join(f))
        .collect()
}

/// Reads and compiles the policy of `config`; `None` when it has none.
pub(crate) fn compile(config: &Config, config_path: Option<&Path>) -> Result<Option<Policy>> {
    let Some(cfg) = &config.policy else {
        return Ok(None);
    };
    let mut sources = Vec::new();
    for (name, path) in cfg.cedar_files.iter().zip(cedar_paths(config, config_path)) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("policy.cedar: cannot read {}", path.display()))?;
        sources.push(CedarSource {
            name: name.clone(),
            text,
        });
    }
    Ok(Some(Policy::compile(cfg, &sources)?))
}

/// Watches for SIGHUP and for changes of the config file and its Cedar files (checked every
/// second), and reloads the policy. Parts of the config other than `policy:` need a restart:
/// a change to them is reported and not applied.
pub(crate) async fn watch(
    reloader: moat_gateway::Reloader,
    running: Config,
    config_path: Option<PathBuf>,
    overrides: config_args::Overrides,
) {
    let mut hangup = hangups();
    let mut seen = stamps(&running, config_path.as_deref());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let signalled = tokio::select! {
            _ = tick.tick() => false,
            () = next_hangup(&mut hangup) => true,
        };
        let now = stamps(&running, config_path.as_deref());
        if !signalled && now == seen {
            continue;
        }
        seen = now;
        tracing::info!(
            "reloading the policy ({})",
            if signalled {
                "SIGHUP"
            } else {
                "a file changed"
            }
        );
        let outcome = reload(&running, config_path.as_deref(), &overrides);
        if let Ok((config, _)) = &outcome {
            // Follow the Cedar files the new config names.
            seen = stamps(config, config_path.as_deref());
        }
        reloader.apply(outcome.map(|(_, p)| p.map(Arc::new)));
    }
}

fn reload(
    running: &Config,
    config_path: Option<&Path>,
    overrides: &config_args::Overrides,
) -> Result<(Config, Option<Policy>), String> {
    let config = config_args::load(config_path, overrides).map_err(|e| e.to_string())?;
    let policy = compile(&config, config_path).map_err(|e| format!("{e:#}"))?;
    let without_policy = |c: &Config| Config {
        policy: None,
        ..c.clone()
    };
    if without_policy(&config) != without_policy(running) {
        tracing::warn!(
            "the config changed outside policy:; those changes need a restart and are not applied"
        );
    }
    Ok((config, policy))
}

/// Modification times of the config file and the Cedar files (a missing file counts as a
/// change, so its return is noticed too).
fn stamps(config: &Config, config_path: Option<&Path>) -> Vec<Option<SystemTime>> {
    config_path
        .map(Path::to_path_buf)
        .into_iter()
        .chain(cedar_paths(config, config_path))
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

async fn next_hangup(h: &mut Hangups) {
    #[cfg(unix)]
    if let Some(s) = h {
        s.recv().await;
        return;
    }
    let _ = h;
    std::future::pending::<()>().await;
}
