//! `go run pkg@version` and `deno run <remote script>`: both download source when given a module
//! path or URL. Pinned: an exact version (`@v1.2.3`, a pseudo-version, a full commit); for deno
//! URLs, an exact `@version` or a full commit in the path; `npm:`/`jsr:` specifiers with an
//! exact version. Local packages and scripts are not floating.

use super::args::{self, Style};
use super::{Assessment, floating_of, is_commit, is_exact_semver, not_exact, npm};

/// `go run` build flags that take a value (Go also accepts them with two dashes).
const GO_VALUES: &[&str] = &[
    "C",
    "o",
    "p",
    "tags",
    "ldflags",
    "gcflags",
    "asmflags",
    "gccgoflags",
    "mod",
    "modfile",
    "overlay",
    "pgo",
    "exec",
    "installsuffix",
    "pkgdir",
    "toolexec",
    "covermode",
    "coverpkg",
    "buildmode",
    "compiler",
];

/// deno flags that take a value in the next argument (most take `--flag=value` only).
const DENO_VALUES: &[&str] = &[
    "-c",
    "--config",
    "--import-map",
    "--cert",
    "--location",
    "--seed",
    "-L",
    "--log-level",
    "--ext",
    "--preload",
    "--require",
];

/// `go run [build flags] <pkg>@<version> [args]`; `go run ./cmd/x` builds local source.
pub(super) fn go_run(args: &[String]) -> Assessment {
    let takes_value = |name: &str| GO_VALUES.contains(&name.trim_start_matches('-'));
    let scan = args::scan_with(args, &takes_value, Style::Whole);
    let Some(pkg) = scan.first.and_then(|i| args.get(i)) else {
        return Assessment::Pinned;
    };
    match pkg.rsplit_once('@') {
        None => Assessment::Pinned,
        Some((_, version)) if is_exact_semver(version) || is_commit(version) => Assessment::Pinned,
        Some((_, version)) => floating_of("go run", pkg, not_exact(version)),
    }
}

/// `deno run [flags] <script>`, `deno <script>`, `deno x <specifier>`.
pub(super) fn deno(args: &[String]) -> Assessment {
    let Some((first, rest)) = args::subcommand(args, DENO_VALUES) else {
        return Assessment::Pinned;
    };
    let (launcher, script) = match first {
        "run" | "x" => {
            let scan = args::scan(rest, DENO_VALUES, Style::Clustered);
            match scan.first.and_then(|i| rest.get(i)) {
                Some(script) => (format!("deno {first}"), script.as_str()),
                None => return Assessment::Pinned,
            }
        }
        script if is_remote(script) => ("deno".to_owned(), script),
        _ => return Assessment::Pinned,
    };
    match unpinned_script(script) {
        Some(why) => floating_of(&launcher, script, why),
        None => Assessment::Pinned,
    }
}

fn is_remote(script: &str) -> bool {
    ["https://", "http://", "npm:", "jsr:"]
        .iter()
        .any(|p| script.starts_with(p))
}

/// Why a deno module specifier is not pinned, or `None` (local files are pinned: moat hashes them).
fn unpinned_script(script: &str) -> Option<String> {
    if let Some(spec) = script
        .strip_prefix("npm:")
        .or_else(|| script.strip_prefix("jsr:"))
    {
        // `npm:@scope/pkg@1.2.3/sub/path`: the version ends at the subpath.
        let version = npm::name_and_version(spec).1;
        let version = version.split('/').next().unwrap_or(version);
        return (!is_exact_semver(version)).then(|| not_exact(version));
    }
    if script.starts_with("https://") || script.starts_with("http://") {
        let path = script.split(['?', '#']).next().unwrap_or(script);
        let pinned = path.split('/').skip(3).any(|segment| {
            is_commit(segment)
                || segment
                    .rsplit_once('@')
                    .is_some_and(|(_, v)| is_exact_semver(v) || is_commit(v))
        });
        return (!pinned)
            .then(|| "a remote URL without an exact @version or full commit in its path".into());
    }
    None
}
