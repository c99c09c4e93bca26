//! The built-in authorization server end to end: a real OAuth client library (Python Authlib)
//! through discovery, dynamic registration, authorization code + PKCE with the consent page,
//! refresh rotation, reuse detection and revocation; a client-credentials agent; `moat token`
//! and `moat keys` while moat runs (revocation, suspension and key rotation take effect).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::http::{client, initialize};
use common::servers::installed;
use common::{Moat, Process, TIMEOUT, TempDir, fixture, moat_bin};
use serde_json::Value;

const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";

struct Server {
    dir: TempDir,
    _moat: Process,
    url: String,
    config: String,
}

fn start() -> Server {
    start_with("open")
}

/// moat with the built-in server, dynamic registration in `registration` mode.
fn start_with(registration: &str) -> Server {
    let dir = TempDir::new();
    let mut hasher = std::process::Command::new(moat_bin())
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("moat hash-password");
    std::io::Write::write_all(hasher.stdin.as_mut().expect("stdin"), PASSWORD.as_bytes())
        .expect("write password");
    drop(hasher.stdin.take());
    let out = hasher.wait_with_output().expect("hash");
    let hash = String::from_utf8(out.stdout).expect("utf8");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let hash_file = dir.write("alice.hash", &hash);
    let (moat, port) = Moat::config_for_port(&dir, "moat listening on http://", &[], |port| {
        format!(
            "listen: 127.0.0.1:{port}\nscopes:\n  tools:call:\n    description: call tools\n  tools:read:\n    description: list tools\n\
             auth:\n  issuer: http://127.0.0.1:{port}\n  resource: http://127.0.0.1:{port}/mcp\n  server:\n    client_registration: {registration}\n    client_metadata_documents: open\n    registration_scopes: [tools:call, tools:read]\n    users:\n      {USER}: file:{}\n\
             upstreams:\n  fx:\n    approval: auto\n    builtin: fixture\n",
            hash_file.display()
        )
    });
    let config = dir.path().join("moat.yaml").display().to_string();
    assert!(
        std::path::Path::new(&config).exists(),
        "config_for_port writes moat.yaml"
    );
    Server {
        url: format!("http://127.0.0.1:{port}/mcp"),
        dir,
        _moat: moat,
        config,
    }
}

