//! The rate-limit stage: every configured limit whose scope covers the request counts it under
//! its key (agent, user, server, tool, as the limit says); the first limit that is full refuses
//! it with the time a retry can pass. Over HTTP a lone request so refused is a 429 with
//! `Retry-After`; elsewhere the JSON-RPC error carries `data.retry_after_ms`.

use std::time::Duration;

use moat_config::{KeyPart, RateRule};
use moat_proto::{ErrorObject, Request, Response, codes};
use moat_ratelimit::{Limiter, MemoryLimiter, Refusal};
use serde_json::json;

use super::authorize::Operation;
use super::{Refused, Session};
use crate::auth::Caller;
use crate::events;
use crate::federation::lists::ListKind;

/// The configured limits and the limiter that counts against them (index for index).
pub(crate) struct RateLimits {
    rules: Vec<RateRule>,
    limiter: Box<dyn Limiter>,
}

impl RateLimits {
    /// The in-memory limiter for `rules`; `None` when there are none.
    pub(crate) fn in_memory(
        rules: &[RateRule],
    ) -> Result<Option<Self>, moat_ratelimit::InvalidLimit> {
        if rules.is_empty() {
            return Ok(None);
        }
        let limits: Vec<_> = rules.iter().map(|r| r.limit).collect();
        Ok(Some(Self {
            rules: rules.to_vec(),
            limiter: Box::new(MemoryLimiter::new(&limits)?),
        }))
    }
}

impl Session {
    pub(super) async fn rate_limit(
        &self,
        req: &Request,
        op: Option<&Operation>,
        caller: &Caller,
    ) -> Result<(), Refused> {
        let Some(rates) = &self.gateway.rates else {
            return Ok(());
        };
        // The tool a call names, as `server/tool` in the server's own name; other requests have none.
        let tool = op
            .filter(|op| op.kind == ListKind::Tools)
            .and_then(|op| op.target.as_ref())
            .map(|(idx, name)| (self.names.server(*idx), name.as_str()));
        let keys: Vec<(usize, String)> = rates
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| covers(rule, tool))
            .map(|(i, rule)| (i, key(rule, caller, tool)))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let checks: Vec<(usize, &str)> = keys.iter().map(|(i, k)| (*i, k.as_str())).collect();
        let refusal = match rates.limiter.acquire(&checks).await {
            Ok(()) => return Ok(()),
            Err(r) => r,
        };
        let (rule, retry_after, error) = match refusal {
            Refusal::Exceeded(over) => {
                let rule = rates.rules.get(over.limit).map_or("?", |r| r.name.as_str());
                let retry = over.retry_after;
                let error = ErrorObject::new(
                    codes::RATE_LIMITED,
                    format!(
                        "rate limit {rule:?} exceeded; retry after {} ms",
                        retry.as_millis()
                    ),
                )
                .with_data(json!({
                    "rule": rule,
                    "retry_after_ms": u64::try_from(retry.as_millis()).unwrap_or(u64::MAX),
                }));
                (rule.to_owned(), retry, error)
            }
            // A limiter that cannot be asked refuses (fail closed), asking for a retry soon.
            Refusal::Unavailable(why) => {
                let error = ErrorObject::new(
                    codes::RATE_LIMITED,
                    format!("rate limits cannot be checked: {why}"),
                )
                .with_data(json!({ "retry_after_ms": 1000 }));
                ("unavailable".to_owned(), Duration::from_secs(1), error)
            }
        };
        events::rate_limited(&self.id, caller, &req.method, &rule, retry_after);
        Err(Refused {
            response: Response::error(Some(req.id.clone()), &error),
            missing_scopes: Vec::new(),
            retry_after: Some(retry_after),
        })
    }
}

/// Whether `rule` counts this request: a rule without tool patterns counts every request.
fn covers(rule: &RateRule, tool: Option<(&str, &str)>) -> bool {
    if rule.tools.is_empty() {
        return true;
    }
    let Some((server, name)) = tool else {
        return false;
    };
    rule.tools
        .iter()
        .any(|pattern| moat_policy::matches_tool(pattern, server, name))
}

/// The request's key under `rule`: its parts joined by a separator no name contains. A caller
/// without a token is keyed by its address.
fn key(rule: &RateRule, caller: &Caller, tool: Option<(&str, &str)>) -> String {
    let principal = caller.principal.as_deref();
    let mut key = String::new();
    for part in &rule.per {
        if !key.is_empty() {
            key.push('\u{1f}');
        }
        match part {
            KeyPart::Agent => match (principal, caller.source) {
                (Some(p), _) => key.push_str(p.agent()),
                (None, Some(ip)) => key.push_str(&format!("address:{}", network_of(ip))),
                (None, None) => key.push('-'),
            },
            KeyPart::User => key.push_str(principal.and_then(|p| p.user()).unwrap_or("-")),
            KeyPart::Server => key.push_str(tool.map_or("-", |t| t.0)),
            KeyPart::Tool => {
                if let Some((server, name)) = tool {
                    key.push_str(server);
                    key.push('/');
                    key.push_str(name);
                } else {
                    key.push('-');
                }
            }
        }
    }
    key
}

/// An anonymous caller's address as a key: IPv4 as it is, IPv6 by its /64 (one host usually
/// holds a whole /64, so keying by address would give it a fresh budget per address).
fn network_of(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tools: &[&str], per: &[KeyPart]) -> RateRule {
        let one = std::num::NonZeroU32::new(1).unwrap();
        RateRule {
            name: "r".into(),
            per: per.to_vec(),
            limit: moat_ratelimit::Limit {
                count: one,
                period: Duration::from_secs(1),
                burst: one,
            },
            tools: tools.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn tool_patterns_match_server_and_tool_separately() {
        assert!(covers(&rule(&[], &[]), None), "no patterns: every request");
        let files = rule(&["files/*"], &[]);
        assert!(covers(&files, Some(("files", "read_file"))));
        assert!(!covers(&files, Some(("crm", "read_file"))));
        assert!(!covers(&files, None), "a list is no tool call");
        // `*` in the server part must not swallow the separator into the tool's name.
        let reads = rule(&["*/read_*"], &[]);
        assert!(covers(&reads, Some(("files", "read_file"))));
        assert!(!covers(&reads, Some(("files", "write_file"))));
    }

    #[test]
    fn keys_are_made_of_the_parts_the_rule_names() {
        let caller = Caller::new(None, Some("10.0.0.7".parse().unwrap()));
        let r = rule(&[], &[KeyPart::Agent, KeyPart::Tool]);
        assert_eq!(
            key(&r, &caller, Some(("files", "read"))),
            "address:10.0.0.7\u{1f}files/read"
        );
        assert_eq!(key(&r, &caller, None), "address:10.0.0.7\u{1f}-");
        let v6 = Caller::new(None, Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let other = Caller::new(None, Some("2001:db8:1:2:bbbb::9".parse().unwrap()));
        let agent = rule(&[], &[KeyPart::Agent]);
        assert_eq!(key(&agent, &v6, None), "address:2001:db8:1:2::/64");
        assert_eq!(
            key(&agent, &v6, None),
            key(&agent, &other, None),
            "one /64, one budget"
        );
        let r = rule(&[], &[KeyPart::User, KeyPart::Server]);
        assert_eq!(
            key(&r, &Caller::default(), Some(("crm", "x"))),
            "-\u{1f}crm"
        );
    }
}
