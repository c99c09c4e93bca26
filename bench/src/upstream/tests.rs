use serde_json::Value;

use super::*;

fn json(reply: Reply) -> Value {
    match reply {
        Reply::Json(b) => serde_json::from_slice(&b).unwrap(),
        Reply::Accepted => panic!("no answer"),
    }
}

#[test]
fn echo_returns_its_text_under_the_request_id() {
    let s = Server::new(2);
    let body = br#"{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi \"there\"\n"}}}"#;
    let v = json(s.handle(body));
    assert_eq!(v["id"], "a-1");
    assert_eq!(v["result"]["content"][0]["text"], "hi \"there\"\n");
    assert_eq!(v["result"]["isError"], false);
}

#[test]
fn payload_returns_size_bytes() {
    let s = Server::new(2);
    let body = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"payload","arguments":{"size":1000}}}"#;
    let v = json(s.handle(body));
    let text = v["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(text.len(), 1000);
    assert!(text.bytes().all(|b| b == b'x'));
}

#[test]
fn lists_the_requested_number_of_tools() {
    let s = Server::new(100);
    let v = json(s.handle(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#));
    let tools = v["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 100);
    assert_eq!(tools[99]["name"], "tool_99");
}

#[test]
fn initialize_answers_the_requested_version() {
    let s = Server::new(2);
    let body = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let v = json(s.handle(body));
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18");
    assert!(v["result"]["capabilities"]["tools"].is_object());
}

#[test]
fn notifications_are_accepted_and_junk_is_an_error() {
    let s = Server::new(2);
    let n = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    assert_eq!(s.handle(n), Reply::Accepted);
    assert_eq!(json(s.handle(b"{nope"))["error"]["code"], -32700);
    let unknown = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#;
    assert_eq!(json(s.handle(unknown))["error"]["code"], -32602);
    let method = br#"{"jsonrpc":"2.0","id":1,"method":"prompts/list"}"#;
    assert_eq!(json(s.handle(method))["error"]["code"], -32601);
}
