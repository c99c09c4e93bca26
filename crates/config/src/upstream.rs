//! Validated upstream server definitions.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;
use crate::launcher::{self, Assessment};
use crate::raw::{RawHttp, RawStdio, RawUpstream};
use crate::secret::Value;
use crate::snapshot::PrefixMode;

/// An upstream's name: lowercase ASCII letters, digits, `-` and `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpstreamName(Arc<str>);

impl UpstreamName {
    /// Validates a name.
    pub fn new(s: &str) -> Result<Self, String> {
        let ok_start = s
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let ok_rest = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok_start && ok_rest && s.len() <= 64 {
            Ok(Self(s.into()))
        } else {
            Err(format!(
                "upstream name {s:?} must be 1-64 of a-z, 0-9, '-', '_', starting with a letter or digit"
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UpstreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How moat reaches an upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// A child process speaking newline-delimited JSON-RPC on stdin/stdout.
    Stdio {
        /// The executable.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Variables set for it (the rest of the environment is cleared).
        env: Vec<(String, Value)>,
        /// Variables passed through from moat's own environment.
        inherit_env: Vec<String>,
        /// Working directory.
        cwd: Option<PathBuf>,
        /// Why this server may run a floating launcher (`allow_floating`, trimmed, never empty);
        /// `None` when the command is pinned. Logged when the server starts.
        allow_floating: Option<String>,
    },
    /// Streamable HTTP.
    Http {
        /// The endpoint.
        url: String,
        /// Headers for every request.
        headers: Vec<(String, Value)>,
    },
    /// Legacy HTTP+SSE (protocol 2024-11-05 style): GET the event stream, POST to the endpoint it names.
    Sse {
        /// The SSE endpoint.
        url: String,
        /// Headers for every request.
        headers: Vec<(String, Value)>,
    },
    /// moat's own conformance and demo server, run as a child process of the moat binary.
    BuiltinFixture,
}

/// One validated upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamConfig {
    /// Its name, used as the prefix of its tools and prompts.
    pub name: UpstreamName,
    /// How to reach it.
    pub transport: Transport,
    /// Per-request timeout.
    pub timeout: Duration,
    /// This server's prefix mode, when it differs from the global one.
    pub prefix: Option<PrefixMode>,
    /// How moat obtains its own access token for this server, if it needs one.
    pub oauth: Option<UpstreamOAuth>,
    /// Requests in flight to this server at once; more wait (up to `timeout`).
    pub max_concurrency: Option<std::num::NonZeroU32>,
    /// How its new definitions are vetted before agents see them.
    pub approval: moat_catalog::ApprovalMode,
    /// Who owns it.
    pub owner: Option<String>,
    /// What it is for.
    pub description: Option<String>,
}

/// moat's OAuth client credentials at an upstream's authorization server.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamOAuth {
    /// The token endpoint (https://, or http:// on loopback).
    pub token_url: String,
    /// moat's client id.
    pub client_id: String,
    /// moat's client secret.
    pub client_secret: crate::SecretRef,
    /// Scopes asked for.
    pub scope: Option<String>,
    /// The RFC 8707 resource asked for.
    pub resource: String,
}

/// The variables a stdio server inherits from moat unless told otherwise: enough to find programs,
/// a home for package caches, and the locale; nothing that is likely to be a credential.
pub(crate) const DEFAULT_INHERITED_ENV: [&str; 7] =
    ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER"];

/// Default per-request timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl UpstreamConfig {
    pub(crate) fn from_raw(name: &str, raw: RawUpstream) -> Result<Self, ConfigError> {
        let at = |field: &str| format!("upstreams.{name}{field}");
        let name = UpstreamName::new(name).map_err(|m| ConfigError::new(at(""), m))?;
        let timeout = match raw.timeout {
            None => DEFAULT_TIMEOUT,
            Some(t) => parse_duration(&t, &at(".timeout"))?,
        };
        let prefix = raw
            .prefix
            .as_deref()
            .map(|p| PrefixMode::parse(p, &at(".prefix")))
            .transpose()?;
        let count = [
            raw.stdio.is_some(),
            raw.http.is_some(),
            raw.sse.is_some(),
            raw.builtin.is_some(),
        ]
        .into_iter()
        .filter(|x| *x)
        .count();
        if count != 1 {
            return Err(ConfigError::new(
                at(""),
                "needs exactly one transport: stdio, http, sse or builtin",
            ));
        }
        let oauth_at = at(".oauth");
        let oauth = raw.oauth;
        let transport = if let Some(s) = raw.stdio {
            stdio(s, &at(".stdio"))?
        } else if let Some(h) = raw.http {
            let (url, headers) = http(h, &at(".http"))?;
            Transport::Http { url, headers }
        } else if let Some(h) = raw.sse {
            let (url, headers) = http(h, &at(".sse"))?;
            Transport::Sse { url, headers }
        } else {
            match raw.builtin.as_deref() {
                Some("fixture") => Transport::BuiltinFixture,
                other => {
                    return Err(ConfigError::new(
                        at(".builtin"),
                        format!(
                            "unknown builtin server {:?} (known: fixture)",
                            other.unwrap_or("")
                        ),
                    ));
                }
            }
        };
        let oauth = match (oauth, &transport) {
            (None, _) => None,
            (Some(o), Transport::Http { url, .. } | Transport::Sse { url, .. }) => {
                Some(upstream_oauth(o, url, &oauth_at)?)
            }
            (Some(_), _) => {
                return Err(ConfigError::new(
                    oauth_at,
                    "only HTTP upstreams take OAuth credentials (stdio servers get env: secrets)",
                ));
            }
        };
        let max_concurrency = match raw.max_concurrency {
            None => None,
            Some(n) => Some(std::num::NonZeroU32::new(n).ok_or_else(|| {
                ConfigError::new(
                    at(".max_concurrency"),
                    "must be greater than 0 (leave it out for no limit)",
                )
            })?),
        };
        let approval = match raw.approval.as_deref() {
            None => moat_catalog::ApprovalMode::default(),
            Some(text) => text.parse().map_err(|_| {
                ConfigError::new(
                    at(".approval"),
                    format!("unknown approval {text:?} (required, auto or read_only)"),
                )
            })?,
        };
        Ok(Self {
            name,
            transport,
            timeout,
            prefix,
            oauth,
            max_concurrency,
            approval,
            owner: raw.owner,
            description: raw.description,
        })
    }
}

impl UpstreamConfig {
    /// What an operator should hear about this server's launch command when it is checked or
    /// started: an image pinned by tag only, or a floating launcher allowed and why.
    pub fn launch_warning(&self) -> Option<String> {
        let Transport::Stdio {
            command,
            args,
            allow_floating,
            ..
        } = &self.transport
        else {
            return None;
        };
        match (launcher::assess(command, args), allow_floating) {
            (Assessment::Floating(f), Some(why)) => Some(format!(
                "upstream {:?}: {f}; allowed to float because: {why}",
                self.name.as_str()
            )),
            (Assessment::Tagged(t), _) => Some(format!("upstream {:?}: {t}", self.name.as_str())),
            _ => None,
        }
    }
}

fn upstream_oauth(
    raw: crate::raw::RawUpstreamOAuth,
    upstream_url: &str,
    at: &str,
) -> Result<UpstreamOAuth, ConfigError> {
    if !crate::outbound::https_or_loopback(&raw.token_url) {
        return Err(ConfigError::new(
            format!("{at}.token_url"),
            crate::outbound::HTTPS_OR_LOOPBACK,
        ));
    }
    let client_secret = crate::SecretRef::parse(&raw.client_secret).ok_or_else(|| {
        ConfigError::new(
            format!("{at}.client_secret"),
            "must be env:NAME or file:/path, never inline",
        )
    })?;
    Ok(UpstreamOAuth {
        token_url: raw.token_url,
        client_id: raw.client_id,
        client_secret,
        scope: raw.scope,
        resource: raw.resource.unwrap_or_else(|| upstream_url.to_owned()),
    })
}

/// A positive duration such as `30s`, `500ms` or `15m`.
pub(crate) fn parse_duration(text: &str, field: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ConfigError::new(
                field,
                format!("{text:?} is not a duration such as 30s or 500ms"),
            )
        })
}

