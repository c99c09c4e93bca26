//! Access tokens as RFC 9068 JWTs (`typ: at+jwt`), signed with the active key.

use jsonwebtoken::{Header, encode};
use serde::Serialize;

use crate::keys::Signer;

/// Everything an access token says. Scopes are space-separated, as in the `scope` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessClaims {
    /// moat's issuer URL.
    pub iss: String,
    /// The user, or the agent itself for client credentials.
    pub sub: String,
    /// The resource the token is for (RFC 8707): moat's `/mcp` URI.
    pub aud: String,
    /// The agent the token was issued to.
    pub client_id: String,
    /// The granted scopes, space-separated; omitted when none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// Issued at (seconds since the Unix epoch).
    pub iat: u64,
    /// Expires at.
    pub exp: u64,
    /// The token's unique id, for revocation.
    pub jti: String,
}

/// The token could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the access token: {0}")]
pub struct MintError(String);

/// Signs `claims` with `signer`.
pub fn mint(signer: &Signer, claims: &AccessClaims) -> Result<String, MintError> {
    let mut header = Header::new(signer.algorithm);
    header.kid = Some(signer.kid.clone());
    header.typ = Some("at+jwt".into());
    encode(&header, claims, &signer.key).map_err(|e| MintError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, generate};
    use moat_identity::{KeySet, TokenError, TokenPolicy, validate};

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "https://moat.example".into(),
            sub: "alice".into(),
            aud: "https://moat.example/mcp".into(),
            client_id: "agent-1".into(),
            scope: "orders:read tickets:write".into(),
            iat: 1_000,
            exp: 1_900,
            jti: "j1".into(),
        }
    }

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: "https://moat.example".into(),
            audience: "https://moat.example/mcp".into(),
            algorithms: vec![
                jsonwebtoken::Algorithm::EdDSA,
                jsonwebtoken::Algorithm::ES256,
            ],
            leeway_secs: 0,
            max_lifetime_secs: 3600,
        }
    }

    /// What moat mints, moat's own resource-server validation accepts, for both algorithms.
    #[test]
    fn minted_tokens_validate_against_the_published_key() {
        for alg in [KeyAlgorithm::EdDsa, KeyAlgorithm::Es256] {
            let key = generate(alg).unwrap();
            let signer = Signer::new(&key.kid, alg, &key.pkcs8).unwrap();
            let token = mint(&signer, &claims()).unwrap();
            let jwks = serde_json::json!({"keys": [key.public_jwk]}).to_string();
            let keys = KeySet::from_json(&jwks).unwrap();
            let p = validate(&token, &keys, &policy(), 1_100).unwrap();
            assert_eq!(p.subject, "alice");
            assert_eq!(p.client_id.as_deref(), Some("agent-1"));
            assert_eq!(p.scopes, ["orders:read", "tickets:write"]);
            assert_eq!(p.token_id.as_deref(), Some("j1"));
            assert_eq!(
                validate(&token, &keys, &policy(), 1_900),
                Err(TokenError::Expired)
            );
        }
    }

    #[test]
    fn another_keys_signature_is_refused() {
        let key = generate(KeyAlgorithm::EdDsa).unwrap();
        let impostor = generate(KeyAlgorithm::EdDsa).unwrap();
        // Signed by the impostor under the genuine key's id.
        let signer = Signer::new(&key.kid, KeyAlgorithm::EdDsa, &impostor.pkcs8).unwrap();
        let token = mint(&signer, &claims()).unwrap();
        let jwks = serde_json::json!({"keys": [key.public_jwk]}).to_string();
        let keys = KeySet::from_json(&jwks).unwrap();
        assert!(matches!(
            validate(&token, &keys, &policy(), 1_100),
            Err(TokenError::Invalid(_))
        ));
    }
}
