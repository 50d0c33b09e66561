//! Using `fxchain-host` as a library: load the plugins of a folder, validate a chain given as
//! text, and render it on an image made in memory (no files are read or written).
//!
//! ```sh
//! cargo build --workspace && cargo run -p fxchain-host --example embed -- target/debug
//! ```
//!
//! It prints the first pixel before and after the chain, and the mean of each channel.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_host::api::Size;
use fxchain_host::{chain, ChainSource, Frame, Registry, RegistryOptions, RenderOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: embed PLUGIN_DIR")?;
    // Only this folder: no FXCHAIN_PLUGIN_PATH, no folder next to the executable.
    let registry = Arc::new(Registry::load(&RegistryOptions::dirs([dir])));
    for e in registry.errors() {
        eprintln!("not loaded: {e}");
    }

    // A 64x48 gradient, made in memory.
    let size = Size::new(64, 48);
    let mut pixels = Vec::with_capacity(64 * 48 * 4);
    for y in 0..48u32 {
        for x in 0..64u32 {
            pixels.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, 100, 255]);
        }
    }
    let input = Arc::new(Frame::from_rgba8(size, &pixels));

    // The same text a chain file holds; errors come with line and column.
    let text = r#"(steps: [(effect: "color.invert"), (effect: "geometry.resize", params: {"width": 32})])"#;
    let chain = chain::validate(ChainSource::from_text("embedded chain", text), &registry, &[])?;

    let inputs = HashMap::from([("input".to_string(), input)]);
    let result = fxchain_host::run::run_frames(&chain, &registry, &inputs, &RenderOptions::default())?;
    let out = &result.outputs[0];
    let rgba = out.to_rgba8_vec();
    println!("input {}x{} first pixel {:?}", size.width, size.height, &pixels[..4]);
    println!("output {}x{} first pixel {:?}", out.size().width, out.size().height, &rgba[..4]);
    let n = (rgba.len() / 4) as f64;
    let mean = |c: usize| rgba.iter().skip(c).step_by(4).map(|&v| v as f64).sum::<f64>() / n;
    println!("mean {:.2} {:.2} {:.2} {:.2}", mean(0), mean(1), mean(2), mean(3));
    Ok(())
}
