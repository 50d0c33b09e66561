//! The execution engine: fusion, band parallelism, the buffer pool and the result cache.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_host::api::Size;
use fxchain_host::cache::ResultCache;
use fxchain_host::chain;
use fxchain_host::metrics::Metrics;
use fxchain_host::{ChainSource, Frame, Registry, RegistryOptions, RenderOptions};

use crate::support::{fxchain, plugin_dir, random_rgba8, registry, root, stderr, stdout};

const POINTS: &str = r#"(steps: [
    (effect: "color.brightness", params: {"amount": 1.1}),
    (effect: "color.contrast", params: {"amount": 1.2}),
    (effect: "color.gamma", params: {"gamma": 1.3}),
    (effect: "color.saturation", params: {"amount": 0.8}),
    (effect: "color.invert"),
    (effect: "blur.gaussian", params: {"sigma": 1.5}),
    (effect: "color.vignette"),
    (effect: "color.hue", params: {"degrees": 30.0}),
])"#;

fn input(w: u32, h: u32) -> HashMap<String, Arc<Frame>> {
    let px = random_rgba8(w, h, 42, false);
    HashMap::from([("input".to_string(), Arc::new(Frame::from_rgba8(Size::new(w, h), &px)))])
}

fn render(
    reg: &Registry,
    text: &str,
    inputs: &HashMap<String, Arc<Frame>>,
    opts: &RenderOptions,
) -> (Vec<u8>, Vec<fxchain_host::exec::StepReport>) {
    let c = chain::validate(ChainSource::from_text("e.ron", text), reg, &[]).unwrap_or_else(|e| panic!("{e}"));
    let r = fxchain_host::render(&c, reg, inputs, opts).unwrap();
    (r.outputs[0].to_rgba8_vec(), r.steps)
}

#[test]
fn fused_and_unfused_execution_give_identical_pixels() {
    let reg = registry();
    let inputs = input(203, 97);
    let (fused, steps) = render(reg, POINTS, &inputs, &RenderOptions::default());
    assert_eq!(steps.iter().filter(|s| s.fused).count(), 7, "five leading point steps and the last two are fused");
    let (plain, steps) = render(reg, POINTS, &inputs, &RenderOptions { fuse: false, ..Default::default() });
    assert!(steps.iter().all(|s| !s.fused));
    assert_eq!(fused, plain);
}

#[test]
fn band_parallel_and_single_threaded_runs_give_identical_pixels() {
    let reg = registry();
    let inputs = input(150, 131);
    let text = std::fs::read_to_string(root().join("examples/chains/glitch.ron")).unwrap();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (single, _) =
        one.install(|| render(reg, &text, &inputs, &RenderOptions { band_rows: Some(131), ..Default::default() }));
    for rows in [Some(1), Some(7), None] {
        let (many, _) = render(reg, &text, &inputs, &RenderOptions { band_rows: rows, ..Default::default() });
        assert_eq!(single, many, "band rows {rows:?}");
    }
}

