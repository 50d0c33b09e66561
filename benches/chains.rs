//! The workload chains of `benches/chains/*.ron` (the ones compared with other libraries by
//! `scripts/compare.sh`) at 1024² on the opaque RGBA8 probe image.
//!
//! ```sh
//! cargo build --release --workspace && cargo bench --bench chains
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use fxchain_host::RenderOptions;

mod common;

const SIDE: u32 = 1024;

fn chains(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/chains");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    let photo = common::photo(SIDE);
    let options = RenderOptions::default();
    let mut group = c.benchmark_group("chains");
    for path in files {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("chain").to_string();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let chain = common::chain(&name, &text);
        let inputs = common::inputs(&chain, &photo);
        group.bench_function(format!("{name} rgba8 {SIDE}"), |b| b.iter(|| common::render(&chain, &inputs, &options)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = chains
}
criterion_main!(benches);
