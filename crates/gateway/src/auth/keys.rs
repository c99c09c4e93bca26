//! The issuer's public keys: loaded on first use, re-read when a token names a key not yet
//! known (key rotation), at most once per interval so unknown `kid`s cannot flood the issuer.
//! With the built-in authorization server the keys come from the store, so a rotation made by
//! `moat keys rotate` in another process is picked up the same way.

use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use moat_config::JwksSource;
use moat_identity::KeySet;

/// Shortest time between two reloads from an external issuer.
const MIN_RELOAD: Duration = Duration::from_secs(10);
/// From the local store a reload is one cheap query: pick up a rotation within a second.
const MIN_RELOAD_STORE: Duration = Duration::from_secs(1);

/// Where the keys come from.
#[derive(Debug)]
pub(crate) enum KeySource {
    /// An external issuer's JWKS.
    Jwks(JwksSource),
    /// moat's own signing keys.
    Store(moat_store::Store),
}

pub(crate) struct Keys {
    source: KeySource,
    http: reqwest::Client,
    current: ArcSwap<KeySet>,
    last_load: tokio::sync::Mutex<Option<Instant>>,
}

impl Keys {
    pub(crate) fn new(source: KeySource, http: reqwest::Client) -> Self {
        Self {
            source,
            http,
            current: ArcSwap::from_pointee(KeySet::default()),
            last_load: tokio::sync::Mutex::new(None),
        }
    }

    pub(crate) fn current(&self) -> std::sync::Arc<KeySet> {
        self.current.load_full()
    }

    /// Loads the key set again unless that happened less than [`MIN_RELOAD`] ago. A failed load
    /// keeps the old set (and is logged).
    pub(crate) async fn reload(&self) {
        let mut last = self.last_load.lock().await;
        let min = match self.source {
            KeySource::Store(_) => MIN_RELOAD_STORE,
            KeySource::Jwks(_) => MIN_RELOAD,
        };
        if last.is_some_and(|t| t.elapsed() < min) {
            return;
        }
        *last = Some(Instant::now());
        match self
            .fetch()
            .await
            .and_then(|text| KeySet::from_json(&text).map_err(|e| e.to_string()))
        {
            Ok(set) => {
                tracing::info!(keys = set.len(), "loaded the token issuer's keys");
                self.current.store(std::sync::Arc::new(set));
            }
            Err(e) => {
                tracing::error!(
                    "cannot load the token issuer's keys ({:?}): {e}",
                    self.source
                );
            }
        }
    }

    async fn fetch(&self) -> Result<String, String> {
        match &self.source {
            KeySource::Store(store) => {
                let keys = store
                    .signing_keys()
                    .published(moat_store::chrono::Utc::now())
                    .await
                    .map_err(|e| e.to_string())?;
                let jwks: Vec<&serde_json::value::RawValue> = keys
                    .iter()
                    .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
                    .collect();
                Ok(serde_json::json!({ "keys": jwks }).to_string())
            }
            KeySource::Jwks(JwksSource::File(path)) => tokio::fs::read_to_string(path)
                .await
                .map_err(|e| e.to_string()),
            KeySource::Jwks(JwksSource::Url(url)) => {
                let resp = self.http.get(url).send().await.map_err(|e| e.to_string())?;
                if !resp.status().is_success() {
                    return Err(format!("HTTP {}", resp.status()));
                }
                resp.text().await.map_err(|e| e.to_string())
            }
        }
    }
}
