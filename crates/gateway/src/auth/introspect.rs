//! Opaque tokens: asked about at the issuer's RFC 7662 endpoint, answers cached no longer than
//! the token lives (and at most five minutes, so a revocation is seen soon).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use moat_config::Introspection;
use moat_identity::{Principal, TokenError, TokenPolicy, principal_from_introspection};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

const MAX_CACHE_TIME: Duration = Duration::from_secs(300);
const MAX_CACHED: usize = 10_000;

pub(crate) struct Introspector {
    cfg: Introspection,
    http: reqwest::Client,
    /// SHA-256 of the token → the caller and until when the answer may be reused.
    cache: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl Introspector {
    pub(crate) fn new(cfg: Introspection, http: reqwest::Client) -> Self {
        Self {
            cfg,
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn principal(
        &self,
        token: &str,
        policy: &TokenPolicy,
        now: u64,
    ) -> Result<Principal, TokenError> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some((p, until)) = self.cache.lock().get(&key)
            && Instant::now() < *until
        {
            return Ok(p.clone());
        }
        let body = self.ask(token).await.map_err(|e| {
            tracing::error!(url = %self.cfg.url, "token introspection failed: {e}");
            TokenError::Invalid("the token could not be checked with its issuer".into())
        })?;
        let principal = principal_from_introspection(&body, policy, now)?;
        let ttl = Duration::from_secs(principal.expires_at.saturating_sub(now)).min(MAX_CACHE_TIME);
        let mut cache = self.cache.lock();
        if cache.len() >= MAX_CACHED {
            let t = Instant::now();
            cache.retain(|_, (_, until)| *until > t);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (principal.clone(), Instant::now() + ttl));
        Ok(principal)
    }

    async fn ask(&self, token: &str) -> Result<String, String> {
        let secret = self
            .cfg
            .client_secret
            .resolve()
            .map_err(|e| e.to_string())?;
        let resp = self
            .http
            .post(&self.cfg.url)
            .basic_auth(&self.cfg.client_id, Some(secret))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(format!(
                "token={}&token_type_hint=access_token",
                form_encode(token)
            ))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status()));
        }
        resp.text().await.map_err(|e| e.to_string())
    }
}

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_encoding() {
        assert_eq!(super::form_encode("a b+c/=ü"), "a+b%2Bc%2F%3D%C3%BC");
    }
}