fn stdio(raw: RawStdio, at: &str) -> Result<Transport, ConfigError> {
    if raw.command.trim().is_empty() {
        return Err(ConfigError::new(
            format!("{at}.command"),
            "must name an executable",
        ));
    }
    let allow_floating = supply_chain(&raw, at)?;
    let env = raw
        .env
        .into_iter()
        .map(|(k, v)| (k, Value::parse(&v)))
        .collect();
    let inherit_env = raw.inherit_env.unwrap_or_else(|| {
        DEFAULT_INHERITED_ENV
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    Ok(Transport::Stdio {
        command: raw.command,
        args: raw.args,
        env,
        inherit_env,
        cwd: raw.cwd.map(PathBuf::from),
        allow_floating,
    })
}

/// A floating launcher is refused unless `allow_floating` gives a reason; a reason for a pinned
/// command is refused too, so that a floating command added later does not inherit it.
fn supply_chain(raw: &RawStdio, at: &str) -> Result<Option<String>, ConfigError> {
    let allow_at = || format!("{at}.allow_floating");
    let reason = match raw.allow_floating.as_deref().map(str::trim) {
        Some("") => {
            return Err(ConfigError::new(
                allow_at(),
                "must say why this server may run unpinned code (a non-empty reason)",
            ));
        }
        other => other.map(str::to_owned),
    };
    match (launcher::floating(&raw.command, &raw.args), &reason) {
        (Some(floating), None) => {
            let field = if raw.args.is_empty() {
                "command"
            } else {
                "args"
            };
            Err(ConfigError::new(
                format!("{at}.{field}"),
                format!(
                    "{floating}; what it runs could change with no change to this file: pin it \
                     (pkg@1.2.3, pkg==1.2.3, image@sha256:…) or set allow_floating: \"<why>\""
                ),
            ))
        }
        (None, Some(_)) => Err(ConfigError::new(
            allow_at(),
            "is set but the command is pinned: remove it, so that a floating command added later is refused",
        )),
        _ => Ok(reason),
    }
}

fn http(raw: RawHttp, at: &str) -> Result<(String, Vec<(String, Value)>), ConfigError> {
    if !crate::outbound::https_or_loopback(&raw.url) {
        return Err(ConfigError::new(
            format!("{at}.url"),
            format!("{:?} {}", raw.url, crate::outbound::HTTPS_OR_LOOPBACK),
        ));
    }
    let mut headers = Vec::with_capacity(raw.headers.len());
    for (name, value) in raw.headers {
        let value = Value::parse(&value);
        if is_credential_header(&name) && matches!(value, Value::Literal(_)) {
            return Err(ConfigError::new(
                format!("{at}.headers.{name}"),
                "carries a credential: write it as env:NAME or file:/path, never inline",
            ));
        }
        headers.push((name, value));
    }
    Ok((raw.url, headers))
}

/// Headers whose values are credentials by name; these may only come from secret references.
fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || ["key", "token", "secret", "password"]
        .iter()
        .any(|w| n.contains(w))
}
