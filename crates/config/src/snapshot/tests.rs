use super::*;
use crate::{Transport, Value};

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(text, "moat.yaml")
}

#[test]
fn bundled_default_is_valid() {
    let c = Config::from_yaml(crate::BUNDLED_DEFAULT, crate::BUNDLED_NAME).unwrap();
    assert!(c.listen.ip().is_loopback());
    assert!(!c.upstreams.is_empty());
}

#[test]
fn empty_file_gives_defaults() {
    let c = load("").unwrap();
    assert_eq!(c.listen, DEFAULT_LISTEN.parse().unwrap());
    assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY);
    assert_eq!(c.session_idle_timeout, DEFAULT_SESSION_IDLE);
    assert_eq!(
        load("session_idle_timeout: 90s\n")
            .unwrap()
            .session_idle_timeout
            .as_secs(),
        90
    );
    assert_eq!(
        load("session_idle_timeout: 0s\n").unwrap_err().field,
        "session_idle_timeout"
    );
    assert_eq!(c.prefix, PrefixMode::Always);
    assert!(c.hosts.hosts.contains(&"localhost".to_owned()));
    assert!(
        c.hosts
            .origins
            .contains(&"http://localhost:8940".to_owned())
    );
}

#[test]
fn full_upstream_forms_parse() {
    let c = load(
        "federation: {prefix: conditional}\nupstreams:\n  fs:\n    stdio:\n      command: npx\n      args: [-y, pkg@1.2.3]\n      env: {TOKEN: env:GH, LEVEL: debug}\n    timeout: 5s\n  web:\n    http:\n      url: http://127.0.0.1:1/mcp\n      headers: {Authorization: file:/run/tok}\n",
    )
    .unwrap();
    assert_eq!(c.upstreams.len(), 2);
    assert_eq!(c.upstreams[0].name.as_str(), "fs");
    assert_eq!(c.upstreams[0].timeout, std::time::Duration::from_secs(5));
    let Transport::Stdio {
        env, inherit_env, ..
    } = &c.upstreams[0].transport
    else {
        panic!()
    };
    assert_eq!(env[0], ("TOKEN".into(), Value::parse("env:GH")));
    assert_eq!(env[1], ("LEVEL".into(), Value::Literal("debug".into())));
    assert!(inherit_env.contains(&"PATH".to_owned()));
    assert!(matches!(c.upstreams[1].transport, Transport::Http { .. }));
}

#[test]
fn errors_name_file_line_and_field() {
    let e = load(
        "listen: 127.0.0.1:1\nupstreams:\n  a:\n    http: {url: https://x}\n  b:\n    timeout: 3s\n",
    )
    .unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.line, e.field.as_str()),
        ("moat.yaml", Some(5), "upstreams.b")
    );
    assert!(e.message.contains("exactly one transport"), "{e}");
    assert_eq!(
        e.to_string(),
        format!("moat.yaml:5: upstreams.b: {}", e.message)
    );

    let e = load("upstreams:\n  a:\n    http: {url: http://x}\n    timeout: soon\n").unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (Some(4), "upstreams.a.timeout"));
}

