//! Human approval of destructive calls, through the running gateway with the real
//! `@modelcontextprotocol/server-filesystem` (whose `write_file` says `destructiveHint: true`):
//! a held call is released by `moat approvals approve`, refused by `deny` or when nobody decides
//! in time, asked of the user through elicitation when the client (rmcp) supports it, and let
//! through by a standing consent.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::http::RawSession;
use common::servers::{installed, s};
use common::tokens::{Key, access_token, key, serve_with_issuer};
use common::{Process, TIMEOUT, TempDir, init_crypto, moat_bin};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, Implementation, ProtocolVersion,
};
use rmcp::service::{RequestContext, RoleClient};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, ServiceExt};
use serde_json::{Value, json};

const VERSION: &str = "2025-11-25";
/// The agent every test calls as, acting for this user.
const AGENT: &str = "writer-bot";
const USER: &str = "alice";

struct Setup {
    dir: TempDir,
    files: TempDir,
    moat: Process,
    url: String,
    store: String,
    key: Key,
}

/// moat in front of server-filesystem (trusted: its annotations are believed), with a store and
/// bearer tokens from a test issuer.
fn start(extra_policy: &str) -> Setup {
    let servers = installed();
    let dir = TempDir::new();
    let files = TempDir::new();
    let key = key("k1");
    let store = format!("sqlite://{}", dir.path().join("moat.db").display());
    let (moat, port) = serve_with_issuer(&dir, &key, |_| {
        format!(
            r#"store: {store}
upstreams:
  fs:
    approval: auto
    stdio:
      command: {node:?}
      args: [{filesystem:?}, {root:?}]
policy:
  servers:
    fs:
      trusted: true
{extra_policy}"#,
            node = s(&servers.node),
            filesystem = s(&servers.filesystem),
            root = s(files.path()),
        )
    });
    Setup {
        dir,
        files,
        moat,
        url: format!("http://127.0.0.1:{port}/mcp"),
        store,
        key,
    }
}

impl Setup {
    /// A token for the agent acting for the user, with the filesystem's default scopes.
    fn token(&self) -> String {
        access_token(&self.key, &self.url, AGENT, USER, "fs:read fs:write")
    }

    async fn session(&self) -> Arc<RawSession> {
        Arc::new(RawSession::open_as(&self.url, VERSION, Some(&self.token())).await)
    }

    /// An rmcp client with `handler`, sending the token.
    async fn rmcp<H: ClientHandler>(
        &self,
        handler: H,
    ) -> rmcp::service::RunningService<RoleClient, H> {
        init_crypto();
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone())
            .auth_header(self.token());
        let transport = StreamableHttpClientTransport::from_config(config);
        tokio::time::timeout(TIMEOUT, handler.serve(transport))
            .await
            .expect("initialized in time")
            .expect("initialized")
    }

    /// Runs `moat approvals|consents ARGS --store URL --json` and returns its JSON output.
    fn cli(&self, args: &[&str]) -> Value {
        let out = Command::new(moat_bin())
            .args(args)
            .args(["--store", &self.store, "--json"])
            .output()
            .expect("run moat");
        assert!(
            out.status.success(),
            "moat {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    fn path(&self, name: &str) -> String {
        self.files.path().join(name).display().to_string()
    }

    fn write_args(&self, name: &str, content: &str) -> Value {
        json!({"path": self.path(name), "content": content})
    }

    /// The one pending approval, once moat has logged that it holds a call.
    fn pending(&self) -> Value {
        self.moat.wait_for_log("call held for approval");
        let list = self.cli(&["approvals", "list"]);
        let list = list.as_array().expect("a list");
        assert_eq!(list.len(), 1, "{list:?}");
        list[0].clone()
    }
}

