//! The one pipeline every front end uses: `run`, `batch`, `watch` (through [`crate::session`]),
//! `bench`, the Python package and programs embedding the host describe a [`Job`] — a chain,
//! its inputs, its outputs and [`JobOptions`] — and [`run`] does the rest: generator size
//! limits, decoding, the preview scale, the optimizer, the choice between streaming and
//! materialising, the deadline, isolation in worker processes, and writing the outputs.
//! So an option means the same in every command.
//!
//! **Streaming or materialised.** A job whose outputs are all files, with no result cache and
//! no preview scale, streams ([`crate::stream`]): strips of rows go from the inputs through the
//! steps to the encoders, and no step holds its whole result. A job with a cache (`watch`, an
//! embedding program repeating renders) or with outputs in memory (`bench`, Python) renders
//! whole frames ([`crate::exec`]), whose intermediate results the cache can keep. Both give the
//! same pixels. A job given a disk cache folder ([`JobOptions::cache_dir`]) has a cache, so it
//! renders whole frames too: its results are then reused by later jobs and other processes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fxchain_plugin_api::{PixelFormat, Size};

use crate::cache::{DiskCache, ResultCache};
use crate::chain::{Chain, Precision};
use crate::error::{ImageError, RunError};
use crate::exec::{render_with_deadline, RenderOptions, RenderResult, StepReport};
use crate::frame::Frame;
use crate::io::{ImageLimits, OutputFormat};
use crate::registry::Registry;
use crate::stream::{RowSink, SinkError, StreamInput, StreamOptions};

pub use crate::frame::WHOLE_FRAME_PIXELS;

/// How a job executes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Execution {
    /// Stream when every output is a file and nothing asks for whole frames (see the module
    /// documentation); otherwise materialise.
    #[default]
    Auto,
    /// Always stream (outputs in memory are then assembled from the strips).
    Stream,
    /// Always render whole frames.
    Materialise,
}

/// What a job is run with. Every command fills the same fields from the same flags.
#[derive(Clone)]
pub struct JobOptions {
    /// The executor's options: quality profile, bands, fusing, the result cache, metrics, the
    /// deadline, concurrent branches. The result cache serves materialised renders only.
    pub render: RenderOptions,
    /// Scale inputs and the generator size down to fit this many pixels first.
    pub preview: Option<u32>,
    /// Reorder steps where it is safe (`None`: as the chain's `optimize` says).
    pub optimize: Option<bool>,
    /// Decoding limits, which a chain's generator size obeys as well.
    pub limits: ImageLimits,
    /// The disk tier of the result cache (`--cache-dir`): attached to `render.cache`, or to a cache
    /// with no memory tier when there is none. A job with one renders whole frames.
    pub cache_dir: Option<Arc<DiskCache>>,
    /// Streaming or whole frames.
    pub execution: Execution,
    /// Render in worker processes (`--isolate`).
    #[cfg(unix)]
    pub isolate: Option<(Arc<crate::isolate::WorkerPool>, crate::isolate::Job)>,
    /// Metadata and colour handling of file inputs and outputs.
    pub meta: crate::meta::MetaOptions,
    /// The frame or page read from multi-frame inputs (without it they are refused).
    pub frame: Option<u32>,
    /// Encoder settings of file outputs. `depth` 16 is used for every output; with
    /// `follow_input_depth` an output is written with 16 bits when an input has more than 8 and
    /// the chain works in F32.
    pub encode: crate::io::EncodeOptions,
    /// See `encode`.
    pub follow_input_depth: bool,
    /// Provenance records in file outputs (`None`: none): how the render was asked for, and the
    /// overrides the chain was validated with.
    pub provenance: Option<(crate::provenance::Settings, Vec<crate::chain::Override>)>,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            render: RenderOptions::default(),
            preview: None,
            optimize: None,
            limits: ImageLimits::default(),
            cache_dir: None,
            execution: Execution::Auto,
            #[cfg(unix)]
            isolate: None,
            meta: Default::default(),
            frame: None,
            encode: Default::default(),
            follow_input_depth: true,
            provenance: None,
        }
    }
}

impl std::fmt::Debug for JobOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobOptions")
            .field("render", &self.render)
            .field("preview", &self.preview)
            .field("optimize", &self.optimize)
            .field("limits", &self.limits)
            .field("cache_dir", &self.cache_dir.as_ref().map(|d| d.dir()))
            .field("execution", &self.execution)
            .finish()
    }
}

