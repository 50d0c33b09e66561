//! `fxchain batch`: one chain over a folder, a list of files or a glob.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Args;
use fxchain_host::batch::{self, BatchItem, BatchOptions, ItemReport};
use fxchain_host::io::OutputFormat;
use fxchain_host::RenderOptions;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    /// Output format.
    #[arg(long, default_value = "png", value_parser = ["png", "jpeg", "jpg", "webp", "tiff"])]
    format: String,
    /// JPEG quality 1..=100.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u8).range(1..=100))]
    jpeg_quality: u8,
    /// Output file name: {stem} (input name without extension), {ext} (output extension),
    /// {index} (position in the sorted input list).
    #[arg(long, default_value = "{stem}.{ext}")]
    name: String,
    /// Images processed at once (default: the number of cores; bands share the same threads).
    #[arg(long)]
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
    /// Write one JSON record per image to FILE.
    #[arg(long, value_name = "FILE.jsonl")]
    report: Option<PathBuf>,
    /// Process shard I of N (0-based): a stable hash partition of the inputs. Also read from
    /// SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX/FXCHAIN_SHARD_COUNT.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Override a parameter: STEP.PARAM=VALUE.
    #[arg(long = "set", value_name = "STEP.PARAM=VALUE")]
    sets: Vec<String>,
    /// Quality profile: fast, balanced or quality.
    #[arg(long)]
    quality: Option<String>,
    /// Print the buffer pool's counters at the end.
    #[arg(long)]
    pool_stats: bool,
    /// Result cache budget in MiB (reuses steps that do not depend on the image, such as
    /// generators).
    #[arg(long, env = "FXCHAIN_CACHE_MB", default_value_t = 64)]
    cache_mb: u64,
}

const EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "tif", "tiff"];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
    Ok(())
}

fn parse_shard(arg: Option<&str>) -> Result<Option<(usize, usize)>, String> {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
    let pair = match arg {
        Some(s) => {
            let (i, n) = s.split_once('/').ok_or_else(|| format!("--shard {s}: expected I/N"))?;
            let (i, n) = (
                i.parse::<usize>().map_err(|e| format!("--shard {s}: {e}"))?,
                n.parse::<usize>().map_err(|e| format!("--shard {s}: {e}"))?,
            );
            Some((i, n))
        }
        None => match (env("SLURM_ARRAY_TASK_ID"), env("SLURM_ARRAY_TASK_COUNT")) {
            (Some(i), Some(n)) => Some((i, n)),
            _ => match (env("JOB_COMPLETION_INDEX"), env("FXCHAIN_SHARD_COUNT")) {
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

/// Runs the command.
pub fn run(g: &Global, args: BatchArgs) -> i32 {
    let started = Instant::now();
    let overrides = match super::parse_overrides(&args.sets) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let quality = match super::parse_quality(args.quality.as_deref()) {
        Ok(q) => q,
        Err(code) => return code,
    };
    let shard = match parse_shard(args.shard.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let format = match args.format.as_str() {
        "jpeg" | "jpg" => OutputFormat::Jpeg(args.jpeg_quality),
        "webp" => OutputFormat::Webp,
        "tiff" => OutputFormat::Tiff,
        _ => OutputFormat::Png,
    };
    // Inputs: (file, path relative to its root).
    let mut files: Vec<(PathBuf, PathBuf)> = Vec::new();
    if let Some(dir) = &args.input_dir {
        let mut found = Vec::new();
        if let Err(e) = walk(dir, &mut found) {
            eprintln!("error: {}: {e}", dir.display());
            return exit::USAGE;
        }
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
            eprintln!("error: {pattern}: no such file");
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
    if let Err(e) = std::fs::create_dir_all(&args.output_dir).and_then(|_| {
        let probe = args.output_dir.join(".fxchain-write-test");
        std::fs::write(&probe, b"")?;
        std::fs::remove_file(probe)
    }) {
        eprintln!("error: output folder {} is not writable: {e}", args.output_dir.display());
        return exit::ENV;
    }

    let registry = Arc::new(g.registry());
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
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                // A second Ctrl-C: give up at once.
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing the images in flight (Ctrl-C again to quit now)");
        });
    }
    let bar = ProgressBar::new(items.len() as u64);
    if g.quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report_file: Option<Mutex<std::io::BufWriter<std::fs::File>>> = match &args.report {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Some(Mutex::new(std::io::BufWriter::new(f))),
            Err(e) => {
                eprintln!("error: {}: cannot write the report: {e}", p.display());
                return exit::ENV;
            }
        },
        None => None,
    };
    let options = BatchOptions {
        format,
        overwrite: args.overwrite,
        resume: args.resume,
        fail_fast: args.fail_fast,
        max_failures: args.max_failures,
        limits: g.limits(),
        render: RenderOptions {
            quality,
            band_rows: g.band_rows,
            deadline: g.deadline(),
            cache: (args.cache_mb > 0).then(|| fxchain_host::cache::ResultCache::new(args.cache_mb << 20, None)),
            ..Default::default()
        },
    };
    let quiet = g.quiet;
    let on_done = |r: &ItemReport| {
        bar.inc(1);
        if r.status == "failed" && !quiet {
            let stage = r.stage.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default();
            bar.suspend(|| eprintln!("failed [{stage}] {}", r.message.as_deref().unwrap_or("")));
        }
        if let Some(f) = &report_file {
            let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(f, "{}", serde_json::to_string(r).expect("json"));
        }
    };
    let jobs = args.jobs.unwrap_or_else(rayon::current_num_threads).max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().expect("thread pool");
    let summary = pool.install(|| batch::run_batch(&chain, &registry, &items, &options, &stop, &on_done));
    bar.finish_and_clear();
    if let Some(f) = &report_file {
        let _ = f.lock().unwrap_or_else(|e| e.into_inner()).flush();
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
        return 130;
    }
    if summary.failed > 0 || summary.stopped_early {
        exit::FAILED
    } else {
        exit::OK
    }
}
