//! `fxchain run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use fxchain_host::io::Target;
use fxchain_host::pipeline::{Job, JobInput, JobOutput};

use super::job::RenderArgs;
use super::{exit, report, Global};

/// Arguments of `fxchain run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The chain file (RON).
    chain: PathBuf,
    /// The chain's text when it does not come from the file (`fxchain apply`).
    #[arg(skip)]
    source: Option<Arc<fxchain_host::ChainSource>>,
    #[command(flatten)]
    options: RunOptions,
}

impl RunArgs {
    /// `run` on a chain given as text (`fxchain apply`), with these options.
    pub fn from_source(source: Arc<fxchain_host::ChainSource>, options: RunOptions) -> RunArgs {
        RunArgs { chain: PathBuf::from(&source.name), source: Some(source), options }
    }
}

impl std::ops::Deref for RunArgs {
    type Target = RunOptions;
    fn deref(&self) -> &RunOptions {
        &self.options
    }
}

/// The options of `fxchain run` besides the chain (shared with `fxchain apply`).
#[derive(Args, Debug)]
pub struct RunOptions {
    /// Input image, as FILE or NAME=FILE for chains with several named inputs; `-` reads
    /// standard input (the format is recognised from the content).
    #[arg(short, long = "input", value_name = "[NAME=]FILE")]
    inputs: Vec<String>,
    /// Output file (format from the extension: png, jpg, webp, tiff; or FMT:FILE), `-` for
    /// standard output (with --format). Repeat it for chains with several outputs, or give a
    /// folder ending in `/`.
    #[arg(short, long = "output", value_name = "FILE", required = true)]
    outputs: Vec<PathBuf>,
    #[command(flatten)]
    render: RenderArgs,
    #[command(flatten)]
    io: super::io_args::IoArgs,
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
    #[command(flatten)]
    meta: super::replay::MetaArgs,
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
    let chain = match super::load_chain_or(&args.chain, args.source.clone(), &registry, &overrides) {
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
    let mut files = Vec::new();
    for o in &outputs {
        let (path, format) = match args.io.output(o) {
            Ok((Target::File(p), f)) => (p, f),
            Ok((Target::Stdout, f)) => (PathBuf::from("-"), f),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        };
        if path != Path::new("-") {
            // Before anything is decoded or rendered: the folder exists and takes new files.
            if let Err(e) = fxchain_host::outdir::check_folder(fxchain_host::pipeline::folder_of(&path), false) {
                eprintln!("error: {e}");
                return exit::ENV;
            }
            files.push(path.clone());
        }
        destinations.push(JobOutput::File { path, format });
    }
    let mut inputs = Vec::new();
    for (name, path) in parse_inputs(&args.inputs, &chain.inputs) {
        if files.iter().any(|o| same_file(o, &path)) {
            eprintln!("error: {} is both an input and an output; refusing to overwrite an input", path.display());
            return exit::USAGE;
        }
        // A missing input is bad usage (docs/operations.md); an unreadable one is failed work.
        if path != Path::new("-") && matches!(path.try_exists(), Ok(false)) {
            eprintln!("error: input file {} does not exist", path.display());
            return exit::USAGE;
        }
        inputs.push((name, JobInput::File(path)));
    }
    let metrics = Arc::new(fxchain_host::metrics::Metrics::default());
    options.preview = args.preview;
    args.meta.apply(&mut options, &args.render, &overrides, args.preview);
    args.io.apply(&mut options);
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
    let names: Vec<String> = destinations
        .iter()
        .map(|d| match d {
            JobOutput::File { path, .. } if path == Path::new("-") => "<stdout>".to_string(),
            JobOutput::File { path, .. } => path.display().to_string(),
            JobOutput::Memory => "memory".to_string(),
        })
        .collect();
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
        for (name, size) in names.iter().zip(&result.sizes) {
            eprintln!("wrote {name} ({}x{})", size.width, size.height);
        }
    }
    if args.metrics {
        report::metrics_table(&metrics.snapshot());
    }
    if let Some(path) = &args.metrics_json {
        let doc = report::json_doc(serde_json::json!({
            "effects": metrics.snapshot(),
            "pool": fxchain_host::pool::BufferPool::global().stats(),
            "wall_ms": started.elapsed().as_secs_f64() * 1e3,
            "streamed": result.streamed,
        }));
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
