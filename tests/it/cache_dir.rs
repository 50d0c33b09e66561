//! The disk tier of the result cache (`--cache-dir`): a later process reuses the steps it can,
//! damaged entries are never trusted, the budget holds, and processes can share the folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{fxchain, plugin_dir, random_rgba8, stderr};

/// Six steps that do not fuse with each other (fused point steps are cached as one result), the
/// last one's sigma given.
fn chain(last_sigma: f32) -> String {
    format!(
        r#"(steps: [
    (effect: "blur.gaussian", params: {{"sigma": 1.5}}),
    (effect: "blur.median", params: {{"radius": 1}}),
    (effect: "color.contrast", params: {{"amount": 1.2}}),
    (effect: "sharpen.unsharp", params: {{"sigma": 1.0, "amount": 0.8}}),
    (effect: "blur.box", params: {{"radius": 1}}),
    (effect: "blur.gaussian", params: {{"sigma": {last_sigma:?}}}),
])"#
    )
}

fn setup(images: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for i in 0..images {
        let px = random_rgba8(64, 48, i as u64 + 1, i % 2 == 0);
        image::RgbaImage::from_raw(64, 48, px).unwrap().save(d.join(format!("in/img{i:02}.png"))).unwrap();
    }
    std::fs::write(d.join("a.ron"), chain(2.0)).unwrap();
    std::fs::write(d.join("b.ron"), chain(3.0)).unwrap();
    dir
}

/// One batch record per image, sorted by input.
#[derive(Debug)]
struct Record {
    cached: Vec<String>,
    computed: Vec<String>,
}

fn batch_args<'a>(chain: &'a str, out: &'a str, report: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["batch", chain, "--input-dir", "in", "--output-dir", out, "--report", report];
    args.extend(extra);
    args
}

fn records(report: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(report).unwrap();
    let mut v: Vec<(String, Record)> = text
        .lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(j["status"], "ok", "{l}");
            let list = |k: &str| -> Vec<String> {
                j[k].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
            };
            (
                j["input"].as_str().unwrap().to_string(),
                Record { cached: list("cached_steps"), computed: list("computed_steps") },
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into_iter().map(|(_, r)| r).collect()
}

fn batch(d: &Path, chain: &str, out: &str, extra: &[&str]) -> Vec<Record> {
    let report = format!("{out}.jsonl");
    let o = fxchain(&batch_args(chain, out, &report, extra), &[plugin_dir()], d);
    assert!(o.status.success(), "batch {chain} {extra:?}: {}", stderr(&o));
    records(&d.join(report))
}

/// The output files of a folder, sorted by name: the hash of the file's bytes and of its pixels.
fn files(dir: &Path) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .map(|p| {
            let bytes = blake3::hash(&std::fs::read(&p).unwrap()).to_hex()[..16].to_string();
            let pixels = blake3::hash(&crate::support::read_png(&p).2).to_hex()[..16].to_string();
            (p.file_name().unwrap().to_string_lossy().to_string(), bytes, pixels)
        })
        .collect();
    v.sort();
    v
}

fn entries(cache: &Path) -> Vec<PathBuf> {
    let dir = cache.join("frames-v1");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "frame"))
        .collect();
    v.sort();
    v
}