fn spawn_call(
    session: &Arc<RawSession>,
    tool: &str,
    args: Value,
) -> tokio::task::JoinHandle<Value> {
    let session = session.clone();
    let tool = tool.to_owned();
    tokio::spawn(async move { session.call_tool(&tool, args).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_call_runs_once_an_operator_approves_it() {
    let setup = start("");
    let session = setup.session().await;
    // Reading is not destructive: it is not held.
    std::fs::write(setup.files.path().join("a.txt"), "alpha").expect("write a.txt");
    let read = session
        .call_tool("fs__read_text_file", json!({"path": setup.path("a.txt")}))
        .await;
    assert_eq!(common::http::tool_text(&read), "alpha", "{read}");

    let call = spawn_call(
        &session,
        "fs__write_file",
        setup.write_args("b.txt", "beta"),
    );
    let pending = setup.pending();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["server"], "fs");
    assert_eq!(pending["tool"], "write_file");
    assert_eq!(pending["channel"], "queue");
    assert_eq!(pending["agent"], AGENT);
    assert_eq!(pending["subject"], USER);
    assert!(
        pending["rules"]
            .as_array()
            .expect("rules")
            .contains(&json!("approval:fs:destructive")),
        "{pending}"
    );
    assert!(
        pending["arguments"]
            .as_str()
            .expect("arguments")
            .contains("beta")
    );
    assert_eq!(pending["arguments_sha256"].as_str().map(str::len), Some(64));
    assert!(
        !setup.files.path().join("b.txt").exists(),
        "held calls do not run"
    );

    let id = pending["id"].as_str().expect("id");
    let approved = setup.cli(&["approvals", "approve", id, "--by", "ops", "--note", "fine"]);
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], "cli:ops");
    let answer = tokio::time::timeout(TIMEOUT, call)
        .await
        .expect("answered")
        .expect("task");
    assert!(answer.get("result").is_some(), "{answer}");
    assert_eq!(
        std::fs::read_to_string(setup.files.path().join("b.txt")).expect("b.txt written"),
        "beta"
    );
    // A decision is taken once.
    let again = Command::new(moat_bin())
        .args(["approvals", "deny", id, "--store", &setup.store])
        .output()
        .expect("run moat");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("approved"));
    drop(setup.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_undecided_calls_are_refused() {
    let setup = start("  approval: {timeout: 2s}\n");
    let session = setup.session().await;

    let call = spawn_call(
        &session,
        "fs__write_file",
        setup.write_args("c.txt", "gamma"),
    );
    let pending = setup.pending();
    let id = pending["id"].as_str().expect("id").to_owned();
    let denied = setup.cli(&["approvals", "deny", &id, "--note", "not today"]);
    assert_eq!(denied["status"], "denied");
    let answer = tokio::time::timeout(TIMEOUT, call)
        .await
        .expect("answered")
        .expect("task");
    assert_eq!(answer["error"]["code"], -32032, "{answer}");
    assert_eq!(answer["error"]["data"]["approval"]["status"], "denied");
    assert!(
        answer["error"]["message"]
            .as_str()
            .expect("message")
            .contains("not today"),
        "{answer}"
    );

    // Nobody decides: refused after the 2 s timeout, and recorded as expired.
    let answer = session
        .call_tool("fs__write_file", setup.write_args("d.txt", "delta"))
        .await;
    assert_eq!(answer["error"]["code"], -32032, "{answer}");
    assert_eq!(answer["error"]["data"]["approval"]["status"], "expired");
    assert!(!setup.files.path().join("c.txt").exists());
    assert!(!setup.files.path().join("d.txt").exists());
    let all = setup.cli(&["approvals", "list", "--all"]);
    let statuses: Vec<&str> = all
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["status"].as_str())
        .collect();
    assert_eq!(statuses.len(), 2, "{all}");
    assert!(
        statuses.contains(&"denied") && statuses.contains(&"expired"),
        "{statuses:?}"
    );
}

/// An rmcp client that declares elicitation and answers every request as told, counting them.
#[derive(Clone)]
struct Asked {
    accept: bool,
    remember_hours: u64,
    asked: Arc<AtomicUsize>,
    last_message: Arc<Mutex<String>>,
}

