//! `fxchain watch` left open: no work while nothing changes, half-written libraries refused.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::reload::{build, pixel, wait_for, V1, V2};
use crate::support::{fxchain, install, plugin_dir, stderr};

const CHAIN: &str = r#"(size: (64, 48), steps: [
    (effect: "generate.solid"),
    (effect: "blur.gaussian", params: {"sigma": 1.0}),
    (effect: "reload.fill"),
])"#;

struct Watch {
    child: Child,
    dir: PathBuf,
    log: PathBuf,
}

impl Watch {
    /// `fxchain watch` on `plugins`, with the preview page (on a free port) when `serve`.
    fn start(dir: &Path, plugins: &Path, serve: bool) -> Watch {
        std::fs::write(dir.join("chain.ron"), CHAIN).unwrap();
        let log = dir.join("watch.log");
        let child = Command::new(env!("CARGO_BIN_EXE_fxchain"))
            .args(["--no-default-plugins", "--plugin-dir", plugin_dir().to_str().unwrap(), "--plugin-dir"])
            .arg(plugins)
            .args(["watch", "chain.ron", "-o", "out.png"])
            .args(if serve { &["--serve", "127.0.0.1:0"][..] } else { &[] })
            .current_dir(dir)
            .env_remove("FXCHAIN_PLUGIN_PATH")
            .env("XDG_CACHE_HOME", dir.join(".cache"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Watch { child, dir: dir.to_path_buf(), log }
    }

    fn logged(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn renders(&self) -> usize {
        self.logged().lines().filter(|l| l.starts_with("rendered ")).count()
    }

    /// Shadow copies this process has on disk.
    fn shadow_copies(&self) -> Vec<String> {
        let tag = format!("-p{}.", self.child.id());
        std::fs::read_dir(self.dir.join(".cache/fxchain/plugins"))
            .map(|rd| {
                rd.flatten().map(|e| e.file_name().to_string_lossy().to_string()).filter(|n| n.contains(&tag)).collect()
            })
            .unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_idle_watch_with_its_page_does_nothing_while_other_processes_use_the_plugin_folder() {
    let v1 = build("v1");
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let plugins = d.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    install(&v1, &plugins);
    let w = Watch::start(d, &plugins, true);
    let out = d.join("out.png");
    wait_for("the first render", Duration::from_secs(30), || pixel(&out) == Some(V1));
    // Let the first render's own file events pass.
    std::thread::sleep(Duration::from_millis(500));
    let (renders, copies, log) = (w.renders(), w.shadow_copies(), w.logged());
    assert_eq!(renders, 1, "{log}");
    assert!(log.contains("preview page: http://127.0.0.1:"), "{log}");
    assert!(!copies.is_empty(), "the watch has its shadow copies in its cache folder");
    // Other processes load every library of the folder and render, for a few seconds.
    let other = d.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("chain.ron"), CHAIN).unwrap();
    let started = Instant::now();
    let mut runs = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let o = fxchain(&["run", "chain.ron", "-o", "out.png"], &[plugin_dir(), &plugins], &other);
        assert!(o.status.success(), "{}", stderr(&o));
        runs += 1;
    }
    assert!(runs >= 2, "{runs} runs");
    // Past the debounce, still nothing happened.
    std::thread::sleep(Duration::from_millis(600));
    let after = w.logged();
    assert_eq!(w.renders(), 1, "the watch rendered again while nothing changed:\n{after}");
    assert_eq!(after, log, "the watch printed something while nothing changed");
    assert_eq!(w.shadow_copies(), copies, "the shadow-copy folder changed");
}

#[test]
fn a_half_written_library_is_refused_with_a_message_at_startup_and_during_watch() {
    let (v1, v2) = (build("v1"), build("v2"));
    let bytes = std::fs::read(&v2).unwrap();
    let work = tempfile::tempdir().unwrap();
    let d = work.path();

    // At startup: a truncated library in the folder is reported; the command does not crash.
    let half = d.join("half");
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join(v2.file_name().unwrap()), &bytes[..bytes.len() / 2]).unwrap();
    let o = fxchain(&["plugins", "list", "--probe-size", "0"], &[plugin_dir(), &half], d);
    assert!(o.status.code().is_some(), "killed by a signal: {:?}\n{}", o.status, stderr(&o));
    assert!(stderr(&o).contains("truncated or half-written library"), "{}", stderr(&o));

    // During watch: the truncated file is refused, the watch keeps serving the previous build.
    let plugins = d.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let lib = install(&v1, &plugins);
    let mut w = Watch::start(d, &plugins, false);
    let out = d.join("out.png");
    let timeout = Duration::from_secs(30);
    wait_for("the first render", timeout, || pixel(&out) == Some(V1));
    std::fs::write(&lib, &bytes[..bytes.len() / 3]).unwrap();
    wait_for("the refusal", timeout, || w.logged().contains("truncated or half-written library"));
    assert!(w.alive(), "the watch died:\n{}", w.logged());
    assert_eq!(pixel(&out), Some(V1));
    // The finished file is picked up.
    install(&v2, &plugins);
    wait_for("the v2 render", timeout, || pixel(&out) == Some(V2));
    assert!(w.alive());
    assert_eq!(w.logged().matches("truncated or half-written library").count(), 1, "{}", w.logged());
}