#[test]
fn box_cascades_on_translucent_images_give_the_same_pixels_for_any_band_split() {
    // The vertical running sums of the box cascades (`blur.box`, and the fast blur and unsharp
    // on translucent frames) used to be float sums started at each band's first row, so a
    // pixel could differ by a level depending on where its band began.
    let reg = registry();
    let (w, h) = (97, 211);
    let px = random_rgba8(w, h, 9, false);
    let inputs = HashMap::from([("input".to_string(), Arc::new(Frame::from_rgba8(Size::new(w, h), &px)))]);
    for (id, params) in [
        ("blur.box", r#""radius": 3"#),
        ("blur.box", r#""radius": 11"#),
        ("blur.gaussian.fast", r#""sigma": 0.8"#),
        ("blur.gaussian.fast", r#""sigma": 4.0"#),
        ("sharpen.unsharp.fast", r#""sigma": 2.0, "amount": 0.8"#),
    ] {
        for precision in ["U8", "F32"] {
            let text = format!(r#"(precision: {precision}, steps: [(effect: "{id}", params: {{{params}}})])"#);
            let (whole, _) = render(reg, &text, &inputs, &RenderOptions { band_rows: Some(h), ..Default::default() });
            for rows in [1, 5, 64] {
                let (banded, _) =
                    render(reg, &text, &inputs, &RenderOptions { band_rows: Some(rows), ..Default::default() });
                let diff = whole.iter().zip(&banded).filter(|(a, b)| a != b).count();
                assert_eq!(diff, 0, "{id} {params} ({precision}), bands of {rows} rows: {diff} channel values differ");
            }
        }
    }
}

#[test]
fn the_cache_serves_identical_images_and_recomputes_from_the_changed_step() {
    let reg = registry();
    let inputs = input(120, 80);
    let cache = ResultCache::new(64 << 20, None);
    let metrics = Arc::new(Metrics::default());
    let opts =
        RenderOptions { cache: Some(cache.clone()), metrics: Some(metrics.clone()), fuse: false, ..Default::default() };
    let chain6 = |amount: f32| {
        format!(
            r#"(steps: [
            (effect: "geometry.resize", params: {{"scale": 0.75}}),
            (effect: "blur.gaussian", params: {{"sigma": 2.0}}),
            (effect: "color.brightness", params: {{"amount": 1.1}}),
            (effect: "sharpen.unsharp"),
            (effect: "edges.emboss"),
            (effect: "color.contrast", params: {{"amount": {amount:?}}}),
        ])"#
        )
    };
    let (first, steps) = render(reg, &chain6(1.2), &inputs, &opts);
    assert!(steps.iter().all(|s| !s.cached));
    let (again, steps) = render(reg, &chain6(1.2), &inputs, &opts);
    assert_eq!(first, again);
    assert!(steps.last().unwrap().cached, "the whole chain comes from the cache");
    let (changed, steps) = render(reg, &chain6(1.5), &inputs, &opts);
    let cached: Vec<bool> = steps.iter().map(|s| s.cached).collect();
    assert_eq!(cached, vec![true, true, true, true, true, false], "only the changed step runs");
    let (fresh, _) = render(reg, &chain6(1.5), &inputs, &RenderOptions::default());
    assert_eq!(changed, fresh, "cached upstream results give the same pixels");
    assert!(cache.stats().hits >= 6);
    // A new generation of the plugins (a reload) misses.
    let reloaded = Registry::load(&RegistryOptions {
        plugin_dirs: vec![plugin_dir().to_path_buf()],
        cache_dir: Some(tempfile::tempdir().unwrap().keep()),
        ..Default::default()
    });
    let (_, steps) = render(&reloaded, &chain6(1.5), &inputs, &opts);
    assert!(steps.iter().all(|s| !s.cached), "a new plugin generation must not reuse results");
    // A different input image misses too.
    let (_, steps) = render(reg, &chain6(1.5), &input(120, 81), &opts);
    assert!(steps.iter().all(|s| !s.cached));
}

#[test]
fn a_steady_state_batch_allocates_no_new_buffers() {
    // In a child process, so other tests do not share the pool.
    let dir = tempfile::tempdir().unwrap();
    let chain = root().join("examples/chains/photo.ron");
    let o = fxchain(
        &["bench", chain.to_str().unwrap(), "--size", "256", "--iterations", "6", "--json"],
        &[plugin_dir()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(v["steady_state_allocations"], 0, "{v}");
    assert_eq!(v["width"], 256);
    assert!(v["median_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn run_prints_metrics_and_writes_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let chain = root().join("examples/chains/photo.ron");
    let sample = root().join("examples/images/sample.png");
    let o = fxchain(
        &[
            "--trace",
            "trace.json",
            "run",
            chain.to_str().unwrap(),
            "-i",
            sample.to_str().unwrap(),
            "-o",
            "out.png",
            "--metrics",
            "--metrics-json",
            "m.json",
        ],
        &[plugin_dir()],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("ns/px") && stderr(&o).contains("geometry.resize"), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("m.json")).unwrap()).unwrap();
    let effects = m["effects"].as_array().unwrap();
    assert_eq!(effects.len(), 4);
    assert!(effects.iter().all(|e| e["calls"] == 1 && e["pixels"] == 320 * 240));
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("trace.json")).unwrap()).unwrap();
    let names: Vec<&str> = trace.as_array().unwrap().iter().filter_map(|e| e["name"].as_str()).collect();
    // `run` streams: the trace shows its strips.
    assert!(names.contains(&"step") && names.contains(&"strip"), "{names:?}");
}
