//! Batches: one chain over many images, in parallel, with per-image failures that never stop
//! the others, atomic outputs, resumable runs and stable sharding.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxchain_plugin_api::PixelFormat;
use rayon::prelude::*;

use crate::chain::{Chain, Precision};
use crate::error::RunError;
use crate::exec::{resolve_effect, RenderOptions};
use crate::frame::Frame;
use crate::io::{load_image, save_image, ImageLimits, OutputFormat};
use crate::registry::Registry;

/// One image of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BatchItem {
    /// The input file.
    pub input: PathBuf,
    /// Where the output goes.
    pub output: PathBuf,
    /// Path relative to the input root, for reports and sharding.
    pub relative: String,
}

/// Where an image failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading or decoding the input.
    Decode,
    /// Rendering (a plugin error or panic, a bad plan).
    Plugin,
    /// Encoding or writing the output.
    Write,
}

/// What happened to one image.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ItemReport {
    /// Input path.
    pub input: PathBuf,
    /// Output path.
    pub output: PathBuf,
    /// `ok`, `failed` or `skipped`.
    pub status: &'static str,
    /// The stage that failed.
    pub stage: Option<Stage>,
    /// The error or the reason for skipping.
    pub message: Option<String>,
    /// Time spent on this image, ms.
    pub ms: f64,
}

/// Options of a batch.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    /// Output encoding.
    pub format: OutputFormat,
    /// Replace existing outputs.
    pub overwrite: bool,
    /// Skip images whose output was written by a previous run of the same chain and plugins.
    pub resume: bool,
    /// Stop starting new images after the first failure.
    pub fail_fast: bool,
    /// Stop starting new images after this many failures.
    pub max_failures: Option<usize>,
    /// Decoding limits.
    pub limits: ImageLimits,
    /// Rendering options.
    pub render: RenderOptions,
}

/// Totals of a batch.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BatchSummary {
    /// Images written.
    pub ok: usize,
    /// Images that failed.
    pub failed: usize,
    /// Images skipped (output exists, done before, or the batch stopped early).
    pub skipped: usize,
    /// Wall time.
    pub elapsed_ms: f64,
    /// Whether the batch stopped before the end (interrupt, --fail-fast, --max-failures).
    pub stopped_early: bool,
}

/// The file, in each output folder, recording finished outputs for `--resume`.
pub const DONE_FILE: &str = ".fxchain-done";

