//! A token issuer for the configuration with authentication: an Ed25519 key, its JWKS file for
//! moat (`auth.jwks: file:…`), and a bearer token moat accepts.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

/// The issuer moat is configured to trust.
pub const ISSUER: &str = "https://idp.bench.invalid";
/// The scope moat requires of every request.
pub const SCOPE: &str = "mcp:use";
const KID: &str = "bench-1";
/// Token lifetime: longer than any run, within moat's 1 h maximum.
const LIFETIME_SECS: u64 = 50 * 60;

/// A signing key whose public half is in a JWKS file.
pub struct Issuer {
    key: EncodingKey,
}

impl Issuer {
    /// Makes a key and writes its JWKS to `jwks_path`.
    pub fn new(jwks_path: &Path) -> Result<Self> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)?;
        let key = EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes())?;
        let jwk = json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": KID,
            "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
        });
        std::fs::write(jwks_path, json!({ "keys": [jwk] }).to_string())
            .with_context(|| format!("writing {}", jwks_path.display()))?;
        Ok(Self { key })
    }

    /// The `auth` section of moat's config for resource URL `{resource}` (filled in by the fleet).
    pub fn config(jwks_path: &Path) -> String {
        format!(
            "auth:\n  issuer: {ISSUER}\n  resource: \"{{resource}}\"\n  jwks: \"file:{}\"\n  algorithms: [EdDSA]\n  required_scopes: [{SCOPE}]\n  max_token_lifetime: 1h\n",
            jwks_path.display()
        )
    }

    /// A bearer token for `resource` (moat's `/mcp` URL), valid for the whole run.
    pub fn token(&self, resource: &str) -> Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let claims = json!({
            "iss": ISSUER, "aud": resource, "sub": "bench-user", "client_id": "moat-bench",
            "scope": SCOPE, "iat": now - 5, "exp": now + LIFETIME_SECS,
        });
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(KID.into());
        Ok(encode(&header, &claims, &self.key)?)
    }
}
