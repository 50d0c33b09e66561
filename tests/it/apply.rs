//! `fxchain apply`: effects named on the command line.

use crate::support::{fxchain, plugin_dir, root, stderr};

fn sample() -> String {
    root().join("examples/images/sample.png").to_str().unwrap().to_string()
}

#[test]
fn apply_equals_the_one_step_chain_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.ron"), r#"(steps: [(effect: "blur.gaussian", params: {"sigma": 3.0})])"#)
        .unwrap();
    // The provenance records name the chain (a file, the command line): the pixels and
    // everything else are the same.
    let o =
        fxchain(&["run", "c.ron", "-i", &sample(), "-o", "chain.png", "--no-provenance"], &[plugin_dir()], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fxchain(
        &[
            "apply",
            "blur.gaussian",
            "sigma=3",
            "-i",
            &sample(),
            "-o",
            "apply.png",
            "--save-chain",
            "saved.ron",
            "--no-provenance",
        ],
        &[plugin_dir()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a = std::fs::read(dir.path().join("chain.png")).unwrap();
    let b = std::fs::read(dir.path().join("apply.png")).unwrap();
    assert_eq!(a, b, "apply and the one-step chain wrote different files");
    // The blur changed the image (the comparison is not between two copies of the input).
    assert_ne!(a, std::fs::read(sample()).unwrap());
    let saved = std::fs::read_to_string(dir.path().join("saved.ron")).unwrap();
    assert_eq!(saved, "(\n    steps: [\n        (effect: \"blur.gaussian\", params: {\"sigma\": 3}),\n    ],\n)\n");
    // The saved chain renders the same file again.
    let o = fxchain(
        &["run", "saved.ron", "-i", &sample(), "-o", "saved.png", "--no-provenance"],
        &[plugin_dir()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(dir.path().join("saved.png")).unwrap(), a);
}

#[test]
fn apply_chains_effects_separated_by_colons() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.ron"),
        r#"(steps: [(effect: "geometry.resize", params: {"width": 100}), (effect: "color.invert")])"#,
    )
    .unwrap();
    let o = fxchain(&["run", "c.ron", "-i", &sample(), "-o", "chain.png"], &[plugin_dir()], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = fxchain(
        &["apply", "geometry.resize", "width=100", ":", "color.invert", "-i", &sample(), "-o", "apply.png"],
        &[plugin_dir()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, _, px) = crate::support::read_png(&dir.path().join("apply.png"));
    assert_eq!(w, 100);
    assert_eq!(px, crate::support::read_png(&dir.path().join("chain.png")).2);
}

#[test]
fn apply_reports_unknown_effects_and_params_like_chains_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = fxchain(
        &["apply", "blur.gausian", "sigma=3", "-i", &sample(), "-o", "x.png", "--save-chain", "x.ron"],
        &[plugin_dir()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("command line:3:18: unknown effect `blur.gausian`"), "{err}");
    assert!(err.contains("did you mean `blur.gaussian`?"), "{err}");
    assert!(!dir.path().join("x.png").exists() && !dir.path().join("x.ron").exists());

    let o =
        fxchain(&["apply", "blur.gaussian", "sigmaa=3", "-i", &sample(), "-o", "x.png"], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("`sigmaa`") && err.contains("did you mean `sigma`?"), "{err}");

    let o =
        fxchain(&["apply", "blur.gaussian", "sigma=-4", "-i", &sample(), "-o", "x.png"], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("out of its range"), "{}", stderr(&o));

    let o = fxchain(&["apply", "blur.gaussian", "sigma", "-i", &sample(), "-o", "x.png"], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`sigma` (after `blur.gaussian`): expected PARAM=VALUE"), "{}", stderr(&o));
    assert!(!dir.path().join("x.png").exists());
}