/// Fingerprint of everything that determines an output besides its input: the chain, the exact
/// plugin libraries, and the output encoding.
pub fn fingerprint(chain: &Chain, registry: &Registry, options: &BatchOptions) -> String {
    let mut h = blake3::Hasher::new();
    h.update(chain.source.text.as_bytes());
    let quality = options.render.quality.unwrap_or(chain.quality);
    for step in &chain.steps {
        if let Some(info) = resolve_effect(registry, step, quality) {
            h.update(info.id.as_bytes());
            h.update(info.library.content_hash.as_bytes());
        }
    }
    h.update(format!("{:?}", options.format).as_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// Stable shard of a relative path: BLAKE3 of the path, modulo `count`.
pub fn shard_of(relative: &str, count: usize) -> usize {
    let h = blake3::hash(relative.as_bytes());
    (u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes")) % count.max(1) as u64) as usize
}

fn load_done(dir: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(dir.join(DONE_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(f, p)| (p.to_string(), f.to_string())))
        .collect()
}

/// Runs `chain` over `items`; `on_done` is called after each image (for progress and reports).
/// `stop` is polled before each image starts: set it to stop cleanly (work in flight finishes).
pub fn run_batch(
    chain: &Chain,
    registry: &Arc<Registry>,
    items: &[BatchItem],
    options: &BatchOptions,
    stop: &AtomicBool,
    on_done: &(dyn Fn(&ItemReport) + Sync),
) -> BatchSummary {
    let started = Instant::now();
    let print = fingerprint(chain, registry, options);
    for dir in items.iter().filter_map(|i| i.output.parent()).collect::<HashSet<_>>() {
        let n = crate::io::clean_stale_temps(dir);
        if n > 0 {
            tracing::info!("removed {n} stale temporary file(s) in {}", dir.display());
        }
    }
    let format = if chain.precision == Precision::F32 { PixelFormat::RGBA32F } else { PixelFormat::RGBA8 };
    let input_name = chain.inputs.first().cloned().unwrap_or_else(|| "input".to_string());
    // Records of earlier runs, per output folder.
    let folders: HashSet<PathBuf> = items.iter().filter_map(|i| i.output.parent().map(Path::to_path_buf)).collect();
    let done: HashMap<PathBuf, HashMap<String, String>> =
        if options.resume { folders.iter().map(|d| (d.clone(), load_done(d))).collect() } else { HashMap::new() };
    let done_files: Mutex<HashMap<PathBuf, std::fs::File>> = Mutex::new(HashMap::new());
    let failures = AtomicUsize::new(0);
    let reports: Mutex<Vec<ItemReport>> = Mutex::new(Vec::new());

    items.par_iter().for_each(|item| {
        let t = Instant::now();
        let report = |status: &'static str, stage: Option<Stage>, message: Option<String>| ItemReport {
            input: item.input.clone(),
            output: item.output.clone(),
            status,
            stage,
            message,
            ms: t.elapsed().as_secs_f64() * 1e3,
        };
        let stopped = stop.load(Ordering::Relaxed)
            || (options.fail_fast && failures.load(Ordering::Relaxed) > 0)
            || options.max_failures.is_some_and(|m| failures.load(Ordering::Relaxed) >= m);
        let name = item.output.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let folder = item.output.parent().map(Path::to_path_buf).unwrap_or_default();
        let r = if stopped {
            report("skipped", None, Some("the batch stopped before this image".into()))
        } else if options.resume
            && item.output.exists()
            && done.get(&folder).and_then(|d| d.get(&name)).is_some_and(|f| *f == print)
        {
            report("skipped", None, Some("done by an earlier run with the same chain and plugins".into()))
        } else if item.output.exists() && !options.overwrite && !options.resume {
            report("skipped", None, Some("the output exists (use --overwrite)".into()))
        } else {
            match process(chain, registry, item, options, format, &input_name) {
                Ok(()) => {
                    // Record completion after the atomic rename, so a killed batch redoes at most
                    // the images in flight.
                    let mut files = done_files.lock().unwrap_or_else(|e| e.into_inner());
                    let file = files.entry(folder.clone()).or_insert_with(|| {
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(folder.join(DONE_FILE))
                            .expect("done file")
                    });
                    let _ = writeln!(file, "{print}\t{name}");
                    let _ = file.sync_data();
                    report("ok", None, None)
                }
                Err((stage, msg)) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                    report("failed", Some(stage), Some(msg))
                }
            }
        };
        on_done(&r);
        reports.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    });
    let reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
    let count = |s: &str| reports.iter().filter(|r| r.status == s).count();
    BatchSummary {
        ok: count("ok"),
        failed: count("failed"),
        skipped: count("skipped"),
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        stopped_early: reports.iter().any(|r| r.message.as_deref() == Some("the batch stopped before this image")),
    }
}

fn process(
    chain: &Chain,
    registry: &Arc<Registry>,
    item: &BatchItem,
    options: &BatchOptions,
    format: PixelFormat,
    input_name: &str,
) -> Result<(), (Stage, String)> {
    let frame = load_image(&item.input, format, options.limits).map_err(|e| (Stage::Decode, e.to_string()))?;
    let inputs: HashMap<String, Arc<Frame>> = HashMap::from([(input_name.to_string(), Arc::new(frame))]);
    let result = crate::run::run_frames(chain, registry, &inputs, &options.render).map_err(|e| {
        let stage = if matches!(e, RunError::Image(_)) { Stage::Decode } else { Stage::Plugin };
        (stage, e.to_string())
    })?;
    if let Some(dir) = item.output.parent() {
        std::fs::create_dir_all(dir).map_err(|e| (Stage::Write, format!("{}: {e}", dir.display())))?;
    }
    save_image(&result.outputs[0], &item.output, options.format).map_err(|e| (Stage::Write, e.to_string()))
}

/// A rate for summaries: images per second.
pub fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}
