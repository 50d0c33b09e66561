//! The result cache on a six-step chain at 1024²: rendering it cold (empty cache) against
//! rendering it again with only the last step's parameter changed, so the first five steps come
//! from the cache. Prints the ratio of the two medians after the criterion figures.
//!
//! ```sh
//! cargo build --release --workspace && cargo bench --bench pool_cache
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use fxchain_host::cache::ResultCache;
use fxchain_host::chain::Chain;
use fxchain_host::RenderOptions;

mod common;

const SIDE: u32 = 1024;
const CACHE_BYTES: u64 = 512 << 20;

/// Six steps, none of them fused with the next (point steps alternate with area steps), so each
/// has its own cache entry. `amount` is the last step's parameter.
fn six_steps(amount: f64) -> Chain {
    let text = format!(
        r#"(steps: [
            (effect: "blur.gaussian", params: {{"sigma": 2.0}}),
            (effect: "color.contrast", params: {{"amount": 1.2}}),
            (effect: "sharpen.unsharp", params: {{"sigma": 1.0, "amount": 0.5}}),
            (effect: "color.saturation", params: {{"amount": 1.3}}),
            (effect: "blur.box", params: {{"radius": 3}}),
            (effect: "color.brightness", params: {{"amount": {amount:.6}}}),
        ])"#
    );
    common::chain("six", &text)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pool_cache(c: &mut Criterion) {
    let photo = common::photo(SIDE);
    let base = six_steps(1.0);
    let inputs = common::inputs(&base, &photo);
    // A new value of the last parameter on every run, so that step always misses.
    let counter = AtomicU64::new(0);
    let next = || six_steps(1.0 + (counter.fetch_add(1, Ordering::Relaxed) + 1) as f64 * 1e-5);

    let cold = || {
        let options = RenderOptions { cache: Some(ResultCache::new(CACHE_BYTES, None)), ..Default::default() };
        common::render(&base, &inputs, &options)
    };
    let warm_options = RenderOptions { cache: Some(ResultCache::new(CACHE_BYTES, None)), ..Default::default() };
    common::render(&base, &inputs, &warm_options);
    let rerun = |chain: &Chain| common::render(chain, &inputs, &warm_options);

    let mut group = c.benchmark_group("pool_cache");
    group.bench_function(format!("six steps rgba8 {SIDE} cold"), |b| b.iter(cold));
    group.bench_function(format!("six steps rgba8 {SIDE} last step changed"), |b| {
        b.iter_batched(&next, |chain| rerun(&chain), criterion::BatchSize::SmallInput)
    });
    group.finish();

    // The ratio, from medians of the same kind of runs.
    let mut t_cold = Vec::new();
    let mut t_rerun = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        drop(cold());
        t_cold.push(t.elapsed());
        let chain = next();
        let t = Instant::now();
        drop(rerun(&chain));
        t_rerun.push(t.elapsed());
    }
    let (cold_m, rerun_m) = (median(t_cold), median(t_rerun));
    let stats = warm_options.cache.as_ref().map(|c| c.stats()).unwrap_or_default();
    println!(
        "pool_cache: cold {:.2} ms, last step changed {:.2} ms: re-run {:.1}x faster (cache hits {}, misses {})",
        cold_m.as_secs_f64() * 1e3,
        rerun_m.as_secs_f64() * 1e3,
        cold_m.as_secs_f64() / rerun_m.as_secs_f64().max(1e-9),
        stats.hits,
        stats.misses
    );
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = pool_cache
}
criterion_main!(benches);