fn folder_bytes(cache: &Path) -> u64 {
    std::fs::read_dir(cache.join("frames-v1")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum()
}

#[test]
fn a_rerun_with_the_last_step_changed_recomputes_only_that_step() {
    let dir = setup(4);
    let d = dir.path();
    let first = batch(d, "a.ron", "out-a", &["--cache-dir", "cache"]);
    assert_eq!(first.len(), 4);
    let labels = first[0].computed.clone();
    assert_eq!(labels.len(), 6, "{first:?}");
    for r in &first {
        assert!(r.cached.is_empty() && r.computed == labels, "a new cache folder served something: {r:?}");
    }
    assert_eq!(entries(&d.join("cache")).len(), 4 * 6);
    // A new process, the last step changed: the first five steps come from the folder.
    let second = batch(d, "b.ron", "out-b", &["--cache-dir", "cache"]);
    for r in &second {
        assert_eq!(r.computed, labels[5..], "{r:?}");
        assert_eq!(r.cached, labels[..5], "{r:?}");
    }
    // The same bytes as without the cache folder; and the change did change them.
    let plain = batch(d, "b.ron", "out-plain", &[]);
    assert!(plain.iter().all(|r| r.cached.is_empty() && r.computed == labels));
    assert_eq!(files(&d.join("out-b")), files(&d.join("out-plain")));
    assert_ne!(files(&d.join("out-a")), files(&d.join("out-plain")));
    // Once more: everything is cached, nothing computed.
    let third = batch(d, "b.ron", "out-b2", &["--cache-dir", "cache"]);
    assert!(third.iter().all(|r| r.computed.is_empty() && r.cached == labels), "{third:?}");
    assert_eq!(files(&d.join("out-b2")), files(&d.join("out-plain")));
}

#[test]
fn damaged_entries_are_ignored_removed_and_rewritten() {
    let dir = setup(3);
    let d = dir.path();
    batch(d, "a.ron", "out-plain", &[]);
    batch(d, "a.ron", "out-1", &["--cache-dir", "cache"]);
    let list = entries(&d.join("cache"));
    assert_eq!(list.len(), 3 * 6);
    // Damage every entry: a flipped pixel bit, a truncated file, a header of garbage.
    for (i, p) in list.iter().enumerate() {
        let mut bytes = std::fs::read(p).unwrap();
        match i % 3 {
            0 => {
                let at = bytes.len() - 100;
                bytes[at] ^= 0x10;
            }
            1 => bytes.truncate(bytes.len() / 2),
            _ => bytes[..16].copy_from_slice(b"garbage garbage "),
        }
        std::fs::write(p, bytes).unwrap();
    }
    let again = batch(d, "a.ron", "out-2", &["--cache-dir", "cache"]);
    assert!(again.iter().all(|r| r.cached.is_empty() && r.computed.len() == 6), "a damaged entry was used: {again:?}");
    assert_eq!(files(&d.join("out-2")), files(&d.join("out-plain")));
    // Replaced by good entries, which the next run uses.
    let third = batch(d, "a.ron", "out-3", &["--cache-dir", "cache"]);
    assert!(third.iter().all(|r| r.computed.is_empty() && r.cached.len() == 6), "{third:?}");
    assert_eq!(files(&d.join("out-3")), files(&d.join("out-plain")));
}

#[test]
fn the_budget_bounds_the_folder() {
    let dir = setup(4);
    let d = dir.path();
    // One 64×48 RGBA8 entry is 12 KiB and a little: room for four of the 24 results.
    let budget = 4 * (64 * 48 * 4 + 200);
    let b = budget.to_string();
    batch(d, "a.ron", "out-plain", &[]);
    batch(d, "a.ron", "out-1", &["--cache-dir", "cache", "--cache-budget", &b]);
    let size = folder_bytes(&d.join("cache"));
    let n = entries(&d.join("cache")).len();
    assert!(size <= budget as u64, "{size} bytes in a folder with a budget of {budget}");
    assert!((1..=4).contains(&n), "{n} entries");
    assert_eq!(files(&d.join("out-1")), files(&d.join("out-plain")));
    // A smaller budget given later shrinks the folder at once.
    batch(d, "a.ron", "out-2", &["--cache-dir", "cache", "--cache-budget", "20K"]);
    assert!(folder_bytes(&d.join("cache")) <= 20 << 10);
    assert_eq!(files(&d.join("out-2")), files(&d.join("out-plain")));
}

#[test]
fn two_processes_share_a_folder() {
    let dir = setup(16);
    let d = dir.path();
    batch(d, "a.ron", "out-plain", &[]);
    let spawn = |out: &str| {
        let report = format!("{out}.jsonl");
        Command::new(env!("CARGO_BIN_EXE_fxchain"))
            .args(["--no-default-plugins", "--plugin-dir", plugin_dir().to_str().unwrap()])
            .args(batch_args("a.ron", out, &report, &["--cache-dir", "cache", "--jobs", "2", "--cache-budget", "150K"]))
            .current_dir(d)
            .env_remove("FXCHAIN_PLUGIN_PATH")
            .env("XDG_CACHE_HOME", d.join(".cache"))
            .output()
            .unwrap()
    };
    // The same images at once, under a budget smaller than the results: both write, read and
    // evict in the same folder.
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| spawn("out-x"));
        let y = s.spawn(|| spawn("out-y"));
        (x.join().unwrap(), y.join().unwrap())
    });
    for o in [&x, &y] {
        assert!(o.status.success(), "{}", stderr(o));
    }
    assert_eq!(files(&d.join("out-x")), files(&d.join("out-plain")));
    assert_eq!(files(&d.join("out-y")), files(&d.join("out-plain")));
    assert!(folder_bytes(&d.join("cache")) <= 2 * (150 << 10));
    // What is left is intact: a third process only uses entries that check out.
    let third = batch(d, "a.ron", "out-z", &["--cache-dir", "cache", "--cache-budget", "150K"]);
    assert_eq!(third.len(), 16);
    assert_eq!(files(&d.join("out-z")), files(&d.join("out-plain")));
    let none_temp = std::fs::read_dir(d.join("cache/frames-v1"))
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".tmp"));
    assert!(none_temp, "temporary files left behind");
}

