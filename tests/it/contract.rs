//! The plugin contract of the standard effects: their schemas (a snapshot guards parameter
//! renames, since ids default to field names), their declared test cases, and composed point
//! runs.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_host::api::Size;
use fxchain_host::chain::{self, ChainSource};
use fxchain_host::{contract, Frame, RenderOptions};

use crate::support::{fxchain, plugin_dir, random_rgba8, registry, root, stdout};

/// One line per effect and parameter: what chain files depend on.
fn schema_text() -> String {
    let mut effects: Vec<_> = registry().all().collect();
    effects.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = String::new();
    for e in effects {
        out.push_str(&format!("{} {} {} inputs {}..={}\n", e.id, e.kind, e.access, e.min_inputs, e.max_inputs));
        for p in &e.params {
            let choices = if p.choices.is_empty() { String::new() } else { format!(" [{}]", p.choices.join(",")) };
            out.push_str(&format!("  {} {} {:?} {}..{}{}\n", p.id, p.kind, p.default, p.min, p.max, choices));
        }
    }
    out
}

#[test]
fn the_parameter_schemas_match_the_snapshot() {
    crate::golden::check_text("schemas.txt", &schema_text());
}

#[test]
fn every_standard_effect_declares_cases_and_passes_them() {
    let reg = registry();
    let mut failures = Vec::new();
    let mut count = 0;
    for e in reg.all() {
        assert!(!e.tests.is_empty(), "{} declares no test case", e.id);
        for r in contract::run_effect(reg, e) {
            count += 1;
            if !r.passed {
                failures.push(format!("{} / {}: {}", r.effect, r.case, r.detail));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn plugins_test_prints_a_row_per_case_and_a_summary() {
    let cwd = tempfile::tempdir().unwrap();
    let o = fxchain(&["plugins", "test", "color.invert", "fxchain-blur"], &[plugin_dir()], cwd.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().filter(|l| l.contains(" ok ")).collect();
    assert!(rows.iter().any(|l| l.starts_with("color.invert")), "{out}");
    assert!(rows.iter().any(|l| l.starts_with("blur.gaussian ")), "{out}");
    assert!(!rows.iter().any(|l| l.starts_with("color.brightness")), "{out}");
    assert!(out.contains(&format!("{} passed, 0 failed", rows.len())), "{out}");
    let o = fxchain(&["plugins", "test", "no.such.effect"], &[plugin_dir()], cwd.path());
    assert_eq!(o.status.code(), Some(2));
}

fn render(text: &str, input: &Frame, fuse: bool) -> Frame {
    let reg = registry();
    let c = chain::validate(ChainSource::from_text("c.ron", text), reg, &[]).unwrap();
    let inputs = HashMap::from([("input".to_string(), Arc::new(input.clone()))]);
    let r = fxchain_host::render(&c, reg, &inputs, &RenderOptions { fuse, band_rows: Some(7), ..Default::default() })
        .unwrap();
    (*r.outputs[0]).clone()
}

#[test]
fn composed_point_runs_give_the_pixels_of_the_steps_run_one_by_one() {
    let point5 = std::fs::read_to_string(root().join("benches/chains/point5.ron")).unwrap();
    for opaque in [true, false] {
        let input = Frame::from_rgba8(Size::new(67, 41), &random_rgba8(67, 41, 7, opaque));
        let (fused, unfused) = (render(&point5, &input, true), render(&point5, &input, false));
        assert_eq!(fused.to_rgba8_vec(), unfused.to_rgba8_vec(), "8-bit, opaque {opaque}");
        let f32_chain = point5.replacen("(steps:", "(precision: F32, steps:", 1);
        let (fused, unfused) = (render(&f32_chain, &input, true), render(&f32_chain, &input, false));
        assert_eq!(fused.to_rgba32f_vec(), unfused.to_rgba32f_vec(), "F32, opaque {opaque}");
    }
}

#[test]
fn chain_explain_shows_the_composed_steps() {
    let cwd = tempfile::tempdir().unwrap();
    let chain = root().join("benches/chains/point5.ron");
    let o = fxchain(&["chain", "explain", chain.to_str().unwrap(), "--size", "64x64"], &[plugin_dir()], cwd.path());
    let out = stdout(&o);
    for effect in ["color.brightness", "color.contrast", "color.gamma", "color.invert"] {
        let line = out.lines().find(|l| l.contains(effect)).unwrap_or_else(|| panic!("{effect} in\n{out}"));
        assert!(line.contains("composed: table"), "{line}");
    }
    let line = out.lines().find(|l| l.contains("color.saturation")).unwrap();
    assert!(line.contains("composed: matrix"), "{line}");
}
