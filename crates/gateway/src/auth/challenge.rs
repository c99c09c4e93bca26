//! Authentication refusals and the challenges that answer them (RFC 6750 §3, RFC 9728 §5.1).

use std::fmt;

use axum::response::{IntoResponse, Response as HttpResponse};
use http::{HeaderValue, StatusCode, header};
use moat_identity::TokenError;

use super::Authenticator;
use super::registry::AgentRefusal;
use crate::http::http_error;

/// Why a request was not authenticated.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not a bearer token.
    NotBearer,
    /// A token in the URL, where it would be logged by every proxy on the way.
    TokenInQuery,
    /// The token was refused.
    Invalid(TokenError),
    /// Valid, but without every scope needed.
    InsufficientScope(Vec<String>),
    /// Valid, but the agent may not act (suspended, pending, unknown) or cannot be checked.
    Agent(AgentRefusal),
    /// The revocation log cannot be read: fail closed.
    RevocationsUnavailable(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no bearer token"),
            Self::NotBearer => f.write_str("the Authorization header is not a bearer token"),
            Self::TokenInQuery => f.write_str(
                "access tokens are accepted only in the Authorization header, never in the URL",
            ),
            Self::Invalid(e) => write!(f, "{e}"),
            Self::InsufficientScope(s) => write!(
                f,
                "the token lacks a required scope (needs: {})",
                s.join(" ")
            ),
            Self::Agent(r) => write!(f, "{r}"),
            Self::RevocationsUnavailable(why) => {
                write!(f, "the token revocation list cannot be read: {why}")
            }
        }
    }
}

/// Characters allowed in a quoted challenge parameter here: printable ASCII without `"` or `\`.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

impl Authenticator {
    /// The challenge of a request refused by the policy for lacking `scopes` (MCP step-up
    /// authorization: the client may ask the user for them and retry).
    pub(crate) fn scope_challenge(&self, scopes: &[String]) -> Option<HeaderValue> {
        let needed = quoted(&scopes.join(" "));
        HeaderValue::from_str(&format!(
            "Bearer resource_metadata=\"{}\", scope=\"{needed}\", error=\"insufficient_scope\", error_description=\"the token lacks scope {needed}\"",
            quoted(&self.metadata_url)
        ))
        .ok()
    }
}

impl Refusal {
    pub(crate) fn into_response(self, auth: &Authenticator) -> HttpResponse {
        let (status, error) = match &self {
            Self::Missing => (StatusCode::UNAUTHORIZED, None),
            Self::NotBearer | Self::TokenInQuery => {
                (StatusCode::BAD_REQUEST, Some("invalid_request"))
            }
            Self::Invalid(_) => (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            Self::InsufficientScope(_) => (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            Self::Agent(AgentRefusal::Status(..)) => {
                (StatusCode::UNAUTHORIZED, Some("invalid_token"))
            }
            Self::Agent(AgentRefusal::Unavailable(_)) | Self::RevocationsUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, None)
            }
        };
        let scope = match &self {
            Self::InsufficientScope(needed) => needed.join(" "),
            _ => auth.required_scopes.join(" "),
        };
        let mut challenge = format!(
            "Bearer resource_metadata=\"{}\"",
            quoted(&auth.metadata_url)
        );
        if !scope.is_empty() {
            challenge.push_str(&format!(", scope=\"{}\"", quoted(&scope)));
        }
        if let Some(error) = error {
            challenge.push_str(&format!(
                ", error=\"{error}\", error_description=\"{}\"",
                quoted(&self.to_string())
            ));
        }
        let mut resp = http_error(status, moat_proto::codes::INVALID_REQUEST, self.to_string());
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp.into_response()
    }
}
