//! Signing test access tokens: an Ed25519 key, its JWKS, and JWTs it signs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

/// A signing key with its key id.
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) public: Vec<u8>,
}

/// A fresh Ed25519 key named `kid`.
pub(crate) fn key(kid: &str) -> Key {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
    Key {
        kid: kid.into(),
        encoding: EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).expect("pem"),
        public: pair.public_key_raw().to_vec(),
    }
}

/// The JWKS document publishing `keys`.
pub(crate) fn jwks(keys: &[&Key]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&k.public), "kid": k.kid, "alg": "EdDSA"}))
        .collect();
    json!({ "keys": keys }).to_string()
}

/// `claims` signed by `key` (EdDSA, with its kid).
pub(crate) fn sign(key: &Key, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    encode(&header, claims, &key.encoding).expect("sign")
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The issuer of the test tokens.
pub(crate) const TEST_ISSUER: &str = "https://idp.test";

/// `moat serve` accepting tokens of [`TEST_ISSUER`] signed by `key` (its JWKS written to
/// `dir`): the config is the listener and `auth:` lines, then `rest(port)`.
pub(crate) fn serve_with_issuer(
    dir: &super::TempDir,
    key: &Key,
    rest: impl Fn(u16) -> String,
) -> (super::Process, u16) {
    let jwks_file = dir.write("jwks.json", &jwks(&[key]));
    super::Moat::config_for_port(dir, "moat listening on http://", &[], |port| {
        format!(
            "listen: 127.0.0.1:{port}\nauth:\n  issuer: {TEST_ISSUER}\n  resource: http://127.0.0.1:{port}/mcp\n  jwks: file:{}\n{}",
            jwks_file.display(),
            rest(port)
        )
    })
}

/// An access token of [`TEST_ISSUER`] for `agent` acting for `user`, with `scopes`, valid for
/// ten minutes at `audience`.
pub(crate) fn access_token(
    key: &Key,
    audience: &str,
    agent: &str,
    user: &str,
    scopes: &str,
) -> String {
    let n = now();
    sign(
        key,
        &json!({"iss": TEST_ISSUER, "aud": audience, "sub": user, "client_id": agent,
                "scope": scopes, "iat": n - 5, "exp": n + 600}),
    )
}
