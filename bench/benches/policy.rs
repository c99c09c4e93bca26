//! Authorization decisions (`moat_policy::Policy`): one `tools/call` decided with 1,000 Cedar
//! policies and 10,000 tools in the policy (and, to show the cost does not grow with the tools,
//! with 10), for a realistically scoped policy set and for the worst case where every policy
//! applies; and the filtering of a 1,000-tool list.

// Benchmarks are tests: fixed inputs that cannot fail; a panic is the right report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use moat_config::Config;
use moat_policy::{Action, Caller, CedarSource, Context, Hints, Kind, Policy, Target};
use serde_json::json;

const SERVERS: usize = 10;

/// A config of ten servers with `tools` tools in all, each with its own scope, and 50 roles.
fn config(tools: usize) -> Config {
    let mut y = String::from("scopes:\n");
    for s in 0..SERVERS {
        writeln!(
            y,
            "  s{s}:read: {{description: r}}\n  s{s}:write: {{description: w}}"
        )
        .unwrap();
    }
    y.push_str("upstreams:\n");
    for s in 0..SERVERS {
        writeln!(
            y,
            "  s{s}:\n    http: {{url: 'http://127.0.0.1:{}/mcp'}}",
            9000 + s
        )
        .unwrap();
    }
    y.push_str("policy:\n  cedar: [rules.cedar]\n  servers:\n");
    for s in 0..SERVERS {
        writeln!(y, "    s{s}:\n      trusted: true\n      tools:").unwrap();
        for t in 0..tools / SERVERS {
            writeln!(y, "        t{t}: {{scopes: [s{s}:write]}}").unwrap();
        }
    }
    y.push_str("  roles:\n");
    for r in 0..50 {
        writeln!(
            y,
            "    r{r}:\n      tools: [s{}/t{}*, s{}/*]\n      agents: [agent-{r}]\n      users: ['*']",
            r % SERVERS,
            r,
            (r + 1) % SERVERS
        )
        .unwrap();
    }
    Config::from_yaml(&y, "bench.yaml").unwrap()
}

/// 1,000 policies shaped like a real set: most are scoped to one tool, one agent or one
/// server (Cedar's own scope), a few apply to every request.
fn scoped_rules() -> String {
    let mut c = String::new();
    for i in 0..1_000 {
        let (s, t) = (i % SERVERS, i / SERVERS);
        match i {
            0..450 => writeln!(c, "forbid (principal, action == Action::\"call\", resource == Tool::\"s{s}/t{t}\") when {{ context.arguments has amount && context.arguments.amount > {i} }};"),
            450..900 => writeln!(c, "permit (principal == Agent::\"agent-{}\", action, resource in Server::\"s{s}\");", i - 450),
            900..990 => writeln!(c, "forbid (principal is User, action, resource in Server::\"s{s}\") when {{ resource.label == \"restricted\" && !principal.groups.contains(\"g{i}\") }};"),
            999 => writeln!(c, "permit (principal is User, action, resource) when {{ principal.groups.contains(\"staff\") }};"),
            _ => writeln!(c, "forbid (principal, action, resource) when {{ context.hour == {} && resource.label == \"restricted\" }};", i % 24),
        }
        .unwrap();
    }
    c
}

/// The worst case: 1,000 policies whose scope matches every request, so all are evaluated.
fn global_rules() -> String {
    let mut c = String::from("permit (principal, action, resource);\n");
    for i in 1..1_000 {
        writeln!(c, "forbid (principal, action, resource) when {{ resource.label == \"restricted\" && principal.groups.contains(\"g{i}\") }};").unwrap();
    }
    c
}

fn policy(tools: usize, rules: String) -> Policy {
    let cfg = config(tools).policy.unwrap();
    let sources = [CedarSource {
        name: "rules.cedar".into(),
        text: rules,
    }];
    Policy::compile(&cfg, &sources).unwrap()
}

fn decisions(c: &mut Criterion) {
    let scopes = vec!["s1:write".to_owned(), "s1:read".to_owned()];
    let groups = vec!["staff".to_owned()];
    let caller = Caller {
        agent: Some("agent-1"),
        user: Some("alice"),
        scopes: &scopes,
        groups: &groups,
    };
    let args = json!({"amount": 5, "note": "refund for order 1234"});
    let ctx = Context {
        arguments: Some(&args),
        now_unix: 1_796_200_000,
        source: Some("10.1.2.3".parse().unwrap()),
        session: Some("0123456789abcdef"),
    };
    let target = Target {
        server: "s1",
        kind: Kind::Tool,
        name: "t17",
        hints: Hints::default(),
    };
    for (tools, rules, shape) in [
        (10, scoped_rules(), "scoped"),
        (10_000, scoped_rules(), "scoped"),
        (10_000, global_rules(), "all applying"),
    ] {
        let p = policy(tools, rules);
        let d = p.decide(&caller, Action::Call, &target, &ctx);
        assert!(!d.blocks(), "{d:?}");
        let name = format!("decide tools/call: 1,000 Cedar policies ({shape}), {tools} tools");
        c.bench_function(&name, |b| {
            b.iter(|| black_box(p.decide(black_box(&caller), Action::Call, &target, &ctx)))
        });
    }
    let p = policy(10_000, scoped_rules());
    let list: Vec<String> = (0..1_000).map(|t| format!("t{t}")).collect();
    let list_ctx = Context {
        arguments: None,
        ..ctx
    };
    let shown = list
        .iter()
        .filter(|name| p.visible(&caller, &Target { name, ..target }, &list_ctx))
        .count();
    assert!(shown > 0 && shown < list.len(), "{shown}");
    // What `tools/list` does: one filter for the list.
    c.bench_function(
        "filter a 1,000-tool list: 1,000 Cedar policies (scoped)",
        |b| {
            b.iter(|| {
                let filter = p.list_filter(&caller, &list_ctx);
                let n = list
                    .iter()
                    .filter(|name| filter.visible(&Target { name, ..target }))
                    .count();
                assert_eq!(n, shown);
                n
            })
        },
    );
    c.bench_function(
        "filter a 1,000-tool list one visible() at a time: 1,000 Cedar policies (scoped)",
        |b| {
            b.iter(|| {
                list.iter()
                    .filter(|name| p.visible(&caller, &Target { name, ..target }, &list_ctx))
                    .count()
            })
        },
    );
}

criterion_group!(benches, decisions);
criterion_main!(benches);
