//! A real MCP client (rmcp, the Rust SDK) talking to moat over Streamable HTTP.

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    ProtocolVersion,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;

use super::{TIMEOUT, init_crypto};

/// A client with no optional capabilities that asks for protocol 2025-11-25.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestClient;

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("moat-tests", "0"),
        )
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}

/// A connected client.
pub(crate) type Client = RunningService<RoleClient, TestClient>;

/// Connects and initializes (bounded by the harness timeout).
pub(crate) async fn connect(url: &str) -> Client {
    init_crypto();
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    tokio::time::timeout(TIMEOUT, TestClient.serve(transport))
        .await
        .expect("rmcp client initialized in time")
        .expect("rmcp client initialized")
}

/// Every tool name moat lists.
pub(crate) async fn tool_names(client: &Client) -> Vec<String> {
    tokio::time::timeout(TIMEOUT, client.list_all_tools())
        .await
        .expect("tools/list in time")
        .expect("tools/list")
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect()
}

/// Calls `name` with `arguments` (a JSON object).
pub(crate) async fn call(client: &Client, name: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("tool arguments must be a JSON object");
    };
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
    tokio::time::timeout(TIMEOUT, client.call_tool(params))
        .await
        .unwrap_or_else(|_| panic!("{name} answered in time"))
        .unwrap_or_else(|e| panic!("{name} failed: {e}"))
}

/// The text blocks of a tool result, joined.
pub(crate) fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}
