//! Executing a validated chain on a set of input frames.
//!
//! Each step is prepared by its plugin for the actual input sizes, then rendered in horizontal
//! bands on rayon's pool. Point effects run in place on a copy of their input (or on the input
//! itself when nothing else holds it). Formats are converted where a step needs another one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fxchain_plugin_api::abi::{FrameMut, FrameRef, PrepareInfo, RenderCtx};
use fxchain_plugin_api::{point, EffectKind, PixelFormat, Rgba8, RgbaF32, Rows, Size};
use rayon::prelude::*;

use crate::cache::{Key, ResultCache};
use crate::chain::{Chain, Precision, Source, Step};
use crate::error::RunError;
use crate::frame::{Frame, WHOLE_FRAME_PIXELS};
use crate::loader::EffectInfo;
use crate::metrics::Metrics;
use crate::plan::{hex, node_keys};
// The planning items the executors build on; re-exported so `exec::` paths keep working.
pub(crate) use crate::plan::{is_point, plugin_error};
pub use crate::plan::{prepare_step, Plan, PreparedStep};
use crate::registry::Registry;

/// Knobs for one render.
#[derive(Clone)]
pub struct RenderOptions {
    /// Quality profile overriding the chain's (not a step's own).
    pub quality: Option<fxchain_plugin_api::Tier>,
    /// Rows per band; chosen from the frame size when `None`.
    pub band_rows: Option<u32>,
    /// Size for generators when the chain does not give one and there is no input.
    pub default_size: Size,
    /// Run consecutive point steps band by band in one pass.
    pub fuse: bool,
    /// Where intermediate results are looked up and stored (none: nothing is cached).
    pub cache: Option<Arc<ResultCache>>,
    /// Where per-effect figures are recorded.
    pub metrics: Option<Arc<Metrics>>,
    /// Longest a render may take (see [`render_with_deadline`]).
    pub deadline: Option<std::time::Duration>,
    /// Render the independent branches of the graph (the units of one level) at the same time
    /// on rayon's pool; `false`: one step after the other, in step order. Pixels, reports and
    /// errors are the same either way.
    pub concurrent_branches: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            quality: None,
            band_rows: None,
            default_size: Size::new(512, 512),
            fuse: true,
            cache: None,
            metrics: None,
            deadline: None,
            concurrent_branches: true,
        }
    }
}

impl std::fmt::Debug for RenderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("quality", &self.quality)
            .field("band_rows", &self.band_rows)
            .field("fuse", &self.fuse)
            .field("cache", &self.cache.is_some())
            .field("concurrent_branches", &self.concurrent_branches)
            .finish()
    }
}

/// What happened at one step.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// Step label (`#2 "blur"`).
    pub label: String,
    /// Effect id run (the variant actually chosen).
    pub effect: String,
    /// Library generation that ran it.
    pub generation: u64,
    /// Wall time of prepare and render.
    pub time: Duration,
    /// Output size.
    pub size: Size,
    /// Output format.
    pub format: PixelFormat,
    /// Skipped because disabled.
    pub skipped: bool,
    /// Served from the result cache.
    pub cached: bool,
    /// Rendered in one band pass with the neighbouring point steps.
    pub fused: bool,
    /// The result cache's key of this step's result (hex), when a cache was used and the step
    /// is cacheable: the key `chain explain` shows.
    pub cache_key: Option<String>,
}

/// The result of a render.
#[derive(Debug)]
pub struct RenderResult {
    /// One frame per chain output, in `chain.outputs` order.
    pub outputs: Vec<Arc<Frame>>,
    /// One report per step that ran.
    pub steps: Vec<StepReport>,
}

fn band_rows_for(size: Size, stride: usize, explicit: Option<u32>, no_context: bool) -> u32 {
    if let Some(b) = explicit {
        return b.max(1);
    }
    // At least four bands per thread so the pool balances.
    let by_threads = size.height.div_ceil(4 * rayon::current_num_threads() as u32).max(1);
    if !no_context {
        // Neighbourhood effects redo their context rows in every band: fewer, taller bands.
        return by_threads;
    }
    // Point effects and generators: about 128 KiB per band, so the band stays in L2 while it is
    // processed, and many bands, so that a generator whose cost varies across the image (a ring,
    // a shape) balances between threads.
    let by_cache = ((128 * 1024) / stride.max(1)).max(1) as u32;
    by_cache.min(by_threads).max(1)
}

