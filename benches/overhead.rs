//! Plugin-call overhead: the same effect rendered through the plugin ABI by the host and linked
//! statically into this bench, with the same work on both sides: `noise.perlin` (default
//! parameters, fBm of 4 octaves) at 1024², as one band on one thread. The ratio of the two
//! medians is what the host and the ABI add to a step (frame allocation, the call through the
//! library's function table, parameter decoding, the step's bookkeeping).
//!
//! ```sh
//! cargo build --release --workspace && cargo bench --bench overhead
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use fxchain_generators::PerlinNoise;
use fxchain_host::api::{Band, Generator, Params, Rgba8, Rows, Size};
use fxchain_host::RenderOptions;

mod common;

const SIDE: u32 = 1024;

fn static_render(effect: &mut PerlinNoise, out: &mut [Rgba8]) {
    type P = <PerlinNoise as Generator>::Params;
    let params = P::from_values(&P::schema().into_iter().map(|d| d.default).collect::<Vec<_>>()).expect("defaults");
    let size = Size::new(SIDE, SIDE);
    effect.setup(&params, size, 0x5EED).expect("setup");
    let mut band = Band::new(out, size, SIDE as usize, Rows::new(0, SIDE)).expect("band");
    effect.render(&params, &mut band);
}

fn overhead(c: &mut Criterion) {
    let chain = common::chain("perlin", &format!(r#"(size: ({SIDE}, {SIDE}), steps: [(effect: "noise.perlin")])"#));
    let inputs = std::collections::HashMap::new();
    let options = RenderOptions { band_rows: Some(SIDE), ..RenderOptions::default() };
    let mut effect = PerlinNoise::default();
    let mut out = vec![Rgba8::default(); (SIDE * SIDE) as usize];
    let mut group = c.benchmark_group("overhead");
    group.bench_function("noise.perlin 1024 static", |b| b.iter(|| static_render(&mut effect, &mut out)));
    group.bench_function("noise.perlin 1024 plugin", |b| b.iter(|| common::render(&chain, &inputs, &options)));
    group.finish();

    // The ratio, from alternating rounds so that a busy machine slows both alike.
    let (mut s, mut p) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let t = Instant::now();
        static_render(&mut effect, &mut out);
        s.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(common::render(&chain, &inputs, &options));
        p.push(t.elapsed());
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let (s, p) = (median(s), median(p));
    println!("overhead: plugin {:.2} ms / static {:.2} ms = {:.3}", p * 1e3, s * 1e3, p / s);
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = overhead
}
criterion_main!(benches);
