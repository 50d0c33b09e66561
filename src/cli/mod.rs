//! Command-line interface.

mod apply;
mod batch;
mod bench;
mod chain_cmd;
mod color;
pub mod io_args;
mod job;
mod plugin_exit;
mod plugins;
mod replay;
mod report;
mod run;
mod serve;
mod shell_docs;
mod watch;
mod worker;

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
    /// A plugin ended the process (called `exit`) while a render was in progress.
    pub const PLUGIN_EXIT: i32 = 4;
    /// Interrupted (Ctrl-C, SIGTERM, SIGHUP).
    pub const INTERRUPTED: i32 = 130;
}

/// Most worker threads or images at once, per core: more only adds switching and memory.
pub const WORKERS_PER_CORE: usize = 8;

/// The largest `--threads`/`--jobs` value on this machine.
pub fn max_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * WORKERS_PER_CORE
}

/// Parses a `--threads`/`--jobs` count: 1 up to [`max_workers`].
pub fn parse_workers(s: &str) -> Result<usize, String> {
    let n: usize = s.trim().parse().map_err(|_| format!("expected a whole number, got {s:?}"))?;
    let max = max_workers();
    if n == 0 || n > max {
        return Err(format!(
            "must be from 1 to {max} ({WORKERS_PER_CORE} per core; this machine has {} cores)",
            max / WORKERS_PER_CORE
        ));
    }
    Ok(n)
}

/// Longest `--deadline`: a year.
const MAX_DEADLINE_SECONDS: f64 = 365.0 * 86400.0;

/// Parses `--deadline`/`FXCHAIN_DEADLINE`: a positive, finite number of seconds up to a year.
fn parse_deadline(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("expected a number of seconds, got {s:?}"))?;
    if !(v > 0.0 && v <= MAX_DEADLINE_SECONDS) {
        return Err(format!("must be more than 0 and at most {MAX_DEADLINE_SECONDS} seconds (a year), got {s}"));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// MiB to bytes, saturating (a huge value means "no practical limit", never an overflow).
pub fn mib(m: u64) -> u64 {
    m.saturating_mul(1 << 20)
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
    /// Colour in messages, logs and progress bars: auto (on a terminal, unless `NO_COLOR` is set),
    /// always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: color::ColorChoice,
    /// Worker threads for bands and images (default: the number of cores).
    #[arg(long, global = true, env = "FXCHAIN_THREADS", value_name = "N", value_parser = parse_workers)]
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
    /// Refuse input images wider than this (can only tighten the default of 131072).
    #[arg(long, global = true, value_name = "PX")]
    max_width: Option<u32>,
    /// Refuse input images taller than this (can only tighten the default of 131072).
    #[arg(long, global = true, value_name = "PX")]
    max_height: Option<u32>,
    /// Refuse input images with more pixels than this (can only tighten the default of 536870912).
    #[arg(long, global = true, value_name = "N")]
    max_pixels: Option<u64>,
    /// Largest allocation a decoder may make, in MiB (can only tighten the default of 1024).
    #[arg(long, global = true, value_name = "MIB")]
    max_decode_mb: Option<u64>,
    /// Fail a render (one image of a batch) that takes longer than this many seconds.
    #[arg(long, global = true, env = "FXCHAIN_DEADLINE", value_name = "SECONDS", value_parser = parse_deadline)]
    deadline: Option<std::time::Duration>,
    /// Run plugins in worker processes (`run`, `batch`): a plugin that aborts, overflows its
    /// stack, runs out of memory, writes out of bounds or calls exit fails one image, not the
    /// process. Frames pass through shared memory. `--isolate` isolates every chain;
    /// `--isolate=LIB,...` only chains that use one of these plugin libraries (crate name as in
    /// `plugins list`, or file name); the others run in-process.
    #[arg(
        long,
        global = true,
        env = "FXCHAIN_ISOLATE",
        value_name = "LIBRARIES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "all",
        value_delimiter = ','
    )]
    isolate: Option<Vec<String>>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render a chain to image files.
    Run(run::RunArgs),
    /// Apply effects named on the command line, without a chain file:
    /// `fxchain apply blur.gaussian sigma=3 : color.invert -i in.png -o out.png`.
    Apply(apply::ApplyArgs),
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
    /// Re-render an output from its provenance record and compare.
    Replay(replay::ReplayArgs),
    /// Print a shell completion script: `source <(fxchain completions bash)`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `fxchain man | man -l -`.
    Man,
    /// Worker process of --isolate (started by fxchain itself).
    #[command(name = "__worker", hide = true)]
    Worker(worker::WorkerArgs),
}

