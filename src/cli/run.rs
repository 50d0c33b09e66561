//! `fxchain run`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use fxchain_host::api::PixelFormat;
use fxchain_host::chain::Precision;
use fxchain_host::io::{save_image_with, ImageSource, Metadata};
use fxchain_host::{Frame, RenderOptions};

use super::{exit, report, Global};

/// Arguments of `fxchain run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The chain file (RON).
    chain: PathBuf,
    /// Input image, as FILE or NAME=FILE for chains with several named inputs; `-` reads
    /// standard input (the format is recognised from the content).
    #[arg(short, long = "input", value_name = "[NAME=]FILE")]
    inputs: Vec<String>,
    /// Output file (format from the extension: png, jpg, webp, tiff; or FMT:FILE), `-` for
    /// standard output (with --format). Repeat it for chains with several outputs, or give a
    /// folder ending in `/`.
    #[arg(short, long = "output", value_name = "FILE", required = true)]
    outputs: Vec<PathBuf>,
    /// Override a parameter: STEP.PARAM=VALUE (STEP is a step id, effect id or number).
    #[arg(long = "set", value_name = "STEP.PARAM=VALUE")]
    sets: Vec<String>,
    /// Quality profile: fast, balanced or quality (picks each effect's variant).
    #[arg(long)]
    quality: Option<String>,
    #[command(flatten)]
    io: super::io_args::IoArgs,
    /// Print a per-effect table of calls, time percentiles and ns per pixel after the run.
    #[arg(long)]
    metrics: bool,
    /// Write the per-effect figures and pool counters as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    metrics_json: Option<PathBuf>,
    /// Run every step separately instead of fusing consecutive point steps.
    #[arg(long)]
    no_fuse: bool,
    /// Quick look: scale inputs (and the generator size) down to fit MAXDIM pixels first.
    /// Parameters in pixels (blur sigma, offsets) are not scaled.
    #[arg(long, value_name = "MAXDIM")]
    preview: Option<u32>,
}

fn parse_inputs(args: &[String], names: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    let mut positional = names.iter();
    for a in args {
        match a.split_once('=') {
            Some((name, file)) if !name.is_empty() && !name.contains(['/', '\\']) => {
                out.push((name.to_string(), PathBuf::from(file)))
            }
            _ => {
                let name = positional.next().cloned().unwrap_or_else(|| "input".to_string());
                out.push((name, PathBuf::from(a)));
            }
        }
    }
    Ok(out)
}

fn output_paths(outputs: &[PathBuf], chain: &fxchain_host::Chain) -> Result<Vec<PathBuf>, String> {
    let n = chain.outputs.len();
    if outputs.len() == 1 && (outputs[0].to_string_lossy().ends_with('/') || outputs[0].is_dir()) {
        let dir = &outputs[0];
        return Ok(chain
            .outputs
            .iter()
            .map(|&i| {
                let s = &chain.steps[i];
                dir.join(format!("{}.png", s.id.clone().unwrap_or_else(|| format!("step{}", i + 1))))
            })
            .collect());
    }
    if outputs.len() != n {
        return Err(format!("the chain has {n} output(s) but {} -o path(s) were given", outputs.len()));
    }
    for (i, a) in outputs.iter().enumerate() {
        if let Some(b) = outputs[..i].iter().find(|b| same_path(a, b)) {
            return Err(format!(
                "-o {} and -o {} are the same file: one output would replace the other",
                b.display(),
                a.display()
            ));
        }
    }
    Ok(outputs.to_vec())
}

