//! Independent branches of a chain render concurrently, with the pixels, reports, cache use and
//! errors of a sequential run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fxchain_host::api::Size;
use fxchain_host::cache::ResultCache;
use fxchain_host::chain;
use fxchain_host::{ChainSource, Frame, Registry, RenderOptions};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::support::{random_rgba8, registry};

/// Two heavy branches from the input, composited, then a fused run of point steps.
const TWO_BRANCHES: &str = r#"(steps: [
    (id: "a", effect: "blur.gaussian", params: {"sigma": 9.0}),
    (id: "b", effect: "blur.motion", input: "input", params: {"angle": 30.0, "length": 40.0}),
    (effect: "composite.blend", inputs: ["a", "b"], params: {"mode": "multiply", "opacity": 0.9}),
    (effect: "color.contrast", params: {"amount": 1.3}),
    (effect: "color.gamma", params: {"gamma": 0.8}),
])"#;

fn input(w: u32, h: u32) -> HashMap<String, Arc<Frame>> {
    let px = random_rgba8(w, h, 7, false);
    HashMap::from([("input".to_string(), Arc::new(Frame::from_rgba8(Size::new(w, h), &px)))])
}

/// What a report says, comparable.
type Seen = (String, String, bool, bool, bool, (u32, u32), Option<String>);

fn run(
    reg: &Registry,
    text: &str,
    inputs: &HashMap<String, Arc<Frame>>,
    opts: &RenderOptions,
) -> Result<(Vec<Vec<u8>>, Vec<Seen>), String> {
    let c = chain::validate(ChainSource::from_text("branches.ron", text), reg, &[]).map_err(|e| e.to_string())?;
    let r = fxchain_host::render(&c, reg, inputs, opts).map_err(|e| e.to_string())?;
    let seen = r
        .steps
        .iter()
        .map(|s| {
            (
                s.label.clone(),
                s.effect.clone(),
                s.skipped,
                s.cached,
                s.fused,
                (s.size.width, s.size.height),
                s.cache_key.clone(),
            )
        })
        .collect();
    Ok((r.outputs.iter().map(|f| f.to_rgba8_vec()).collect(), seen))
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
}

fn sequential() -> RenderOptions {
    RenderOptions { concurrent_branches: false, ..Default::default() }
}

#[test]
fn concurrent_branches_give_the_pixels_and_reports_of_a_sequential_run() {
    let reg = registry();
    let inputs = input(181, 127);
    for threads in [1, 2, 4] {
        let (seq, seq_steps) = pool(threads).install(|| run(reg, TWO_BRANCHES, &inputs, &sequential())).unwrap();
        let (con, con_steps) = pool(threads).install(|| run(reg, TWO_BRANCHES, &inputs, &Default::default())).unwrap();
        assert_eq!(seq, con, "{threads} threads");
        assert_eq!(seq_steps, con_steps, "{threads} threads");
        let labels: Vec<&str> = con_steps.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(labels, ["#1 \"a\"", "#2 \"b\"", "#3", "#4", "#5"], "reports in step order");
        assert_eq!(con_steps.iter().filter(|s| s.4).count(), 2, "the last two point steps are fused");
    }
}

