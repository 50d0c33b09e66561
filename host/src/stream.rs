//! Streaming execution: output strips are pulled through the chain, so no step holds more of
//! its result than its readers still need.
//!
//! Every step (with the point steps fused behind it) keeps a *window*: the rows of its result
//! from the lowest row any reader will still ask for up to the last row produced. Asking a step
//! for rows it has not produced yet makes it ask its inputs for the rows its footprints name,
//! render the new rows in bands on rayon's pool, run its fused point steps on them in place and
//! move its window on. The first rows a reader no longer needs are dropped when the window
//! next moves. A step whose footprint is not monotone in the output row (a vertical flip, a
//! wrapping neighbourhood, a whole-image statistic) asks for its whole input once: that input
//! is materialised, and only that one. Outputs go to [`RowSink`]s, each on a write-behind thread
//! of its own, so encoding overlaps computing.
//!
//! The pixels are those of [`crate::exec::render`]: the same prepared effects render the same
//! rows from the same input rows; only the band boundaries differ, which effects may not depend
//! on (the plugin contract, and the tests comparing both paths for several strip heights).

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fxchain_plugin_api::abi::{Footprint, FootprintKind, FrameMut, FrameRef, PrepareInfo, RenderCtx};
use fxchain_plugin_api::{EffectKind, PixelFormat, Rows, Size};
use rayon::prelude::*;

use crate::chain::{Chain, Precision, Source, Step};
use crate::error::RunError;
use crate::exec::{
    band_is_opaque, is_point, plugin_error, prepare_step, segments, Plan, PointPass, PreparedStep, RenderOptions,
    Segment, StepReport,
};
use crate::frame::Frame;
use crate::loader::EffectInfo;
use crate::registry::Registry;

/// Rows of an input image delivered in order, as they are decoded.
pub trait RowSource: Send {
    /// Size of the image.
    fn size(&self) -> Size;
    /// Writes the next `rows.len()` rows (`rows` follows the last call's) into `data`, rows
    /// `stride` bytes apart, in `format`.
    fn read_rows(&mut self, rows: Rows, data: &mut [u8], stride: usize, format: PixelFormat) -> Result<(), String>;
}

/// Why a sink stopped taking rows.
#[derive(Debug)]
pub enum SinkError {
    /// Writing failed; the render fails with this message.
    Failed(String),
    /// The sink guessed something about the whole image from its first rows (an encoder's
    /// layout) that a later row contradicts: the render is done again, and the sink made for
    /// that output then must not guess.
    Again,
}

impl From<String> for SinkError {
    fn from(e: String) -> SinkError {
        SinkError::Failed(e)
    }
}

impl From<&str> for SinkError {
    fn from(e: &str) -> SinkError {
        SinkError::Failed(e.to_string())
    }
}

/// Where an output's rows go, in order.
pub trait RowSink: Send {
    /// Takes the rows `rows` of the output (`rows` follows the last call's), `stride` bytes
    /// apart, in `format`.
    fn write_rows(&mut self, rows: Rows, data: &[u8], stride: usize, format: PixelFormat) -> Result<(), SinkError>;
    /// Called once after the last row; a sink writing a file makes it visible here.
    fn finish(self: Box<Self>) -> Result<(), SinkError>;
}

/// A [`RowSource`] reading a frame in memory.
pub struct FrameSource(pub Arc<Frame>);

impl RowSource for FrameSource {
    fn size(&self) -> Size {
        self.0.size()
    }
    fn read_rows(&mut self, rows: Rows, data: &mut [u8], stride: usize, format: PixelFormat) -> Result<(), String> {
        copy_rows(&self.0, rows, data, stride, format);
        Ok(())
    }
}

fn copy_rows(frame: &Frame, rows: Rows, data: &mut [u8], stride: usize, format: PixelFormat) {
    let width = frame.size().width as usize;
    for (y, dst) in (rows.start..rows.end).zip(data.chunks_mut(stride)) {
        let src = frame.row(y);
        if frame.format() == format {
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
        } else if format == PixelFormat::RGBA8 {
            let s: &[f32] = bytemuck::cast_slice(&src[..width * 16]);
            for (d, v) in dst[..width * 4].iter_mut().zip(s) {
                *d = fxchain_plugin_api::f32_to_u8(*v);
            }
        } else {
            let d: &mut [f32] = bytemuck::cast_slice_mut(&mut dst[..width * 16]);
            for (d, v) in d.iter_mut().zip(&src[..width * 4]) {
                *d = fxchain_plugin_api::u8_to_f32(*v);
            }
        }
    }
}

/// A [`RowSink`] collecting the rows into a frame (for programs that want the image in memory,
/// and for comparing the streamed pixels with the materialised ones).
pub struct FrameSink {
    frame: Option<Frame>,
    opaque: bool,
    done: SyncSender<Frame>,
}

