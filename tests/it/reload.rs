//! Hot reload and `fxchain watch`, with a real plugin rebuilt in several versions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxchain_host::chain;
use fxchain_host::reload::{LiveRegistry, ReloadEvent};
use fxchain_host::{ChainSource, RegistryOptions, RenderOptions};

use crate::support::{build_crate, install, plugin_dir, root, use_api_version};

pub const V1: [u8; 4] = [10, 20, 30, 255];
pub const V2: [u8; 4] = [200, 100, 50, 255];

pub fn build(version: &str) -> PathBuf {
    let src = root().join("tests/fixtures/reload");
    build_crate(&src, &format!("reload-{version}"), |dir| {
        // A version of its own per variant, so cargo never takes one variant's build for
        // another's (every copy of the crate has the same name and relative path).
        let n = ["v1", "v2", "panics", "removed", "abi", "cases"].iter().position(|v| *v == version).unwrap_or(9);
        let manifest = dir.join("Cargo.toml");
        let m = std::fs::read_to_string(&manifest).unwrap().replacen(
            "version = \"0.1.0\"",
            &format!("version = \"0.1.{n}\""),
            1,
        );
        std::fs::write(&manifest, m).unwrap();
        let lib = dir.join("src/lib.rs");
        let text = std::fs::read_to_string(&lib).unwrap();
        let text = match version {
            "v1" => text,
            "v2" => text.replace("[10, 20, 30, 255]; // VERSION", "[200, 100, 50, 255]; // VERSION"),
            "panics" => text.replace("// PANIC", "panic!(\"this build is broken\");"),
            "removed" => text.replace("export_plugin!(Fill, Keep); // EXPORTS", "export_plugin!(Fill); // EXPORTS"),
            "abi" => {
                use_api_version(dir, "0.1.3");
                text
            }
            "cases" => text.replace("\"); // CASES", "\").tests(&[Test::new(\"paints\").hash(\"0000\")]); // CASES"),
            other => panic!("unknown version {other}"),
        };
        std::fs::write(lib, text).unwrap();
    })
}

pub fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !check() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    t.elapsed()
}

pub fn pixel(path: &Path) -> Option<[u8; 4]> {
    let bytes = std::fs::read(path).ok()?;
    let img = image::load_from_memory(&bytes).ok()?.to_rgba8();
    let p = img.get_pixel(3, 3).0;
    Some(p)
}

