//! Parsing and emitting JSON-RPC 2.0 messages.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{ErrorObject, ParseError};

/// A JSON-RPC request id: a string or an integer (fractional ids are refused).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer id.
    Num(i64),
    /// A string id.
    Str(Arc<str>),
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Num(n) => write!(f, "{n}"),
            Self::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A request: expects a response with the same id.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    jsonrpc: JsonRpc,
    /// The request id, unique per sender and session.
    pub id: Id,
    /// The method name.
    pub method: String,
    /// The params, untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Box<RawValue>>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    jsonrpc: JsonRpc,
    /// The method name.
    pub method: String,
    /// The params, untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Box<RawValue>>,
}

/// A response: a result or an error for the request with the same id.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    jsonrpc: JsonRpc,
    /// The id of the request answered; `None` only for errors about unparseable requests.
    pub id: Option<Id>,
    /// The result, untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<RawValue>>,
    /// The error, untouched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Box<RawValue>>,
}

/// The constant `"jsonrpc": "2.0"` member.
#[derive(Debug, Clone, Copy, Default)]
struct JsonRpc;

impl Serialize for JsonRpc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("2.0")
    }
}

/// Any JSON-RPC message.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response.
    Response(Response),
}

impl Request {
    /// A request with the given id, method and params.
    pub fn new(id: Id, method: impl Into<String>, params: Option<Box<RawValue>>) -> Self {
        Self {
            jsonrpc: JsonRpc,
            id,
            method: method.into(),
            params,
        }
    }
}

impl Notification {
    /// A notification with the given method and params.
    pub fn new(method: impl Into<String>, params: Option<Box<RawValue>>) -> Self {
        Self {
            jsonrpc: JsonRpc,
            method: method.into(),
            params,
        }
    }
}

impl Response {
    /// A successful response.
    pub fn result(id: Id, result: Box<RawValue>) -> Self {
        Self {
            jsonrpc: JsonRpc,
            id: Some(id),
            result: Some(result),
            error: None,
        }
    }

    /// An error response.
    pub fn error(id: Option<Id>, error: &ErrorObject) -> Self {
        Self {
            jsonrpc: JsonRpc,
            id,
            result: None,
            error: Some(error.to_raw()),
        }
    }

    /// The same outcome answered under another id.
    pub fn with_id(self, id: Id) -> Self {
        Self {
            id: Some(id),
            ..self
        }
    }

    /// Whether this response carries an error.
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

impl Message {
    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request(r) => Some(&r.method),
            Self::Notification(n) => Some(&n.method),
            Self::Response(_) => None,
        }
    }

    /// The message as compact JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Sized up front: growing by doubling would copy a large payload several times and could
        // leave twice its size allocated.
        let mut out = Vec::with_capacity(self.size_bound());
        // Every field is a string, an integer or already-valid raw JSON: serialising cannot fail.
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }

    /// The message as compact JSON in three parts, the same bytes as [`Self::to_bytes`]: for a
    /// response with a result, the result is the middle part and keeps its own allocation, so a
    /// large result is emitted without being copied. Otherwise all is in `head`.
    pub fn into_parts(self) -> EncodedParts {
        let Self::Response(mut r) = self else {
            return EncodedParts::whole(self.to_bytes());
        };
        let (Some(result), None) = (r.result.take(), &r.error) else {
            return EncodedParts::whole(Self::Response(r).to_bytes());
        };
        // `{"jsonrpc":"2.0","id":…}` without its closing brace, then the result, then the brace.
        let mut head = Self::Response(r).to_bytes();
        if head.pop() != Some(b'}') {
            return EncodedParts::whole(Vec::new());
        }
        head.extend_from_slice(b",\"result\":");
        EncodedParts {
            head,
            payload: Some(result.into()),
            tail: b"}",
        }
    }

    /// At least the length of the compact JSON: fixed members and punctuation, the raw payloads,
    /// and strings at worst six bytes per byte once escaped.
    fn size_bound(&self) -> usize {
        fn raw(r: &Option<Box<RawValue>>) -> usize {
            r.as_ref().map_or(0, |r| r.get().len())
        }
        fn id(id: &Id) -> usize {
            match id {
                Id::Num(_) => 20,
                Id::Str(s) => 2 + 6 * s.len(),
            }
        }
        64 + match self {
            Self::Request(r) => id(&r.id) + 6 * r.method.len() + raw(&r.params),
            Self::Notification(n) => 6 * n.method.len() + raw(&n.params),
            Self::Response(r) => r.id.as_ref().map_or(4, id) + raw(&r.result) + raw(&r.error),
        }
    }

    /// The message as a compact JSON string.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one message (not a batch).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let wire: Wire<'_> =
            serde_json::from_slice(bytes).map_err(|e| classify_serde_error(bytes, e))?;
        wire.into_message()
    }
}

