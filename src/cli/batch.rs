//! `fxchain batch`: one chain over a folder, a list of files or a glob.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Args;
use fxchain_host::batch::{self, BatchItem, BatchOptions, ItemReport};
use fxchain_host::io::OutputFormat;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::job::RenderArgs;
use super::{exit, Global};

/// Arguments of `fxchain batch`.
#[derive(Args, Debug)]
pub struct BatchArgs {
    /// The chain file.
    chain: PathBuf,
    /// Input files or glob patterns (quote globs: "photos/**/*.jpg").
    inputs: Vec<String>,
    /// Folder of inputs, searched recursively for png, jpeg, webp and tiff files.
    #[arg(long)]
    input_dir: Option<PathBuf>,
    /// Folder for the outputs; subfolders of --input-dir are kept.
    #[arg(long)]
    output_dir: PathBuf,
    /// Output format (--format, default png) and encoder settings.
    #[command(flatten)]
    io: super::io_args::IoArgs,
    /// Output file name: {stem} (input name without extension), {ext} (output extension),
    /// {index} (position in the sorted input list).
    #[arg(long, default_value = "{stem}.{ext}")]
    name: String,
    /// Images processed at once (default: the number of cores; bands share the same threads;
    /// at most 8 per core).
    #[arg(long, value_parser = super::parse_workers)]
    jobs: Option<usize>,
    /// Replace existing outputs.
    #[arg(long)]
    overwrite: bool,
    /// Skip images already written by an earlier run with the same chain and plugin versions.
    #[arg(long)]
    resume: bool,
    /// Stop at the first failed image.
    #[arg(long)]
    fail_fast: bool,
    /// Stop after N failed images.
    #[arg(long, value_name = "N")]
    max_failures: Option<usize>,
    /// What to do about a plugin that keeps failing: fail (every image it fails fails; the
    /// default), skip (skip the remaining images) or bypass (render them without the failing
    /// step), after N failed images (default 1): `bypass:3`.
    #[arg(long, value_name = "ACTION[:N]", default_value = "fail")]
    on_error: batch::ErrorPolicy,
    /// Write one JSON record per image to FILE.
    #[arg(long, value_name = "FILE.jsonl")]
    report: Option<PathBuf>,
    /// Process shard I of N (0-based): a stable hash partition of the inputs. Also read from a
    /// Slurm array job (SLURM_ARRAY_TASK_ID mapped through SLURM_ARRAY_TASK_MIN/MAX/STEP, so
    /// `--array=1-3` gives shards 0, 1, 2) or a Kubernetes Indexed Job
    /// (JOB_COMPLETION_INDEX/FXCHAIN_SHARD_COUNT).
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    #[command(flatten)]
    render: RenderArgs,
    /// Print the buffer pool's counters at the end.
    #[arg(long)]
    pool_stats: bool,
    /// Result cache budget in MiB (reuses steps that do not depend on the image, such as
    /// generators).
    #[arg(long, env = "FXCHAIN_CACHE_MB", default_value_t = 64)]
    cache_mb: u64,
    #[command(flatten)]
    meta: super::replay::MetaArgs,
}

const EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "tif", "tiff"];

/// The images under `dir`, sorted, following symbolic links but entering each folder once (a
/// link back up is not walked again, a loop is skipped with a warning) and never entering
/// `exclude` (the output folder, when it lies inside `dir`).
fn walk(dir: &Path, exclude: Option<&Path>, quiet: bool) -> Result<Vec<PathBuf>, String> {
    let exclude = exclude.and_then(|e| e.canonicalize().ok());
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name().into_iter().filter_entry(|e| {
        if !e.file_type().is_dir() {
            return true;
        }
        let Ok(real) = e.path().canonicalize() else { return true };
        exclude.as_ref() != Some(&real) && seen.insert(real)
    });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.loop_ancestor().is_some() => {
                if !quiet {
                    let at = e.path().map(|p| p.display().to_string()).unwrap_or_default();
                    eprintln!("warning: {at}: a symbolic link loop; not followed");
                }
                continue;
            }
            Err(e) if e.depth() == 0 => return Err(e.to_string()),
            Err(e) => {
                if !quiet {
                    eprintln!("warning: {e}; skipped");
                }
                continue;
            }
        };
        let p = entry.path();
        if entry.file_type().is_file()
            && p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p.to_path_buf());
        }
    }
    Ok(out)
}

