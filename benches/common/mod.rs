//! Fixtures shared by the criterion benches.
//!
//! The benches load the workspace's plugins from the build folder next to the bench executable
//! (`target/release/` for `cargo bench`), so build them first:
//!
//! ```sh
//! cargo build --release --workspace && cargo bench
//! ```
#![allow(dead_code)] // each bench uses a different part

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use criterion::Criterion;
use fxchain_host::api::Size;
use fxchain_host::chain::{self, Chain};
use fxchain_host::{ChainSource, Frame, Registry, RegistryOptions, RenderOptions};

/// The plugins next to the bench executable (and in `FXCHAIN_PLUGIN_PATH`), loaded once.
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let cache = std::env::temp_dir().join(format!("fxchain-bench-{}", std::process::id()));
        let reg =
            Registry::load(&RegistryOptions { use_default_dirs: true, cache_dir: Some(cache), ..Default::default() });
        assert!(
            reg.effect("blur.gaussian").is_some(),
            "no plugins found next to the bench executable: run `cargo build --release --workspace` first \
             (load errors: {:?})",
            reg.errors()
        );
        reg
    })
}

/// The photo-like probe image (opaque RGBA8) of `side`², shared.
pub fn photo(side: u32) -> Arc<Frame> {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<u32, Arc<Frame>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(side).or_insert_with(|| Arc::new(fxchain_host::probe::probe_image(Size::new(side, side)))).clone()
}

/// A chain validated against [`registry`]; panics with the diagnostic when it is invalid.
pub fn chain(name: &str, text: &str) -> Chain {
    chain::validate(ChainSource::from_text(name, text), registry(), &[]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The input map giving `frame` to every input the chain names.
pub fn inputs(chain: &Chain, frame: &Arc<Frame>) -> HashMap<String, Arc<Frame>> {
    chain.inputs.iter().map(|n| (n.clone(), frame.clone())).collect()
}

/// Renders `chain` once; panics on errors.
pub fn render(chain: &Chain, inputs: &HashMap<String, Arc<Frame>>, options: &RenderOptions) -> Arc<Frame> {
    fxchain_host::render(chain, registry(), inputs, options).unwrap_or_else(|e| panic!("{e}")).outputs[0].clone()
}

/// Criterion settings that keep a whole `cargo bench` run to a few minutes.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args()
}
