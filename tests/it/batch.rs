//! Chains and batches through the CLI on real files: editing commands, the optimizer, branched
//! chains, batches with failures, resume after a kill, and shards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{fxchain, plugin_dir, read_png, root, stderr, stdout};

fn write_inputs(dir: &Path, n: usize, corrupt: &[usize]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    (0..n)
        .map(|i| {
            let sub = if i % 10 == 0 { "sub/" } else { "" };
            let p = dir.join(format!("{sub}img{i:03}.png"));
            if corrupt.contains(&i) {
                std::fs::write(&p, b"\x89PNG\r\n\x1a\n not really").unwrap();
            } else {
                let img = image::RgbaImage::from_fn(48, 32, |x, y| {
                    image::Rgba([(x * 5 + i as u32) as u8, (y * 7) as u8, (i * 3) as u8, 255])
                });
                img.save(&p).unwrap();
            }
            p
        })
        .collect()
}

fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    if !dir.exists() {
        return v;
    }
    fn walk(d: &Path, base: &Path, v: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, v);
            } else if p.extension().is_some_and(|x| x == "png") {
                v.push((p.strip_prefix(base).unwrap().display().to_string(), read_png(&p).2));
            }
        }
    }
    walk(dir, dir, &mut v);
    v.sort();
    v
}

const CHAIN: &str = r#"(steps: [
    (effect: "blur.gaussian", params: {"sigma": 1.0}),
    (effect: "color.contrast", params: {"amount": 1.3}),
])"#;

#[test]
fn a_batch_with_corrupt_inputs_reports_them_and_finishes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(&d.join("in"), 200, &[7, 50, 123]);
    std::fs::write(d.join("c.ron"), CHAIN).unwrap();
    let o = fxchain(
        &["batch", "c.ron", "--input-dir", "in", "--output-dir", "out", "--report", "r.jsonl"],
        &[plugin_dir()],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("197 ok, 3 failed, 0 skipped"), "{err}");
    assert!(err.contains("failed [decode]") && err.contains("img050.png"), "{err}");
    let report: Vec<serde_json::Value> =
        std::fs::read_to_string(d.join("r.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(report.len(), 200);
    let failed: Vec<&serde_json::Value> = report.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|r| r["stage"] == "decode"));
    let outs = outputs(&d.join("out"));
    assert_eq!(outs.len(), 197);
    assert!(outs.iter().any(|(p, _)| p.starts_with("sub/")), "subfolders are kept");
    // A second run skips every existing output unless --overwrite.
    let o = fxchain(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "out"], &[plugin_dir()], d);
    assert!(stderr(&o).contains("0 ok, 3 failed, 197 skipped"), "{}", stderr(&o));
    // Stop early after the first failure.
    let o = fxchain(
        &["batch", "c.ron", "--input-dir", "in", "--output-dir", "out2", "--fail-fast", "--jobs", "1"],
        &[plugin_dir()],
        d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("1 failed"), "{}", stderr(&o));
}