impl FrameSink {
    /// A sink for an output of `size` in `format`, and where its frame arrives when finished.
    pub fn new(size: Size, format: PixelFormat) -> (FrameSink, Receiver<Frame>) {
        let (done, rx) = sync_channel(1);
        (FrameSink { frame: Some(Frame::new_uninit(size, format)), opaque: true, done }, rx)
    }
}

impl RowSink for FrameSink {
    fn write_rows(&mut self, rows: Rows, data: &[u8], stride: usize, format: PixelFormat) -> Result<(), SinkError> {
        let frame = self.frame.as_mut().ok_or("rows after the end")?;
        if frame.format() != format || rows.end > frame.size().height {
            return Err(format!("rows {}..{} in {format} do not fit the sink", rows.start, rows.end).into());
        }
        let fs = frame.stride();
        let row_bytes = frame.size().width as usize * format.bytes_per_pixel();
        let dst = &mut frame.bytes_mut()[rows.start as usize * fs..];
        for (d, s) in dst.chunks_mut(fs).zip(data.chunks(stride)).take(rows.len() as usize) {
            d[..row_bytes].copy_from_slice(&s[..row_bytes]);
        }
        self.opaque = self.opaque && band_is_opaque(data, stride, frame.size().width, Rows::new(0, rows.len()), format);
        Ok(())
    }
    fn finish(mut self: Box<Self>) -> Result<(), SinkError> {
        let mut frame = self.frame.take().ok_or("finished twice")?;
        frame.set_opaque(self.opaque);
        self.done.send(frame).map_err(|_| "nobody waits for the frame".into())
    }
}

/// Rows `[start, end)` of one node's result, contiguous in a pooled buffer.
struct Window {
    store: Frame,
    /// Absolute row held in the store's first row.
    base: u32,
    start: u32,
    end: u32,
    size: Size,
    format: PixelFormat,
}

impl Window {
    fn new(size: Size, format: PixelFormat, rows: u32) -> Window {
        let cap = rows.clamp(1, size.height.max(1));
        Window { store: Frame::new_uninit(Size::new(size.width, cap), format), base: 0, start: 0, end: 0, size, format }
    }

    fn stride(&self) -> usize {
        self.store.stride()
    }

    fn capacity(&self) -> u32 {
        self.store.size().height
    }

    /// Bytes of rows `rows` (within the window).
    fn bytes(&self, rows: Rows) -> &[u8] {
        let s = self.stride();
        let a = (rows.start - self.base) as usize * s;
        let b = (rows.end - self.base) as usize * s;
        &self.store.bytes()[a..b]
    }

    fn view(&self, rows: Rows, opaque: bool) -> FrameRef<'_> {
        debug_assert!(rows.start >= self.start && rows.end <= self.end, "rows {rows:?} outside the window");
        let row_bytes = self.size.width as usize * self.format.bytes_per_pixel();
        let data = self.bytes(rows);
        let data = if rows.is_empty() { &data[..0] } else { &data[..data.len() - self.stride() + row_bytes] };
        FrameRef {
            data: data.into(),
            width: self.size.width,
            height: self.size.height,
            stride: self.stride() as u32,
            rows,
            format: self.format,
            opaque,
        }
    }

    /// Makes room for rows up to `end`, dropping the rows before `keep`; returns the bytes of
    /// the new rows `self.end..end`.
    fn extend(&mut self, keep: u32, end: u32) -> &mut [u8] {
        let keep = keep.clamp(self.start, self.end);
        let stride = self.stride();
        if end - keep > self.capacity() {
            // Grow: a new store holding the kept rows at its start.
            let cap = (end - keep).max(self.capacity() * 2).min(self.size.height);
            let mut store = Frame::new_uninit(Size::new(self.size.width, cap), self.format);
            let kept = self.bytes(Rows::new(keep, self.end)).len();
            let from = (keep - self.base) as usize * stride;
            store.bytes_mut()[..kept].copy_from_slice(&self.store.bytes()[from..from + kept]);
            self.store = store;
            self.base = keep;
        } else if end - self.base > self.capacity() {
            // Move the kept rows to the front of the store.
            let from = (keep - self.base) as usize * stride;
            let to = (self.end - self.base) as usize * stride;
            self.store.bytes_mut().copy_within(from..to, 0);
            self.base = keep;
        }
        self.start = keep;
        let a = (self.end - self.base) as usize * stride;
        let b = (end - self.base) as usize * stride;
        self.end = end;
        &mut self.store.bytes_mut()[a..b]
    }
}

/// Held rows of a node or an input, with the opaque flag of each row when known.
#[derive(Copy, Clone)]
enum UpRef<'a> {
    Frame(&'a Frame),
    Window(&'a Window, bool),
}

impl<'a> UpRef<'a> {
    fn view(self, rows: Rows) -> FrameRef<'a> {
        match self {
            UpRef::Frame(f) => f.view(rows),
            UpRef::Window(w, opaque) => w.view(rows, opaque),
        }
    }
}

/// Where a node's input rows come from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Up {
    /// A chain input, by index into the sources.
    Input(usize),
    /// Another node.
    Node(usize),
}

