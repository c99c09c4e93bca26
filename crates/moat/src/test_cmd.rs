//! `moat test CASES`: golden datasets of a policy. Each case is sent as a given identity through
//! the real pipeline of a config (authorization, dispatch, the real upstreams) and its outcome
//! compared with what the case expects; a table is printed and any mismatch fails the command.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use moat_gateway::Identity;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{config_args, policy_load};

/// A file of cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// The config to test, relative to the cases file (`--config` overrides it).
    config: Option<String>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    identity: Claims,
    /// Default `tools/call`.
    method: Option<String>,
    tool: Option<String>,
    prompt: Option<String>,
    uri: Option<String>,
    arguments: Option<Value>,
    expect: Expect,
}

/// What a token for the case would carry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    agent: Option<String>,
    user: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    outcome: Outcome,
    /// One of the rules that decided must be this one.
    rule: Option<String>,
    /// For list methods: names (or URIs) that must be listed / must not be.
    #[serde(default)]
    shows: Vec<String>,
    #[serde(default)]
    hides: Vec<String>,
    /// Assertions on the upstream's result.
    result: Option<ResultCheck>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Allow,
    Deny,
    /// Held for a human's approval (`moat test` never waits for one).
    ApprovalRequired,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::ApprovalRequired => "approval_required",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultCheck {
    /// The result's text (a tool's text blocks, else its JSON) contains this.
    contains: Option<String>,
    /// The result's text matches this regular expression.
    regex: Option<String>,
    /// A JSON Pointer (RFC 6901) into the result, e.g. `/content/0/text`, and the value there.
    pointer: Option<String>,
    equals: Option<Value>,
}

pub(crate) async fn run(cases_path: &Path, config: Option<&Path>) -> Result<()> {
    let text = std::fs::read_to_string(cases_path)
        .with_context(|| format!("cannot read {}", cases_path.display()))?;
    let file: CaseFile = serde_yaml_ng::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}", l.line()))
            .unwrap_or_default();
        anyhow::anyhow!("{}{at}: {e}", cases_path.display())
    })?;
    let config_path: PathBuf = match (config, &file.config) {
        (Some(c), _) => c.to_path_buf(),
        (None, Some(c)) => cases_path.parent().unwrap_or(Path::new("")).join(c),
        (None, None) => bail!("no config: give --config FILE or `config:` in the cases file"),
    };
    let mut gateway_config =
        config_args::load(Some(&config_path), &config_args::Overrides::default())?;
    let policy = policy_load::compile(&gateway_config, Some(&config_path))?;
    // Identities come from the cases, not from tokens: nothing is authenticated here.
    gateway_config.auth = None;
    let options = moat_gateway::Options {
        self_exe: std::env::current_exe().context("cannot locate the moat executable")?,
        store: None,
        policy: policy.map(std::sync::Arc::new),
        // The golden cases test the policy alone: every definition is served unvetted.
        catalog: None,
    };
    let mut harness = moat_gateway::Gateway::new(gateway_config, options)?.harness();
    let mut rows = Vec::with_capacity(file.cases.len());
    for case in &file.cases {
        let (method, params) = request_of(case);
        let who = Identity {
            agent: case.identity.agent.clone(),
            user: case.identity.user.clone(),
            scopes: case.identity.scopes.clone(),
            groups: case.identity.groups.clone(),
        };
        let response = harness.request(&who, &method, params).await;
        rows.push((case, got(&response), check(case, &response)));
    }
    print_table(&rows);
    let failed = rows.iter().filter(|(_, _, r)| r.is_err()).count();
    println!("{} passed, {failed} failed", rows.len() - failed);
    if failed > 0 {
        bail!("{failed} case(s) did not turn out as expected");
    }
    Ok(())
}

fn request_of(case: &Case) -> (String, Value) {
    let method = case.method.clone().unwrap_or_else(|| "tools/call".into());
    let mut params = json!({});
    if let Some(name) = case.tool.as_ref().or(case.prompt.as_ref()) {
        params["name"] = json!(name);
    }
    if let Some(uri) = &case.uri {
        params["uri"] = json!(uri);
    }
    if let Some(args) = &case.arguments {
        params["arguments"] = args.clone();
    }
    (method, params)
}

/// What happened, in the table's words.
fn got(response: &Value) -> String {
    match denial(response) {
        Some((outcome, rules)) => format!("{} ({})", outcome.as_str(), rules.join(", ")),
        None if response.get("result").is_some() => "allow".into(),
        None => format!(
            "error: {}",
            response["error"]["message"].as_str().unwrap_or("no answer")
        ),
    }
}

/// The outcome a policy's error stands for, and the deciding rules.
fn denial(response: &Value) -> Option<(Outcome, Vec<String>)> {
    let code = i32::try_from(response["error"]["code"].as_i64()?).ok()?;
    let outcome = match code {
        moat_proto::codes::POLICY_DENIED | moat_proto::codes::INSUFFICIENT_SCOPE => Outcome::Deny,
        moat_proto::codes::APPROVAL_REQUIRED => Outcome::ApprovalRequired,
        _ => return None,
    };
    let rules = response["error"]["data"]["rules"].as_array()?;
    let rules = rules
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    Some((outcome, rules))
}

/// `Ok` when the response is what the case expects, else what differs.
fn check(case: &Case, response: &Value) -> Result<(), String> {
    let expect = &case.expect;
    let result = response.get("result");
    match (expect.outcome, denial(response), result) {
        (wanted, Some((outcome, rules)), _) if wanted == outcome => match &expect.rule {
            Some(r) if !rules.contains(r) => Err(format!("decided by {rules:?}, not {r:?}")),
            _ => Ok(()),
        },
        (Outcome::Allow, None, Some(result)) => check_result(expect, result),
        (_, _, _) => Err(format!("expected {}", expect.outcome.as_str())),
    }
}