/// Renders one step: `inputs` already in `format`.
#[allow(clippy::too_many_arguments)]
pub fn render_step(
    step: &Step,
    info: &EffectInfo,
    mut inputs: Vec<Arc<Frame>>,
    format: PixelFormat,
    gen_size: Size,
    band_rows: Option<u32>,
) -> Result<Frame, RunError> {
    let sizes: Vec<Size> = inputs.iter().map(|f| f.size()).collect();
    let prep = PrepareInfo { seed: step.seed, size: gen_size, format };
    let prepared = prepare_step(step, info, &sizes, &prep)?;
    let out_size = prepared.facts.output;
    if out_size.pixels() > WHOLE_FRAME_PIXELS {
        // A stream holds a few rows of such a step; rendered whole, its frame would not fit.
        return Err(RunError::BadPlan {
            step: step.label(),
            effect: info.id.clone(),
            message: format!(
                "its output is {}x{} ({} pixels); rendered whole, a frame may have at most {WHOLE_FRAME_PIXELS} (16384²); only a streamed render makes it (docs/operations.md, Which commands stream)",
                out_size.width,
                out_size.height,
                out_size.pixels()
            ),
        });
    }
    let in_place = is_point(info);
    let mut out = if in_place {
        let input = inputs.pop().expect("one input");
        // Run in place when nothing else holds the input; otherwise on a copy.
        Arc::try_unwrap(input).unwrap_or_else(|shared| (*shared).clone())
    } else {
        Frame::new_uninit(out_size, format)
    };
    let rows = band_rows_for(out_size, out.stride(), band_rows, in_place || info.kind == EffectKind::GENERATOR);
    let ctx = RenderCtx { seed: step.seed, size: out_size };
    let footprints = &prepared.facts.footprints;
    let run_band = |band: FrameMut<'_>| -> Result<(), RunError> {
        let views: Vec<FrameRef<'_>> = if in_place {
            Vec::new()
        } else {
            inputs
                .iter()
                .zip(footprints.iter())
                .map(|(f, fp)| f.view(fp.input_rows(band.rows, out_size.width, f.size().height)))
                .collect()
        };
        prepared.render(&views, band, &ctx).map_err(|e| plugin_error(step, info, e))
    };
    let span = tracing::Span::current();
    out.bands_mut(rows)
        .into_par_iter()
        .map(|b| {
            let _band = tracing::trace_span!(parent: &span, "band", rows = b.rows.start).entered();
            run_band(b)
        })
        .collect::<Result<Vec<()>, RunError>>()?;
    prepared.release().map_err(|e| plugin_error(step, info, e))?;
    out.detect_opaque();
    Ok(out)
}

/// One segment of a fused run of point steps: composed tables and colour matrices run by the
/// host, or a plugin call.
pub(crate) enum Segment {
    Composed(point::Program),
    Call(usize),
}

/// How a fused run of point steps executes. On 8-bit frames, consecutive steps that are tables
/// or colour matrices become one [`point::Program`] (tables composed into one, matrices applied
/// in the same pass with the rounding of each step), run with the same loops the plugins render
/// them with, so the pixels are those of the steps run one after the other; other steps are
/// plugin calls. Float frames call every step, as the row functions are the reference there.
pub(crate) fn segments(ops: &[PreparedStep], format: PixelFormat) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut pending: Vec<point::Stage> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let stage = match (format == PixelFormat::RGBA8, op.table(), op.matrix()) {
            (true, Some(t), _) => Some(point::Stage::Table(Box::new(*t))),
            (true, None, Some(m)) => Some(point::Stage::Matrix(m)),
            _ => None,
        };
        match stage {
            Some(s) => pending.push(s),
            None => {
                if !pending.is_empty() {
                    out.push(Segment::Composed(point::Program::new(pending.drain(..))));
                }
                out.push(Segment::Call(i));
            }
        }
    }
    if !pending.is_empty() {
        out.push(Segment::Composed(point::Program::new(pending)));
    }
    out
}

/// Whether every pixel of the band's rows is opaque.
pub(crate) fn band_is_opaque(chunk: &[u8], stride: usize, width: u32, rows: Rows, format: PixelFormat) -> bool {
    let row_bytes = width as usize * format.bytes_per_pixel();
    chunk.chunks(stride).take(rows.len() as usize).all(|r| match format {
        PixelFormat::RGBA8 => point::row_is_opaque::<Rgba8>(bytemuck::cast_slice(&r[..row_bytes])),
        _ => point::row_is_opaque::<RgbaF32>(bytemuck::cast_slice(&r[..row_bytes])),
    })
}