impl Global {
    /// Decoding limits: the defaults, tightened by the flags.
    pub fn limits(&self) -> fxchain_host::io::ImageLimits {
        let d = fxchain_host::io::ImageLimits::default();
        d.tighten(fxchain_host::io::ImageLimits {
            max_width: self.max_width.unwrap_or(d.max_width),
            max_height: self.max_height.unwrap_or(d.max_height),
            max_pixels: self.max_pixels.unwrap_or(d.max_pixels),
            max_bytes: self.max_decode_mb.map(mib).unwrap_or(d.max_bytes),
        })
    }

    /// The render deadline, if set.
    pub fn deadline(&self) -> Option<std::time::Duration> {
        self.deadline
    }

    /// The worker pool for `--isolate`, when it is set: workers get this command's plugin folders
    /// and `threads` threads each.
    pub fn workers(
        &self,
        registry: &std::sync::Arc<Registry>,
        chain: &fxchain_host::Chain,
        threads: usize,
    ) -> Result<Option<std::sync::Arc<fxchain_host::isolate::WorkerPool>>, String> {
        let Some(names) = &self.isolate else { return Ok(None) };
        let all = names.iter().any(|n| matches!(n.as_str(), "all" | "1" | "true" | "yes"));
        if !all {
            let matches = |lib: &fxchain_host::loader::Library, n: &str| {
                lib.name == n || lib.path.file_name().is_some_and(|f| f.to_string_lossy() == n)
            };
            if !self.quiet {
                for n in names.iter().filter(|n| !registry.all().any(|e| matches(&e.library, n))) {
                    eprintln!("warning: --isolate={n}: no loaded plugin library has that name");
                }
            }
            // The libraries a step may run from: its reference effect and every variant.
            let uses = chain.steps.iter().any(|s| {
                registry
                    .effect(&s.effect)
                    .into_iter()
                    .chain(registry.variants_of(&s.effect))
                    .any(|e| names.iter().any(|n| matches(&e.library, n)))
            });
            if !uses {
                return Ok(None);
            }
        }
        let exe = std::env::current_exe().map_err(|e| format!("--isolate: cannot find this executable: {e}"))?;
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        for d in &self.plugin_dirs {
            args.push("--plugin-dir".into());
            args.push(d.clone().into_os_string());
        }
        if self.no_default_plugins {
            args.push("--no-default-plugins".into());
        }
        args.extend(["-q".into(), "--threads".into(), threads.max(1).to_string().into()]);
        args.extend(["--pool-mb".into(), self.pool_mb.to_string().into()]);
        Ok(Some(std::sync::Arc::new(fxchain_host::isolate::WorkerPool::new(exe, args, registry.clone()))))
    }

    /// [`Global::registry`], or exit code [`exit::ENV`] (with a message saying where plugins
    /// were searched) when no effect is loaded.
    pub fn registry_with_effects(&self) -> Result<Registry, i32> {
        let registry = self.registry();
        if registry.all().next().is_none() {
            eprintln!(
                "error: no effects are loaded ({}). Build the plugins (`cargo build --release`) or pass --plugin-dir.",
                registry.searched()
            );
            return Err(exit::ENV);
        }
        Ok(registry)
    }

    /// Loads the registry and reports libraries that failed, as warnings.
    pub fn registry(&self) -> Registry {
        let options = RegistryOptions {
            plugin_dirs: self.plugin_dirs.clone(),
            use_default_dirs: !self.no_default_plugins,
            ..Default::default()
        };
        let registry = Registry::load(&options);
        plugin_exit::remember_libraries(&registry);
        if !self.quiet {
            for d in self.plugin_dirs.iter().filter(|d| !d.is_dir()) {
                let what = if d.exists() { "is not a folder" } else { "does not exist" };
                eprintln!("warning: --plugin-dir {}: {what}; no plugins are loaded from it", d.display());
            }
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

/// The values of `--quality`.
#[derive(clap::ValueEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum QualityProfile {
    /// The fastest variant of each effect.
    Fast,
    /// A fast variant close to the reference.
    Balanced,
    /// The reference implementation.
    Quality,
}

/// Parses `--quality` as a [`QualityProfile`] (so `--help` and completions list the values) and gives
/// back its name; a number gets a hint at the encoder's quality flag.
#[derive(Clone)]
pub struct QualityParser {
    /// The flag that sets the encoder's quality, for the hint (`--jpeg-quality`).
    encoder_flag: Option<&'static str>,
}

impl QualityParser {
    /// For commands that write JPEGs (hint at `--jpeg-quality`).
    pub fn with_encoder_hint() -> QualityParser {
        QualityParser { encoder_flag: Some("--jpeg-quality") }
    }
    /// For commands that do not encode.
    pub fn plain() -> QualityParser {
        QualityParser { encoder_flag: None }
    }
}

impl clap::builder::TypedValueParser for QualityParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        use clap::error::{ContextKind, ContextValue};
        let inner = clap::builder::EnumValueParser::<QualityProfile>::new();
        match inner.parse_ref(cmd, arg, value) {
            Ok(q) => Ok(clap::ValueEnum::to_possible_value(&q).map(|p| p.get_name().to_string()).unwrap_or_default()),
            Err(mut e) => {
                let text = value.to_string_lossy();
                if text.trim().parse::<f64>().is_ok() {
                    let hint = match self.encoder_flag {
                        Some(flag) => format!(
                            "--quality picks the effects' variants; for the encoder's quality use `{flag} {}`",
                            text.trim()
                        ),
                        None => "--quality picks the effects' variants, it is not a number".to_string(),
                    };
                    e.insert(ContextKind::Suggested, ContextValue::StyledStrs(vec![hint.into()]));
                }
                Err(e)
            }
        }
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            <QualityProfile as clap::ValueEnum>::value_variants().iter().filter_map(clap::ValueEnum::to_possible_value),
        ))
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
    load_chain_or(path, None, registry, overrides)
}

