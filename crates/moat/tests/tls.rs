//! The TLS listener speaks TLS 1.3 only: a client offering only TLS 1.2 is refused, a TLS 1.3
//! client gets a working MCP endpoint.

mod common;

use std::sync::Arc;

use common::{Moat, Process, TempDir, init_crypto};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct TlsMoat {
    _process: Process,
    port: u16,
    cert_pem: String,
    _dir: TempDir,
}

fn start() -> TlsMoat {
    init_crypto();
    let dir = TempDir::new();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("generate a certificate");
    let cert_pem = cert.cert.pem();
    let cert_file = dir.write("cert.pem", &cert_pem);
    let key_file = dir.write("key.pem", &cert.signing_key.serialize_pem());
    let (process, port) = Moat::config_for_port(&dir, "moat listening on https://", &[], |port| {
        let yaml = format!(
            "listen: 127.0.0.1:{port}\ntls:\n  cert: {}\n  key: {}\nupstreams:\n  demo:\n    approval: auto\n    builtin: fixture\n",
            cert_file.display(),
            key_file.display()
        );
        yaml
    });
    TlsMoat {
        _process: process,
        port,
        cert_pem,
        _dir: dir,
    }
}

fn client_config(
    cert_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes())
        .expect("PEM certificate");
    roots
        .add(CertificateDer::into_owned(der))
        .expect("trust the test certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

async fn handshake(
    port: u16,
    config: rustls::ClientConfig,
) -> Result<rustls::ProtocolVersion, std::io::Error> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    let stream = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    Ok(stream
        .get_ref()
        .1
        .protocol_version()
        .expect("negotiated version"))
}

#[tokio::test]
async fn a_tls12_only_client_is_refused() {
    let moat = start();
    let refused = handshake(
        moat.port,
        client_config(&moat.cert_pem, &[&rustls::version::TLS12]),
    )
    .await;
    let err = refused.expect_err("a TLS 1.2-only handshake must fail");
    assert!(
        err.to_string().to_lowercase().contains("protocol"),
        "unexpected error: {err}"
    );

    let version = handshake(
        moat.port,
        client_config(
            &moat.cert_pem,
            &[&rustls::version::TLS12, &rustls::version::TLS13],
        ),
    )
    .await
    .expect("a client offering TLS 1.3 connects");
    assert_eq!(version, rustls::ProtocolVersion::TLSv1_3);
}

#[tokio::test]
async fn mcp_works_over_tls() {
    let moat = start();
    let cert = reqwest::Certificate::from_pem(moat.cert_pem.as_bytes()).expect("certificate");
    let client = reqwest::Client::builder()
        .tls_certs_only([cert])
        .build()
        .expect("client");
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let resp = client
        .post(format!("https://localhost:{}/mcp", moat.port))
        .header("accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("mcp-session-id"));
    let answer: serde_json::Value = resp.json().await.expect("JSON answer");
    assert_eq!(answer["result"]["serverInfo"]["name"], "moat");
}
