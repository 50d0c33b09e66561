//! The `fxchain` command line, on the real plugins.

use crate::support::{fxchain, plugin_dir, read_png, root, stderr, stdout};

#[test]
fn demo_chain_writes_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.png");
    let chain = root().join("examples/chains/demo.ron");
    let o = fxchain(&["run", chain.to_str().unwrap(), "-o", out.to_str().unwrap()], &[plugin_dir()], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, px) = read_png(&out);
    assert_eq!((w, h), (640, 400));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o644, "a new output is 0644");
    }
    // The vignette darkens the corners relative to the centre.
    let lum = |x: u32, y: u32| {
        let i = ((y * w + x) * 4) as usize;
        px[i] as u32 + px[i + 1] as u32 + px[i + 2] as u32
    };
    assert!(lum(0, 0) < lum(320, 200) / 2, "corner {} centre {}", lum(0, 0), lum(320, 200));
    // No temporary file is left next to the output.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn photo_chain_processes_the_sample_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("photo.png");
    let chain = root().join("examples/chains/photo.ron");
    let input = root().join("examples/images/sample.png");
    let o = fxchain(
        &["run", chain.to_str().unwrap(), "-i", input.to_str().unwrap(), "-o", out.to_str().unwrap()],
        &[plugin_dir()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, _) = read_png(&out);
    assert_eq!((w, h), (320, 240));
}

#[test]
fn plugins_list_shows_kinds_variants_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let o = fxchain(&["plugins", "list"], &[plugin_dir()], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let line = text.lines().find(|l| l.starts_with("blur.gaussian ")).expect("blur.gaussian listed");
    assert!(
        line.contains("filter")
            && line.contains("area")
            && line.contains("fast")
            && line.contains("fxchain-blur 0.1.0"),
        "{line}"
    );
    let line = text.lines().find(|l| l.starts_with("noise.perlin ")).expect("noise.perlin listed");
    assert!(line.contains("generator"), "{line}");
}

#[test]
fn plugins_describe_shows_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let o = fxchain(&["plugins", "describe", "geometry.resize"], &[plugin_dir()], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let filter = text.lines().find(|l| l.trim_start().starts_with("filter ")).expect("filter param");
    assert!(
        filter.contains("enum")
            && filter.contains("\"lanczos3\"")
            && filter.contains("nearest | bilinear | bicubic | lanczos3"),
        "{filter}"
    );
    let width = text.lines().find(|l| l.trim_start().starts_with("width ")).expect("width param");
    assert!(width.contains("0..=65536") && width.contains("[px]"), "{width}");
    let json = fxchain(&["plugins", "describe", "geometry.resize", "--json"], &[plugin_dir()], dir.path());
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(v["params"][4]["id"], "filter");
    assert_eq!(v["params"][4]["default"], "lanczos3");
    assert_eq!(v["variants"][1]["id"], "geometry.resize.fast");
    let unknown = fxchain(&["plugins", "describe", "geometry.resise"], &[plugin_dir()], dir.path());
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("did you mean `geometry.resize`?"));
}

#[test]
fn misspelled_effect_fails_with_location_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("bad.ron");
    std::fs::write(
        &chain,
        "(\n    steps: [\n        (effect: \"blur.gausian\", params: {\"sigma\": 2.0}),\n    ],\n)\n",
    )
    .unwrap();
    let out = dir.path().join("never.png");
    let input = root().join("examples/images/sample.png");
    let o = fxchain(
        &["run", "bad.ron", "-i", input.to_str().unwrap(), "-o", out.to_str().unwrap()],
        &[plugin_dir()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.ron:3:18: unknown effect `blur.gausian`"), "{err}");
    assert!(err.contains("did you mean `blur.gaussian`?"), "{err}");
    // The offending text is underlined in the snippet.
    let snippet =
        err.lines().skip_while(|l| !l.contains("(effect: \"blur.gausian\"")).nth(1).unwrap_or_default().to_string();
    let col = snippet.find('─').or_else(|| snippet.find('┬')).expect("underline");
    assert!(snippet[col..].starts_with("──"), "{snippet}");
    assert!(!out.exists());
    let check = fxchain(&["chain", "check", "bad.ron"], &[plugin_dir()], dir.path());
    assert_eq!(check.status.code(), Some(2));
}

#[test]
fn missing_input_and_bad_usage_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.ron"), r#"(steps: [(effect: "color.invert")])"#).unwrap();
    let o = fxchain(&["run", "c.ron", "-o", "x.png"], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing input `input`"), "{}", stderr(&o));
    let o = fxchain(&["run", "c.ron", "-o", "x.png", "--set", "nodot"], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = fxchain(&["frobnicate"], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn set_overrides_a_parameter_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.ron"),
        r##"(size: (3, 2), steps: [(id: "bg", effect: "generate.solid", params: {"color": "#000000"})])"##,
    )
    .unwrap();
    let o = fxchain(&["run", "c.ron", "-o", "x.png", "--set", "bg.color=#00ff00"], &[plugin_dir()], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, _, px) = read_png(&dir.path().join("x.png"));
    assert_eq!(&px[..4], &[0, 255, 0, 255]);
    let o = fxchain(&["run", "c.ron", "-o", "y.png", "--set", "bg.colour=#00ff00"], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no parameter `colour`"), "{}", stderr(&o));
}
