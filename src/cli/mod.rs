//! Command-line interface.

mod batch;
mod bench;
mod chain_cmd;
mod plugins;
mod report;
mod run;
mod serve;
mod watch;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use fxchain_host::{Registry, RegistryOptions};

/// Exit codes shared by every command.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Some work failed.
    pub const FAILED: i32 = 1;
    /// Bad usage or a bad chain.
    pub const USAGE: i32 = 2;
    /// The environment is unusable (no plugins, unwritable output folder).
    pub const ENV: i32 = 3;
}

/// Image effects from dynamically loaded plugins, chained in RON files.
#[derive(Parser, Debug)]
#[command(name = "fxchain", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Plugin directory to search first (repeatable). `FXCHAIN_PLUGIN_PATH` and the executable's
    /// folder are searched after these.
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,
    /// Load only the plugin directories given with --plugin-dir.
    #[arg(long, global = true)]
    no_default_plugins: bool,
    /// More log output (-v info, -vv debug). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Worker threads for bands and images (default: the number of cores).
    #[arg(long, global = true, env = "FXCHAIN_THREADS", value_name = "N")]
    threads: Option<usize>,
    /// Free buffers the pool may keep, in MiB.
    #[arg(long, global = true, env = "FXCHAIN_POOL_MB", value_name = "MIB", default_value_t = 256)]
    pool_mb: u64,
    /// Rows per band (default: chosen per frame and effect).
    #[arg(long, global = true, env = "FXCHAIN_BAND_ROWS", value_name = "ROWS")]
    band_rows: Option<u32>,
    /// Write a Chrome/Perfetto trace of steps and bands to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Refuse input images wider than this (can only tighten the default of 16384).
    #[arg(long, global = true, value_name = "PX")]
    max_width: Option<u32>,
    /// Refuse input images taller than this (can only tighten the default of 16384).
    #[arg(long, global = true, value_name = "PX")]
    max_height: Option<u32>,
    /// Refuse input images with more pixels than this (can only tighten the default of 268435456).
    #[arg(long, global = true, value_name = "N")]
    max_pixels: Option<u64>,
    /// Largest allocation a decoder may make, in MiB (can only tighten the default of 1024).
    #[arg(long, global = true, value_name = "MIB")]
    max_decode_mb: Option<u64>,
    /// Fail a render (one image of a batch) that takes longer than this many seconds.
    #[arg(long, global = true, env = "FXCHAIN_DEADLINE", value_name = "SECONDS")]
    deadline: Option<f64>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render a chain to image files.
    Run(run::RunArgs),
    /// List and describe the loaded effects.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Check and edit chain files.
    #[command(subcommand)]
    Chain(chain_cmd::ChainCommand),
    /// Run a chain over many images, in parallel, with a progress bar.
    Batch(batch::BatchArgs),
    /// Time a chain in-process on generated inputs (decode and encode excluded).
    Bench(bench::BenchArgs),
    /// Render a chain, then again on every plugin rebuild, chain edit or input change.
    Watch(watch::WatchArgs),
}

impl Global {
    /// Decoding limits: the defaults, tightened by the flags.
    pub fn limits(&self) -> fxchain_host::io::ImageLimits {
        let d = fxchain_host::io::ImageLimits::default();
        d.tighten(fxchain_host::io::ImageLimits {
            max_width: self.max_width.unwrap_or(d.max_width),
            max_height: self.max_height.unwrap_or(d.max_height),
            max_pixels: self.max_pixels.unwrap_or(d.max_pixels),
            max_bytes: self.max_decode_mb.map(|m| m << 20).unwrap_or(d.max_bytes),
        })
    }

    /// The render deadline, if set.
    pub fn deadline(&self) -> Option<std::time::Duration> {
        self.deadline.filter(|d| d.is_finite() && *d > 0.0).map(std::time::Duration::from_secs_f64)
    }

    /// Loads the registry and reports libraries that failed, as warnings.
    pub fn registry(&self) -> Registry {
        let options = RegistryOptions {
            plugin_dirs: self.plugin_dirs.clone(),
            use_default_dirs: !self.no_default_plugins,
            ..Default::default()
        };
        let registry = Registry::load(&options);
        if !self.quiet {
            for e in registry.errors() {
                eprintln!("warning: plugin not loaded: {e}");
            }
            for w in registry.warnings() {
                eprintln!("warning: {w}");
            }
        }
        registry
    }
}

/// Parses `--quality`; prints the error and returns the exit code on a bad value.
pub fn parse_quality(q: Option<&str>) -> Result<Option<fxchain_host::api::Tier>, i32> {
    match q {
        None => Ok(None),
        Some(q) => fxchain_host::api::Tier::from_name(q).map(Some).ok_or_else(|| {
            eprintln!("error: --quality {q}: expected fast, balanced or quality");
            exit::USAGE
        }),
    }
}

/// Parses `--set STEP.PARAM=VALUE` flags.
pub fn parse_overrides(sets: &[String]) -> Result<Vec<fxchain_host::chain::Override>, i32> {
    sets.iter().map(|s| s.parse()).collect::<Result<_, String>>().map_err(|e| {
        eprintln!("error: --set {e}");
        exit::USAGE
    })
}

/// Reads and validates a chain file, printing its errors.
pub fn load_chain(
    path: &std::path::Path,
    registry: &fxchain_host::Registry,
    overrides: &[fxchain_host::chain::Override],
) -> Result<fxchain_host::Chain, i32> {
    let source = fxchain_host::ChainSource::from_path(path).map_err(|e| {
        report::chain_error(&e);
        exit::USAGE
    })?;
    fxchain_host::chain::validate(source, registry, overrides).map_err(|e| {
        report::chain_error(&e);
        exit::USAGE
    })
}

/// Keeps the trace file open until the process ends.
type TraceGuard = Option<tracing_chrome::FlushGuard>;

fn init_logging(g: &Global) -> TraceGuard {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_filter(filter);
    let (chrome, guard) = match &g.trace {
        Some(path) => {
            let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new().file(path).include_args(true).build();
            let only_ours = tracing_subscriber::filter::Targets::new().with_target("fxchain", tracing::Level::TRACE);
            (Some(layer.with_filter(only_ours)), Some(guard))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(fmt).with(chrome).try_init();
    guard
}

fn init_engine(g: &Global) {
    if let Some(n) = g.threads {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
    fxchain_host::pool::BufferPool::global().set_budget(g.pool_mb << 20);
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit::USAGE } else { exit::OK };
        }
    };
    let guard = init_logging(&cli.global);
    init_engine(&cli.global);
    let code = match cli.command {
        Command::Run(args) => run::run(&cli.global, args),
        Command::Plugins(cmd) => plugins::run(&cli.global, cmd),
        Command::Chain(cmd) => chain_cmd::run(&cli.global, cmd),
        Command::Batch(args) => batch::run(&cli.global, args),
        Command::Bench(args) => bench::run(&cli.global, args),
        Command::Watch(args) => watch::run(&cli.global, args),
    };
    drop(guard);
    code
}