/// Validates `source` when given (a chain built from the command line), else reads the chain
/// file at `path`; prints the errors.
pub fn load_chain_or(
    path: &std::path::Path,
    source: Option<std::sync::Arc<fxchain_host::ChainSource>>,
    registry: &fxchain_host::Registry,
    overrides: &[fxchain_host::chain::Override],
) -> Result<fxchain_host::Chain, i32> {
    let source = match source {
        Some(s) => s,
        None => fxchain_host::ChainSource::from_path(path).map_err(|e| {
            report::chain_error(&e);
            exit::USAGE
        })?,
    };
    fxchain_host::chain::validate(source, registry, overrides).map_err(|e| {
        report::chain_error(&e);
        exit::USAGE
    })
}

/// Keeps the trace file open until the process ends.
type TraceGuard = Option<(tracing_chrome::FlushGuard, PathBuf, TraceErrors)>;

/// The first error writing the trace file. The trace writer runs on its own thread, which would
/// panic on a write error; this writer keeps the error for the end of the command instead.
type TraceErrors = std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>;

struct TraceWriter {
    out: std::io::BufWriter<std::fs::File>,
    error: TraceErrors,
}

impl TraceWriter {
    fn keep<T>(&self, r: std::io::Result<T>, ok: T) -> std::io::Result<T> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert(e);
                Ok(ok)
            }
        }
    }
}

impl std::io::Write for TraceWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.out.write(buf);
        self.keep(r, buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.out.flush();
        self.keep(r, ())
    }
}

fn init_logging(g: &Global) -> Result<TraceGuard, String> {
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
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(color::stderr())
        .with_filter(filter);
    let (chrome, guard) = match &g.trace {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("--trace {}: cannot create the trace file: {e}", path.display()))?;
            let errors = TraceErrors::default();
            let writer = TraceWriter { out: std::io::BufWriter::new(file), error: errors.clone() };
            let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new().writer(writer).include_args(true).build();
            let only_ours = tracing_subscriber::filter::Targets::new().with_target("fxchain", tracing::Level::TRACE);
            (Some(layer.with_filter(only_ours)), Some((guard, path.clone(), errors)))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(fmt).with(chrome).with(plugin_exit::layer()).try_init();
    Ok(guard)
}

fn init_engine(g: &Global) {
    if let Some(n) = g.threads {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    fxchain_host::pool::BufferPool::global().set_budget(mib(g.pool_mb));
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = <Cli as clap::CommandFactory>::command()
        .color(color::clap_choice(color::from_args(&args)))
        .try_get_matches_from(&args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit::USAGE } else { exit::OK };
        }
    };
    color::init(cli.global.color);
    let guard = match init_logging(&cli.global) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ENV;
        }
    };
    init_engine(&cli.global);
    plugin_exit::install();
    let mut code = match cli.command {
        Command::Run(args) => run::run(&cli.global, args),
        Command::Apply(args) => apply::run(&cli.global, args),
        Command::Plugins(cmd) => plugins::run(&cli.global, cmd),
        Command::Chain(cmd) => chain_cmd::run(&cli.global, cmd),
        Command::Batch(args) => batch::run(&cli.global, args),
        Command::Bench(args) => bench::run(&cli.global, args),
        Command::Watch(args) => watch::run(&cli.global, args),
        Command::Replay(args) => replay::run(&cli.global, args),
        Command::Worker(args) => worker::run(&cli.global, args),
        Command::Completions { shell } => shell_docs::completions(shell),
        Command::Man => shell_docs::man(),
    };
    if let Some((guard, path, errors)) = guard {
        // Dropping the guard writes the rest of the trace and waits for its thread.
        drop(guard);
        if let Some(e) = errors.lock().unwrap_or_else(|p| p.into_inner()).take() {
            eprintln!("error: --trace {}: cannot write the trace: {e}", path.display());
            if code == exit::OK {
                code = exit::FAILED;
            }
        }
    }
    code
}