#[test]
fn unknown_fields_and_bad_types_are_refused_with_their_line() {
    let e = load("listen: 127.0.0.1:1\nupstrems: {}\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("unknown field `upstrems`"), "{e}");
    let e = load("upstreams:\n  a:\n    stdio:\n      command: x\n      args: 3\n").unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");
}

#[test]
fn inline_credentials_are_refused() {
    let e = load("upstreams:\n  a:\n    http:\n      url: https://x\n      headers: {Authorization: Bearer abc}\n")
        .unwrap_err();
    assert_eq!(e.field, "upstreams.a.http.headers.Authorization");
    assert!(e.message.contains("env:NAME"));
    let e = load(
        "upstreams:\n  a:\n    http:\n      url: https://x\n      headers: {X-Api-Key: abc}\n",
    );
    assert!(e.is_err());
    assert!(
        load("upstreams:\n  a:\n    http:\n      url: https://x\n      headers: {X-Team: blue}\n")
            .is_ok()
    );
}

#[test]
fn names_and_values_are_checked() {
    assert!(load("upstreams:\n  Bad Name:\n    builtin: fixture\n").is_err());
    assert!(
        load("upstreams:\n  a__b:\n    builtin: fixture\n")
            .unwrap_err()
            .message
            .contains("separator")
    );
    assert!(
        load("upstreams:\n  a:\n    builtin: nope\n")
            .unwrap_err()
            .message
            .contains("unknown builtin")
    );
    assert!(load("upstreams:\n  a:\n    http: {url: ftp://x}\n").is_err());
    assert!(load("listen: nowhere\n").unwrap_err().field == "listen");
    assert!(load("max_body_bytes: 0\n").is_err());
    assert!(load("federation: {prefix: sometimes}\n").is_err());
}

#[test]
fn auth_is_validated_and_required_beyond_loopback() {
    let e = load("listen: 0.0.0.0:9000\n").unwrap_err();
    assert_eq!(e.field, "auth");
    let base = "auth:\n  issuer: https://idp.example\n  resource: https://moat.example/mcp\n";
    let c = load(&format!("{base}  jwks: https://idp.example/jwks.json\n")).unwrap();
    let auth = c.auth.unwrap();
    assert_eq!(auth.algorithms.len(), 3);
    assert_eq!(auth.max_token_lifetime.as_secs(), 3600);
    assert_eq!(
        auth.jwks,
        Some(crate::JwksSource::Url(
            "https://idp.example/jwks.json".into()
        ))
    );
    let bad = |extra: &str| load(&format!("{base}{extra}")).unwrap_err();
    assert!(bad("").message.contains("needs jwks"));
    let intro = "  introspection:\n    url: https://idp.example/introspect\n    client_id: moat\n";
    let ok = load(&format!(
        "{base}{intro}    client_secret: env:MOAT_SECRET\n"
    ))
    .unwrap();
    assert!(ok.auth.unwrap().introspection.is_some());
    assert_eq!(
        bad(&format!("{intro}    client_secret: hunter2\n")).field,
        "auth.introspection.client_secret"
    );
    assert!(
        bad("  jwks: http://idp.example/jwks.json\n")
            .message
            .contains("https://")
    );
    assert!(load(&format!("{base}  jwks: http://127.0.0.1:9/jwks.json\n")).is_ok());
    let e = bad("  jwks: file:/k\n  algorithms: [HS256]\n");
    assert_eq!((e.field.as_str(), e.line), ("auth.algorithms", Some(5)));
    assert!(e.message.contains("symmetric"), "{e}");
    assert!(
        bad("  jwks: file:/k\n  algorithms: [none]\n")
            .message
            .contains("never")
    );
    assert!(
        bad("  jwks: file:/k\n  max_token_lifetime: 7d\n")
            .message
            .contains("24h")
    );
}

#[test]
fn non_loopback_listener_has_no_default_origins() {
    let c = load("listen: 0.0.0.0:9000\nallow_unauthenticated: behind an authenticating proxy\n")
        .unwrap();
    assert!(c.hosts.origins.is_empty());
    assert!(c.hosts.hosts.is_empty());
}

#[test]
fn cli_upstream_specs() {
    use crate::raw::RawUpstream;
    let s = RawUpstream::from_cli("stdio:npx -y 'a b' c")
        .unwrap()
        .stdio
        .unwrap();
    assert_eq!(
        (s.command.as_str(), s.args),
        ("npx", vec!["-y".to_owned(), "a b".into(), "c".into()])
    );
    assert!(
        RawUpstream::from_cli("http://127.0.0.1:1/mcp")
            .unwrap()
            .http
            .is_some()
    );
    assert!(
        RawUpstream::from_cli("sse:http://h/sse")
            .unwrap()
            .sse
            .is_some()
    );
    assert!(RawUpstream::from_cli("ftp://x").is_err());
    assert!(RawUpstream::from_cli("stdio:").is_err());
}

#[test]
fn scope_dictionary_refuses_unexplained_wildcards() {
    let c = load("scopes:\n  orders:read: {description: Read orders}\n  orders:*:\n    description: All of orders\n    broad_because: the ops console\n").unwrap();
    assert!(c.scopes.contains("orders:read"));
    assert_eq!(
        c.scopes.undeclared(["orders:read", "orders:write"]),
        vec!["orders:write"]
    );
    assert_eq!(c.scopes.warnings().len(), 1);
    assert!(c.scopes.warnings()[0].contains("orders:*"));
    for bad in [
        "scopes:\n  \"*\": {description: everything}\n",
        "scopes:\n  api:*: {description: all of api}\n",
    ] {
        let e = load(bad).unwrap_err();
        assert!(e.message.contains("wildcard"), "{e}");
        assert_eq!(e.line, Some(2), "{e}");
    }
    assert!(
        load("scopes:\n  a: {description: x, broad_because: y}\n")
            .unwrap_err()
            .message
            .contains("only for wildcard")
    );
    assert!(load("scopes:\n  'a b': {description: x}\n").is_err());
    let auth = "auth:\n  issuer: https://i\n  resource: https://r/mcp\n  jwks: file:/k\n  required_scopes: [mcp:use]\n";
    let e = load(&format!(
        "scopes:\n  orders:read: {{description: r}}\n{auth}"
    ))
    .unwrap_err();
    assert!(e.message.contains("\"mcp:use\" is not declared"), "{e}");
    assert!(
        load(&format!(
            "scopes:\n  mcp:use: {{description: use moat}}\n{auth}"
        ))
        .is_ok()
    );
}

#[test]
fn upstream_oauth_credentials_are_checked() {
    let ok = load(
        "upstreams:\n  crm:\n    http:\n      url: https://crm.example/mcp\n    oauth:\n      token_url: https://idp.example/token\n      client_id: moat\n      client_secret: env:CRM_SECRET\n",
    )
    .unwrap();
    let oauth = ok.upstreams[0].oauth.clone().unwrap();
    assert_eq!(
        oauth.resource, "https://crm.example/mcp",
        "defaults to the upstream URL"
    );
    let cases = [
        (
            "upstreams:\n  crm:\n    http:\n      url: https://crm.example/mcp\n    oauth:\n      token_url: https://idp.example/token\n      client_id: moat\n      client_secret: s3cret\n",
            "upstreams.crm.oauth.client_secret",
        ),
        (
            "upstreams:\n  crm:\n    http:\n      url: https://crm.example/mcp\n    oauth:\n      token_url: http://idp.example/token\n      client_id: moat\n      client_secret: env:X\n",
            "upstreams.crm.oauth.token_url",
        ),
        (
            "upstreams:\n  local:\n    builtin: fixture\n    oauth:\n      token_url: https://idp.example/token\n      client_id: moat\n      client_secret: env:X\n",
            "upstreams.local.oauth",
        ),
    ];
    for (yaml, field) in cases {
        assert_eq!(load(yaml).unwrap_err().field, field, "{yaml}");
    }
}

#[test]
fn approval_settings_are_checked_and_defaulted() {
    let base = "upstreams:\n  crm:\n    http: {url: 'http://127.0.0.1:1/mcp'}\npolicy:\n";
    let c = load(&format!("{base}  servers:\n    crm: {{trusted: true}}\n")).expect("valid");
    let p = c.policy.expect("policy");
    assert_eq!(p.approval.timeout, std::time::Duration::from_secs(300));
    assert_eq!(
        p.approval.remember_max,
        std::time::Duration::from_secs(8 * 3600)
    );
    assert_eq!(
        p.servers["crm"].require_approval,
        crate::ApprovalRule::Destructive
    );

    let c = load(&format!(
        "{base}  approval: {{timeout: 30s, remember_max: 0s, ask_client: false}}\n  servers:\n    crm:\n      require_approval: always\n      tools:\n        lookup: {{require_approval: false}}\n"
    ))
    .expect("valid");
    let p = c.policy.expect("policy");
    assert_eq!(p.approval.timeout, std::time::Duration::from_secs(30));
    assert!(p.approval.remember_max.is_zero() && !p.approval.ask_client);
    assert_eq!(
        p.servers["crm"].require_approval,
        crate::ApprovalRule::Always
    );
    assert_eq!(
        p.servers["crm"].tools["lookup"].require_approval,
        Some(false)
    );

    for (bad, field) in [
        ("  approval: {timeout: 0s}\n", "policy.approval.timeout"),
        ("  approval: {timeout: 2h}\n", "policy.approval.timeout"),
        (
            "  approval: {remember_max: 30d}\n",
            "policy.approval.remember_max",
        ),
        (
            "  servers:\n    crm: {require_approval: sometimes}\n",
            "policy.servers.crm.require_approval",
        ),
    ] {
        let err = load(&format!("{base}{bad}")).expect_err(bad).to_string();
        assert!(err.contains(field), "{bad}: {err}");
    }
    // An untrusted server's annotations hold only what they mark destructive: said by check.
    let c = load(&format!("{base}  servers: {{}}\n")).expect("valid");
    let warnings = c
        .policy
        .expect("policy")
        .warnings(&c.scopes, crate::Date { days: 0 });
    assert!(
        warnings.iter().any(|w| w.contains("not trusted")),
        "{warnings:?}"
    );
}

#[test]
fn guard_actions_and_patterns_are_checked_where_written() {
    let c = load(
        "guard:\n  pii:\n    actions: {email: mask, ip_address: 'off'}\n    custom:\n      employee_id: {pattern: 'EMP-\\d{6}', action: partial}\n",
    )
    .expect("valid");
    assert_eq!(
        c.guard.actions[&moat_guard::Class::Email],
        moat_guard::Action::Mask
    );
    assert_eq!(c.guard.custom[0].0, "employee_id");
    assert!(c.guard.detector().is_ok());
    assert!(load("").expect("defaults").guard.actions.is_empty());
    for (bad, line, field) in [
        (
            "guard:\n  pii:\n    actions: {emails: mask}\n",
            3,
            "guard.pii.actions.emails",
        ),
        (
            "guard:\n  pii:\n    actions: {email: hide}\n",
            3,
            "guard.pii.actions.email",
        ),
        (
            "guard:\n  pii:\n    custom:\n      x: {pattern: '(unclosed'}\n",
            4,
            "guard.pii.custom.x.pattern",
        ),
        (
            "guard:\n  pii:\n    actions: {email: pseudonym}\n",
            2,
            "guard.pii.pseudonym_key",
        ),
    ] {
        let e = load(bad).expect_err(bad);
        assert_eq!(e.field, field, "{bad}: {e}");
        assert!(e.line.is_some(), "{bad}: {e}");
        let _ = line;
    }
}

#[test]
fn plain_http_upstreams_are_only_for_loopback() {
    let e = load("upstreams:\n  crm:\n    http: {url: http://crm.internal/mcp}\n").unwrap_err();
    assert_eq!(e.field, "upstreams.crm.http.url", "{e}");
    assert!(
        e.message.contains("plain http:// only to a loopback host"),
        "{e}"
    );
    assert!(load("upstreams:\n  crm:\n    sse: {url: http://10.0.0.5/sse}\n").is_err());
    load("upstreams:\n  local:\n    http: {url: http://127.0.0.1:9000/mcp}\n").unwrap();
    load("upstreams:\n  crm:\n    http: {url: https://crm.internal/mcp}\n").unwrap();
}

#[test]
fn floating_launchers_are_refused_unless_allowed_with_a_reason() {
    let e = load("upstreams:\n  ev:\n    stdio:\n      command: npx\n      args: [-y, \"@modelcontextprotocol/server-everything\"]\n")
        .unwrap_err();
    assert_eq!(
        (e.line, e.field.as_str()),
        (Some(5), "upstreams.ev.stdio.args")
    );
    assert!(
        e.message
            .starts_with("npx runs \"@modelcontextprotocol/server-everything\": no version;")
            && e.message.contains("allow_floating"),
        "{e}"
    );
    let e = load("upstreams:\n  t:\n    stdio: {command: uvx, args: [mcp-server-time@latest]}\n")
        .unwrap_err();
    assert_eq!(e.field, "upstreams.t.stdio.args");
    assert!(e.message.contains("\"latest\" is a tag that moves"), "{e}");

    let allowed = load("upstreams:\n  ev:\n    stdio:\n      command: npx\n      args: [-y, pkg]\n      allow_floating: \"  internal registry, pinned by lockfile  \"\n")
        .unwrap();
    let Transport::Stdio { allow_floating, .. } = &allowed.upstreams[0].transport else {
        panic!()
    };
    assert_eq!(
        allow_floating.as_deref(),
        Some("internal registry, pinned by lockfile")
    );
    let warning = allowed.upstreams[0].launch_warning().unwrap();
    assert!(
        warning.contains("\"ev\"") && warning.contains("because: internal registry"),
        "{warning}"
    );

    let e = load("upstreams:\n  ev:\n    stdio:\n      command: npx\n      args: [-y, pkg]\n      allow_floating: \" \"\n")
        .unwrap_err();
    assert_eq!(
        (e.line, e.field.as_str()),
        (Some(6), "upstreams.ev.stdio.allow_floating")
    );
    let e = load("upstreams:\n  ev:\n    stdio:\n      command: node\n      args: [server.js]\n      allow_floating: why not\n")
        .unwrap_err();
    assert_eq!(e.field, "upstreams.ev.stdio.allow_floating");
    assert!(e.message.contains("pinned"), "{e}");

    let e = load("upstreams:\n  sh:\n    stdio:\n      command: sh\n      args: [-c, \"cd /srv && node x.js\"]\n")
        .unwrap_err();
    assert!(e.message.contains("cannot analyse"), "{e}");
}

#[test]
fn images_pinned_by_tag_load_with_a_warning() {
    let c = load("upstreams:\n  time:\n    stdio: {command: docker, args: [run, -i, --rm, \"mcp/time:1.2\"]}\n")
        .unwrap();
    let warning = c.upstreams[0].launch_warning().unwrap();
    assert!(
        warning.contains("pinned by its tag \"1.2\" only"),
        "{warning}"
    );
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let c = load(&format!(
        "upstreams:\n  time:\n    stdio: {{command: docker, args: [run, -i, \"mcp/time@{digest}\"]}}\n"
    ))
    .unwrap();
    assert_eq!(c.upstreams[0].launch_warning(), None);
    assert!(
        load("upstreams:\n  time:\n    stdio: {command: docker, args: [run, -i, mcp/time]}\n")
            .is_err()
    );
}
