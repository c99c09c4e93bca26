//! Egress control: which URLs in a tool's arguments the tool may be let to reach.
//!
//! A check has two halves, because resolving a name is I/O and this crate does none:
//! [`EgressRules::check_url`] parses the URL with the WHATWG parser (the one browsers and
//! `reqwest` use, so every spelling of an address — `2130706433`, `0x7f.1`, `127.1`,
//! `[::ffff:7f00:1]`, percent-encoded or full-width digits — reaches the check in its one
//! canonical form), refuses a scheme not allowed, credentials, `localhost`, a name off the
//! tool's allowlist and an address literal in a denied range; for a name it returns a
//! [`Destination`] the caller resolves and hands, with every address the resolver gave, to
//! [`EgressRules::check_addrs`]. The caller must then connect only to the addresses checked,
//! or a second lookup could answer differently (DNS rebinding).
//!
//! [`urls_in`] finds the URLs among a tool call's arguments.

mod error;
mod network;
mod pattern;
mod range;
mod urls;

use std::net::IpAddr;

use url::{Host, Url};

pub use error::{EgressRulesError, EgressViolation, SHOWN_CHARS, ViolationKind};
pub use network::Network;
pub use pattern::HostPattern;
pub use range::{Denial, DeniedRange, Embedding, classify};
pub use urls::urls_in;

use error::shown;
use pattern::normalise_name;

/// Egress settings as an operator writes them, for one tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressSettings {
    /// URL schemes a tool may be sent to; none means no URL passes.
    pub schemes: Vec<String>,
    /// Host patterns (`example.com`, `*.example.com`, an address); empty means any public host.
    pub domains: Vec<String>,
    /// CIDR blocks reachable although they lie in a denied range, for an internal host an
    /// operator means tools to reach.
    pub allowed_networks: Vec<String>,
}

impl Default for EgressSettings {
    fn default() -> Self {
        Self {
            schemes: vec!["http".into(), "https".into()],
            domains: Vec::new(),
            allowed_networks: Vec::new(),
        }
    }
}

/// Checked egress rules for one tool, built from [`EgressSettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRules {
    schemes: Vec<String>,
    domains: Vec<HostPattern>,
    allowed_networks: Vec<Network>,
}

/// Where a URL that passed [`EgressRules::check_url`] leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    url: Url,
    target: Target,
}

/// The host of a [`Destination`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An address literal, already checked.
    Address(IpAddr),
    /// A name (lower case, punycode, no trailing dot) still to resolve and check.
    Name(String),
}

impl Destination {
    /// The URL, normalised by the parser (what a conforming client sends).
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The host.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The name to resolve, `None` for an address literal.
    pub fn name(&self) -> Option<&str> {
        match &self.target {
            Target::Name(name) => Some(name),
            Target::Address(_) => None,
        }
    }

    /// The port: explicit, or the scheme's default (`None` for a scheme without one).
    pub fn port(&self) -> Option<u16> {
        self.url.port_or_known_default()
    }
}

impl EgressRules {
    /// Checks settings: each scheme a scheme, each domain a host pattern, each network CIDR.
    pub fn new(settings: &EgressSettings) -> Result<Self, EgressRulesError> {
        let schemes = settings
            .schemes
            .iter()
            .map(|s| {
                let lower = s.to_ascii_lowercase();
                let mut chars = lower.chars();
                let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                    && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
                valid
                    .then_some(lower)
                    .ok_or_else(|| EgressRulesError::Scheme(s.clone()))
            })
            .collect::<Result<_, _>>()?;
        let domains = settings
            .domains
            .iter()
            .map(|d| d.parse())
            .collect::<Result<_, _>>()?;
        let allowed_networks = settings
            .allowed_networks
            .iter()
            .map(|n| n.parse())
            .collect::<Result<_, _>>()?;
        Ok(Self {
            schemes,
            domains,
            allowed_networks,
        })
    }

