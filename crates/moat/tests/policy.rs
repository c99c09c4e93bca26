//! Authorization through the running gateway with real upstreams (server-everything and
//! mcp-server-time over stdio): what each agent sees and may call, Cedar rules on arguments,
//! the user behind an agent, the 403 step-up challenge, dry run, and reloads that keep the old
//! policy when the new one is broken.

mod common;

use common::http::{ACCEPT_BOTH, Reply, initialize, post, request, tool_text};
use common::servers::{installed, s};
use common::tokens::{Key, jwks, key, now, sign};
use common::{Moat, Process, TempDir};
use serde_json::{Value, json};

const ISS: &str = "https://idp.test";

const RULES: &str = r#"
@id("allow-by-default")
@owner("platform")
permit (principal, action, resource);

@id("sum-limit")
@owner("payments")
@review_by("2099-01-01")
forbid (principal, action == Action::"call", resource == Tool::"everything/get-sum")
when { context.arguments has a && context.arguments.a >= 1000 };

// Passes only when moat fills in the client's address (a forbid that errors refuses).
@id("local-only-image")
forbid (principal, action == Action::"call", resource == Tool::"everything/get-tiny-image")
when { !context.source_ip.isLoopback() };

@id("echo-shouting")
@owner("platform")
@dry_run
forbid (principal, action == Action::"call", resource == Tool::"everything/echo")
when { context.arguments has message && context.arguments.message == "HELLO" };
"#;

struct Setup {
    dir: TempDir,
    moat: Process,
    url: String,
    key: Key,
}

