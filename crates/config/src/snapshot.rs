//! The validated, immutable configuration snapshot.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::auth::AuthConfig;
use crate::error::ConfigError;
use crate::guard::GuardConfig;
use crate::limits::LimitsConfig;
use crate::locate::line_of;
use crate::policy::PolicyConfig;
use crate::raw::RawConfig;
use crate::scopes::ScopeDictionary;
use crate::upstream::{UpstreamConfig, parse_duration};

/// Default MCP listener.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8940";
/// Default request body limit: 4 MiB.
pub(crate) const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// Default idle time after which a session ends.
pub(crate) const DEFAULT_SESSION_IDLE: std::time::Duration =
    std::time::Duration::from_secs(30 * 60);

/// When a server's name is put in front of its tools' and prompts' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixMode {
    /// Always `<server><sep><tool>`.
    Always,
    /// Only when more than one upstream is configured.
    Conditional,
    /// Never: names pass unchanged; a name two servers share is refused, never shadowed.
    Never,
}

impl PrefixMode {
    pub(crate) fn parse(s: &str, field: &str) -> Result<Self, ConfigError> {
        match s {
            "always" => Ok(Self::Always),
            "conditional" => Ok(Self::Conditional),
            "never" => Ok(Self::Never),
            _ => Err(ConfigError::new(
                field,
                format!("{s:?} is not one of always, conditional, never"),
            )),
        }
    }

    /// Whether names get the prefix in a federation of `upstreams` servers.
    pub fn applies(self, upstreams: usize) -> bool {
        match self {
            Self::Always => true,
            Self::Conditional => upstreams > 1,
            Self::Never => false,
        }
    }
}

/// Which `Origin` and `Host` headers the listener accepts (DNS-rebinding defence).
#[derive(Debug, Clone, PartialEq)]
pub struct HostPolicy {
    /// Allowed `Origin` values, lowercase `scheme://host[:port]`. A request without `Origin` is allowed
    /// (not a browser); one with an `Origin` not listed gets 403.
    pub origins: Vec<String>,
    /// Allowed `Host` values (host, or host:port), lowercase. Empty means any.
    pub hosts: Vec<String>,
}

/// TLS files for the listener.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Everything moat needs to run, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// MCP listener address.
    pub listen: SocketAddr,
    /// TLS, when the listener serves HTTPS.
    pub tls: Option<TlsConfig>,
    /// Origin/Host allowlists.
    pub hosts: HostPolicy,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Sessions unused this long are ended.
    pub session_idle_timeout: std::time::Duration,
    /// Client authentication; `None` only on loopback or with an explicit reason.
    pub auth: Option<AuthConfig>,
    /// The store's URL, when configured (the binary picks a default next to the config file).
    pub store: Option<String>,
    /// Declared scopes.
    pub scopes: ScopeDictionary,
    /// Global prefix mode.
    pub prefix: PrefixMode,
    /// Between server name and tool or prompt name.
    pub separator: String,
    /// Upstream servers in configured order.
    pub upstreams: Vec<UpstreamConfig>,
    /// Authorization; `None` when the file has no `policy:` (every caller may use everything
    /// its token admits).
    pub policy: Option<PolicyConfig>,
    /// Content inspection (defaults apply without a `guard:` section).
    pub guard: GuardConfig,
    /// Argument bounds, rate limits and quotas.
    pub limits: LimitsConfig,
    /// How often every server is listed again to compare its definitions with their pins.
    pub catalog_refresh: std::time::Duration,
}

