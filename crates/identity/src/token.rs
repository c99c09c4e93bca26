//! Access-token validation: signature with an allowlisted asymmetric algorithm, issuer, audience
//! (moat's own resource URI, RFC 8707), time window with bounded leeway, and a maximum lifetime.

use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde::Deserialize;

use crate::keys::KeySet;
use crate::principal::Principal;

/// What moat accepts.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// The only accepted `iss`.
    pub issuer: String,
    /// The only accepted `aud`: moat's canonical resource URI.
    pub audience: String,
    /// Signature algorithms accepted; never symmetric ones (the keys are public).
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Longest accepted `exp − iat`, in seconds: long-lived tokens are refused outright.
    pub max_lifetime_secs: u64,
}

/// Why a token was refused. The text is safe to show the client: it never echoes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, or a header moat cannot read (including `alg: none`).
    #[error("the token is not a well-formed signed JWT")]
    Malformed,
    /// The algorithm is not on the allowlist (symmetric algorithms never are).
    #[error("tokens signed with {0} are not accepted")]
    AlgorithmNotAllowed(String),
    /// No key with the token's `kid` (the caller may refresh the key set once and retry).
    #[error("the token's signing key {0:?} is not known")]
    UnknownKey(Option<String>),
    /// The key cannot verify the token's algorithm.
    #[error("the token's algorithm does not match its signing key")]
    AlgorithmMismatch,
    /// Signature, issuer or audience wrong, or a required claim missing.
    #[error("the token is invalid: {0}")]
    Invalid(String),
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `exp − iat` exceeds the configured maximum.
    #[error("the token's lifetime of {0} s exceeds the maximum of {1} s")]
    LifetimeTooLong(u64, u64),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: u64,
    iat: u64,
    nbf: Option<u64>,
    scope: Option<String>,
    scp: Option<Vec<String>>,
    client_id: Option<String>,
    azp: Option<String>,
    jti: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// Validates `token` at time `now` (seconds since the Unix epoch).
pub fn validate(
    token: &str,
    keys: &KeySet,
    policy: &TokenPolicy,
    now: u64,
) -> Result<Principal, TokenError> {
    let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
    let alg = header.alg;
    if !policy.algorithms.contains(&alg)
        || matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    {
        return Err(TokenError::AlgorithmNotAllowed(format!("{alg:?}")));
    }
    let key = keys
        .get(header.kid.as_deref())
        .ok_or_else(|| TokenError::UnknownKey(header.kid.clone()))?;
    if !key.family.fits(alg) || key.alg.is_some_and(|k| k != alg) {
        return Err(TokenError::AlgorithmMismatch);
    }
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&policy.issuer]);
    validation.set_audience(&[&policy.audience]);
    // Time is checked below against the caller's clock, so it can be tested and is checked once.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let claims = decode::<Claims>(token, &key.decoding, &validation)
        .map_err(|e| TokenError::Invalid(e.to_string()))?
        .claims;
    let leeway = policy.leeway_secs;
    if claims.exp.saturating_add(leeway) <= now {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        || claims.iat > now.saturating_add(leeway)
    {
        return Err(TokenError::NotYetValid);
    }
    let lifetime = claims.exp.saturating_sub(claims.iat);
    if lifetime > policy.max_lifetime_secs {
        return Err(TokenError::LifetimeTooLong(
            lifetime,
            policy.max_lifetime_secs,
        ));
    }
    let scopes = match (claims.scope, claims.scp) {
        (Some(s), _) => s.split_whitespace().map(str::to_owned).collect(),
        (None, Some(list)) => list,
        (None, None) => Vec::new(),
    };
    Ok(Principal {
        issuer: claims.iss,
        subject: claims.sub,
        client_id: claims.client_id.or(claims.azp),
        scopes,
        expires_at: claims.exp,
        token_id: claims.jti,
        groups: claims.groups,
    })
}

#[cfg(test)]
mod tests;