/// One rendering unit: a step (or a chain input) and the point steps fused behind it.
struct Node {
    /// Chain steps rendered here, in order (empty for a chain input).
    steps: Vec<usize>,
    /// The first step's own op when it is not a point step (a generator or a filter).
    head: Option<PreparedStep>,
    /// Point steps run in place on the new rows, composed where they can be.
    points: Vec<PreparedStep>,
    program: Vec<Segment>,
    /// Inputs of the head (or of the first point step) with their footprints and this node's
    /// reader slot among the input's readers.
    inputs: Vec<(Up, Footprint, usize)>,
    size: Size,
    format: PixelFormat,
    /// Readers' lowest rows still needed, one slot per reader.
    marks: Vec<u32>,
    /// The opaque flags readers are given, of the head's result and of the node's result:
    /// the materialised render gives each effect its input's whole-frame flag, which a stream
    /// only knows at the end. It is assumed, checked against `actual` at the end, and the
    /// render redone with the flags seen when an assumption was wrong.
    assume: [bool; 2],
    /// Whether every row produced so far was opaque (after the head, after the node).
    actual: [bool; 2],
    window: Option<Window>,
    time: Duration,
}

/// Footprints that are not monotone in the output row read the whole input.
fn rows_needed(fp: &Footprint, rows: Rows, out_width: u32, in_height: u32) -> Rows {
    let monotone = match fp.kind {
        FootprintKind::SAME => true,
        FootprintKind::RADIUS => !fp.wrap,
        FootprintKind::MAP => fp.map_y >= 0.0,
        _ => false,
    };
    if monotone {
        fp.input_rows(rows, out_width, in_height)
    } else {
        Rows::new(0, in_height)
    }
}

/// What a streamed render needs from its caller besides the chain.
pub struct StreamOptions<'a> {
    /// Quality, band rows (the strip height), fusion and metrics, as for [`crate::exec::render`].
    pub render: &'a RenderOptions,
    /// Rows per output strip (64 when `None` and `render.band_rows` is not set).
    pub strip_rows: Option<u32>,
}

/// Opens a decoder (again, when a render is redone).
pub type OpenRows = Box<dyn FnMut() -> Result<Box<dyn RowSource>, String> + Send>;

/// A chain input for [`stream`].
pub enum StreamInput {
    /// A frame in memory.
    Frame(Arc<Frame>),
    /// Rows from a decoder, with the image's size.
    Rows(Size, OpenRows),
}

impl StreamInput {
    fn size(&self) -> Size {
        match self {
            StreamInput::Frame(f) => f.size(),
            StreamInput::Rows(size, _) => *size,
        }
    }
}

/// Creates the sink of output `index` (again, when a render is redone).
pub type MakeSink<'a> = dyn FnMut(usize) -> Result<Box<dyn RowSink>, String> + 'a;

/// A chain input while streaming: where its rows are read from, the window of rows read, the
/// readers' marks, the opaque flag assumed and what the rows read showed.
struct SourceState {
    input: StreamInput,
    reader: Option<Box<dyn RowSource>>,
    window: Option<Window>,
    marks: Vec<u32>,
    assume: bool,
    actual: bool,
}

/// Why `chain` cannot be streamed, if it cannot (effects of other formats than their input's).
pub fn not_streamable(chain: &Chain, registry: &Registry, quality: Option<fxchain_plugin_api::Tier>) -> Option<String> {
    let plan = Plan::new(chain, registry, quality.unwrap_or(chain.quality), preferred(chain), true).ok()?;
    for (i, step) in chain.steps.iter().enumerate() {
        let Some((info, format)) = &plan.nodes[i] else { continue };
        if info.variant_of.is_some() {
            // Fast variants may approximate per band (half-resolution passes): their pixels
            // are those of whole frames only when rendered on whole frames.
            return Some(format!("step {} runs the fast variant {}", step.label(), info.id));
        }
        for s in &step.inputs {
            if let Source::Step(j) = s {
                if let Some((_, f)) = &plan.nodes[*j] {
                    if f != format {
                        return Some(format!("step {} converts {f} to {format}", step.label()));
                    }
                }
            }
        }
    }
    None
}

fn preferred(chain: &Chain) -> PixelFormat {
    match chain.precision {
        Precision::U8 => PixelFormat::RGBA8,
        Precision::F32 => PixelFormat::RGBA32F,
    }
}

/// The sizes of the outputs `chain` makes from inputs of the given sizes, in `chain.outputs`
/// order, with their pixel formats: what the sinks of [`stream`] are created for.
pub fn output_shapes(
    chain: &Chain,
    registry: &Registry,
    inputs: &HashMap<String, Size>,
    options: &RenderOptions,
) -> Result<Vec<(Size, PixelFormat)>, RunError> {
    let quality = options.quality.unwrap_or(chain.quality);
    let sizes = crate::plan::sizes(chain, registry, inputs, quality, options.default_size)?;
    let plan = Plan::new(chain, registry, quality, preferred(chain), options.fuse)?;
    let format_of = |mut i: usize| -> PixelFormat {
        loop {
            if let Some((_, f)) = &plan.nodes[i] {
                return *f;
            }
            match chain.steps[i].inputs.first() {
                Some(Source::Step(j)) => i = *j,
                _ => return preferred(chain),
            }
        }
    };
    Ok(chain.outputs.iter().map(|&o| (sizes[o].unwrap_or(options.default_size), format_of(o))).collect())
}