/// Reads a shard from `arg`, else from a Slurm array job, else from a Kubernetes Indexed Job.
fn parse_shard(arg: Option<&str>) -> Result<Option<(usize, usize)>, String> {
    parse_shard_from(arg, &|k| std::env::var(k).ok())
}

fn parse_shard_from(arg: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<(usize, usize)>, String> {
    let num = |k: &str| -> Result<Option<usize>, String> {
        env(k).map(|v| v.trim().parse::<usize>().map_err(|_| format!("{k}={v}: expected a whole number"))).transpose()
    };
    let pair = match arg {
        Some(s) => {
            let (i, n) = s.split_once('/').ok_or_else(|| format!("--shard {s}: expected I/N"))?;
            let (i, n) = (
                i.parse::<usize>().map_err(|e| format!("--shard {s}: {e}"))?,
                n.parse::<usize>().map_err(|e| format!("--shard {s}: {e}"))?,
            );
            Some((i, n))
        }
        None => match (num("SLURM_ARRAY_TASK_ID")?, num("SLURM_ARRAY_TASK_COUNT")?) {
            (Some(id), Some(count)) => Some(slurm_shard(
                id,
                count,
                num("SLURM_ARRAY_TASK_MIN")?,
                num("SLURM_ARRAY_TASK_MAX")?,
                num("SLURM_ARRAY_TASK_STEP")?,
            )?),
            _ => match (num("JOB_COMPLETION_INDEX")?, num("FXCHAIN_SHARD_COUNT")?) {
                (Some(i), Some(n)) => Some((i, n)),
                _ => None,
            },
        },
    };
    match pair {
        Some((_, 0)) => Err("shard count must be at least 1".into()),
        Some((i, n)) if i >= n => Err(format!("shard {i} is not below the shard count {n}")),
        p => Ok(p),
    }
}

/// Slurm array task ids are whatever `--array` lists (`1-3`, `0-20:5`): the shard is the task's
/// position, `(ID - MIN) / STEP`. Uneven lists (`--array=1,4,9`) cannot be mapped and are refused.
fn slurm_shard(
    id: usize,
    count: usize,
    min: Option<usize>,
    max: Option<usize>,
    step: Option<usize>,
) -> Result<(usize, usize), String> {
    let min = min.unwrap_or(0);
    let step = step.unwrap_or(1).max(1);
    let uneven = || {
        format!(
            "the Slurm array (task {id}, min {min}, step {step}, count {count}) is not evenly spaced; \
             use --array=A-B[:S] or give --shard I/N"
        )
    };
    if id < min || !(id - min).is_multiple_of(step) {
        return Err(uneven());
    }
    if let Some(max) = max {
        if max < min || (max - min) / step + 1 != count {
            return Err(uneven());
        }
    }
    Ok(((id - min) / step, count))
}

/// Runs the command.
pub fn run(g: &Global, args: BatchArgs) -> i32 {
    let started = Instant::now();
    let (overrides, mut job_options) = match args.render.job_options(g) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let shard = match parse_shard(args.shard.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let format = args.io.format_flag().unwrap_or(OutputFormat::Png);
    // Inputs: (file, path relative to its root).
    let mut files: Vec<(PathBuf, PathBuf)> = Vec::new();
    if let Some(dir) = &args.input_dir {
        let found = match walk(dir, Some(&args.output_dir), g.quiet) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                return exit::USAGE;
            }
        };
        files.extend(found.into_iter().map(|f| (f.clone(), f.strip_prefix(dir).unwrap_or(&f).to_path_buf())));
    }
    for pattern in &args.inputs {
        let matches: Vec<PathBuf> = match glob::glob(pattern) {
            Ok(paths) => paths.flatten().filter(|p| p.is_file()).collect(),
            Err(e) => {
                eprintln!("error: {pattern}: {e}");
                return exit::USAGE;
            }
        };
        if matches.is_empty() {
            match std::fs::metadata(pattern) {
                Ok(m) if !m.is_file() => eprintln!("error: {pattern}: not a regular file"),
                _ => eprintln!("error: {pattern}: no such file"),
            }
            return exit::USAGE;
        }
        files.extend(matches.into_iter().map(|f| (f.clone(), PathBuf::from(f.file_name().unwrap_or_default()))));
    }
    if files.is_empty() {
        eprintln!("error: no input images (give files, globs or --input-dir)");
        return exit::USAGE;
    }
    files.sort();
    files.dedup();
    let mut items: Vec<BatchItem> = Vec::new();
    for (index, (input, rel)) in files.iter().enumerate() {
        let stem = rel.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let name = args
            .name
            .replace("{stem}", &stem)
            .replace("{ext}", format.extension())
            .replace("{index}", &format!("{index:05}"));
        let output = args.output_dir.join(rel.parent().unwrap_or(Path::new(""))).join(name);
        let relative = rel.to_string_lossy().replace('\\', "/");
        if let Ok(a) = input.canonicalize() {
            if output.canonicalize().is_ok_and(|b| a == b) {
                eprintln!("error: {} would overwrite its own input", output.display());
                return exit::USAGE;
            }
        }
        items.push(BatchItem { input: input.clone(), output, relative });
    }
    let total = items.len();
    if let Some((i, n)) = shard {
        items.retain(|it| batch::shard_of(&it.relative, n) == i);
    }
    let outputs: std::collections::HashSet<&PathBuf> = items.iter().map(|i| &i.output).collect();
    if outputs.len() != items.len() {
        eprintln!("error: several inputs map to the same output name; use --name with {{index}}");
        return exit::USAGE;
    }
    if let Err(e) = fxchain_host::outdir::check_folder(&args.output_dir, true) {
        eprintln!("error: --output-dir: {e}");
        return exit::ENV;
    }

    let registry = match g.registry_with_effects() {
        Ok(r) => Arc::new(r),
        Err(code) => return code,
    };
    let chain = match super::load_chain(&args.chain, &registry, &overrides) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if chain.inputs.len() > 1 {
        eprintln!("error: batches run chains with one input image; this chain reads {}", chain.inputs.join(", "));
        return exit::USAGE;
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // Ctrl-C, SIGTERM (a scheduler's stop, `kill`) and SIGHUP all stop the batch cleanly.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                // A second signal: give up at once.
                super::plugin_exit::exit_now(exit::INTERRUPTED);
            }
            eprintln!("\ninterrupted: finishing the images in flight (Ctrl-C again to quit now)");
        });
    }
    let bar = ProgressBar::new(items.len() as u64);
    if g.quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {rate} eta {eta} {msg}")
            .map(|s| {
                s.with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", super::report::rate(state.per_sec()));
                })
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // One line per image, each written out whole at once, so the records of finished images
    // survive whatever ends the process.
    let report_file: Option<Mutex<std::io::LineWriter<std::fs::File>>> = match &args.report {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Some(Mutex::new(std::io::LineWriter::new(f))),
            Err(e) => {
                eprintln!("error: {}: cannot write the report: {e}", p.display());
                return exit::ENV;
            }
        },
        None => None,
    };
    let jobs = args.jobs.unwrap_or_else(rayon::current_num_threads);
    let workers = match g.workers(&registry, &chain, rayon::current_num_threads() / jobs) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ENV;
        }
    };
    job_options.isolate = workers.map(|w| (w, args.render.isolate_job(g, &chain)));
    args.meta.apply(&mut job_options, &args.render, &overrides, None);
    args.io.apply(&mut job_options);
    job_options.render.cache =
        (args.cache_mb > 0).then(|| fxchain_host::cache::ResultCache::new(super::mib(args.cache_mb), None));
    let options = BatchOptions {
        on_error: args.on_error,
        format,
        overwrite: args.overwrite,
        resume: args.resume,
        fail_fast: args.fail_fast,
        max_failures: args.max_failures,
        job: job_options,
    };
    let quiet = g.quiet;
    let report_error: Mutex<Option<std::io::Error>> = Mutex::new(None);
    let on_done = |r: &ItemReport| {
        bar.inc(1);
        if r.status == "failed" && !quiet {
            let stage = r.stage.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default();
            bar.suspend(|| eprintln!("failed [{stage}] {}", r.message.as_deref().unwrap_or("")));
        }
        if let Some(f) = &report_file {
            let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
            let line = serde_json::to_string(r).unwrap_or_default();
            if let Err(e) = writeln!(f, "{line}") {
                report_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
            }
        }
    };
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start {jobs} worker threads: {e}");
            return exit::ENV;
        }
    };
    let summary = {
        let _rendering = super::plugin_exit::Rendering::begin();
        pool.install(|| batch::run_batch(&chain, &registry, &items, &options, &stop, &on_done))
    };
    bar.finish_and_clear();
    if let Some(f) = &report_file {
        if let Err(e) = f.lock().unwrap_or_else(|e| e.into_inner()).flush() {
            report_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
        }
    }
    let report_error = report_error.into_inner().unwrap_or_else(|e| e.into_inner());
    if let (Some(e), Some(p)) = (&report_error, &args.report) {
        eprintln!("error: {}: cannot write the report: {e}; its records are incomplete", p.display());
    }
    for (file, e) in &summary.done_file_errors {
        eprintln!(
            "warning: {}: {e}; the images finished there are not recorded, and --resume will render them again",
            file.display()
        );
    }
    let elapsed = started.elapsed();
    if !g.quiet {
        let shard_note =
            shard.map(|(i, n)| format!(" (shard {i}/{n}: {} of {total} inputs)", items.len())).unwrap_or_default();
        eprintln!(
            "{} ok, {} failed, {} skipped in {:.1} s, {:.1} images/s{shard_note}",
            summary.ok,
            summary.failed,
            summary.skipped,
            elapsed.as_secs_f64(),
            batch::rate(summary.ok, elapsed)
        );
    }
    if args.pool_stats {
        // The cache holds frames on purpose; drop it so the counters show what leaked.
        drop(options);
        let p = fxchain_host::pool::BufferPool::global().stats();
        eprintln!(
            "buffer pool: {} reused, {} allocated, peak {} bytes, {} bytes in use at the end",
            p.hits,
            p.misses,
            p.peak_bytes,
            p.bytes - p.pooled_bytes
        );
    }
    if stop.load(Ordering::SeqCst) {
        return exit::INTERRUPTED;
    }
    if summary.failed > 0 || summary.stopped_early || report_error.is_some() {
        exit::FAILED
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(arg: Option<&str>, vars: &[(&str, &str)]) -> Result<Option<(usize, usize)>, String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse_shard_from(arg, &|k| vars.get(k).cloned())
    }

    use std::collections::HashMap;

    fn slurm(id: usize, min: usize, max: usize, step: usize, count: usize) -> Result<Option<(usize, usize)>, String> {
        let (id, min, max, step, count) =
            (id.to_string(), min.to_string(), max.to_string(), step.to_string(), count.to_string());
        shard(
            None,
            &[
                ("SLURM_ARRAY_TASK_ID", &id),
                ("SLURM_ARRAY_TASK_MIN", &min),
                ("SLURM_ARRAY_TASK_MAX", &max),
                ("SLURM_ARRAY_TASK_STEP", &step),
                ("SLURM_ARRAY_TASK_COUNT", &count),
            ],
        )
    }

    #[test]
    fn slurm_array_ids_map_to_every_shard_once() {
        // --array=1-3: tasks 1, 2, 3 are shards 0, 1, 2 of 3.
        let got: Vec<_> = (1..=3).map(|id| slurm(id, 1, 3, 1, 3).unwrap().unwrap()).collect();
        assert_eq!(got, [(0, 3), (1, 3), (2, 3)]);
        // --array=0-20:5: tasks 0, 5, ..., 20 are shards 0..5 of 5.
        let got: Vec<_> = (0..=20).step_by(5).map(|id| slurm(id, 0, 20, 5, 5).unwrap().unwrap().0).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        // --array=1,4,9 is not evenly spaced: refused rather than losing images.
        assert!(slurm(4, 1, 9, 1, 3).unwrap_err().contains("not evenly spaced"));
        // Kubernetes Indexed Jobs are 0-based already; --shard wins over the environment.
        assert_eq!(shard(None, &[("JOB_COMPLETION_INDEX", "2"), ("FXCHAIN_SHARD_COUNT", "3")]), Ok(Some((2, 3))));
        assert_eq!(
            shard(Some("1/4"), &[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "3")]),
            Ok(Some((1, 4)))
        );
        assert!(shard(None, &[("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "3")]).is_err());
        assert_eq!(shard(None, &[]), Ok(None));
    }
}
