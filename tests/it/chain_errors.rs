//! Chain validation errors carry the line and column of the offending text.

use fxchain_host::chain::{self, ChainError};
use fxchain_host::ChainSource;

use crate::support::registry;

fn errors(text: &str) -> Vec<(String, usize, usize, Option<String>)> {
    match chain::validate(ChainSource::from_text("c.ron", text), registry(), &[]) {
        Ok(_) => panic!("expected errors"),
        Err(e @ ChainError::Syntax(_)) | Err(e @ ChainError::Invalid(_)) => e
            .diagnostics()
            .iter()
            .map(|d| {
                let s = d.span.expect("span");
                (d.message.clone(), s.start.line, s.start.col, d.help.clone())
            })
            .collect(),
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn misspelled_effect_points_at_the_name_and_suggests() {
    let e = errors("(\n  steps: [\n    (effect: \"blur.gausian\", params: {\"sigma\": 2.0}),\n  ],\n)\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].0, "unknown effect `blur.gausian`");
    assert_eq!((e[0].1, e[0].2), (3, 14));
    assert_eq!(e[0].3.as_deref(), Some("did you mean `blur.gaussian`?"));
}

#[test]
fn every_semantic_error_is_reported_at_once() {
    let text = r##"(steps: [
    (effect: "generate.solid", params: {"colour": "#fff"}),
    (effect: "blur.gaussian", params: {"sigma": -1.0}),
    (effect: "blur.gaussian", params: {"sigma": "big"}),
    (effect: "geometry.resize", params: {"filter": "lanczos"}),
    (effect: "color.brightness", params: {"amount": NaN}),
])"##;
    let e = errors(text);
    let brief: Vec<(usize, usize)> = e.iter().map(|x| (x.1, x.2)).collect();
    assert_eq!(brief, vec![(2, 41), (3, 49), (4, 49), (5, 52), (6, 53)], "{e:#?}");
    assert_eq!(e[0].0, "`generate.solid` has no parameter `colour`");
    assert_eq!(e[0].3.as_deref(), Some("did you mean `color`?"));
    assert_eq!(e[1].0, "`blur.gaussian` parameter `sigma` is -1.0, out of its range 0..=250");
    assert_eq!(e[2].0, "`blur.gaussian` parameter `sigma` expects a number, got a string \"big\"");
    assert!(e[3].0.starts_with("`geometry.resize` parameter `filter`: `lanczos` is not one of"), "{}", e[3].0);
    assert_eq!(e[3].3.as_deref(), Some("did you mean `lanczos3`?"));
    assert_eq!(e[4].0, "`color.brightness` parameter `amount` must be a finite number, got NaN");
}

#[test]
fn syntax_errors_stop_at_the_first_with_position() {
    let e = errors("(steps: [\n  (effect: \"color.invert\" params: {}),\n])");
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].1, e[0].2), (2, 27));
    let e = errors("(steps: [], bogus: 1)");
    assert!(e[0].0.starts_with("unknown field `bogus`"), "{}", e[0].0);
}

#[test]
fn references_are_checked() {
    let text = r#"(steps: [
    (id: "a", effect: "generate.solid"),
    (effect: "color.invert", input: "b"),
    (id: "b", effect: "color.invert", input: "a"),
    (effect: "color.invert", input: "nowhere"),
])"#;
    let e = errors(text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!((e[0].1, e[0].2), (3, 37));
    assert!(e[0].0.contains("further down"), "{}", e[0].0);
    assert_eq!((e[1].1, e[1].2), (5, 37));
}
