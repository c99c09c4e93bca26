//! Shadow or registered: a discovered server compared with the upstreams moat knows.
//!
//! Matching is by what reaches the server, normalised: for a process, the program's base name
//! (without `.exe`, `.cmd`, `.bat`) and the exact arguments; for a URL, host, port and path
//! (scheme default ports filled in, `localhost`, `127.0.0.0/8` and `::1` all read as loopback, a
//! trailing `/` dropped, query and fragment ignored); for source code, an upstream whose program
//! or an argument is a path ending with the file's path in the tree. Everything here is pure.

use std::net::IpAddr;

use moat_config::{Config, Transport};
use serde::Serialize;

use crate::code::{DeclaredTransport, Finding};

/// An upstream of moat's config, reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownUpstream {
    /// The upstream's name.
    pub name: String,
    /// What it reaches.
    pub target: Target,
}

/// What a server is reached by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A process started with these arguments.
    Command {
        /// The program as written (path or name).
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// An HTTP endpoint.
    Url(Endpoint),
    /// A source file, by its path relative to the scanned tree.
    SourceFile(String),
}

/// An HTTP endpoint, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    host: String,
    port: u16,
    path: String,
}

/// The outcome of matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Registration {
    /// An upstream of the config reaches it.
    Registered {
        /// That upstream's name.
        upstream: String,
    },
    /// No upstream reaches it.
    Shadow,
}

impl Registration {
    /// Whether it is shadow.
    pub fn is_shadow(&self) -> bool {
        matches!(self, Self::Shadow)
    }
}

impl Endpoint {
    /// Reads an absolute `http`/`https` URL (`None` for anything else).
    pub fn parse(url: &str) -> Option<Self> {
        let url = url::Url::parse(url).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let host = match url.host()? {
            url::Host::Domain(d) => d.to_owned(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        Some(Self::new(&host, url.port_or_known_default()?, url.path()))
    }

    /// An endpoint from its parts (an IPv6 host with or without brackets).
    pub fn new(host: &str, port: u16, path: &str) -> Self {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let loopback = host == "localhost"
            || host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || is_mapped_loopback(ip));
        let trimmed = path.trim_end_matches('/');
        Self {
            host: if loopback {
                "loopback".to_owned()
            } else {
                host
            },
            port,
            path: if trimmed.is_empty() {
                "/".to_owned()
            } else {
                trimmed.to_owned()
            },
        }
    }
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        IpAddr::V4(_) => false,
    }
}

/// The upstreams of `config` that can be matched (the built-in fixture reaches nothing outside).
pub fn known_upstreams(config: &Config) -> Vec<KnownUpstream> {
    config
        .upstreams
        .iter()
        .filter_map(|up| {
            let target = match &up.transport {
                Transport::Stdio { command, args, .. } => Target::Command {
                    program: command.clone(),
                    args: args.clone(),
                },
                Transport::Http { url, .. } | Transport::Sse { url, .. } => {
                    Target::Url(Endpoint::parse(url)?)
                }
                Transport::BuiltinFixture => return None,
            };
            Some(KnownUpstream {
                name: up.name.as_str().to_owned(),
                target,
            })
        })
        .collect()
}

/// What reaches a code finding.
pub fn target_of(finding: &Finding) -> Option<Target> {
    match finding {
        Finding::Implementation(i) => Some(Target::SourceFile(i.file.clone())),
        Finding::Declared(d) => match &d.transport {
            DeclaredTransport::Stdio { command, args, .. } => Some(Target::Command {
                program: command.clone(),
                args: args.clone(),
            }),
            DeclaredTransport::Http { url, .. } | DeclaredTransport::Sse { url, .. } => {
                Endpoint::parse(url).map(Target::Url)
            }
        },
    }
}

/// Matches `target` against `known`: the first upstream that reaches it, else shadow.
pub fn register(target: &Target, known: &[KnownUpstream]) -> Registration {
    known
        .iter()
        .find(|k| reaches(&k.target, target))
        .map_or(Registration::Shadow, |k| Registration::Registered {
            upstream: k.name.clone(),
        })
}