impl ClientHandler for Asked {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        capabilities.elicitation = Some(ElicitationCapability::new());
        ClientConfig::new(capabilities, Implementation::new("moat-tests", "0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if let ElicitRequestParams::FormElicitationParams { message, .. } = request {
            *self.last_message.lock().expect("slot") = message;
        }
        Ok(if self.accept {
            ElicitResult::new(ElicitationAction::Accept)
                .with_content(json!({"remember_hours": self.remember_hours}))
        } else {
            ElicitResult::new(ElicitationAction::Decline)
        })
    }
}

async fn call_via(
    client: &rmcp::service::RunningService<RoleClient, impl ClientHandler>,
    args: Value,
) -> Result<rmcp::model::CallToolResult, rmcp::ServiceError> {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    let params = CallToolRequestParams::new("fs__write_file").with_arguments(args);
    tokio::time::timeout(TIMEOUT, client.call_tool(params))
        .await
        .expect("answered in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_is_asked_through_elicitation_and_may_consent_for_hours() {
    let setup = start("");
    let handler = Asked {
        accept: true,
        remember_hours: 1,
        asked: Arc::default(),
        last_message: Arc::default(),
    };
    let client = setup.rmcp(handler.clone()).await;

    let first = call_via(&client, setup.write_args("e.txt", "epsilon"))
        .await
        .expect("approved call");
    assert_ne!(first.is_error, Some(true), "{first:?}");
    assert_eq!(handler.asked.load(Ordering::SeqCst), 1);
    let message = handler.last_message.lock().expect("slot").clone();
    assert!(
        message.contains("fs/write_file") && message.contains("epsilon"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(setup.files.path().join("e.txt")).expect("e.txt"),
        "epsilon"
    );
    // The user allowed the tool for an hour: the next call is not asked about.
    call_via(&client, setup.write_args("f.txt", "phi"))
        .await
        .expect("consented call");
    assert_eq!(handler.asked.load(Ordering::SeqCst), 1);
    assert!(setup.files.path().join("f.txt").exists());

    let consents = setup.cli(&["consents", "list"]);
    let consents = consents.as_array().expect("list");
    assert_eq!(consents.len(), 1, "{consents:?}");
    assert_eq!(consents[0]["tool"], "write_file");
    let recorded = setup.cli(&["approvals", "list", "--all"]);
    assert_eq!(recorded[0]["channel"], "elicitation");
    assert_eq!(recorded[0]["status"], "approved");

    // Revoked: asked again, and this time the user declines.
    let id = consents[0]["id"].as_str().expect("id");
    setup.cli(&["consents", "revoke", id]);
    client.cancel().await.expect("close");
    let declining = Asked {
        accept: false,
        ..handler.clone()
    };
    let client = setup.rmcp(declining).await;
    let refused = call_via(&client, setup.write_args("g.txt", "gamma")).await;
    let err = refused.expect_err("declined call is refused");
    assert!(
        matches!(&err, rmcp::ServiceError::McpError(e) if e.code.0 == -32032 && e.message.contains("decline")),
        "{err}"
    );
    assert_eq!(handler.asked.load(Ordering::SeqCst), 2);
    assert!(!setup.files.path().join("g.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_consent_from_the_command_line_needs_no_approval() {
    // The plain rmcp test client declares no elicitation, so its call would wait in the queue;
    // a standing consent given from the command line lets it through at once.
    let setup = start("");
    let client = setup.rmcp(common::client::TestClient).await;
    setup.cli(&[
        "consents",
        "grant",
        "--agent",
        AGENT,
        "--user",
        USER,
        "--tool",
        "fs/write_file",
        "--for",
        "10m",
    ]);
    let result =
        common::client::call(&client, "fs__write_file", setup.write_args("h.txt", "eta")).await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert!(setup.files.path().join("h.txt").exists());
    let recorded = setup.cli(&["approvals", "list", "--all"]);
    assert_eq!(
        recorded,
        json!([]),
        "a standing consent needs no approval record"
    );
    assert!(setup.moat.log().contains("standing consent"));
}