/// Runs the command; returns the exit code.
pub fn run(g: &Global, args: RunArgs) -> i32 {
    let started = Instant::now();
    let overrides = match super::parse_overrides(&args.sets) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let quality = match super::parse_quality(args.quality.as_deref()) {
        Ok(q) => q,
        Err(code) => return code,
    };
    let registry = g.registry();
    if registry.all().next().is_none() {
        eprintln!(
            "error: no effects are loaded (searched: {}). Build the plugins (`cargo build --release`) or pass --plugin-dir.",
            registry.dirs().iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return exit::ENV;
    }
    let chain = match super::load_chain(&args.chain, &registry, &overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Generators render at the chain's size: it obeys the same limits as an input image.
    if let Some(s) = chain.size {
        if let Err(e) = g.limits().check(s.width, s.height) {
            eprintln!("error: {}: the chain's size: {e}", args.chain.display());
            return exit::USAGE;
        }
    }
    let outputs = match output_paths(&args.outputs, &chain) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let mut targets = Vec::new();
    for o in &outputs {
        let target = match args.io.output(o) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        };
        if let (fxchain_host::io::Target::File(p), _) = &target {
            let dir = p.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !dir.is_dir() {
                eprintln!("error: output folder {} does not exist", dir.display());
                return exit::ENV;
            }
        }
        targets.push(target);
    }
    let mut deep_input = false;
    let format = if chain.precision == Precision::F32 { PixelFormat::RGBA32F } else { PixelFormat::RGBA8 };
    let mut frames: HashMap<String, Arc<Frame>> = HashMap::new();
    let named = match parse_inputs(&args.inputs, &chain.inputs) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    for (name, path) in named {
        if targets.iter().any(|(t, _)| matches!(t, fxchain_host::io::Target::File(o) if same_file(o, &path))) {
            eprintln!("error: {} is both an input and an output; refusing to overwrite an input", path.display());
            return exit::USAGE;
        }
        let loaded = ImageSource::open(&path, &args.io.source_options(g.limits())).and_then(|s| {
            deep_input |= s.header().bit_depth > 8;
            s.read_frame(format)
        });
        match loaded {
            Ok(f) => {
                frames.insert(name, Arc::new(f));
            }
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        }
    }
    let mut chain = chain;
    if let Some(max) = args.preview {
        fxchain_host::session::shrink_for_preview(&mut chain, &mut frames, max);
    }
    let metrics = Arc::new(fxchain_host::metrics::Metrics::default());
    let options = RenderOptions {
        quality,
        band_rows: g.band_rows,
        fuse: !args.no_fuse,
        metrics: Some(metrics.clone()),
        deadline: g.deadline(),
        ..Default::default()
    };
    for (target, _) in &targets {
        if let fxchain_host::io::Target::File(o) = target {
            let dir = o.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            fxchain_host::io::clean_stale_temps(dir);
        }
    }
    let registry = Arc::new(registry);
    let workers = match g.workers(&registry, &chain, rayon::current_num_threads()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ENV;
        }
    };
    let rendering = super::plugin_exit::Rendering::begin();
    let result = match &workers {
        None => fxchain_host::run::run_frames(&chain, &registry, &frames, &options),
        Some(pool) => {
            let job = fxchain_host::isolate::Job {
                chain_name: chain.source.name.clone(),
                chain_text: chain.source.text.clone(),
                sets: args.sets.clone(),
                quality: args.quality.clone(),
                band_rows: g.band_rows,
                fuse: !args.no_fuse,
                size: chain.size.map(|s| (s.width, s.height)),
                bypass: Vec::new(),
            };
            pool.render(&job, &frames, options.deadline)
                .map(|outputs| fxchain_host::RenderResult { outputs, steps: Vec::new() })
        }
    };
    drop(rendering);
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return if matches!(e, fxchain_host::RunError::MissingInput { .. }) { exit::USAGE } else { exit::FAILED };
        }
    };
    if !g.quiet {
        for s in &result.steps {
            if s.skipped {
                eprintln!("  {:<28} {:<26} skipped", s.label, s.effect);
            } else if s.cached {
                eprintln!("  {:<28} {:<26} cached", s.label, s.effect);
            } else {
                eprintln!(
                    "  {:<28} {:<26} gen {:<3} {:>5}x{:<5} {:<7} {:>9}{}",
                    s.label,
                    s.effect,
                    s.generation,
                    s.size.width,
                    s.size.height,
                    s.format.to_string(),
                    report::ms(s.time),
                    if s.fused { "  fused" } else { "" }
                );
            }
        }
    }
    let encode = args.io.encode_options(deep_input && format == PixelFormat::RGBA32F);
    for (frame, (target, fmt)) in result.outputs.iter().zip(&targets) {
        if let Err(e) = save_image_with(frame, target, *fmt, &encode, &Metadata::default()) {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
        if !g.quiet {
            eprintln!("wrote {} ({}x{})", target.name().display(), frame.size().width, frame.size().height);
        }
    }
    if args.metrics {
        report::metrics_table(&metrics.snapshot());
    }
    if let Some(path) = &args.metrics_json {
        let doc = serde_json::json!({
            "effects": metrics.snapshot(),
            "pool": fxchain_host::pool::BufferPool::global().stats(),
            "wall_ms": started.elapsed().as_secs_f64() * 1e3,
        });
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json")) {
            eprintln!("error: {}: cannot write metrics: {e}", path.display());
            return exit::FAILED;
        }
    }
    tracing::info!("done in {}", report::ms(started.elapsed()));
    exit::OK
}

/// Whether two output paths name the same file, whether or not it exists yet (the folders are
/// compared canonically, so `out/a.png` and `./out/../out/a.png` match).
fn same_path(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| -> Option<PathBuf> {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Some(dir.canonicalize().ok()?.join(p.file_name()?))
    };
    match (norm(a), norm(b)) {
        (Some(x), Some(y)) => x == y || same_file(a, b),
        _ => a == b,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