struct Streamer<'a> {
    chain: &'a Chain,
    plan: Plan,
    nodes: Vec<Node>,
    sources: Vec<SourceState>,
    /// The node (or input) each step's result is read from (disabled steps pass their input).
    at: Vec<Option<Up>>,
    /// Infos of the steps, resolved.
    infos: Vec<Option<Arc<EffectInfo>>>,
    strip: u32,
    fuse: bool,
}

/// Renders `chain` streaming: every output's rows are pulled in strips and handed to the sink
/// `make` creates for it (in `chain.outputs` order) on a write-behind thread. Returns a report
/// per step.
///
/// The result equals [`crate::exec::render`]'s. Effects are told whether their input is opaque,
/// which the materialised render knows for whole frames; a stream assumes it (opaque), checks at
/// the end and, when an assumption was wrong, drops the sinks unfinished and renders again with
/// the flags it saw (so a transparent image costs one more pass; inputs are opened again).
pub fn stream(
    chain: &Chain,
    registry: &Registry,
    inputs: Vec<(String, StreamInput)>,
    make: &mut MakeSink<'_>,
    options: &StreamOptions<'_>,
) -> Result<Vec<StepReport>, RunError> {
    let ro = options.render;
    let quality = ro.quality.unwrap_or(chain.quality);
    let mut inputs = inputs;
    for name in &chain.inputs {
        if !inputs.iter().any(|(n, _)| n == name) {
            return Err(RunError::missing_input(name));
        }
    }
    // Sources in the chain's input order; frames in the chain's pixel format.
    let mut sources = Vec::new();
    for name in &chain.inputs {
        let k = inputs.iter().position(|(n, _)| n == name).expect("checked above");
        let input = match inputs.swap_remove(k).1 {
            StreamInput::Frame(f) if f.format() != preferred(chain) => {
                StreamInput::Frame(Arc::new(f.convert(preferred(chain))))
            }
            other => other,
        };
        sources.push(SourceState { input, reader: None, window: None, marks: Vec::new(), assume: true, actual: true });
    }
    let gen_size = chain.size.or_else(|| sources.first().map(|s| s.input.size())).unwrap_or(ro.default_size);
    // 64 rows by default; fewer for very wide images, so that one strip of the widest image
    // stays near 4 MiB (a 100000-pixel row is 400 KB).
    let widest =
        sources.iter().map(|s| s.input.size().width).chain([gen_size.width]).max().unwrap_or(1).max(1) as usize;
    let by_width = ((4usize << 20) / (widest * preferred(chain).bytes_per_pixel())).clamp(8, 64) as u32;
    let strip = options.strip_rows.or(ro.band_rows).unwrap_or(by_width).max(1);
    let mut assumed: Option<(Vec<bool>, Vec<[bool; 2]>)> = None;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let plan = Plan::new(chain, registry, quality, preferred(chain), ro.fuse)?;
        let mut s = Streamer {
            chain,
            infos: plan.nodes.iter().map(|n| n.as_ref().map(|(i, _)| i.clone())).collect(),
            plan,
            nodes: Vec::new(),
            sources,
            at: vec![None; chain.steps.len()],
            strip,
            fuse: ro.fuse,
        };
        let built = s.build(gen_size);
        if let Some((inputs, nodes)) = &assumed {
            for (src, a) in s.sources.iter_mut().zip(inputs) {
                src.assume = *a;
            }
            for (node, a) in s.nodes.iter_mut().zip(nodes) {
                node.assume = *a;
            }
        }
        let result = built.and_then(|()| s.run(make));
        let seen = (
            s.sources.iter().map(|x| x.actual).collect::<Vec<_>>(),
            s.nodes.iter().map(|n| n.actual).collect::<Vec<_>>(),
        );
        let held = matches!(result, Ok(Outcome::Held));
        let (reports, release) = s.finish(ro, held);
        let outcome = result?;
        if let Some(e) = release {
            return Err(e);
        }
        // Inputs start again from their first row.
        sources = std::mem::take(&mut s.sources)
            .into_iter()
            .map(|x| SourceState { reader: None, window: None, marks: Vec::new(), assume: true, actual: true, ..x })
            .collect();
        if held {
            tracing::debug!(target: "fxchain::stream", attempts = attempt, "streamed");
            return Ok(reports);
        }
        if attempt > chain.steps.len() + chain.outputs.len() + 1 {
            return Err(RunError::BadPlan {
                step: "-".into(),
                effect: "-".into(),
                message: "the opaque flags of the results did not settle".into(),
            });
        }
        if matches!(outcome, Outcome::Flags) {
            tracing::debug!(target: "fxchain::stream", attempt, "an opaque flag assumed was wrong: rendering again");
            assumed = Some(seen);
        } else {
            // A sink stopped early: the flags seen cover only part of the image.
            tracing::debug!(target: "fxchain::stream", attempt, "an output's layout guessed was wrong: rendering again");
        }
    }
}

