//! Every standard effect against an obviously-correct reference (a formula, a direct f64
//! filter) or a golden image, plus the invariants every effect keeps.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_host::api::{EffectKind, Size, Tier};
use fxchain_host::chain;
use fxchain_host::{ChainSource, Frame, RenderOptions};
use proptest::prelude::*;

use crate::golden;
use crate::support::{random_rgba8, registry, root};

type Px = [f64; 4];
type Formula = Box<dyn Fn(Px) -> Px>;
type IndexFn<'a> = &'a dyn Fn(i64, usize) -> Option<usize>;
type BlendFn = fn(f64, f64) -> f64;

/// Renders a one-step chain on `input`; returns the output as RGBA8 and its size.
fn apply(effect: &str, params: &str, input: &Frame) -> (Size, Vec<u8>) {
    let text = format!(r#"(steps: [(effect: "{effect}", params: {{{params}}})])"#);
    let out = run(&text, Some(input));
    (out.size(), out.to_rgba8_vec())
}

fn run(text: &str, input: Option<&Frame>) -> Arc<Frame> {
    run_opts(text, input, &RenderOptions::default())
}

fn run_opts(text: &str, input: Option<&Frame>, opts: &RenderOptions) -> Arc<Frame> {
    let reg = registry();
    let chain = chain::validate(ChainSource::from_text("t.ron", text), reg, &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut map = HashMap::new();
    if let Some(f) = input {
        map.insert("input".to_string(), Arc::new(f.clone()));
    }
    fxchain_host::render(&chain, reg, &map, opts).unwrap_or_else(|e| panic!("{e}")).outputs[0].clone()
}

fn frame(w: u32, h: u32, seed: u64, opaque: bool) -> (Frame, Vec<u8>) {
    let px = random_rgba8(w, h, seed, opaque);
    (Frame::from_rgba8(Size::new(w, h), &px), px)
}

fn to_u8(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

/// Applies `f` to every pixel (as 0..1 floats) of `px`.
fn map_px(px: &[u8], f: &dyn Fn(Px) -> Px) -> Vec<u8> {
    px.chunks(4)
        .flat_map(|p| {
            let v = f([p[0] as f64 / 255.0, p[1] as f64 / 255.0, p[2] as f64 / 255.0, p[3] as f64 / 255.0]);
            v.map(to_u8)
        })
        .collect()
}

fn luma(p: Px) -> f64 {
    0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]
}

fn rgb(p: Px, f: impl Fn(f64) -> f64) -> Px {
    [f(p[0]), f(p[1]), f(p[2]), p[3]]
}

#[test]
fn point_effects_match_their_formulas() {
    let cases: Vec<(&str, &str, Formula)> = vec![
        ("color.brightness", r#""amount": 1.3"#, Box::new(|p| rgb(p, |c| c * 1.3))),
        ("color.contrast", r#""amount": 1.4, "pivot": 0.45"#, Box::new(|p| rgb(p, |c| (c - 0.45) * 1.4 + 0.45))),
        ("color.gamma", r#""gamma": 2.2"#, Box::new(|p| rgb(p, |c| c.powf(1.0 / 2.2)))),
        (
            "color.levels",
            r#""in_black": 0.1, "in_white": 0.9, "gamma": 1.5, "out_black": 0.05, "out_white": 0.95"#,
            Box::new(|p| rgb(p, |c| 0.05 + ((c - 0.1) / 0.8).clamp(0.0, 1.0).powf(1.0 / 1.5) * 0.9)),
        ),
        ("color.invert", "", Box::new(|p| rgb(p, |c| 1.0 - c))),
        ("color.posterize", r#""levels": 3"#, Box::new(|p| rgb(p, |c| (c * 2.0).round() / 2.0))),
        (
            "color.threshold",
            r#""level": 0.4"#,
            Box::new(|p| {
                let v = if luma(p) >= 0.4 { 1.0 } else { 0.0 };
                [v, v, v, p[3]]
            }),
        ),
        (
            "color.saturation",
            r#""amount": 1.7"#,
            Box::new(|p| {
                let l = luma(p);
                rgb(p, |c| l + (c - l) * 1.7)
            }),
        ),
        (
            "color.grayscale",
            "",
            Box::new(|p| {
                let l = luma(p);
                [l, l, l, p[3]]
            }),
        ),
        (
            "color.sepia",
            r#""amount": 0.6"#,
            Box::new(|p| {
                let s = [
                    0.393 * p[0] + 0.769 * p[1] + 0.189 * p[2],
                    0.349 * p[0] + 0.686 * p[1] + 0.168 * p[2],
                    0.272 * p[0] + 0.534 * p[1] + 0.131 * p[2],
                ];
                [p[0] + (s[0] - p[0]) * 0.6, p[1] + (s[1] - p[1]) * 0.6, p[2] + (s[2] - p[2]) * 0.6, p[3]]
            }),
        ),
        (
            "color.tint",
            r##""color": "#ff8000", "amount": 0.5"##,
            Box::new(|p| {
                let l = luma(p);
                let c = [1.0, 128.0 / 255.0, 0.0];
                [p[0] + (l * c[0] - p[0]) * 0.5, p[1] + (l * c[1] - p[1]) * 0.5, p[2] + (l * c[2] - p[2]) * 0.5, p[3]]
            }),
        ),
        (
            "color.balance",
            r#""red": 0.2, "green": -0.1, "blue": 0.05, "midtones": 1.0"#,
            Box::new(|p| {
                let w = |c: f64| 4.0 * c * (1.0 - c);
                [p[0] + 0.2 * w(p[0]), p[1] - 0.1 * w(p[1]), p[2] + 0.05 * w(p[2]), p[3]]
            }),
        ),
        (
            "color.hue",
            r#""degrees": 0.0"#,
            Box::new(|p| p), // identity at 0°; rotation properties are checked below
        ),
    ];
    let (input, px) = frame(23, 17, 3, false);
    for (id, params, f) in &cases {
        let (size, got) = apply(id, params, &input);
        assert_eq!(size, Size::new(23, 17), "{id}");
        let want = map_px(&px, f.as_ref());
        let d = max_diff(&got, &want);
        assert!(d <= 1, "{id}: max difference {d}");
    }
}

#[test]
fn hue_rotation_keeps_luma_and_three_thirds_make_a_turn() {
    let (input, px) = frame(16, 16, 4, true);
    let (_, once) = apply("color.hue", r#""degrees": 120.0"#, &input);
    for (a, b) in px.chunks(4).zip(once.chunks(4)) {
        let l = |p: &[u8]| 0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64;
        // Clamping to 0..255 can change luma for saturated colours; most pixels keep it.
        if b[..3].iter().all(|&c| c > 0 && c < 255) {
            assert!((l(a) - l(b)).abs() <= 1.5, "{a:?} -> {b:?}");
        }
    }
    let full = run(
        r#"(precision: F32, steps: [(effect: "color.hue", params: {"degrees": 120.0}), (effect: "color.hue", params: {"degrees": 120.0}), (effect: "color.hue", params: {"degrees": 120.0})])"#,
        Some(&input),
    );
    assert!(max_diff(&full.to_rgba8_vec(), &px) <= 1);
}

#[test]
fn vignette_darkens_corners_and_keeps_the_centre() {
    let white = Frame::from_rgba8(Size::new(41, 31), &[255; 41 * 31 * 4]);
    let (_, out) = apply("color.vignette", r#""strength": 1.0, "radius": 0.5, "softness": 0.3"#, &white);
    let at = |x: usize, y: usize| out[(y * 41 + x) * 4];
    assert_eq!(at(20, 15), 255);
    assert_eq!(at(0, 0), 0);
    assert!(at(10, 15) > at(2, 15));
}

/// A reference convolution with border handling: `index` maps a coordinate into the image or
/// says it is transparent.
fn convolve_ref(px: &[u8], w: usize, h: usize, k: &[f64], index: &dyn Fn(i64, usize) -> Option<usize>) -> Vec<u8> {
    let r = (k.len() / 2) as i64;
    let mut out = vec![0u8; px.len()];
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let mut acc = [0.0f64; 4];
            for dy in -r..=r {
                for dx in -r..=r {
                    let (Some(sx), Some(sy)) = (index(x + dx, w), index(y + dy, h)) else { continue };
                    let wgt = k[(dy + r) as usize] * k[(dx + r) as usize];
                    let p = &px[(sy * w + sx) * 4..][..4];
                    let a = p[3] as f64 / 255.0;
                    for c in 0..3 {
                        acc[c] += wgt * p[c] as f64 * a;
                    }
                    acc[3] += wgt * a;
                }
            }
            let o = &mut out[(y as usize * w + x as usize) * 4..][..4];
            for c in 0..3 {
                o[c] = if acc[3] > 1e-9 { (acc[c] / acc[3]).round().clamp(0.0, 255.0) as u8 } else { 0 };
            }
            o[3] = (acc[3] * 255.0).round() as u8;
        }
    }
    out
}

fn gauss(sigma: f64) -> Vec<f64> {
    let r = (3.0 * sigma).ceil() as i64;
    let k: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let s: f64 = k.iter().sum();
    k.iter().map(|v| v / s).collect()
}

fn clamp_idx(i: i64, n: usize) -> Option<usize> {
    Some(i.clamp(0, n as i64 - 1) as usize)
}

#[test]
fn gaussian_and_box_blur_match_direct_convolution_for_every_border() {
    let (input, px) = frame(29, 19, 5, false);
    let mirror = |i: i64, n: usize| {
        let n = n as i64;
        let p = 2 * (n - 1);
        let m = i.rem_euclid(p);
        Some(if m < n { m } else { p - m } as usize)
    };
    let wrap = |i: i64, n: usize| Some(i.rem_euclid(n as i64) as usize);
    let transparent = |i: i64, n: usize| (0..n as i64).contains(&i).then_some(i as usize);
    let borders: [(&str, IndexFn); 4] =
        [("clamp", &clamp_idx), ("mirror", &mirror), ("wrap", &wrap), ("transparent", &transparent)];
    for (name, idx) in borders {
        let (_, got) = apply("blur.gaussian", &format!(r#""sigma": 1.6, "border": "{name}""#), &input);
        let want = convolve_ref(&px, 29, 19, &gauss(1.6), idx);
        // Straight colour of nearly transparent pixels is ill-conditioned: compare where alpha > 8.
        let d = got.chunks(4).zip(want.chunks(4)).filter(|(_, w)| w[3] > 8).map(|(g, w)| max_diff(g, w)).max().unwrap();
        assert!(d <= 2, "gaussian {name}: {d}");
        let (_, got) = apply("blur.box", &format!(r#""radius": 2, "border": "{name}""#), &input);
        let want = convolve_ref(&px, 29, 19, &[0.2; 5], idx);
        let d = got.chunks(4).zip(want.chunks(4)).filter(|(_, w)| w[3] > 8).map(|(g, w)| max_diff(g, w)).max().unwrap();
        assert!(d <= 2, "box {name}: {d}");
    }
}

#[test]
fn blurs_do_not_bleed_colour_from_transparent_pixels() {
    // Left half transparent red, right half opaque blue.
    let (w, h) = (20u32, 6u32);
    let px: Vec<u8> = (0..w * h).flat_map(|i| if i % w < 10 { [255, 0, 0, 0] } else { [0, 0, 255, 255] }).collect();
    let input = Frame::from_rgba8(Size::new(w, h), &px);
    for (id, params) in [
        ("blur.gaussian", r#""sigma": 3.0"#),
        ("blur.gaussian.fast", r#""sigma": 3.0"#),
        ("blur.box", r#""radius": 3"#),
        ("geometry.resize", r#""width": 7"#),
    ] {
        let (_, out) = apply(id, params, &input);
        for p in out.chunks(4).filter(|p| p[3] > 0) {
            assert!(p[0] <= 1, "{id}: red bled into {p:?}");
        }
    }
}

#[test]
fn blurs_through_a_transparent_border_keep_an_opaque_images_colour() {
    // Reading transparent black outside makes the rim translucent; its colour must stay white
    // (straight alpha). Taken as opaque, the premultiplied average came out as a dark rim:
    // (82, 82, 82, 82) in the corner of the σ = 3 Gaussian instead of (255, 255, 255, 82).
    let white = Frame::from_rgba8(Size::new(64, 64), &[255; 64 * 64 * 4]);
    assert!(white.is_opaque());
    for format in ["", "precision: F32, "] {
        for (id, params) in [
            ("blur.gaussian", r#""sigma": 3.0"#),
            ("blur.gaussian.fast", r#""sigma": 3.0"#),
            ("blur.gaussian.fast", r#""sigma": 0.7"#),
            ("blur.box", r#""radius": 3"#),
            ("blur.motion", r#""angle": 30.0, "length": 8.0"#),
        ] {
            let text = format!(r#"({format}steps: [(effect: "{id}", params: {{{params}, "border": "transparent"}})])"#);
            let got = run(&text, Some(&white)).to_rgba8_vec();
            let px: Vec<&[u8]> = got.chunks(4).collect();
            assert_eq!(px[32 * 64 + 32], [255; 4], "{format}{id} {params}: the middle reads no border");
            assert!(px[0][3] < 200, "{format}{id} {params}: the corner is translucent, got {:?}", px[0]);
            let wrong: Vec<_> = px.iter().enumerate().filter(|(_, p)| p[3] > 0 && p[..3] != [255; 3]).take(3).collect();
            assert!(wrong.is_empty(), "{format}{id} {params}: translucent pixels with another colour: {wrong:?}");
            if id == "blur.gaussian" {
                assert_eq!(px[0], [255, 255, 255, 82], "{format}corner of the σ = 3 Gaussian");
            }
        }
    }
}

#[test]
fn gaussian_keeps_flat_images_at_any_sigma() {
    // The 8-bit fixed-point kernel lost DC gain at large σ: (0, 255, 0, 255) became (4, 252, 4,
    // 252) at σ = 250, black became 1 from σ ≈ 40 and opaque alpha 254 from σ ≈ 80; unsharp
    // masking added the lost level back twice. Small frames: the kernel only needs to reach out.
    for colour in [[0, 255, 0, 255], [0, 0, 0, 255], [77, 128, 200, 255]] {
        let flat = Frame::from_rgba8(Size::new(24, 20), &colour.repeat(24 * 20));
        // F32 was exact before: one colour keeps it so.
        let formats: &[&str] = if colour == [0, 255, 0, 255] { &["", "precision: F32, "] } else { &[""] };
        for format in formats {
            for (id, params) in [
                ("blur.gaussian", r#""sigma": 40.0"#),
                ("blur.gaussian", r#""sigma": 80.0"#),
                ("blur.gaussian", r#""sigma": 250.0"#),
                ("blur.gaussian.fast", r#""sigma": 250.0"#),
                ("sharpen.unsharp", r#""sigma": 100.0, "amount": 2.0"#),
            ] {
                let text = format!(r#"({format}steps: [(effect: "{id}", params: {{{params}}})])"#);
                let got = run(&text, Some(&flat)).to_rgba8_vec();
                let off: Vec<_> = got.chunks(4).enumerate().filter(|(_, p)| *p != colour).take(3).collect();
                assert!(off.is_empty(), "{format}{id} {params} on {colour:?}: {off:?}");
            }
        }
    }
}

#[test]
fn median_and_unsharp_match_references() {
    let (input, px) = frame(21, 15, 6, true);
    let (_, got) = apply("blur.median", r#""radius": 1"#, &input);
    for y in 0..15i64 {
        for x in 0..21i64 {
            for c in 0..4 {
                let mut v: Vec<u8> = (-1..=1)
                    .flat_map(|dy| (-1..=1).map(move |dx| (dx, dy)))
                    .map(|(dx, dy)| px[((y + dy).clamp(0, 14) as usize * 21 + (x + dx).clamp(0, 20) as usize) * 4 + c])
                    .collect();
                v.sort();
                assert_eq!(got[(y as usize * 21 + x as usize) * 4 + c], v[4], "median at {x},{y}");
            }
        }
    }
    let (_, got) = apply("sharpen.unsharp", r#""sigma": 1.2, "amount": 0.8"#, &input);
    let blur = convolve_ref(&px, 21, 15, &gauss(1.2), &clamp_idx);
    let want: Vec<u8> = px
        .iter()
        .zip(&blur)
        .enumerate()
        .map(
            |(i, (&o, &b))| {
                if i % 4 == 3 {
                    o
                } else {
                    (o as f64 + 0.8 * (o as f64 - b as f64)).round().clamp(0.0, 255.0) as u8
                }
            },
        )
        .collect();
    assert!(max_diff(&got, &want) <= 2, "unsharp {}", max_diff(&got, &want));
}

#[test]
fn motion_blur_matches_line_sampling() {
    let (input, px) = frame(24, 12, 7, true);
    let (_, got) = apply("blur.motion", r#""angle": 0.0, "length": 4.0"#, &input);
    // Horizontal, length 4: five samples at offsets -2..=2 on the pixel grid (no interpolation).
    for y in 0..12usize {
        for x in 0..24i64 {
            for c in 0..3 {
                let s: f64 =
                    (-2..=2).map(|d| px[(y * 24 + (x + d).clamp(0, 23) as usize) * 4 + c] as f64).sum::<f64>() / 5.0;
                let g = got[(y * 24 + x as usize) * 4 + c];
                assert!((g as f64 - s).abs() <= 1.0, "({x},{y}) {g} vs {s}");
            }
        }
    }
}

#[test]
fn edge_effects_match_direct_formulas() {
    let (input, px) = frame(18, 14, 8, true);
    let l = |x: i64, y: i64| {
        let p = &px[((y.clamp(0, 13) as usize) * 18 + x.clamp(0, 17) as usize) * 4..][..3];
        (0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64) / 255.0
    };
    let (_, sobel) = apply("edges.sobel", r#""scale": 0.5"#, &input);
    let (_, lap) = apply("edges.laplacian", "", &input);
    for y in 0..14i64 {
        for x in 0..18i64 {
            let gx = l(x + 1, y - 1) + 2.0 * l(x + 1, y) + l(x + 1, y + 1)
                - l(x - 1, y - 1)
                - 2.0 * l(x - 1, y)
                - l(x - 1, y + 1);
            let gy = l(x - 1, y + 1) + 2.0 * l(x, y + 1) + l(x + 1, y + 1)
                - l(x - 1, y - 1)
                - 2.0 * l(x, y - 1)
                - l(x + 1, y - 1);
            let i = (y as usize * 18 + x as usize) * 4;
            assert!(sobel[i].abs_diff(to_u8(0.5 * (gx * gx + gy * gy).sqrt())) <= 1);
            let lv = (l(x - 1, y) + l(x + 1, y) + l(x, y - 1) + l(x, y + 1) - 4.0 * l(x, y)).abs();
            assert!(lap[i].abs_diff(to_u8(lv)) <= 1);
            assert_eq!(sobel[i + 3], 255);
        }
    }
    // Emboss of a flat image is mid grey.
    let flat = Frame::from_rgba8(Size::new(9, 9), &[77; 9 * 9 * 4]);
    let (_, e) = apply("edges.emboss", "", &flat);
    assert!(e.chunks(4).all(|p| p[0] == 128 && p[1] == 128 && p[2] == 128));
}

#[test]
fn glitch_effects_match_references() {
    let (input, px) = frame(26, 20, 9, true);
    // Pixelate: block means.
    let (_, got) = apply("glitch.pixelate", r#""block": 4"#, &input);
    for by in (0..20).step_by(4) {
        for bx in (0..26).step_by(4) {
            for c in 0..3 {
                let cells: Vec<f64> = (by..(by + 4).min(20))
                    .flat_map(|y| (bx..(bx + 4).min(26)).map(move |x| (x, y)))
                    .map(|(x, y)| px[(y * 26 + x) * 4 + c] as f64)
                    .collect();
                let mean = cells.iter().sum::<f64>() / cells.len() as f64;
                assert!((got[(by * 26 + bx) * 4 + c] as f64 - mean).abs() <= 1.0);
            }
        }
    }
    // RGB shift: red from the left, blue from the right.
    let (_, got) = apply("glitch.rgb_shift", r#""dx": 2.0"#, &input);
    for y in 0..20 {
        for x in 0..26usize {
            let i = (y * 26 + x) * 4;
            assert_eq!(got[i], px[(y * 26 + x.saturating_sub(2)) * 4]);
            assert_eq!(got[i + 1], px[i + 1]);
            assert_eq!(got[i + 2], px[(y * 26 + (x + 2).min(25)) * 4 + 2]);
        }
    }
    // Scanlines: every third row darkened by 40 %.
    let (_, got) = apply("glitch.scanlines", r#""period": 3, "thickness": 1, "strength": 0.4"#, &input);
    let want: Vec<u8> = px
        .iter()
        .enumerate()
        .map(|(i, &v)| if (i / 4 / 26) % 3 == 0 && i % 4 != 3 { (v as f64 * 0.6).round() as u8 } else { v })
        .collect();
    assert!(max_diff(&got, &want) <= 1);
    // Additive noise: zero mean, the requested deviation.
    let grey = Frame::from_rgba8(Size::new(128, 128), &[128; 128 * 128 * 4]);
    let (_, got) = apply("glitch.noise", r#""sigma": 0.05"#, &grey);
    let d: Vec<f64> =
        got.chunks(4).flat_map(|p| p[..3].iter().map(|&v| v as f64 - 128.0).collect::<Vec<_>>()).collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let sd = (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt();
    assert!(mean.abs() < 0.3, "mean {mean}");
    assert!((sd / (0.05 * 255.0) - 1.0).abs() < 0.05, "sd {sd}");
    // Shake: golden, and the weights sum to one (a flat image stays flat).
    let (_, flat) = apply("glitch.shake", r#""amount": 5.0"#, &Frame::from_rgba8(Size::new(12, 12), &[90; 576]));
    assert!(flat.iter().all(|&v| v == 90));
    let sample = sample_frame();
    let (s, got) = apply("glitch.shake", r#""amount": 6.0, "copies": 3"#, &sample);
    golden::check("glitch.shake", s.width, s.height, &got, 1);
}

#[test]
fn shake_through_a_transparent_border_keeps_an_opaque_images_colour() {
    // Ghosts reaching outside read transparent black, so the edges turn translucent; their colour
    // must stay white (straight alpha), not the premultiplied grey of an average taken as opaque.
    let white = Frame::from_rgba8(Size::new(64, 64), &[255; 64 * 64 * 4]);
    assert!(white.is_opaque());
    for format in ["", r#"precision: F32, "#] {
        let text = format!(
            r#"({format}steps: [(effect: "glitch.shake", params: {{"amount": 6.0, "border": "transparent"}})])"#
        );
        let got = run(&text, Some(&white)).to_rgba8_vec();
        let px: Vec<&[u8]> = got.chunks(4).collect();
        assert_eq!(px[32 * 64 + 32], [255; 4], "{format}the middle reads no border");
        let edges = px.iter().filter(|p| p[3] < 255).count();
        assert!(edges > 64, "{format}only {edges} translucent pixels");
        let wrong: Vec<_> = px.iter().enumerate().filter(|(_, p)| p[3] > 0 && p[..3] != [255; 3]).take(3).collect();
        assert!(wrong.is_empty(), "{format}translucent pixels with another colour: {wrong:?}");
    }
}

fn sample_frame() -> Frame {
    let img = image::open(root().join("examples/images/sample.png")).unwrap().to_rgba8();
    let img = image::imageops::resize(&img, 128, 96, image::imageops::FilterType::Triangle);
    Frame::from_rgba8(Size::new(128, 96), img.as_raw())
}

/// Direct separable resampling in f64 with the Pillow convention (see `library.rs` for Lanczos).
fn resample_ref(px: &[u8], w: usize, h: usize, ow: usize, oh: usize, support: f64, k: &dyn Fn(f64) -> f64) -> Vec<u8> {
    let weights = |n: usize, on: usize| -> Vec<Vec<(usize, f64)>> {
        let scale = n as f64 / on as f64;
        let fs = scale.max(1.0);
        (0..on)
            .map(|o| {
                let c = (o as f64 + 0.5) * scale;
                let lo = ((c - support * fs).floor() as i64).max(0) as usize;
                let hi = ((c + support * fs).ceil() as i64).min(n as i64) as usize;
                let ws: Vec<(usize, f64)> = (lo..hi).map(|i| (i, k((i as f64 + 0.5 - c) / fs))).collect();
                let s: f64 = ws.iter().map(|x| x.1).sum();
                ws.into_iter().map(|(i, v)| (i, v / s)).collect()
            })
            .collect()
    };
    let (wx, wy) = (weights(w, ow), weights(h, oh));
    let mut out = vec![0u8; ow * oh * 4];
    for (oy, ry) in wy.iter().enumerate() {
        for (ox, rx) in wx.iter().enumerate() {
            for c in 0..4 {
                let acc: f64 = ry
                    .iter()
                    .flat_map(|&(sy, a)| rx.iter().map(move |&(sx, b)| (sy, sx, a * b)))
                    .map(|(sy, sx, wgt)| wgt * px[(sy * w + sx) * 4 + c] as f64)
                    .sum();
                out[(oy * ow + ox) * 4 + c] = acc.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

#[test]
fn resize_kernels_match_the_direct_filter() {
    let (input, px) = frame(30, 22, 10, true);
    let tri = |x: f64| (1.0 - x.abs()).max(0.0);
    let cubic = |x: f64| {
        let (x, a) = (x.abs(), -0.5);
        if x < 1.0 {
            ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            (((x - 5.0) * x + 8.0) * x - 4.0) * a
        } else {
            0.0
        }
    };
    for (name, support, k) in [("bilinear", 1.0, &tri as &dyn Fn(f64) -> f64), ("bicubic", 2.0, &cubic)] {
        for (ow, oh) in [(15, 11), (41, 30)] {
            let (s, got) =
                apply("geometry.resize", &format!(r#""width": {ow}, "height": {oh}, "filter": "{name}""#), &input);
            assert_eq!(s, Size::new(ow as u32, oh as u32));
            let want = resample_ref(&px, 30, 22, ow, oh, support, k);
            assert!(max_diff(&got, &want) <= 1, "{name} {ow}x{oh}: {}", max_diff(&got, &want));
        }
    }
    // Nearest picks the source pixel under each output centre.
    let (_, got) = apply("geometry.resize", r#""width": 10, "height": 11, "filter": "nearest""#, &input);
    for oy in 0..11 {
        for ox in 0..10 {
            let (sx, sy) = ((ox as f64 + 0.5) * 3.0, (oy as f64 + 0.5) * 2.0);
            let i = (sy.floor() as usize * 30 + sx.floor() as usize) * 4;
            assert_eq!(&got[(oy * 10 + ox) * 4..][..4], &px[i..i + 4]);
        }
    }
    // Sizes: by width only, by scale, contain.
    assert_eq!(apply("geometry.resize", r#""width": 15"#, &input).0, Size::new(15, 11));
    assert_eq!(apply("geometry.resize", r#""scale": 2.0"#, &input).0, Size::new(60, 44));
    assert_eq!(apply("geometry.resize", r#""width": 20, "height": 20, "fit": "contain""#, &input).0, Size::new(20, 15));
}

#[test]
fn geometry_transforms_are_exact() {
    let (input, px) = frame(7, 5, 11, false);
    let at = |x: usize, y: usize| &px[(y * 7 + x) * 4..][..4];
    let (s, got) = apply("geometry.rotate", r#""angle": "90""#, &input);
    assert_eq!(s, Size::new(5, 7));
    for y in 0..7 {
        for x in 0..5 {
            assert_eq!(&got[(y * 5 + x) * 4..][..4], at(y, 4 - x));
        }
    }
    let (_, got) = apply("geometry.rotate", r#""angle": "270""#, &input);
    for y in 0..7 {
        for x in 0..5 {
            assert_eq!(&got[(y * 5 + x) * 4..][..4], at(6 - y, x));
        }
    }
    let (_, got) = apply("geometry.rotate", r#""angle": "180""#, &input);
    let (_, both) = apply("geometry.flip", r#""axis": "both""#, &input);
    assert_eq!(got, both);
    let (_, h) = apply("geometry.flip", r#""axis": "horizontal""#, &input);
    let (_, v) = apply("geometry.flip", r#""axis": "vertical""#, &input);
    for y in 0..5 {
        for x in 0..7 {
            assert_eq!(&h[(y * 7 + x) * 4..][..4], at(6 - x, y));
            assert_eq!(&v[(y * 7 + x) * 4..][..4], at(x, 4 - y));
        }
    }
    let (s, got) = apply("geometry.crop", r#""x": 2, "y": 1, "width": 3, "height": 10"#, &input);
    assert_eq!(s, Size::new(3, 4));
    assert_eq!(&got[..4], at(2, 1));
    let (s, got) = apply("geometry.pad", r##""top": 1, "left": 2, "right": 1, "color": "#ff000080""##, &input);
    assert_eq!(s, Size::new(10, 6));
    assert_eq!(&got[..4], &[255, 0, 0, 128]);
    assert_eq!(&got[(10 + 2) * 4..][..4], at(0, 0));
}

#[test]
fn composite_modes_match_the_w3c_formulas() {
    let (base, bpx) = frame(13, 9, 12, true);
    let (top, tpx) = frame(13, 9, 13, false);
    let modes: [(&str, BlendFn); 6] = [
        ("normal", |_, s| s),
        ("multiply", |b, s| b * s),
        ("screen", |b, s| b + s - b * s),
        ("overlay", |b, s| if b <= 0.5 { 2.0 * b * s } else { 1.0 - 2.0 * (1.0 - b) * (1.0 - s) }),
        ("add", |b, s| b + s),
        ("difference", |b, s| (b - s).abs()),
    ];
    for (mode, f) in modes {
        let text = format!(
            r#"(inputs: ["a", "b"], steps: [(effect: "composite.blend", inputs: ["a", "b"], params: {{"mode": "{mode}", "opacity": 0.7}})])"#
        );
        let reg = registry();
        let c = chain::validate(ChainSource::from_text("c.ron", text), reg, &[]).unwrap();
        let map = HashMap::from([("a".to_string(), Arc::new(base.clone())), ("b".to_string(), Arc::new(top.clone()))]);
        let got = fxchain_host::render(&c, reg, &map, &RenderOptions::default()).unwrap().outputs[0].to_rgba8_vec();
        for ((b, t), g) in bpx.chunks(4).zip(tpx.chunks(4)).zip(got.chunks(4)) {
            let n = |v: u8| v as f64 / 255.0;
            let (ab, as_) = (1.0, n(t[3]) * 0.7);
            let ao = as_ + ab * (1.0 - as_);
            for c in 0..3 {
                let mixed = (1.0 - ab) * n(t[c]) + ab * f(n(b[c]), n(t[c]));
                let want = (as_ * mixed + ab * n(b[c]) * (1.0 - as_)) / ao;
                assert!(g[c].abs_diff(to_u8(want)) <= 1, "{mode}: {b:?} + {t:?} -> {g:?}, want {want}");
            }
            assert_eq!(g[3], to_u8(ao));
        }
    }
}

#[test]
fn place_and_mask_compose_exactly() {
    let text = r##"(size: (8, 6), steps: [
        (id: "bg", effect: "generate.solid", params: {"color": "#000000"}),
        (id: "dot", effect: "generate.solid", params: {"color": "#ffffff"}),
        (id: "small", effect: "geometry.crop", input: "dot", params: {"width": 2, "height": 3}),
        (id: "placed", effect: "composite.place", inputs: ["bg", "small"], params: {"x": 5, "y": -1}),
        (id: "m", effect: "generate.gradient.linear", params: {"from": "#000000", "to": "#ffffff"}),
        (effect: "composite.mask", inputs: ["placed", "m"]),
    ], outputs: ["placed"])"##;
    let out = run(text, None).to_rgba8_vec();
    for y in 0..6 {
        for x in 0..8 {
            let white = (5..7).contains(&x) && y < 2;
            assert_eq!(out[(y * 8 + x) * 4], if white { 255 } else { 0 }, "({x},{y})");
        }
    }
    let masked = run(&text.replace(r#", outputs: ["placed"]"#, ""), None).to_rgba8_vec();
    assert!(masked[3] < 20 && masked[(7) * 4 + 3] > 230, "alpha ramps with the mask");
}

/// Every generator (and fast variant) against its golden image, and identical for any band split
/// and thread count.
#[test]
fn generators_match_golden_images_for_any_split_and_thread_count() {
    let reg = registry();
    let ids: Vec<String> = reg.all().filter(|e| e.kind == EffectKind::GENERATOR).map(|e| e.id.clone()).collect();
    assert!(ids.len() >= 14, "{ids:?}");
    for id in ids {
        let text = format!(r#"(seed: 5, size: (96, 64), steps: [(effect: "{id}")])"#);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let single =
            one.install(|| run_opts(&text, None, &RenderOptions { band_rows: Some(64), ..Default::default() }));
        let banded = run_opts(&text, None, &RenderOptions { band_rows: Some(3), ..Default::default() });
        let auto = run(&text, None);
        let px = single.to_rgba8_vec();
        assert_eq!(px, banded.to_rgba8_vec(), "{id}: band split changed pixels");
        assert_eq!(px, auto.to_rgba8_vec(), "{id}: thread count changed pixels");
        golden::check(&id, 96, 64, &px, 1);
    }
}

/// Voronoi borders are drawn within a distance of the bisector between neighbouring sites, so a
/// border has the same width all along (a difference of distances would fan out away from the
/// line between the sites).
#[test]
fn voronoi_edges_have_the_same_width_all_along_each_border() {
    // Without jitter the sites are the centres of a 32 px grid and the borders are the grid lines.
    let params =
        r##"{"cell": 32.0, "jitter": 0.0, "mode": "edges", "edge": 3.0, "low": "#000000", "high": "#ffffff"}"##;
    let text = format!(r#"(size: (128, 96), steps: [(effect: "generate.voronoi", params: {params})])"#);
    let px = run(&text, None).to_rgba8_vec();
    let ink = |x: usize, y: usize| px[(y * 128 + x) * 4] as f64 / 255.0;
    // Across each vertical border, on every row away from the horizontal ones, the ink adds up
    // to the edge width and is laid out the same way.
    for bx in [32, 64, 96] {
        let profile = |y: usize| (bx - 6..bx + 6).map(|x| ink(x, y)).collect::<Vec<_>>();
        for y in (0..96).filter(|y| (6..26).contains(&(y % 32))) {
            let width: f64 = profile(y).iter().sum();
            assert!((width - 3.0).abs() < 0.02, "border x={bx}, row {y}: {width:.3} px wide");
            assert_eq!(profile(y), profile(16), "border x={bx}, row {y}");
        }
    }
    // The same across the horizontal borders.
    for by in [32, 64] {
        for x in (0..128).filter(|x| (6..26).contains(&(x % 32))) {
            let width: f64 = (by - 6..by + 6).map(|y| ink(x, y)).sum();
            assert!((width - 3.0).abs() < 0.02, "border y={by}, column {x}: {width:.3} px wide");
        }
    }
    // And with jittered sites, as a golden image.
    let text = r#"(seed: 5, size: (96, 64), steps: [(effect: "generate.voronoi", params: {"mode": "edges"})])"#;
    golden::check("generate.voronoi.edges", 96, 64, &run(text, None).to_rgba8_vec(), 1);
}

/// `fit: "shrink"` is `contain` for large inputs and leaves inputs that already fit unchanged.
#[test]
fn resize_shrink_never_enlarges() {
    let (small, px) = frame(30, 22, 15, true);
    let (s, got) = apply("geometry.resize", r#""width": 64, "height": 64, "fit": "shrink""#, &small);
    assert_eq!(s, Size::new(30, 22));
    assert_eq!(got, px);
    assert_eq!(apply("geometry.resize", r#""width": 64, "height": 64, "fit": "contain""#, &small).0, Size::new(64, 47));
    let (large, _) = frame(150, 110, 16, false);
    let box64 = |fit: &str| apply("geometry.resize", &format!(r#""width": 64, "height": 64, "fit": "{fit}""#), &large);
    let (s, shrunk) = box64("shrink");
    assert_eq!(s, Size::new(64, 47));
    assert_eq!(shrunk, box64("contain").1);
    let (s, got) = apply("geometry.resize.fast", r#""width": 64, "height": 0, "fit": "shrink""#, &small);
    assert_eq!((s, got), (Size::new(30, 22), px));
}

/// The fast resize follows `filter` and stays close to the reference on the photo: when both
/// sides shrink by 2 or more it runs a 2:1 stage of six taps of the filter's own kernel, then
/// the filter for the rest; other ratios take the next shorter kernel.
#[test]
fn fast_resize_honours_the_filter_and_tracks_the_reference_on_the_photo() {
    let photo = fxchain_host::probe::photo_probe(Size::new(256, 192));
    let cases = [
        ("lanczos3", 0.5, 48.0),
        ("bicubic", 0.5, 49.5),
        ("bilinear", 0.5, 56.0),
        ("lanczos3", 0.3333, 50.0),
        ("lanczos3", 0.4, 46.5),
        ("lanczos3", 0.25, 53.5),
        ("lanczos3", 0.7, 47.5),
        ("lanczos3", 2.0, 47.5),
    ];
    let mut halves = Vec::new();
    for (filter, scale, min_db) in cases {
        let params = format!(r#""scale": {scale}, "filter": "{filter}""#);
        let chain = |effect: &str| format!(r#"(steps: [(effect: "{effect}", params: {{{params}}})])"#);
        let reference = run(&chain("geometry.resize"), Some(&photo));
        let fast = run(&chain("geometry.resize.fast"), Some(&photo));
        assert_eq!(fast.size(), reference.size(), "{filter} {scale}");
        let db = fxchain_host::probe::psnr_rgb(&reference, &fast);
        assert!(db.is_finite() && db >= min_db, "{filter} at {scale}: {db:.1} dB, want at least {min_db}");
        if scale == 0.5 {
            halves.push(fast.to_rgba8_vec());
        }
    }
    // Each filter gives its own pixels.
    assert!(halves[0] != halves[1] && halves[1] != halves[2] && halves[0] != halves[2]);
    // The box filter at ½ is the reference's 2×2 means (within rounding).
    let box_half = |effect: &str| apply(effect, r#""scale": 0.5, "filter": "box""#, &photo).1;
    assert!(max_diff(&box_half("geometry.resize"), &box_half("geometry.resize.fast")) <= 1);
}

/// Bands of any height give the pixels of one band through the 2:1 stage (exact half, and
/// with the rest of the reduction on odd sizes) and through the next shorter kernel (an odd
/// side at ½).
#[test]
fn fast_resize_bands_give_the_pixels_of_one_band() {
    let (odd, even) = (Size::new(203, 131), Size::new(202, 130));
    let cases = [
        (even, r#""scale": 0.5"#),
        (odd, r#""scale": 0.3333"#),
        (odd, r#""width": 90, "height": 59, "filter": "bicubic""#),
        (odd, r#""scale": 0.5"#),
    ];
    for (size, params) in cases {
        let photo = fxchain_host::probe::photo_probe(size);
        let text = format!(r#"(steps: [(effect: "geometry.resize.fast", params: {{{params}}})])"#);
        let whole = run_opts(&text, Some(&photo), &RenderOptions { band_rows: Some(1000), ..Default::default() });
        for rows in [1, 2, 7] {
            let banded = run_opts(&text, Some(&photo), &RenderOptions { band_rows: Some(rows), ..Default::default() });
            assert_eq!(whole.to_rgba8_vec(), banded.to_rgba8_vec(), "{params}, bands of {rows} rows");
        }
    }
}

#[test]
fn example_chains_match_their_golden_images() {
    let sample = image::open(root().join("examples/images/sample.png")).unwrap().to_rgba8();
    let input = Frame::from_rgba8(Size::new(sample.width(), sample.height()), sample.as_raw());
    for name in [
        "demo",
        "photo",
        "thumbnail",
        "glitch",
        "sigil-on-parchment",
        "color",
        "blur",
        "edges",
        "generators",
        "geometry",
    ] {
        let text = std::fs::read_to_string(root().join(format!("examples/chains/{name}.ron"))).unwrap();
        let out = run(&text, Some(&input));
        let s = out.size();
        golden::check(&format!("chain-{name}"), s.width, s.height, &out.to_rgba8_vec(), 1);
    }
}

#[test]
fn fast_variants_stay_within_30_db_of_their_reference() {
    let reg = registry();
    let variants: Vec<_> = reg.all().filter(|e| e.tier == Tier::FAST).cloned().collect();
    assert!(variants.len() >= 5);
    let sample = sample_frame();
    for v in variants {
        let report = fxchain_host::probe::compare_variant(reg, &v, Size::new(256, 256), 1).expect("a variant").unwrap();
        assert!(report.psnr >= 30.0, "{}: {:.1} dB on the probe", v.id, report.psnr);
        println!("{}: {:.1} dB, {:.2}x (256² probe, test build)", v.id, report.psnr, report.speedup());
        if v.kind == EffectKind::FILTER {
            // And on the sample image, through a chain's quality profile.
            let reference = v.variant_of.clone().unwrap();
            let q = run(&format!(r#"(quality: Quality, steps: [(effect: "{reference}")])"#), Some(&sample));
            let f = run(&format!(r#"(quality: Fast, steps: [(effect: "{reference}")])"#), Some(&sample));
            let db = fxchain_host::probe::psnr(&q, &f);
            assert!(db >= 30.0, "{}: {db:.1} dB on the sample", v.id);
        }
    }
}

/// The filters that take one input, with default parameters.
fn filters() -> Vec<String> {
    registry().all().filter(|e| e.kind == EffectKind::FILTER).map(|e| e.id.clone()).collect()
}

#[test]
fn identity_parameters_give_the_identical_image() {
    let (input, px) = frame(17, 13, 14, false);
    for (id, params) in [
        ("color.brightness", r#""amount": 1.0"#),
        ("color.contrast", r#""amount": 1.0"#),
        ("color.gamma", r#""gamma": 1.0"#),
        ("color.saturation", r#""amount": 1.0"#),
        ("color.hue", r#""degrees": 0.0"#),
        ("color.levels", ""),
        ("color.sepia", r#""amount": 0.0"#),
        ("color.tint", r#""amount": 0.0"#),
        ("color.balance", ""),
        ("color.vignette", r#""strength": 0.0"#),
        ("blur.gaussian", r#""sigma": 0.0"#),
        ("blur.gaussian.fast", r#""sigma": 0.0"#),
        ("blur.box", r#""radius": 0"#),
        ("blur.median", r#""radius": 0"#),
        ("blur.motion", r#""length": 0.0"#),
        ("sharpen.unsharp", r#""amount": 0.0"#),
        ("glitch.pixelate", r#""block": 1"#),
        ("glitch.rgb_shift", r#""dx": 0.0"#),
        ("glitch.scanlines", r#""strength": 0.0"#),
        ("glitch.noise", r#""sigma": 0.0"#),
        ("geometry.crop", ""),
        ("geometry.pad", ""),
        ("geometry.resize", r#""scale": 1.0"#),
    ] {
        let (size, got) = apply(id, params, &input);
        assert_eq!(size, Size::new(17, 13), "{id}");
        // Fully transparent pixels may lose their (invisible) colour.
        let d = got.chunks(4).zip(px.chunks(4)).filter(|(_, p)| p[3] > 0).map(|(g, p)| max_diff(g, p)).max().unwrap();
        assert!(d == 0 || (d <= 1 && id.starts_with("blur")), "{id}: differs by {d}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Every filter runs on tiny and thin images (1×1, 1×N, N×1) and keeps the size unless it is
    /// a geometry effect.
    #[test]
    fn every_filter_handles_any_size(w in 1u32..24, h in 1u32..24, seed in 0u64..1000) {
        let (input, _) = frame(w, h, seed, seed % 2 == 0);
        for id in filters() {
            let e = registry().effect(&id).unwrap().clone();
            let (size, px) = apply(&id, "", &input);
            prop_assert_eq!(px.len(), (size.width * size.height * 4) as usize);
            if !id.starts_with("geometry.") {
                prop_assert_eq!(size, Size::new(w, h), "{} changed the size", id);
            }
            let _ = e;
        }
    }
}

#[test]
fn one_by_one_and_lines_work_for_every_filter() {
    for (w, h) in [(1, 1), (1, 9), (9, 1)] {
        let (input, _) = frame(w, h, 1, true);
        for id in filters() {
            let (size, _) = apply(&id, "", &input);
            assert!(size.width >= 1 && size.height >= 1, "{id} on {w}x{h}");
        }
    }
}
