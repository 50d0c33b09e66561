//! `fxchain run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use fxchain_host::io::OutputFormat;
use fxchain_host::pipeline::{Job, JobInput, JobOutput};

use super::job::RenderArgs;
use super::{exit, report, Global};

/// Arguments of `fxchain run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The chain file (RON).
    chain: PathBuf,
    /// Input image, as FILE or NAME=FILE for chains with several named inputs.
    #[arg(short, long = "input", value_name = "[NAME=]FILE")]
    inputs: Vec<String>,
    /// Output file (format from the extension: png, jpg, webp, tiff). Repeat it for chains with
    /// several outputs, or give a folder ending in `/`.
    #[arg(short, long = "output", value_name = "FILE", required = true)]
    outputs: Vec<PathBuf>,
    #[command(flatten)]
    render: RenderArgs,
    /// JPEG quality 1..=100.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u8).range(1..=100))]
    jpeg_quality: u8,
    /// Print a per-effect table of calls, time percentiles and ns per pixel after the run.
    #[arg(long)]
    metrics: bool,
    /// Write the per-effect figures and pool counters as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    metrics_json: Option<PathBuf>,
    /// Quick look: scale inputs (and the generator size) down to fit MAXDIM pixels first.
    /// Parameters in pixels (blur sigma, offsets) are not scaled.
    #[arg(long, value_name = "MAXDIM")]
    preview: Option<u32>,
}

fn parse_inputs(args: &[String], names: &[String]) -> Vec<(String, PathBuf)> {
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
    out
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
    let (overrides, mut options) = match args.render.job_options(g) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let registry = match g.registry_with_effects() {
        Ok(r) => Arc::new(r),
        Err(code) => return code,
    };
    let chain = match super::load_chain(&args.chain, &registry, &overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let outputs = match output_paths(&args.outputs, &chain) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let mut destinations = Vec::new();
    for o in &outputs {
        let dir = fxchain_host::pipeline::folder_of(o);
        if !dir.is_dir() {
            eprintln!("error: output folder {} does not exist", dir.display());
            return exit::ENV;
        }
        let format = match OutputFormat::from_path(o) {
            Some(OutputFormat::Jpeg(_)) => OutputFormat::Jpeg(args.jpeg_quality),
            Some(f) => f,
            None => {
                eprintln!("error: {}: unknown output format; use .png, .jpg, .webp or .tiff", o.display());
                return exit::USAGE;
            }
        };
        destinations.push(JobOutput::File { path: o.clone(), format });
    }
    let mut inputs = Vec::new();
    for (name, path) in parse_inputs(&args.inputs, &chain.inputs) {
        if outputs.iter().any(|o| same_file(o, &path)) {
            eprintln!("error: {} is both an input and an output; refusing to overwrite an input", path.display());
            return exit::USAGE;
        }
        inputs.push((name, JobInput::File(path)));
    }
    let metrics = Arc::new(fxchain_host::metrics::Metrics::default());
    options.preview = args.preview;
    options.metrics = Some(metrics.clone());
    options.isolate = match g.workers(&registry, &chain, rayon::current_num_threads()) {
        Ok(w) => w.map(|w| (w, args.render.isolate_job(g, &chain))),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ENV;
        }
    };
    // Generators render at the chain's size: it obeys the same limits as an input image.
    if let Some(s) = chain.size {
        if let Err(e) = g.limits().check(s.width, s.height) {
            eprintln!("error: {}: the chain's size: {e}", args.chain.display());
            return exit::USAGE;
        }
    }
    fxchain_host::pipeline::clean_output_folders(&destinations);
    let job = Job { chain, inputs, outputs: destinations, options };
    let rendering = super::plugin_exit::Rendering::begin();
    let result = fxchain_host::pipeline::run(job, &registry);
    drop(rendering);
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return if matches!(e, fxchain_host::RunError::MissingInput { .. }) { exit::USAGE } else { exit::FAILED };
        }
    };
    if !g.quiet {
        report::step_rows(&result.steps);
        for (path, size) in outputs.iter().zip(&result.sizes) {
            eprintln!("wrote {} ({}x{})", path.display(), size.width, size.height);
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
            "streamed": result.streamed,
        });
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&doc).expect("json")) {
            eprintln!("error: {}: cannot write metrics: {e}", path.display());
            return exit::FAILED;
        }
    }
    tracing::info!("done in {}{}", report::ms(started.elapsed()), if result.streamed { " (streamed)" } else { "" });
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