impl Streamer<'_> {
    /// Releases every op inside its guard (whatever happened) and reports each step.
    fn finish(&mut self, ro: &RenderOptions, record: bool) -> (Vec<StepReport>, Option<RunError>) {
        let chain = self.chain;
        let mut release_error = None;
        let mut reports = Vec::new();
        for node in std::mem::take(&mut self.nodes) {
            let Node { steps, head, points, time, size, format, .. } = node;
            let n = steps.len().max(1) as u32;
            let mut ops: Vec<PreparedStep> = head.into_iter().collect();
            ops.extend(points);
            for (op, &i) in ops.into_iter().zip(&steps) {
                let step = &chain.steps[i];
                let info = self.infos[i].clone().expect("planned");
                if let Err(e) = op.release() {
                    release_error.get_or_insert(plugin_error(step, &info, e));
                }
                if let Some(m) = ro.metrics.as_ref().filter(|_| record) {
                    m.record(&info.id, size.pixels(), time / n, steps.len() > 1);
                }
                reports.push((
                    i,
                    StepReport {
                        label: step.label(),
                        effect: info.id.clone(),
                        generation: info.library.generation,
                        time: time / n,
                        size,
                        format,
                        skipped: false,
                        cached: false,
                        fused: steps.len() > 1,
                        cache_key: None,
                    },
                ));
            }
        }
        for (i, step) in chain.steps.iter().enumerate() {
            if self.plan.needed[i] && !step.enabled {
                reports.push((
                    i,
                    StepReport {
                        label: step.label(),
                        effect: step.effect.clone(),
                        generation: 0,
                        time: Duration::ZERO,
                        size: Size::new(0, 0),
                        format: preferred(chain),
                        skipped: true,
                        cached: false,
                        fused: false,
                        cache_key: None,
                    },
                ));
            }
        }
        reports.sort_by_key(|r| r.0);
        (reports.into_iter().map(|r| r.1).collect(), release_error)
    }
}