#[test]
fn a_killed_batch_resumes_to_the_same_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(&d.join("in"), 60, &[]);
    // Slow enough to be killed midway.
    std::fs::write(d.join("slow.ron"), r#"(steps: [(effect: "blur.median", params: {"radius": 6}), (effect: "blur.gaussian", params: {"sigma": 6.0})])"#).unwrap();
    let full = fxchain(&["batch", "slow.ron", "--input-dir", "in", "--output-dir", "full"], &[plugin_dir()], d);
    assert!(full.status.success(), "{}", stderr(&full));
    let mut child = Command::new(env!("CARGO_BIN_EXE_fxchain"))
        .args([
            "--no-default-plugins",
            "--plugin-dir",
            plugin_dir().to_str().unwrap(),
            "batch",
            "slow.ron",
            "--input-dir",
            "in",
            "--output-dir",
            "part",
            "--jobs",
            "1",
        ])
        .current_dir(d)
        .env("XDG_CACHE_HOME", d.join(".cache"))
        .spawn()
        .unwrap();
    let t = Instant::now();
    while outputs(&d.join("part")).len() < 5 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = outputs(&d.join("part")).len();
    assert!((5..60).contains(&partial), "killed after {partial} images");
    let o =
        fxchain(&["batch", "slow.ron", "--input-dir", "in", "--output-dir", "part", "--resume"], &[plugin_dir()], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let skipped: usize = err.split(" skipped").next().unwrap().rsplit(' ').next().unwrap().parse().unwrap();
    assert!(skipped >= partial.saturating_sub(1), "{err}");
    assert_eq!(outputs(&d.join("part")), outputs(&d.join("full")));
    // No temporary files are left behind.
    let tmp: Vec<_> = std::fs::read_dir(d.join("part"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

#[test]
fn shards_partition_the_inputs_with_no_overlap_and_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_inputs(&d.join("in"), 40, &[]);
    std::fs::write(d.join("c.ron"), CHAIN).unwrap();
    let all = fxchain(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "all"], &[plugin_dir()], d);
    assert!(all.status.success());
    let mut union = Vec::new();
    for i in 0..3 {
        let out = format!("shard{i}");
        let o = fxchain(
            &["batch", "c.ron", "--input-dir", "in", "--output-dir", &out, "--shard", &format!("{i}/3")],
            &[plugin_dir()],
            d,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let part = outputs(&d.join(&out));
        assert!(!part.is_empty());
        union.extend(part);
    }
    union.sort();
    assert_eq!(union, outputs(&d.join("all")));
    // The same partition from a cluster's array-job variables.
    let o = Command::new(env!("CARGO_BIN_EXE_fxchain"))
        .args([
            "--no-default-plugins",
            "--plugin-dir",
            plugin_dir().to_str().unwrap(),
            "batch",
            "c.ron",
            "--input-dir",
            "in",
            "--output-dir",
            "slurm1",
        ])
        .current_dir(d)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(outputs(&d.join("slurm1")), outputs(&d.join("shard1")));
}

#[test]
fn move_disable_and_fmt_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = "// Header comment.\n(\n    steps: [\n        // the base\n        (id: \"a\", effect: \"generate.solid\", params: {\"color\": \"#203040\"}),\n        (id: \"b\", effect: \"color.invert\"),\n        (id: \"c\", effect: \"color.brightness\", params: {\"amount\": 0.5}),\n    ],\n)\n";
    std::fs::write(d.join("c.ron"), original).unwrap();
    let run = |name: &str| -> Vec<u8> {
        let o = fxchain(&["run", "c.ron", "-o", name], &[plugin_dir()], d);
        assert!(o.status.success(), "{}", stderr(&o));
        read_png(&d.join(name)).2
    };
    let before = run("1.png");
    assert_eq!(fxchain(&["chain", "move", "c.ron", "3", "2"], &[plugin_dir()], d).status.code(), Some(0));
    let moved = std::fs::read_to_string(d.join("c.ron")).unwrap();
    assert!(moved.contains("// the base") && moved.starts_with("// Header comment."), "{moved}");
    assert!(moved.find("\"c\"").unwrap() < moved.find("\"b\"").unwrap(), "{moved}");
    let swapped = run("2.png");
    assert_ne!(before, swapped, "brightness before invert is a different image");
    assert_eq!(fxchain(&["chain", "move", "c.ron", "c", "3"], &[plugin_dir()], d).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(d.join("c.ron")).unwrap(), original, "moving back restores the file");
    // Disabling the invert passes its input through; enabling restores the original.
    assert!(fxchain(&["chain", "disable", "c.ron", "b"], &[plugin_dir()], d).status.success());
    let disabled = run("3.png");
    assert_eq!(&disabled[..3], &[0x10, 0x18, 0x20]);
    assert!(fxchain(&["chain", "enable", "c.ron", "b"], &[plugin_dir()], d).status.success());
    assert_eq!(run("4.png"), before);
    // fmt is canonical and idempotent, and keeps the meaning.
    assert!(fxchain(&["chain", "fmt", "c.ron"], &[plugin_dir()], d).status.success());
    let once = std::fs::read_to_string(d.join("c.ron")).unwrap();
    assert!(once.starts_with("// Header comment.\n("), "{once}");
    assert!(fxchain(&["chain", "fmt", "c.ron", "--check"], &[plugin_dir()], d).status.success());
    assert_eq!(run("5.png"), before);
    // An edit that cannot be made is refused and leaves the file alone.
    let o = fxchain(&["chain", "move", "c.ron", "1", "9"], &[plugin_dir()], d);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(d.join("c.ron")).unwrap(), once);
}

#[test]
fn explain_shows_variants_fusion_sizes_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let chain = root().join("examples/chains/photo.ron");
    let o = fxchain(
        &["chain", "explain", chain.to_str().unwrap(), "--size", "640x480", "--quality", "fast"],
        &[plugin_dir()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("geometry.resize.fast") && text.contains("320x240") && text.contains("fused with next"),
        "{text}"
    );
    let json = fxchain(&["chain", "explain", chain.to_str().unwrap(), "--json"], &[plugin_dir()], dir.path());
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let rows = &doc["steps"];
    assert_eq!(rows[0]["size"], serde_json::json!([320, 240]));
    assert_eq!(rows[1]["fused_with_next"], true);
    assert_eq!(rows[3]["level"], 3);
}

#[test]
fn the_optimizer_moves_a_downscale_first_and_matches_within_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let written = r#"(steps: [
        (effect: "color.brightness", params: {"amount": 1.1}),
        (effect: "color.contrast", params: {"amount": 1.2}),
        (effect: "geometry.resize", params: {"scale": 0.5}),
        (effect: "sharpen.unsharp"),
    ])"#;
    std::fs::write(d.join("plain.ron"), written).unwrap();
    std::fs::write(d.join("opt.ron"), written.replacen("(steps:", "(optimize: true, steps:", 1)).unwrap();
    let sample = root().join("examples/images/sample.png");
    let ex = fxchain(&["chain", "explain", "opt.ron", "-i", sample.to_str().unwrap()], &[plugin_dir()], d);
    let text = stdout(&ex);
    let first = text.lines().nth(2).unwrap();
    assert!(first.contains("geometry.resize"), "{text}");
    for name in ["plain", "opt"] {
        let o = fxchain(
            &["run", &format!("{name}.ron"), "-i", sample.to_str().unwrap(), "-o", &format!("{name}.png")],
            &[plugin_dir()],
            d,
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (a, b) = (read_png(&d.join("plain.png")).2, read_png(&d.join("opt.png")).2);
    assert_eq!(a.len(), b.len());
    let mse = a.iter().zip(&b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    let psnr = 10.0 * (255.0f64.powi(2) / mse.max(1e-12)).log10();
    assert!(psnr > 35.0, "optimized order differs: {psnr:.1} dB");
    assert_ne!(a, b, "the order really changed");
}

#[test]
fn a_branched_chain_with_named_inputs_and_several_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("b.ron"),
        r#"(inputs: ["photo", "paper"], steps: [
            (id: "small", effect: "geometry.resize", input: "photo", params: {"width": 64, "height": 48}),
            (id: "tex", effect: "geometry.resize", input: "paper", params: {"width": 64, "height": 48}),
            (id: "mix", effect: "composite.blend", inputs: ["small", "tex"], params: {"mode": "multiply"}),
            (id: "edges", effect: "edges.sobel", input: "small"),
        ], outputs: ["mix", "edges"])"#,
    )
    .unwrap();
    let sample = root().join("examples/images/sample.png");
    let s = sample.to_str().unwrap();
    let o = fxchain(
        &["run", "b.ron", "-i", &format!("photo={s}"), "-i", &format!("paper={s}"), "-o", "outs/"],
        &[plugin_dir()],
        d,
    );
    assert!(o.status.code() == Some(3) || o.status.success(), "{}", stderr(&o));
    std::fs::create_dir_all(d.join("outs")).unwrap();
    let o = fxchain(
        &["run", "b.ron", "-i", &format!("photo={s}"), "-i", &format!("paper={s}"), "-o", "outs/"],
        &[plugin_dir()],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, mix) = read_png(&d.join("outs/mix.png"));
    assert_eq!((w, h), (64, 48));
    let (_, _, edges) = read_png(&d.join("outs/edges.png"));
    assert_ne!(mix, edges);
    // Multiplying an image by itself darkens it.
    let (_, _, small) = {
        let o = fxchain(
            &["run", "b.ron", "-i", &format!("photo={s}"), "-i", &format!("paper={s}"), "-o", "m.png", "-o", "e.png"],
            &[plugin_dir()],
            d,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        read_png(&d.join("m.png"))
    };
    assert_eq!(small, mix);
    let missing = fxchain(&["run", "b.ron", "-i", &format!("photo={s}"), "-o", "outs/"], &[plugin_dir()], d);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("missing input `paper`"), "{}", stderr(&missing));
}
