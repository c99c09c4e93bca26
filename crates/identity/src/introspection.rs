//! Opaque access tokens: the issuer's RFC 7662 introspection answer, checked like a JWT's claims.

use serde::Deserialize;

use crate::principal::Principal;
use crate::token::{TokenError, TokenPolicy};

#[derive(Deserialize)]
struct Answer {
    active: bool,
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<u64>,
    iat: Option<u64>,
    nbf: Option<u64>,
    scope: Option<String>,
    client_id: Option<String>,
    jti: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, aud: &str) -> bool {
        match self {
            Self::One(a) => a == aud,
            Self::Many(list) => list.iter().any(|a| a == aud),
        }
    }
}

/// The caller an introspection answer describes, under the same rules as a JWT: active, this
/// issuer (when named), this resource as audience, unexpired, not too long-lived.
pub fn principal_from_introspection(
    body: &str,
    policy: &TokenPolicy,
    now: u64,
) -> Result<Principal, TokenError> {
    let a: Answer = serde_json::from_str(body)
        .map_err(|e| TokenError::Invalid(format!("introspection answer: {e}")))?;
    if !a.active {
        return Err(TokenError::Invalid(
            "the token is not active (revoked, expired or unknown)".into(),
        ));
    }
    if a.iss.as_deref().is_some_and(|iss| iss != policy.issuer) {
        return Err(TokenError::Invalid("issued by another issuer".into()));
    }
    if !a
        .aud
        .as_ref()
        .is_some_and(|aud| aud.contains(&policy.audience))
    {
        return Err(TokenError::Invalid(
            "the token is not for this resource (aud)".into(),
        ));
    }
    let exp = a
        .exp
        .ok_or_else(|| TokenError::Invalid("the introspection answer has no exp".into()))?;
    let leeway = policy.leeway_secs;
    if exp.saturating_add(leeway) <= now {
        return Err(TokenError::Expired);
    }
    if a.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(TokenError::NotYetValid);
    }
    if let Some(iat) = a.iat {
        let lifetime = exp.saturating_sub(iat);
        if lifetime > policy.max_lifetime_secs {
            return Err(TokenError::LifetimeTooLong(
                lifetime,
                policy.max_lifetime_secs,
            ));
        }
    }
    let sub = a
        .sub
        .or_else(|| a.client_id.clone())
        .ok_or_else(|| TokenError::Invalid("no sub or client_id".into()))?;
    Ok(Principal {
        issuer: policy.issuer.clone(),
        subject: sub,
        client_id: a.client_id,
        scopes: a
            .scope
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        expires_at: exp,
        token_id: a.jti,
        groups: a.groups,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: "https://idp".into(),
            audience: "https://moat/mcp".into(),
            algorithms: vec![],
            leeway_secs: 30,
            max_lifetime_secs: 3600,
        }
    }

    const NOW: u64 = 1_800_000_000;

    fn answer(f: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut a = json!({"active": true, "iss": "https://idp", "aud": ["https://moat/mcp"], "sub": "u", "client_id": "c",
                           "scope": "a b", "iat": NOW - 10, "exp": NOW + 100});
        f(&mut a);
        a.to_string()
    }

    #[test]
    fn an_active_token_for_this_resource_is_accepted() {
        let p = principal_from_introspection(&answer(|_| {}), &policy(), NOW).unwrap();
        assert_eq!(
            (p.subject.as_str(), p.client_id.as_deref(), p.scopes.len()),
            ("u", Some("c"), 2)
        );
        let single = answer(|a| a["aud"] = json!("https://moat/mcp"));
        assert!(principal_from_introspection(&single, &policy(), NOW).is_ok());
    }

    #[test]
    fn inactive_foreign_expired_and_long_lived_tokens_are_refused() {
        let refused = |f: fn(&mut serde_json::Value)| {
            principal_from_introspection(&answer(f), &policy(), NOW).unwrap_err()
        };
        assert!(matches!(
            refused(|a| a["active"] = json!(false)),
            TokenError::Invalid(_)
        ));
        assert!(matches!(
            refused(|a| a["iss"] = json!("https://evil")),
            TokenError::Invalid(_)
        ));
        assert!(matches!(
            refused(|a| a["aud"] = json!(["https://other/mcp"])),
            TokenError::Invalid(_)
        ));
        assert!(matches!(
            refused(|a| _ = a.as_object_mut().unwrap().remove("aud")),
            TokenError::Invalid(_)
        ));
        assert!(matches!(
            refused(|a| _ = a.as_object_mut().unwrap().remove("exp")),
            TokenError::Invalid(_)
        ));
        assert_eq!(refused(|a| a["exp"] = json!(NOW - 60)), TokenError::Expired);
        assert_eq!(
            refused(|a| a["exp"] = json!(NOW + 7200)),
            TokenError::LifetimeTooLong(7210, 3600)
        );
        assert!(principal_from_introspection("not json", &policy(), NOW).is_err());
    }
}
