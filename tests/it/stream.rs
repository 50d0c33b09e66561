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

#[test]
fn explain_and_the_executor_report_the_same_cache_key_for_every_node() {
    let reg = registry();
    let image = sample(256);
    let mut compared = 0;
    for (name, text) in chains() {
        let c = chain::validate(ChainSource::from_text(name.as_str(), text.as_str()), reg, &[]).unwrap();
        let inputs: HashMap<String, Arc<Frame>> = c.inputs.iter().map(|n| (n.clone(), image.clone())).collect();
        let sizes = inputs.iter().map(|(k, f)| (k.clone(), f.size())).collect();
        let keys = inputs.iter().map(|(k, f)| (k.clone(), f.content_hash())).collect();
        let rows = fxchain_host::plan::explain(&c, reg, &sizes, &keys, None, true).unwrap();
        let opts =
            RenderOptions { cache: Some(fxchain_host::cache::ResultCache::new(64 << 20, None)), ..Default::default() };
        let Ok(r) = fxchain_host::render(&c, reg, &inputs, &opts) else { continue };
        for s in &r.steps {
            let row = rows.iter().find(|row| row.step == s.label).expect("explain shows every step");
            assert_eq!(row.cache_key, s.cache_key, "{name} {}", s.label);
            compared += s.cache_key.is_some() as usize;
        }
        // Other pixels, other keys.
        if let Some(first) = c.inputs.first() {
            let mut other = keys_of(&inputs);
            other.insert(first.clone(), [7; 32]);
            let moved = fxchain_host::plan::explain(&c, reg, &sizes, &other, None, true).unwrap();
            let reading = rows.iter().zip(&moved).filter(|(a, b)| a.cache_key.is_some() && a.cache_key != b.cache_key);
            assert!(reading.count() > 0, "{name}: the keys depend on the input's pixels");
        }
    }
    assert!(compared > 20, "only {compared} keys compared");
}

fn keys_of(inputs: &HashMap<String, Arc<Frame>>) -> HashMap<String, [u8; 32]> {
    inputs.iter().map(|(k, f)| (k.clone(), f.content_hash())).collect()
}

/// A 96×80 image whose first `plain` rows are grey and opaque and whose rest is coloured,
/// with transparency below row `clear` (when given).
fn banded(plain: u32, clear: Option<u32>) -> Frame {
    let (w, h) = (96u32, 80u32);
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let v = ((x * 5 + y * 3) % 256) as u8;
            let rgb = if y < plain { [v, v, v] } else { [v, (x * 7 % 256) as u8, (y * 11 % 256) as u8] };
            let a = if clear.is_some_and(|c| y >= c) { (x * 2 % 256) as u8 } else { 255 };
            px.extend_from_slice(&[rgb[0], rgb[1], rgb[2], a]);
        }
    }
    Frame::from_rgba8(fxchain_host::api::Size::new(w, h), &px)
}

/// Whether the `fxchain` text chunk of a PNG file comes after its image data.
fn record_after_pixels(path: &std::path::Path) -> bool {
    let b = std::fs::read(path).unwrap();
    let (mut at, mut seen_idat) = (8usize, false);
    while at + 8 <= b.len() {
        let len = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        let kind = &b[at + 4..at + 8];
        if kind == b"IDAT" {
            seen_idat = true;
        }
        if kind == b"iTXt" && b[at + 8..].starts_with(b"fxchain\0") {
            return seen_idat;
        }
        at += 12 + len;
    }
    panic!("{}: no record", path.display());
}

/// A PNG written streamed (rows encoded as they come, the layout taken from the first strip,
/// the provenance record after the pixels) decodes to the pixels, the colour type and the
/// record of the same job rendered whole — also when a later strip needs a larger layout than
/// the first one showed (the render is then done again).
#[test]
fn streamed_png_files_equal_the_materialised_ones() {
    use fxchain_host::pipeline::{run, Execution, Job, JobInput, JobOptions, JobOutput};
    let reg = crate::support::shared_registry();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("colour", banded(0, None)),
        ("grey top", banded(40, None)),
        ("alpha below", banded(0, Some(50))),
        ("grey", banded(80, None)),
        ("grey top, alpha below", banded(30, Some(60))),
    ];
    let text = r#"(steps: [(effect: "color.contrast", params: {"amount": 1.2}), (effect: "blur.gaussian", params: {"sigma": 1.0})])"#;
    for (name, image) in cases {
        let input = dir.path().join(format!("{name}.png"));
        fxchain_host::io::save_image(&image, &input, fxchain_host::io::OutputFormat::Png).unwrap();
        let mut outs = Vec::new();
        for (mode, execution) in [("streamed", Execution::Stream), ("whole", Execution::Materialise)] {
            let c = chain::validate(ChainSource::from_text("banded.ron", text), &reg, &[]).unwrap();
            let out = dir.path().join(format!("{name} {mode}.png"));
            let options = JobOptions {
                execution,
                render: fxchain_host::RenderOptions { band_rows: Some(16), ..Default::default() },
                provenance: Some((Default::default(), Vec::new())),
                ..Default::default()
            };
            let job = Job {
                chain: c,
                inputs: vec![("input".into(), JobInput::File(input.clone()))],
                outputs: vec![JobOutput::File { path: out.clone(), format: fxchain_host::io::OutputFormat::Png }],
                options,
            };
            let result = run(job, &reg).unwrap_or_else(|e| panic!("{name} {mode}: {e}"));
            assert_eq!(result.streamed, execution == Execution::Stream, "{name} {mode}");
            let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
            let colour = decoder.read_info().unwrap().info().color_type;
            let pixels =
                fxchain_host::io::load_image(&out, PixelFormat::RGBA8, Default::default()).unwrap().to_rgba8_vec();
            let record = fxchain_host::provenance::read(&out).unwrap_or_else(|e| panic!("{name} {mode}: {e}"));
            // Written in strips, the record (which hashes the pixels) can only follow them.
            // A later strip needing a larger layout than the first has the render done again,
            // with the output assembled whole.
            let redone = matches!(name, "grey top" | "alpha below" | "grey top, alpha below");
            assert_eq!(
                record_after_pixels(&out),
                execution == Execution::Stream && !redone,
                "{name} {mode}: where the record is"
            );
            outs.push((colour, pixels, serde_json::to_value(&record).unwrap()));
        }
        assert_eq!(outs[0].0, outs[1].0, "{name}: colour type");
        if let Some(i) = (0..outs[0].1.len()).find(|&i| outs[0].1[i] != outs[1].1[i]) {
            let n = outs[0].1.iter().zip(&outs[1].1).filter(|(a, b)| a != b).count();
            panic!(
                "{name}: pixels differ at byte {i} (pixel {}, {} bytes differ): {:?} vs {:?}",
                i / 4,
                n,
                &outs[0].1[i / 4 * 4..i / 4 * 4 + 4],
                &outs[1].1[i / 4 * 4..i / 4 * 4 + 4]
            );
        }
        assert_eq!(outs[0].2, outs[1].2, "{name}: provenance record");
        let expected = match name {
            "colour" => png::ColorType::Rgb,
            "grey" => png::ColorType::Grayscale,
            "grey top" => png::ColorType::Rgb,
            _ => png::ColorType::Rgba,
        };
        assert_eq!(outs[0].0, expected, "{name}");
    }
}