impl Streamer<'_> {
    fn up_size(&self, up: Up) -> Size {
        match up {
            Up::Input(k) => self.sources[k].input.size(),
            Up::Node(n) => self.nodes[n].size,
        }
    }

    fn up_format(&self, up: Up) -> PixelFormat {
        match up {
            Up::Input(_) => preferred(self.chain),
            Up::Node(n) => self.nodes[n].format,
        }
    }

    /// Adds a reader to `up`; returns its slot.
    fn add_reader(&mut self, up: Up) -> usize {
        let marks = match up {
            Up::Input(k) => &mut self.sources[k].marks,
            Up::Node(n) => &mut self.nodes[n].marks,
        };
        marks.push(0);
        marks.len() - 1
    }

    /// Prepares every needed step and groups point steps behind their producers.
    fn build(&mut self, gen_size: Size) -> Result<(), RunError> {
        let chain = self.chain;
        let input_index = |name: &str| chain.inputs.iter().position(|n| n == name);
        for (i, step) in chain.steps.iter().enumerate() {
            if !self.plan.needed[i] {
                continue;
            }
            let ups: Vec<Up> = step
                .inputs
                .iter()
                .map(|src| match src {
                    Source::Input(n) => input_index(n).map(Up::Input).ok_or_else(|| RunError::missing_input(n)),
                    Source::Step(j) => self.at[*j].ok_or_else(|| RunError::BadPlan {
                        step: step.label(),
                        effect: step.effect.clone(),
                        message: "reads a step that is not rendered".into(),
                    }),
                })
                .collect::<Result<_, _>>()?;
            let Some((info, format)) = self.plan.nodes[i].clone() else {
                // Disabled: the input passes through.
                let first = ups.first().copied().ok_or_else(|| RunError::BadPlan {
                    step: step.label(),
                    effect: step.effect.clone(),
                    message: "a disabled step without input has nothing to pass through".into(),
                })?;
                self.at[i] = Some(first);
                continue;
            };
            for &u in &ups {
                if self.up_format(u) != format {
                    return Err(RunError::BadPlan {
                        step: step.label(),
                        effect: info.id.clone(),
                        message: format!("streaming needs {format} input, not {}", self.up_format(u)),
                    });
                }
            }
            let sizes: Vec<Size> = ups.iter().map(|&u| self.up_size(u)).collect();
            let prep = PrepareInfo { seed: step.seed, size: gen_size, format };
            let op = prepare_step(step, &info, &sizes, &prep)?;
            let point = is_point(&info);
            // A point step joins the node it reads when it is that step's only reader.
            if point {
                if let ([Source::Step(j)], [Up::Node(n)]) = (step.inputs.as_slice(), ups.as_slice()) {
                    let n = *n;
                    let joins = self.plan.readers[*j] == 1
                        && !chain.outputs.contains(j)
                        && self.nodes[n].steps.last() == Some(j)
                        && self.nodes[n].marks.is_empty()
                        && self.fuse;
                    if joins {
                        let node = &mut self.nodes[n];
                        node.steps.push(i);
                        node.points.push(op);
                        self.at[i] = Some(Up::Node(n));
                        continue;
                    }
                }
            }
            let out = op.facts.output;
            let footprints: Vec<Footprint> = op.facts.footprints.iter().cloned().collect();
            let idx = self.nodes.len();
            let edges: Vec<(Up, Footprint)> = if point {
                vec![(ups[0], Footprint::SAME)]
            } else if info.kind == EffectKind::GENERATOR {
                Vec::new()
            } else {
                ups.iter().copied().zip(footprints).collect()
            };
            let inputs = edges.into_iter().map(|(u, fp)| (u, fp, self.add_reader(u))).collect();
            let (head, points) = if point { (None, vec![op]) } else { (Some(op), Vec::new()) };
            self.nodes.push(Node {
                steps: vec![i],
                head,
                points,
                program: Vec::new(),
                inputs,
                size: out,
                format,
                marks: Vec::new(),
                assume: [true; 2],
                actual: [true; 2],
                window: None,
                time: Duration::ZERO,
            });
            self.at[i] = Some(Up::Node(idx));
        }
        for node in &mut self.nodes {
            node.program = segments(&node.points, node.format);
        }
        Ok(())
    }

    /// Makes `up` hold rows `need` (and possibly more); `reader` is the slot of who asks.
    fn pull(&mut self, up: Up, need: Rows) -> Result<(), RunError> {
        match up {
            Up::Input(k) => self.pull_input(k, need),
            Up::Node(n) => self.pull_node(n, need),
        }
    }

    fn pull_input(&mut self, k: usize, need: Rows) -> Result<(), RunError> {
        let strip = self.strip;
        let format = preferred(self.chain);
        let src = &mut self.sources[k];
        let size = src.input.size();
        let StreamInput::Rows(_, open) = &mut src.input else { return Ok(()) };
        let fail = |rows: Rows, e: String| RunError::BadPlan {
            step: "input".into(),
            effect: "-".into(),
            message: format!("reading rows {}..{}: {e}", rows.start, rows.end),
        };
        if src.reader.is_none() {
            src.reader = Some(open().map_err(|e| fail(Rows::new(0, 0), e))?);
        }
        let w = src.window.get_or_insert_with(|| Window::new(size, format, need.len().max(strip)));
        if need.end <= w.end {
            return Ok(());
        }
        let target = need.end.max((w.end + strip).min(size.height)).min(size.height);
        let keep = src.marks.iter().copied().min().unwrap_or(0);
        let rows = Rows::new(w.end, target);
        let stride = w.stride();
        let data = w.extend(keep, target);
        src.reader.as_mut().expect("opened").read_rows(rows, data, stride, format).map_err(|e| fail(rows, e))?;
        src.actual = src.actual && band_is_opaque(data, stride, size.width, Rows::new(0, rows.len()), format);
        Ok(())
    }

    fn pull_node(&mut self, n: usize, need: Rows) -> Result<(), RunError> {
        let node = &self.nodes[n];
        let produced = node.window.as_ref().map_or(0, |w| w.end);
        if need.end <= produced {
            return Ok(());
        }
        let height = node.size.height;
        let new = Rows::new(produced, need.end.max((produced + self.strip).min(height)).min(height));
        let width = node.size.width;
        // Inputs first.
        let inputs = node.inputs.clone();
        for (u, fp, slot) in inputs {
            let in_h = self.up_size(u).height;
            let rows = rows_needed(&fp, new, width, in_h);
            self.pull(u, rows)?;
            // This node will never ask for rows before `rows.start` again.
            match u {
                Up::Input(k) => self.sources[k].marks[slot] = rows.start,
                Up::Node(m) => self.nodes[m].marks[slot] = rows.start,
            }
        }
        let first = &self.chain.steps[self.nodes[n].steps[0]];
        let _span = tracing::info_span!("step", step = %first.label(), effect = %first.effect).entered();
        let started = Instant::now();
        let keep = self.nodes[n].marks.iter().copied().min().unwrap_or(0);
        let strip = self.strip;
        let (size, format) = (self.nodes[n].size, self.nodes[n].format);
        let mut window = self.nodes[n].window.take().unwrap_or_else(|| Window::new(size, format, strip * 2));
        let stride = window.stride();
        let threads = rayon::current_num_threads().max(1) as u32;
        let band = new.len().div_ceil(threads).max(1);
        {
            let data = window.extend(keep, new.end);
            let node = &self.nodes[n];
            let views: Vec<(UpRef<'_>, Footprint, u32)> =
                node.inputs.iter().map(|(u, fp, _)| (self.up_ref(*u), *fp, self.up_size(*u).height)).collect();
            let steps: Vec<(&Step, &EffectInfo)> = node
                .steps
                .iter()
                .map(|&i| (&self.chain.steps[i], self.infos[i].as_deref().expect("planned")))
                .collect();
            let point_steps: &[(&Step, &EffectInfo)] = if node.head.is_some() { &steps[1..] } else { &steps };
            let pass =
                PointPass { program: &node.program, ops: &node.points, steps: point_steps, size, stride, format };
            let span = tracing::Span::current();
            let head_opaque = node.assume[0];
            let opaque: Vec<[bool; 2]> = data
                .par_chunks_mut(stride * band as usize)
                .enumerate()
                .map(|(b, chunk)| -> Result<[bool; 2], RunError> {
                    let _strip =
                        tracing::trace_span!(parent: &span, "strip", rows = new.start + b as u32 * band).entered();
                    let rows = Rows::new(new.start + b as u32 * band, (new.start + (b as u32 + 1) * band).min(new.end));
                    let opaque_in;
                    let mut after_head = true;
                    if let Some(head) = &node.head {
                        let ins: Vec<FrameRef<'_>> = views
                            .iter()
                            .map(|(u, fp, in_h)| {
                                let r = rows_needed(fp, rows, width, *in_h);
                                u.view(r)
                            })
                            .collect();
                        let out = FrameMut {
                            data: (&mut *chunk).into(),
                            width,
                            height: size.height,
                            stride: stride as u32,
                            rows,
                            format,
                            opaque: false,
                        };
                        let (step, info) = steps[0];
                        let ctx = RenderCtx { seed: step.seed, size };
                        head.render(&ins, out, &ctx).map_err(|e| plugin_error(step, info, e))?;
                        if !node.program.is_empty() {
                            after_head = band_is_opaque(chunk, stride, width, Rows::new(0, rows.len()), format);
                        }
                        opaque_in = head_opaque;
                    } else {
                        // A point step first: it starts from its input's rows.
                        let src = views[0].0.view(rows);
                        opaque_in = src.opaque;
                        let row_bytes = width as usize * format.bytes_per_pixel();
                        for (d, s) in chunk.chunks_mut(stride).zip(src.data.as_slice().chunks(stride)) {
                            d[..row_bytes].copy_from_slice(&s[..row_bytes]);
                        }
                    }
                    if !node.program.is_empty() {
                        pass.run(chunk, rows, opaque_in, None, false)?;
                    }
                    Ok([after_head, band_is_opaque(chunk, stride, width, Rows::new(0, rows.len()), format)])
                })
                .collect::<Result<_, _>>()?;
            let node = &mut self.nodes[n];
            for [h, o] in opaque {
                node.actual[0] &= h;
                node.actual[1] &= o;
            }
        }
        let node = &mut self.nodes[n];
        node.window = Some(window);
        node.time += started.elapsed();
        Ok(())
    }

    /// What `up`'s rows are read from (pulled by now).
    fn up_ref(&self, up: Up) -> UpRef<'_> {
        match up {
            Up::Input(k) => match &self.sources[k] {
                SourceState { input: StreamInput::Frame(f), .. } => UpRef::Frame(f),
                SourceState { window: Some(w), assume, .. } => UpRef::Window(w, *assume),
                SourceState { window: None, .. } => unreachable!("an input is pulled before it is read"),
            },
            Up::Node(n) => {
                let node = &self.nodes[n];
                UpRef::Window(node.window.as_ref().expect("pulled"), node.assume[1])
            }
        }
    }

    /// Rows `rows` of `up` (held by now).
    fn view(&self, up: Up, rows: Rows) -> FrameRef<'_> {
        self.up_ref(up).view(rows)
    }

    /// Whether every opaque flag given to readers was the one the whole result has.
    fn assumptions_held(&self) -> bool {
        self.sources.iter().all(|s| matches!(s.input, StreamInput::Frame(_)) || s.assume == s.actual)
            && self.nodes.iter().all(|n| {
                n.assume[1] == n.actual[1] && (n.head.is_none() || n.program.is_empty() || n.assume[0] == n.actual[0])
            })
    }

    /// Pulls every output in strips into its sink, each sink on a thread of its own. The sinks
    /// finish only when the opaque flags assumed held (the result is then the materialised
    /// render's); otherwise they are dropped unfinished and the outcome says why to redo.
    fn run(&mut self, make: &mut MakeSink<'_>) -> Result<Outcome, RunError> {
        let outs: Vec<Up> = self.chain.outputs.iter().map(|&o| self.at[o].expect("outputs are planned")).collect();
        let slots: Vec<usize> = outs.iter().map(|&u| self.add_reader(u)).collect();
        let sink_error = |e: String| RunError::BadPlan { step: "output".into(), effect: "-".into(), message: e };
        let mut sinks = Vec::with_capacity(outs.len());
        for o in 0..outs.len() {
            sinks.push(make(o).map_err(sink_error)?);
        }
        std::thread::scope(|scope| -> Result<Outcome, RunError> {
            let mut senders = Vec::new();
            let mut handles = Vec::new();
            for mut sink in sinks {
                let (tx, rx) = sync_channel::<Strip>(2);
                senders.push(tx);
                handles.push(scope.spawn(move || -> Result<(), SinkError> {
                    for msg in rx {
                        match msg {
                            Strip::Rows(rows, data, stride, format) => sink.write_rows(rows, &data, stride, format)?,
                            Strip::Finish => return sink.finish(),
                        }
                    }
                    // Dropped unfinished: the sink discards what it has.
                    Ok(())
                }));
            }
            let mut next = vec![0u32; outs.len()];
            let mut failed = None;
            let mut stopped = false;
            'strips: loop {
                let mut more = false;
                for (o, &up) in outs.iter().enumerate() {
                    let h = self.up_size(up).height;
                    if next[o] >= h {
                        continue;
                    }
                    more = true;
                    let rows = Rows::new(next[o], (next[o] + self.strip).min(h));
                    let _strip = tracing::debug_span!("strip", output = o, rows = rows.start).entered();
                    if let Err(e) = self.pull(up, rows) {
                        failed = Some(e);
                        break 'strips;
                    }
                    let v = self.view(up, rows);
                    let (stride, format) = (v.stride as usize, v.format);
                    let data = v.data.as_slice().to_vec();
                    let sent = senders[o].send(Strip::Rows(rows, data, stride, format)).is_ok();
                    match up {
                        Up::Input(k) => self.sources[k].marks[slots[o]] = rows.end,
                        Up::Node(n) => self.nodes[n].marks[slots[o]] = rows.end,
                    }
                    next[o] = rows.end;
                    if !sent {
                        // The sink stopped: its thread has the error. The other sinks are
                        // not finished (their images are incomplete).
                        stopped = true;
                        break 'strips;
                    }
                }
                if !more {
                    break;
                }
            }
            let held = failed.is_none() && !stopped && self.assumptions_held();
            if held {
                for tx in &senders {
                    let _ = tx.send(Strip::Finish);
                }
            }
            drop(senders);
            let mut sink_failed = None;
            let mut again = false;
            for h in handles {
                match h.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(SinkError::Again)) => again = true,
                    Ok(Err(SinkError::Failed(e))) => {
                        sink_failed.get_or_insert(sink_error(e));
                    }
                    Err(_) => {
                        sink_failed.get_or_insert(sink_error("the output writer panicked".into()));
                    }
                }
            }
            match (failed, sink_failed) {
                (Some(e), _) | (None, Some(e)) => Err(e),
                (None, None) if again => Ok(Outcome::Sink),
                (None, None) if held => Ok(Outcome::Held),
                (None, None) => Ok(Outcome::Flags),
            }
        })
    }
}

