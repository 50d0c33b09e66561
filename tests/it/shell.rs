//! Shell conventions: completions, the man page, colour control (under a pseudo-terminal) and
//! how numbers and tables are printed.

use std::path::Path;
use std::process::Command;

use crate::support::{fxchain, plugin_dir, root, stderr, stdout};

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_fxchain")
}

#[test]
fn bash_loads_the_completions() {
    let script = format!("source <({} completions bash) && complete -p fxchain", exe());
    let o = Command::new("bash").args(["-c", &script]).output().expect("bash");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("-F _fxchain fxchain"), "{}", stdout(&o));
    // The subcommands and a value list are in the script.
    let o = Command::new(exe()).args(["completions", "bash"]).output().unwrap();
    let text = stdout(&o);
    assert!(text.contains("apply") && text.contains("fast balanced quality"), "{text}");
    let o = Command::new(exe()).args(["completions", "nosuchshell"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_man_page_has_every_command() {
    let o = Command::new(exe()).arg("man").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(page.contains(".TH fxchain 1"), "{}", &page[..page.len().min(400)]);
    for cmd in ["run", "apply", "batch", "chain", "plugins", "completions"] {
        assert!(page.contains(&format!("fxchain\\-{cmd} \\-")), "no section for {cmd}");
    }
    assert!(!page.contains("__worker"), "a hidden command is in the page");
}

/// Runs `fxchain ARGS` under a pseudo-terminal (`script` from util-linux) with `env`; returns
/// everything the terminal received.
fn on_tty(args: &str, env: &[(&str, &str)], cwd: &Path) -> String {
    let line = format!("{} --no-default-plugins --plugin-dir {} {args}", exe(), plugin_dir().display());
    let mut c = Command::new("script");
    c.args(["-qec", &line, "/dev/null"]).current_dir(cwd).env_remove("NO_COLOR").env("TERM", "xterm");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("script (util-linux)");
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn colour_follows_the_terminal_no_color_and_the_flag() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (util-linux) is needed for the pseudo-terminal tests");
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("typo.ron"), r#"(steps: [(effect: "color.invrt")])"#).unwrap();
    std::fs::write(d.path().join("ok.ron"), r#"(steps: [(effect: "color.invert")])"#).unwrap();
    let sample = root().join("examples/images/sample.png");
    // A chain error report (miette) and log lines (tracing, -v).
    let report = "chain check typo.ron";
    let logs = format!("-v run ok.ron -i {} -o o.png", sample.display());
    for args in [report, logs.as_str()] {
        let auto = on_tty(args, &[], d.path());
        assert!(auto.contains("\x1b["), "no colour on a terminal for `{args}`:\n{auto}");
        let no_color = on_tty(args, &[("NO_COLOR", "1")], d.path());
        assert!(!no_color.contains('\x1b'), "escape codes with NO_COLOR for `{args}`:\n{no_color:?}");
        assert!(no_color.contains("color.inv"), "{no_color}");
        let never = on_tty(&format!("--color never {args}"), &[], d.path());
        assert!(!never.contains('\x1b'), "escape codes with --color never for `{args}`:\n{never:?}");
        // `always` wins over NO_COLOR, also into a pipe.
        let mut argv = vec!["--color", "always"];
        argv.extend(args.split_whitespace());
        let piped = fxchain(&argv, &[plugin_dir()], d.path());
        assert!(stderr(&piped).contains("\x1b["), "no colour with --color always for `{args}`");
    }
    // Into a pipe, auto means no colour, also with -v.
    let piped = fxchain(&logs.split_whitespace().collect::<Vec<_>>(), &[plugin_dir()], d.path());
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert!(stderr(&piped).contains("INFO") && !stderr(&piped).contains('\x1b'), "{:?}", stderr(&piped));
    // clap's own errors follow NO_COLOR too.
    let bad = on_tty("run --frobnicate", &[("NO_COLOR", "1")], d.path());
    assert!(bad.contains("--frobnicate") && !bad.contains('\x1b'), "{bad:?}");
    assert!(on_tty("run --frobnicate", &[], d.path()).contains("\x1b["));
}

#[test]
fn float_parameters_print_as_f32_and_headers_read_right() {
    let d = tempfile::tempdir().unwrap();
    let o = fxchain(&["plugins", "describe", "glitch.noise", "--probe-size", "0"], &[plugin_dir()], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let sigma = text.lines().find(|l| l.trim_start().starts_with("sigma ")).expect("sigma row");
    assert!(sigma.contains(" 0.05 ") && !text.contains("0.0500000007"), "{text}");
    let o = fxchain(&["plugins", "describe", "geometry.resize", "--probe-size", "0"], &[plugin_dir()], d.path());
    let width = stdout(&o).lines().find(|l| l.trim_start().starts_with("width ")).unwrap().to_string();
    assert!(width.contains("0..=65536") && !width.contains("65536.0"), "{width}");
    let chain = root().join("examples/chains/photo.ron");
    let o = fxchain(&["chain", "explain", chain.to_str().unwrap()], &[plugin_dir()], d.path());
    let header = stdout(&o).lines().next().unwrap_or_default().to_string();
    assert!(header.contains("quality profile: quality") && !header.contains("quality quality"), "{header}");
}

#[test]
fn table_columns_stay_aligned_with_long_names() {
    let d = tempfile::tempdir().unwrap();
    let o = fxchain(&["plugins", "list", "--probe-size", "0"], &[plugin_dir()], d.path());
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    let col = |l: &str, word: &str| l.find(word);
    let kind_at = col(lines[0], "kind").unwrap();
    for l in &lines[1..] {
        // Every row's kind starts in the header's column, after the longest effect id.
        let kind = l[kind_at..].split_whitespace().next().unwrap_or_default();
        assert!(["filter", "generator", "compositor"].contains(&kind), "misaligned row: {l}");
        assert_eq!(&l[kind_at - 2..kind_at], "  ", "{l}");
    }
}
