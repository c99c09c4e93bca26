//! Reading what a server answered: JSON or SSE bodies, `initialize` and `server/discover`
//! results, `WWW-Authenticate` challenges, legacy `endpoint` events. Pure functions.

use moat_upstream::{SseDecoder, SseEvent};
use serde_json::Value;

/// The largest body (or SSE event) read from a probed server.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What an MCP server says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) protocol_version: Option<String>,
}

/// The JSON-RPC response with `id` in a complete JSON body (an object, or a batch array).
pub(crate) fn json_answer(body: &[u8], id: u64) -> Option<Value> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match value {
        Value::Array(items) => items.into_iter().find(|v| is_response(v, id)),
        v if is_response(&v, id) => Some(v),
        _ => None,
    }
}

/// Feeds SSE bytes and keeps the first JSON-RPC response with the awaited id.
#[derive(Debug)]
pub(crate) struct SseAnswer {
    decoder: SseDecoder,
    id: u64,
}

impl SseAnswer {
    pub(crate) fn new(id: u64) -> Self {
        Self {
            decoder: SseDecoder::new(MAX_BODY),
            id,
        }
    }

    /// The response, once a chunk completes it; `Err` when an event is too large.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Option<Value>, ()> {
        let events = self.decoder.feed(chunk).map_err(|_| ())?;
        Ok(events.iter().find_map(|e| event_answer(e, self.id)))
    }
}

/// The JSON-RPC response with `id` in a complete SSE body.
#[cfg(test)]
pub(crate) fn sse_answer(body: &[u8], id: u64) -> Option<Value> {
    let mut answer = SseAnswer::new(id);
    // A body that ends without a blank line still completes its last event.
    answer
        .feed(body)
        .ok()
        .flatten()
        .or_else(|| answer.feed(b"\n\n").ok().flatten())
}

pub(crate) fn event_answer(event: &SseEvent, id: u64) -> Option<Value> {
    if !(event.event.is_empty() || event.event == "message") {
        return None;
    }
    json_answer(event.data.as_bytes(), id)
}

fn is_response(v: &Value, id: u64) -> bool {
    v.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
        && v.get("id").and_then(Value::as_u64) == Some(id)
        && (v.get("result").is_some() || v.get("error").is_some())
}

/// The server's identity in an `initialize` response (`None` unless it is a result with
/// `serverInfo` or `protocolVersion`).
pub(crate) fn initialize_identity(response: &Value) -> Option<Identity> {
    let result = response.get("result")?;
    let info = result.get("serverInfo");
    let protocol_version = text(result.get("protocolVersion"));
    if info.is_none() && protocol_version.is_none() {
        return None;
    }
    Some(Identity {
        name: text(info.and_then(|i| i.get("name"))),
        version: text(info.and_then(|i| i.get("version"))),
        protocol_version,
    })
}

