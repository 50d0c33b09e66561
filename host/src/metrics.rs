//! Per-effect metrics: calls, pixels, time with percentiles, cache hits and misses.

use std::sync::Mutex;
use std::time::Duration;

use dashmap::DashMap;
use hdrhistogram::Histogram;

/// Figures of one effect (variant included in the id).
#[derive(Clone, Debug, serde::Serialize)]
pub struct EffectFigures {
    /// Effect id as run.
    pub effect: String,
    /// Renders (one per image and step).
    pub calls: u64,
    /// Output pixels rendered.
    pub pixels: u64,
    /// Total wall time, ms.
    pub total_ms: f64,
    /// Median time per call, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Nanoseconds per output pixel.
    pub ns_per_pixel: f64,
    /// Results served from the cache.
    pub cache_hits: u64,
    /// Cache lookups that missed.
    pub cache_misses: u64,
    /// Steps rendered in a fused band pass with their neighbours.
    pub fused: u64,
}

struct Slot {
    calls: u64,
    pixels: u64,
    total_ns: u128,
    hist: Histogram<u64>,
    cache_hits: u64,
    cache_misses: u64,
    fused: u64,
}

/// Metrics of an engine, shared by every render.
#[derive(Default)]
pub struct Metrics {
    slots: DashMap<String, Mutex<Slot>>,
}

impl Metrics {
    fn with(&self, effect: &str, f: impl FnOnce(&mut Slot)) {
        let entry = self.slots.entry(effect.to_string()).or_insert_with(|| {
            Mutex::new(Slot {
                calls: 0,
                pixels: 0,
                total_ns: 0,
                // 1 µs .. 1 h, 3 significant digits.
                hist: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds"),
                cache_hits: 0,
                cache_misses: 0,
                fused: 0,
            })
        });
        let mut slot = entry.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut slot);
    }

    /// Records one render of `effect` producing `pixels` in `time`.
    pub fn record(&self, effect: &str, pixels: u64, time: Duration, fused: bool) {
        self.with(effect, |s| {
            s.calls += 1;
            s.pixels += pixels;
            s.total_ns += time.as_nanos();
            let _ = s.hist.record((time.as_micros() as u64).max(1));
            if fused {
                s.fused += 1;
            }
        });
    }

    /// Records a cache lookup for `effect`.
    pub fn record_cache(&self, effect: &str, hit: bool) {
        self.with(effect, |s| if hit { s.cache_hits += 1 } else { s.cache_misses += 1 });
    }

    /// Figures of every effect seen, sorted by total time, largest first.
    pub fn snapshot(&self) -> Vec<EffectFigures> {
        let mut v: Vec<EffectFigures> = self
            .slots
            .iter()
            .map(|e| {
                let s = e.value().lock().unwrap_or_else(|e| e.into_inner());
                let q = |p: f64| if s.calls == 0 { 0.0 } else { s.hist.value_at_quantile(p) as f64 / 1e3 };
                EffectFigures {
                    effect: e.key().clone(),
                    calls: s.calls,
                    pixels: s.pixels,
                    total_ms: s.total_ns as f64 / 1e6,
                    p50_ms: q(0.5),
                    p95_ms: q(0.95),
                    p99_ms: q(0.99),
                    ns_per_pixel: if s.pixels == 0 { 0.0 } else { s.total_ns as f64 / s.pixels as f64 },
                    cache_hits: s.cache_hits,
                    cache_misses: s.cache_misses,
                    fused: s.fused,
                }
            })
            .collect();
        v.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        v
    }
}
