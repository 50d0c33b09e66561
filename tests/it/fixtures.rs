//! Libraries that must not load, and plugins that fail while rendering.

use std::collections::HashMap;

use fxchain_host::chain;
use fxchain_host::{ChainSource, LoadError, Registry, RegistryOptions, RenderOptions, RunError};

use crate::support::{dir_with, fixture, fxchain, plugin_dir, registry, stderr, stdout};

fn load(dir: &std::path::Path) -> Registry {
    let cache = tempfile::tempdir().unwrap();
    Registry::load(&RegistryOptions {
        plugin_dirs: vec![dir.to_path_buf()],
        cache_dir: Some(cache.keep()),
        ..Default::default()
    })
}

#[test]
fn a_library_that_is_not_a_plugin_is_reported_and_others_load() {
    let not = fixture("not-a-plugin");
    let good =
        plugin_dir().join(format!("{}fxchain_color{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    let dir = dir_with(&[&not, &good]);
    std::fs::write(dir.path().join("libjunk.so"), b"this is not an ELF file").unwrap();
    let reg = load(dir.path());
    assert!(reg.effect("color.invert").is_some());
    assert_eq!(reg.errors().len(), 2, "{:?}", reg.errors());
    let by_name =
        |n: &str| reg.errors().iter().find(|e| e.path().file_name().unwrap() == n).unwrap_or_else(|| panic!("{n}"));
    assert!(
        matches!(by_name("libnot_a_plugin.so"), LoadError::NotAPlugin { .. }),
        "{:?}",
        by_name("libnot_a_plugin.so")
    );
    let junk = by_name("libjunk.so");
    assert!(matches!(junk, LoadError::NotALibrary { .. }), "{junk:?}");
    assert!(junk.to_string().contains("libjunk.so: not a loadable shared library"), "{junk}");
}

#[test]
fn a_plugin_built_against_an_incompatible_api_is_refused() {
    // A copy of plugin-api with its ABI version bumped, and the template built against it.
    let lib = crate::support::build_crate(
        &crate::support::root().join("examples/plugin-template"),
        "template-api-0.1",
        |dir| crate::support::use_api_version(dir, "0.1.3"),
    );
    let good =
        plugin_dir().join(format!("{}fxchain_color{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    let dir = dir_with(&[&lib, &good]);
    // The layout checker keeps global state, so incompatible libraries are loaded in a child process.
    let cwd = tempfile::tempdir().unwrap();
    let o = fxchain(&["plugins", "list"], &[dir.path()], cwd.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("libfxchain_template.so: incompatible plugin ABI"), "{err}");
    assert!(
        err.contains(
            "built against fxchain-plugin-api 0.1.3; this fxchain loads 0.2.x plugins: rebuild it against 0.2 \
             (see docs/plugin-api-0.2.md)"
        ),
        "{err}"
    );
    // abi_stable's own report is for -v only.
    assert!(!err.contains("library version mismatch"), "{err}");
    let o = fxchain(&["-v", "plugins", "list"], &[dir.path()], cwd.path());
    assert!(stderr(&o).contains("library version mismatch"), "{}", stderr(&o));
    assert!(stdout(&o).contains("color.invert"));
    assert!(!stdout(&o).contains("template.duotone"));
}

fn run_fixture(chain_text: &str) -> Result<(), RunError> {
    let lib = fixture("panicking");
    let dir = dir_with(&[&lib]);
    let reg = load(dir.path());
    assert!(reg.errors().is_empty(), "{:?}", reg.errors());
    let chain = chain::validate(ChainSource::from_text("f.ron", chain_text), &reg, &[]).unwrap();
    let input = fxchain_host::Frame::from_rgba8(fxchain_host::api::Size::new(8, 8), &[128; 256]);
    let inputs = HashMap::from([("input".to_string(), std::sync::Arc::new(input))]);
    fxchain_host::render(&chain, &reg, &inputs, &RenderOptions { band_rows: Some(2), ..Default::default() }).map(|_| ())
}

#[test]
fn a_panic_while_rendering_fails_the_run_and_the_process_survives() {
    let err = run_fixture(r#"(steps: [(effect: "fixture.panic_render", params: {"row": 5})])"#).unwrap_err();
    match &err {
        RunError::Plugin { effect, library, message, panicked, .. } => {
            assert_eq!(effect, "fixture.panic_render");
            assert!(library.starts_with("fxchain-fixture-panicking 0.1.0"), "{library}");
            assert!(*panicked);
            assert!(message.contains("fixture panic at row 5"), "{message}");
            assert!(message.contains("src/lib.rs"), "{message}");
        }
        other => panic!("unexpected {other}"),
    }
    // A panic while preparing, and a returned error, are errors too.
    let err = run_fixture(r#"(steps: [(effect: "fixture.panic_setup")])"#).unwrap_err();
    assert!(
        err.to_string().contains("fixture.panic_setup") && err.to_string().contains("index out of bounds"),
        "{err}"
    );
    let err = run_fixture(r#"(steps: [(effect: "fixture.fail_setup")])"#).unwrap_err();
    assert!(err.to_string().contains("the fixture refuses to render"), "{err}");
    // The process is alive and other plugins still work.
    let reg = registry();
    let c = chain::validate(
        ChainSource::from_text("ok.ron", r#"(size: (2, 2), steps: [(effect: "generate.solid")])"#),
        reg,
        &[],
    )
    .unwrap();
    assert!(fxchain_host::render(&c, reg, &HashMap::new(), &RenderOptions::default()).is_ok());
}

/// Every place plugin code runs: a panic there is an error naming the effect, never an abort.
#[test]
fn panics_in_footprint_size_setup_render_and_drop_are_errors_of_that_effect() {
    for (id, what) in [
        ("fixture.panic_footprint", "fixture panic in footprint"),
        ("fixture.panic_size", "fixture panic in output_size"),
        ("fixture.panic_setup", "index out of bounds"),
        ("fixture.panic_render", "fixture panic at row 3"),
        ("fixture.panic_drop", "fixture panic in drop"),
    ] {
        let err = run_fixture(&format!(r#"(steps: [(effect: "{id}")])"#)).unwrap_err();
        match &err {
            RunError::Plugin { effect, panicked, message, .. } => {
                assert_eq!(effect, id);
                assert!(*panicked, "{id}: {err}");
                assert!(message.contains(what), "{id}: {message}");
                assert!(!message.contains("panicked: panicked"), "{message}");
            }
            other => panic!("{id}: unexpected {other}"),
        }
    }
    // The same effects inside a fused run of point steps.
    let err = run_fixture(
        r#"(steps: [(effect: "fixture.sleep"), (effect: "fixture.panic_drop"), (effect: "fixture.sleep")])"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("fixture.panic_drop"), "{err}");
}

#[test]
fn a_panicking_test_case_is_reported_by_plugins_test() {
    let lib = fixture("panicking");
    let dir = dir_with(&[&lib]);
    let cwd = tempfile::tempdir().unwrap();
    let o = fxchain(&["plugins", "test", "fixture.panic_test"], &[dir.path()], cwd.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("fixture.panic_test")).expect("a row for the case");
    assert!(
        line.contains("trips") && line.contains("FAILED") && line.contains("fixture panic in the test case"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"), "{out}");
}

#[test]
fn in_a_batch_each_panicking_effect_fails_only_its_image() {
    let lib = fixture("panicking");
    let dir = dir_with(&[&lib]);
    let cwd = tempfile::tempdir().unwrap();
    let ins = cwd.path().join("in");
    std::fs::create_dir(&ins).unwrap();
    // Two small images and one wide one; each effect panics only on the wide one.
    let (small, wide) =
        (image::RgbaImage::new(8, 6), image::RgbaImage::from_pixel(40, 30, image::Rgba([9, 8, 7, 255])));
    small.save(ins.join("a.png")).unwrap();
    small.save(ins.join("b.png")).unwrap();
    wide.save(ins.join("c.png")).unwrap();
    for (id, params) in [
        ("fixture.panic_footprint", r#"{"min_width": 20}"#),
        ("fixture.panic_size", r#"{"min_width": 20}"#),
        ("fixture.panic_setup", r#"{"min_width": 20}"#),
        ("fixture.panic_render", r#"{"row": 20}"#),
        ("fixture.panic_drop", r#"{"min_width": 20}"#),
    ] {
        std::fs::write(cwd.path().join("p.ron"), format!(r#"(steps: [(effect: "{id}", params: {params})])"#)).unwrap();
        let out = cwd.path().join(format!("out-{id}"));
        let o = fxchain(
            &["batch", "p.ron", "--input-dir", ins.to_str().unwrap(), "--output-dir", out.to_str().unwrap()],
            &[dir.path()],
            cwd.path(),
        );
        assert_eq!(o.status.code(), Some(1), "{id}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("2 ok, 1 failed"), "{id}: {err}");
        assert!(err.contains(id) && err.contains("c.png"), "{id}: {err}");
        assert!(out.join("a.png").exists() && out.join("b.png").exists() && !out.join("c.png").exists());
    }
}

#[test]
fn a_panicking_plugin_fails_the_cli_run_with_exit_1() {
    let lib = fixture("panicking");
    let dir = dir_with(&[&lib]);
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("p.ron"), r#"(steps: [(effect: "fixture.panic_render", params: {"row": 0})])"#)
        .unwrap();
    let input = crate::support::root().join("examples/images/sample.png");
    let o = fxchain(&["run", "p.ron", "-i", input.to_str().unwrap(), "-o", "out.png"], &[dir.path()], cwd.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("fixture.panic_render") && err.contains("fxchain-fixture-panicking") && err.contains("panicked"),
        "{err}"
    );
    assert!(!cwd.path().join("out.png").exists());
}

#[test]
fn impossible_output_sizes_are_refused() {
    let lib = fixture("wrong-size");
    let dir = dir_with(&[&lib]);
    let reg = load(dir.path());
    let input = std::sync::Arc::new(fxchain_host::Frame::from_rgba8(fxchain_host::api::Size::new(4, 4), &[0; 64]));
    for id in ["fixture.zero_size", "fixture.huge_size"] {
        let c = chain::validate(ChainSource::from_text("w.ron", format!(r#"(steps: [(effect: "{id}")])"#)), &reg, &[])
            .unwrap();
        let err = fxchain_host::render(
            &c,
            &reg,
            &HashMap::from([("input".to_string(), input.clone())]),
            &RenderOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::BadPlan { .. }), "{err}");
        assert!(err.to_string().contains(id) && err.to_string().contains("output"), "{err}");
    }
}