/// A message's JSON as `head`, then `payload` if any, then `tail` (see [`Message::into_parts`]).
#[derive(Debug)]
pub struct EncodedParts {
    /// The JSON up to the payload, or all of it.
    pub head: Vec<u8>,
    /// The raw result, as received.
    pub payload: Option<Box<str>>,
    /// What follows the payload.
    pub tail: &'static [u8],
}

impl EncodedParts {
    fn whole(head: Vec<u8>) -> Self {
        Self {
            head,
            payload: None,
            tail: b"",
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Self::Request(r)
    }
}

impl From<Notification> for Message {
    fn from(n: Notification) -> Self {
        Self::Notification(n)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Self::Response(r)
    }
}

/// A POST body: one message, or (protocol 2025-03-26 only) a batch.
#[derive(Debug)]
pub enum Batch {
    /// A single message.
    Single(Message),
    /// A JSON array of messages, each parsed on its own; a bad element does not spoil the rest.
    Many(Vec<Result<Message, ParseError>>),
}

/// Parses a request body into a message or a batch.
pub fn parse_body(bytes: &[u8]) -> Result<Batch, ParseError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return Message::parse(bytes).map(Batch::Single);
    }
    let items: Vec<&RawValue> =
        serde_json::from_slice(bytes).map_err(|e| classify_serde_error(bytes, e))?;
    if items.is_empty() {
        return Err(ParseError::InvalidMessage("empty batch".into()));
    }
    Ok(Batch::Many(
        items
            .into_iter()
            .map(|raw| Message::parse(raw.get().as_bytes()))
            .collect(),
    ))
}

/// Distinguishes bytes that are not JSON at all (-32700) from JSON of the wrong shape (-32600).
fn classify_serde_error(bytes: &[u8], e: serde_json::Error) -> ParseError {
    if e.is_syntax()
        || e.is_eof()
        || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err()
    {
        ParseError::NotJson(e.to_string())
    } else {
        ParseError::InvalidMessage(e.to_string())
    }
}

/// The members any JSON-RPC message may carry; which are present decides its kind.
#[derive(Deserialize)]
struct Wire<'a> {
    jsonrpc: Option<&'a str>,
    // `null` must stay distinguishable from absence: a null-id request is invalid, not a notification.
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    method: Option<String>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

impl Wire<'_> {
    fn into_message(self) -> Result<Message, ParseError> {
        let invalid = |why: &str| Err(ParseError::InvalidMessage(why.to_owned()));
        if self.jsonrpc != Some("2.0") {
            return invalid("\"jsonrpc\" must be \"2.0\"");
        }
        let id = match self.id {
            None => None,
            Some(raw) if raw.get() == "null" => None,
            Some(raw) => Some(parse_id(raw)?),
        };
        let owned = |raw: Option<&RawValue>| raw.map(RawValue::to_owned);
        match (self.method, self.result, self.error) {
            (Some(method), None, None) => {
                if let Some(p) = self.params {
                    let first = p.get().as_bytes().first();
                    if first != Some(&b'{') && first != Some(&b'[') {
                        return invalid("\"params\" must be an object or an array");
                    }
                }
                if method.is_empty() {
                    return invalid("\"method\" must not be empty");
                }
                Ok(match id {
                    Some(id) => Request::new(id, method, owned(self.params)).into(),
                    None if self.id.is_some() => return invalid("a request id must not be null"),
                    None => Notification::new(method, owned(self.params)).into(),
                })
            }
            (None, Some(result), None) => match id {
                Some(id) => Ok(Response::result(id, result.to_owned()).into()),
                None => invalid("a result must carry the id of its request"),
            },
            (None, None, Some(error)) => {
                if !error.get().starts_with('{') {
                    return invalid("\"error\" must be an object");
                }
                Ok(Response {
                    jsonrpc: JsonRpc,
                    id,
                    result: None,
                    error: Some(error.to_owned()),
                }
                .into())
            }
            (None, None, None) => invalid("a message needs \"method\", \"result\" or \"error\""),
            _ => invalid("a message has exactly one of \"method\", \"result\" and \"error\""),
        }
    }
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

