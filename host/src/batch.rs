//! Batches: one chain over many images, in parallel, with per-image failures that never stop
//! the others, atomic outputs, resumable runs and stable sharding.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::chain::Chain;
use crate::error::ImageError;
use crate::error::RunError;
use crate::exec::StepReport;
use crate::io::OutputFormat;
use crate::pipeline::{Job, JobInput, JobOptions, JobOutput};
use crate::plan::resolve_effect;
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
    /// The steps whose result came from the result cache (labels, `#2 "blur"`).
    pub cached_steps: Vec<String>,
    /// The steps that were computed for this image.
    pub computed_steps: Vec<String>,
}

/// What a batch does about a plugin library once it has failed `after` images.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Every image it fails is a failed image, and the others are still tried (the default).
    Fail,
    /// Skip the remaining images: they all need the failing step.
    Skip,
    /// Render the remaining images with the failing step disabled (its input passes through);
    /// they are reported `ok` with a note, and not recorded for `--resume`.
    Bypass,
}

/// `--on-error`: an action and the number of failed images of one library that triggers it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ErrorPolicy {
    /// What to do.
    pub action: OnError,
    /// After how many failed images of the same library.
    pub after: usize,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy { action: OnError::Fail, after: 1 }
    }
}

impl std::str::FromStr for ErrorPolicy {
    type Err = String;
    /// `fail`, `skip`, `bypass`, optionally with `:N` (default 1).
    fn from_str(s: &str) -> Result<Self, String> {
        let (action, after) = s.split_once(':').unwrap_or((s, "1"));
        let action = match action {
            "fail" => OnError::Fail,
            "skip" => OnError::Skip,
            "bypass" => OnError::Bypass,
            _ => return Err(format!("{s}: expected fail, skip or bypass, optionally with :N")),
        };
        let after =
            after.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| format!("{s}: N must be at least 1"))?;
        Ok(ErrorPolicy { action, after })
    }
}

/// A failed image: where, why, and (for a plugin failure) which library and step.
struct Failure {
    stage: Stage,
    message: String,
    plugin: Option<(String, usize)>,
}

impl Failure {
    fn new(stage: Stage, message: String) -> Failure {
        Failure { stage, message, plugin: None }
    }
}

/// The 0-based index in a step label (`#3` or `#3 "id"`).
fn step_index(label: &str) -> Option<usize> {
    let digits: String = label.trim_start_matches('#').chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<usize>().ok()?.checked_sub(1)
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
    /// What to do about a plugin library that keeps failing.
    pub on_error: ErrorPolicy,
    /// How each image is rendered: the options every command takes (quality, limits, deadline,
    /// cache, isolation in worker processes, ...).
    pub job: JobOptions,
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
    /// Done files that could not be read or appended to, with the reason: images finished there
    /// are written but not recorded, so a later `--resume` renders them again.
    pub done_file_errors: Vec<(PathBuf, String)>,
}

/// The file, in each output folder, recording finished outputs for `--resume`.
pub const DONE_FILE: &str = ".fxchain-done";