impl Server {
    /// `moat ARGS -c CONFIG`, which must succeed; its stdout.
    fn moat(&self, args: &[&str]) -> String {
        let out = Command::new(moat_bin())
            .args(args)
            .args(["-c", &self.config])
            .current_dir(self.dir.path())
            .output()
            .expect("run moat");
        assert!(
            out.status.success(),
            "moat {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    async fn python(&self, args: &[&str]) -> Value {
        let servers = installed();
        let mut cmd = tokio::process::Command::new(&servers.python);
        cmd.arg(fixture("oauth_client.py"))
            .args(args)
            .kill_on_drop(true);
        let out = tokio::time::timeout(TIMEOUT, cmd.output())
            .await
            .expect("the Authlib client finished in time")
            .expect("run the Authlib client");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "oauth_client.py {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    /// The status and body of an `initialize` with `token`.
    async fn initialize_with(&self, token: &str) -> (u16, String) {
        let resp = client()
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(initialize("2025-11-25").to_string())
            .send()
            .await
            .expect("POST");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    /// Repeats `initialize` until it answers `status`: changes made by another process reach
    /// a running moat within about a second. Fails after ten.
    async fn until_status(&self, token: &str, status: u16) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (got, body) = self.initialize_with(token).await;
            if got == status {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "still {got} instead of {status} after 10 s: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn authlib_runs_the_code_flow_with_pkce_refresh_rotation_and_revocation() {
    let server = start();
    let seen = server
        .python(&["code", &server.url, USER, PASSWORD, "tools:call tools:read"])
        .await;
    let issuer = server.url.trim_end_matches("/mcp");
    assert_eq!(seen["challenge_status"], 401, "{seen}");
    assert_eq!(seen["issuer"], issuer, "{seen}");
    assert_eq!(seen["pkce_methods"], serde_json::json!(["S256"]));
    assert_eq!(seen["registration_status"], 201, "{seen}");
    // The consent page: no frames, no caching, a __Host- cookie, CSRF enforced.
    let headers = &seen["page_headers"];
    assert!(
        headers["content-security-policy"]
            .as_str()
            .is_some_and(|c| c.contains("frame-ancestors 'none'")),
        "{seen}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(seen["cookie_name"], "__Host-moat-csrf");
    assert_eq!(seen["wrong_password_status"], 401, "{seen}");
    assert_eq!(seen["forged_status"], 403, "{seen}");
    // RFC 9207: the redirect names the issuer; the state comes back unchanged.
    assert_eq!(seen["authorize_status"], 303, "{seen}");
    assert_eq!(seen["redirect_iss"], issuer, "{seen}");
    assert_eq!(seen["state_matches"], true, "{seen}");
    assert_eq!(seen["token_type"], "Bearer");
    assert_eq!(seen["expires_in"], 900, "the default access-token lifetime");
    assert_eq!(seen["scope"], "tools:call tools:read");
    assert_eq!(seen["has_refresh_token"], true);
    assert_eq!(seen["mcp_status"], 200, "{seen}");
    assert!(
        seen["tools_listed"].as_u64().is_some_and(|n| n > 0),
        "{seen}"
    );
    assert_eq!(
        seen["code_replay"],
        serde_json::json!([400, "invalid_grant"])
    );
    assert_eq!(
        seen["after_replay_mcp_status"], 401,
        "a replayed code revokes the token its first use obtained: {seen}"
    );
    assert_eq!(seen["broader_refresh_error"], "invalid_scope", "{seen}");
    assert_eq!(
        seen["refresh_rotated"], true,
        "the refused refresh spent nothing: {seen}"
    );
    assert_eq!(seen["refreshed_mcp_status"], 200, "{seen}");
    assert_eq!(seen["reuse_error"], "invalid_grant", "{seen}");
    assert_eq!(
        seen["after_reuse_error"], "invalid_grant",
        "reuse revokes the whole family: {seen}"
    );
    assert_eq!(seen["revoke_status"], 200, "{seen}");
    assert_eq!(
        seen["revoked_mcp_status"], 401,
        "revoked on the next call: {seen}"
    );

    // The registration is an agent like any other, and its consent is on record.
    let client_id = seen["client_id"].as_str().expect("client id");
    let agent: Value =
        serde_json::from_str(&server.moat(&["agents", "show", client_id, "--json"])).expect("json");
    assert_eq!(agent["status"], "active");
    assert!(
        agent["tokens_issued"].as_u64().is_some_and(|n| n >= 2),
        "{agent}"
    );
}

#[tokio::test]
async fn a_client_credentials_agent_and_the_cli_follow_the_same_rules() {
    let server = start();
    let registered = server.moat(&[
        "agents",
        "register",
        "build-bot",
        "--name",
        "Build bot",
        "--owner",
        "ci-team",
        "--scope",
        "tools:call",
        "--client-credentials",
    ]);
    let secret = registered
        .lines()
        .last()
        .expect("the secret")
        .trim()
        .to_owned();
    let seen = server
        .python(&[
            "client_credentials",
            &server.url,
            "build-bot",
            &secret,
            "tools:call",
        ])
        .await;
    assert_eq!(seen["scope"], "tools:call", "{seen}");
    assert_eq!(seen["has_refresh_token"], false, "{seen}");
    assert_eq!(seen["mcp_status"], 200, "{seen}");
    assert_eq!(seen["wrong_secret_error"], "invalid_client", "{seen}");
    assert_eq!(seen["broad_scope_error"], "invalid_scope", "{seen}");

    // `moat token issue` mints within the same rules…
    let token = server.moat(&[
        "token",
        "issue",
        "--client",
        "build-bot",
        "--scope",
        "tools:call",
        "--ttl",
        "5m",
    ]);
    let token = token.trim();
    assert_eq!(server.initialize_with(token).await.0, 200);
    for refused in [
        vec!["--scope", "tools:read"],
        vec!["--scope", "tools:call", "--ttl", "2h"],
    ] {
        let out = Command::new(moat_bin())
            .args([
                "token",
                "issue",
                "--client",
                "build-bot",
                "-c",
                &server.config,
            ])
            .args(&refused)
            .output()
            .expect("run");
        assert!(!out.status.success(), "{refused:?} must be refused");
    }
    // …and `moat token revoke`, run as another process, takes effect in the running moat.
    let revoked = server.moat(&["token", "revoke", token]);
    assert!(revoked.starts_with("revoked "), "{revoked}");
    let body = server.until_status(token, 401).await;
    assert!(body.contains("revoked"), "{body}");

    // Suspending the agent refuses its live tokens and stops new ones.
    let live = server.moat(&[
        "token",
        "issue",
        "--client",
        "build-bot",
        "--scope",
        "tools:call",
    ]);
    assert_eq!(server.initialize_with(live.trim()).await.0, 200);
    server.moat(&["agents", "suspend", "build-bot"]);
    let body = server.until_status(live.trim(), 401).await;
    assert!(body.contains("suspended"), "{body}");
    let out = Command::new(moat_bin())
        .args([
            "token",
            "issue",
            "--client",
            "build-bot",
            "-c",
            &server.config,
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("suspended"));
}

#[tokio::test]
async fn key_rotation_keeps_earlier_tokens_valid_and_publishes_both_keys() {
    let server = start();
    server.moat(&[
        "agents",
        "register",
        "svc",
        "--name",
        "Service",
        "--scope",
        "tools:call",
    ]);
    let before = server.moat(&["token", "issue", "--client", "svc", "--scope", "tools:call"]);
    assert_eq!(server.initialize_with(before.trim()).await.0, 200);

    let rotated = server.moat(&["keys", "rotate", "--algorithm", "ES256"]);
    assert!(rotated.contains("ES256"), "{rotated}");
    let after = server.moat(&["token", "issue", "--client", "svc", "--scope", "tools:call"]);
    assert_ne!(kid(before.trim()), kid(after.trim()));
    // The new key is picked up from the store on first sight of its kid.
    server.until_status(after.trim(), 200).await;
    assert_eq!(
        server.initialize_with(before.trim()).await.0,
        200,
        "old key still published"
    );

    let jwks: Value = client()
        .get(server.url.replace("/mcp", "/oauth/jwks"))
        .send()
        .await
        .expect("GET jwks")
        .json()
        .await
        .expect("json");
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(kids.contains(&kid(before.trim()).as_str()), "{jwks}");
    assert!(kids.contains(&kid(after.trim()).as_str()), "{jwks}");
    assert!(
        jwks.to_string().find("\"d\"").is_none(),
        "no private key material: {jwks}"
    );
    let listed = server.moat(&["keys", "list"]);
    assert_eq!(listed.matches(" active ").count(), 1, "{listed}");
    assert_eq!(listed.matches(" published ").count(), 1, "{listed}");
}

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().expect("header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    let header: Value = serde_json::from_slice(&bytes).expect("json");
    header["kid"].as_str().expect("kid").to_owned()
}

/// The official suite's `authorization` command against the built-in server: it registers
/// nothing itself, so a client with its callback is registered first, and the test plays the
/// user in the browser when the suite prints the authorization URL.
#[tokio::test]
async fn the_conformance_suites_authorization_scenarios_pass() {
    use tokio::io::AsyncBufReadExt;

    let server = start();
    let port = common::free_port();
    let callback = format!("http://127.0.0.1:{port}/callback");
    server.moat(&[
        "agents",
        "register",
        "conformance",
        "--name",
        "Conformance suite",
        "--scope",
        "tools:call",
        "--redirect-uri",
        &callback,
    ]);
    let conformance = common::repo_root().join("tests/conformance/node_modules");
    let out = server.dir.path().join("conformance");
    let issuer = server.url.trim_end_matches("/mcp").to_owned();
    let mut suite = tokio::process::Command::new(conformance.join("node/bin/node"))
        .arg(conformance.join("@modelcontextprotocol/conformance/dist/index.js"))
        .args([
            "authorization",
            "--url",
            &issuer,
            "--client-id",
            "conformance",
        ])
        .args(["--resource", &server.url, "--port", &port.to_string()])
        .arg("--output-dir")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the conformance suite (tests/conformance: npm ci)");
    let mut lines = tokio::io::BufReader::new(suite.stdout.take().expect("stdout")).lines();
    let mut printed = String::new();
    let run = async {
        let mut browsed = false;
        let mut authorize_url = None;
        let mut callback_ready = false;
        while let Some(line) = lines.next_line().await.expect("read") {
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with(&format!("{issuer}/oauth/authorize?")) {
                authorize_url = Some(line.trim().to_owned());
            }
            callback_ready |= line.starts_with("Callback server started");
            // The redirect must find the suite's callback server listening.
            if callback_ready && let Some(url) = authorize_url.take() {
                browsed = true;
                let seen = server.python(&["browser", &url, USER, PASSWORD]).await;
                assert_eq!(seen["authorize_status"], 303, "{seen}");
                assert_eq!(seen["callback_status"], 200, "{seen}");
            }
        }
        browsed
    };
    let browsed = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the suite finished in time");
    let status = suite.wait().await.expect("exit status");
    assert!(browsed, "the suite never asked for the browser:\n{printed}");
    assert!(status.success(), "the suite failed:\n{printed}");
    assert!(printed.contains("Total: 3 passed, 0 failed"), "{printed}");
    // Every check of every scenario, warnings included, is a success.
    for entry in std::fs::read_dir(&out).expect("results") {
        let checks = entry.expect("entry").path().join("checks.json");
        let checks: Value =
            serde_json::from_slice(&std::fs::read(&checks).expect("checks.json")).expect("json");
        for check in checks.as_array().expect("a list") {
            assert_eq!(check["status"], "SUCCESS", "{check}");
        }
    }
}

/// A client named by the URL of its metadata document gets through the code flow without any
/// registration, and is recorded as an agent under that URL; a document that names another
/// client is refused before any page is shown.
#[tokio::test]
async fn a_client_named_by_its_metadata_document_needs_no_registration() {
    let server = start();
    let docs = TempDir::new();
    let (_docs_server, port) = Process::start_on_free_port(
        "document server",
        "Serving HTTP",
        &["Address already in use"],
        |port| {
            let mut cmd = std::process::Command::new(&installed().python);
            cmd.args(["-u", "-m", "http.server", "--bind", "127.0.0.1"])
                .arg(port.to_string())
                .arg("--directory")
                .arg(docs.path());
            cmd
        },
    );
    let url = format!("http://127.0.0.1:{port}/agent.json");
    docs.write(
        "agent.json",
        &serde_json::json!({
            "client_id": url,
            "client_name": "Document agent",
            "redirect_uris": ["http://127.0.0.1:1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        })
        .to_string(),
    );
    docs.write(
        "impostor.json",
        &serde_json::json!({"client_id": "https://elsewhere.example/agent.json",
                            "redirect_uris": ["http://127.0.0.1:1/callback"]})
        .to_string(),
    );
    let seen = server
        .python(&["document", &server.url, &url, USER, PASSWORD, "tools:read"])
        .await;
    assert_eq!(seen["authorize_status"], 303, "{seen}");
    assert_eq!(seen["scope"], "tools:read", "{seen}");
    assert_eq!(seen["mcp_status"], 200, "{seen}");
    let agent: Value =
        serde_json::from_str(&server.moat(&["agents", "show", &url, "--json"])).expect("json");
    assert_eq!(agent["name"], "Document agent");
    assert_eq!(agent["status"], "active");

    let impostor = format!("http://127.0.0.1:{port}/impostor.json");
    let authorize = format!(
        "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        server.url.trim_end_matches("/mcp"),
        impostor.replace(':', "%3A").replace('/', "%2F"),
    );
    let resp = client().get(&authorize).send().await.expect("GET");
    assert_eq!(resp.status().as_u16(), 400);
    let page = resp.text().await.expect("page");
    assert!(page.contains("client_id differs from its URL"), "{page}");
}

/// The official TypeScript SDK's client authenticates by itself: 401 → discovery → dynamic
/// registration → PKCE → (the user signs in) → token → MCP calls.
#[tokio::test]
async fn the_typescript_sdk_client_completes_its_oauth_flow() {
    let server = start();
    let servers = installed();
    let node_modules = common::repo_root().join("tests/servers/node_modules");
    let run = tokio::process::Command::new(&servers.node)
        .arg(fixture("ts_sdk_oauth.cjs"))
        .arg(&node_modules)
        .args([server.url.as_str(), USER, PASSWORD, "tools:call tools:read"])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(TIMEOUT, run)
        .await
        .expect("the SDK client finished in time")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(seen["firstConnect"], "unauthorized", "{seen}");
    assert_eq!(seen["registered"], true, "{seen}");
    assert_eq!(seen["challengeMethod"], "S256", "{seen}");
    assert_eq!(seen["resource"], server.url, "{seen}");
    assert_eq!(seen["authorizeStatus"], 303, "{seen}");
    assert_eq!(seen["iss"], server.url.trim_end_matches("/mcp"), "{seen}");
    assert_eq!(seen["tokenType"], "Bearer", "{seen}");
    assert_eq!(seen["hasRefreshToken"], true, "{seen}");
    assert!(seen["tools"].as_u64().is_some_and(|n| n > 0), "{seen}");
    assert_eq!(seen["serverName"], "moat", "{seen}");
}

/// With `client_registration: pending`, a self-registered client exists but cannot obtain a
/// code until an operator approves it with `moat agents resume`.
#[tokio::test]
async fn self_registered_clients_wait_for_approval_when_so_configured() {
    let server = start_with("pending");
    let issuer = server.url.trim_end_matches("/mcp").to_owned();
    common::init_crypto();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let registered: Value = http
        .post(format!("{issuer}/oauth/register"))
        .json(&serde_json::json!({"client_name": "Newcomer",
            "redirect_uris": ["http://127.0.0.1:1/callback"], "scope": "tools:read"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let id = registered["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let agent: Value =
        serde_json::from_str(&server.moat(&["agents", "show", &id, "--json"])).expect("json");
    assert_eq!(agent["status"], "pending");
    let authorize = format!(
        "{issuer}/oauth/authorize?response_type=code&client_id={id}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback&state=s1\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
    let held = http.get(&authorize).send().await.expect("GET");
    assert_eq!(held.status().as_u16(), 303);
    let location = held.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.starts_with("http://127.0.0.1:1/callback?error=access_denied"),
        "{location}"
    );
    assert!(location.contains("state=s1"), "{location}");
    assert!(location.contains("awaits%20approval"), "{location}");

    server.moat(&["agents", "resume", &id]);
    let page = http.get(&authorize).send().await.expect("GET");
    assert_eq!(
        page.status().as_u16(),
        200,
        "approved: the consent page is shown"
    );
    assert!(page.text().await.expect("page").contains("Newcomer"));
}

/// An upstream protected by OAuth (here another moat with its built-in server) is reached with
/// moat's own client-credentials token, fetched and renewed by moat; the client's side needs
/// none of it, and without the credentials the upstream refuses moat.
#[tokio::test]
async fn moat_authenticates_to_an_oauth_protected_upstream_as_itself() {
    let protected = start();
    let registered = protected.moat(&[
        "agents",
        "register",
        "gateway-a",
        "--name",
        "Gateway A",
        "--scope",
        "tools:call",
        "--client-credentials",
    ]);
    let secret = registered.lines().last().expect("secret").trim().to_owned();
    let dir = TempDir::new();
    let secret_file = dir.write("upstream.secret", &secret);
    let issuer = protected.url.trim_end_matches("/mcp").to_owned();
    let upstream = |oauth: bool| {
        let mut yaml = format!(
            "upstreams:\n  crm:\n    approval: auto\n    http:\n      url: {}\n",
            protected.url
        );
        if oauth {
            yaml.push_str(&format!(
                "    oauth:\n      token_url: {issuer}/oauth/token\n      client_id: gateway-a\n      client_secret: file:{}\n      scope: tools:call\n",
                secret_file.display()
            ));
        }
        yaml
    };
    let gateway = Moat::with_config(&dir, &upstream(true));
    let session = common::http::RawSession::open(&gateway.url, "2025-11-25").await;
    let tools = session.tool_names().await;
    // Both moats prefix by default when names could collide; the tool is the fixture's echo.
    let echo = tools
        .iter()
        .find(|t| t.ends_with("fx__echo"))
        .unwrap_or_else(|| panic!("{tools:?}"))
        .clone();
    let echoed = session
        .call_tool(&echo, serde_json::json!({"text": "through two moats"}))
        .await;
    assert!(
        common::http::tool_text(&echoed).contains("through two moats"),
        "{echoed}"
    );
    let agent: Value =
        serde_json::from_str(&protected.moat(&["agents", "show", "gateway-a", "--json"]))
            .expect("json");
    assert!(
        agent["tokens_issued"].as_u64().is_some_and(|n| n >= 1),
        "{agent}"
    );
    assert!(agent["last_seen_at"].is_string(), "{agent}");

    let dir2 = TempDir::new();
    let bare = Moat::with_config(&dir2, &upstream(false));
    let session = common::http::RawSession::open(&bare.url, "2025-11-25").await;
    let refused = session
        .post(&common::http::request(
            "tools/call",
            serde_json::json!({"name": echo, "arguments": {"text": "x"}}),
        ))
        .await;
    let answer = refused.json().clone();
    assert_eq!(answer["error"]["data"]["server"], "crm", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("401")),
        "without credentials the upstream refuses moat: {answer}"
    );
}

/// POSTs to the OAuth endpoints are limited per source address (password guessing,
/// registration floods, argon2 work): over the limit, 429 with `Retry-After` before any work.
#[tokio::test]
async fn oauth_posts_are_limited_per_source_address() {
    let dir = TempDir::new();
    let (_moat, port) = Moat::config_for_port(&dir, "moat listening on http://", &[], |port| {
        format!(
            "listen: 127.0.0.1:{port}\nscopes:\n  tools:call:\n    description: call tools\n\
             auth:\n  issuer: http://127.0.0.1:{port}\n  resource: http://127.0.0.1:{port}/mcp\n  server:\n    client_registration: open\n    requests_per_source: 3/min\n\
             upstreams:\n  fx:\n    approval: auto\n    builtin: fixture\n"
        )
    });
    let token_url = format!("http://127.0.0.1:{port}/oauth/token");
    let post = || {
        client()
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&client_id=nobody&client_secret=wrong")
            .send()
    };
    for _ in 0..3 {
        let resp = post().await.expect("POST /oauth/token");
        assert_eq!(
            resp.status().as_u16(),
            401,
            "a wrong client is refused as such first"
        );
    }
    let over = post().await.expect("POST /oauth/token");
    assert_eq!(over.status().as_u16(), 429);
    let retry: u64 = over.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=20).contains(&retry),
        "one of 3 a minute is back within 20 s: {retry}"
    );
    let body: Value = over.json().await.expect("JSON error");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    // Reading metadata is not limited.
    let meta = client()
        .get(format!(
            "http://127.0.0.1:{port}/.well-known/oauth-authorization-server"
        ))
        .send()
        .await
        .expect("GET metadata");
    assert_eq!(meta.status().as_u16(), 200);
}