/// A fused run of point steps over bands of one frame: composed segments run by the host,
/// the others plugin calls.
pub(crate) struct PointPass<'a> {
    pub program: &'a [Segment],
    pub ops: &'a [PreparedStep],
    pub steps: &'a [(&'a Step, &'a EffectInfo)],
    pub size: Size,
    pub stride: usize,
    pub format: PixelFormat,
}

impl PointPass<'_> {
    /// Runs every segment on the rows `band` held in `chunk` (in place, or reading `src` for a
    /// composed first segment; `last_streams`: the last composed pass writes around the cache).
    pub fn run(
        &self,
        chunk: &mut [u8],
        band: Rows,
        opaque_in: bool,
        src: Option<&[u8]>,
        last_streams: bool,
    ) -> Result<(), RunError> {
        let (size, stride, format) = (self.size, self.stride, self.format);
        // What the next plugin call receives: the opaque flag of the pixels as they are now.
        let mut opaque = Some(opaque_in);
        for (n, seg) in self.program.iter().enumerate() {
            match seg {
                Segment::Composed(p) => {
                    let row_bytes = size.width as usize * 4;
                    match src.filter(|_| n == 0) {
                        Some(src) => {
                            let last = last_streams && n + 1 == self.program.len();
                            for (d, s) in chunk.chunks_mut(stride).zip(src.chunks(stride)).take(band.len() as usize) {
                                let (s, d) = (
                                    bytemuck::cast_slice(&s[..row_bytes]),
                                    bytemuck::cast_slice_mut(&mut d[..row_bytes]),
                                );
                                if last {
                                    p.run_streaming(s, d);
                                } else {
                                    p.run(s, d);
                                }
                            }
                        }
                        None => {
                            for d in chunk.chunks_mut(stride).take(band.len() as usize) {
                                p.run_in_place(bytemuck::cast_slice_mut(&mut d[..row_bytes]));
                            }
                        }
                    }
                    opaque = opaque.map(|o| o && p.keeps_opaque());
                }
                Segment::Call(k) => {
                    let (step, info) = self.steps[*k];
                    let known = opaque.unwrap_or_else(|| band_is_opaque(chunk, stride, size.width, band, format));
                    let frame = FrameMut {
                        data: (&mut *chunk).into(),
                        width: size.width,
                        height: size.height,
                        stride: stride as u32,
                        rows: band,
                        format,
                        opaque: known,
                    };
                    let ctx = RenderCtx { seed: step.seed, size };
                    self.ops[*k].render(&[], frame, &ctx).map_err(|e| plugin_error(step, info, e))?;
                    // A plugin call may change alpha: look again if another call follows.
                    opaque = None;
                }
            }
        }
        Ok(())
    }
}

/// Frames larger than this are written around the cache by their last composed pass.
const STREAM_BYTES: usize = 32 << 20;

