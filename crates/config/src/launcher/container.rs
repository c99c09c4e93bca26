//! Container runners: `docker run`, `docker container run`, and the same for `podman` and
//! `nerdctl`. Pinned: `image@sha256:<64 hex>`. A tag other than `latest` is accepted with a
//! warning ([`Assessment::Tagged`]): registries can move tags. No tag, or `latest`, floats.

use super::args::{self, Style};
use super::{Assessment, Tagged, floating_of};

/// Options before the subcommand that take a value.
const GLOBAL_VALUES: &[&str] = &[
    "-c",
    "--context",
    "--config",
    "-H",
    "--host",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
    "--url",
    "--connection",
];

/// `run` options that take no value; every other long option takes one.
const BOOL_LONG: &[&str] = &[
    "--rm",
    "--init",
    "--privileged",
    "--read-only",
    "--interactive",
    "--tty",
    "--detach",
    "--publish-all",
    "--no-healthcheck",
    "--oom-kill-disable",
    "--sig-proxy",
    "--disable-content-trust",
    "--quiet",
    "--help",
    "--use-api-socket",
    "--replace",
    "--rmi",
    "--env-host",
    "--no-hosts",
    "--passwd",
    "--tls-verify",
    "--http-proxy",
    "--read-only-tmpfs",
    "--rootfs",
];

/// Single-letter `run` options that take no value (`-it`, `-d`, `-P`, `-q`).
const BOOL_SHORT: &[&str] = &["-i", "-t", "-d", "-P", "-q"];

pub(super) fn assess(program: &str, args: &[String]) -> Assessment {
    match args::subcommand(args, GLOBAL_VALUES) {
        Some(("run", rest)) => run(&format!("{program} run"), rest),
        Some(("container", rest)) => match args::subcommand(rest, &[]) {
            Some(("run", rest)) => run(&format!("{program} container run"), rest),
            _ => Assessment::Pinned,
        },
        _ => Assessment::Pinned,
    }
}

fn run(launcher: &str, args: &[String]) -> Assessment {
    let takes_value = |name: &str| !BOOL_LONG.contains(&name) && !BOOL_SHORT.contains(&name);
    let scan = args::scan_with(args, &takes_value, Style::Clustered);
    if scan.has(&["--rootfs"]) {
        // The positional is a directory on this host, not an image.
        return Assessment::Pinned;
    }
    match scan.first.and_then(|i| args.get(i)) {
        Some(image) => pinned_image(launcher, image),
        None => Assessment::Pinned,
    }
}

/// `name@sha256:…` is pinned; `name:tag` is tagged; `name` and `name:latest` float. A registry
/// port (`host:5000/name`) is not a tag: the tag is in the last path segment.
fn pinned_image(launcher: &str, image: &str) -> Assessment {
    if let Some((_, digest)) = image.split_once('@') {
        return if is_digest(digest) {
            Assessment::Pinned
        } else {
            floating_of(
                launcher,
                image,
                "a digest that is not sha256:<64 hex digits>",
            )
        };
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => floating_of(
            launcher,
            image,
            "no tag or digest (it runs whatever :latest is)",
        ),
        Some((_, "latest")) => floating_of(launcher, image, "\"latest\" is a tag that moves"),
        Some((_, tag)) => Assessment::Tagged(Tagged {
            launcher: launcher.to_owned(),
            image: image.to_owned(),
            tag: tag.to_owned(),
        }),
    }
}

fn is_digest(digest: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    match digest.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}
