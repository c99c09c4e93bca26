//! `moat discover`: the real binary on a fixture tree (every client config format and SDK, with
//! decoys) and on loopback ports (server-everything over Streamable HTTP and legacy SSE, moat's
//! fixture, moat behind authentication, a plain HTTP server, a silent port, a closed one).

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};

use common::servers::{installed, s};
use common::{Process, TempDir, fixture, moat_bin};
use serde_json::Value;

/// Every secret value the fixture's configs hold: none may be printed.
const SECRETS: &[&str] = &[
    "FIXTURESECRET",
    "ghp_",
    "Bearer ",
    "postgresql://",
    "/home/me/FIXTURE",
];

fn moat(args: &[&str]) -> Output {
    Command::new(moat_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run moat")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "moat failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("list the fixture") {
        let entry = entry.expect("a fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a fixture file");
        }
    }
}

/// The fixture tree plus decoys git cannot hold: a `.git` and a `target` directory with server
/// code and configs, and a symbolic link to a directory outside the tree.
fn fixture_tree(dir: &TempDir, outside: &TempDir) -> std::path::PathBuf {
    let root = dir.path().join("repo");
    copy_tree(&fixture("discover"), &root);
    for skipped in [".git", "target/debug"] {
        std::fs::create_dir_all(root.join(skipped)).expect("create a decoy directory");
        std::fs::write(
            root.join(skipped).join(".mcp.json"),
            r#"{"mcpServers": {"hidden": {"command": "never"}}}"#,
        )
        .expect("write a decoy");
    }
    outside.write("outside.py", "from mcp.server.fastmcp import FastMCP\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), root.join("linked")).expect("symlink");
    root
}

const CONFIG: &str = r#"upstreams:
  fs:
    stdio:
      command: /usr/local/bin/npx
      args: ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]
      allow_floating: registered as the desktop client runs it, to be matched
  everything:
    http:
      url: http://127.0.0.1:3001/mcp/
  weather:
    stdio:
      command: python3
      args: ["/srv/repo/servers/weather/server.py"]
"#;

