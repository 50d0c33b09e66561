//! Any text as a `--set STEP.PARAM=VALUE` override of a small chain: parsing, validation against
//! the real plugins (when `FXCHAIN_FUZZ_PLUGIN_DIR` names their folder) and, when it validates,
//! rendering an 8×8 image must never panic.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use fxchain_host::chain::{self, ChainSource, Override};
use fxchain_host::{Registry, RegistryOptions, RenderOptions};
use libfuzzer_sys::fuzz_target;

/// Every kind of parameter: a color, floats, integers, an enum, several inputs and outputs.
const CHAIN: &str = include_str!("../set_chain.ron");

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| match std::env::var_os("FXCHAIN_FUZZ_PLUGIN_DIR") {
        Some(dir) => Registry::load(&RegistryOptions {
            plugin_dirs: vec![dir.into()],
            use_default_dirs: false,
            cache_dir: Some(std::env::temp_dir().join("fxchain-fuzz-cache")),
            ..Default::default()
        }),
        None => Registry::default(),
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(o) = text.parse::<Override>() else { return };
    let Ok(c) = chain::validate(ChainSource::from_text("set.ron", CHAIN), registry(), &[o]) else { return };
    let _ = fxchain_host::render(&c, registry(), &HashMap::new(), &RenderOptions::default());
});
