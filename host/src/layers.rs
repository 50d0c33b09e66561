//! The module layers (docs/architecture.md, *Module layers*): each module of the host uses only
//! modules of its own layer or earlier ones. Checked by reading the sources.

/// Layers, earliest first.
const LAYERS: &[&[&str]] = &[
    &["error", "pool", "frame", "metrics", "cache", "io", "meta"],
    &["loader"],
    &["registry"],
    &["chain"],
    &["plan"],
    &["exec", "stream", "isolate", "probe", "contract"],
    &["pipeline", "run", "outdir"],
    &["reload", "session", "batch", "provenance"],
];

/// Known exceptions: (module, module it uses).
const EXCEPTIONS: &[(&str, &str)] = &[
    // The pipeline writes provenance records; replay, in the same module, runs a pipeline.
    ("pipeline", "provenance"),
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The modules `source` names as `crate::NAME` outside comments.
fn uses(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in source.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn the_uses_scanner_reads_paths_and_skips_comments() {
    let src = "use crate::exec::{render, Plan};\n// crate::batch in a comment\nlet x = crate::plan::hex(k); // crate::io\ncrate::Frame";
    assert_eq!(uses(src), ["exec", "plan"]);
}

#[test]
fn modules_use_only_their_layer_and_earlier_ones() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    let mut checked = 0;
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap();
        let module = rel.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
        if module == "lib" || module == "layers" {
            continue;
        }
        let mine = layer(&module).unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"));
        checked += 1;
        for used in uses(&std::fs::read_to_string(path).unwrap()) {
            let Some(theirs) = layer(&used) else { continue };
            if theirs > mine && !EXCEPTIONS.contains(&(module.as_str(), used.as_str())) {
                bad.push(format!("{} uses `crate::{used}` (a later layer)", rel.display()));
            }
        }
    }
    assert!(checked > 20, "the sources were found ({checked} files)");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
