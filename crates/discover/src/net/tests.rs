//! Probes of hand-written servers on loopback: each way an MCP server can answer, and each way
//! a port can fail to be one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::*;

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"NAME","version":"1.2.3"}}}"#;

/// A request as the mock saw it.
struct Request {
    method: String,
    path: String,
    head: String,
}

/// What the mock writes back: `first`, then (once `then` is notified) `after`.
struct Reply {
    first: String,
    then: Option<Arc<Notify>>,
    after: String,
}

fn reply(status: &str, headers: &str, body: &str) -> Reply {
    Reply {
        first: format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
        then: None,
        after: String::new(),
    }
}

fn init_json(name: &str) -> String {
    INIT.replace("NAME", name)
}

/// Serves HTTP/1.1 on a loopback port with `handler`; returns the port.
async fn mock(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move { answer(stream, &*handler).await });
        }
    });
    port
}

async fn answer(mut stream: TcpStream, handler: &(dyn Fn(&Request) -> Reply + Send + Sync)) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let first_line = head.lines().next().unwrap_or("").to_owned();
    let mut words = first_line.split(' ');
    let request = Request {
        method: words.next().unwrap_or("").to_uppercase(),
        path: words.next().unwrap_or("").to_owned(),
        head,
    };
    let reply = handler(&request);
    if stream.write_all(reply.first.as_bytes()).await.is_err() {
        return;
    }
    if let Some(then) = reply.then {
        then.notified().await;
        let _ = stream.write_all(reply.after.as_bytes()).await;
    }
    let _ = stream.shutdown().await;
}

async fn probe_port(port: u16) -> Probe {
    let options = ProbeOptions {
        timeout: Duration::from_millis(500),
        include_closed: true,
        ..ProbeOptions::default()
    };
    let host = Host::Ip("127.0.0.1".parse().unwrap());
    let mut found = probe(&[host], &[port], &options).await.unwrap();
    assert_eq!(found.len(), 1);
    found.remove(0)
}

fn not_found() -> Reply {
    reply("404 Not Found", "content-type: text/plain\r\n", "not found")
}

#[tokio::test]
async fn a_json_answer_to_initialize_and_the_session_is_ended() {
    let ended = Arc::new(AtomicBool::new(false));
    let seen = ended.clone();
    let port = mock(move |r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/mcp") => reply(
            "200 OK",
            "content-type: application/json\r\nmcp-session-id: s-1\r\n",
            &init_json("json-server"),
        ),
        ("DELETE", "/mcp") => {
            seen.store(r.head.contains("mcp-session-id: s-1"), Ordering::SeqCst);
            reply("200 OK", "", "")
        }
        _ => not_found(),
    })
    .await;
    let p = probe_port(port).await;
    assert_eq!(p.state, PortState::Mcp);
    let server = p.server.unwrap();
    assert_eq!(server.name.as_deref(), Some("json-server"));
    assert_eq!(server.version.as_deref(), Some("1.2.3"));
    assert_eq!(server.protocol_version.as_deref(), Some("2025-11-25"));
    assert_eq!(server.evidence, Evidence::Initialize);
    assert_eq!(server.transport, McpTransport::StreamableHttp);
    assert_eq!(server.url, format!("http://127.0.0.1:{port}/mcp"));
    assert!(
        ended.load(Ordering::SeqCst),
        "the probe's session was deleted"
    );
}

#[tokio::test]
async fn an_sse_answer_at_root_on_a_stream_that_stays_open() {
    let never = Arc::new(Notify::new());
    let port = mock(move |r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/") if r.head.contains("accept: application/json, text/event-stream") => Reply {
            first: format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n: hi\n\nevent: message\ndata: {}\n\n",
                init_json("sse-server")
            ),
            then: Some(never.clone()),
            after: String::new(),
        },
        _ => not_found(),
    })
    .await;
    let p = probe_port(port).await;
    let server = p.server.expect("found despite the open stream");
    assert_eq!(server.name.as_deref(), Some("sse-server"));
    assert_eq!(server.path, "/");
}

#[tokio::test]
async fn a_401_with_resource_metadata_is_a_protected_server() {
    let port = mock(|_| {
        reply(
            "401 Unauthorized",
            "www-authenticate: Bearer resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\"\r\n",
            "",
        )
    })
    .await;
    let server = probe_port(port).await.server.unwrap();
    assert!(server.protected);
    assert_eq!(server.evidence, Evidence::AuthChallenge);
    assert_eq!(
        server.resource_metadata.as_deref(),
        Some("http://127.0.0.1/.well-known/oauth-protected-resource/mcp")
    );
    // A plain 401 is no evidence.
    let port = mock(|_| {
        reply(
            "401 Unauthorized",
            "www-authenticate: Basic realm=\"x\"\r\n",
            "",
        )
    })
    .await;
    let p = probe_port(port).await;
    assert_eq!((p.state, p.http_status), (PortState::HttpNotMcp, Some(401)));
}