/// Whether an upstream's target reaches a discovered one.
fn reaches(upstream: &Target, found: &Target) -> bool {
    match (upstream, found) {
        (
            Target::Command { program, args },
            Target::Command {
                program: p2,
                args: a2,
            },
        ) => program_name(program) == program_name(p2) && args == a2,
        (Target::Url(a), Target::Url(b)) => a == b,
        (Target::Command { program, args }, Target::SourceFile(file)) => std::iter::once(program)
            .chain(args)
            .any(|word| path_ends_with(word, file)),
        _ => false,
    }
}

/// A program's base name without a Windows executable suffix.
fn program_name(program: &str) -> &str {
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    for ext in [".exe", ".cmd", ".bat"] {
        if base.len() > ext.len() && base[base.len() - ext.len()..].eq_ignore_ascii_case(ext) {
            return &base[..base.len() - ext.len()];
        }
    }
    base
}

/// Whether the path `word` ends with every component of the relative path `file`.
fn path_ends_with(word: &str, file: &str) -> bool {
    let word: Vec<&str> = word
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let file: Vec<&str> = file.split('/').collect();
    !file.is_empty() && word.ends_with(&file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str, target: Target) -> KnownUpstream {
        KnownUpstream {
            name: name.to_owned(),
            target,
        }
    }

    fn cmd(program: &str, args: &[&str]) -> Target {
        Target::Command {
            program: program.to_owned(),
            args: args.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn url(u: &str) -> Target {
        Target::Url(Endpoint::parse(u).expect("a URL"))
    }

    #[test]
    fn urls_match_on_normalised_host_port_and_path() {
        let ups = [known("api", url("http://localhost:8080/mcp/"))];
        for same in [
            "http://127.0.0.1:8080/mcp",
            "http://[::1]:8080/mcp",
            "http://LOCALHOST:8080/mcp?x=1#y",
            "https://127.0.0.2:8080/mcp",
        ] {
            assert_eq!(
                register(&url(same), &ups),
                Registration::Registered {
                    upstream: "api".into()
                },
                "{same}"
            );
        }
        for other in [
            "http://127.0.0.1:8081/mcp",
            "http://127.0.0.1:8080/",
            "http://10.0.0.1:8080/mcp",
        ] {
            assert_eq!(register(&url(other), &ups), Registration::Shadow, "{other}");
        }
        assert_eq!(
            Endpoint::parse("https://example.com"),
            Some(Endpoint::new("example.com.", 443, "/"))
        );
        assert_eq!(Endpoint::parse("ftp://example.com/"), None);
    }

    #[test]
    fn commands_match_on_program_name_and_exact_arguments() {
        let ups = [
            known(
                "fs",
                cmd("/usr/bin/npx", &["-y", "server-filesystem", "/tmp"]),
            ),
            known("time", cmd("uvx", &["mcp-server-time"])),
        ];
        let fs = Registration::Registered {
            upstream: "fs".into(),
        };
        assert_eq!(
            register(&cmd("npx", &["-y", "server-filesystem", "/tmp"]), &ups),
            fs
        );
        assert_eq!(
            register(
                &cmd("C:\\nodejs\\NPX.CMD", &["-y", "server-filesystem", "/tmp"]),
                &ups
            ),
            Registration::Shadow,
            "names are case-sensitive apart from the suffix"
        );
        assert_eq!(
            register(
                &cmd("C:\\nodejs\\npx.CMD", &["-y", "server-filesystem", "/tmp"]),
                &ups
            ),
            fs
        );
        assert_eq!(
            register(&cmd("npx", &["-y", "server-filesystem", "/home"]), &ups),
            Registration::Shadow
        );
        assert_eq!(register(&cmd("uvx", &[]), &ups), Registration::Shadow);
        assert_eq!(
            register(&url("http://127.0.0.1/"), &ups),
            Registration::Shadow
        );
    }

    #[test]
    fn source_files_match_an_upstream_that_runs_them() {
        let ups = [known(
            "weather",
            cmd("python", &["/srv/app/servers/weather.py", "--verbose"]),
        )];
        let file = |f: &str| register(&Target::SourceFile(f.to_owned()), &ups);
        assert!(!file("servers/weather.py").is_shadow());
        assert!(!file("weather.py").is_shadow());
        assert!(file("other/servers/weather.py").is_shadow());
        assert!(file("servers/weather.pyc").is_shadow());
        assert!(file("src/index.ts").is_shadow());
    }
}
