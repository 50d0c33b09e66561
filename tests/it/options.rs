//! Every rendering option means the same in every command: `run`, `batch`, `watch` and `bench`
//! are given the same flag and must render the same pixels (or fail the same way).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{fxchain, plugin_dir, random_rgba8, read_png, stderr, stdout};

/// A rendering command under test.
#[derive(Copy, Clone, Debug)]
enum Cmd {
    Run,
    Batch,
    Watch,
    Bench,
}

const ALL: [Cmd; 4] = [Cmd::Run, Cmd::Batch, Cmd::Watch, Cmd::Bench];

/// What a command produced: the hash of its output's RGBA8 pixels, or its error text.
#[derive(Debug, PartialEq)]
enum Outcome {
    Pixels(String),
    Failed(String),
}

fn hash_png(path: &Path) -> String {
    let (_, _, px) = read_png(path);
    blake3::hash(&px).to_hex().to_string()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let px = random_rgba8(96, 64, 7, true);
    image::RgbaImage::from_raw(96, 64, px).unwrap().save(dir.path().join("in.png")).unwrap();
    dir
}

/// Runs `cmd` on `chain` (a file in `dir`) over `in.png` with `flags`.
fn outcome(cmd: Cmd, dir: &Path, chain: &str, flags: &[&str]) -> Outcome {
    let out_dir = dir.join(format!("out-{cmd:?}-{}", blake3::hash(format!("{chain}{flags:?}").as_bytes()).to_hex()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let plugins = [plugin_dir()];
    match cmd {
        Cmd::Run => {
            let out = out_dir.join("out.png");
            let mut args = vec!["run", chain, "-i", "in.png", "-o", out.to_str().unwrap()];
            args.extend(flags);
            let o = fxchain(&args, &plugins, dir);
            if o.status.success() {
                Outcome::Pixels(hash_png(&out))
            } else {
                Outcome::Failed(stderr(&o))
            }
        }
        Cmd::Batch => {
            let mut args = vec!["batch", chain, "in.png", "--output-dir", out_dir.to_str().unwrap()];
            args.extend(flags);
            let o = fxchain(&args, &plugins, dir);
            if o.status.success() {
                Outcome::Pixels(hash_png(&out_dir.join("in.png")))
            } else {
                Outcome::Failed(stderr(&o))
            }
        }
        Cmd::Bench => {
            let mut args = vec!["bench", chain, "--input", "in.png", "--iterations", "1", "--json"];
            args.extend(flags);
            let o = fxchain(&args, &plugins, dir);
            if !o.status.success() {
                return Outcome::Failed(stderr(&o));
            }
            let v: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
            Outcome::Pixels(v["output_blake3"].as_str().unwrap().to_string())
        }
        Cmd::Watch => {
            let out = out_dir.join("out.png");
            let log = out_dir.join("watch.log");
            let mut child = Command::new(env!("CARGO_BIN_EXE_fxchain"))
                .args(["--no-default-plugins", "--plugin-dir", plugin_dir().to_str().unwrap()])
                .args(["watch", chain, "-i", "in.png", "-o", out.to_str().unwrap()])
                .args(flags)
                .current_dir(dir)
                .env_remove("FXCHAIN_PLUGIN_PATH")
                .env("XDG_CACHE_HOME", dir.join(".cache"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let t = Instant::now();
            let result = loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.lines().any(|l| l.starts_with("rendered ")) && out.exists() {
                    break Outcome::Pixels(hash_png(&out));
                }
                if text.contains("error") {
                    // Let the message finish.
                    std::thread::sleep(Duration::from_millis(100));
                    break Outcome::Failed(std::fs::read_to_string(&log).unwrap_or_default());
                }
                if let Some(status) = child.try_wait().unwrap() {
                    break Outcome::Failed(format!("exited with {status}: {text}"));
                }
                assert!(t.elapsed() < Duration::from_secs(60), "watch did not render: {text}");
                std::thread::sleep(Duration::from_millis(20));
            };
            let _ = child.kill();
            let _ = child.wait();
            result
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The pixels `run` renders for `chain` with no flag.
fn reference(dir: &Path, chain: &str) -> String {
    match outcome(Cmd::Run, dir, chain, &[]) {
        Outcome::Pixels(h) => h,
        Outcome::Failed(e) => panic!("{chain}: {e}"),
    }
}

#[test]
fn set_quality_and_optimize_render_the_same_pixels_in_every_command() {
    let dir = setup();
    let d = dir.path();
    write(
        d,
        "points.ron",
        r#"(steps: [(effect: "color.brightness", params: {"amount": 1.1}), (effect: "color.contrast", params: {"amount": 1.2})])"#,
    );
    write(
        d,
        "points-set.ron",
        r#"(steps: [(effect: "color.brightness", params: {"amount": 1.1}), (effect: "color.contrast", params: {"amount": 1.45})])"#,
    );
    write(d, "blur.ron", r#"(steps: [(effect: "blur.gaussian", params: {"sigma": 6.0})])"#);
    write(d, "blur-fast.ron", r#"(quality: Fast, steps: [(effect: "blur.gaussian", params: {"sigma": 6.0})])"#);
    let written = r#"(optimize: true, steps: [
        (effect: "color.gamma", params: {"gamma": 1.3}),
        (effect: "color.contrast", params: {"amount": 1.3}),
        (effect: "geometry.resize", params: {"width": 48, "height": 32}),
    ])"#;
    write(d, "opt.ron", written);
    write(d, "opt-written.ron", &written.replace("optimize: true", "optimize: false"));
    write(
        d,
        "opt-moved.ron",
        r#"(steps: [
        (effect: "geometry.resize", params: {"width": 48, "height": 32}),
        (effect: "color.gamma", params: {"gamma": 1.3}),
        (effect: "color.contrast", params: {"amount": 1.3}),
    ])"#,
    );
    // (chain, flags, the chain that renders the expected pixels, a chain whose pixels differ)
    let cases: [(&str, &[&str], &str, &str); 4] = [
        ("points.ron", &["--set", "2.amount=1.45"], "points-set.ron", "points.ron"),
        ("blur.ron", &["--quality", "fast"], "blur-fast.ron", "blur.ron"),
        ("opt.ron", &[], "opt-moved.ron", "opt-written.ron"),
        ("opt.ron", &["--no-optimize"], "opt-written.ron", "opt-moved.ron"),
    ];
    for (chain, flags, expected, other) in cases {
        let want = reference(d, expected);
        assert_ne!(want, reference(d, other), "{chain} {flags:?}: the option must change the pixels");
        for cmd in ALL {
            assert_eq!(outcome(cmd, d, chain, flags), Outcome::Pixels(want.clone()), "{cmd:?} {chain} {flags:?}");
        }
    }
}

#[test]
fn limits_and_deadlines_fail_the_same_way_in_every_command() {
    let dir = setup();
    let d = dir.path();
    write(d, "blur.ron", r#"(steps: [(effect: "blur.gaussian", params: {"sigma": 2.0})])"#);
    write(
        d,
        "slow.ron",
        &format!("(steps: [{}])", ["(effect: \"blur.median\", params: {\"radius\": 10})"; 6].join(", ")),
    );
    let cases: [(&str, &[&str], &str); 2] = [
        ("blur.ron", &["--max-width", "50"], "exceeds the size limit of 50x"),
        ("slow.ron", &["--deadline", "0.001"], "deadline"),
    ];
    for (chain, flags, message) in cases {
        for cmd in ALL {
            match outcome(cmd, d, chain, flags) {
                Outcome::Failed(e) => assert!(e.contains(message), "{cmd:?} {flags:?}: {e}"),
                Outcome::Pixels(_) => panic!("{cmd:?} {chain} {flags:?} rendered"),
            }
        }
    }
}

#[test]
fn a_cache_folder_is_used_by_every_command_and_changes_no_pixel() {
    let dir = setup();
    let d = dir.path();
    write(
        d,
        "chain.ron",
        r#"(steps: [(effect: "blur.gaussian", params: {"sigma": 2.0}), (effect: "color.contrast", params: {"amount": 1.2})])"#,
    );
    let want = reference(d, "chain.ron");
    let entries = |cache: &Path| -> usize {
        std::fs::read_dir(cache.join("frames-v1"))
            .map(|r| r.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "frame")).count())
            .unwrap_or(0)
    };
    for cmd in ALL {
        let cache = d.join(format!("cache-{cmd:?}"));
        let flags = ["--cache-dir", cache.to_str().unwrap(), "--cache-budget", "64M"];
        // Twice: the second time from the folder the first one filled.
        for pass in 0..2 {
            assert_eq!(outcome(cmd, d, "chain.ron", &flags), Outcome::Pixels(want.clone()), "{cmd:?} pass {pass}");
            assert_eq!(entries(&cache), 2, "{cmd:?} pass {pass}: the results of both steps are kept");
        }
    }
    // `apply` takes the same flags.
    let cache = d.join("cache-apply");
    let o = crate::support::fxchain(
        &[
            "apply",
            "blur.gaussian",
            "sigma=2.0",
            "-i",
            "in.png",
            "-o",
            "apply.png",
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        &[plugin_dir()],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(entries(&cache), 1);
}
