//! The host library end to end: load the real plugins, validate chains, render, check pixels
//! against independent reference computations.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_host::api::{PixelFormat, Size};
use fxchain_host::chain::{self, Override};
use fxchain_host::{ChainSource, Frame, RenderOptions};

use crate::support::{random_rgba8, registry};

fn run(text: &str, inputs: &[(&str, Frame)]) -> Result<Vec<Arc<Frame>>, fxchain_host::RunError> {
    run_with(text, inputs, &[])
}

fn run_with(
    text: &str,
    inputs: &[(&str, Frame)],
    overrides: &[Override],
) -> Result<Vec<Arc<Frame>>, fxchain_host::RunError> {
    let reg = registry();
    let chain =
        chain::validate(ChainSource::from_text("test.ron", text), reg, overrides).unwrap_or_else(|e| panic!("{e}"));
    let map: HashMap<String, Arc<Frame>> = inputs.iter().map(|(n, f)| (n.to_string(), Arc::new(f.clone()))).collect();
    fxchain_host::render(&chain, reg, &map, &RenderOptions::default()).map(|r| r.outputs)
}

#[test]
fn registry_has_every_family() {
    let reg = registry();
    for id in ["noise.perlin", "generate.solid", "color.brightness", "blur.gaussian", "geometry.resize"] {
        assert!(reg.effect(id).is_some(), "{id} missing");
    }
    let fast = reg.resolve("blur.gaussian", fxchain_host::api::Tier::FAST).unwrap();
    assert_eq!(fast.id, "blur.gaussian.fast");
    let q = reg.resolve("blur.gaussian", fxchain_host::api::Tier::QUALITY).unwrap();
    assert_eq!(q.id, "blur.gaussian");
    // Every library has a content hash and a generation.
    for lib in reg.libraries() {
        assert_eq!(lib.content_hash.len(), 64);
        assert!(lib.generation >= 1);
    }
}

#[test]
fn generator_then_point_filter_gives_the_formula() {
    let out = run(
        r##"(size: (7, 5), steps: [
            (effect: "generate.solid", params: {"color": "#336699"}),
            (effect: "color.brightness", params: {"amount": 1.3}),
        ])"##,
        &[],
    )
    .unwrap();
    let px = out[0].to_rgba8_vec();
    assert_eq!(out[0].size(), Size::new(7, 5));
    let expect = |c: u8| ((c as f64 / 255.0 * 1.3).clamp(0.0, 1.0) * 255.0).round() as u8;
    for p in px.chunks(4) {
        assert_eq!(p, [expect(0x33), expect(0x66), expect(0x99), 255]);
    }
}

#[test]
fn f32_precision_keeps_values_between_steps() {
    // Brightness ×0.1 then ×10 loses everything below 1/255 in 8 bits, not in F32.
    let text = |p: &str| {
        format!(
            r##"(size: (4, 4), precision: {p}, steps: [
            (effect: "generate.solid", params: {{"color": "#0d1a27"}}),
            (effect: "color.brightness", params: {{"amount": 0.1}}),
            (effect: "color.brightness", params: {{"amount": 10.0}}),
        ])"##
        )
    };
    let f32_out = run(&text("F32"), &[]).unwrap();
    assert_eq!(f32_out[0].format(), PixelFormat::RGBA32F);
    assert_eq!(&f32_out[0].to_rgba8_vec()[..4], &[0x0d, 0x1a, 0x27, 255]);
    let u8_out = run(&text("U8"), &[]).unwrap();
    assert_eq!(u8_out[0].format(), PixelFormat::RGBA8);
    assert_ne!(&u8_out[0].to_rgba8_vec()[..4], &[0x0d, 0x1a, 0x27, 255]);
}