fn parse_id(raw: &RawValue) -> Result<Id, ParseError> {
    serde_json::from_str::<Id>(raw.get())
        .map_err(|_| ParseError::InvalidMessage("\"id\" must be a string or an integer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_byte_for_byte_params() {
        let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"a":[1, 2.50]}}}"#;
        let msg = Message::parse(body).unwrap();
        let Message::Request(r) = &msg else {
            panic!("not a request: {msg:?}")
        };
        assert_eq!(r.id, Id::Num(7));
        assert_eq!(r.method, "tools/call");
        assert_eq!(
            r.params.as_ref().unwrap().get(),
            r#"{"name":"x","arguments":{"a":[1, 2.50]}}"#
        );
        assert_eq!(msg.to_bytes(), body.to_vec());
    }

    #[test]
    fn kinds_are_told_apart() {
        let n = Message::parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(n, Ok(Message::Notification(_))));
        let r = Message::parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#);
        assert!(matches!(r, Ok(Message::Response(ref x)) if x.id == Some(Id::Str("a".into()))));
        let e = Message::parse(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"m"}}"#);
        assert!(matches!(e, Ok(Message::Response(ref x)) if x.id.is_none() && x.is_error()));
    }

    #[test]
    fn not_json_is_a_parse_error() {
        for body in [&b"{not json"[..], b"", b"\xff\xfe", b"{\"jsonrpc\":\"2.0\""] {
            let err = Message::parse(body).unwrap_err();
            assert_eq!(err.code(), crate::codes::PARSE_ERROR, "{body:?}");
        }
    }

    #[test]
    fn wrong_shapes_are_invalid_requests() {
        let cases: [&[u8]; 9] = [
            br#"{"id":1,"method":"x"}"#,
            br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
            br#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
            br#"{"jsonrpc":"2.0","id":{},"method":"x"}"#,
            br#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"x","result":{}}"#,
            br#"{"jsonrpc":"2.0","id":1}"#,
            br#"42"#,
        ];
        for body in cases {
            let err = Message::parse(body).unwrap_err();
            assert_eq!(
                err.code(),
                crate::codes::INVALID_REQUEST,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn batches_parse_each_element_alone() {
        let body = br#" [{"jsonrpc":"2.0","id":1,"method":"ping"}, {"bad":true}]"#;
        let Ok(Batch::Many(items)) = parse_body(body) else {
            panic!("not a batch")
        };
        assert!(items[0].is_ok());
        assert_eq!(
            items[1].as_ref().unwrap_err().code(),
            crate::codes::INVALID_REQUEST
        );
        assert!(matches!(
            parse_body(b"[]"),
            Err(ParseError::InvalidMessage(_))
        ));
    }

    #[test]
    fn error_response_serialises_with_null_id() {
        let e = ErrorObject::new(-32700, "parse error: x");
        let json = Message::from(Response::error(None, &e)).to_json();
        assert_eq!(
            json,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: x"}}"#
        );
    }

    #[test]
    fn parts_and_presized_bytes_are_the_plain_serialisation() {
        let texts = [
            r#"{"jsonrpc":"2.0","id":"a\"b\u00e9","method":"tools/call","params":{"x":[1, 2]}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/progress"}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"\u2028"}]}}"#,
            r#"{"jsonrpc":"2.0","id":"s","result":"plain"}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no"}}"#,
        ];
        for text in texts {
            let msg = Message::parse(text.as_bytes()).unwrap();
            let plain = serde_json::to_vec(&msg).unwrap();
            assert_eq!(msg.to_bytes(), plain, "{text}");
            let has_result = matches!(&msg, Message::Response(r) if r.result.is_some());
            let parts = msg.into_parts();
            assert_eq!(parts.payload.is_some(), has_result, "{text}");
            let mut joined = parts.head;
            joined.extend_from_slice(parts.payload.as_deref().unwrap_or_default().as_bytes());
            joined.extend_from_slice(parts.tail);
            assert_eq!(joined, plain, "{text}");
        }
    }
}
