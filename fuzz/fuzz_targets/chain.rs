//! Any bytes as a chain file: parsing and validation must return (an error) without panicking.
#![no_main]

use fxchain_host::chain::{self, ChainSource};
use fxchain_host::Registry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let registry = Registry::default();
        let _ = chain::validate(ChainSource::from_text("fuzz.ron", text), &registry, &[]);
        let _ = chain::edit::format(text);
        let _ = chain::edit::move_step(text, 0, 1);
        let _ = chain::edit::set_enabled(text, 0, false);
    }
});
