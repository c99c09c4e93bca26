use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

use super::*;
use crate::KeyError;

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://idp.example";
const AUD: &str = "https://moat.example/mcp";

struct Signer {
    key: EncodingKey,
    alg: Algorithm,
    kid: String,
    jwk: Value,
}

fn ed25519(kid: &str) -> Signer {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let x = URL_SAFE_NO_PAD.encode(pair.public_key_raw());
    Signer {
        key: EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).unwrap(),
        alg: Algorithm::EdDSA,
        kid: kid.into(),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}),
    }
}

fn p256(kid: &str) -> Signer {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let raw = pair.public_key_raw();
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(&raw[1..33]),
        URL_SAFE_NO_PAD.encode(&raw[33..65]),
    );
    Signer {
        key: EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap(),
        alg: Algorithm::ES256,
        kid: kid.into(),
        jwk: json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256"}),
    }
}

fn keys(signers: &[&Signer]) -> KeySet {
    let doc = json!({"keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()});
    KeySet::from_json(&doc.to_string()).unwrap()
}

fn policy() -> TokenPolicy {
    TokenPolicy {
        issuer: ISS.into(),
        audience: AUD.into(),
        algorithms: vec![Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256],
        leeway_secs: 30,
        max_lifetime_secs: 3600,
    }
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "user-1", "client_id": "agent-7", "scope": "orders:read tools:call",
           "iat": NOW - 60, "exp": NOW + 600, "jti": "t-1"})
}

fn sign(s: &Signer, claims: &Value) -> String {
    let mut header = Header::new(s.alg);
    header.kid = Some(s.kid.clone());
    encode(&header, claims, &s.key).unwrap()
}

fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut c = claims();
    f(&mut c);
    c
}

#[test]
fn accepts_a_good_token_of_each_algorithm() {
    let (ed, ec) = (ed25519("ed"), p256("ec"));
    let ks = keys(&[&ed, &ec]);
    for s in [&ed, &ec] {
        let p = validate(&sign(s, &claims()), &ks, &policy(), NOW).unwrap();
        assert_eq!(
            (p.subject.as_str(), p.client_id.as_deref()),
            ("user-1", Some("agent-7"))
        );
        assert_eq!(
            p.scopes,
            vec!["orders:read".to_owned(), "tools:call".into()]
        );
        assert!(p.has_scopes(["tools:call"]) && !p.has_scopes(["orders:write"]));
    }
}

#[test]
fn refuses_every_bad_token_with_its_reason() {
    let ed = ed25519("ed");
    let ks = keys(&[&ed]);
    let check = |token: String, expected: TokenError| {
        assert_eq!(validate(&token, &ks, &policy(), NOW), Err(expected))
    };
    check(
        sign(&ed, &with(|c| c["exp"] = json!(NOW - 31))),
        TokenError::Expired,
    );
    check(
        sign(&ed, &with(|c| c["nbf"] = json!(NOW + 120))),
        TokenError::NotYetValid,
    );
    check(
        sign(&ed, &with(|c| c["iat"] = json!(NOW + 120))),
        TokenError::NotYetValid,
    );
    check(
        sign(&ed, &with(|c| c["exp"] = json!(NOW + 7200))),
        TokenError::LifetimeTooLong(7260, 3600),
    );
    let wrong = |field: &str, value: &str| {
        let token = sign(&ed, &with(|c| c[field] = json!(value)));
        assert!(
            matches!(
                validate(&token, &ks, &policy(), NOW),
                Err(TokenError::Invalid(_))
            ),
            "{field}"
        );
    };
    wrong("aud", "https://other.example/mcp");
    wrong("iss", "https://evil.example");
    // A claim missing altogether.
    let no_sub = sign(&ed, &with(|c| _ = c.as_object_mut().unwrap().remove("sub")));
    assert!(matches!(
        validate(&no_sub, &ks, &policy(), NOW),
        Err(TokenError::Invalid(_))
    ));
}

#[test]
fn refuses_forged_and_tampered_tokens() {
    let (ed, other) = (ed25519("ed"), ed25519("other"));
    let ks = keys(&[&ed]);
    // Unknown kid.
    assert_eq!(
        validate(&sign(&other, &claims()), &ks, &policy(), NOW),
        Err(TokenError::UnknownKey(Some("other".into())))
    );
    // Signed by another key under the known kid.
    let forged = sign(
        &Signer {
            kid: "ed".into(),
            ..ed25519("x")
        },
        &claims(),
    );
    assert!(matches!(
        validate(&forged, &ks, &policy(), NOW),
        Err(TokenError::Invalid(_))
    ));
    // Payload changed after signing.
    let good = sign(&ed, &claims());
    let mut parts: Vec<&str> = good.split('.').collect();
    let tampered_payload = URL_SAFE_NO_PAD.encode(with(|c| c["sub"] = json!("admin")).to_string());
    parts[1] = &tampered_payload;
    assert!(matches!(
        validate(&parts.join("."), &ks, &policy(), NOW),
        Err(TokenError::Invalid(_))
    ));
    // alg: none.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert_eq!(
        validate(&none, &ks, &policy(), NOW),
        Err(TokenError::Malformed)
    );
    // HS256 "signed" with the public key: the classic key-confusion attack.
    let public = URL_SAFE_NO_PAD
        .decode(ed.jwk["x"].as_str().unwrap())
        .unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("ed".into());
    let confused = encode(&header, &claims(), &EncodingKey::from_secret(&public)).unwrap();
    assert_eq!(
        validate(&confused, &ks, &policy(), NOW),
        Err(TokenError::AlgorithmNotAllowed("HS256".into()))
    );
    // An allowed algorithm the key cannot verify.
    let ec = p256("ec");
    let mismatched = sign(
        &Signer {
            kid: "ed".into(),
            ..ec
        },
        &claims(),
    );
    assert_eq!(
        validate(&mismatched, &ks, &policy(), NOW),
        Err(TokenError::AlgorithmMismatch)
    );
    assert_eq!(
        validate("not a token", &ks, &policy(), NOW),
        Err(TokenError::Malformed)
    );
}

#[test]
fn key_sets_refuse_symmetric_keys() {
    let doc = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}]});
    assert!(matches!(
        KeySet::from_json(&doc.to_string()),
        Err(KeyError::BadKey { .. })
    ));
    assert!(matches!(KeySet::from_json("[]"), Err(KeyError::NotJwks(_))));
}
