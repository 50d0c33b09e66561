//! `fxchain bench`: times a chain in-process on generated inputs, excluding decode and encode,
//! so it can be compared with other libraries.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use fxchain_host::api::{PixelFormat, Size};
use fxchain_host::chain::Precision;
use fxchain_host::io::load_image;
use fxchain_host::pipeline::{Job, JobInput, JobOutput};
use fxchain_host::Frame;
use rayon::prelude::*;

use super::job::RenderArgs;
use super::{exit, report, Global};

/// Arguments of `fxchain bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The chain file.
    chain: PathBuf,
    /// Square input size (repeatable); generated inputs are a deterministic photo-like image.
    #[arg(long = "size", default_values_t = [1024u32])]
    sizes: Vec<u32>,
    /// Timed runs per size (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// Also render this many images at once and report images per second.
    #[arg(long)]
    batch: Option<usize>,
    /// Use this image instead of generated inputs (its own size).
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    render: RenderArgs,
    /// One JSON object per line and size.
    #[arg(long)]
    json: bool,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs the command.
pub fn run(g: &Global, args: BenchArgs) -> i32 {
    let (overrides, options) = match args.render.job_options(g) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let registry = match g.registry_with_effects() {
        Ok(r) => Arc::new(r),
        Err(code) => return code,
    };
    let mut chain = match super::load_chain(&args.chain, &registry, &overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let format = if chain.precision == Precision::F32 { PixelFormat::RGBA32F } else { PixelFormat::RGBA8 };
    let inputs_for = |size: u32| -> Result<Arc<Frame>, String> {
        match &args.input {
            Some(p) => load_image(p, format, g.limits()).map(Arc::new).map_err(|e| e.to_string()),
            None => {
                let f = fxchain_host::probe::probe_image(Size::new(size, size));
                Ok(Arc::new(if format == PixelFormat::RGBA8 { f } else { f.convert(format) }))
            }
        }
    };
    let sizes = if args.input.is_some() { vec![0] } else { args.sizes.clone() };
    // Generated inputs obey the same limits as decoded ones, checked before allocating.
    let limits = g.limits();
    for &s in sizes.iter().filter(|_| args.input.is_none()) {
        if let Err(e) =
            limits.check(s, s).and_then(|_| if s == 0 { Err("the size must be at least 1".into()) } else { Ok(()) })
        {
            eprintln!("error: --size {s}: {e}");
            return exit::USAGE;
        }
    }
    for size in sizes {
        let frame = match inputs_for(size) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        };
        let map: HashMap<String, Arc<Frame>> = chain.inputs.iter().map(|n| (n.clone(), frame.clone())).collect();
        if chain.inputs.is_empty() {
            chain.size = Some(frame.size());
        }
        let once = || {
            let job = Job {
                chain: chain.clone(),
                inputs: map.iter().map(|(k, f)| (k.clone(), JobInput::Frame(f.clone()))).collect(),
                outputs: vec![JobOutput::Memory; chain.outputs.len()],
                options: options.clone(),
            };
            fxchain_host::pipeline::run(job, &registry)
        };
        // The first run's output and the steps as run (after the optimizer), for checking that
        // the benchmark renders what `run` renders.
        let (output_hash, ran) = match once() {
            Ok(r) => (
                r.frames.first().cloned().flatten().map(|f| blake3::hash(&f.to_rgba8_vec()).to_hex().to_string()),
                r.chain.steps.iter().map(|s| s.effect.clone()).collect::<Vec<_>>(),
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        };
        let pool = fxchain_host::pool::BufferPool::global();
        let before = pool.stats();
        let mut times = Vec::with_capacity(args.iterations);
        for _ in 0..args.iterations.max(1) {
            let t = Instant::now();
            let r = once();
            times.push(t.elapsed());
            drop(r);
        }
        let steady_allocations = pool.stats().misses - before.misses;
        let min = *times.iter().min().expect("a run");
        let med = median(times);
        let ips = args.batch.map(|n| {
            let t = Instant::now();
            (0..n).into_par_iter().for_each(|_| {
                let _ = once();
            });
            n as f64 / t.elapsed().as_secs_f64()
        });
        let s = frame.size();
        if args.json {
            let mut v = report::json_doc(serde_json::json!({
                "chain": args.chain.display().to_string(), "width": s.width, "height": s.height,
                "threads": rayon::current_num_threads(), "iterations": args.iterations.max(1),
                "median_ms": med.as_secs_f64() * 1e3, "min_ms": min.as_secs_f64() * 1e3,
                "steady_state_allocations": steady_allocations, "pool_peak_bytes": pool.stats().peak_bytes,
                "output_blake3": output_hash, "steps": ran,
                "batch": null, "images_per_second": null,
                // The kernels' instruction-set level (`FXCHAIN_SIMD` forces one).
                "simd": fxchain_host::api::simd::level().name(),
            }));
            if let Some(ips) = ips {
                v["batch"] = serde_json::json!(args.batch);
                v["images_per_second"] = report::json_f64(ips);
            }
            println!("{v}");
        } else {
            println!(
                "{}  {}x{}  {} threads  median {}  min {}{}",
                args.chain.display(),
                s.width,
                s.height,
                rayon::current_num_threads(),
                report::ms(med),
                report::ms(min),
                ips.map(|i| format!("  batch {}: {i:.1} images/s", args.batch.unwrap_or(0))).unwrap_or_default()
            );
        }
    }
    exit::OK
}
