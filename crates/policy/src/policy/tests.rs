use moat_config::Config;
use serde_json::json;

use super::*;
use crate::request::{Hints, Kind};

/// A policy from the `policy:` part of a config with servers `crm` and `time`.
pub(crate) fn policy(yaml: &str, cedar: &[(&str, &str)]) -> Result<Policy, PolicyError> {
    let text = format!(
        "scopes:\n  crm:read: {{description: r}}\n  crm:write: {{description: w}}\n  crm:refund: {{description: f}}\n  time:read: {{description: t}}\n  time:write: {{description: t}}\nupstreams:\n  crm:\n    http: {{url: 'http://127.0.0.1:1/mcp'}}\n  time:\n    http: {{url: 'http://127.0.0.1:2/mcp'}}\npolicy:\n{yaml}"
    );
    let config = Config::from_yaml(&text, "test.yaml").expect("config");
    let sources: Vec<CedarSource> = cedar
        .iter()
        .map(|(name, text)| CedarSource {
            name: (*name).into(),
            text: (*text).into(),
        })
        .collect();
    let mut cfg = config.policy.expect("policy");
    cfg.cedar_files = sources.iter().map(|s| s.name.clone()).collect();
    Policy::compile(&cfg, &sources)
}

pub(crate) fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

pub(crate) fn tool<'a>(server: &'a str, name: &'a str) -> Target<'a> {
    Target {
        server,
        kind: Kind::Tool,
        name,
        hints: Hints::default(),
    }
}

pub(crate) fn ctx(arguments: Option<&serde_json::Value>) -> Context<'_> {
    Context {
        arguments,
        now_unix: 1_796_200_000,
        source: Some("127.0.0.1".parse().expect("ip")),
        session: None,
    }
}

fn agent<'a>(id: &'a str, scopes: &'a [String]) -> Caller<'a> {
    Caller {
        agent: Some(id),
        user: None,
        scopes,
        groups: &[],
    }
}

#[test]
fn scopes_default_to_read_for_trusted_read_only_tools_and_write_otherwise() {
    let p = policy("  servers:\n    crm: {trusted: true}\n", &[]).expect("policy");
    let read = scopes(&["crm:read"]);
    let mut lookup = tool("crm", "lookup");
    lookup.hints.read_only = Some(true);
    let d = p.decide(&agent("a", &read), Action::Call, &lookup, &ctx(None));
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    assert_eq!(d.rules, vec!["scopes:crm:read"]);

    let d = p.decide(
        &agent("a", &read),
        Action::Call,
        &tool("crm", "delete"),
        &ctx(None),
    );
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(d.missing_scopes, vec!["crm:write"]);
    assert_eq!(d.rules, vec!["scopes:crm:write"]);
    assert!(d.reason.contains("crm:write"), "{}", d.reason);

    // An untrusted server's readOnlyHint is not believed.
    let mut time_tool = tool("time", "now");
    time_tool.hints.read_only = Some(true);
    let time_read = scopes(&["time:read"]);
    let d = p.decide(
        &agent("a", &time_read),
        Action::Call,
        &time_tool,
        &ctx(None),
    );
    assert_eq!(d.missing_scopes, vec!["time:write"]);
}

#[test]
fn a_tool_can_name_its_own_scopes() {
    let p = policy(
        "  servers:\n    crm:\n      tools:\n        refund: {scopes: [crm:refund]}\n",
        &[],
    )
    .expect("policy");
    let write = scopes(&["crm:write"]);
    let d = p.decide(
        &agent("a", &write),
        Action::Call,
        &tool("crm", "refund"),
        &ctx(None),
    );
    assert_eq!(d.missing_scopes, vec!["crm:refund"]);
    assert_eq!(d.rules, vec!["scopes:crm/refund"]);
    let refund = scopes(&["crm:refund"]);
    let d = p.decide(
        &agent("a", &refund),
        Action::Call,
        &tool("crm", "refund"),
        &ctx(None),
    );
    assert!(!d.blocks());
}

#[test]
fn no_token_scopes_means_nothing_is_allowed_or_shown() {
    let p = policy("  servers: {}\n", &[]).expect("policy");
    let none = Caller::default();
    let d = p.decide(&none, Action::Call, &tool("crm", "x"), &ctx(None));
    assert!(d.blocks());
    assert!(!p.visible(&none, &tool("crm", "x"), &ctx(None)));
    let unknown = p.decide(&none, Action::Call, &tool("nope", "x"), &ctx(None));
    assert_eq!(unknown.rules, vec!["policy:unknown-server"]);
}

