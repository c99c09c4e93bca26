//! Short-lived, single-use values held in memory: authorization requests waiting for the user
//! and authorization codes waiting for the client. Each is taken at most once; expired entries
//! are dropped when the map grows, and the map has a hard cap so it cannot be used to exhaust
//! memory.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use moat_store::OpaqueToken;

pub(crate) struct Expiring<T> {
    map: DashMap<String, (T, Instant)>,
    ttl: Duration,
    cap: usize,
}

impl<T> Expiring<T> {
    pub(crate) fn new(ttl: Duration, cap: usize) -> Self {
        Self {
            map: DashMap::new(),
            ttl,
            cap,
        }
    }

    /// Stores `value` under a fresh random key (256 bits) and returns the key; `None` when
    /// full even after dropping what expired.
    pub(crate) fn insert(&self, value: T) -> Option<String> {
        if self.map.len() >= self.cap / 2 {
            self.map.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        if self.map.len() >= self.cap {
            return None;
        }
        let key = OpaqueToken::generate().expose().to_owned();
        self.map.insert(key.clone(), (value, Instant::now()));
        Some(key)
    }

    /// Stores `value` under a key chosen by the caller (one it got from [`Self::insert`]
    /// elsewhere); dropped when full.
    pub(crate) fn insert_as(&self, key: String, value: T) {
        if self.map.len() >= self.cap / 2 {
            self.map.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        if self.map.len() < self.cap {
            self.map.insert(key, (value, Instant::now()));
        }
    }

    /// Removes and returns the value under `key`, unless it expired.
    pub(crate) fn take(&self, key: &str) -> Option<T> {
        let (_, (value, at)) = self.map.remove(key)?;
        (at.elapsed() < self.ttl).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_single_use_and_the_map_is_capped() {
        let m = Expiring::new(Duration::from_secs(60), 4);
        let k = m.insert(1).unwrap();
        assert_eq!(k.len(), 43);
        assert_eq!(m.take(&k), Some(1));
        assert_eq!(m.take(&k), None, "single use");
        for i in 0..4 {
            assert!(m.insert(i).is_some());
        }
        assert!(m.insert(9).is_none(), "full");
    }

    #[test]
    fn expired_values_are_not_returned_and_make_room() {
        let m = Expiring::new(Duration::ZERO, 2);
        let k = m.insert(1).unwrap();
        assert_eq!(m.take(&k), None);
        assert!(m.insert(2).is_some());
        assert!(m.insert(3).is_some(), "the expired entry was dropped");
    }
}
