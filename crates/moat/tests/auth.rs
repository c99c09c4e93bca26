//! moat as an OAuth 2.1 resource server: the token checks a client meets at the door, the
//! challenges that tell it where to get a token, session binding to the caller, and no token
//! passthrough to upstreams.

mod common;

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::http::{client, initialize, post, request};
use common::tokens::{Key, jwks, key, now, sign};
use common::{Moat, Process, TempDir, fixture, moat_bin, repo_root};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ISS: &str = "https://idp.test";

struct Setup {
    _dir: TempDir,
    _jwks: Process,
    _upstream: Process,
    _moat: Process,
    url: String,
    key: Key,
}

impl Setup {
    fn claims(&self) -> Value {
        let n = now();
        json!({"iss": ISS, "aud": self.url, "sub": "alice", "client_id": "agent-1", "scope": "mcp:use tools:read",
               "iat": n - 5, "exp": n + 300})
    }

    fn token(&self, claims: &Value) -> String {
        sign(&self.key, claims)
    }
}

fn start() -> Setup {
    let dir = TempDir::new();
    let key = key("k1");
    dir.write("jwks.json", &jwks(&[&key]));
    let root = dir.path().to_path_buf();
    let (jwks_server, jwks_port) = Process::start_on_free_port(
        "jwks",
        "Serving HTTP",
        &["Address already in use"],
        |port| {
            let mut cmd = Command::new("python3");
            cmd.args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
            ])
            .arg(&root);
            cmd
        },
    );
    let (upstream, upstream_port) = Process::start_on_free_port(
        "header echo",
        "listening on port",
        &["Address already in use"],
        |port| {
            let mut cmd = Command::new("python3");
            cmd.arg(fixture("header_echo_server.py"))
                .arg(port.to_string());
            cmd
        },
    );
    let (moat, port) = Moat::config_for_port(&dir, "moat listening on http://", &[], |port| {
        let yaml = format!(
            "listen: 127.0.0.1:{port}\nauth:\n  issuer: {ISS}\n  resource: http://127.0.0.1:{port}/mcp\n  jwks: http://127.0.0.1:{jwks_port}/jwks.json\n  required_scopes: [mcp:use]\n  scopes_supported: [mcp:use, tools:read]\n  max_token_lifetime: 1h\nupstreams:\n  echo:\n    approval: auto\n    http:\n      url: http://127.0.0.1:{upstream_port}/mcp\n"
        );
        yaml
    });
    Setup {
        _dir: dir,
        _jwks: jwks_server,
        _upstream: upstream,
        _moat: moat,
        url: format!("http://127.0.0.1:{port}/mcp"),
        key,
    }
}

/// POSTs an initialize with `token` (if any); returns the status, the WWW-Authenticate header and
/// the body.
async fn init_with(url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = client()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = req
        .body(initialize("2025-06-18").to_string())
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, challenge, resp.text().await.expect("body"))
}

#[tokio::test]
async fn without_a_token_the_client_is_told_where_to_get_one() {
    let s = start();
    let (status, challenge, _) = init_with(&s.url, None).await;
    assert_eq!(status, 401);
    let metadata_url = s
        .url
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"mcp:use\"")
    );
    let metadata: Value = client()
        .get(&metadata_url)
        .send()
        .await
        .expect("GET metadata")
        .json()
        .await
        .expect("JSON");
    assert_eq!(metadata["resource"], s.url.as_str());
    assert_eq!(metadata["authorization_servers"], json!([ISS]));
    assert_eq!(
        metadata["scopes_supported"],
        json!(["mcp:use", "tools:read"])
    );
}

#[tokio::test]
async fn bad_tokens_are_refused_each_with_a_reason_and_without_echo() {
    let s = start();
    let n = now();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = s.claims();
        f(&mut c);
        s.token(&c)
    };
    let stranger = key("k1"); // same kid, another key: a forgery
    let unknown = key("k9");
    let good = s.token(&s.claims());
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(json!({"iss": ISS, "aud": s.url, "sub": "root", "scope": "mcp:use", "iat": n, "exp": n + 60}).to_string());
    let tampered = parts.join(".");
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        parts[1]
    );
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let confused =
        encode(&hs, &s.claims(), &EncodingKey::from_secret(&s.key.public)).expect("hs256");
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", with(&|c| c["exp"] = json!(n - 120)), "expired"),
        (
            "not yet valid",
            with(&|c| c["nbf"] = json!(n + 600)),
            "not valid yet",
        ),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("https://other.example/mcp")),
            "invalid",
        ),
        (
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://evil.example")),
            "invalid",
        ),
        (
            "lifetime over the maximum",
            with(&|c| {
                c["iat"] = json!(n - 10);
                c["exp"] = json!(n + 7200)
            }),
            "exceeds the maximum",
        ),
        ("unknown kid", sign(&unknown, &s.claims()), "not known"),
        ("forged signature", sign(&stranger, &s.claims()), "invalid"),
        ("tampered payload", tampered, "invalid"),
        ("alg none", none, "not a well-formed"),
        ("HS256 with the public key", confused, "HS256"),
    ];
    for (case, token, reason) in cases {
        let (status, challenge, body) = init_with(&s.url, Some(&token)).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{case}: {challenge}"
        );
        assert!(
            body.contains(reason),
            "{case}: expected {reason:?} in {body}"
        );
        assert!(
            !body.contains(&token) && !challenge.contains(&token),
            "{case}: the token was echoed"
        );
    }
}