#[tokio::test]
async fn a_stateless_server_answers_server_discover() {
    let port = mock(|r| {
        if r.path != "/mcp" {
            return not_found();
        }
        if r.head.contains("mcp-method: server/discover")
            && r.head.contains("mcp-protocol-version: 2026-07-28")
        {
            let body = r#"{"jsonrpc":"2.0","id":2,"result":{"supportedVersions":["2026-07-28"],"capabilities":{},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"stateless","version":"9"}}}}"#;
            return reply("200 OK", "content-type: application/json\r\n", body);
        }
        let err = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unsupported"}}"#;
        reply("400 Bad Request", "content-type: application/json\r\n", err)
    })
    .await;
    let server = probe_port(port).await.server.unwrap();
    assert_eq!(server.evidence, Evidence::ServerDiscover);
    assert_eq!(server.name.as_deref(), Some("stateless"));
    assert_eq!(server.protocol_version.as_deref(), Some("2026-07-28"));
}

#[tokio::test]
async fn a_legacy_sse_server_is_asked_for_its_name_on_its_endpoint() {
    let posted = Arc::new(Notify::new());
    let port = mock(move |r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/sse") => Reply {
            first: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nevent: endpoint\ndata: /messages?sessionId=abc\n\n".to_owned(),
            then: Some(posted.clone()),
            after: format!("event: message\ndata: {}\n\n", init_json("legacy")),
        },
        ("POST", "/messages?sessionid=abc") => {
            posted.notify_one();
            reply("202 Accepted", "", "")
        }
        _ => not_found(),
    })
    .await;
    let p = probe_port(port).await;
    let server = p.server.unwrap();
    assert_eq!(server.transport, McpTransport::Sse);
    assert_eq!(server.evidence, Evidence::Initialize);
    assert_eq!(server.name.as_deref(), Some("legacy"));
    assert_eq!(server.path, "/sse");
}

#[tokio::test]
async fn plain_http_silence_and_other_protocols() {
    let html = mock(|_| {
        reply(
            "200 OK",
            "content-type: text/html\r\n",
            "<html>MCP docs</html>",
        )
    })
    .await;
    let p = probe_port(html).await;
    assert_eq!(
        (p.state, p.http_status, p.server),
        (PortState::HttpNotMcp, Some(200), None)
    );

    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let p = probe_port(silent_port).await;
    assert_eq!(p.state, PortState::OpenNotHttp);
    assert_eq!(p.detail.as_deref(), Some("no answer before the timeout"));

    let ssh = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ssh_port = ssh.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = ssh.accept().await {
            let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        }
    });
    let p = probe_port(ssh_port).await;
    assert_eq!(p.state, PortState::OpenNotHttp);
    let detail = p.detail.unwrap_or_default();
    assert!(
        !detail.is_empty() && !detail.contains("timeout"),
        "a protocol error: {detail}"
    );
}

#[tokio::test]
async fn closed_ports_are_left_out_unless_asked_for_and_order_is_kept() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let open = mock(|_| reply("200 OK", "", "")).await;
    assert_eq!(probe_port(closed).await.state, PortState::Closed);
    let hosts = [
        Host::Ip("127.0.0.1".parse().unwrap()),
        Host::Name("localhost".into()),
    ];
    let options = ProbeOptions {
        timeout: Duration::from_millis(500),
        concurrency: 1,
        ..ProbeOptions::default()
    };
    let found = probe(&hosts, &[open, closed], &options).await.unwrap();
    let seen: Vec<(String, u16)> = found.iter().map(|p| (p.host.clone(), p.port)).collect();
    assert_eq!(seen[0], ("127.0.0.1".to_owned(), open));
    assert!(seen.iter().all(|(_, port)| *port == open), "{seen:?}");
}

#[tokio::test]
async fn the_probe_count_is_capped() {
    let hosts = vec![Host::Name("h".into()); 3];
    let options = ProbeOptions {
        max_probes: 5,
        ..ProbeOptions::default()
    };
    let err = probe(&hosts, &[1, 2], &options).await.unwrap_err();
    assert!(
        matches!(err, Error::TooManyProbes { count: 6, max: 5 }),
        "{err}"
    );
}

#[tokio::test]
async fn a_legacy_endpoint_elsewhere_is_evidence_but_is_not_posted_to() {
    let port = mock(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/sse") => Reply {
            first: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\nevent: endpoint\ndata: http://192.0.2.1:9/messages\n\n".to_owned(),
            then: Some(Arc::new(Notify::new())),
            after: String::new(),
        },
        _ => not_found(),
    })
    .await;
    let server = probe_port(port).await.server.expect("an MCP server");
    assert_eq!(server.transport, McpTransport::Sse);
    assert_eq!(server.evidence, Evidence::EndpointEvent);
    assert_eq!(server.name, None);
}
