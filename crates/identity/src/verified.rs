//! Tokens already verified, so a client's next requests skip the signature check.
//!
//! An entry serves until the token expires or [`VerifiedTokens::TRUST_FOR_SECS`] after it was
//! verified, whichever is first: a key withdrawn from the issuer's set stops being honoured
//! within that time. Revocation and the agent's status are not cached here; callers check them
//! on every request. The map is bounded: when full it is emptied, so a flood of distinct
//! tokens costs verifications, never memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::principal::Principal;

struct Entry {
    principal: Arc<Principal>,
    verified_at: u64,
}

/// Verified tokens by their text.
pub struct VerifiedTokens {
    entries: RwLock<HashMap<Box<str>, Entry>>,
    capacity: usize,
    leeway_secs: u64,
}

impl VerifiedTokens {
    /// How long (seconds) a verification is trusted.
    pub const TRUST_FOR_SECS: u64 = 60;

    /// A cache of at most `capacity` tokens, honouring `exp` with `leeway_secs` as validation does.
    pub fn new(capacity: usize, leeway_secs: u64) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity,
            leeway_secs,
        }
    }

    /// The principal of `token` if it was verified and still holds at `now` (Unix seconds).
    pub fn get(&self, token: &str, now: u64) -> Option<Arc<Principal>> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(token)?;
        let fresh = now < entry.verified_at.saturating_add(Self::TRUST_FOR_SECS)
            && now < entry.principal.expires_at.saturating_add(self.leeway_secs);
        fresh.then(|| entry.principal.clone())
    }

    /// Remembers that `token` verified as `principal` at `now`.
    pub fn insert(&self, token: &str, principal: Arc<Principal>, now: u64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            token.into(),
            Entry {
                principal,
                verified_at: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(exp: u64) -> Arc<Principal> {
        Arc::new(Principal {
            issuer: "i".into(),
            subject: "s".into(),
            client_id: None,
            scopes: vec![],
            expires_at: exp,
            token_id: None,
            groups: vec![],
        })
    }

    #[test]
    fn entries_serve_until_expiry_or_the_trust_period() {
        let cache = VerifiedTokens::new(10, 5);
        cache.insert("t", principal(1_030), 1_000);
        assert!(cache.get("t", 1_000).is_some());
        assert!(cache.get("t", 1_034).is_some(), "within leeway");
        assert!(cache.get("t", 1_035).is_none(), "expired");
        assert!(cache.get("other", 1_000).is_none());
        cache.insert("long", principal(10_000), 1_000);
        assert!(cache.get("long", 1_059).is_some());
        assert!(
            cache.get("long", 1_060).is_none(),
            "verify again after a minute"
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = VerifiedTokens::new(2, 0);
        cache.insert("a", principal(9_999), 0);
        cache.insert("b", principal(9_999), 0);
        cache.insert("c", principal(9_999), 0);
        assert!(cache.get("a", 1).is_none(), "emptied when full");
        assert!(cache.get("c", 1).is_some());
    }
}