#[test]
fn code_finds_every_declared_server_and_sdk_and_prints_no_secret() {
    let (dir, outside) = (TempDir::new(), TempDir::new());
    let root = fixture_tree(&dir, &outside);
    let config = dir.write("moat.yaml", CONFIG);
    let (root, config) = (s(&root), s(&config));
    let out = moat(&[
        "discover", "code", root, "--config", config, "--format", "json",
    ]);
    let report = json_of(&out);
    assert_eq!(report["schema"], "moat.discover.code/v1");

    let declared: BTreeSet<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "declared")
        .map(|f| {
            let t = &f["transport"];
            let target = match t["type"].as_str() {
                Some("stdio") => format!("{} {}", t["command"].as_str().unwrap(), t["args"]),
                _ => t["url"].as_str().unwrap().to_owned(),
            };
            format!(
                "{} {} {}:{} {} {} env={} headers={} {}",
                f["format"].as_str().unwrap(),
                f["name"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"],
                t["type"].as_str().unwrap(),
                target,
                t["env"],
                t["headers"],
                registration(f),
            )
        })
        .collect();
    let expected: BTreeSet<String> = [
        r#"claude-desktop filesystem claude_desktop_config.json:3 stdio npx ["-y","@modelcontextprotocol/server-filesystem","/Users/me/Desktop"] env=[] headers=null registered:fs"#,
        r#"claude-desktop github claude_desktop_config.json:7 stdio docker ["run","-i","--rm","-e","GITHUB_PERSONAL_ACCESS_TOKEN","ghcr.io/github/github-mcp-server"] env=["GITHUB_PERSONAL_ACCESS_TOKEN"] headers=null shadow"#,
        r#"claude-code-project time .mcp.json:3 stdio uvx ["mcp-server-time","--local-timezone","UTC"] env=[] headers=null shadow"#,
        r#"claude-code-project linear .mcp.json:9 sse https://mcp.linear.app/sse env=null headers=[] shadow"#,
        r#"claude-code-project internal-api .mcp.json:13 http http://10.0.0.12:8080/mcp?token=REDACTED env=null headers=["Authorization"] shadow"#,
        r#"cursor weather .cursor/mcp.json:3 stdio python ["servers/weather/server.py"] env=["WEATHER_API_KEY"] headers=null shadow"#,
        r#"cursor remote-docs .cursor/mcp.json:10 http https://docs.example.com/mcp env=null headers=[] shadow"#,
        r#"vscode perplexity .vscode/mcp.json:11 stdio npx ["-y","server-perplexity-ask"] env=["PERPLEXITY_API_KEY"] headers=null shadow"#,
        r#"vscode everything-http .vscode/mcp.json:19 http http://localhost:3001/mcp env=null headers=[] registered:everything"#,
        r#"windsurf brave-search .codeium/windsurf/mcp_config.json:3 stdio npx ["-y","@modelcontextprotocol/server-brave-search"] env=["BRAVE_API_KEY"] headers=null shadow"#,
        r#"windsurf remote .codeium/windsurf/mcp_config.json:10 http https://remote.example.com/mcp env=null headers=[] shadow"#,
        r#"codex context7 .codex/config.toml:4 stdio npx ["-y","@upstash/context7-mcp"] env=["CONTEXT7_API_KEY"] headers=null shadow"#,
        r#"codex figma .codex/config.toml:9 http https://mcp.figma.com/mcp env=null headers=["Authorization"] shadow"#,
        r#"claude-code-settings sentry .claude/settings.json:6 http https://mcp.sentry.dev/mcp env=null headers=[] shadow"#,
        r#"claude-code-user memory .claude.json:4 stdio npx ["-y","@modelcontextprotocol/server-memory"] env=["MEMORY_FILE_PATH"] headers=null shadow"#,
        r#"claude-code-user postgres .claude.json:17 stdio npx ["-y","@modelcontextprotocol/server-postgres"] env=["DATABASE_URL"] headers=null shadow"#,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(declared, expected);

    let findings = report["findings"].as_array().expect("findings");
    let by_name = |name: &str| findings.iter().find(|f| f["name"] == name).expect(name);
    assert_eq!(by_name("postgres")["project"], "/home/me/app");
    assert_eq!(
        by_name("perplexity")["inputs"],
        serde_json::json!(["perplexity-key"])
    );

    let sdks: BTreeSet<String> = findings
        .iter()
        .filter(|f| f["kind"] == "implementation")
        .map(|f| {
            format!(
                "{}:{} {} {} {}",
                f["file"].as_str().unwrap(),
                f["line"],
                f["language"].as_str().unwrap(),
                f["sdk"].as_str().unwrap(),
                registration(f)
            )
        })
        .collect();
    let expected: BTreeSet<String> = [
        "servers/notes/src/index.ts:1 typescript @modelcontextprotocol/sdk shadow",
        "servers/legacy-js/server.mjs:2 javascript @modelcontextprotocol/sdk shadow",
        "servers/weather/server.py:3 python mcp registered:weather",
        "servers/fast/app.py:3 python fastmcp shadow",
        "servers/rust-tools/src/main.rs:3 rust rmcp shadow",
        "servers/go-official/main.go:19 go github.com/modelcontextprotocol/go-sdk shadow",
        "servers/go-mark3labs/main.go:7 go github.com/mark3labs/mcp-go shadow",
        "servers/java/src/main/java/com/example/WeatherServer.java:3 java io.modelcontextprotocol.sdk shadow",
        "servers/kotlin/src/main/kotlin/Main.kt:2 kotlin io.modelcontextprotocol:kotlin-sdk shadow",
        "servers/csharp/Program.cs:2 csharp ModelContextProtocol shadow",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(
        sdks, expected,
        "client code, README, comments, node_modules, .venv, .git, target and the symlink are not findings"
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"servers": 26, "shadow": 23, "registered": 3})
    );
    assert_eq!(report["problems"], serde_json::json!([]));

    // Neither format prints a secret.
    let table = moat(&["discover", "code", root, "--config", config]);
    assert!(table.status.success());
    for out in [&out, &table] {
        let text = String::from_utf8_lossy(&out.stdout);
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret:?} printed:\n{text}");
        }
    }
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("26 MCP server(s): 23 shadow, 3 registered"),
        "{table}"
    );

    // --fail-on-shadow turns shadow findings into exit status 3.
    let failed = moat(&[
        "discover",
        "code",
        root,
        "--fail-on-shadow",
        "--format",
        "json",
    ]);
    assert_eq!(failed.status.code(), Some(3));
    assert_eq!(json_of_any(&failed)["summary"]["shadow"], 26);
}

