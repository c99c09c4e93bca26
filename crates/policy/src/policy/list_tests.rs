//! The list filter and the request built only as far as policies read it must answer exactly
//! as one fresh, complete evaluation per entry does.

use serde_json::json;

use super::tests::{ctx, policy, scopes};
use super::*;
use crate::request::{Hints, Kind};

const SERVERS: &str = "  servers:
    crm:
      trusted: true
      label: confidential
      tools:
        refund: {label: restricted}
        export: {label: restricted}
    time: {label: public}
";

/// Rules of every kind the index and the list filter tell apart: per tool, per server, per
/// principal, on the name, on the label and hints, on the context, needing the arguments.
const RULES: &str = r#"
permit (principal, action, resource in Server::"time");
permit (principal is User, action, resource in Server::"crm") when { principal.groups.contains("staff") };
permit (principal == Agent::"bot", action == Action::"call", resource in Server::"crm") when { resource.read_only };
permit (principal, action, resource == Tool::"crm/refund") when { context.arguments.amount < 500 };
permit (principal == Agent::"helper", action, resource);
forbid (principal, action, resource) when { resource.label == "restricted" && context.hour == 15 };
forbid (principal is User, action, resource) when { resource.label == "restricted" && !(principal in Group::"finance") };
forbid (principal, action in [Action::"call", Action::"get"], resource) when { resource.name like "*_admin" };
forbid (principal, action, resource == Tool::"crm/wipe");
forbid (principal, action, resource) when { resource has destructive && resource.destructive && principal.roles.contains("readonly") };
forbid (principal, action == Action::"get", resource) when { resource.label == "public" && context.weekday == 7 };
forbid (principal, action, resource is Resource) when { resource.uri like "secret:*" };
"#;

const ROLES: &str = "  roles:
    everything:
      tools: ['*']
      prompts: ['*']
      resources: ['*']
      agents: ['*']
      users: ['*']
    readonly:
      tools: ['crm/*']
      agents: [bot]
";

fn targets() -> Vec<Target<'static>> {
    let mut all = Vec::new();
    let tools = [
        "lookup",
        "refund",
        "export",
        "wipe",
        "user_admin",
        "delete",
        "list",
        "now",
    ];
    for server in ["crm", "time", "unknown"] {
        for name in tools {
            for (read_only, destructive) in [(None, None), (Some(true), None), (None, Some(false))]
            {
                all.push(Target {
                    server,
                    kind: Kind::Tool,
                    name,
                    hints: Hints {
                        read_only,
                        destructive,
                    },
                });
            }
        }
        for (kind, name) in [
            (Kind::Prompt, "greet"),
            (Kind::Prompt, "x_admin"),
            (Kind::Resource, "secret:key"),
            (Kind::Resource, "file:a"),
        ] {
            all.push(Target {
                server,
                kind,
                name,
                hints: Hints::default(),
            });
        }
    }
    all
}

/// The same policy, told to build every attribute and context entry.
fn reading_everything(text: &str) -> Policy {
    let mut p = policy(text, &[("rules.cedar", RULES)]).expect("policy");
    if let Some(cedar) = &mut p.cedar {
        cedar.read_everything();
    }
    p
}

#[test]
fn a_list_filter_shows_exactly_what_visible_shows_for_each_entry() {
    let text = format!("{SERVERS}{ROLES}");
    let p = policy(&text, &[("rules.cedar", RULES)]).expect("policy");
    let full = reading_everything(&text);
    let all = scopes(&["crm:read", "crm:write", "time:read", "time:write"]);
    let staff = scopes(&["staff"]);
    let finance = scopes(&["staff", "finance"]);
    let callers = [
        (Some("helper"), None, &all, &[][..]),
        (Some("bot"), None, &all, &[][..]),
        (Some("helper"), Some("alice"), &all, &staff[..]),
        (Some("bot"), Some("carol"), &all, &finance[..]),
        (
            Some("bot"),
            Some("dave"),
            &scopes(&["crm:read"]),
            &staff[..],
        ),
    ];
    let targets = targets();
    let (mut shown, mut hidden) = (0, 0);
    // 08:00 on a Saturday, 15:00 (restricted tools are forbidden), a Sunday (public prompts are).
    for now_unix in [1_796_200_000, 1_796_200_000 + 3_600 * 7, 1_796_546_400] {
        let ctx = Context {
            now_unix,
            ..ctx(None)
        };
        for (agent, user, scopes, groups) in &callers {
            let caller = Caller {
                agent: *agent,
                user: *user,
                scopes,
                groups,
            };
            let filter = p.list_filter(&caller, &ctx);
            for t in &targets {
                let want = full.visible(&caller, t, &ctx);
                assert_eq!(filter.visible(t), want, "{caller:?} {t:?} at {now_unix}");
                assert_eq!(p.visible(&caller, t, &ctx), want, "{caller:?} {t:?}");
                if want { shown += 1 } else { hidden += 1 }
            }
        }
    }
    // Both answers occur often enough for the comparison to mean something.
    assert!(
        shown > 100 && hidden > 100,
        "{shown} shown, {hidden} hidden"
    );
}

#[test]
fn decisions_do_not_depend_on_what_no_policy_reads() {
    let text = format!("{SERVERS}{ROLES}");
    let p = policy(&text, &[("rules.cedar", RULES)]).expect("policy");
    let full = reading_everything(&text);
    let all = scopes(&["crm:read", "crm:write", "time:read", "time:write"]);
    let staff = scopes(&["staff"]);
    let args = [
        json!({"amount": 100}),
        json!({"amount": 900}),
        json!({"amount": "x"}),
    ];
    let (mut allowed, mut refused) = (0, 0);
    for user in [None, Some("alice")] {
        let caller = Caller {
            agent: Some("helper"),
            user,
            scopes: &all,
            groups: &staff,
        };
        for t in &targets() {
            for a in &args {
                let (action, ctx) = (Action::use_of(t.kind), ctx(Some(a)));
                let d = p.decide(&caller, action, t, &ctx);
                let mut want = full.decide(&caller, action, t, &ctx);
                let mut got = d.clone();
                want.rules.sort();
                got.rules.sort();
                assert_eq!(got, want, "{caller:?} {t:?} {a}");
                if d.blocks() {
                    refused += 1
                } else {
                    allowed += 1
                }
            }
        }
    }
    assert!(
        allowed > 20 && refused > 20,
        "{allowed} allowed, {refused} refused"
    );
}

#[test]
fn a_list_filter_in_dry_run_or_without_cedar_shows_what_visible_shows() {
    let all = scopes(&["crm:write", "time:read"]);
    let caller = Caller {
        agent: Some("a"),
        user: None,
        scopes: &all,
        groups: &[],
    };
    let forbid_all = [("f.cedar", "forbid (principal, action, resource);")];
    for (text, cedar) in [
        ("  dry_run: true\n  servers: {}\n", &forbid_all[..]),
        ("  servers:\n    crm: {dry_run: true}\n", &forbid_all[..]),
        ("  servers: {}\n", &[][..]),
    ] {
        let p = policy(text, cedar).expect("policy");
        let filter = p.list_filter(&caller, &ctx(None));
        for t in targets() {
            let want = p.visible(&caller, &t, &ctx(None));
            assert_eq!(filter.visible(&t), want, "{text} {t:?}");
        }
        assert!(filter.visible(&super::tests::tool("crm", "x")), "{text}");
    }
}
