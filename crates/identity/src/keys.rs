//! A JSON Web Key Set: the public keys tokens may be signed with.

use std::collections::HashMap;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

/// A key set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not a JWKS document.
    #[error("not a JWKS document: {0}")]
    NotJwks(String),
    /// A key moat refuses (symmetric, or unusable).
    #[error("key {kid:?}: {why}")]
    BadKey {
        /// The key id.
        kid: String,
        /// Why.
        why: String,
    },
}

/// One usable public key.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    /// The algorithm the key is pinned to by its `alg` member, if any.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) family: Family,
}

/// The kind of a public key, which bounds the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Rsa,
    Ec,
    Ed,
}

impl Family {
    pub(crate) fn fits(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (
                Self::Rsa,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (Self::Ec, Algorithm::ES256 | Algorithm::ES384)
                | (Self::Ed, Algorithm::EdDSA)
        )
    }
}

/// Public keys by key id. Symmetric (`oct`) keys are refused: a JWKS is public, so an HMAC key in
/// it would let anyone sign.
#[derive(Default)]
pub struct KeySet {
    keys: HashMap<String, Key>,
}

impl KeySet {
    /// Parses a JWKS document. Keys moat cannot use are reported, not skipped silently.
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let set: JwkSet =
            serde_json::from_str(text).map_err(|e| KeyError::NotJwks(e.to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            keys.insert(
                kid.clone(),
                key(jwk).map_err(|why| KeyError::BadKey { kid, why })?,
            );
        }
        Ok(Self { keys })
    }

    /// The key a token names; with no `kid`, the set's only key.
    pub(crate) fn get(&self, kid: Option<&str>) -> Option<&Key> {
        match kid {
            Some(kid) => self.keys.get(kid),
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
    }

    /// How many keys the set has.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn key(jwk: &Jwk) -> Result<Key, String> {
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Family::Rsa,
        AlgorithmParameters::EllipticCurve(_) => Family::Ec,
        AlgorithmParameters::OctetKeyPair(_) => Family::Ed,
        AlgorithmParameters::OctetKey(_) => return Err("symmetric (oct) keys are refused".into()),
        _ => return Err("unsupported key type".into()),
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(
            a.to_string()
                .parse::<Algorithm>()
                .map_err(|_| format!("algorithm {a} cannot verify signatures"))?,
        ),
    };
    if alg.is_some_and(|a| !family.fits(a)) {
        return Err("its alg does not match its key type".into());
    }
    let decoding = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok(Key {
        decoding,
        alg,
        family,
    })
}