/// Default [`Config::catalog_refresh`].
const DEFAULT_CATALOG_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_yaml(&text, &file)
    }

    /// Validates YAML text; `file` names it in errors.
    pub fn from_yaml(text: &str, file: &str) -> Result<Self, ConfigError> {
        Self::from_raw(Self::parse_raw(text, file)?).map_err(|e| Self::locate(e, text, file))
    }

    /// Parses YAML into the raw form (for callers that add command-line overrides before validating).
    pub fn parse_raw(text: &str, file: &str) -> Result<RawConfig, ConfigError> {
        if text.trim().is_empty() {
            return Ok(RawConfig::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            line: e.location().map(|l| l.line()),
            field: String::new(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// Points a validation error at its line in `text`.
    pub fn locate(mut e: ConfigError, text: &str, file: &str) -> ConfigError {
        e.file = file.to_owned();
        e.line = e.line.or_else(|| line_of(text, &e.field));
        e
    }

    /// Validates the raw form.
    pub fn from_raw(raw: RawConfig) -> Result<Self, ConfigError> {
        let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::new(
                "listen",
                format!("{listen_text:?} is not an address such as 127.0.0.1:8940"),
            )
        })?;
        let fed = raw.federation.unwrap_or_default();
        let prefix = match fed.prefix.as_deref() {
            None => PrefixMode::Always,
            Some(p) => PrefixMode::parse(p, "federation.prefix")?,
        };
        let separator = fed.separator.unwrap_or_else(|| "__".to_owned());
        if separator.is_empty() || separator.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(ConfigError::new(
                "federation.separator",
                "must be non-empty, without spaces or '/'",
            ));
        }
        let max_body_bytes = match raw.max_body_bytes {
            None => DEFAULT_MAX_BODY,
            Some(0) => return Err(ConfigError::new("max_body_bytes", "must be greater than 0")),
            Some(n) => {
                usize::try_from(n).map_err(|_| ConfigError::new("max_body_bytes", "too large"))?
            }
        };
        let session_idle_timeout = match raw.session_idle_timeout {
            None => DEFAULT_SESSION_IDLE,
            Some(t) => parse_duration(&t, "session_idle_timeout")?,
        };
        let mut upstreams = Vec::with_capacity(raw.upstreams.len());
        for (name, up) in raw.upstreams {
            if name.contains(&separator) {
                return Err(ConfigError::new(
                    format!("upstreams.{name}"),
                    format!("a server name must not contain the separator {separator:?}"),
                ));
            }
            upstreams.push(UpstreamConfig::from_raw(&name, up)?);
        }
        let tls = raw.tls.map(|t| TlsConfig {
            cert: t.cert.into(),
            key: t.key.into(),
        });
        let hosts = host_policy(listen, raw.allowed_origins, raw.allowed_hosts);
        let scopes = ScopeDictionary::from_raw(raw.scopes)?;
        let auth = raw.auth.map(AuthConfig::from_raw).transpose()?;
        if let Some(a) = &auth {
            let named = a
                .required_scopes
                .iter()
                .chain(&a.scopes_supported)
                .chain(a.server.iter().flat_map(|s| &s.registration_scopes))
                .map(String::as_str);
            if let Some(unknown) = scopes.undeclared(named).first() {
                return Err(ConfigError::new(
                    "auth",
                    format!("scope {unknown:?} is not declared under scopes"),
                ));
            }
        }
        let policy = raw
            .policy
            .map(|p| PolicyConfig::from_raw(p, &upstreams, &scopes))
            .transpose()?;
        let guard = GuardConfig::from_raw(raw.guard.unwrap_or_default())?;
        let limits = LimitsConfig::from_raw(raw.limits.unwrap_or_default())?;
        let catalog_refresh = match raw.catalog.and_then(|c| c.refresh) {
            None => DEFAULT_CATALOG_REFRESH,
            Some(text) => {
                let every = crate::upstream::parse_duration(&text, "catalog.refresh")?;
                if every < std::time::Duration::from_secs(1) {
                    return Err(ConfigError::new("catalog.refresh", "must be at least 1s"));
                }
                every
            }
        };
        let store = raw.store;
        if let Some(url) = &store
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "store",
                "must be sqlite://PATH, sqlite::memory: or postgres://…",
            ));
        }
        let reason = raw
            .allow_unauthenticated
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if auth.is_none() && !is_loopback(listen.ip()) && reason.is_none() {
            return Err(ConfigError::new(
                "auth",
                "a listener beyond loopback needs auth (or allow_unauthenticated: <why>)",
            ));
        }
        Ok(Self {
            listen,
            tls,
            hosts,
            max_body_bytes,
            session_idle_timeout,
            auth,
            store,
            scopes,
            prefix,
            separator,
            upstreams,
            policy,
            guard,
            limits,
            catalog_refresh,
        })
    }
}

/// On a loopback listener only local names are accepted by default; elsewhere the operator lists them.
fn host_policy(
    listen: SocketAddr,
    origins: Option<Vec<String>>,
    hosts: Option<Vec<String>>,
) -> HostPolicy {
    let local = ["localhost", "127.0.0.1", "[::1]"];
    let loopback = is_loopback(listen.ip());
    let lower = |v: Vec<String>| {
        v.into_iter()
            .map(|s| s.to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let origins = origins.map(lower).unwrap_or_else(|| {
        if !loopback {
            return Vec::new();
        }
        let mut v = Vec::new();
        for host in local {
            for scheme in ["http", "https"] {
                v.push(format!("{scheme}://{host}"));
                v.push(format!("{scheme}://{host}:{}", listen.port()));
            }
        }
        v
    });
    let hosts = hosts.map(lower).unwrap_or_else(|| {
        if loopback {
            local.iter().map(|s| (*s).to_owned()).collect()
        } else {
            Vec::new()
        }
    });
    HostPolicy { origins, hosts }
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

#[cfg(test)]
mod tests;
