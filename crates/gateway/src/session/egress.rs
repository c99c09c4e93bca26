//! The egress stage (SSRF defence): URLs in a tool call's arguments — those the tool's schema
//! declares (`format: uri`…) and any string that is an absolute URL — must use an allowed
//! scheme, carry no credentials, name a host the tool may reach (`guard.egress.domains`), and
//! lead only to public addresses: a name is resolved here and every address it resolves to is
//! checked. A call that fails is refused before it reaches the server (-32034,
//! `data.check: "egress"`).
//!
//! moat cannot pin the address the server itself will connect to: a name that resolves to a
//! public address now and a private one a second later (DNS rebinding) needs the server's own
//! egress to be confined too; this stage stops every URL that is private as sent or as resolved.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use moat_config::EgressConfig;
use moat_guard::egress::{EgressRules, EgressRulesError, EgressViolation, Target, urls_in};
use moat_proto::{ErrorObject, Response, codes};
use serde_json::json;

use super::{Authorized, Refused, Session};
use crate::events;
use crate::federation::lists::ListKind;

/// More URLs than this in one call are refused rather than resolved one by one.
const MAX_URLS: usize = 16;
/// How long a name may take to resolve; one that takes longer is refused.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// `guard.egress`, built: the rules for every tool, and those of tools with a domain allowlist.
pub(crate) struct Egress {
    enforce: bool,
    base: EgressRules,
    by_tool: Vec<(String, EgressRules)>,
}

impl Egress {
    pub(crate) fn new(cfg: &EgressConfig) -> Result<Self, EgressRulesError> {
        let by_tool = cfg
            .domains
            .iter()
            .map(|(tool, hosts)| {
                let settings = moat_guard::egress::EgressSettings {
                    domains: hosts.clone(),
                    ..cfg.base.clone()
                };
                Ok((tool.clone(), EgressRules::new(&settings)?))
            })
            .collect::<Result<_, EgressRulesError>>()?;
        Ok(Self {
            enforce: cfg.enforce,
            base: EgressRules::new(&cfg.base)?,
            by_tool,
        })
    }

    pub(crate) fn enforces(&self) -> bool {
        self.enforce
    }

    fn rules_for(&self, server: &str, tool: &str) -> &EgressRules {
        self.by_tool
            .iter()
            .find(|(pattern, _)| moat_policy::matches_tool(pattern, server, tool))
            .map_or(&self.base, |(_, rules)| rules)
    }
}

impl Session {
    pub(super) async fn check_egress(
        self: &Arc<Self>,
        authorized: &Authorized,
    ) -> Result<(), Refused> {
        let egress = &self.gateway.egress;
        let Some(op) = &authorized.op else {
            return Ok(());
        };
        let Some((idx, original)) = &op.target else {
            return Ok(());
        };
        if !egress.enforce {
            return Ok(());
        }
        let server = self.names.server(*idx);
        let urls = match op.kind {
            ListKind::Tools => {
                let known = self.facts_of(op).await;
                let schema = known.and_then(|k| k.schema.as_ref()?.as_ref().ok());
                urls_in(&op.arguments, schema.map(|s| s.schema()))
            }
            // A prompt's arguments are strings the server may fetch too; without a schema only
            // network URLs are taken as ones (a prompt may well be given a resource URI).
            ListKind::Prompts => urls_in(&op.arguments, None)
                .into_iter()
                .filter(|(_, url)| is_network_url(url))
                .collect(),
            // A resource named by a network URL is one the server fetches on read; other
            // schemes (file://, a server's own) are the server's namespace, not egress.
            ListKind::Resources | ListKind::ResourceTemplates => {
                if is_network_url(original) {
                    vec![("/uri".to_owned(), original.clone())]
                } else {
                    Vec::new()
                }
            }
        };
        if urls.is_empty() {
            return Ok(());
        }
        let rules = egress.rules_for(server, original);
        // `shown` is what the agent reads; `why` (with resolved addresses) stays in the log, so
        // the check cannot be used to map internal names to addresses.
        let refuse = |pointer: &str, kind: &str, why: String, shown: String| {
            events::egress_refused(&self.id, server, original, pointer, kind, &why);
            let error = ErrorObject::new(codes::GUARD_BLOCKED, format!("blocked: {shown}"))
                .with_data(json!({"check": "egress", "kind": kind, "argument": pointer}));
            Refused::answer(Response::error(Some(authorized.req.id.clone()), &error))
        };
        if urls.len() > MAX_URLS {
            let why = format!(
                "{} URLs in one call, more than the {MAX_URLS} checked",
                urls.len()
            );
            return Err(refuse("", "too_many_urls", why.clone(), why));
        }
        for (pointer, url) in &urls {
            if let Err(v) = check(rules, url).await {
                let shown = match &v {
                    EgressViolation::DeniedResolved { url, .. }
                    | EgressViolation::Unresolved { url } => {
                        format!("{url} does not lead to a public address this tool may reach")
                    }
                    other => other.to_string(),
                };
                return Err(refuse(pointer, v.kind().as_str(), v.to_string(), shown));
            }
        }
        Ok(())
    }
}

/// Whether `url` names a host on the network (http, https, ws, wss, ftp), as opposed to a
/// server's own namespace (`file://`, `test://`, `ui://`…).
fn is_network_url(url: &str) -> bool {
    let scheme = url
        .trim_start()
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase());
    matches!(
        scheme.as_deref(),
        Some("http" | "https" | "ws" | "wss" | "ftp")
    )
}

/// One URL: parsed and checked, and a name resolved and every address checked.
async fn check(rules: &EgressRules, url: &str) -> Result<(), EgressViolation> {
    // Parsers disagree on these in the authority: the WHATWG parser reads
    // `http://a.example\@10.0.0.1/` as host a.example (a backslash starts the path), Python's
    // as host 10.0.0.1; tabs and newlines vanish for one and not for another. moat checks one
    // reading and the server may use another, so neither is let through.
    let authority = url.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    if authority
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return Err(EgressViolation::Unparsable {
            input: format!("{url:?}"),
            reason: "a backslash, space or control character in the host part, which URL parsers read differently".into(),
        });
    }
    let dest = rules.check_url(url)?;
    let Target::Name(name) = dest.target() else {
        return Ok(());
    };
    let port = dest.port().unwrap_or(0);
    let addrs: Vec<IpAddr> = match tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::net::lookup_host((name.as_str(), port)),
    )
    .await
    {
        Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
        // No answer is no address: `check_addrs` refuses an empty list.
        _ => Vec::new(),
    };
    rules.check_addrs(&dest, &addrs)
}