/// Renders consecutive point steps on `input` in one pass: each band goes through every step
/// while it is in cache, composed where the steps describe themselves as tables or matrices.
pub fn render_fused(
    steps: &[(&Step, &EffectInfo)],
    input: Arc<Frame>,
    band_rows: Option<u32>,
) -> Result<Frame, RunError> {
    let size = input.size();
    let format = input.format();
    let mut ops = Vec::with_capacity(steps.len());
    for (step, info) in steps {
        let prep = PrepareInfo { seed: step.seed, size, format };
        ops.push(prepare_step(step, info, &[size], &prep)?);
    }
    let program = segments(&ops, format);
    let opaque_in = input.is_opaque();
    // A composed first segment reads the input and writes a new frame, so a shared input is not
    // copied first; otherwise the run works in place (on a copy when the input is shared).
    let (mut out, src) = match (&program[0], Arc::try_unwrap(input)) {
        (_, Ok(own)) => (own, None),
        (Segment::Composed(_), Err(shared)) => (Frame::new_uninit(size, format), Some(shared)),
        (Segment::Call(_), Err(shared)) => ((*shared).clone(), None),
    };
    let rows = band_rows_for(size, out.stride(), band_rows, true);
    let stride = out.stride();
    let band_bytes = stride * rows as usize;
    // A large frame's last composed pass writes around the cache: nothing reads it soon.
    let stream = out.byte_len() > STREAM_BYTES;
    let span = tracing::Span::current();
    let run_band = |i: usize, chunk: &mut [u8], src: Option<&[u8]>| -> Result<(), RunError> {
        let _band = tracing::trace_span!(parent: &span, "fused band", rows = i as u32 * rows).entered();
        let start = i as u32 * rows;
        let band = Rows::new(start, (start + rows).min(size.height));
        let pass = PointPass { program: &program, ops: &ops, steps, size, stride, format };
        pass.run(chunk, band, opaque_in, src, stream)
    };
    let bands = out.bytes_mut().par_chunks_mut(band_bytes).enumerate();
    match &src {
        Some(src) => bands.zip(src.bytes().par_chunks(band_bytes)).try_for_each(|((i, d), s)| run_band(i, d, Some(s))),
        None => bands.try_for_each(|(i, d)| run_band(i, d, None)),
    }?;
    for (op, (step, info)) in ops.into_iter().zip(steps) {
        op.release().map_err(|e| plugin_error(step, info, e))?;
    }
    let ends_composed = matches!(program.last(), Some(Segment::Composed(_)));
    if opaque_in && program.iter().all(|s| matches!(s, Segment::Composed(p) if p.keeps_opaque())) && ends_composed {
        out.set_opaque(true);
    } else {
        out.detect_opaque();
    }
    Ok(out)
}

/// Renders `chain` with named input frames; returns the outputs and a report per step.
pub fn render(
    chain: &Chain,
    registry: &Registry,
    inputs: &HashMap<String, Arc<Frame>>,
    options: &RenderOptions,
) -> Result<RenderResult, RunError> {
    let quality = options.quality.unwrap_or(chain.quality);
    let preferred = match chain.precision {
        Precision::U8 => PixelFormat::RGBA8,
        Precision::F32 => PixelFormat::RGBA32F,
    };
    for name in &chain.inputs {
        if !inputs.contains_key(name) {
            return Err(RunError::missing_input(name));
        }
    }
    let gen_size = chain
        .size
        .or_else(|| chain.inputs.first().and_then(|n| inputs.get(n)).map(|f| f.size()))
        .unwrap_or(options.default_size);

    let Plan { needed, mut readers, nodes: plan, fused_with_next } =
        Plan::new(chain, registry, quality, preferred, options.fuse)?;
    let n = chain.steps.len();

    // Cache keys, from the inputs' pixels and upstream keys.
    let cache = options.cache.as_ref();
    let keys: Vec<Option<Key>> = if cache.is_some() {
        let input_keys: HashMap<String, Key> = inputs.iter().map(|(k, f)| (k.clone(), f.content_hash())).collect();
        node_keys(chain, &needed, &plan, gen_size, &input_keys)
    } else {
        vec![None; n]
    };

    // Units of execution: a fused run of point steps with the step that ends it, or one step.
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut group: Vec<usize> = Vec::new();
    for i in 0..n {
        if !needed[i] {
            continue;
        }
        if fused_with_next[i] {
            // Rendered with the step that reads it.
            group.push(i);
        } else {
            units.push(group.drain(..).chain(std::iter::once(i)).collect());
        }
    }
    let batches = batches(chain, &units, options.concurrent_branches);

    let mut results: Vec<Option<Arc<Frame>>> = vec![None; n];
    let mut reports: Vec<(usize, Vec<StepReport>)> = Vec::new();
    // The failure of the lowest step so far: later batches still run the units of lower steps
    // (they might fail too), so the error is the one a sequential run meets first.
    let mut failed: Option<(usize, RunError)> = None;
    let parent = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    for batch in batches {
        let mut jobs = Vec::with_capacity(batch.len());
        for u in batch {
            let members = &units[u];
            let last = *members.last().expect("a unit has a step");
            if failed.as_ref().is_some_and(|(f, _)| *f < last) {
                continue;
            }
            let head = &chain.steps[members[0]];
            let mut frames = Vec::with_capacity(head.inputs.len());
            for s in &head.inputs {
                match s {
                    Source::Input(name) => frames.push(inputs[name].clone()),
                    Source::Step(j) => {
                        readers[*j] -= 1;
                        frames.push(results[*j].clone().expect("inputs are rendered first"));
                        if readers[*j] == 0 {
                            // Last reader: release our hold so the step may run in place.
                            results[*j] = None;
                        }
                    }
                }
            }
            jobs.push((members.as_slice(), frames));
        }
        let unit = Unit { chain, plan: &plan, keys: &keys, options, gen_size, parent: &parent };
        let outcomes: Vec<Result<UnitDone, (usize, RunError)>> = if jobs.len() == 1 {
            jobs.into_iter().map(|(members, frames)| unit.run(members, frames)).collect()
        } else {
            // Independent units of one level: concurrently on rayon's pool, each with the
            // caller's subscriber so its spans land in the same trace.
            jobs.into_par_iter()
                .map(|(members, frames)| tracing::dispatcher::with_default(&dispatch, || unit.run(members, frames)))
                .collect()
        };
        // Committed in step order: reports, cache entries and the first error are those of a
        // sequential run.
        for outcome in outcomes {
            match outcome {
                Ok(done) => {
                    if let (Some(c), Some(k), true) = (cache, keys[done.step], done.store) {
                        c.insert(k, done.frame.clone());
                    }
                    results[done.step] = Some(done.frame);
                    reports.push((done.step, done.reports));
                }
                Err((step, e)) => {
                    if failed.as_ref().is_none_or(|(f, _)| step < *f) {
                        failed = Some((step, e));
                    }
                }
            }
        }
    }
    if let Some((_, e)) = failed {
        return Err(e);
    }
    reports.sort_by_key(|r| r.0);
    let steps = reports.into_iter().flat_map(|r| r.1).collect();
    let outputs = chain.outputs.iter().map(|&o| results[o].clone().expect("outputs are rendered")).collect();
    Ok(RenderResult { outputs, steps })
}