/// A chain input.
#[derive(Clone)]
pub enum JobInput {
    /// An image file (`-`: standard input), decoded under the job's limits.
    File(PathBuf),
    /// A frame in memory.
    Frame(Arc<Frame>),
}

/// Where a chain output goes.
#[derive(Clone, Debug)]
pub enum JobOutput {
    /// An image file, written atomically.
    File {
        /// The path (`-`: standard output).
        path: PathBuf,
        /// Its encoding.
        format: OutputFormat,
    },
    /// A frame in memory, returned in [`JobResult::frames`].
    Memory,
}

impl JobOutput {
    /// The path of a file output (`-`: standard output).
    pub fn path(&self) -> Option<&Path> {
        match self {
            JobOutput::File { path, .. } => Some(path),
            JobOutput::Memory => None,
        }
    }
}

/// Everything a render needs.
pub struct Job {
    /// The validated chain (overrides applied).
    pub chain: Chain,
    /// Its inputs by name.
    pub inputs: Vec<(String, JobInput)>,
    /// One output per chain output, in `chain.outputs` order.
    pub outputs: Vec<JobOutput>,
    /// How to run it.
    pub options: JobOptions,
}

/// What a job did.
#[derive(Debug)]
pub struct JobResult {
    /// The frames of the [`JobOutput::Memory`] outputs (`None` for files), in output order.
    pub frames: Vec<Option<Arc<Frame>>>,
    /// The size of every output.
    pub sizes: Vec<Size>,
    /// One report per step that ran (empty for isolated renders).
    pub steps: Vec<StepReport>,
    /// Whether the job streamed.
    pub streamed: bool,
    /// The chain as rendered (after the preview scale and the optimizer).
    pub chain: Chain,
}

/// The frame format a chain's inputs are decoded to.
pub fn input_format(chain: &Chain) -> PixelFormat {
    match chain.precision {
        Precision::F32 => PixelFormat::RGBA32F,
        Precision::U8 => PixelFormat::RGBA8,
    }
}

#[cfg(unix)]
fn isolated(o: &JobOptions) -> Option<()> {
    o.isolate.as_ref().map(|_| ())
}

#[cfg(not(unix))]
fn isolated(_: &JobOptions) -> Option<()> {
    None
}

/// A chain input whose header has been read.
enum Opened {
    Frame(Arc<Frame>),
    Source(Box<crate::io::ImageSource>, PathBuf),
}

impl Opened {
    fn size(&self) -> Size {
        match self {
            Opened::Frame(f) => f.size(),
            Opened::Source(s, _) => s.header().size,
        }
    }
}

/// An image source read by a stream, row by row.
struct SourceRows(crate::io::ImageSource);

impl crate::stream::RowSource for SourceRows {
    fn size(&self) -> Size {
        self.0.header().size
    }
    fn read_rows(
        &mut self,
        rows: fxchain_plugin_api::Rows,
        data: &mut [u8],
        stride: usize,
        format: PixelFormat,
    ) -> Result<(), String> {
        let n = self.0.read_rows(format, data, stride, rows.len()).map_err(|e| e.to_string())?;
        if n != rows.len() {
            return Err(format!("the image ended after {} of {} rows", rows.start + n, rows.end));
        }
        Ok(())
    }
}

/// Opens `path` for a stream: the source already open first, the file again when the stream
/// renders once more.
fn reopen(src: crate::io::ImageSource, path: PathBuf, options: crate::io::SourceOptions) -> crate::stream::OpenRows {
    let mut first = Some(src);
    Box::new(move || {
        let s = match first.take() {
            Some(s) => s,
            None => crate::io::ImageSource::open(&path, &options).map_err(|e| e.to_string())?,
        };
        Ok(Box::new(SourceRows(s)) as Box<dyn crate::stream::RowSource>)
    })
}

fn wants_stream(job: &Job) -> bool {
    match job.options.execution {
        Execution::Stream => true,
        Execution::Materialise => false,
        Execution::Auto => {
            job.options.render.cache.is_none()
                && job.options.preview.is_none()
                && isolated(&job.options).is_none()
                && job.outputs.iter().all(|o| matches!(o, JobOutput::File { .. }))
        }
    }
}

