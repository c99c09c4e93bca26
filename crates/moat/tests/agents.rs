//! The agent registry: agents seen with valid tokens are recorded (unknown ones flagged as
//! unregistered, or refused when so configured), suspended agents are refused, and `moat agents`
//! shows and changes the registry.

mod common;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::http::{client, initialize};
use common::{Moat, Process, TempDir, moat_bin};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ISS: &str = "https://idp.test";

struct Setup {
    dir: TempDir,
    _moat: Process,
    url: String,
    store: String,
    key: EncodingKey,
}

fn start(unregistered: &str) -> Setup {
    let dir = TempDir::new();
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
    let jwk = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "alg": "EdDSA",
                              "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw())}]});
    let jwks = dir.write("jwks.json", &jwk.to_string());
    let store = format!("sqlite://{}", dir.path().join("moat.db").display());
    let (moat, port) = Moat::config_for_port(&dir, "moat listening on http://", &[], |port| {
        let yaml = format!(
            "listen: 127.0.0.1:{port}\nstore: {store}\nauth:\n  issuer: {ISS}\n  resource: http://127.0.0.1:{port}/mcp\n  jwks: file:{}\n  unregistered_agents: {unregistered}\nupstreams:\n  fx:\n    approval: auto\n    builtin: fixture\n",
            jwks.display()
        );
        yaml
    });
    let key = EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).expect("pem");
    Setup {
        dir,
        _moat: moat,
        url: format!("http://127.0.0.1:{port}/mcp"),
        store,
        key,
    }
}

impl Setup {
    fn token(&self, client_id: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let claims = json!({"iss": ISS, "aud": self.url, "sub": "alice", "client_id": client_id, "iat": now, "exp": now + 300});
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k".into());
        encode(&header, &claims, &self.key).expect("sign")
    }

    async fn initialize_as(&self, client_id: &str) -> (u16, String) {
        let resp = client()
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", self.token(client_id)))
            .body(initialize("2025-11-25").to_string())
            .send()
            .await
            .expect("POST");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    /// `moat agents --store … ARGS --json`, which must succeed.
    fn agents(&self, args: &[&str]) -> Value {
        let out = Command::new(moat_bin())
            .args(["agents", "--store", &self.store, "--json"])
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run moat agents");
        assert!(
            out.status.success(),
            "moat agents {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }
}

#[tokio::test]
async fn unknown_agents_are_flagged_and_suspended_ones_refused() {
    let s = start("flag");
    let (status, body) = s.initialize_as("shadow-agent").await;
    assert_eq!(status, 200, "{body}");
    let list = s.agents(&["list", "--status", "unregistered"]);
    let shadow = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|a| a["id"] == "shadow-agent")
        .cloned();
    let shadow = shadow.unwrap_or_else(|| panic!("shadow-agent not recorded: {list}"));
    assert_eq!(shadow["status"], "unregistered");
    assert!(shadow["last_seen_at"].is_string(), "{shadow}");

    let registered = s.agents(&[
        "register", "agent-2", "--name", "Two", "--owner", "team-a", "--scope", "mcp:use",
    ]);
    assert_eq!(
        (registered["status"].as_str(), registered["owner"].as_str()),
        (Some("active"), Some("team-a"))
    );
    let suspended = s.agents(&["suspend", "agent-2"]);
    assert_eq!(suspended["status"], "suspended");
    let (status, body) = s.initialize_as("agent-2").await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("agent \\\"agent-2\\\" is suspended"),
        "{body}"
    );
    assert_eq!(s.agents(&["show", "agent-2"])["status"], "suspended");
}

#[tokio::test]
async fn unknown_agents_can_be_refused_outright() {
    let s = start("deny");
    let (status, body) = s.initialize_as("stranger").await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("is unregistered"), "{body}");
    s.agents(&["register", "known", "--name", "Known"]);
    let (status, body) = s.initialize_as("known").await;
    assert_eq!(status, 200, "a registered agent is served: {body}");
}
