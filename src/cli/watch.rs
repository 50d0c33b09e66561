//! `fxchain watch`: renders a chain, then again whenever a plugin it uses is rebuilt, the chain
//! file is saved or the input changes. Only what changed is recomputed (the result cache).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use fxchain_host::api::PixelFormat;
use fxchain_host::cache::ResultCache;
use fxchain_host::chain::{self, Precision};
use fxchain_host::io::{load_image, save_image, OutputFormat};
use fxchain_host::reload::{is_content_change, LiveRegistry, ReloadEvent};
use fxchain_host::{ChainSource, Frame, RegistryOptions, RenderOptions};
use notify::{RecursiveMode, Watcher};

use super::{exit, report, Global};

/// Arguments of `fxchain watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The chain file.
    chain: PathBuf,
    /// Input image, as FILE or NAME=FILE.
    #[arg(short, long = "input")]
    inputs: Vec<String>,
    /// Output file (replaced atomically after every successful render).
    #[arg(short, long)]
    output: PathBuf,
    /// Quiet period after a change before reacting, in milliseconds.
    #[arg(long, default_value_t = 100)]
    debounce_ms: u64,
    /// Result cache budget in MiB (intermediate results reused across renders).
    #[arg(long, env = "FXCHAIN_CACHE_MB", default_value_t = 512)]
    cache_mb: u64,
}

enum Trigger {
    Plugin(ReloadEvent),
    File(PathBuf),
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Runs the command until interrupted.
pub fn run(g: &Global, args: WatchArgs) -> i32 {
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
        live.set_acceptor(Some(Box::new(move |candidate| {
            let Ok(source) = ChainSource::from_path(&chain_path) else { return Ok(()) };
            chain::validate(source, candidate, &[]).map(|_| ()).map_err(|e| {
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
    let format = OutputFormat::from_path(&args.output).unwrap_or(OutputFormat::Png);
    let cache = ResultCache::new(args.cache_mb << 20, None);
    let mut last_times: HashMap<String, Duration> = HashMap::new();
    let mut frames: HashMap<String, Arc<Frame>> = HashMap::new();
    let mut inputs_stale = true;
    let mut changed_at: Option<Instant> = None;
    eprintln!("watching {} and {} plugin folder(s); Ctrl-C to stop", chain_path.display(), live.dirs().len());
    loop {
        // Render.
        let snapshot = live.snapshot();
        let rendered = (|| -> Result<(), String> {
            let source = ChainSource::from_path(&chain_path).map_err(|e| e.to_string())?;
            let c = chain::validate(source, &snapshot, &[]).map_err(|e| {
                report::chain_error(&e);
                "the chain has errors; the last good output is kept".to_string()
            })?;
            let fmt = if c.precision == Precision::F32 { PixelFormat::RGBA32F } else { PixelFormat::RGBA8 };
            if inputs_stale {
                frames.clear();
                for (name, path) in &named {
                    let f = load_image(path, fmt, g.limits()).map_err(|e| e.to_string())?;
                    frames.insert(name.clone(), Arc::new(f));
                }
                inputs_stale = false;
            }
            let options = RenderOptions { band_rows: g.band_rows, cache: Some(cache.clone()), ..Default::default() };
            let started = Instant::now();
            let result = fxchain_host::render(&c, &snapshot, &frames, &options).map_err(|e| e.to_string())?;
            let frame = result.outputs.first().ok_or("the chain has no output")?;
            save_image(frame, &args.output, format).map_err(|e| e.to_string())?;
            for s in &result.steps {
                let key = format!("{}{}", s.label, s.effect);
                let prev = last_times.get(&key).copied();
                let now = if s.cached { "cached".to_string() } else { report::ms(s.time) };
                let change = match (prev, s.cached) {
                    (Some(p), false) => format!("{} → {now}", report::ms(p)),
                    _ => now,
                };
                eprintln!("  {:<22} {:<26} gen {:<3} {change}", s.label, s.effect, s.generation);
                if !s.cached {
                    last_times.insert(key, s.time);
                }
            }
            let since =
                changed_at.map(|t| format!(", {} after the change", report::ms(t.elapsed()))).unwrap_or_default();
            let g = live.generation_stats();
            eprintln!(
                "rendered {} in {}{since} ({} library generations loaded, {} in use, {} mapped; resident {})",
                args.output.display(),
                report::ms(started.elapsed()),
                g.loaded,
                g.in_use,
                report::mib(g.mapped_bytes),
                report::resident_bytes().map(report::mib).unwrap_or_else(|| "?".into()),
            );
            Ok(())
        })();
        if let Err(e) = rendered {
            eprintln!("error: {e}");
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
                        rerender |= !matches!(e, ReloadEvent::Rejected { .. });
                    }
                    Trigger::File(p) => {
                        if p != chain_path {
                            inputs_stale = true;
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
