//! Streaming execution: the pixels of every example, workload and test chain streamed in strips
//! equal the materialised render's, for several strip heights and thread counts.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_host::api::PixelFormat;
use fxchain_host::stream::{stream_to_frames, StreamOptions};
use fxchain_host::{chain, ChainSource, Frame, RenderOptions};

use crate::support::{registry, root};

/// Chains exercising what the example chains do not: branches into a compositor, a vertical flip
/// and a rotation (whole-input footprints), float precision, disabled steps, several outputs, a
/// point step first, point steps behind an area filter, and a step read twice.
const TEST_CHAINS: &[(&str, &str)] = &[
    (
        "branches",
        r#"(steps: [
            (id: "soft", effect: "blur.gaussian", params: {"sigma": 2.5}),
            (id: "edges", effect: "edges.sobel", inputs: ["input"]),
            (effect: "composite.blend", inputs: ["soft", "edges"], params: {"mode": "screen"}),
            (effect: "color.contrast", params: {"amount": 1.3}),
        ])"#,
    ),
    (
        "flips",
        r#"(steps: [
            (effect: "color.brightness", params: {"amount": 1.2}),
            (effect: "geometry.flip", params: {"axis": "vertical"}),
            (effect: "blur.gaussian", params: {"sigma": 1.0}),
            (effect: "geometry.rotate", params: {"angle": "90"}),
            (effect: "color.invert"),
        ])"#,
    ),
    (
        "float",
        r#"(precision: F32, steps: [
            (effect: "color.gamma", params: {"gamma": 1.4}),
            (effect: "sharpen.unsharp", params: {"sigma": 1.5, "amount": 0.6}),
            (effect: "color.saturation", params: {"amount": 1.3}),
            (effect: "geometry.resize", params: {"width": 70, "height": 45, "filter": "bicubic"}),
        ])"#,
    ),
    (
        "outputs",
        r#"(steps: [
            (id: "a", effect: "color.hue", params: {"degrees": 40.0}),
            (id: "off", effect: "blur.gaussian", enabled: false),
            (id: "b", effect: "blur.box", params: {"radius": 3}),
            (id: "small", effect: "geometry.resize", inputs: ["a"], params: {"width": 33, "height": 21}),
        ], outputs: ["b", "small", "a"])"#,
    ),
];

fn chains() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["examples/chains", "benches/chains"] {
        let mut files: Vec<_> = std::fs::read_dir(root().join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "ron")) {
            out.push((f.display().to_string(), std::fs::read_to_string(&f).unwrap()));
        }
    }
    out.extend(TEST_CHAINS.iter().map(|(n, t)| (n.to_string(), t.to_string())));
    out
}

fn sample(max: u32) -> Arc<Frame> {
    let f = fxchain_host::io::load_image(
        &root().join("examples/images/sample.png"),
        PixelFormat::RGBA8,
        Default::default(),
    )
    .unwrap();
    Arc::new(fxchain_host::io::fit_within(&f, max))
}

fn bytes(f: &Frame) -> Vec<u8> {
    if f.format() == PixelFormat::RGBA8 {
        f.to_rgba8_vec()
    } else {
        f.to_rgba32f_vec().iter().flat_map(|v| v.to_bits().to_le_bytes()).collect()
    }
}

fn check(name: &str, text: &str, image: &Arc<Frame>, strips: &[u32], threads: &[usize]) {
    let reg = registry();
    let mut c = chain::validate(ChainSource::from_text(name, text), reg, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    if let Some(s) = c.size {
        // Generator chains: a smaller canvas keeps the strip-of-one runs quick.
        let k = (s.width.max(s.height) as f64 / image.size().width.max(image.size().height) as f64).max(1.0);
        c.size = Some(fxchain_host::api::Size::new(
            ((s.width as f64 / k) as u32).max(1),
            ((s.height as f64 / k) as u32).max(1),
        ));
    }
    let inputs: HashMap<String, Arc<Frame>> = c.inputs.iter().map(|n| (n.clone(), image.clone())).collect();
    let opts = RenderOptions::default();
    let expected: Vec<Vec<u8>> = match fxchain_host::render(&c, reg, &inputs, &opts) {
        Ok(r) => r.outputs.iter().map(|f| bytes(f)).collect(),
        Err(e) => {
            // Too small for this chain (a crop outside the image): streaming says the same.
            let s = stream_to_frames(&c, reg, &inputs, &StreamOptions { render: &opts, strip_rows: Some(7) });
            let streamed = s.err().map(|e| e.to_string()).unwrap_or_default();
            assert_eq!(streamed, e.to_string(), "{name}: the streamed render fails as the materialised one");
            return;
        }
    };
    for &t in threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
        for &strip in strips {
            let (frames, reports) = pool
                .install(|| {
                    stream_to_frames(&c, reg, &inputs, &StreamOptions { render: &opts, strip_rows: Some(strip) })
                })
                .unwrap_or_else(|e| panic!("{name}, strips of {strip}, {t} threads: {e}"));
            assert_eq!(frames.len(), expected.len(), "{name}: outputs");
            for (o, (f, e)) in frames.iter().zip(&expected).enumerate() {
                if bytes(f) != *e {
                    let first = pool.install(|| first_differing_step(&c, &inputs, strip));
                    panic!("{name}: output {o} differs streamed in strips of {strip} on {t} threads; first at {first}");
                }
            }
            let ran = reports.iter().filter(|r| !r.skipped).count();
            let disabled = reports.iter().filter(|r| r.skipped).count();
            assert_eq!(ran + disabled, reports.len());
            assert!(reports.iter().all(|r| r.skipped || r.size.width > 0), "{name}: reports name sizes");
        }
    }
}

/// The label of the first step whose streamed result differs (for the failure message).
fn first_differing_step(c: &chain::Chain, inputs: &HashMap<String, Arc<Frame>>, strip: u32) -> String {
    let reg = registry();
    let opts = RenderOptions::default();
    for i in 0..c.steps.len() {
        let mut one = c.clone();
        one.outputs = vec![i];
        let Ok(r) = fxchain_host::render(&one, reg, inputs, &opts) else { continue };
        let s = stream_to_frames(&one, reg, inputs, &StreamOptions { render: &opts, strip_rows: Some(strip) });
        match s {
            Ok((f, _)) if bytes(&f[0]) == bytes(&r.outputs[0]) => {}
            Ok((f, _)) => {
                let (a, b) = (bytes(&f[0]), bytes(&r.outputs[0]));
                let at = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(0);
                let row =
                    at / (4 * f[0].size().width as usize * if f[0].format() == PixelFormat::RGBA8 { 1 } else { 4 });
                return format!("{} ({}), row {row}", c.steps[i].label(), c.steps[i].effect);
            }
            Err(e) => return format!("{}: {e}", c.steps[i].label()),
        }
    }
    "no single step".into()
}

#[test]
fn streamed_pixels_equal_the_materialised_render_for_every_chain() {
    let small = sample(80);
    let full = sample(512);
    for (name, text) in chains() {
        check(&name, &text, &small, &[1, 7], &[1, 2]);
        check(&name, &text, &full, &[64], &[2]);
    }
}