/// How a streamed pass ended.
enum Outcome {
    /// Every sink finished.
    Held,
    /// An opaque flag assumed was wrong: render again with the flags seen.
    Flags,
    /// A sink asked for another pass ([`SinkError::Again`]).
    Sink,
}

/// What goes to a sink's thread.
enum Strip {
    Rows(Rows, Vec<u8>, usize, PixelFormat),
    Finish,
}

/// Streams `chain` into frames in memory: the streamed counterpart of [`crate::exec::render`],
/// for programs that want the outputs in memory and for comparing both paths.
pub fn stream_to_frames(
    chain: &Chain,
    registry: &Registry,
    inputs: &HashMap<String, Arc<Frame>>,
    options: &StreamOptions<'_>,
) -> Result<(Vec<Frame>, Vec<StepReport>), RunError> {
    let sizes = inputs.iter().map(|(k, f)| (k.clone(), f.size())).collect();
    let shapes = output_shapes(chain, registry, &sizes, options.render)?;
    let receivers: std::sync::Mutex<Vec<Option<Receiver<Frame>>>> = std::sync::Mutex::new(Vec::new());
    let mut make = |o: usize| -> Result<Box<dyn RowSink>, String> {
        let (size, format) = shapes[o];
        let (sink, rx) = FrameSink::new(size, format);
        let mut r = receivers.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() <= o {
            r.resize_with(o + 1, || None);
        }
        r[o] = Some(rx);
        Ok(Box::new(sink))
    };
    let ins = inputs.iter().map(|(k, f)| (k.clone(), StreamInput::Frame(f.clone()))).collect();
    let reports = stream(chain, registry, ins, &mut make, options)?;
    let frames = receivers
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|rx| {
            rx.and_then(|rx| rx.try_recv().ok()).ok_or_else(|| RunError::BadPlan {
                step: "output".into(),
                effect: "-".into(),
                message: "an output was not finished".into(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((frames, reports))
}
