//! The shared buffer pool. Every frame buffer comes from here and returns on drop, so a
//! steady-state batch allocates no new frame memory after its first image.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytemuck::{Pod, Zeroable};

/// Alignment of every buffer and row, in bytes.
pub const ALIGN: usize = 64;

/// 64 aligned bytes: buffers are vectors of these, so their start is aligned without `unsafe`.
#[repr(C, align(64))]
#[derive(Copy, Clone, Pod, Zeroable)]
pub struct Block(pub [u8; ALIGN]);

/// Counters of a pool.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PoolStats {
    /// Buffers served from the pool.
    pub hits: u64,
    /// Buffers that had to be allocated.
    pub misses: u64,
    /// Bytes held now (in use + pooled).
    pub bytes: u64,
    /// Most bytes ever held at once.
    pub peak_bytes: u64,
    /// Bytes pooled (free) now.
    pub pooled_bytes: u64,
    /// Buffers dropped because the pool was over its budget.
    pub released: u64,
}

/// A pool of aligned buffers in size classes, with a budget for the bytes it keeps free.
pub struct BufferPool {
    free: Mutex<HashMap<usize, Vec<Vec<Block>>>>,
    budget: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    bytes: AtomicU64,
    peak: AtomicU64,
    pooled: AtomicU64,
    released: AtomicU64,
}

/// Rounds a block count up to its size class: steps of 1/8 of the next lower power of two, so a
/// buffer serves requests up to 12.5 % smaller.
fn class_of(blocks: usize) -> usize {
    if blocks <= 8 {
        return blocks.max(1);
    }
    let step = 1usize << (usize::BITS - 1 - blocks.leading_zeros()).saturating_sub(3);
    blocks.div_ceil(step) * step
}

impl BufferPool {
    /// A pool that keeps at most `budget` free bytes.
    pub fn new(budget: u64) -> Arc<Self> {
        Arc::new(BufferPool {
            free: Mutex::new(HashMap::new()),
            budget: AtomicU64::new(budget),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            pooled: AtomicU64::new(0),
            released: AtomicU64::new(0),
        })
    }

    /// The process-wide pool (256 MiB of free buffers by default; see [`BufferPool::set_budget`]).
    pub fn global() -> &'static Arc<BufferPool> {
        static POOL: OnceLock<Arc<BufferPool>> = OnceLock::new();
        POOL.get_or_init(|| {
            let budget = std::env::var("FXCHAIN_POOL_MB").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(256);
            BufferPool::new(budget.saturating_mul(1 << 20))
        })
    }

    /// Changes how many free bytes the pool may keep.
    pub fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::Relaxed);
        self.trim();
    }

    /// A buffer of at least `len` bytes; its content is unspecified (old pixels) unless
    /// `zeroed`.
    pub fn take(self: &Arc<Self>, len: usize, zeroed: bool) -> PooledBuf {
        let class = class_of(len.div_ceil(ALIGN));
        let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&class).and_then(Vec::pop);
        let blocks = match reused {
            Some(mut b) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                self.pooled.fetch_sub((b.len() * ALIGN) as u64, Ordering::Relaxed);
                if zeroed {
                    b.fill(Block([0; ALIGN]));
                }
                b
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                let bytes = self.bytes.fetch_add((class * ALIGN) as u64, Ordering::Relaxed) + (class * ALIGN) as u64;
                self.peak.fetch_max(bytes, Ordering::Relaxed);
                vec![Block([0; ALIGN]); class]
            }
        };
        PooledBuf { blocks, len, pool: Some(self.clone()) }
    }

    fn give(&self, blocks: Vec<Block>) {
        let size = (blocks.len() * ALIGN) as u64;
        if self.pooled.load(Ordering::Relaxed) + size > self.budget.load(Ordering::Relaxed) {
            self.released.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_sub(size, Ordering::Relaxed);
            return;
        }
        self.pooled.fetch_add(size, Ordering::Relaxed);
        self.free.lock().unwrap_or_else(|e| e.into_inner()).entry(blocks.len()).or_default().push(blocks);
    }

    /// Frees pooled buffers until the pool is within its budget.
    pub fn trim(&self) {
        let budget = self.budget.load(Ordering::Relaxed);
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        for list in free.values_mut() {
            while self.pooled.load(Ordering::Relaxed) > budget {
                let Some(b) = list.pop() else { break };
                let size = (b.len() * ALIGN) as u64;
                self.pooled.fetch_sub(size, Ordering::Relaxed);
                self.bytes.fetch_sub(size, Ordering::Relaxed);
                self.released.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Starts measuring the peak again from the bytes held now.
    pub fn reset_peak(&self) {
        self.peak.store(self.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The counters.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            peak_bytes: self.peak.load(Ordering::Relaxed),
            pooled_bytes: self.pooled.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
        }
    }

    /// Bytes held by buffers in use (not pooled).
    pub fn in_use_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed).saturating_sub(self.pooled.load(Ordering::Relaxed))
    }
}

/// A buffer that returns to its pool when dropped.
pub struct PooledBuf {
    blocks: Vec<Block>,
    len: usize,
    pool: Option<Arc<BufferPool>>,
}

impl PooledBuf {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.blocks)[..self.len]
    }
    /// The bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut(&mut self.blocks)[..self.len]
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give(std::mem::take(&mut self.blocks));
        }
    }
}
