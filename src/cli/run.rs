//! `fxchain run`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use fxchain_host::io::Target;
use fxchain_host::pipeline::{Job, JobInput, JobOutput};
use fxchain_host::RunError;

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
    let outputs = match fxchain_host::outdir::output_paths(&args.outputs, &chain) {
        Ok(o) => o,
        Err(e) => return files_error(e),
    };
    let mut destinations = Vec::new();
    for o in &outputs {
        match args.io.output(o) {
            Ok((Target::File(path), format)) => destinations.push(JobOutput::File { path, format }),
            Ok((Target::Stdout, format)) => destinations.push(JobOutput::File { path: "-".into(), format }),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        }
    }
    let files: Vec<PathBuf> = destinations.iter().filter_map(JobOutput::path).map(Path::to_path_buf).collect();
    let paths = fxchain_host::outdir::parse_inputs(&args.inputs, &chain.inputs);
    if let Err(e) = fxchain_host::outdir::check_files(&paths, &files) {
        return files_error(e);
    }
    let inputs = paths.into_iter().map(|(name, path)| (name, JobInput::File(path))).collect();
    let metrics = Arc::new(fxchain_host::metrics::Metrics::default());
    options.preview = args.preview;
    args.meta.apply(&mut options, &args.render, &overrides, args.preview);
    args.io.apply(&mut options);
    options.render.metrics = Some(metrics.clone());
    options.isolate = match g.workers(&registry, &chain, rayon::current_num_threads()) {
        Ok(w) => w.map(|w| (w, args.render.isolate_job(g, &chain))),
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ENV;
        }
    };
    fxchain_host::pipeline::clean_output_folders(&destinations);
    let names: Vec<String> =
        files.iter().map(|p| if p == Path::new("-") { "<stdout>".into() } else { p.display().to_string() }).collect();
    let job = Job { chain, inputs, outputs: destinations, options };
    let rendering = super::plugin_exit::Rendering::begin();
    let result = fxchain_host::pipeline::run(job, &registry);
    drop(rendering);
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            // A missing input or an oversized chain is the chain's or the command line's fault.
            let usage = matches!(e, RunError::MissingInput { .. } | RunError::ChainSize { .. });
            return if usage { exit::USAGE } else { exit::FAILED };
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

fn files_error(e: fxchain_host::outdir::FilesError) -> i32 {
    eprintln!("error: {e}");
    match e {
        fxchain_host::outdir::FilesError::Usage(_) => exit::USAGE,
        fxchain_host::outdir::FilesError::Folder(_) => exit::ENV,
    }
}
