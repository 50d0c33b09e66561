//! Measures what running independent branches concurrently gains: a chain with two heavy
//! branches from one input, composited, rendered with `concurrent_branches` off and on, on a pool
//! of a given number of threads (median of the runs, alternating the two modes).
//!
//! ```sh
//! cargo build --release -p fxchain-blur -p fxchain-composite
//! cargo run --release -p fxchain-host --example branches -- target/release 2 512 1024 2048
//! ```
//!
//! Arguments: the plugin folder, the threads, then image sizes (square). Prints one line a size.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fxchain_host::api::Size;
use fxchain_host::{chain, ChainSource, Frame, Registry, RegistryOptions, RenderOptions};

const CHAIN: &str = r#"(steps: [
    (id: "a", effect: "blur.gaussian", params: {"sigma": 6.0}),
    (id: "b", effect: "blur.motion", input: "input", params: {"angle": 30.0, "length": 24.0}),
    (effect: "composite.blend", inputs: ["a", "b"], params: {"mode": "multiply"}),
])"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: branches PLUGIN_DIR THREADS SIZE...")?;
    let threads: usize = args.next().ok_or("usage: branches PLUGIN_DIR THREADS SIZE...")?.parse()?;
    let sizes: Vec<u32> = args.map(|s| s.parse()).collect::<Result<_, _>>()?;
    let registry = Registry::load(&RegistryOptions::dirs([dir]));
    let chain = chain::validate(ChainSource::from_text("branches.ron", CHAIN), &registry, &[])?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    for side in sizes {
        let size = Size::new(side, side);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let pixels: Vec<u8> = (0..side as usize * side as usize * 4)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 56) as u8
            })
            .collect();
        let inputs = HashMap::from([("input".to_string(), Arc::new(Frame::from_rgba8(size, &pixels)))]);
        let runs = (64 * 1024 * 1024 / (side as usize * side as usize)).clamp(5, 200);
        let mut times = [Vec::new(), Vec::new()];
        let mut outputs: [Option<Vec<u8>>; 2] = [None, None];
        for _ in 0..runs {
            for (mode, concurrent_branches) in [false, true].into_iter().enumerate() {
                let options = RenderOptions { concurrent_branches, ..Default::default() };
                let t = Instant::now();
                let r = pool.install(|| fxchain_host::render(&chain, &registry, &inputs, &options))?;
                times[mode].push(t.elapsed());
                outputs[mode].get_or_insert_with(|| r.outputs[0].to_rgba8_vec());
            }
        }
        assert_eq!(outputs[0], outputs[1], "both modes give the same pixels");
        let [seq, con] = times.map(median);
        println!(
            "{side}x{side}  {threads} threads  {runs} runs  sequential {:.2} ms  concurrent {:.2} ms  speed-up {:.2}x",
            seq.as_secs_f64() * 1e3,
            con.as_secs_f64() * 1e3,
            seq.as_secs_f64() / con.as_secs_f64()
        );
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