/// Runs `job` against `registry`.
pub fn run(job: Job, registry: &Arc<Registry>) -> Result<JobResult, RunError> {
    let Job { mut chain, inputs, outputs, mut options } = job_checked(job)?;
    if let Some(disk) = &options.cache_dir {
        options.render.cache.get_or_insert_with(|| ResultCache::new(0, None)).attach_disk(disk.clone());
    }
    // Generators render at the chain's size: it obeys the same limits as an input image.
    if let Some(s) = chain.size {
        options
            .limits
            .check(s.width, s.height)
            .map_err(|reason| RunError::ChainSize { chain: chain.source.name.clone(), reason })?;
    }
    for name in &chain.inputs {
        if !inputs.iter().any(|(n, _)| n == name) {
            return Err(RunError::missing_input(name));
        }
    }
    let format = input_format(&chain);
    // Headers first: sizes, depth and metadata are known before any pixel is decoded.
    let source = crate::io::SourceOptions { limits: options.limits, frame: options.frame };
    let mut opened: Vec<(String, Opened)> = Vec::new();
    // Outputs carry the metadata of the first file input.
    let mut metadata = None;
    let mut deep = false;
    for (name, input) in &inputs {
        let o = match input {
            JobInput::File(path) => {
                let src = crate::io::ImageSource::open(path, &source)?;
                deep |= src.header().bit_depth > 8;
                Opened::Source(Box::new(src), path.clone())
            }
            JobInput::Frame(f) => Opened::Frame(f.clone()),
        };
        opened.push((name.clone(), o));
    }
    let sizes: HashMap<String, Size> = opened.iter().map(|(k, o)| (k.clone(), o.size())).collect();
    if options.optimize.unwrap_or(chain.optimize) && options.preview.is_none() {
        chain = crate::plan::optimize(&chain, registry, &sizes, options.render.quality)?;
    }
    let probe = Job { chain, inputs: Vec::new(), outputs, options };
    let refused = crate::stream::not_streamable(&probe.chain, registry, probe.options.render.quality);
    let stream = wants_stream(&probe) && refused.is_none();
    let Job { mut chain, outputs, options, .. } = probe;
    if !stream {
        // Whole frames of every step are held: the larger sizes only a stream allows are refused.
        let why = refused.unwrap_or_else(|| {
            "the job keeps whole frames (a result cache, a preview, isolation or outputs in memory)".into()
        });
        let path_of = |name: &String| match inputs.iter().find(|(n, _)| n == name) {
            Some((_, JobInput::File(p))) => p.clone(),
            _ => PathBuf::from(name),
        };
        let named = sizes
            .iter()
            .map(|(k, s)| (path_of(k), *s))
            .chain(chain.size.map(|s| (PathBuf::from(&chain.source.name), s)));
        for (name, s) in named {
            if s.pixels() > WHOLE_FRAME_PIXELS {
                return Err(RunError::Image(ImageError::Limits {
                    path: name,
                    reason: format!(
                        "{}x{} is {} pixels; rendered whole an image may have at most {WHOLE_FRAME_PIXELS} (16384²), and this job cannot stream: {why}",
                        s.width, s.height, s.pixels()
                    ),
                }));
            }
        }
    }
    // Decoded whole: everything a materialised render reads, and inputs a stream cannot read
    // row by row (standard input, which cannot be read again; pixels converted to sRGB).
    let mut frames: HashMap<String, Arc<Frame>> = HashMap::new();
    let mut rows: Vec<(String, StreamInput)> = Vec::new();
    for (name, o) in opened {
        match o {
            Opened::Frame(f) => {
                frames.insert(name, f);
            }
            Opened::Source(src, path) => {
                let icc = src.header().metadata.icc.clone();
                if stream && path != Path::new("-") && !crate::meta::converts(icc.as_deref(), options.meta) {
                    let header = src.header().clone();
                    metadata.get_or_insert_with(|| crate::meta::for_output(&header.metadata, options.meta, false));
                    rows.push((name, StreamInput::Rows(header.size, reopen(*src, path, source))));
                } else {
                    let loaded = crate::meta::load_source(*src, format, options.meta)?;
                    metadata.get_or_insert(loaded.metadata);
                    frames.insert(name, Arc::new(loaded.frame));
                }
            }
        }
    }
    let writer = Arc::new(Writer {
        chain: chain.clone(),
        registry: registry.clone(),
        inputs: inputs
            .iter()
            .filter_map(|(n, i)| match i {
                // Standard input cannot be found again by a replay: it is not recorded.
                JobInput::File(p) if p != Path::new("-") => Some((n.clone(), p.clone())),
                _ => None,
            })
            .collect(),
        metadata: metadata.unwrap_or_default(),
        provenance: options.provenance.clone(),
        encode: {
            let mut e = options.encode.clone();
            if deep && options.follow_input_depth && format == PixelFormat::RGBA32F {
                e.depth = 16;
            }
            e
        },
    });
    if stream {
        let mut inputs: Vec<(String, StreamInput)> =
            frames.into_iter().map(|(k, f)| (k, StreamInput::Frame(f))).collect();
        inputs.extend(rows);
        return run_streaming(chain, registry, inputs, sizes, outputs, &options, writer);
    }
    if let Some(max) = options.preview {
        crate::plan::shrink_for_preview(&mut chain, &mut frames, max);
        if options.optimize.unwrap_or(chain.optimize) {
            let sizes = frames.iter().map(|(k, f)| (k.clone(), f.size())).collect();
            chain = crate::plan::optimize(&chain, registry, &sizes, options.render.quality)?;
        }
    }
    #[cfg(unix)]
    if let Some((pool, job)) = &options.isolate {
        let rendered = pool.render(job, &frames, options.render.deadline)?;
        let sizes = rendered.iter().map(|f| f.size()).collect();
        let frames = writer.write_frames(&rendered, &outputs)?;
        return Ok(JobResult { frames, sizes, steps: Vec::new(), streamed: false, chain });
    }
    let render = options.render.clone();
    let RenderResult { outputs: rendered, steps } = render_with_deadline(&chain, registry, &frames, &render)?;
    let sizes = rendered.iter().map(|f| f.size()).collect();
    let frames = writer.write_frames(&rendered, &outputs)?;
    Ok(JobResult { frames, sizes, steps, streamed: false, chain })
}

