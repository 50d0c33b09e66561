//! `fxchain watch`: renders a chain, then again whenever a plugin it uses is rebuilt, the chain
//! file is saved or the input changes. Only what changed is recomputed (the result cache). With
//! `--serve`, a local page shows the result live (see [`super::serve`]).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use fxchain_host::cache::ResultCache;
use fxchain_host::chain;
use fxchain_host::io::save_image_with;
use fxchain_host::reload::{is_content_change, LiveRegistry, ReloadEvent};
use fxchain_host::session::{RenderRequest, Rendered, Session, SessionError};
use fxchain_host::{ChainSource, RegistryOptions};
use notify::{RecursiveMode, Watcher};

use super::job::RenderArgs;
use super::{exit, report, serve, Global};

/// Arguments of `fxchain watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The chain file.
    chain: PathBuf,
    /// Input image, as FILE or NAME=FILE.
    #[arg(short, long = "input")]
    inputs: Vec<String>,
    /// Output file (replaced atomically after every successful full render). Optional with
    /// --serve.
    #[arg(short, long, required_unless_present = "serve")]
    output: Option<PathBuf>,
    /// Quiet period after a change before reacting, in milliseconds.
    #[arg(long, default_value_t = 100)]
    debounce_ms: u64,
    /// Result cache budget in MiB (intermediate results reused across renders).
    #[arg(long, env = "FXCHAIN_CACHE_MB", default_value_t = 512)]
    cache_mb: u64,
    /// Serve a live preview page on ADDR: `PORT`, `HOST` or `HOST:PORT` (default 127.0.0.1 on a
    /// free port; the address is printed).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
    serve: Option<String>,
    #[command(flatten)]
    render: RenderArgs,
    #[command(flatten)]
    io: super::io_args::IoArgs,
}

/// The output settings of this `watch` (one per process), read by every write of the output.
static OUTPUT_SETTINGS: std::sync::OnceLock<super::io_args::IoArgs> = std::sync::OnceLock::new();

