//! PKCE (RFC 7636) with the S256 method only: `plain` would hand the verifier to anyone who sees
//! the authorization request, and OAuth 2.1 requires S256 where the client can do it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, OAuthError};

/// A checked `code_challenge`: 43 base64url characters (a SHA-256 digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Checks the challenge and its method as sent in an authorization request.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, OAuthError> {
        let invalid = |why: &str| OAuthError::new(ErrorCode::InvalidRequest, why);
        let challenge = challenge.ok_or_else(|| invalid("code_challenge is required (PKCE)"))?;
        match method {
            Some("S256") => {}
            None => {
                return Err(invalid(
                    "code_challenge_method is required and must be S256",
                ));
            }
            Some(other) => {
                return Err(invalid(&format!(
                    "code_challenge_method {other:?} is not supported; use S256"
                )));
            }
        }
        let decoded = URL_SAFE_NO_PAD.decode(challenge).ok();
        if challenge.len() != 43 || decoded.is_none_or(|d| d.len() != 32) {
            return Err(invalid(
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
            ));
        }
        Ok(Self(challenge.to_owned()))
    }

    /// The challenge as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` (from the token request) is the one this challenge was made from.
    /// A verifier outside RFC 7636's alphabet or length never matches.
    pub fn is_met_by(&self, verifier: &str) -> bool {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !well_formed {
            return false;
        }
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        // A plain comparison: the challenge travelled in the front channel and is no secret,
        // and timing reveals nothing about a preimage of SHA-256.
        digest == self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_example_verifies() {
        let c = CodeChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap();
        assert!(c.is_met_by(VERIFIER));
        assert!(!c.is_met_by(&VERIFIER.replace('d', "e")));
    }

    #[test]
    fn plain_missing_and_malformed_challenges_are_refused() {
        assert!(CodeChallenge::parse(Some(CHALLENGE), Some("plain")).is_err());
        assert!(CodeChallenge::parse(Some(CHALLENGE), None).is_err());
        assert!(CodeChallenge::parse(None, Some("S256")).is_err());
        assert!(CodeChallenge::parse(Some("short"), Some("S256")).is_err());
        let e = CodeChallenge::parse(Some(CHALLENGE), Some("plain")).unwrap_err();
        assert_eq!(e.error, ErrorCode::InvalidRequest);
        assert!(e.error_description.contains("S256"));
    }

    #[test]
    fn verifiers_outside_the_rfc_alphabet_or_length_never_match() {
        let short = "abc";
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(short.as_bytes()));
        let c = CodeChallenge::parse(Some(&digest), Some("S256")).unwrap();
        assert!(!c.is_met_by(short));
        let spaced = format!("{} ", "a".repeat(43));
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(spaced.as_bytes()));
        let c = CodeChallenge::parse(Some(&digest), Some("S256")).unwrap();
        assert!(!c.is_met_by(&spaced));
    }
}