#[test]
fn watch_follows_rebuilds_keeps_the_old_generation_on_bad_ones_and_follows_chain_edits() {
    let (v1, v2, panics, removed, abi, cases) =
        (build("v1"), build("v2"), build("panics"), build("removed"), build("abi"), build("cases"));
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let plugins = d.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    install(&v1, &plugins);
    let chain_text = r#"(size: (64, 48), steps: [
    (effect: "generate.solid"),
    (effect: "blur.gaussian", params: {"sigma": 1.0}),
    (effect: "reload.keep"),
    (effect: "reload.fill"),
])"#;
    std::fs::write(d.join("chain.ron"), chain_text).unwrap();
    let log_path = d.join("watch.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fxchain"))
        .args(["--no-default-plugins", "--plugin-dir", plugin_dir().to_str().unwrap(), "--plugin-dir"])
        .arg(&plugins)
        .args(["watch", "chain.ron", "-o", "out.png"])
        .current_dir(d)
        .env("XDG_CACHE_HOME", d.join(".cache"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let out = d.join("out.png");
    let logged = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let timeout = Duration::from_secs(30);
    wait_for("the first render", timeout, || pixel(&out) == Some(V1));

    // A good rebuild: the output follows.
    let latency = {
        install(&v2, &plugins);
        wait_for("the v2 render", timeout, || pixel(&out) == Some(V2))
    };
    println!("rebuilt library → new output: {:.0} ms (polled)", latency.as_secs_f64() * 1e3);
    assert!(logged().contains("generation"), "{}", logged());

    // Bad rebuilds: the previous generation keeps serving, and the reason is printed.
    for (lib, reason) in [
        (&panics, "this build is broken"),
        (&removed, "no longer provides reload.keep"),
        (&abi, "rebuild it against 0.2"),
        (&cases, "test case `paints` of `reload.fill` failed: expected hash 0000"),
    ] {
        install(lib, &plugins);
        wait_for(reason, timeout, || logged().contains(reason));
        assert_eq!(pixel(&out), Some(V2));
    }
    // The ABI refusal says what to do: rebuild; the rebuilt library is picked up without a restart.
    assert!(logged().contains("no restart is needed"), "{}", logged());
    // Each refusal is reported once, and a panic is not announced twice.
    for reason in
        ["this build is broken", "no longer provides reload.keep", "rebuild it against 0.2", "test case `paints`"]
    {
        assert_eq!(logged().matches(reason).count(), 1, "{reason}:\n{}", logged());
    }
    assert!(!logged().contains("panicked: panicked"), "{}", logged());

    // A chain edit with an error: reported with its position, the last good output stays.
    std::fs::write(d.join("chain.ron"), chain_text.replace("reload.fill", "reload.fil")).unwrap();
    wait_for("the chain error", timeout, || logged().contains("chain.ron:5:14: unknown effect `reload.fil`"));
    assert_eq!(pixel(&out), Some(V2));
    // Fixing it renders again (without the fill, the output is the blurred grey).
    std::fs::write(d.join("chain.ron"), chain_text.replace("    (effect: \"reload.fill\"),\n", "")).unwrap();
    wait_for("the fixed chain", timeout, || pixel(&out) == Some([128, 128, 128, 255]));
    // The good build comes back after the bad ones.
    install(&v1, &plugins);
    std::fs::write(d.join("chain.ron"), chain_text).unwrap();
    wait_for("v1 again", timeout, || pixel(&out) == Some(V1));
    child.kill().unwrap();
    child.wait().unwrap();
    let tmp: Vec<_> =
        std::fs::read_dir(d).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

#[test]
fn twenty_reloads_under_load_never_mix_generations() {
    let (v1, v2) = (build("v1"), build("v2"));
    assert_ne!(std::fs::read(&v1).unwrap(), std::fs::read(&v2).unwrap(), "the two builds differ");
    let work = tempfile::tempdir().unwrap();
    let plugins = work.path().join("plugins");
    let cache = work.path().join("cache");
    std::fs::create_dir_all(&plugins).unwrap();
    let lib = install(&v1, &plugins);
    let live = LiveRegistry::new(&RegistryOptions {
        plugin_dirs: vec![plugin_dir().to_path_buf(), plugins.clone()],
        cache_dir: Some(cache.clone()),
        ..Default::default()
    });
    let events = live.subscribe();
    let start_generations = live.loaded_generations();
    let text = r#"(size: (96, 64), steps: [(effect: "generate.solid"), (effect: "blur.gaussian", params: {"sigma": 2.0}), (effect: "reload.fill")])"#;
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<[u8; 4]>>> = Arc::default();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (live, stop, seen) = (live.clone(), stop.clone(), seen.clone());
            std::thread::spawn(move || {
                // A pool of its own, so the other tests running in this process cannot starve it.
                let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let reg = live.snapshot();
                    let c = chain::validate(ChainSource::from_text("r.ron", text), &reg, &[]).unwrap();
                    let out = pool
                        .install(|| fxchain_host::render(&c, &reg, &Default::default(), &RenderOptions::default()))
                        .unwrap();
                    let px = out.outputs[0].to_rgba8_vec();
                    let first: [u8; 4] = px[..4].try_into().unwrap();
                    assert!(px.chunks(4).all(|p| p == first), "an image mixes generations");
                    assert!(first == V1 || first == V2, "{first:?}");
                    seen.lock().unwrap().push(first);
                }
            })
        })
        .collect();
    for i in 0..20 {
        install(if i % 2 == 0 { &v2 } else { &v1 }, &plugins);
        let e = live.reload(&lib);
        assert!(matches!(e, ReloadEvent::Replaced { .. }), "{e}");
        // Let the renderers finish at least one image on this generation before the next swap.
        let want = if i % 2 == 0 { V2 } else { V1 };
        let t = Instant::now();
        while !seen.lock().unwrap().iter().rev().take(4).any(|p| *p == want) && t.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("a render thread failed");
    }
    let seen = seen.lock().unwrap();
    let (n1, n2) = (seen.iter().filter(|p| **p == V1).count(), seen.iter().filter(|p| **p == V2).count());
    assert!(n1 > 0 && n2 > 0, "both generations served: {n1} renders of v1, {n2} of v2, {} in all", seen.len());
    assert_eq!(live.loaded_generations(), start_generations + 20);
    assert_eq!(events.try_iter().filter(|e| matches!(e, ReloadEvent::Replaced { .. })).count(), 20);
    // No temporary files are left in the shadow-copy folder: only the loaded generations.
    let mut leftovers = String::new();
    for e in std::fs::read_dir(&cache).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if !n.ends_with(".so") {
            leftovers.push_str(&n);
        }
    }
    assert!(leftovers.is_empty(), "{leftovers}");
    // Superseded generations lose their shadow copy once no render holds them: of the 21
    // generations of the rebuilt library, only the serving one (and at most one still being
    // released) has a file.
    let stem = lib.file_stem().unwrap().to_string_lossy().to_string();
    let copies: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&format!("{stem}-g")))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let stats = live.generation_stats();
    assert_eq!(stats.loaded, start_generations + 20);
    assert_eq!(stats.in_use, start_generations as usize, "{stats:?}");
}

#[test]
fn the_self_test_renders_every_effect_alone_through_the_executor() {
    // Generators, filters, compositors (two probe inputs) and variants named directly: each one
    // becomes a valid one-step chain and renders.
    let reg = crate::support::registry();
    let mut kinds = std::collections::HashSet::new();
    for e in reg.all() {
        fxchain_host::reload::self_test(reg, &e.id).unwrap_or_else(|m| panic!("self-test of `{}`: {m}", e.id));
        kinds.insert(e.kind.to_string());
    }
    assert_eq!(kinds.len(), 3, "the workspace plugins cover every kind: {kinds:?}");
    let err = fxchain_host::reload::self_test(reg, "no.such").unwrap_err();
    assert!(err.contains("not in the new snapshot"), "{err}");
}