    /// Checks everything about `url` that needs no resolver. See the module documentation.
    pub fn check_url(&self, url: &str) -> Result<Destination, EgressViolation> {
        let parsed = Url::parse(url).map_err(|e| EgressViolation::Unparsable {
            input: format!("{:?}", shown(url)),
            reason: e.to_string(),
        })?;
        if !self.schemes.iter().any(|s| s == parsed.scheme()) {
            return Err(EgressViolation::Scheme {
                url: show_url(&parsed),
                scheme: parsed.scheme().to_owned(),
                allowed: self.schemes.join(", "),
            });
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(EgressViolation::Credentials {
                url: show_url(&parsed),
            });
        }
        let target = self.target(&parsed)?;
        if let Target::Address(addr) = target {
            self.check_addr(&parsed, addr, |url, addr, denial| {
                EgressViolation::DeniedLiteral { url, addr, denial }
            })?;
        }
        Ok(Destination {
            url: parsed,
            target,
        })
    }

    /// Checks every address `dest`'s name resolved to: one denied address fails the whole
    /// destination, since the client may connect to any of them (a rebinding server mixes a
    /// private answer among public ones). No address at all fails too.
    pub fn check_addrs(&self, dest: &Destination, addrs: &[IpAddr]) -> Result<(), EgressViolation> {
        if addrs.is_empty() {
            return Err(EgressViolation::Unresolved {
                url: show_url(&dest.url),
            });
        }
        addrs.iter().try_for_each(|&addr| {
            self.check_addr(&dest.url, addr, |url, addr, denial| {
                EgressViolation::DeniedResolved { url, addr, denial }
            })
        })
    }

    /// The host of `url`, normalised, and checked against the names refused and the allowlist.
    fn target(&self, url: &Url) -> Result<Target, EgressViolation> {
        let host = match url.host() {
            // A scheme the parser does not know (`gopher`, say) leaves the host opaque:
            // `2130706433` stays text there. Parse it as a known scheme's host would be, so an
            // operator allowing such a scheme gets the same checks.
            Some(Host::Domain(opaque)) if !is_special(url.scheme()) => Host::parse(opaque)
                .map_err(|e| EgressViolation::Unparsable {
                    input: format!("{:?}", shown(url.as_str())),
                    reason: e.to_string(),
                })?,
            Some(host) => host.to_owned(),
            None => {
                return Err(EgressViolation::NoHost { url: show_url(url) });
            }
        };
        let target = match host {
            Host::Ipv4(v4) => Target::Address(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Target::Address(IpAddr::V6(v6)),
            Host::Domain(name) => Target::Name(normalise_name(&name).to_owned()),
        };
        let listed = match &target {
            Target::Name(name) if name.is_empty() => {
                return Err(EgressViolation::NoHost { url: show_url(url) });
            }
            Target::Name(name) if name == "localhost" || name.ends_with(".localhost") => {
                return Err(EgressViolation::LocalName {
                    url: show_url(url),
                    name: name.clone(),
                });
            }
            Target::Name(name) => self.domains.iter().any(|p| p.matches_name(name)),
            Target::Address(ip) => self.domains.iter().any(|p| p.matches_address(*ip)),
        };
        if !self.domains.is_empty() && !listed {
            return Err(EgressViolation::NotAllowlisted {
                url: show_url(url),
                host: match &target {
                    Target::Name(name) => name.clone(),
                    Target::Address(ip) => ip.to_string(),
                },
            });
        }
        Ok(target)
    }

    fn check_addr(
        &self,
        url: &Url,
        addr: IpAddr,
        violation: impl FnOnce(String, IpAddr, Denial) -> EgressViolation,
    ) -> Result<(), EgressViolation> {
        let Some(denial) = classify(addr) else {
            return Ok(());
        };
        // The operator's blocks may name the address or the IPv4 one it carries.
        let carried = denial.carried.map(|(_, v4)| IpAddr::V4(v4));
        let allowed = self
            .allowed_networks
            .iter()
            .any(|n| n.contains(addr) || carried.is_some_and(|v4| n.contains(v4)));
        if allowed {
            return Ok(());
        }
        Err(violation(show_url(url), addr, denial))
    }
}

/// The schemes whose hosts the WHATWG parser parses as domains or addresses (the others keep
/// an opaque host).
fn is_special(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp" | "file")
}

/// A URL for a message: without credentials, which must not reach logs, and cut short.
fn show_url(url: &Url) -> String {
    let mut url = url.clone();
    // Both fail only for a URL that cannot have credentials, which then has none to remove.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    shown(url.as_str())
}

#[cfg(test)]
mod tests;