/// A unit of execution's view of its render.
struct Unit<'a> {
    chain: &'a Chain,
    plan: &'a [Option<(Arc<EffectInfo>, PixelFormat)>],
    keys: &'a [Option<Key>],
    options: &'a RenderOptions,
    gen_size: Size,
    parent: &'a tracing::Span,
}

/// A unit's result: the frame of its last step, the reports of its steps, and whether the frame
/// goes into the result cache.
struct UnitDone {
    step: usize,
    frame: Arc<Frame>,
    reports: Vec<StepReport>,
    store: bool,
}

impl Unit<'_> {
    /// Runs the steps `members` (a fused run, or one step) on their head's input `frames`; an
    /// error comes with the index of the unit's last step.
    fn run(&self, members: &[usize], frames: Vec<Arc<Frame>>) -> Result<UnitDone, (usize, RunError)> {
        let i = *members.last().expect("a unit has a step");
        self.render(i, members, frames).map_err(|e| (i, e))
    }

    fn render(&self, i: usize, members: &[usize], frames: Vec<Arc<Frame>>) -> Result<UnitDone, RunError> {
        let Unit { chain, plan, keys, options, gen_size, parent } = *self;
        let cache = options.cache.as_ref();
        let step = &chain.steps[i];
        let start = Instant::now();
        let _span = tracing::info_span!(parent: parent, "step", step = %step.label(), effect = %step.effect).entered();
        let Some((info, format)) = plan[i].clone() else {
            let Some(first) = frames.into_iter().next() else {
                return Err(RunError::BadPlan {
                    step: step.label(),
                    effect: step.effect.clone(),
                    message: "a disabled step without input has nothing to pass through".into(),
                });
            };
            let report = StepReport {
                label: step.label(),
                effect: step.effect.clone(),
                generation: 0,
                time: start.elapsed(),
                size: first.size(),
                format: first.format(),
                skipped: true,
                cached: false,
                fused: false,
                cache_key: keys[i].map(hex),
            };
            return Ok(UnitDone { step: i, frame: first, reports: vec![report], store: false });
        };
        // Cached?
        if let (Some(c), Some(k)) = (cache, keys[i]) {
            let hit = c.get(&k);
            if let Some(m) = &options.metrics {
                m.record_cache(&info.id, hit.is_some());
            }
            if let Some(frame) = hit {
                let mut reports = Vec::with_capacity(members.len());
                for &m in members {
                    let (minfo, _) = plan[m].as_ref().expect("planned");
                    reports.push(StepReport {
                        label: chain.steps[m].label(),
                        effect: minfo.id.clone(),
                        generation: minfo.library.generation,
                        time: start.elapsed(),
                        size: frame.size(),
                        format,
                        skipped: false,
                        cached: true,
                        fused: members.len() > 1,
                        cache_key: keys[m].map(hex),
                    });
                }
                return Ok(UnitDone { step: i, frame, reports, store: false });
            }
        }
        let frames: Vec<Arc<Frame>> =
            frames.into_iter().map(|f| if f.format() == format { f } else { Arc::new(f.convert(format)) }).collect();
        // Point steps, alone or fused, take the point pass: a composable one reads a shared input
        // and writes a new frame instead of copying the input first.
        let out = if members.len() == 1 && !is_point(&info) {
            render_step(step, &info, frames, format, gen_size, options.band_rows)?
        } else {
            let list: Vec<(&Step, &EffectInfo)> =
                members.iter().map(|&m| (&chain.steps[m], plan[m].as_ref().map(|p| &*p.0).expect("planned"))).collect();
            render_fused(&list, frames.into_iter().next().expect("one input"), options.band_rows)?
        };
        let elapsed = start.elapsed();
        let pixels = out.size().pixels();
        let mut reports = Vec::with_capacity(members.len());
        for &m in members {
            let (minfo, _) = plan[m].as_ref().expect("planned");
            if let Some(metrics) = &options.metrics {
                metrics.record(&minfo.id, pixels, elapsed / members.len() as u32, members.len() > 1);
            }
            reports.push(StepReport {
                label: chain.steps[m].label(),
                effect: minfo.id.clone(),
                generation: minfo.library.generation,
                time: elapsed / members.len() as u32,
                size: out.size(),
                format,
                skipped: false,
                cached: false,
                fused: members.len() > 1,
                cache_key: keys[m].map(hex),
            });
        }
        tracing::debug!(target: "fxchain::exec", step = %step.label(), effect = %info.id, ms = elapsed.as_secs_f64() * 1e3, "step done");
        tracing::debug!(target: "fxchain::exec", step = %step.label(), effect = %info.id, ms = elapsed.as_secs_f64() * 1e3, "step done");
        Ok(UnitDone { step: i, frame: Arc::new(out), reports, store: true })
    }
}

