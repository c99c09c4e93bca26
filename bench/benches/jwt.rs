//! Bearer-token validation as moat does it with `auth` on: a full verification
//! (`moat_identity::validate`, the key set already loaded: an EdDSA JWT with the claims moat
//! checks), done on a token's first request, and the lookup of a token already verified
//! (`VerifiedTokens`, among 10,000), done on its later requests.

// Benchmarks are tests: fixed inputs that cannot fail; a panic is the right report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use moat_identity::{KeySet, TokenPolicy, VerifiedTokens, validate};
use serde_json::json;

fn jwt(c: &mut Criterion) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let key = EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).unwrap();
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "k1",
                                "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw())}]});
    let keys = KeySet::from_json(&jwks.to_string()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": "https://idp", "aud": "http://127.0.0.1:8940/mcp", "sub": "alice",
                        "client_id": "agent-1", "scope": "mcp:use tools:read", "iat": now - 5, "exp": now + 600});
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("k1".into());
    let token = encode(&header, &claims, &key).unwrap();
    let policy = TokenPolicy {
        issuer: "https://idp".into(),
        audience: "http://127.0.0.1:8940/mcp".into(),
        algorithms: vec![Algorithm::EdDSA],
        leeway_secs: 30,
        max_lifetime_secs: 3600,
    };
    assert!(validate(&token, &keys, &policy, now).is_ok());
    c.bench_function("jwt validate EdDSA (keys cached)", |b| {
        b.iter(|| black_box(validate(black_box(&token), &keys, &policy, now)).is_ok())
    });
    let verified = VerifiedTokens::new(10_001, 30);
    for i in 0..10_000 {
        let other = format!("{token}{i}");
        let principal = validate(&token, &keys, &policy, now).unwrap();
        verified.insert(&other, std::sync::Arc::new(principal), now);
    }
    let principal = validate(&token, &keys, &policy, now).unwrap();
    verified.insert(&token, std::sync::Arc::new(principal), now);
    c.bench_function("jwt already verified (lookup among 10,000)", |b| {
        b.iter(|| black_box(verified.get(black_box(&token), now)).is_some())
    });
}

criterion_group!(benches, jwt);
criterion_main!(benches);
