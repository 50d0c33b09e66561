//! The exit codes of docs/operations.md, for each command: one table, each row a command line, the
//! code it must end with and a piece of its message.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{dir_with, fixture, fxchain, plugin_dir, root, stderr};

/// The codes documented in docs/operations.md's exit code table, which this test keeps honest.
fn documented_codes() -> Vec<i32> {
    let doc = std::fs::read_to_string(root().join("docs/operations.md")).unwrap();
    doc.lines()
        .skip_while(|l| !l.starts_with("## Exit codes"))
        .take_while(|l| !l.starts_with("## Limits"))
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .collect()
}

struct Row {
    args: Vec<String>,
    code: i32,
    says: &'static str,
    plugins: Plugins,
}

#[derive(Clone, Copy)]
enum Plugins {
    Workspace,
    None,
    Panicking,
}

fn row(args: &str, code: i32, says: &'static str) -> Row {
    row_with(args, code, says, Plugins::Workspace)
}

fn row_with(args: &str, code: i32, says: &'static str, plugins: Plugins) -> Row {
    Row { args: args.split_whitespace().map(String::from).collect(), code, says, plugins }
}

#[test]
fn every_command_ends_with_the_documented_code() {
    let docs = documented_codes();
    assert_eq!(docs, vec![0, 1, 2, 3, 4, 130, 134], "docs/operations.md changed: update this table");
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::copy(root().join("examples/images/sample.png"), d.join("in.png")).unwrap();
    std::fs::write(d.join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    std::fs::write(d.join("ok.ron"), r#"(steps: [(effect: "color.invert")])"#).unwrap();
    std::fs::write(d.join("typo.ron"), r#"(steps: [(effect: "color.invrt")])"#).unwrap();
    std::fs::write(d.join("huge.ron"), r#"(size: (65536, 65536), steps: [(effect: "noise.perlin")])"#).unwrap();
    std::fs::write(d.join("afile"), b"a file, not a folder").unwrap();
    std::fs::create_dir_all(d.join("imgs")).unwrap();
    std::fs::copy(d.join("in.png"), d.join("imgs/a.png")).unwrap();
    std::fs::create_dir_all(d.join("mixed")).unwrap();
    std::fs::copy(d.join("in.png"), d.join("mixed/a.png")).unwrap();
    std::fs::copy(d.join("broken.png"), d.join("mixed/b.png")).unwrap();
    let panicking = dir_with(&[&fixture("panicking")]);
    // /sys refuses new files, also to root (who may write anywhere else).
    let unwritable = if Path::new("/sys/kernel").is_dir() { "/sys/out.png" } else { "/nonexistent/out.png" };

    let table = vec![
        // run
        row("run ok.ron -i in.png -o out.png", 0, "wrote out.png"),
        row("run ok.ron -i broken.png -o out.png", 1, "broken.png"),
        row("run ok.ron -i missing.png -o out.png", 2, "missing.png"),
        row("run typo.ron -i in.png -o out.png", 2, "unknown effect `color.invrt`"),
        row("run ok.ron -o out.png", 2, "missing input `input`"),
        row("run ok.ron -i in.png -o out.png --quality 85", 2, "--jpeg-quality 85"),
        row(&format!("run ok.ron -i in.png -o {unwritable}"), 3, "output folder"),
        row("run ok.ron -i in.png -o afile/out.png", 3, "is a file, not a folder"),
        row_with("run ok.ron -i in.png -o out.png", 3, "no plugin folder was searched", Plugins::None),
        // apply
        row("apply color.invert -i in.png -o out.png", 0, "wrote out.png"),
        row("apply color.invert -i broken.png -o out.png", 1, "broken.png"),
        row("apply color.invrt -i in.png -o out.png", 2, "did you mean `color.invert`?"),
        row("apply color.invert -i missing.png -o out.png", 2, "missing.png"),
        row(&format!("apply color.invert -i in.png -o {unwritable}"), 3, "output folder"),
        row_with("apply color.invert -i in.png -o out.png", 3, "no effects are loaded", Plugins::None),
        // batch
        row("batch ok.ron --input-dir imgs --output-dir bout", 0, "1 ok, 0 failed"),
        row("batch ok.ron --input-dir mixed --output-dir bout2", 1, "1 ok, 1 failed"),
        row("batch typo.ron --input-dir imgs --output-dir bout3", 2, "unknown effect"),
        row("batch ok.ron --input-dir imgs --output-dir afile", 3, "afile is a file, not a folder"),
        row_with("batch ok.ron --input-dir imgs --output-dir bout4", 3, "no effects are loaded", Plugins::None),
        // bench
        row("bench ok.ron --size 64 --iterations 1", 0, ""),
        row("bench typo.ron --size 64", 2, "unknown effect"),
        row_with("bench ok.ron --size 64", 3, "no effects are loaded", Plugins::None),
        // chain check / explain
        row("chain check ok.ron", 0, ""),
        row("chain check typo.ron", 2, "did you mean `color.invert`?"),
        row("chain check huge.ron", 2, "size (65536, 65536) is too large for generated images"),
        row("chain check missing.ron", 2, "missing.ron"),
        row_with("chain check ok.ron", 3, "no effects are loaded", Plugins::None),
        row("chain explain ok.ron", 0, ""),
        row("chain explain ok.ron -i broken.png", 1, "broken.png"),
        row("chain explain typo.ron", 2, "unknown effect"),
        row_with("chain explain ok.ron", 3, "no effects are loaded", Plugins::None),
        // plugins
        row("plugins list --probe-size 0", 0, ""),
        row_with("plugins list", 3, "no effects are loaded", Plugins::None),
        row("plugins describe color.invert", 0, ""),
        row("plugins describe color.invrt", 2, "did you mean `color.invert`?"),
        row_with("plugins describe color.invert", 3, "no effects are loaded", Plugins::None),
        row("plugins test color.invert", 0, ""),
        row_with("plugins test fixture.panic_test", 1, "1 failed", Plugins::Panicking),
        row("plugins test no.such.effect", 2, "no.such.effect"),
        row_with("plugins test", 3, "no effects are loaded", Plugins::None),
        // watch (until interrupted: below)
        row("watch ok.ron -i in.png", 2, "--output"),
    ];
    let mut failures = Vec::new();
    for r in &table {
        let args: Vec<&str> = r.args.iter().map(String::as_str).collect();
        let dirs: Vec<&Path> = match r.plugins {
            Plugins::Workspace => vec![plugin_dir()],
            Plugins::None => vec![],
            Plugins::Panicking => vec![panicking.path()],
        };
        let o = fxchain(&args, &dirs, d);
        let err = stderr(&o) + &String::from_utf8_lossy(&o.stdout);
        if o.status.code() != Some(r.code) || !err.contains(r.says) {
            failures.push(format!(
                "`{}`: exit {:?} (want {}), want {:?} in:\n{err}",
                r.args.join(" "),
                o.status.code(),
                r.code,
                r.says
            ));
        }
        if r.code == 3 && r.args[0] == "run" && r.says == "output folder" {
            // The folder is checked before anything is rendered: no step rows.
            assert!(!err.contains("color.invert"), "rendered before the folder check: {err}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(!d.join("out.png").exists() || std::fs::read(d.join("out.png")).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn missing_plugin_dir_is_warned_about_and_unknown_effects_say_where_plugins_were_searched() {
    let d = tempfile::tempdir().unwrap();
    // An effect with no close name: the help says where plugins were searched.
    std::fs::write(d.path().join("typo.ron"), r#"(steps: [(effect: "qqqq.zzzz")])"#).unwrap();
    let o = fxchain(&["--plugin-dir", "plugns", "chain", "check", "typo.ron"], &[plugin_dir()], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning: --plugin-dir plugns: does not exist"), "{err}");
    let searched = plugin_dir().canonicalize().unwrap();
    assert!(err.contains(&format!("plugins were searched in {}", searched.display())), "{err}");
    // No folder at all: said so, instead of an empty list.
    let o = fxchain(&["--plugin-dir", "plugns", "run", "typo.ron", "-o", "x.png"], &[], d.path());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("no plugin folder was searched: the default folders are off (--no-default-plugins)"));
    assert!(!stderr(&o).contains("(searched: )"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn watch_ends_with_130_when_interrupted() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("ok.ron"), r#"(steps: [(effect: "color.invert")])"#).unwrap();
    let sample = root().join("examples/images/sample.png");
    let child = Command::new(env!("CARGO_BIN_EXE_fxchain"))
        .args(["--no-default-plugins", "--plugin-dir"])
        .arg(plugin_dir())
        .args(["watch", "ok.ron", "-i"])
        .arg(&sample)
        .args(["-o", "w.png"])
        .current_dir(d.path())
        .env("XDG_CACHE_HOME", d.path().join(".cache"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !d.path().join("w.png").exists() {
        assert!(t.elapsed() < Duration::from_secs(60), "watch wrote no output");
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
}