#[tokio::test]
async fn scope_query_tokens_and_session_owners_are_enforced() {
    let s = start();
    // Missing scope: 403 with the scope needed.
    let narrow = s.token(&{
        let mut c = s.claims();
        c["scope"] = json!("tools:read");
        c
    });
    let (status, challenge, _) = init_with(&s.url, Some(&narrow)).await;
    assert_eq!(status, 403);
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"mcp:use\""),
        "{challenge}"
    );

    // A token in the URL is refused even when valid.
    let good = s.token(&s.claims());
    let (status, challenge, _) =
        init_with(&format!("{}?access_token={good}", s.url), Some(&good)).await;
    assert_eq!(status, 400);
    assert!(challenge.contains("invalid_request"), "{challenge}");

    // A session belongs to its caller: another subject presenting its id gets 404.
    let alice = format!("Bearer {good}");
    let reply = post(
        &s.url,
        &[("authorization", &alice)],
        initialize("2025-06-18").to_string(),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let session = reply.session.clone().expect("session id");
    let bob = format!(
        "Bearer {}",
        s.token(&{
            let mut c = s.claims();
            c["sub"] = json!("bob");
            c
        })
    );
    let ping = request("ping", json!({})).to_string();
    let as_bob = post(
        &s.url,
        &[
            ("authorization", &bob),
            ("mcp-session-id", &session),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        ping.clone(),
    )
    .await;
    assert_eq!(as_bob.status, 404, "{as_bob:?}");
    let as_alice = post(
        &s.url,
        &[
            ("authorization", &alice),
            ("mcp-session-id", &session),
            ("mcp-protocol-version", "2025-06-18"),
        ],
        ping,
    )
    .await;
    assert_eq!(as_alice.status, 200, "{as_alice:?}");
}

#[tokio::test]
async fn the_clients_token_never_reaches_an_upstream() {
    let s = start();
    let good = s.token(&s.claims());
    let auth = format!("Bearer {good}");
    let reply = post(
        &s.url,
        &[("authorization", &auth)],
        initialize("2025-06-18").to_string(),
    )
    .await;
    let session = reply.session.clone().expect("session id");
    let headers = [
        ("authorization", auth.as_str()),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        post(&s.url, &headers, initialized.to_string()).await.status,
        202
    );
    let call = request(
        "tools/call",
        json!({"name": "echo__headers", "arguments": {}}),
    );
    let answer = post(&s.url, &headers, call.to_string()).await;
    let text = answer.json()["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer:?}"))
        .to_owned();
    let seen: Value = serde_json::from_str(&text).expect("headers as JSON");
    assert!(
        seen.get("mcp-protocol-version").is_some(),
        "the call did reach the upstream: {seen}"
    );
    assert!(
        seen.get("authorization").is_none(),
        "the client's token was passed upstream: {seen}"
    );
    assert!(!text.contains(&good), "the token appears upstream: {text}");
}

/// Opaque tokens are checked with the issuer's introspection endpoint (with moat's own client
/// credentials from the environment), and the answer is reused while the token lives.
#[tokio::test]
async fn opaque_tokens_are_introspected_and_cached() {
    let dir = TempDir::new();
    let moat_port = common::free_port();
    let resource = format!("http://127.0.0.1:{moat_port}/mcp");
    let (_idp, idp_port) = Process::start_on_free_port(
        "introspection",
        "listening on port",
        &["Address already in use"],
        |port| {
            let mut cmd = Command::new("python3");
            cmd.arg(fixture("introspection_server.py")).args([
                port.to_string(),
                resource.clone(),
                "moat".into(),
                "s3cret".into(),
            ]);
            cmd
        },
    );
    let yaml = format!(
        "listen: 127.0.0.1:{moat_port}\nauth:\n  issuer: {ISS}\n  resource: {resource}\n  introspection:\n    url: http://127.0.0.1:{idp_port}/introspect\n    client_id: moat\n    client_secret: env:MOAT_TEST_INTROSPECTION_SECRET\nupstreams:\n  fx:\n    approval: auto\n    builtin: fixture\n"
    );
    let config = dir.write("moat.yaml", &yaml);
    let mut cmd = Command::new(moat_bin());
    cmd.current_dir(repo_root())
        .args(["serve", "--config"])
        .arg(config)
        .env("MOAT_TEST_INTROSPECTION_SECRET", "s3cret")
        .env("NO_COLOR", "1");
    let _moat = Process::start("moat", cmd, "moat listening on http://").expect("moat starts");

    let (status, _, body) = init_with(&resource, Some("opaque-alice")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = init_with(&resource, Some("opaque-alice")).await;
    assert_eq!(status, 200, "{body}");
    let count: Value = client()
        .get(format!("http://127.0.0.1:{idp_port}/count"))
        .send()
        .await
        .expect("count")
        .json()
        .await
        .expect("JSON");
    assert_eq!(count["n"], 1, "the second use must come from the cache");

    let (status, challenge, body) = init_with(&resource, Some("opaque-revoked")).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        challenge.contains("invalid_token") && body.contains("not active"),
        "{challenge} {body}"
    );
    // No JWKS configured: a JWT is not accepted, whatever it says.
    let jwt = sign(
        &key("k1"),
        &json!({"iss": ISS, "aud": resource, "sub": "x", "iat": now(), "exp": now() + 60}),
    );
    let (status, _, body) = init_with(&resource, Some(&jwt)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("no jwks"), "{body}");
}

/// The keys are fetched once when the first tokens arrive; requests that arrive together while
/// that fetch runs are all accepted (they wait for it rather than being refused).
#[tokio::test]
async fn concurrent_first_requests_share_one_key_fetch() {
    let s = start();
    let token = s.token(&s.claims());
    let calls = (0..8).map(|_| init_with(&s.url, Some(&token)));
    for (status, _, body) in futures::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
    }
}
