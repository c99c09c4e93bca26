//! Signing keys: generated with `ring`, stored as PKCS#8, published as JWKs whose `kid` is the
//! RFC 7638 thumbprint (so a key's id follows from the key and cannot collide by accident).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The algorithms the built-in server signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 (the default: small, fast, no nonce to get wrong).
    EdDsa,
    /// ECDSA P-256 with SHA-256, for clients that cannot verify Ed25519.
    Es256,
}

impl KeyAlgorithm {
    /// The JWS `alg`.
    pub fn jws_name(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// A key that cannot be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The system random source failed.
    #[error("cannot generate a key: the random source failed")]
    Random,
    /// Stored bytes are not a PKCS#8 key of the stated algorithm.
    #[error("the stored key is not a PKCS#8 {0} private key")]
    Corrupt(&'static str),
}

/// A new key pair.
#[derive(Clone)]
pub struct GeneratedKey {
    /// The RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// The algorithm.
    pub algorithm: KeyAlgorithm,
    /// The private key, PKCS#8 DER.
    pub pkcs8: Vec<u8>,
    /// The public key as a JWK with `kid`, `alg` and `use`.
    pub public_jwk: Value,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Generates a key pair.
pub fn generate(algorithm: KeyAlgorithm) -> Result<GeneratedKey, KeyError> {
    let rng = SystemRandom::new();
    let pkcs8 = match algorithm {
        KeyAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng),
        KeyAlgorithm::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
    }
    .map_err(|_| KeyError::Random)?
    .as_ref()
    .to_vec();
    let public_jwk = public_jwk(algorithm, &pkcs8)?;
    let kid = public_jwk["kid"].as_str().unwrap_or_default().to_owned();
    Ok(GeneratedKey {
        kid,
        algorithm,
        pkcs8,
        public_jwk,
    })
}

/// The public JWK (with `kid` = thumbprint, `alg`, `use: sig`) of a PKCS#8 private key.
pub fn public_jwk(algorithm: KeyAlgorithm, pkcs8: &[u8]) -> Result<Value, KeyError> {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    // The RFC 7638 members in lexicographic order, no whitespace: the thumbprint input.
    let (required, mut jwk) = match algorithm {
        KeyAlgorithm::EdDsa => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                .map_err(|_| KeyError::Corrupt("Ed25519"))?;
            let x = b64(pair.public_key().as_ref());
            (
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
                json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
            )
        }
        KeyAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::from_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8,
                &SystemRandom::new(),
            )
            .map_err(|_| KeyError::Corrupt("P-256"))?;
            // Uncompressed SEC1 point: 0x04 ‖ x (32 bytes) ‖ y (32 bytes).
            let point = pair.public_key().as_ref();
            if point.len() != 65 {
                return Err(KeyError::Corrupt("P-256"));
            }
            let (x, y) = (b64(&point[1..33]), b64(&point[33..]));
            (
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
            )
        }
    };
    let kid = b64(&Sha256::digest(required.as_bytes()));
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(algorithm.jws_name());
    jwk["use"] = json!("sig");
    Ok(jwk)
}

/// A private key ready to sign access tokens.
pub struct Signer {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    pub(crate) key: EncodingKey,
}

impl Signer {
    /// A signer over a stored PKCS#8 key; checks the bytes are a key of `algorithm`.
    pub fn new(kid: &str, algorithm: KeyAlgorithm, pkcs8: &[u8]) -> Result<Self, KeyError> {
        public_jwk(algorithm, pkcs8)?;
        let key = match algorithm {
            KeyAlgorithm::EdDsa => EncodingKey::from_ed_der(pkcs8),
            KeyAlgorithm::Es256 => EncodingKey::from_ec_der(pkcs8),
        };
        Ok(Self {
            kid: kid.to_owned(),
            algorithm: algorithm.jwt(),
            key,
        })
    }

    /// The `kid` tokens carry.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_thumbprint_ids_and_round_trip() {
        for alg in [KeyAlgorithm::EdDsa, KeyAlgorithm::Es256] {
            let key = generate(alg).unwrap();
            assert_eq!(key.kid.len(), 43, "base64url SHA-256");
            assert_eq!(key.public_jwk["kid"], key.kid.as_str());
            assert_eq!(key.public_jwk["alg"], alg.jws_name());
            assert_eq!(public_jwk(alg, &key.pkcs8).unwrap(), key.public_jwk);
            assert!(key.public_jwk.get("d").is_none(), "no private member");
            let other = generate(alg).unwrap();
            assert_ne!(other.kid, key.kid);
        }
    }

    #[test]
    fn the_thumbprint_matches_rfc_7638_for_a_known_key() {
        // RFC 8037 appendix A.3: the thumbprint of its example Ed25519 public key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes())),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_key_of_another_algorithm_is_refused() {
        let ed = generate(KeyAlgorithm::EdDsa).unwrap();
        assert!(Signer::new(&ed.kid, KeyAlgorithm::Es256, &ed.pkcs8).is_err());
        assert!(Signer::new("k", KeyAlgorithm::EdDsa, b"not a key").is_err());
    }
}