/// Checks that the outputs match the chain's.
fn job_checked(job: Job) -> Result<Job, RunError> {
    if job.outputs.len() != job.chain.outputs.len() {
        return Err(RunError::BadPlan {
            step: "-".into(),
            effect: "-".into(),
            message: format!(
                "the chain has {} output(s) but {} destination(s) were given",
                job.chain.outputs.len(),
                job.outputs.len()
            ),
        });
    }
    Ok(job)
}

/// Writes output files: the pixels, the input's metadata and the provenance record.
struct Writer {
    /// The chain as validated (before the preview scale and the optimizer, which the record's
    /// settings redo).
    chain: Chain,
    registry: Arc<Registry>,
    inputs: Vec<(String, PathBuf)>,
    metadata: crate::io::Metadata,
    provenance: Option<(crate::provenance::Settings, Vec<crate::chain::Override>)>,
    encode: crate::io::EncodeOptions,
}

impl Writer {
    /// The provenance record of output `index`, whose pixels hash to `hash`, if records are kept.
    fn record(&self, index: usize, path: &Path, hash: impl FnOnce() -> String) -> Option<crate::provenance::Record> {
        let (settings, overrides) = self.provenance.as_ref()?;
        crate::provenance::record(&self.chain, overrides, &self.registry, &self.inputs, settings, index, hash())
            .map_err(|e| tracing::warn!("{}: no provenance record: {e}", path.display()))
            .ok()
    }

    /// Writes output `index` to `path`.
    fn write(&self, index: usize, frame: &Frame, path: &Path, format: OutputFormat) -> Result<(), ImageError> {
        let record = self.record(index, path, || crate::provenance::pixel_hash(frame));
        crate::provenance::save(frame, path, format, &self.encode, &self.metadata, record.as_ref())
    }

    /// Writes the file outputs; returns the in-memory ones.
    fn write_frames(
        &self,
        rendered: &[Arc<Frame>],
        outputs: &[JobOutput],
    ) -> Result<Vec<Option<Arc<Frame>>>, RunError> {
        let mut frames = Vec::with_capacity(outputs.len());
        for (i, (frame, out)) in rendered.iter().zip(outputs).enumerate() {
            match out {
                JobOutput::File { path, format } => {
                    self.write(i, frame, path, *format)?;
                    frames.push(None);
                }
                JobOutput::Memory => frames.push(Some(frame.clone())),
            }
        }
        Ok(frames)
    }
}