/// Direct 2-D Gaussian convolution in f64 with clamped borders: the obviously-correct reference.
fn gaussian_reference(px: &[u8], w: usize, h: usize, sigma: f64) -> Vec<u8> {
    let r = (3.0 * sigma).ceil() as i64;
    let k: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let s: f64 = k.iter().sum();
    let k: Vec<f64> = k.iter().map(|v| v / s).collect();
    let mut out = vec![0u8; px.len()];
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            for c in 0..4 {
                let mut acc = 0.0;
                for dy in -r..=r {
                    for dx in -r..=r {
                        let sx = (x + dx).clamp(0, w as i64 - 1) as usize;
                        let sy = (y + dy).clamp(0, h as i64 - 1) as usize;
                        acc += k[(dy + r) as usize] * k[(dx + r) as usize] * px[(sy * w + sx) * 4 + c] as f64;
                    }
                }
                out[(y as usize * w + x as usize) * 4 + c] = acc.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

#[test]
fn gaussian_blur_matches_direct_convolution() {
    let (w, h) = (37, 23);
    let px = random_rgba8(w, h, 1, true);
    let input = Frame::from_rgba8(Size::new(w, h), &px);
    let out = run(r#"(steps: [(effect: "blur.gaussian", params: {"sigma": 1.7})])"#, &[("input", input)]).unwrap();
    let got = out[0].to_rgba8_vec();
    let want = gaussian_reference(&px, w as usize, h as usize, 1.7);
    let max = got.iter().zip(&want).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
    assert!(max <= 1, "max difference {max}");
}

/// Separable resampling in f64 with Pillow's conventions (support scaled when shrinking, window
/// trimmed to the image and renormalized).
fn resize_reference(px: &[u8], w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
    fn lanczos3(x: f64) -> f64 {
        let x = x.abs();
        if x < 1e-12 {
            1.0
        } else if x < 3.0 {
            let p = std::f64::consts::PI * x;
            3.0 * p.sin() * (p / 3.0).sin() / (p * p)
        } else {
            0.0
        }
    }
    fn weights(n: usize, on: usize) -> Vec<Vec<(usize, f64)>> {
        let scale = n as f64 / on as f64;
        let fs = scale.max(1.0);
        (0..on)
            .map(|o| {
                let c = (o as f64 + 0.5) * scale;
                let lo = ((c - 3.0 * fs).floor() as i64).max(0) as usize;
                let hi = ((c + 3.0 * fs).ceil() as i64).min(n as i64) as usize;
                let ws: Vec<(usize, f64)> = (lo..hi).map(|i| (i, lanczos3((i as f64 + 0.5 - c) / fs))).collect();
                let s: f64 = ws.iter().map(|x| x.1).sum();
                ws.into_iter().map(|(i, v)| (i, v / s)).collect()
            })
            .collect()
    }
    let (wx, wy) = (weights(w, ow), weights(h, oh));
    let mut out = vec![0u8; ow * oh * 4];
    for (oy, ry) in wy.iter().enumerate() {
        for (ox, rx) in wx.iter().enumerate() {
            for c in 0..4 {
                let mut acc = 0.0;
                for &(sy, a) in ry {
                    for &(sx, b) in rx {
                        acc += a * b * px[(sy * w + sx) * 4 + c] as f64;
                    }
                }
                out[(oy * ow + ox) * 4 + c] = acc.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

#[test]
fn lanczos_resize_matches_direct_separable_filter() {
    let (w, h) = (40, 30);
    let px = random_rgba8(w, h, 2, true);
    let input = Frame::from_rgba8(Size::new(w, h), &px);
    for (ow, oh) in [(20, 15), (17, 9), (64, 45)] {
        let text = format!(r#"(steps: [(effect: "geometry.resize", params: {{"width": {ow}, "height": {oh}}})])"#);
        let out = run(&text, &[("input", input.clone())]).unwrap();
        assert_eq!(out[0].size(), Size::new(ow, oh));
        let got = out[0].to_rgba8_vec();
        let want = resize_reference(&px, w as usize, h as usize, ow as usize, oh as usize);
        let max = got.iter().zip(&want).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
        assert!(max <= 1, "{ow}x{oh}: max difference {max}");
    }
}

#[test]
fn overrides_replace_parameters() {
    let text = r##"(size: (2, 2), steps: [
        (id: "bg", effect: "generate.solid", params: {"color": "#000000"}),
    ])"##;
    let o: Override = "bg.color=\"#ff0000\"".parse().unwrap();
    let out = run_with(text, &[], &[o]).unwrap();
    assert_eq!(&out[0].to_rgba8_vec()[..4], &[255, 0, 0, 255]);
}

#[test]
fn generators_are_identical_for_any_band_split() {
    let text =
        r#"(seed: 99, size: (131, 77), steps: [(effect: "noise.perlin", params: {"scale": 20.0, "octaves": 3})])"#;
    let reg = registry();
    let chain = chain::validate(ChainSource::from_text("t.ron", text), reg, &[]).unwrap();
    let render = |band: Option<u32>| {
        let opts = RenderOptions { band_rows: band, ..Default::default() };
        fxchain_host::render(&chain, reg, &HashMap::new(), &opts).unwrap().outputs[0].to_rgba8_vec()
    };
    let a = render(Some(1));
    assert_eq!(a, render(Some(7)));
    assert_eq!(a, render(None));
    // A different chain seed gives a different image.
    let other = chain::validate(ChainSource::from_text("t.ron", text.replace("99", "100")), reg, &[]).unwrap();
    let b = fxchain_host::render(&other, reg, &HashMap::new(), &RenderOptions::default()).unwrap().outputs[0]
        .to_rgba8_vec();
    assert_ne!(a, b);
}

#[test]
fn missing_input_is_an_error_not_a_panic() {
    let reg = registry();
    let chain =
        chain::validate(ChainSource::from_text("t.ron", r#"(steps: [(effect: "color.invert")])"#), reg, &[]).unwrap();
    let err = fxchain_host::render(&chain, reg, &HashMap::new(), &RenderOptions::default()).unwrap_err();
    assert!(matches!(err, fxchain_host::RunError::MissingInput { ref name, .. } if name == "input"), "{err}");
}

/// `host/examples/embed.rs` builds and renders a chain on an in-memory image.
#[test]
fn the_embedding_example_builds_and_renders() {
    let dir = crate::support::plugin_dir();
    let root = crate::support::root();
    let o = std::process::Command::new(crate::support::cargo())
        .args(["run", "--offline", "-q", "-p", "fxchain-host", "--example", "embed", "--"])
        .arg(dir)
        .current_dir(&root)
        .env("XDG_CACHE_HOME", tempfile::tempdir().unwrap().keep())
        .output()
        .expect("cargo run --example embed");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", out, String::from_utf8_lossy(&o.stderr));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "input 64x48 first pixel [0, 0, 100, 255]");
    // Inverted, then halved in width (height kept in proportion).
    assert!(lines[1].starts_with("output 32x24 first pixel ["), "{out}");
    let first: Vec<u8> =
        lines[1].rsplit('[').next().unwrap().trim_end_matches(']').split(", ").map(|v| v.parse().unwrap()).collect();
    assert!(first[0] >= 250 && first[1] >= 250, "{out}");
    assert_eq!((first[2], first[3]), (155, 255), "{out}");
    // Blue is 100 everywhere, inverted to 155; alpha stays opaque.
    assert!(lines[2].ends_with("155.00 255.00"), "{out}");
}
