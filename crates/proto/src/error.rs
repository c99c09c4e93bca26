//! JSON-RPC error objects and the codes moat uses.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// JSON-RPC and MCP error codes. The `-320xx` codes moat defines itself sit in the
/// implementation-defined server range and avoid the ones the MCP spec reserves.
pub mod codes {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i32 = -32700;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i32 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// Invalid method parameters (also: unknown tool, per the MCP spec).
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// MCP: resource not found.
    pub const RESOURCE_NOT_FOUND: i32 = -32002;
    /// moat: the upstream server that owns the target is unavailable (down, crashed, refused).
    pub const UPSTREAM_UNAVAILABLE: i32 = -32010;
    /// moat: the upstream server did not answer within its configured timeout.
    pub const UPSTREAM_TIMEOUT: i32 = -32011;
    /// moat: the request is not allowed before the session is initialized.
    pub const NOT_INITIALIZED: i32 = -32012;
    /// MCP 2026-07-28: the `Mcp-Method` / `Mcp-Name` headers do not match the body.
    pub const HEADER_MISMATCH: i32 = -32020;
    /// MCP 2026-07-28: the request needs a client capability the client did not declare.
    pub const MISSING_CLIENT_CAPABILITY: i32 = -32021;
    /// MCP 2026-07-28: unsupported protocol version.
    pub const UNSUPPORTED_VERSION: i32 = -32022;
    /// moat: the authorization policy refused the operation (`data.rules` names the deciding
    /// rules, `data.reason` says why).
    pub const POLICY_DENIED: i32 = -32030;
    /// moat: refused because the token lacks scopes (`data.missing_scopes`); over HTTP the
    /// answer is 403 with an `insufficient_scope` challenge.
    pub const INSUFFICIENT_SCOPE: i32 = -32031;
    /// moat: the call was held for a human's approval and not approved: denied, not decided in
    /// time, or the approval could not be recorded (`data.approval` has its id and status).
    pub const APPROVAL_REFUSED: i32 = -32032;
    /// moat: the call needs a human's approval and there is no way to ask for one (no store
    /// for the approval queue and no elicitation; `moat test` runs).
    pub const APPROVAL_REQUIRED: i32 = -32033;
    /// moat: content inspection blocked the answer (a class whose action is `block` was found
    /// in it; `data.classes` names them).
    pub const GUARD_BLOCKED: i32 = -32034;
    /// moat: over a rate limit or quota; `data.retry_after_ms` says when a retry can pass.
    pub const RATE_LIMITED: i32 = -32035;
    /// moat: the tool or prompt is not approved in moat's catalog (new and waiting for an
    /// operator, quarantined after a change, rejected) or its server is suspended.
    pub const NOT_APPROVED: i32 = -32036;
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorObject {
    /// One of [`codes`] or an upstream's own code.
    pub code: i32,
    /// A sentence a human understands.
    pub message: String,
    /// Structured detail, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl ErrorObject {
    /// An error with a code and message and no data.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured detail.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The error as raw JSON, ready to place in a response envelope.
    pub fn to_raw(&self) -> Box<RawValue> {
        // Serialising a struct of strings, an integer and a `Value` cannot fail.
        serde_json::value::to_raw_value(self).unwrap_or_else(|_| {
            RawValue::from_string(r#"{"code":-32603,"message":"internal error"}"#.to_owned())
                .unwrap_or_default()
        })
    }
}

/// Why a body is not an acceptable JSON-RPC message.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ParseError {
    /// The bytes are not JSON.
    #[error("parse error: {0}")]
    NotJson(String),
    /// The JSON is not a JSON-RPC 2.0 message.
    #[error("invalid request: {0}")]
    InvalidMessage(String),
}

impl ParseError {
    /// The JSON-RPC code for this error.
    pub fn code(&self) -> i32 {
        match self {
            Self::NotJson(_) => codes::PARSE_ERROR,
            Self::InvalidMessage(_) => codes::INVALID_REQUEST,
        }
    }

    /// The error as a JSON-RPC error object.
    pub fn to_error_object(&self) -> ErrorObject {
        ErrorObject::new(self.code(), self.to_string())
    }
}
