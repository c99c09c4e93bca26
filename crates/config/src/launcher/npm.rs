//! npm-registry launchers: `npx`, `npm exec`, `pnpm dlx`, `pnpx`, `yarn dlx`, `bunx`, `bun x`.
//! Pinned: `pkg@1.2.3`, `@scope/pkg@1.2.3`, a git reference at a full commit, a local path.

use super::args::{self, Scan, Style};
use super::{Assessment, floating_of, is_commit, is_exact_semver, not_exact};

/// `npm` options before the subcommand that take a value.
pub(super) const NPM_GLOBAL_VALUES: &[&str] = &[
    "--prefix",
    "-w",
    "--workspace",
    "--registry",
    "--cache",
    "--userconfig",
    "--loglevel",
];

/// `pnpm` and `yarn` options before the subcommand that take a value.
pub(super) const PNPM_GLOBAL_VALUES: &[&str] = &[
    "-C",
    "--dir",
    "--cwd",
    "-F",
    "--filter",
    "--registry",
    "--loglevel",
    "--reporter",
];

const NPX_VALUES: &[&str] = &[
    "-p",
    "--package",
    "-c",
    "--call",
    "--registry",
    "--cache",
    "--userconfig",
    "--prefix",
    "-w",
    "--workspace",
    "--node-options",
    "--script-shell",
    "--loglevel",
];

const DLX_VALUES: &[&str] = &[
    "-p",
    "--package",
    "--allow-build",
    "--registry",
    "--cache-dir",
    "--reporter",
];

const PACKAGE: &[&str] = &["-p", "--package"];

/// `npx [options] <pkg> [args]` and `npm exec`: `--no`/`--no-install` runs only what is installed.
pub(super) fn npx(launcher: &str, args: &[String]) -> Assessment {
    let scan = args::scan(args, NPX_VALUES, Style::Clustered);
    if let Some(call) = scan.values(&["-c", "--call"]).next() {
        return floating_of(launcher, call, "a command string moat cannot analyse");
    }
    if scan.has(&["--no", "--no-install"]) {
        return Assessment::Pinned;
    }
    packages(launcher, &scan, args)
}

/// `pnpm dlx`, `pnpx`, `yarn dlx`, `bunx`, `bun x`: always fetch.
pub(super) fn dlx(launcher: &str, args: &[String]) -> Assessment {
    let scan = args::scan(args, DLX_VALUES, Style::Clustered);
    if scan.has(&["-c", "--shell-mode"]) {
        let line = scan.first.map_or(String::new(), |i| args[i..].join(" "));
        return floating_of(launcher, &line, "a shell command line moat cannot analyse");
    }
    packages(launcher, &scan, args)
}

/// With `--package`, every package named must be pinned (the positional is then a command name);
/// without, the first positional is the package.
fn packages(launcher: &str, scan: &Scan<'_>, args: &[String]) -> Assessment {
    let mut named = scan.values(PACKAGE).peekable();
    if named.peek().is_some() {
        for spec in named {
            if let Some(why) = unpinned(spec) {
                return floating_of(launcher, spec, why);
            }
        }
        return Assessment::Pinned;
    }
    match scan.first.and_then(|i| args.get(i)) {
        Some(spec) => match unpinned(spec) {
            Some(why) => floating_of(launcher, spec, why),
            None => Assessment::Pinned,
        },
        None => Assessment::Pinned,
    }
}

/// Why an npm package spec is not pinned, or `None` when it is.
pub(super) fn unpinned(spec: &str) -> Option<String> {
    if let Some(aliased) = spec.strip_prefix("npm:") {
        return unpinned(aliased);
    }
    if is_local(spec) {
        return None;
    }
    if is_git(spec) {
        return match spec.rsplit_once('#') {
            Some((_, commit)) if is_commit(commit) => None,
            _ => Some("a git reference without a full commit hash (#<40 hex digits>)".into()),
        };
    }
    if spec.contains("://") {
        return Some("a URL whose content can change".into());
    }
    let version = name_and_version(spec).1;
    (!is_exact_semver(version)).then(|| not_exact(version))
}

fn is_local(spec: &str) -> bool {
    spec.starts_with(['.', '/', '~']) || spec.starts_with("file:")
}

/// `git+https://…`, `github:o/r`, or the `owner/repo` shorthand (a slash without a scope).
fn is_git(spec: &str) -> bool {
    ["git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:"]
        .iter()
        .any(|p| spec.starts_with(p))
        || (!spec.starts_with('@') && !spec.contains("://") && spec.contains('/'))
}

/// `@scope/name@1.2.3` → (`@scope/name`, `1.2.3`); no version → (`spec`, ``).
pub(super) fn name_and_version(spec: &str) -> (&str, &str) {
    let from = usize::from(spec.starts_with('@'));
    match spec[from..].find('@') {
        Some(at) => (&spec[..from + at], &spec[from + at + 1..]),
        None => (spec, ""),
    }
}
