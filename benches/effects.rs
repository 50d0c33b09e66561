//! Every effect on its own, at 512² and 1024² on the opaque RGBA8 probe image, with default
//! parameters: the reference implementation ("quality") and, where there is one, the fast
//! variant ("fast"). Names read "blur.gaussian rgba8 1024 quality".
//!
//! ```sh
//! cargo build --release --workspace && cargo bench --bench effects
//! cargo bench --bench effects -- "blur.gaussian"   # one effect
//! ```
//!
//! Also "call overhead": a whole render of an effect that does nothing (brightness ×1) on a 16²
//! image, an upper bound on what the host and the plugin boundary add per step.

use criterion::{criterion_group, criterion_main, Criterion};
use fxchain_host::api::EffectKind;
use fxchain_host::RenderOptions;

mod common;

const SIZES: [u32; 2] = [512, 1024];

fn one_step(id: &str, kind: EffectKind, inputs: u32, side: u32, quality: &str) -> String {
    match kind {
        EffectKind::GENERATOR => {
            format!(r#"(quality: {quality}, size: ({side}, {side}), steps: [(effect: "{id}")])"#)
        }
        EffectKind::COMPOSITOR => {
            let names = vec!["\"input\""; inputs as usize].join(", ");
            format!(r#"(quality: {quality}, steps: [(effect: "{id}", inputs: [{names}])])"#)
        }
        _ => format!(r#"(quality: {quality}, steps: [(effect: "{id}")])"#),
    }
}

fn effects(c: &mut Criterion) {
    let reg = common::registry();
    let options = RenderOptions::default();
    // Reference effects only: their fast variants are reached through the chain's quality.
    let effects: Vec<_> = reg.all().filter(|e| e.variant_of.is_none()).cloned().collect();
    let mut group = c.benchmark_group("effects");
    for e in &effects {
        let has_fast = reg.all().any(|v| v.variant_of.as_deref() == Some(e.id.as_str()));
        let qualities: &[&str] = if has_fast { &["Quality", "Fast"] } else { &["Quality"] };
        for &side in &SIZES {
            let photo = common::photo(side);
            for &q in qualities {
                let text = one_step(&e.id, e.kind, e.min_inputs.max(1), side, q);
                let chain = common::chain(&e.id, &text);
                let inputs = common::inputs(&chain, &photo);
                let name = format!("{} rgba8 {side} {}", e.id, q.to_lowercase());
                group.bench_function(name, |b| b.iter(|| common::render(&chain, &inputs, &options)));
            }
        }
    }
    group.finish();

    let tiny = common::photo(16);
    let chain = common::chain("identity", r#"(steps: [(effect: "color.brightness", params: {"amount": 1.0})])"#);
    let inputs = common::inputs(&chain, &tiny);
    c.bench_function("call overhead: color.brightness x1 rgba8 16", |b| {
        b.iter(|| common::render(&chain, &inputs, &options))
    });
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = effects
}
criterion_main!(benches);
