//! moat's own access tokens for upstreams that require OAuth (client credentials, RFC 6749
//! §4.4). The client's token is never forwarded (no token passthrough): moat authenticates to
//! the upstream's authorization server as itself, caches the token, and renews it before it
//! expires. Requests read the current token without waiting; only a connection attempt waits
//! for the first one.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use moat_config::UpstreamOAuth;
use parking_lot::Mutex;
use reqwest::header::HeaderValue;

use crate::error::UpstreamErrorKind;

/// Renew this long before the token expires.
const RENEW_BEFORE: Duration = Duration::from_secs(30);
/// Lifetime assumed when the answer gives none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Wait after a failed renewal before the next attempt.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The tokens of every upstream that needs one, made on first use; one per upstream for the
/// life of the gateway, shared by all its sessions.
#[derive(Clone, Default)]
pub struct UpstreamTokens(Arc<Mutex<HashMap<String, Arc<UpstreamToken>>>>);

impl std::fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamTokens(..)")
    }
}

impl UpstreamTokens {
    pub(crate) fn for_upstream(
        &self,
        name: &str,
        oauth: &UpstreamOAuth,
        http: &reqwest::Client,
    ) -> Arc<UpstreamToken> {
        self.0
            .lock()
            .entry(name.to_owned())
            .or_insert_with(|| {
                Arc::new(UpstreamToken {
                    oauth: oauth.clone(),
                    http: http.clone(),
                    current: Mutex::new(None),
                    fetching: tokio::sync::Mutex::new(()),
                    renewer: Mutex::new(None),
                })
            })
            .clone()
    }
}

/// One upstream's token.
pub(crate) struct UpstreamToken {
    oauth: UpstreamOAuth,
    http: reqwest::Client,
    /// `Authorization` value and when to renew it.
    current: Mutex<Option<(HeaderValue, Instant)>>,
    fetching: tokio::sync::Mutex<()>,
    renewer: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for UpstreamToken {
    fn drop(&mut self) {
        if let Some(task) = self.renewer.lock().take() {
            task.abort();
        }
    }
}

impl UpstreamToken {
    /// The current `Authorization` header value, if there is a token.
    pub(crate) fn header(&self) -> Option<HeaderValue> {
        self.current.lock().as_ref().map(|(h, _)| h.clone())
    }

    /// Makes sure there is a token, fetching the first one; starts the renewal task.
    pub(crate) async fn ensure(self: &Arc<Self>) -> Result<(), UpstreamErrorKind> {
        let _one = self.fetching.lock().await;
        let fresh = self
            .current
            .lock()
            .as_ref()
            .is_some_and(|(_, renew_at)| Instant::now() < *renew_at);
        if !fresh {
            self.fetch().await?;
        }
        let mut renewer = self.renewer.lock();
        if renewer.is_none() {
            let weak = Arc::downgrade(self);
            *renewer = Some(tokio::spawn(renew(weak)).abort_handle());
        }
        Ok(())
    }

    async fn fetch(&self) -> Result<(), UpstreamErrorKind> {
        let o = &self.oauth;
        let fail = |why: String| {
            UpstreamErrorKind::Connect(format!("cannot get a token from {}: {why}", o.token_url))
        };
        let secret = o.client_secret.resolve().map_err(|e| fail(e.to_string()))?;
        // Built in a block: the serializer must not live across an await (it is not Send).
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("resource", &o.resource);
            if let Some(scope) = &o.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let resp = self
            .http
            .post(&o.token_url)
            .basic_auth(urlencode(&o.client_id), Some(urlencode(&secret)))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
        let answer: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("not JSON: {e}")))?;
        if !status.is_success() {
            return Err(fail(format!(
                "HTTP {status}: {} {}",
                answer["error"].as_str().unwrap_or("?"),
                answer["error_description"].as_str().unwrap_or("")
            )));
        }
        let token = answer["access_token"]
            .as_str()
            .ok_or_else(|| fail("the answer has no access_token".into()))?;
        let lifetime = answer["expires_in"]
            .as_u64()
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| fail("the access token is not a valid header value".into()))?;
        header.set_sensitive(true);
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE).max(RENEW_BEFORE / 2);
        *self.current.lock() = Some((header, renew_at));
        tracing::info!(token_url = %o.token_url, client = %o.client_id, "got an upstream access token, valid {lifetime:?}");
        Ok(())
    }
}

/// Renews the token at its renewal time until the upstream's token holder is gone.
async fn renew(token: Weak<UpstreamToken>) {
    loop {
        let wait = match token.upgrade() {
            None => return,
            Some(t) => t.current.lock().as_ref().map_or(Duration::ZERO, |(_, at)| {
                at.saturating_duration_since(Instant::now())
            }),
        };
        tokio::time::sleep(wait).await;
        let Some(t) = token.upgrade() else {
            return;
        };
        let _one = t.fetching.lock().await;
        if let Err(e) = t.fetch().await {
            tracing::warn!("{e}; retrying in {RETRY_AFTER:?}");
            drop(_one);
            drop(t);
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}

/// Sets `Authorization` to moat's token for the server, replacing any configured one.
pub(crate) fn add_token(headers: &mut reqwest::header::HeaderMap, token: Option<&UpstreamToken>) {
    if let Some(value) = token.and_then(UpstreamToken::header) {
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before they go into HTTP Basic.
fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