/// The order units run in: batches of units that do not depend on each other (one level of the
/// graph, the level `chain explain` shows), lowest level first, each batch in step order. No two
/// units of a chain share a cache key (each step's seed is part of its key), so a unit never
/// waits for another's cache entry. Without concurrency: one unit a batch, in step order.
fn batches(chain: &Chain, units: &[Vec<usize>], concurrent: bool) -> Vec<Vec<usize>> {
    if !concurrent {
        return (0..units.len()).map(|u| vec![u]).collect();
    }
    let mut level = vec![0usize; chain.steps.len()];
    let mut by_level: Vec<Vec<usize>> = Vec::new();
    for (u, members) in units.iter().enumerate() {
        let l = chain.steps[members[0]]
            .inputs
            .iter()
            .map(|s| match s {
                Source::Step(j) => level[*j] + 1,
                Source::Input(_) => 0,
            })
            .max()
            .unwrap_or(0);
        for &m in members {
            level[m] = l;
        }
        if by_level.len() <= l {
            by_level.resize(l + 1, Vec::new());
        }
        by_level[l].push(u);
    }
    by_level
}

/// [`render`] with `options.deadline` enforced: plugin code cannot be interrupted, so the render
/// runs on its own thread and, past the deadline, the caller gets [`RunError::Deadline`] and
/// moves on while the runaway effect finishes (or spins) in the background.
pub fn render_with_deadline(
    chain: &Chain,
    registry: &Arc<Registry>,
    inputs: &HashMap<String, Arc<Frame>>,
    options: &RenderOptions,
) -> Result<RenderResult, RunError> {
    let Some(deadline) = options.deadline else { return render(chain, registry, inputs, options) };
    let (tx, rx) = std::sync::mpsc::channel();
    let (c, r, i, o) = (chain.clone(), registry.clone(), inputs.clone(), options.clone());
    std::thread::Builder::new()
        .name("fxchain-render".into())
        .spawn(move || {
            let _ = tx.send(render(&c, &r, &i, &o));
        })
        .map_err(|e| RunError::BadPlan {
            step: "-".into(),
            effect: "-".into(),
            message: format!("cannot start a render thread: {e}"),
        })?;
    match rx.recv_timeout(deadline) {
        Ok(r) => r,
        Err(_) => Err(RunError::Deadline { seconds: deadline.as_secs_f64() }),
    }
}