/// A sink writing an image file: the rows are assembled, then encoded and renamed into place at
/// the end. Dropped unfinished, it writes nothing.
struct FileSink {
    frame: crate::stream::FrameSink,
    done: std::sync::mpsc::Receiver<Frame>,
    index: usize,
    path: PathBuf,
    format: OutputFormat,
    writer: Arc<Writer>,
}

impl RowSink for FileSink {
    fn write_rows(
        &mut self,
        rows: fxchain_plugin_api::Rows,
        data: &[u8],
        stride: usize,
        format: PixelFormat,
    ) -> Result<(), SinkError> {
        self.frame.write_rows(rows, data, stride, format)
    }
    fn finish(self: Box<Self>) -> Result<(), SinkError> {
        let FileSink { frame, done, index, path, format, writer } = *self;
        Box::new(frame).finish()?;
        let frame = done.recv().map_err(|_| "the output was not assembled")?;
        writer.write(index, &frame, &path, format).map_err(|e| e.to_string().into())
    }
}

/// A sink encoding a PNG file as its rows arrive, so that no whole image is held. The layout
/// (grey or colour, with or without alpha) of a file depends on every pixel; this sink takes it
/// from the first strip and asks for the render to be done again ([`SinkError::Again`], after
/// which the output is assembled whole) when a later row needs a larger layout. The provenance
/// record, which holds the hash of the pixels, goes after them.
struct EncodingSink {
    sink: Option<crate::io::ImageSink>,
    /// Whether the rows so far were all opaque, all grey.
    seen: (bool, bool),
    size: Size,
    index: usize,
    path: PathBuf,
    writer: Arc<Writer>,
    hasher: Option<crate::provenance::PixelHasher>,
    /// Set when the layout guessed was wrong.
    again: Arc<std::sync::atomic::AtomicBool>,
}

impl RowSink for EncodingSink {
    fn write_rows(
        &mut self,
        rows: fxchain_plugin_api::Rows,
        data: &[u8],
        stride: usize,
        format: PixelFormat,
    ) -> Result<(), SinkError> {
        let n = rows.len();
        let (opaque, grey) = crate::io::scan(data, stride, n, self.size.width, format);
        let encode = &self.writer.encode;
        let sink = match &mut self.sink {
            Some(sink) => {
                let seen = (self.seen.0 && opaque, self.seen.1 && grey);
                if crate::io::Layout::choose(seen.0, seen.1, OutputFormat::Png, encode) != sink.layout() {
                    self.again.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Err(SinkError::Again);
                }
                self.seen = seen;
                sink
            }
            None => {
                self.seen = (opaque, grey);
                let layout = crate::io::Layout::choose(opaque, grey, OutputFormat::Png, encode);
                let metadata = crate::provenance::without_record(&self.writer.metadata);
                let target = crate::io::Target::File(self.path.clone());
                let sink =
                    crate::io::ImageSink::create(target, self.size, OutputFormat::Png, layout, encode, &metadata)
                        .map_err(|e| e.to_string())?;
                self.sink.insert(sink)
            }
        };
        if let Some(h) = &mut self.hasher {
            h.update(data, stride, n, self.size.width, format);
        }
        sink.push_rows(data, stride, format, n).map_err(|e| e.to_string().into())
    }

    fn finish(self: Box<Self>) -> Result<(), SinkError> {
        let EncodingSink { sink, index, path, writer, hasher, .. } = *self;
        let sink = sink.ok_or("no rows were written")?;
        let record = hasher.and_then(|h| writer.record(index, &path, || h.finish()));
        let text: Vec<(String, String)> = record.iter().map(crate::provenance::png_text).collect();
        sink.finish_with_text(&text).map_err(|e| e.to_string())?;
        if record.is_some() {
            crate::provenance::embedded(&path);
        }
        Ok(())
    }
}