const ROLES: &str = "  roles:
    support:
      tools: [crm/lookup_*, time/*]
      agents: [helpdesk]
      users: [alice]
    finance:
      tools: [crm/refund]
      agents: [helpdesk]
      groups: [finance]
";

#[test]
fn roles_must_grant_to_the_agent_and_to_the_user_it_acts_for() {
    let p = policy(ROLES, &[]).expect("policy");
    let all = scopes(&["crm:read", "crm:write", "time:write"]);
    let helpdesk = agent("helpdesk", &all);
    let d = p.decide(
        &helpdesk,
        Action::Call,
        &tool("crm", "lookup_order"),
        &ctx(None),
    );
    assert_eq!(d.rules, vec!["scopes:crm:write", "role:support"]);
    let d = p.decide(
        &agent("other", &all),
        Action::Call,
        &tool("crm", "lookup_order"),
        &ctx(None),
    );
    assert_eq!(d.rules, vec!["roles:no-grant"]);
    assert!(d.reason.contains("agent \"other\""), "{}", d.reason);

    // The agent may refund; alice may not, so the agent may not refund for her.
    let for_alice = Caller {
        user: Some("alice"),
        ..helpdesk
    };
    assert!(
        !p.decide(&helpdesk, Action::Call, &tool("crm", "refund"), &ctx(None))
            .blocks()
    );
    let d = p.decide(&for_alice, Action::Call, &tool("crm", "refund"), &ctx(None));
    assert!(d.blocks());
    assert!(d.reason.contains("user \"alice\""), "{}", d.reason);
    assert!(!p.visible(&for_alice, &tool("crm", "refund"), &ctx(None)));
    assert!(p.visible(&for_alice, &tool("crm", "lookup_x"), &ctx(None)));

    // Bob is in finance: a group binds him.
    let groups = scopes(&["finance"]);
    let for_bob = Caller {
        user: Some("bob"),
        groups: &groups,
        ..helpdesk
    };
    assert!(
        !p.decide(&for_bob, Action::Call, &tool("crm", "refund"), &ctx(None))
            .blocks()
    );
    assert!(
        p.decide(&for_bob, Action::Call, &tool("crm", "lookup_x"), &ctx(None))
            .blocks()
    );
}

const REFUND_LIMIT: &str = r#"
@id("refund-under-500")
@owner("payments")
@review_by("2020-01-01")
permit (principal, action == Action::"call", resource == Tool::"crm/refund")
when { context.arguments has amount && context.arguments.amount < 500 };

permit (principal, action == Action::"call", resource in Server::"time");

@id("no-refunds-for-mallory")
forbid (principal == Agent::"mallory", action, resource);
"#;

#[test]
fn cedar_rules_see_the_arguments() {
    let p = policy("  servers: {}\n", &[("limits.cedar", REFUND_LIMIT)]).expect("policy");
    let all = scopes(&["crm:write", "time:write"]);
    let a = agent("helpdesk", &all);
    let small = json!({"amount": 100});
    let d = p.decide(&a, Action::Call, &tool("crm", "refund"), &ctx(Some(&small)));
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    assert_eq!(d.rules, vec!["scopes:crm:write", "refund-under-500"]);
    for big in [
        json!({"amount": 1000}),
        json!({"amount": 1000.0}),
        json!({}),
        json!({"amount": "1"}),
    ] {
        let d = p.decide(&a, Action::Call, &tool("crm", "refund"), &ctx(Some(&big)));
        assert_eq!(d.verdict, Verdict::Deny, "{big}: {d:?}");
        assert_eq!(d.rules, vec!["cedar:no-permit"], "{big}");
    }
    // Listed, since some arguments are permitted.
    assert!(p.visible(&a, &tool("crm", "refund"), &ctx(None)));
    assert!(!p.visible(&a, &tool("crm", "other"), &ctx(None)));
    // A policy without an @id gets one from its file and position.
    let d = p.decide(
        &a,
        Action::Call,
        &tool("time", "now"),
        &ctx(Some(&json!({}))),
    );
    assert_eq!(d.rules, vec!["scopes:time:write", "limits.cedar#1"]);
    // forbid wins over permit.
    let m = agent("mallory", &all);
    let d = p.decide(
        &m,
        Action::Call,
        &tool("time", "now"),
        &ctx(Some(&json!({}))),
    );
    assert_eq!(d.rules, vec!["no-refunds-for-mallory"]);
    assert!(!p.visible(&m, &tool("time", "now"), &ctx(None)));
    // Review dates are kept.
    let overdue: Vec<&str> = p
        .overdue(Date::parse("2026-12-02").expect("date"))
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(overdue, vec!["refund-under-500"]);
}

#[test]
fn a_forbid_that_cannot_be_evaluated_refuses() {
    let rules = r#"
permit (principal, action, resource);
@id("cap")
forbid (principal, action == Action::"call", resource) when { context.arguments.amount > 500 };
"#;
    let p = policy("  servers: {}\n", &[("cap.cedar", rules)]).expect("policy");
    let all = scopes(&["crm:write"]);
    let a = agent("a", &all);
    let ok = json!({"amount": 5});
    assert!(
        !p.decide(&a, Action::Call, &tool("crm", "x"), &ctx(Some(&ok)))
            .blocks()
    );
    for evasive in [
        json!({}),
        json!({"amount": "9999"}),
        json!({"amount": 1.5e300}),
    ] {
        let d = p.decide(&a, Action::Call, &tool("crm", "x"), &ctx(Some(&evasive)));
        assert_eq!(d.verdict, Verdict::Deny, "{evasive}");
        assert_eq!(d.rules, vec!["cap"]);
    }
    // A list still shows the tool: with the right arguments it can be called.
    assert!(p.visible(&a, &tool("crm", "x"), &ctx(None)));
}

#[test]
fn the_user_is_asked_too_in_cedar() {
    let rules = r#"
permit (principal is Agent, action, resource);
permit (principal in Group::"staff", action, resource);
"#;
    let p = policy("  servers: {}\n", &[("p.cedar", rules)]).expect("policy");
    let all = scopes(&["crm:write"]);
    let staff = scopes(&["staff"]);
    let alone = agent("a", &all);
    let for_eve = Caller {
        user: Some("eve"),
        ..alone
    };
    let for_sam = Caller {
        user: Some("sam"),
        groups: &staff,
        ..alone
    };
    let args = json!({});
    assert!(
        !p.decide(&alone, Action::Call, &tool("crm", "x"), &ctx(Some(&args)))
            .blocks()
    );
    let d = p.decide(&for_eve, Action::Call, &tool("crm", "x"), &ctx(Some(&args)));
    assert!(d.blocks());
    assert!(d.reason.contains("User \"eve\""), "{}", d.reason);
    assert!(
        !p.decide(&for_sam, Action::Call, &tool("crm", "x"), &ctx(Some(&args)))
            .blocks()
    );
}

#[test]
fn dry_run_lets_through_what_it_would_refuse() {
    let p = policy("  servers:\n    crm: {dry_run: true}\n", &[]).expect("policy");
    let none = scopes(&[]);
    let d = p.decide(
        &agent("a", &none),
        Action::Call,
        &tool("crm", "x"),
        &ctx(None),
    );
    assert_eq!(d.verdict, Verdict::WouldDeny);
    assert!(!d.blocks());
    assert_eq!(d.rules, vec!["scopes:crm:write"]);
    assert!(
        p.decide(
            &agent("a", &none),
            Action::Call,
            &tool("time", "x"),
            &ctx(None)
        )
        .blocks()
    );

    let rules = r#"
permit (principal, action, resource);
@id("maybe-too-strict") @dry_run
forbid (principal, action, resource is Tool) when { resource.name == "x" };
"#;
    let p = policy("  servers: {}\n", &[("d.cedar", rules)]).expect("policy");
    let all = scopes(&["crm:write"]);
    let d = p.decide(
        &agent("a", &all),
        Action::Call,
        &tool("crm", "x"),
        &ctx(Some(&json!({}))),
    );
    assert_eq!(d.verdict, Verdict::WouldDeny);
    assert_eq!(d.rules, vec!["maybe-too-strict"]);
    let d = p.decide(
        &agent("a", &all),
        Action::Call,
        &tool("crm", "y"),
        &ctx(Some(&json!({}))),
    );
    assert_eq!(d.verdict, Verdict::Allow);
}

#[test]
fn broken_policies_are_refused_with_their_line() {
    let bad_syntax =
        "permit (principal, action, resource);\n\nforbid (principal action, resource);\n";
    let e = policy("  servers: {}\n", &[("a.cedar", bad_syntax)]).expect_err("syntax");
    let PolicyError::Cedar(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!((e.file.as_str(), e.line), ("a.cedar", Some(3)), "{e}");

    let unknown_attr = "permit (principal, action, resource);\npermit (principal, action == Action::\"call\", resource)\n  when { resource.colour == \"red\" };\n";
    let e = policy("  servers: {}\n", &[("b.cedar", unknown_attr)]).expect_err("invalid");
    let PolicyError::Cedar(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!((e.file.as_str(), e.line), ("b.cedar", Some(3)), "{e}");
    assert!(e.message.contains("colour"), "{e}");

    let unknown_action = "permit (principal, action == Action::\"delete\", resource);\n";
    let e = policy("  servers: {}\n", &[("c.cedar", unknown_action)]).expect_err("action");
    assert!(e.to_string().starts_with("c.cedar:1:"), "{e}");

    let twice = "@id(\"x\") permit (principal, action, resource);\n@id(\"x\") forbid (principal, action, resource);\n";
    let e = policy("  servers: {}\n", &[("d.cedar", twice)]).expect_err("duplicate id");
    assert!(
        e.to_string().contains("two policies have the id \"x\""),
        "{e}"
    );
}

#[test]
fn destructive_calls_of_a_trusted_server_are_held_after_every_layer_allows() {
    let p = policy("  servers:\n    crm: {trusted: true}\n", &[]).expect("policy");
    let write = scopes(&["crm:write"]);
    let mut delete = tool("crm", "delete");
    delete.hints.destructive = Some(true);
    let d = p.decide(&agent("a", &write), Action::Call, &delete, &ctx(None));
    assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
    assert!(d.holds() && !d.blocks());
    assert_eq!(
        d.rules,
        vec!["scopes:crm:write", "approval:crm:destructive"]
    );
    assert!(d.reason.contains("approval"), "{}", d.reason);
    // A refusal by an earlier layer is a refusal, not a hold.
    let d = p.decide(&agent("a", &[]), Action::Call, &delete, &ctx(None));
    assert_eq!(d.verdict, Verdict::Deny);
    // Reading is never held.
    let d = p.decide(&agent("a", &write), Action::Read, &delete, &ctx(None));
    assert_eq!(d.verdict, Verdict::Allow);
}

#[test]
fn a_cedar_require_approval_forbid_holds_what_it_matches() {
    let rules = r#"
@id("all") permit (principal, action, resource);
@id("big-refunds") @require_approval
forbid (principal, action == Action::"call", resource == Tool::"crm/refund")
when { context.arguments.amount >= 100 };
"#;
    let yaml = "  servers:\n    crm: {require_approval: never}\n";
    let p = policy(yaml, &[("r.cedar", rules)]).expect("policy");
    let write = scopes(&["crm:write"]);
    let small = json!({"amount": 5});
    let big = json!({"amount": 500});
    let refund = tool("crm", "refund");
    let d = p.decide(
        &agent("a", &write),
        Action::Call,
        &refund,
        &ctx(Some(&small)),
    );
    assert_eq!(d.verdict, Verdict::Allow, "{d:?}");
    let d = p.decide(&agent("a", &write), Action::Call, &refund, &ctx(Some(&big)));
    assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
    assert_eq!(d.rules.last().map(String::as_str), Some("big-refunds"));
    // An argument it cannot read holds too (fail closed).
    let odd = json!({"amount": "lots"});
    let d = p.decide(&agent("a", &write), Action::Call, &refund, &ctx(Some(&odd)));
    assert_eq!(d.verdict, Verdict::Hold, "{d:?}");
    assert!(p.cedar_policies().iter().any(|i| i.require_approval));
}

#[test]
fn require_approval_goes_only_on_an_enforced_forbid() {
    for bad in [
        "@require_approval permit (principal, action, resource);",
        "@require_approval @dry_run forbid (principal, action, resource);",
    ] {
        let err = policy("  servers: {}\n", &[("r.cedar", bad)]).expect_err(bad);
        assert!(err.to_string().contains("@require_approval"), "{err}");
    }
}

#[test]
fn dry_run_lets_a_held_call_through_and_says_so() {
    let yaml = "  dry_run: true\n  servers:\n    crm: {require_approval: always}\n";
    let p = policy(yaml, &[]).expect("policy");
    let write = scopes(&["crm:write"]);
    let d = p.decide(
        &agent("a", &write),
        Action::Call,
        &tool("crm", "x"),
        &ctx(None),
    );
    assert_eq!(d.verdict, Verdict::WouldDeny, "{d:?}");
    assert!(d.reason.contains("would be held"), "{}", d.reason);
}
