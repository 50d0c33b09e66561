//! The plugin template builds outside the workspace and runs from a chain file.

use crate::support::{build_crate, dir_with, fxchain, read_png, root, stderr};

#[test]
fn template_builds_and_runs_from_a_chain() {
    let lib = build_crate(&root().join("examples/plugin-template"), "template", |_| {});
    let dir = dir_with(&[&lib]);
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("t.ron"),
        r##"(steps: [(effect: "template.duotone", params: {"dark": "#000000", "light": "#ff8000"})])"##,
    )
    .unwrap();
    let input = root().join("examples/images/sample.png");
    let o = fxchain(&["run", "t.ron", "-i", input.to_str().unwrap(), "-o", "t.png"], &[dir.path()], cwd.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, got) = read_png(&cwd.path().join("t.png"));
    let (iw, ih, src) = read_png(&input);
    assert_eq!((w, h), (iw, ih));
    for (s, g) in src.chunks(4).zip(got.chunks(4)) {
        let l = (0.2126 * s[0] as f64 + 0.7152 * s[1] as f64 + 0.0722 * s[2] as f64) / 255.0;
        let want = [(l * 255.0).round(), (l * 128.0).round(), 0.0];
        for c in 0..3 {
            assert!((g[c] as f64 - want[c]).abs() <= 1.0, "pixel {s:?} -> {g:?}, want {want:?}");
        }
        assert_eq!(g[3], s[3]);
    }
    // The template's own example chain also runs.
    let chain = root().join("examples/plugin-template/chain.ron");
    let o = fxchain(
        &["run", chain.to_str().unwrap(), "-i", input.to_str().unwrap(), "-o", "c.png"],
        &[dir.path()],
        cwd.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}
