//! External guardrails (`guard.guardrails`): HTTP services — a model-based classifier such as
//! LLM Guard or Llama Guard behind a small adapter — that judge a tool's result or a call's
//! arguments. moat POSTs
//! `{"direction": "result"|"arguments", "server", "tool", "content": <the result or arguments>}`
//! and reads `{"action": "allow"}`, `{"action": "deny", "reason": "…"}` or
//! `{"action": "replace", "content": <what to use instead>}`. A service that fails, times out or
//! answers anything else counts as a denial unless it is configured `failure: open`.
//! Redirects are not followed: the configured URL is the only place content goes.

use moat_config::Guardrail;
use serde_json::{Value, json};

/// The largest answer read from a guardrail (a replacement can be a whole result).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// What a guardrail decided.
#[derive(Debug, PartialEq)]
pub(super) enum Judgement {
    Allow,
    Deny { guardrail: String, reason: String },
    Replace(Value),
}

/// The configured guardrails and the client that asks them.
pub(crate) struct Guardrails {
    list: Vec<Guardrail>,
    http: reqwest::Client,
}

/// Which way the content goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Result,
    Arguments,
}

impl Guardrails {
    pub(crate) fn new(list: Vec<Guardrail>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { list, http })
    }

    /// Asks, in order, every guardrail that judges `direction` for `server/tool`; the first
    /// denial ends it, a replacement is what the next one judges.
    pub(super) async fn judge(
        &self,
        direction: Direction,
        server: &str,
        tool: &str,
        content: &Value,
    ) -> Judgement {
        let mut replaced: Option<Value> = None;
        for g in self
            .list
            .iter()
            .filter(|g| applies(g, direction, server, tool))
        {
            let current = replaced.as_ref().unwrap_or(content);
            let body = json!({
                "direction": match direction {
                    Direction::Result => "result",
                    Direction::Arguments => "arguments",
                },
                "server": server,
                "tool": tool,
                "content": current,
            });
            match self.ask(g, &body).await {
                Ok(Judgement::Allow) => {}
                Ok(Judgement::Replace(v)) => replaced = Some(v),
                Ok(deny @ Judgement::Deny { .. }) => return deny,
                Err(why) if g.fail_open => {
                    tracing::warn!(guardrail = %g.name, "guardrail failed, content let through (failure: open): {why}");
                }
                Err(why) => {
                    return Judgement::Deny {
                        guardrail: g.name.clone(),
                        reason: format!("the guardrail could not decide: {why}"),
                    };
                }
            }
        }
        replaced.map_or(Judgement::Allow, Judgement::Replace)
    }

    async fn ask(&self, g: &Guardrail, body: &Value) -> Result<Judgement, String> {
        let resp = self
            .http
            .post(&g.url)
            .timeout(g.timeout)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            // Without the URL: it may carry a key, and the reason can reach the agent.
            .map_err(|e| format!("no answer: {}", e.without_url()))?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        let mut resp = resp;
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("no answer: {}", e.without_url()))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(format!("an answer larger than {MAX_ANSWER} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
        match answer.get("action").and_then(Value::as_str) {
            Some("allow") => Ok(Judgement::Allow),
            Some("deny") => Ok(Judgement::Deny {
                guardrail: g.name.clone(),
                reason: answer
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
                    .to_owned(),
            }),
            Some("replace") => answer
                .get("content")
                .cloned()
                .map(Judgement::Replace)
                .ok_or_else(|| "replace without content".to_owned()),
            _ => Err("the answer has no action allow, deny or replace".into()),
        }
    }

    pub(super) fn any(&self, direction: Direction) -> bool {
        self.list.iter().any(|g| match direction {
            Direction::Result => g.results,
            Direction::Arguments => g.arguments,
        })
    }
}

fn applies(g: &Guardrail, direction: Direction, server: &str, tool: &str) -> bool {
    let side = match direction {
        Direction::Result => g.results,
        Direction::Arguments => g.arguments,
    };
    side && (g.tools.is_empty()
        || g.tools
            .iter()
            .any(|p| moat_policy::matches_tool(p, server, tool)))
}