#[test]
fn a_run_with_a_cache_folder_renders_whole_frames_and_reuses_them() {
    let dir = setup(1);
    let d = dir.path();
    let run = |extra: &[&str], metrics: &str| -> serde_json::Value {
        let mut args = vec!["run", "a.ron", "-i", "in/img00.png", "-o", "out.png", "--metrics-json", metrics];
        args.extend(extra);
        let o = fxchain(&args, &[plugin_dir()], d);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&std::fs::read_to_string(d.join(metrics)).unwrap()).unwrap()
    };
    let hits = |m: &serde_json::Value| -> u64 {
        m["effects"].as_array().unwrap().iter().map(|e| e["cache_hits"].as_u64().unwrap()).sum()
    };
    let plain = run(&[], "m0.json");
    assert_eq!(plain["streamed"], true);
    // A streamed PNG is laid out differently (chunks, the record after the pixels): compare pixels.
    let pixels = || crate::support::read_png(&d.join("out.png"));
    let reference = pixels();
    let first = run(&["--cache-dir", "cache"], "m1.json");
    assert_eq!(first["streamed"], false, "a run with a cache folder streamed");
    assert_eq!(hits(&first), 0);
    assert!(pixels() == reference, "other pixels");
    let second = run(&["--cache-dir", "cache"], "m2.json");
    assert_eq!(hits(&second), 6);
    assert!(pixels() == reference, "other pixels");
    // The environment variable means the same as the flag.
    let o = Command::new(env!("CARGO_BIN_EXE_fxchain"))
        .args(["--no-default-plugins", "--plugin-dir", plugin_dir().to_str().unwrap()])
        .args(["run", "b.ron", "-i", "in/img00.png", "-o", "env.png"])
        .current_dir(d)
        .env_remove("FXCHAIN_PLUGIN_PATH")
        .env("XDG_CACHE_HOME", d.join(".cache"))
        .env("FXCHAIN_CACHE_DIR", d.join("env-cache"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(entries(&d.join("env-cache")).len(), 6);
}

#[test]
fn a_cache_folder_that_cannot_be_made_is_an_environment_error() {
    let dir = setup(1);
    let d = dir.path();
    std::fs::write(d.join("file"), b"not a folder").unwrap();
    let o = fxchain(
        &["run", "a.ron", "-i", "in/img00.png", "-o", "out.png", "--cache-dir", "file/sub"],
        &[plugin_dir()],
        d,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("--cache-dir file/sub: cannot use it as a cache folder"), "{}", stderr(&o));
    assert!(!d.join("out.png").exists());
    let o =
        fxchain(&["run", "a.ron", "-i", "in/img00.png", "-o", "out.png", "--cache-budget", "12X"], &[plugin_dir()], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown unit"), "{}", stderr(&o));
}