/// Why the watch loop wakes up.
enum Trigger {
    Plugin(ReloadEvent),
    File(PathBuf),
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Prints the per-step lines and the status line of a full render.
pub(crate) fn print_render(r: &Rendered, output: Option<&Path>, since: Option<Duration>, live: &LiveRegistry) {
    for s in &r.steps {
        let now = if s.skipped {
            "skipped".to_string()
        } else if s.cached {
            "cached".to_string()
        } else {
            match s.previous {
                Some(p) => format!("{} → {}", report::ms(p), report::ms(s.time)),
                None => report::ms(s.time),
            }
        };
        eprintln!("  {:<22} {:<26} gen {:<3} {now}", s.label, s.effect, s.generation);
    }
    let g = live.generation_stats();
    let since = since.map(|t| format!(", {} after the change", report::ms(t))).unwrap_or_default();
    eprintln!(
        "rendered {} in {}{since} ({} library generations loaded, {} in use, {} mapped; resident {})",
        output.map(|o| o.display().to_string()).unwrap_or_else(|| "the preview".into()),
        report::ms(r.took),
        g.loaded,
        g.in_use,
        report::mib(g.mapped_bytes),
        report::resident_bytes().map(report::mib).unwrap_or_else(|| "?".into()),
    );
}

/// Prints why a render failed (chain errors with their positions).
pub(crate) fn print_failure(e: &SessionError) {
    match e {
        SessionError::Chain(c) => {
            report::chain_error(c);
            eprintln!("error: the chain has errors; the last good output is kept");
        }
        other => eprintln!("error: {other}"),
    }
}

/// Writes the output file of a full render.
pub(crate) fn write_output(r: &Rendered, output: &Path) -> Result<(), String> {
    let io = OUTPUT_SETTINGS.get().cloned().unwrap_or_default();
    let (target, format) = io.output(output)?;
    let options = io.encode_options(false);
    save_image_with(&r.image, &target, format, &options, &Default::default()).map_err(|e| e.to_string())
}

/// Runs the command until interrupted.
pub fn run(g: &Global, args: WatchArgs) -> i32 {
    // Ctrl-C, SIGTERM and SIGHUP end a watch with the documented code. Outputs are replaced
    // atomically, so stopping at any point leaves the last good output.
    let _ = ctrlc::set_handler(|| std::process::exit(exit::INTERRUPTED));
    let (overrides, mut options) = match args.render.job_options(g) {
        Ok(o) => o,
        Err(code) => return code,
    };
    options.render.cache = Some(ResultCache::new(super::mib(args.cache_mb), None));
    if let Some(Err(e)) = args.output.as_deref().map(|o| args.io.output(o)) {
        eprintln!("error: {e}");
        return super::exit::USAGE;
    }
    let _ = OUTPUT_SETTINGS.set(args.io.clone());
    let live = LiveRegistry::new(&RegistryOptions {
        plugin_dirs: g.plugin_dirs.clone(),
        use_default_dirs: !g.no_default_plugins,
        ..Default::default()
    });
    for e in live.snapshot().errors() {
        eprintln!("warning: plugin not loaded: {e}");
    }
    let chain_path = canonical(&args.chain);
    let named: Vec<(String, PathBuf)> = args
        .inputs
        .iter()
        .map(|a| match a.split_once('=') {
            Some((n, f)) if !n.contains('/') => (n.to_string(), canonical(Path::new(f))),
            _ => ("input".to_string(), canonical(Path::new(a))),
        })
        .collect();
    // The chain must still validate against a new build before it is swapped in.
    {
        let chain_path = chain_path.clone();
        let overrides = overrides.clone();
        live.set_acceptor(Some(Box::new(move |candidate| {
            let Ok(source) = ChainSource::from_path(&chain_path) else { return Ok(()) };
            chain::validate(source, candidate, &overrides).map(|_| ()).map_err(|e| {
                let d: Vec<String> = e.diagnostics().iter().map(|d| d.to_string()).collect();
                format!("the chain would no longer validate: {}", d.join("; "))
            })
        })));
    }
    let (tx, rx) = channel::<Trigger>();
    let _plugin_watch = match live.watch(Duration::from_millis(args.debounce_ms)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot watch the plugin folders: {e}");
            return exit::ENV;
        }
    };
    {
        let events = live.subscribe();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for e in events {
                if tx.send(Trigger::Plugin(e)).is_err() {
                    return;
                }
            }
        });
    }
    let mut files: Vec<PathBuf> = vec![chain_path.clone()];
    files.extend(named.iter().map(|(_, p)| p.clone()));
    let file_tx = tx.clone();
    let watched = files.clone();
    let mut file_watch = match notify::recommended_watcher(move |r: notify::Result<notify::Event>| {
        // Only new content matters: the opens and reads of this process (it reads the chain
        // and the inputs on every render) and of other readers must not trigger anything.
        let Ok(ev) = r else { return };
        if is_content_change(&ev.kind) {
            for p in ev.paths {
                let p = canonical(&p);
                if watched.contains(&p) {
                    let _ = file_tx.send(Trigger::File(p));
                }
            }
        }
    }) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot watch files: {e}");
            return exit::ENV;
        }
    };
    let dirs: std::collections::HashSet<PathBuf> =
        files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).collect();
    for d in dirs {
        if let Err(e) = file_watch.watch(&d, RecursiveMode::NonRecursive) {
            eprintln!("error: cannot watch {}: {e}", d.display());
            return exit::ENV;
        }
    }
    let session = Arc::new(Session::new(live.clone(), chain_path.clone(), named, overrides.clone(), options));
    let server = match &args.serve {
        Some(addr) => match serve::start(addr, session.clone(), args.output.clone()) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: cannot serve the preview page on {addr}: {e}");
                return exit::ENV;
            }
        },
        None => None,
    };
    eprintln!("watching {} and {} plugin folder(s); Ctrl-C to stop", chain_path.display(), live.dirs().len());
    let mut changed_at: Option<Instant> = None;
    loop {
        match &server {
            // The page's render thread renders (coalescing changes); this loop only tells it.
            Some(s) => s.request_render(changed_at),
            None => match session.render(&RenderRequest::default()) {
                Ok(r) => {
                    let output = args.output.as_deref().expect("clap requires -o without --serve");
                    match write_output(&r, output) {
                        Ok(()) => print_render(&r, Some(output), changed_at.map(|t| t.elapsed()), &live),
                        Err(e) => eprintln!("error: {e}"),
                    }
                }
                Err(e) => print_failure(&e),
            },
        }
        // Wait for the next relevant change, then let a burst of events settle.
        loop {
            let first = match rx.recv() {
                Ok(t) => t,
                Err(_) => return exit::OK,
            };
            let mut triggers = vec![first];
            loop {
                match rx.recv_timeout(Duration::from_millis(args.debounce_ms)) {
                    Ok(t) => triggers.push(t),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return exit::OK,
                }
            }
            changed_at = Some(Instant::now());
            let mut rerender = false;
            for t in triggers {
                match t {
                    Trigger::Plugin(e) => {
                        eprintln!("{e}");
                        if let Some(s) = &server {
                            s.reload_event(&e);
                        }
                        rerender |= !matches!(e, ReloadEvent::Rejected { .. });
                    }
                    Trigger::File(p) => {
                        if p != chain_path {
                            session.inputs_changed();
                        }
                        if let Some(s) = &server {
                            s.file_changed(&p);
                        }
                        rerender = true;
                    }
                }
            }
            if rerender {
                break;
            }
        }
    }
}
