//! The result cache: intermediate frames keyed by content (input pixels or upstream key, effect,
//! library, parameters, variant, format, seed), with a byte budget and LRU eviction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::frame::Frame;

/// A cache key: BLAKE3 of everything that determines a node's pixels.
pub type Key = [u8; 32];

struct Entry {
    frame: Arc<Frame>,
    bytes: u64,
    last_used: AtomicU64,
    inserted: Instant,
}

/// Counters of the cache.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Lookups served.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Entries dropped to stay within the budget (or expired).
    pub evictions: u64,
    /// Bytes held.
    pub bytes: u64,
    /// Entries held.
    pub entries: u64,
}

/// A content-keyed cache of frames.
pub struct ResultCache {
    map: DashMap<Key, Entry>,
    budget: u64,
    ttl: Option<Duration>,
    clock: AtomicU64,
    bytes: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl ResultCache {
    /// A cache holding at most `budget` bytes of frames; entries older than `ttl` are dropped.
    pub fn new(budget: u64, ttl: Option<Duration>) -> Arc<Self> {
        Arc::new(ResultCache {
            map: DashMap::new(),
            budget,
            ttl,
            clock: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        })
    }

    /// The frame stored under `key`.
    pub fn get(&self, key: &Key) -> Option<Arc<Frame>> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let found = self.map.get(key).and_then(|e| {
            if self.ttl.is_some_and(|t| e.inserted.elapsed() > t) {
                return None;
            }
            e.last_used.store(tick, Ordering::Relaxed);
            Some(e.frame.clone())
        });
        match &found {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        found
    }

    /// Stores `frame` under `key`, evicting the least recently used entries beyond the budget.
    pub fn insert(&self, key: Key, frame: Arc<Frame>) {
        let bytes = frame.byte_len() as u64;
        if bytes > self.budget {
            return;
        }
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        if let Some(old) =
            self.map.insert(key, Entry { frame, bytes, last_used: AtomicU64::new(tick), inserted: Instant::now() })
        {
            self.bytes.fetch_sub(old.bytes, Ordering::Relaxed);
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.evict();
    }

    fn evict(&self) {
        while self.bytes.load(Ordering::Relaxed) > self.budget {
            let oldest = self.map.iter().min_by_key(|e| e.last_used.load(Ordering::Relaxed)).map(|e| *e.key());
            let Some(k) = oldest else { break };
            if let Some((_, e)) = self.map.remove(&k) {
                self.bytes.fetch_sub(e.bytes, Ordering::Relaxed);
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(ttl) = self.ttl {
            let expired: Vec<Key> = self.map.iter().filter(|e| e.inserted.elapsed() > ttl).map(|e| *e.key()).collect();
            for k in expired {
                if let Some((_, e)) = self.map.remove(&k) {
                    self.bytes.fetch_sub(e.bytes, Ordering::Relaxed);
                    self.evictions.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.map.clear();
        self.bytes.store(0, Ordering::Relaxed);
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            entries: self.map.len() as u64,
        }
    }
}