fn start() -> Setup {
    let servers = installed();
    let dir = TempDir::new();
    let key = key("k1");
    let jwks_file = dir.write("jwks.json", &jwks(&[&key]));
    dir.write("rules.cedar", RULES);
    let (moat, port) = Moat::config_for_port(&dir, "moat listening on http://", &[], |port| {
        format!(
            r#"listen: 127.0.0.1:{port}
auth:
  issuer: {ISS}
  resource: http://127.0.0.1:{port}/mcp
  jwks: file:{jwks}
scopes:
  everything:read: {{description: read-only tools of server-everything}}
  everything:write: {{description: every other tool of server-everything}}
  everything:env: {{description: server-everything's get-env (shows its environment)}}
  time:read: {{description: time prompts and resources}}
  time:write: {{description: time tools}}
upstreams:
  everything:
    approval: auto
    stdio:
      command: {node:?}
      args: [{everything:?}, stdio]
  time:
    approval: auto
    stdio:
      command: {time:?}
      args: [--local-timezone, UTC]
policy:
  cedar: [rules.cedar]
  servers:
    everything:
      trusted: true
      tools:
        get-env: {{scopes: [everything:env]}}
  roles:
    helpers:
      tools: [everything/*, time/*]
      agents: [reader, writer]
      users: [alice]
"#,
            jwks = s(&jwks_file),
            node = s(&servers.node),
            everything = s(&servers.everything),
            time = s(&servers.time),
        )
    });
    Setup {
        dir,
        moat,
        url: format!("http://127.0.0.1:{port}/mcp"),
        key,
    }
}

/// A session opened with a token for `agent` (acting for `user`, when given) with `scopes`.
struct Agent {
    url: String,
    token: String,
    session: String,
}

impl Setup {
    fn token(&self, agent: &str, user: Option<&str>, scopes: &str) -> String {
        let n = now();
        sign(
            &self.key,
            &json!({"iss": ISS, "aud": self.url, "sub": user.unwrap_or(agent), "client_id": agent,
                    "scope": scopes, "iat": n - 5, "exp": n + 600}),
        )
    }

    async fn agent(&self, agent: &str, user: Option<&str>, scopes: &str) -> Agent {
        let token = self.token(agent, user, scopes);
        let auth = format!("Bearer {token}");
        let reply = post(
            &self.url,
            &[("authorization", &auth)],
            initialize("2025-06-18").to_string(),
        )
        .await;
        assert_eq!(reply.status, 200, "initialize: {reply:?}");
        let session = reply.session.clone().expect("session id");
        let a = Agent {
            url: self.url.clone(),
            token,
            session,
        };
        let ack = a
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(ack.status, 202);
        a
    }
}

impl Agent {
    async fn post(&self, body: &Value) -> Reply {
        let auth = format!("Bearer {}", self.token);
        let headers = [
            ("authorization", auth.as_str()),
            ("mcp-session-id", self.session.as_str()),
            ("mcp-protocol-version", "2025-06-18"),
        ];
        post(&self.url, &headers, body.to_string()).await
    }

    async fn tools(&self) -> Vec<String> {
        let reply = self.post(&request("tools/list", json!({}))).await;
        let mut names: Vec<String> = reply.json()["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("tools/list: {reply:?}"))
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_owned())
            .collect();
        names.sort();
        names
    }

    async fn call(&self, name: &str, arguments: Value) -> Reply {
        self.post(&request(
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        ))
        .await
    }
}

fn rules_of(reply: &Reply) -> Value {
    reply.json()["error"]["data"]["rules"].clone()
}

#[tokio::test]
async fn agents_see_and_call_only_what_their_scopes_roles_and_rules_allow() {
    let setup = start();
    let reader = setup.agent("reader", None, "everything:read").await;
    let writer = setup
        .agent("writer", None, "everything:read everything:env time:write")
        .await;

    let seen_by_reader = reader.tools().await;
    let seen_by_writer = writer.tools().await;
    // The trusted server's read-only tools need only everything:read.
    assert!(
        seen_by_reader.contains(&"everything__get-sum".to_owned()),
        "{seen_by_reader:?}"
    );
    assert!(seen_by_reader.contains(&"everything__echo".to_owned()));
    // get-env needs its own scope; the time server is not trusted, so its tools need time:write
    // whatever their annotations say.
    assert!(
        !seen_by_reader.contains(&"everything__get-env".to_owned()),
        "{seen_by_reader:?}"
    );
    assert!(
        seen_by_writer.contains(&"everything__get-env".to_owned()),
        "{seen_by_writer:?}"
    );
    assert!(
        !seen_by_reader.iter().any(|t| t.starts_with("time__")),
        "{seen_by_reader:?}"
    );
    assert!(seen_by_writer.contains(&"time__get_current_time".to_owned()));
    assert_eq!(seen_by_reader.len() + 3, seen_by_writer.len());

    // A call beyond the token's scopes: 403 with the step-up challenge, and the JSON-RPC error.
    let denied = reader.call("everything__get-env", json!({})).await;
    assert_eq!(denied.status, 403, "{denied:?}");
    assert_eq!(denied.error_code(), -32031);
    assert_eq!(
        denied.json()["error"]["data"]["missing_scopes"],
        json!(["everything:env"])
    );
    assert_eq!(rules_of(&denied), json!(["scopes:everything/get-env"]));
    let reply = common::http::client()
        .post(&setup.url)
        .header("accept", ACCEPT_BOTH)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", reader.token))
        .header("mcp-session-id", &reader.session)
        .header("mcp-protocol-version", "2025-06-18")
        .body(
            request(
                "tools/call",
                json!({"name": "everything__get-env", "arguments": {}}),
            )
            .to_string(),
        )
        .send()
        .await
        .expect("POST");
    let challenge = reply.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"everything:env\""),
        "{challenge}"
    );

    // A Cedar rule on an argument: 100 passes, 1,000 is refused by rule sum-limit.
    let small = writer
        .call("everything__get-sum", json!({"a": 100, "b": 1}))
        .await;
    assert_eq!(
        tool_text(small.json()),
        "The sum of 100 and 1 is 101.",
        "{small:?}"
    );
    let big = writer
        .call("everything__get-sum", json!({"a": 1000, "b": 1}))
        .await;
    assert_eq!(big.status, 200);
    assert_eq!(big.error_code(), -32030, "{big:?}");
    assert_eq!(rules_of(&big), json!(["sum-limit"]));
    assert!(
        big.text.contains("forbidden by Cedar policy sum-limit"),
        "{big:?}"
    );
    setup.moat.wait_for_log("verdict=\"deny\"");

    // The client's address is in the context: loopback, so the image tool is not forbidden.
    let image = writer.call("everything__get-tiny-image", json!({})).await;
    assert_eq!(
        image.json()["result"]["content"][1]["type"],
        "image",
        "{image:?}"
    );

    // An agent the roles do not name sees nothing and may call nothing.
    let stranger = setup
        .agent("stranger", None, "everything:read time:write")
        .await;
    assert_eq!(stranger.tools().await, Vec::<String>::new());
    let refused = stranger
        .call("everything__echo", json!({"message": "hi"}))
        .await;
    assert_eq!(rules_of(&refused), json!(["roles:no-grant"]));
}

#[tokio::test]
async fn an_agent_cannot_do_for_a_user_what_the_user_may_not() {
    let setup = start();
    let scopes = "everything:read time:write";
    let for_alice = setup.agent("writer", Some("alice"), scopes).await;
    let for_bob = setup.agent("writer", Some("bob"), scopes).await;
    let echo = json!({"message": "hello"});
    let answer = for_alice.call("everything__echo", echo.clone()).await;
    assert_eq!(tool_text(answer.json()), "Echo: hello", "{answer:?}");
    // Bob holds no role: the agent's grant does not reach him.
    assert_eq!(for_bob.tools().await, Vec::<String>::new());
    let refused = for_bob.call("everything__echo", echo).await;
    assert_eq!(refused.error_code(), -32030);
    assert_eq!(rules_of(&refused), json!(["roles:no-grant"]));
    assert!(refused.text.contains("user \\\"bob\\\""), "{refused:?}");
}

#[tokio::test]
async fn a_dry_run_rule_lets_the_call_through_and_logs_what_it_would_deny() {
    let setup = start();
    let reader = setup.agent("reader", None, "everything:read").await;
    let answer = reader
        .call("everything__echo", json!({"message": "HELLO"}))
        .await;
    assert_eq!(tool_text(answer.json()), "Echo: HELLO", "{answer:?}");
    let log = setup.moat.wait_for_log("would deny (dry run)");
    let line = log
        .lines()
        .find(|l| l.contains("would deny (dry run)"))
        .expect("the line");
    assert!(line.contains("rules=\"echo-shouting\""), "{line}");
    assert!(line.contains("agent=\"reader\""), "{line}");
    // Other messages are plainly allowed.
    let quiet = reader
        .call("everything__echo", json!({"message": "hi"}))
        .await;
    assert_eq!(tool_text(quiet.json()), "Echo: hi");
    assert_eq!(log.matches("would deny").count(), 1);
}

#[tokio::test]
async fn a_broken_policy_on_reload_leaves_the_old_one_serving() {
    let setup = start();
    let writer = setup.agent("writer", None, "everything:read").await;
    let sum = |a: i64| json!({"a": a, "b": 1});
    let passes = |r: Reply| tool_text(r.json()) == "The sum of 100 and 1 is 101.";
    assert!(passes(writer.call("everything__get-sum", sum(100)).await));

    // A syntax error: refused with its line, the old rules keep deciding.
    replace(
        &setup.dir,
        &format!("{RULES}\nforbid (principal action, resource);\n"),
    );
    let log = setup.moat.wait_for_log("policy reload refused");
    assert!(
        log.contains("rules.cedar:"),
        "the error names the file: {log}"
    );
    assert!(passes(writer.call("everything__get-sum", sum(100)).await));
    assert_eq!(
        rules_of(&writer.call("everything__get-sum", sum(1000)).await),
        json!(["sum-limit"])
    );

    // A valid change, signalled with SIGHUP: applied to the open session at once.
    replace(&setup.dir, &RULES.replace(">= 1000", ">= 50"));
    let status = std::process::Command::new("kill")
        .args(["-HUP", &setup.moat.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    setup.moat.wait_for_log("policy reloaded");
    assert_eq!(
        rules_of(&writer.call("everything__get-sum", sum(100)).await),
        json!(["sum-limit"])
    );
}

/// Replaces rules.cedar at once (write aside, rename), so moat never reads half a file.
fn replace(dir: &TempDir, text: &str) {
    let staged = dir.write("rules.cedar.new", text);
    std::fs::rename(staged, dir.path().join("rules.cedar")).expect("rename");
}