#[test]
fn the_cache_is_filled_and_served_as_in_a_sequential_run() {
    let reg = registry();
    let inputs = input(96, 64);
    let mut runs = Vec::new();
    for concurrent_branches in [false, true] {
        let cache = ResultCache::new(64 << 20, None);
        let opts = RenderOptions { cache: Some(cache.clone()), concurrent_branches, ..Default::default() };
        let (first, steps) = pool(2).install(|| run(reg, TWO_BRANCHES, &inputs, &opts)).unwrap();
        assert!(steps.iter().all(|s| !s.3 && s.6.is_some()), "{steps:?}");
        assert_eq!((cache.stats().hits, cache.stats().misses, cache.stats().entries), (0, 4, 4));
        let (again, steps) = pool(2).install(|| run(reg, TWO_BRANCHES, &inputs, &opts)).unwrap();
        assert_eq!(first, again);
        assert!(steps.iter().all(|s| s.3), "every unit is served from the cache: {steps:?}");
        assert_eq!(cache.stats().hits, 4, "concurrent: {concurrent_branches}");
        runs.push((first, steps));
    }
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn the_first_error_in_step_order_is_reported_whatever_runs_first() {
    // Step 2 fails on level 1; step 3 (level 0) fails too and, concurrently, runs earlier: the
    // error is still step 2's, as in a sequential run.
    let reg = registry();
    let inputs = input(64, 48);
    let text = r#"(steps: [
        (id: "a", effect: "blur.gaussian", params: {"sigma": 1.0}),
        (id: "huge", effect: "geometry.resize", params: {"width": 60000, "height": 60000}),
        (id: "also", effect: "geometry.resize", input: "input", params: {"width": 65000, "height": 65000}),
        (effect: "composite.blend", inputs: ["huge", "also"]),
    ])"#;
    let seq = pool(2).install(|| run(reg, text, &inputs, &sequential())).unwrap_err();
    let con = pool(2).install(|| run(reg, text, &inputs, &Default::default())).unwrap_err();
    assert!(seq.contains("#2 \"huge\""), "{seq}");
    assert_eq!(seq, con);
}

/// A step span: its label, when it was first entered, when it closed.
type StepSpan = (String, Option<Instant>, Option<Instant>);

/// The `step` spans of a render, by span id.
#[derive(Clone, Default)]
struct StepSpans(Arc<Mutex<HashMap<u64, StepSpan>>>);

struct Label(String);

impl tracing::field::Visit for Label {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "step" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S> for StepSpans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "step" {
            let mut label = Label(String::new());
            attrs.record(&mut label);
            self.0.lock().unwrap().insert(id.into_u64(), (label.0, None, None));
        }
    }
    fn on_enter(&self, id: &Id, _: Context<'_, S>) {
        if let Some(s) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            s.1.get_or_insert_with(Instant::now);
        }
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(s) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            s.2 = Some(Instant::now());
        }
    }
}

impl StepSpans {
    /// (entered, closed) of the span of step `label`.
    fn of(&self, label: &str) -> (Instant, Instant) {
        let spans = self.0.lock().unwrap();
        let (_, enter, close) =
            spans.values().find(|s| s.0 == label).unwrap_or_else(|| panic!("no span for {label}: {:?}", spans.len()));
        (enter.expect("entered"), close.expect("closed"))
    }
}

/// Renders the two-branch chain on two threads under a subscriber recording the step spans,
/// with the executor itself or (`pipeline`) the way every command does (`run::run_frames`);
/// returns whether the spans of the two branches overlap in time.
fn branches_overlap(opts: &RenderOptions, pipeline: bool) -> bool {
    let reg = crate::support::shared_registry();
    let inputs = input(640, 480);
    let spans = StepSpans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let render = || {
        if pipeline {
            let c = chain::validate(ChainSource::from_text("branches.ron", TWO_BRANCHES), &reg, &[]).unwrap();
            fxchain_host::run::run_frames(&c, &reg, &inputs, opts).map(|_| ()).map_err(|e| e.to_string())
        } else {
            run(&reg, TWO_BRANCHES, &inputs, opts).map(|_| ())
        }
    };
    pool(2).install(|| tracing::subscriber::with_default(subscriber, render)).unwrap();
    let (a_in, a_out) = spans.of("#1 \"a\"");
    let (b_in, b_out) = spans.of("#2 \"b\"");
    a_in < b_out && b_in < a_out
}

#[test]
fn the_spans_of_independent_branches_overlap_and_do_not_when_sequential() {
    assert!(!branches_overlap(&sequential(), false), "sequentially, one branch ends before the other starts");
    assert!(branches_overlap(&RenderOptions::default(), false), "the two branches render at the same time");
}

#[test]
fn the_pipeline_passes_the_choice_on_to_the_executor() {
    // `run_frames` (the Python package, worker processes and embedding programs) rebuilt the
    // executor's options from some of their fields and always rendered branches concurrently.
    assert!(!branches_overlap(&sequential(), true), "sequential through the pipeline");
    assert!(branches_overlap(&RenderOptions::default(), true), "concurrent through the pipeline");
}