/// The server's identity in a 2026-07-28 `server/discover` response (`None` unless it is a
/// result with `supportedVersions` or server information).
pub(crate) fn discover_identity(response: &Value) -> Option<Identity> {
    let result = response.get("result")?;
    let info = result
        .get("_meta")
        .and_then(|m| m.get("io.modelcontextprotocol/serverInfo"))
        .or_else(|| result.get("serverInfo"));
    let versions = result.get("supportedVersions").and_then(Value::as_array);
    if info.is_none() && versions.is_none() {
        return None;
    }
    // The newest the server offers, when it lists them.
    let protocol_version = versions
        .and_then(|v| v.iter().filter_map(Value::as_str).max())
        .map(str::to_owned);
    Some(Identity {
        name: text(info.and_then(|i| i.get("name"))),
        version: text(info.and_then(|i| i.get("version"))),
        protocol_version,
    })
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// The `resource_metadata` URL of an RFC 9728 bearer challenge (MCP authorization).
pub(crate) fn resource_metadata(www_authenticate: &str) -> Option<String> {
    let at = www_authenticate.find("resource_metadata=")?;
    let rest = &www_authenticate[at + "resource_metadata=".len()..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"')?],
        None => rest.split([',', ' ']).next().unwrap_or(""),
    };
    (!value.is_empty()).then(|| value.to_owned())
}

/// The data of the first `endpoint` event in the SSE events so far.
pub(crate) fn endpoint_event(events: &[SseEvent]) -> Option<String> {
    events
        .iter()
        .find(|e| e.event == "endpoint")
        .map(|e| e.data.trim().to_owned())
}

/// Whether a `Content-Type` value is an SSE stream.
pub(crate) fn is_event_stream(content_type: &str) -> bool {
    media_type(content_type) == "text/event-stream"
}

/// Whether a `Content-Type` value is JSON.
pub(crate) fn is_json(content_type: &str) -> bool {
    let m = media_type(content_type);
    m == "application/json" || m.ends_with("+json")
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"everything","version":"2.0.0"}}}"#;

    #[test]
    fn json_answers_match_the_id() {
        let v = json_answer(INIT.as_bytes(), 1).unwrap();
        assert_eq!(
            initialize_identity(&v),
            Some(Identity {
                name: Some("everything".into()),
                version: Some("2.0.0".into()),
                protocol_version: Some("2025-11-25".into()),
            })
        );
        assert_eq!(json_answer(INIT.as_bytes(), 2), None);
        let batch = format!("[{{\"jsonrpc\":\"2.0\",\"method\":\"x\"}},{INIT}]");
        assert!(json_answer(batch.as_bytes(), 1).is_some());
        assert_eq!(json_answer(b"<html>hello</html>", 1), None);
        assert_eq!(
            json_answer(br#"{"id":1,"result":{}}"#, 1),
            None,
            "no jsonrpc member"
        );
    }

    #[test]
    fn sse_answers_skip_other_events_and_tolerate_a_missing_last_blank_line() {
        let body = format!(
            ": keep-alive\n\nevent: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}}\n\nid: 7\nevent: message\ndata: {INIT}"
        );
        let v = sse_answer(body.as_bytes(), 1).unwrap();
        assert_eq!(v["result"]["serverInfo"]["name"], "everything");
        let mut stream = SseAnswer::new(1);
        let (a, b) = body.as_bytes().split_at(40);
        assert_eq!(stream.feed(a), Ok(None));
        assert_eq!(stream.feed(b), Ok(None));
        assert!(stream.feed(b"\n\n").unwrap().is_some());
        assert_eq!(sse_answer(b"event: ping\ndata: {}\n\n", 1), None);
    }

    #[test]
    fn an_error_answer_is_not_an_identity() {
        let err = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#;
        let v = json_answer(err.as_bytes(), 1).unwrap();
        assert_eq!(initialize_identity(&v), None);
        assert_eq!(discover_identity(&v), None);
    }

    #[test]
    fn discover_results_name_the_server_in_meta() {
        let body = r#"{"jsonrpc":"2.0","id":2,"result":{"resultType":"complete","supportedVersions":["2025-11-25","2026-07-28"],"capabilities":{},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"moat","version":"0.1.0"}}}}"#;
        let v = json_answer(body.as_bytes(), 2).unwrap();
        assert_eq!(
            discover_identity(&v),
            Some(Identity {
                name: Some("moat".into()),
                version: Some("0.1.0".into()),
                protocol_version: Some("2026-07-28".into()),
            })
        );
    }

    #[test]
    fn challenges_and_endpoints() {
        assert_eq!(
            resource_metadata(
                r#"Bearer error="invalid_token", resource_metadata="http://h/.well-known/oauth-protected-resource/mcp""#
            ),
            Some("http://h/.well-known/oauth-protected-resource/mcp".into())
        );
        assert_eq!(
            resource_metadata("Bearer resource_metadata=http://h/x, scope=\"a\""),
            Some("http://h/x".into())
        );
        assert_eq!(resource_metadata("Basic realm=\"x\""), None);
        let events = [
            SseEvent::default(),
            SseEvent {
                event: "endpoint".into(),
                data: "/message?sessionId=abc\n".into(),
                id: None,
            },
        ];
        assert_eq!(
            endpoint_event(&events),
            Some("/message?sessionId=abc".into())
        );
        assert!(is_event_stream("text/event-stream; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(!is_json("text/html"));
    }
}
