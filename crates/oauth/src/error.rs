//! RFC 6749 §5.2 / RFC 7591 §3.2.2 error responses.

use serde::Serialize;

/// The registered error codes moat answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A parameter is missing, repeated, or malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The code, refresh token or PKCE verifier is invalid, expired, used or not this client's.
    InvalidGrant,
    /// The client may not use this grant or response type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The response type is not supported.
    UnsupportedResponseType,
    /// A scope is unknown or beyond what the client may have.
    InvalidScope,
    /// The user (or the operator's policy) refused.
    AccessDenied,
    /// The `resource` parameter names something moat does not serve (RFC 8707).
    InvalidTarget,
    /// Something failed on moat's side.
    ServerError,
    /// moat cannot serve the request now.
    TemporarilyUnavailable,
    /// A registration's redirect URIs are unacceptable (RFC 7591).
    InvalidRedirectUri,
    /// A registration's metadata is unacceptable (RFC 7591).
    InvalidClientMetadata,
}

/// An error for the client: a code and a human-readable description that never echoes secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error:?}: {error_description}")]
pub struct OAuthError {
    /// The code.
    pub error: ErrorCode,
    /// What exactly is wrong.
    pub error_description: String,
}

impl OAuthError {
    /// An error with its description.
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: description.into(),
        }
    }

    /// The HTTP status of a token- or registration-endpoint answer: 401 for failed client
    /// authentication (RFC 6749 §5.2), 500/503 for moat's own failures, else 400.
    pub fn status(&self) -> u16 {
        match self.error {
            ErrorCode::InvalidClient => 401,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The code as it appears on the wire.
    pub fn code(&self) -> &'static str {
        match self.error {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_registered_and_statuses_follow_rfc_6749() {
        let e = OAuthError::new(ErrorCode::InvalidClient, "no such client");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["error"], "invalid_client");
        assert_eq!(json["error"], e.code());
        assert_eq!(e.status(), 401);
        assert_eq!(OAuthError::new(ErrorCode::InvalidGrant, "x").status(), 400);
        let target = OAuthError::new(ErrorCode::InvalidTarget, "x");
        assert_eq!(
            serde_json::to_value(&target).unwrap()["error"],
            target.code()
        );
    }
}
