//! PyPI launchers: `uvx` (`uv tool run`) and `pipx run`. Pinned: `pkg==1.2.3` (PEP 440 exact, no
//! wildcard), for uv also `pkg@1.2.3`; a git URL at a full commit; a local path.

use super::args::{self, Style};
use super::{Assessment, floating_of, is_commit, not_exact};

/// `uv` options before `tool run` that take a value.
pub(super) const UV_GLOBAL_VALUES: &[&str] = &[
    "--directory",
    "--project",
    "--cache-dir",
    "--config-file",
    "--color",
    "--python",
    "-p",
];

const UVX_VALUES: &[&str] = &[
    "--from",
    "--with",
    "--with-editable",
    "--with-requirements",
    "--python",
    "-p",
    "--index",
    "--index-url",
    "-i",
    "--extra-index-url",
    "--default-index",
    "--find-links",
    "-f",
    "--constraints",
    "-c",
    "--overrides",
    "--build-constraints",
    "-b",
    "--python-platform",
    "--cache-dir",
    "--directory",
    "--project",
    "--config-file",
    "--color",
    "--index-strategy",
    "--keyring-provider",
    "--resolution",
    "--prerelease",
    "--exclude-newer",
    "--refresh-package",
    "--reinstall-package",
    "--upgrade-package",
    "-P",
    "--env-file",
    "--torch-backend",
];

const PIPX_VALUES: &[&str] = &[
    "--spec",
    "--python",
    "--index-url",
    "-i",
    "--pip-args",
    "--backend",
];

/// `uvx [options] <pkg>[@version] [args]` or `uvx --from <spec> <command> [args]`; every
/// `--with` requirement must be pinned too.
pub(super) fn uvx(launcher: &str, args: &[String]) -> Assessment {
    let scan = args::scan(args, UVX_VALUES, Style::Clustered);
    for with in scan.values(&["--with"]) {
        for spec in with.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(why) = unpinned(spec, true) {
                return floating_of(launcher, spec, why);
            }
        }
    }
    let target = match scan.values(&["--from"]).next() {
        Some(from) => Some(from),
        None => scan.first.and_then(|i| args.get(i)).map(String::as_str),
    };
    match target.and_then(|spec| unpinned(spec, true).map(|why| (spec, why))) {
        Some((spec, why)) => floating_of(launcher, spec, why),
        None => Assessment::Pinned,
    }
}

/// `pipx run [options] <pkg>==<version> [args]` or `pipx run --spec <spec> <app> [args]`.
pub(super) fn pipx_run(args: &[String]) -> Assessment {
    let scan = args::scan(args, PIPX_VALUES, Style::Clustered);
    let target = match scan.values(&["--spec"]).next() {
        Some(spec) => Some(spec),
        None => scan
            .first
            .and_then(|i| args.get(i))
            .map(String::as_str)
            // A local script (`pipx run ./tool.py`) is run as it is; a remote one is not pinned.
            .filter(|s| !s.ends_with(".py") || s.contains("://")),
    };
    match target.and_then(|spec| unpinned(spec, false).map(|why| (spec, why))) {
        Some((spec, why)) => floating_of("pipx run", spec, why),
        None => Assessment::Pinned,
    }
}

/// Why a requirement is not pinned, or `None` when it is. `at_version` accepts uv's `pkg@1.2.3`.
pub(super) fn unpinned(spec: &str, at_version: bool) -> Option<String> {
    let spec = spec.split(';').next().unwrap_or(spec).trim();
    if spec.starts_with(['.', '/', '~']) || spec.starts_with("file:") {
        return None;
    }
    // `git+https://host/repo@<commit>`, also as `name @ git+…`.
    if let Some(at) = spec.find("git+") {
        return match spec[at..].rsplit_once('@') {
            Some((_, commit)) if is_commit(commit.split('#').next().unwrap_or(commit)) => None,
            _ => Some("a git URL without a full commit hash (@<40 hex digits>)".into()),
        };
    }
    if spec.contains("://") {
        return Some("a URL whose content can change".into());
    }
    if let Some((_, version)) = spec.split_once("==") {
        let version = version.trim_start_matches('=').trim();
        return (!is_exact_pep440(version)).then(|| not_exact(version));
    }
    if at_version && let Some((_, version)) = spec.split_once('@') {
        let version = version.trim();
        return (!is_exact_pep440(version)).then(|| not_exact(version));
    }
    match spec.find(['<', '>', '~', '!', '=']) {
        Some(op) => Some(not_exact(spec[op..].trim())),
        None => Some("no version".into()),
    }
}

/// A PEP 440 version with nothing left open: no wildcard, no second specifier.
fn is_exact_pep440(v: &str) -> bool {
    !v.is_empty()
        && v.starts_with(|c: char| c.is_ascii_digit() || c == 'v')
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+!-".contains(&b))
}