fn check_result(expect: &Expect, result: &Value) -> Result<(), String> {
    let listed: Vec<&str> = ["tools", "prompts", "resources", "resourceTemplates"]
        .iter()
        .filter_map(|k| result.get(*k)?.as_array())
        .flatten()
        .filter_map(|e| {
            ["name", "uri", "uriTemplate"]
                .iter()
                .find_map(|f| e.get(*f)?.as_str())
        })
        .collect();
    if let Some(missing) = expect.shows.iter().find(|n| !listed.contains(&n.as_str())) {
        return Err(format!("{missing} is not listed"));
    }
    if let Some(shown) = expect.hides.iter().find(|n| listed.contains(&n.as_str())) {
        return Err(format!("{shown} is listed"));
    }
    let Some(c) = &expect.result else {
        return Ok(());
    };
    let text = result_text(result);
    if let Some(needle) = &c.contains
        && !text.contains(needle.as_str())
    {
        return Err(format!("the result does not contain {needle:?}"));
    }
    if let Some(pattern) = &c.regex {
        let re = regex::Regex::new(pattern).map_err(|e| format!("bad regex: {e}"))?;
        if !re.is_match(&text) {
            return Err(format!("the result does not match /{pattern}/"));
        }
    }
    match (&c.pointer, &c.equals) {
        (Some(p), Some(want)) => match result.pointer(p) {
            Some(v) if v == want => Ok(()),
            other => Err(format!(
                "{p} is {}, not {want}",
                other.map_or("absent".into(), Value::to_string)
            )),
        },
        (Some(p), None) if result.pointer(p).is_none() => Err(format!("{p} is absent")),
        (None, Some(_)) => Err("equals needs a pointer".into()),
        _ => Ok(()),
    }
}

/// A tool result's text blocks joined, or the result as JSON.
fn result_text(result: &Value) -> String {
    match result.get("content").and_then(Value::as_array) {
        Some(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text")?.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        None => result.to_string(),
    }
}

fn print_table(rows: &[(&Case, String, Result<(), String>)]) {
    let width = rows
        .iter()
        .map(|(c, _, _)| c.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<width$}  {:<17}  {:<40}  result",
        "case", "expected", "got"
    );
    for (case, got, verdict) in rows {
        let expected = case.expect.outcome.as_str().to_owned();
        let verdict = match verdict {
            Ok(()) => "ok".to_owned(),
            Err(why) => format!("MISMATCH: {why}"),
        };
        println!(
            "{:<width$}  {expected:<17}  {got:<40}  {verdict}",
            case.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(yaml: &str) -> Case {
        serde_yaml_ng::from_str(yaml).expect("case")
    }

    #[test]
    fn outcomes_rules_and_results_are_compared() {
        let denied = json!({"error": {"code": -32030, "message": "denied", "data": {"rules": ["sum-limit"]}}});
        let allowed = json!({"result": {"content": [{"type": "text", "text": "The sum is 3."}]}});
        let deny = case("name: d\nexpect: {outcome: deny, rule: sum-limit}\n");
        assert_eq!(check(&deny, &denied), Ok(()));
        assert!(check(&deny, &allowed).is_err());
        let other_rule = case("name: d\nexpect: {outcome: deny, rule: roles:no-grant}\n");
        assert!(
            check(&other_rule, &denied)
                .unwrap_err()
                .contains("sum-limit")
        );
        let allow = case(
            "name: a\nexpect: {outcome: allow, result: {contains: sum, regex: 'is \\d\\.$', pointer: /content/0/type, equals: text}}\n",
        );
        assert_eq!(check(&allow, &allowed), Ok(()));
        assert!(check(&allow, &denied).is_err());
        let wrong = case("name: a\nexpect: {outcome: allow, result: {contains: product}}\n");
        assert!(check(&wrong, &allowed).is_err());
        // Another error is neither an allow nor a policy denial.
        let failed = json!({"error": {"code": -32602, "message": "unknown tool: x"}});
        assert!(check(&deny, &failed).is_err());
        assert!(check(&allow, &failed).is_err());
        assert_eq!(got(&failed), "error: unknown tool: x");
        // A hold is its own outcome, with the rule that held it.
        let held = json!({"error": {"code": -32033, "message": "approval required", "data": {"rules": ["approval:demo:always"]}}});
        let hold =
            case("name: h\nexpect: {outcome: approval_required, rule: approval:demo:always}\n");
        assert_eq!(check(&hold, &held), Ok(()));
        assert!(check(&deny, &held).is_err());
        assert!(check(&hold, &denied).is_err());
        assert!(check(&hold, &allowed).is_err());
    }

    #[test]
    fn lists_are_checked_for_what_they_show_and_hide() {
        let list = json!({"result": {"tools": [{"name": "demo__echo"}]}});
        let ok = case(
            "name: l\nmethod: tools/list\nexpect: {outcome: allow, shows: [demo__echo], hides: [demo__payload]}\n",
        );
        assert_eq!(check(&ok, &list), Ok(()));
        let hidden = case("name: l\nexpect: {outcome: allow, hides: [demo__echo]}\n");
        assert!(check(&hidden, &list).is_err());
        let shown = case("name: l\nexpect: {outcome: allow, shows: [demo__payload]}\n");
        assert!(check(&shown, &list).is_err());
    }
}
