//! Floating launchers: commands that fetch what they run when they start (`npx pkg`, `uvx pkg`,
//! `docker run image`, …). Unless the version is exact (or the image pinned by digest), what such
//! a command runs can change with no change to moat's configuration, which defeats approving a
//! server once. [`assess`] reads a stdio upstream's command and arguments (no I/O) and says
//! whether what it fetches is pinned; the config refuses floating ones unless the upstream gives
//! `allow_floating: "<reason>"`. See `docs/supply-chain.md`.

mod args;
mod container;
mod go_deno;
mod npm;
mod python;
mod shell;

use std::fmt;

/// A launcher that fetches what it runs without pinning it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floating {
    /// The launcher as the user would name it, e.g. `npx`, `pnpm dlx`, `docker run`, `sh -c`.
    pub launcher: String,
    /// What it fetches (the package, image, URL) or, for a shell, the command line.
    pub package: String,
    /// Why that is not pinned, e.g. `no version`, `"latest" is a tag that moves`.
    pub why: String,
}

impl fmt::Display for Floating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} runs {:?}: {}", self.launcher, self.package, self.why)
    }
}

/// A container image pinned by a tag only: accepted, but a registry may move a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    /// `docker run`, `podman run`, …
    pub launcher: String,
    /// The image as written.
    pub image: String,
    /// Its tag.
    pub tag: String,
}

impl fmt::Display for Tagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} runs {:?} pinned by its tag {:?} only: a registry can move a tag; pin a digest (image@sha256:…) to be sure",
            self.launcher, self.image, self.tag
        )
    }
}

/// What a command line fetches and how firmly it is pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    /// Runs something local, or fetches an exact version / digest.
    Pinned,
    /// Runs a container image by a tag other than `latest` (a warning, not an error).
    Tagged(Tagged),
    /// Fetches something that can change.
    Floating(Floating),
}

/// Wrappers (`env`, `sh -c`) nested deeper than this are not analysed.
const MAX_DEPTH: usize = 4;

/// How firmly `command args…` pins what it runs. Pure: reads only its arguments.
pub fn assess(command: &str, args: &[String]) -> Assessment {
    assess_at(command, args, 0)
}

/// The floating launcher in `command args…`, if there is one.
pub fn floating(command: &str, args: &[String]) -> Option<Floating> {
    match assess(command, args) {
        Assessment::Floating(f) => Some(f),
        Assessment::Pinned | Assessment::Tagged(_) => None,
    }
}

fn assess_at(command: &str, args: &[String], depth: usize) -> Assessment {
    if depth > MAX_DEPTH {
        return floating_of(
            command,
            &args.join(" "),
            "wrappers nested too deep to analyse",
        );
    }
    let program = program_name(command);
    match program {
        "npx" => npm::npx("npx", args),
        "npm" => match args::subcommand(args, npm::NPM_GLOBAL_VALUES) {
            Some((sub @ ("exec" | "x"), rest)) => npm::npx(&format!("npm {sub}"), rest),
            _ => Assessment::Pinned,
        },
        "pnpm" | "yarn" => match args::subcommand(args, npm::PNPM_GLOBAL_VALUES) {
            Some(("dlx", rest)) => npm::dlx(&format!("{program} dlx"), rest),
            _ => Assessment::Pinned,
        },
        "pnpx" | "bunx" => npm::dlx(program, args),
        "bun" => match args::subcommand(args, &[]) {
            Some(("x", rest)) => npm::dlx("bun x", rest),
            _ => Assessment::Pinned,
        },
        "uvx" => python::uvx("uvx", args),
        "uv" => match args::subcommand(args, python::UV_GLOBAL_VALUES) {
            Some(("tool", rest)) => match args::subcommand(rest, &[]) {
                Some(("run", rest)) => python::uvx("uv tool run", rest),
                _ => Assessment::Pinned,
            },
            _ => Assessment::Pinned,
        },
        "pipx" => match args::subcommand(args, &[]) {
            Some(("run", rest)) => python::pipx_run(rest),
            _ => Assessment::Pinned,
        },
        "docker" | "podman" | "nerdctl" => container::assess(program, args),
        "go" => match args::subcommand(args, &[]) {
            Some(("run", rest)) => go_deno::go_run(rest),
            _ => Assessment::Pinned,
        },
        "deno" => go_deno::deno(args),
        "env" => shell::env(args, depth),
        _ if shell::is_shell(program) => shell::shell(program, args, depth),
        _ => Assessment::Pinned,
    }
}

/// The file name of `command` without a Windows extension: `/usr/bin/npx` → `npx`.
fn program_name(command: &str) -> &str {
    let name = command.rsplit(['/', '\\']).next().unwrap_or(command);
    [".exe", ".cmd", ".bat"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name)
}

fn floating_of(launcher: &str, package: &str, why: impl Into<String>) -> Assessment {
    Assessment::Floating(Floating {
        launcher: launcher.to_owned(),
        package: package.to_owned(),
        why: why.into(),
    })
}

/// An exact semantic version: `1.2.3`, `1.2.3-rc.1`, `1.2.3+build`, with an optional leading
/// `v` or `=` (as npm and Go write them). Ranges, partial versions and tags are not exact.
fn is_exact_semver(v: &str) -> bool {
    let v = v
        .strip_prefix('v')
        .or_else(|| v.strip_prefix('='))
        .unwrap_or(v);
    let (core, build) = v.split_once('+').unwrap_or((v, ""));
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (core, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ident = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    parts.len() == 3
        && parts.iter().all(numeric)
        && pre.is_none_or(ident)
        && (!v.contains('+') || ident(build))
}

/// A full git commit hash (40 hexadecimal digits, or 64 for SHA-256 repositories).
fn is_commit(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Why a version written after a package name is not exact.
fn not_exact(version: &str) -> String {
    match version {
        "" => "no version".to_owned(),
        "latest" | "next" | "canary" | "beta" | "alpha" | "nightly" | "edge" | "stable" => {
            format!("{version:?} is a tag that moves")
        }
        _ => format!("{version:?} is a range or tag, not an exact version"),
    }
}

#[cfg(test)]
mod tests;