fn run_streaming(
    chain: Chain,
    registry: &Arc<Registry>,
    inputs: Vec<(String, StreamInput)>,
    sizes: HashMap<String, Size>,
    outputs: Vec<JobOutput>,
    options: &JobOptions,
    writer: Arc<Writer>,
) -> Result<JobResult, RunError> {
    let render = options.render.clone();
    let shapes = crate::stream::output_shapes(&chain, registry, &sizes, &render)?;
    let sizes: Vec<Size> = shapes.iter().map(|s| s.0).collect();
    let deadline = options.render.deadline;
    let (tx, rx) = std::sync::mpsc::channel();
    let registry = registry.clone();
    type Streamed = (Vec<Option<Arc<Frame>>>, Vec<StepReport>, Chain);
    let work = move || -> Result<Streamed, RunError> {
        let memory: std::sync::Mutex<Vec<Option<std::sync::mpsc::Receiver<Frame>>>> =
            std::sync::Mutex::new((0..outputs.len()).map(|_| None).collect());
        // Outputs whose layout guess failed once are assembled whole.
        let again: Vec<Arc<std::sync::atomic::AtomicBool>> = outputs.iter().map(|_| Arc::default()).collect();
        let mut make = |o: usize| -> Result<Box<dyn RowSink>, String> {
            let (size, format) = shapes[o];
            match &outputs[o] {
                JobOutput::File { path, format: OutputFormat::Png }
                    if path != Path::new("-") && !again[o].load(std::sync::atomic::Ordering::Relaxed) =>
                {
                    return Ok(Box::new(EncodingSink {
                        sink: None,
                        seen: (true, true),
                        size,
                        index: o,
                        path: path.clone(),
                        hasher: writer.provenance.is_some().then(crate::provenance::PixelHasher::default),
                        writer: writer.clone(),
                        again: again[o].clone(),
                    }));
                }
                _ => {}
            }
            let (frame, done) = crate::stream::FrameSink::new(size, format);
            match &outputs[o] {
                JobOutput::File { path, format } => Ok(Box::new(FileSink {
                    frame,
                    done,
                    index: o,
                    path: path.clone(),
                    format: *format,
                    writer: writer.clone(),
                })),
                JobOutput::Memory => {
                    memory.lock().unwrap_or_else(|e| e.into_inner())[o] = Some(done);
                    Ok(Box::new(frame))
                }
            }
        };
        let steps = crate::stream::stream(
            &chain,
            &registry,
            inputs,
            &mut make,
            &StreamOptions { render: &render, strip_rows: render.band_rows },
        )?;
        let frames = memory
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|rx| rx.and_then(|rx| rx.try_recv().ok()).map(Arc::new))
            .collect();
        Ok((frames, steps, chain))
    };
    let result = match deadline {
        None => work(),
        Some(d) => {
            std::thread::Builder::new()
                .name("fxchain-render".into())
                .spawn(move || {
                    let _ = tx.send(work());
                })
                .map_err(|e| RunError::BadPlan {
                    step: "-".into(),
                    effect: "-".into(),
                    message: format!("cannot start a render thread: {e}"),
                })?;
            match rx.recv_timeout(d) {
                Ok(r) => r,
                Err(_) => Err(RunError::Deadline { seconds: d.as_secs_f64() }),
            }
        }
    };
    let (frames, steps, chain) = result?;
    Ok(JobResult { frames, sizes, steps, streamed: true, chain })
}

/// Renders `chain` on the named in-memory `inputs` the way every command does (optimizer,
/// deadline, cache and metrics from `options`); the outputs come back in memory.
pub fn run_frames(
    chain: &Chain,
    registry: &Arc<Registry>,
    inputs: &HashMap<String, Arc<Frame>>,
    options: &RenderOptions,
) -> Result<RenderResult, RunError> {
    let job = Job {
        chain: chain.clone(),
        inputs: inputs.iter().map(|(k, f)| (k.clone(), JobInput::Frame(f.clone()))).collect(),
        outputs: vec![JobOutput::Memory; chain.outputs.len()],
        options: JobOptions {
            render: options.clone(),
            limits: ImageLimits {
                max_width: u32::MAX,
                max_height: u32::MAX,
                max_pixels: u64::MAX,
                max_bytes: u64::MAX,
            },
            ..Default::default()
        },
    };
    let r = run(job, registry)?;
    Ok(RenderResult { outputs: r.frames.into_iter().map(|f| f.expect("in memory")).collect(), steps: r.steps })
}

/// Removes the temporary files that killed writers left in the folders of `outputs` (once per
/// command, before anything is written there).
pub fn clean_output_folders(outputs: &[JobOutput]) {
    let mut done = std::collections::HashSet::new();
    for o in outputs {
        if let JobOutput::File { path, .. } = o {
            if path == Path::new("-") {
                continue;
            }
            let dir = crate::outdir::folder_of(path).to_path_buf();
            if done.insert(dir.clone()) {
                let n = crate::io::clean_stale_temps(&dir);
                if n > 0 {
                    tracing::info!("removed {n} stale temporary file(s) in {}", dir.display());
                }
            }
        }
    }
}
