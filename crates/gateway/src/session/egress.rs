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
        let Some(op) = authorized
            .op
            .as_ref()
            .filter(|op| op.kind == ListKind::Tools)
        else {
            return Ok(());
        };
        let Some((idx, original)) = &op.target else {
            return Ok(());
        };
        if !egress.enforce {
            return Ok(());
        }
        let server = self.names.server(*idx);
        let schema = match self.tool_facts(&op.name).await.and_then(|f| f.schema) {
            Some(text) => self.gateway.schemas.get(&text).ok(),
            None => None,
        };
        let urls = urls_in(&op.arguments, schema.as_ref().map(|s| s.schema()));
        if urls.is_empty() {
            return Ok(());
        }
        let rules = egress.rules_for(server, original);
        let refuse = |pointer: &str, kind: &str, why: String| {
            events::egress_refused(&self.id, server, original, pointer, kind, &why);
            let error = ErrorObject::new(codes::GUARD_BLOCKED, format!("blocked: {why}"))
                .with_data(json!({"check": "egress", "kind": kind, "argument": pointer}));
            Refused::answer(Response::error(Some(authorized.req.id.clone()), &error))
        };
        if urls.len() > MAX_URLS {
            return Err(refuse(
                "",
                "too_many_urls",
                format!(
                    "{} URLs in one call, more than the {MAX_URLS} checked",
                    urls.len()
                ),
            ));
        }
        for (pointer, url) in &urls {
            if let Err(v) = check(rules, url).await {
                return Err(refuse(pointer, v.kind().as_str(), v.to_string()));
            }
        }
        Ok(())
    }
}

/// One URL: parsed and checked, and a name resolved and every address checked.
async fn check(rules: &EgressRules, url: &str) -> Result<(), EgressViolation> {
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