/// Fingerprint of everything that determines an output besides its input: the chain, the exact
/// plugin libraries, and the output encoding.
pub fn fingerprint(chain: &Chain, registry: &Registry, options: &BatchOptions) -> String {
    let mut h = blake3::Hasher::new();
    h.update(chain.source.text.as_bytes());
    let quality = options.job.render.quality.unwrap_or(chain.quality);
    for step in &chain.steps {
        if let Some(info) = resolve_effect(registry, step, quality) {
            h.update(info.id.as_bytes());
            h.update(info.library.content_hash.as_bytes());
        }
    }
    h.update(format!("{:?}", options.format).as_bytes());
    let j = &options.job;
    h.update(format!("{:?} {} {:?} {:?}", j.encode, j.follow_input_depth, j.frame, j.meta).as_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// Stable shard of a relative path: BLAKE3 of the path, modulo `count`.
pub fn shard_of(relative: &str, count: usize) -> usize {
    let h = blake3::hash(relative.as_bytes());
    (u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes")) % count.max(1) as u64) as usize
}

/// The records of the done file in `dir`: output name → fingerprint. A line that is not valid
/// UTF-8 (a torn or foreign write) spoils only itself. A missing file is an empty record.
fn load_done(dir: &Path) -> Result<HashMap<String, String>, String> {
    let bytes = match std::fs::read(dir.join(DONE_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    Ok(bytes
        .split(|&b| b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter_map(|l| l.split_once('\t').map(|(f, p)| (p.to_string(), f.to_string())))
        .collect())
}

/// The open done files of a batch, one per output folder; an error is remembered (and reported
/// once) instead of stopping the batch: the outputs themselves are fine.
#[derive(Default)]
struct DoneFiles {
    files: HashMap<PathBuf, Result<std::fs::File, String>>,
}

impl DoneFiles {
    fn record(&mut self, folder: &Path, line: &str) {
        let entry = self.files.entry(folder.to_path_buf()).or_insert_with(|| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(folder.join(DONE_FILE))
                .map_err(|e| format!("cannot append to it: {e}"))
        });
        if let Ok(file) = entry {
            if let Err(e) = writeln!(file, "{line}").and_then(|_| file.sync_data()) {
                *entry = Err(format!("cannot append to it: {e}"));
            }
        }
    }
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
    let destinations: Vec<JobOutput> =
        items.iter().map(|i| JobOutput::File { path: i.output.clone(), format: options.format }).collect();
    crate::pipeline::clean_output_folders(&destinations);
    let input_name = chain.inputs.first().cloned().unwrap_or_else(|| "input".to_string());
    // Records of earlier runs, per output folder.
    let folders: HashSet<PathBuf> = items.iter().filter_map(|i| i.output.parent().map(Path::to_path_buf)).collect();
    let mut done_file_errors = Vec::new();
    let mut done: HashMap<PathBuf, HashMap<String, String>> = HashMap::new();
    if options.resume {
        for d in &folders {
            match load_done(d) {
                Ok(records) => {
                    done.insert(d.clone(), records);
                }
                Err(e) => done_file_errors.push((d.join(DONE_FILE), e)),
            }
        }
    }
    let done_files: Mutex<DoneFiles> = Mutex::new(DoneFiles::default());
    let failures = AtomicUsize::new(0);
    let reports: Mutex<Vec<ItemReport>> = Mutex::new(Vec::new());
    // Failed images per plugin library, and the step that failed.
    let plugin_failures: Mutex<HashMap<String, (usize, usize)>> = Mutex::new(HashMap::new());
    let policy = options.on_error;

    items.par_iter().for_each(|item| {
        let t = Instant::now();
        let steps_report = |status: &'static str, message: Option<String>, steps: &[StepReport]| {
            let labels = |cached: bool| {
                steps.iter().filter(|s| !s.skipped && s.cached == cached).map(|s| s.label.clone()).collect()
            };
            ItemReport {
                input: item.input.clone(),
                output: item.output.clone(),
                status,
                stage: None,
                message,
                ms: t.elapsed().as_secs_f64() * 1e3,
                cached_steps: labels(true),
                computed_steps: labels(false),
            }
        };
        let report = |status: &'static str, stage: Option<Stage>, message: Option<String>| ItemReport {
            stage,
            ..steps_report(status, message, &[])
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
        } else if item.output.exists() && !options.overwrite {
            // `--resume` never replaces an output it has no record of: only `--overwrite` does.
            report("skipped", None, Some("the output exists (use --overwrite)".into()))
        } else {
            // Libraries that failed often enough to trigger the policy, with their step.
            let tripped: Vec<(String, usize, usize)> = if policy.action == OnError::Fail {
                Vec::new()
            } else {
                let f = plugin_failures.lock().unwrap_or_else(|e| e.into_inner());
                f.iter().filter(|(_, (n, _))| *n >= policy.after).map(|(l, (n, s))| (l.clone(), *n, *s)).collect()
            };
            let note = |what: &str| {
                tripped
                    .iter()
                    .map(|(l, n, s)| format!("step #{} {what}: plugin {l} failed {n} image(s)", s + 1))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            let bypass: Vec<usize> =
                if policy.action == OnError::Bypass { tripped.iter().map(|t| t.2).collect() } else { Vec::new() };
            if policy.action == OnError::Skip && !tripped.is_empty() {
                report("skipped", None, Some(format!("{} (--on-error skip)", note("not run"))))
            } else {
                match process(chain, registry, item, options, &input_name, &bypass) {
                    Ok(steps) if bypass.is_empty() => {
                        // Record completion after the atomic rename, so a killed batch redoes at
                        // most the images in flight.
                        done_files
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .record(&folder, &format!("{print}\t{name}"));
                        steps_report("ok", None, &steps)
                    }
                    Ok(steps) => steps_report("ok", Some(format!("{} (--on-error bypass)", note("bypassed"))), &steps),
                    Err(f) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        if let Some((library, step)) = &f.plugin {
                            let mut pf = plugin_failures.lock().unwrap_or_else(|e| e.into_inner());
                            let entry = pf.entry(library.clone()).or_insert((0, *step));
                            entry.0 += 1;
                        }
                        report("failed", Some(f.stage), Some(f.message))
                    }
                }
            }
        };
        on_done(&r);
        reports.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    });
    let reports = reports.into_inner().unwrap_or_else(|e| e.into_inner());
    let files = done_files.into_inner().unwrap_or_else(|e| e.into_inner()).files;
    done_file_errors.extend(files.into_iter().filter_map(|(d, r)| r.err().map(|e| (d.join(DONE_FILE), e))));
    done_file_errors.sort();
    let count = |s: &str| reports.iter().filter(|r| r.status == s).count();
    BatchSummary {
        ok: count("ok"),
        failed: count("failed"),
        skipped: count("skipped"),
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        stopped_early: reports.iter().any(|r| r.message.as_deref() == Some("the batch stopped before this image")),
        done_file_errors,
    }
}

fn process(
    chain: &Chain,
    registry: &Arc<Registry>,
    item: &BatchItem,
    options: &BatchOptions,
    input_name: &str,
    bypass: &[usize],
) -> Result<Vec<StepReport>, Failure> {
    let _span = tracing::info_span!("image", path = %item.input.display()).entered();
    // Decode and write errors name their file already; plugin and deadline errors get the image.
    let failed = |e: RunError| {
        let plugin = match &e {
            RunError::Plugin { step, library, .. } => step_index(step).map(|i| (library.clone(), i)),
            _ => None,
        };
        match e {
            RunError::Image(ImageError::Write { .. }) => Failure::new(Stage::Write, e.to_string()),
            RunError::Image(_) => Failure::new(Stage::Decode, e.to_string()),
            e => Failure { stage: Stage::Plugin, message: format!("{}: {e}", item.input.display()), plugin },
        }
    };
    if let Some(dir) = item.output.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Failure::new(Stage::Write, format!("{}: {e}", dir.display())))?;
    }
    let mut chain = chain.clone();
    for &i in bypass {
        if let Some(s) = chain.steps.get_mut(i) {
            s.enabled = false;
        }
    }
    let mut job_options = options.job.clone();
    #[cfg(unix)]
    if let Some((_, job)) = &mut job_options.isolate {
        job.bypass = bypass.to_vec();
    }
    let job = Job {
        chain,
        inputs: vec![(input_name.to_string(), JobInput::File(item.input.clone()))],
        outputs: vec![JobOutput::File { path: item.output.clone(), format: options.format }],
        options: job_options,
    };
    crate::pipeline::run(job, registry).map(|r| r.steps).map_err(failed)
}

/// A rate for summaries: images per second.
pub fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_policies_parse_and_step_labels_give_indices() {
        assert_eq!("bypass:3".parse(), Ok(ErrorPolicy { action: OnError::Bypass, after: 3 }));
        assert_eq!("skip".parse(), Ok(ErrorPolicy { action: OnError::Skip, after: 1 }));
        assert!("skip:0".parse::<ErrorPolicy>().is_err());
        assert!("fallback".parse::<ErrorPolicy>().is_err());
        assert_eq!(step_index("#3"), Some(2));
        assert_eq!(step_index("#12 \"blur\""), Some(11));
        assert_eq!(step_index("-"), None);
    }
}