fn json_of_any(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn registration(f: &Value) -> String {
    match f["registration"]["status"].as_str() {
        Some("registered") => format!(
            "registered:{}",
            f["registration"]["upstream"].as_str().expect("an upstream")
        ),
        Some(other) => other.to_owned(),
        None => "none".to_owned(),
    }
}

/// A plain HTTP server (not MCP): every request gets an HTML page.
fn plain_http() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            std::thread::spawn(move || answer_html(stream));
        }
    });
    port
}

fn answer_html(mut stream: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the whole request (head and body) before answering, as a real server does.
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = "<html><body>Welcome. We like MCP.</body></html>";
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A port that accepts connections and never says a word.
fn silent() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

#[test]
fn net_classifies_loopback_ports_and_compares_with_the_config() {
    let servers = installed();
    let (_everything, everything) = Process::start_on_free_port(
        "server-everything (streamableHttp)",
        "listening on port",
        &["already in use", "EADDRINUSE"],
        |port| {
            let mut cmd = Command::new(&servers.node);
            cmd.arg(&servers.everything)
                .arg("streamableHttp")
                .env("PORT", port.to_string());
            cmd
        },
    );
    // The same server in legacy HTTP+SSE mode (GET /sse, then POST to its endpoint).
    let (_everything_sse, everything_sse) = Process::start_on_free_port(
        "server-everything (sse)",
        "Server is running on port",
        &["already in use", "EADDRINUSE"],
        |port| {
            let mut cmd = Command::new(&servers.node);
            cmd.arg(&servers.everything)
                .arg("sse")
                .env("PORT", port.to_string());
            cmd
        },
    );
    let (_fixture, fixture_port) = Process::start_on_free_port(
        "moat fixture",
        "listening on http://",
        &["cannot listen"],
        |port| {
            let mut cmd = Command::new(moat_bin());
            cmd.args(["fixture", "--listen", &format!("127.0.0.1:{port}")]);
            cmd
        },
    );
    // moat itself behind authentication: a 401 with a resource_metadata challenge.
    let auth_dir = TempDir::new();
    let (_protected, protected) = common::Moat::config_for_port(
        &auth_dir,
        "moat listening on http://",
        &[],
        |port| {
            format!(
                "listen: 127.0.0.1:{port}\nauth:\n  issuer: https://idp.example.invalid\n  resource: http://127.0.0.1:{port}/mcp\n  jwks: http://127.0.0.1:9/jwks.json\n  required_scopes: [mcp:use]\nupstreams:\n  fx:\n    builtin: fixture\n"
            )
        },
    );
    let (html, quiet) = (plain_http(), silent());
    let closed = common::free_port();
    let dir = TempDir::new();
    // The fixture is registered (under `localhost`: matching reads it as the same loopback);
    // server-everything is not.
    let config = dir.write(
        "moat.yaml",
        &format!(
            "upstreams:\n  fixture:\n    http:\n      url: http://localhost:{fixture_port}/mcp\n"
        ),
    );
    let ports =
        format!("{everything},{everything_sse},{fixture_port},{protected},{html},{quiet},{closed}");
    let out = moat(&[
        "discover",
        "net",
        "127.0.0.1",
        "--ports",
        &ports,
        "--timeout",
        "1s",
        "--config",
        s(&config),
        "--format",
        "json",
    ]);
    let report = json_of(&out);
    assert_eq!(report["schema"], "moat.discover.net/v1");
    let probes = report["probes"].as_array().expect("probes");
    let at = |port: u16| {
        probes
            .iter()
            .find(|p| p["port"] == port)
            .unwrap_or_else(|| panic!("port {port} missing from {report:#}"))
    };
    let ev = at(everything);
    assert_eq!(ev["state"], "mcp", "{ev:#}");
    assert_eq!(ev["server"]["name"], "mcp-servers/everything");
    assert_eq!(ev["server"]["transport"], "streamable-http");
    assert_eq!(ev["server"]["path"], "/mcp");
    assert_eq!(ev["server"]["evidence"], "initialize");
    assert!(ev["server"]["protocol_version"].is_string(), "{ev:#}");
    assert_eq!(ev["registration"]["status"], "shadow");

    let legacy = at(everything_sse);
    assert_eq!(legacy["state"], "mcp", "{legacy:#}");
    assert_eq!(legacy["server"]["name"], "mcp-servers/everything");
    assert_eq!(legacy["server"]["transport"], "sse");
    assert_eq!(legacy["server"]["path"], "/sse");
    assert_eq!(legacy["server"]["evidence"], "initialize");

    let fx = at(fixture_port);
    assert_eq!(fx["state"], "mcp", "{fx:#}");
    assert_eq!(fx["server"]["name"], "moat-fixture");
    assert_eq!(
        fx["registration"],
        serde_json::json!({"status": "registered", "upstream": "fixture"})
    );

    let guarded = at(protected);
    assert_eq!(guarded["state"], "mcp", "{guarded:#}");
    assert_eq!(guarded["server"]["protected"], true);
    assert_eq!(guarded["server"]["evidence"], "auth-challenge");
    assert_eq!(
        guarded["server"]["resource_metadata"],
        format!("http://127.0.0.1:{protected}/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(guarded["registration"]["status"], "shadow");

    let web = at(html);
    assert_eq!(web["state"], "http-not-mcp", "{web:#}");
    assert_eq!(web["http_status"], 200);
    assert!(web.get("server").is_none() && web.get("registration").is_none());

    assert_eq!(at(quiet)["state"], "open-not-http");
    assert_eq!(at(quiet)["detail"], "no answer before the timeout");
    assert!(
        probes.iter().all(|p| p["port"] != closed),
        "closed ports are left out: {report:#}"
    );
    assert_eq!(
        report["summary"],
        serde_json::json!({"servers": 4, "shadow": 3, "registered": 1})
    );
    let listed: Vec<u64> = probes.iter().map(|p| p["port"].as_u64().unwrap()).collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted, "ports in ascending order");

    // The table says the same; --all lists the closed port.
    let table = moat(&[
        "discover",
        "net",
        "127.0.0.1",
        "--ports",
        &ports,
        "--timeout",
        "1s",
        "--all",
        "--config",
        s(&config),
    ]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{closed}")) && text.contains("closed"),
        "{text}"
    );
    assert!(
        text.contains("registered (fixture)") && text.contains("mcp-servers/everything"),
        "{text}"
    );
    assert!(
        text.contains("4 MCP server(s): 3 shadow, 1 registered"),
        "{text}"
    );
}

#[test]
fn net_refuses_too_many_addresses_and_bad_ports() {
    let out = moat(&["discover", "net", "10.0.0.0/8", "--ports", "80"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("16777216 addresses") && err.contains("65536"),
        "{err}"
    );
    let out = moat(&["discover", "net", "127.0.0.1", "--ports", "90-80"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs backwards"));
}
