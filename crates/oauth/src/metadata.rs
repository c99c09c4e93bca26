//! RFC 8414 authorization server metadata.

use serde_json::{Value, json};

/// Which optional parts of the server are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// RFC 7591 dynamic client registration.
    pub registration: bool,
    /// Client ID Metadata Documents.
    pub metadata_documents: bool,
}

/// The metadata document for `issuer` (an origin; endpoints live under `/oauth/`).
pub fn document(issuer: &str, scopes: &[String], features: Features) -> Value {
    let base = issuer.trim_end_matches('/');
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/oauth/jwks"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": features.metadata_documents,
    });
    if features.registration {
        doc["registration_endpoint"] = json!(format!("{base}/oauth/register"));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announces_s256_only_and_registration_when_on() {
        let doc = document(
            "https://m.example",
            &["a".into()],
            Features {
                registration: false,
                metadata_documents: false,
            },
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["token_endpoint"], "https://m.example/oauth/token");
        assert!(doc.get("registration_endpoint").is_none());
        assert_eq!(doc["client_id_metadata_document_supported"], false);
        let doc = document(
            "https://m.example",
            &[],
            Features {
                registration: true,
                metadata_documents: true,
            },
        );
        assert_eq!(
            doc["registration_endpoint"],
            "https://m.example/oauth/register"
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["client_id_metadata_document_supported"], true);
    }
}
