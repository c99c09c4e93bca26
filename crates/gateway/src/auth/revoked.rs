//! Revoked access tokens, by `jti`, followed from the store's revocation log.
//!
//! A revocation made in this process (the RFC 7009 endpoint) takes effect on the next request;
//! one made elsewhere (`moat token revoke`, another instance) within [`SYNC_EVERY`]: the log is
//! read from the last `seq` seen, by one request at a time, never on every request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moat_store::Store;
use moat_store::chrono::Utc;
use parking_lot::RwLock;

const SYNC_EVERY: Duration = Duration::from_secs(1);
/// A read of the log that takes longer counts as failed.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// How far back each read looks again, for revocations committed out of `seq` order (and
/// clocks of other instances a little behind).
const REREAD: moat_store::chrono::TimeDelta = moat_store::chrono::TimeDelta::seconds(30);
/// How long the last copy of the log serves while the store cannot be read.
const MAX_STALE_MS: u64 = 30_000;
/// Revocations noted here are kept this long (the longest token lifetime moat accepts).
const NOTE_FOR_SECS: i64 = 24 * 3600;

pub(crate) struct Revoked {
    store: Store,
    /// jti → expiry (seconds since the epoch); expired entries are dropped on sync.
    jtis: RwLock<HashMap<String, i64>>,
    cursor: AtomicI64,
    /// When the last successful read started (wall clock, as the store's `revoked_at`).
    read_from: parking_lot::Mutex<Option<moat_store::chrono::DateTime<Utc>>>,
    /// Milliseconds since `epoch` of the last successful sync; 0 = never.
    synced_ms: AtomicU64,
    epoch: Instant,
    syncing: tokio::sync::Mutex<()>,
}

impl Revoked {
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            jtis: RwLock::new(HashMap::new()),
            cursor: AtomicI64::new(0),
            read_from: parking_lot::Mutex::new(None),
            synced_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            syncing: tokio::sync::Mutex::new(()),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the token `jti` is revoked. Fails (closed) only when the log was never read or
    /// has not been readable for a while.
    pub(crate) async fn contains(&self, jti: &str) -> Result<bool, String> {
        let synced = self.synced_ms.load(Ordering::Acquire);
        let stale = synced == 0
            || self.now_ms().saturating_sub(synced)
                >= u64::try_from(SYNC_EVERY.as_millis()).unwrap_or(1000);
        if stale {
            // One request reads the log; the others go on with what is known unless nothing is.
            match self.syncing.try_lock() {
                Ok(_guard) => {
                    if let Err(e) = self.sync().await {
                        // A short outage of the store is ridden out on what is known; a long
                        // one refuses, since revocations could be missed.
                        if synced == 0 || self.now_ms().saturating_sub(synced) >= MAX_STALE_MS {
                            return Err(e);
                        }
                        tracing::warn!("cannot read the revocation log, using the last copy: {e}");
                    }
                }
                Err(_) if synced == 0 => {
                    let _guard = self.syncing.lock().await;
                    if self.synced_ms.load(Ordering::Acquire) == 0 {
                        self.sync().await?;
                    }
                }
                // Another request is reading the log; unless that has gone on too long (a hung
                // store), the last copy serves.
                Err(_) if self.now_ms().saturating_sub(synced) >= MAX_STALE_MS => {
                    return Err("the revocation log has not been read for 30 s".into());
                }
                Err(_) => {}
            }
        }
        Ok(self.jtis.read().contains_key(jti))
    }

    async fn sync(&self) -> Result<(), String> {
        let now = Utc::now();
        let since = self
            .read_from
            .lock()
            .map_or(moat_store::chrono::DateTime::<Utc>::MIN_UTC, |t| t - REREAD);
        let revocations = self.store.revocations();
        let read = revocations.after(self.cursor.load(Ordering::Acquire), since, now);
        let rows = tokio::time::timeout(SYNC_TIMEOUT, read)
            .await
            .map_err(|_| format!("no answer from the store in {SYNC_TIMEOUT:?}"))?
            .map_err(|e| e.to_string())?;
        *self.read_from.lock() = Some(now);
        {
            let mut jtis = self.jtis.write();
            let now_s = now.timestamp();
            jtis.retain(|_, exp| *exp > now_s);
            for r in &rows {
                jtis.insert(r.jti.clone(), r.expires_at.timestamp());
            }
        }
        if let Some(last) = rows.last() {
            self.cursor.fetch_max(last.seq, Ordering::AcqRel);
        }
        self.synced_ms
            .store(self.now_ms().max(1), Ordering::Release);
        Ok(())
    }

    /// Records a revocation this process just wrote to the store, effective at once.
    pub(crate) fn note(&self, jti: &str) {
        self.jtis
            .write()
            .insert(jti.to_owned(), Utc::now().timestamp() + NOTE_FOR_SECS);
    }
}
