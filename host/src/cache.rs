//! The result cache: intermediate frames keyed by content (input pixels or upstream key, effect,
//! library, parameters, variant, format, seed), with a byte budget and LRU eviction, and an
//! optional disk tier ([`disk`]) that outlives the process and is shared by every process using
//! the same folder. Lookups try memory, then disk (a disk hit is kept in memory too); new results
//! go to both.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::frame::Frame;

pub mod disk;

pub use disk::{DiskCache, DiskStats};

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
    /// The disk tier's counters (zero without one).
    pub disk: DiskStats,
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
    disk: OnceLock<Arc<DiskCache>>,
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
            disk: OnceLock::new(),
        })
    }

    /// Adds `disk` as this cache's second tier; a cache keeps the first disk tier it is given
    /// (returns whether this one is it).
    pub fn attach_disk(&self, disk: Arc<DiskCache>) -> bool {
        let ours = self.disk.get_or_init(|| disk.clone());
        Arc::ptr_eq(ours, &disk)
    }

    /// The disk tier, if there is one.
    pub fn disk(&self) -> Option<&Arc<DiskCache>> {
        self.disk.get()
    }

    /// The frame stored under `key`: from memory, else from the disk tier (then kept in memory).
    pub fn get(&self, key: &Key) -> Option<Arc<Frame>> {
        let found = self.get_memory(key);
        if found.is_some() {
            return found;
        }
        let frame = Arc::new(self.disk.get()?.get(key)?);
        self.insert_memory(*key, frame.clone());
        Some(frame)
    }

    fn get_memory(&self, key: &Key) -> Option<Arc<Frame>> {
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

    /// Stores `frame` under `key` in memory and on disk, evicting the least recently used entries
    /// beyond each tier's budget.
    pub fn insert(&self, key: Key, frame: Arc<Frame>) {
        if let Some(d) = self.disk.get() {
            d.insert(&key, &frame);
        }
        self.insert_memory(key, frame);
    }

    fn insert_memory(&self, key: Key, frame: Arc<Frame>) {
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
            disk: self.disk.get().map(|d| d.stats()).unwrap_or_default(),
        }
    }
}
