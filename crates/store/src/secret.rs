//! Hashing of credentials before they reach the database.
//!
//! - Refresh tokens (and any other opaque token moat mints) are 256 random bits, so a plain
//!   SHA-256 is enough: nobody can brute-force the preimage, and a lookup by hash stays an index
//!   hit. The database only ever sees [`TokenHash`].
//! - Client secrets may be chosen by people, so they get argon2id ([`SecretHash`], a PHC string
//!   with its parameters and salt), verified in constant time.

use std::fmt;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// Random bytes in an [`OpaqueToken`]: 256 bits.
const TOKEN_BYTES: usize = 32;

/// A freshly minted bearer secret (refresh token, client secret). It is shown to its holder once;
/// only its hash is stored. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueToken(String);

impl OpaqueToken {
    /// 256 random bits from the thread-local CSPRNG, base64url without padding (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a token a client presented.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token, to hand to its holder.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the store knows this token.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken(<redacted>)")
    }
}

/// SHA-256 of a high-entropy token, lowercase hex: what the store keeps instead of the token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a token as presented by a client.
    pub fn of(token: &str) -> Self {
        Self(hex(&Sha256::digest(token.as_bytes())))
    }

    /// The hex form, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads a hash back from the database.
    pub(crate) fn from_stored(hex: String) -> Self {
        Self(hex)
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of a client secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecretHash(String);

impl SecretHash {
    /// Hashes a secret with argon2id and a random salt (OWASP parameters: 19 MiB, t=2, p=1).
    pub fn hash(secret: &str) -> Result<Self, StoreError> {
        Argon2::default()
            .hash_password(secret.as_bytes())
            .map(|hash| Self(hash.to_string()))
            .map_err(|error| StoreError::Backend(format!("argon2id hashing failed: {error}")))
    }

    /// Accepts a PHC string made elsewhere (config, a migration), if it is argon2id.
    pub fn from_phc(phc: &str) -> Result<Self, StoreError> {
        let parsed = PasswordHash::new(phc)
            .map_err(|error| StoreError::Invalid(format!("not a PHC string: {error}")))?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(StoreError::Invalid(format!(
                "secret hash uses {}, expected argon2id",
                parsed.algorithm
            )));
        }
        Ok(Self(phc.to_owned()))
    }

    /// Whether `presented` is the secret this hash was made from. Constant-time in the hash
    /// comparison; a malformed stored hash never verifies.
    pub fn verify(&self, presented: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(&self.0) else {
            return false;
        };
        Argon2::default()
            .verify_password(presented.as_bytes(), &parsed)
            .is_ok()
    }

    /// The PHC string, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<argon2id>)")
    }
}

impl TryFrom<String> for SecretHash {
    type Error = StoreError;

    fn try_from(phc: String) -> Result<Self, StoreError> {
        Self::from_phc(&phc)
    }
}

impl From<SecretHash> for String {
    fn from(hash: SecretHash) -> Self {
        hash.0
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests;
