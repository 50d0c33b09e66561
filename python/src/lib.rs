//! `fxchain._native`: the fxchain host for Python. Registries, chains and renders are the host's
//! own (`fxchain_host`); this crate only converts between Python objects and host types, and
//! releases the GIL around every render.

mod convert;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use fxchain_host::api::Tier;
use fxchain_host::chain::{self, Override, Precision};
use fxchain_host::io::{load_image, save_image, ImageLimits, OutputFormat};
use fxchain_host::loader::EffectInfo;
use fxchain_host::reload::LiveRegistry;
use fxchain_host::{ChainSource, Frame, RegistryOptions, RenderOptions, RunError};
use pyo3::exceptions::{PyException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use rayon::prelude::*;

use convert::{array_to_frame, dtype_of, frame_to_array, Dtype};

pyo3::create_exception!(
    fxchain,
    ChainError,
    PyException,
    "A chain that does not parse or validate. `.diagnostics` lists every problem as a dict with\n\
     `file`, `line`, `column`, `message` and `help` (the same as `fxchain chain check`)."
);
pyo3::create_exception!(
    fxchain,
    RenderError,
    PyRuntimeError,
    "A render that failed: a plugin error or panic, or a plan the host refused."
);

/// Plugins loaded once, shared by every chain that uses them.
///
/// `plugin_dirs` are searched first; with `default_plugins` the folders in `FXCHAIN_PLUGIN_PATH`
/// are searched too. `reload()` picks up rebuilt libraries with the same checks as
/// `fxchain watch`: a new build replaces the old one only after it loads and passes a self-test.
#[pyclass(module = "fxchain", frozen)]
struct Registry {
    live: Arc<LiveRegistry>,
}

fn effect_dict<'py>(py: Python<'py>, e: &EffectInfo, variants: &[Arc<EffectInfo>]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &e.id)?;
    d.set_item("kind", e.kind.to_string())?;
    d.set_item("access", e.access.to_string())?;
    d.set_item("tier", e.tier.to_string())?;
    d.set_item("variant_of", &e.variant_of)?;
    d.set_item("inputs", (e.min_inputs, e.max_inputs))?;
    d.set_item("deterministic", e.deterministic)?;
    d.set_item("summary", &e.summary)?;
    d.set_item("doc", &e.doc)?;
    let params = PyList::empty(py);
    for p in &e.params {
        let pd = PyDict::new(py);
        pd.set_item("id", &p.id)?;
        pd.set_item("type", p.kind.to_string())?;
        pd.set_item("default", param_value(py, &p.default, &p.choices)?)?;
        pd.set_item("min", p.min.is_finite().then_some(p.min))?;
        pd.set_item("max", p.max.is_finite().then_some(p.max))?;
        pd.set_item("unit", &p.unit)?;
        pd.set_item("choices", &p.choices)?;
        pd.set_item("doc", &p.doc)?;
        params.append(pd)?;
    }
    d.set_item("params", params)?;
    let vs: Vec<&str> = variants.iter().filter(|v| v.id != e.id).map(|v| v.id.as_str()).collect();
    d.set_item("variants", vs)?;
    let lib = PyDict::new(py);
    lib.set_item("name", &e.library.name)?;
    lib.set_item("version", &e.library.version)?;
    lib.set_item("path", e.library.path.to_string_lossy())?;
    lib.set_item("generation", e.library.generation)?;
    lib.set_item("hash", &e.library.content_hash)?;
    d.set_item("library", lib)?;
    Ok(d)
}

fn param_value<'py>(
    py: Python<'py>,
    v: &fxchain_host::api::ParamValue,
    choices: &[String],
) -> PyResult<Bound<'py, PyAny>> {
    use fxchain_host::api::ParamValue as V;
    Ok(match v {
        V::Float(x) => x.into_pyobject(py)?.into_any(),
        V::Int(x) => x.into_pyobject(py)?.into_any(),
        V::Bool(x) => x.into_pyobject(py)?.to_owned().into_any(),
        V::Color(c) => {
            let b = c.map(fxchain_host::api::f32_to_u8);
            PyString::new(py, &format!("#{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3])).into_any()
        }
        V::Enum(i) => PyString::new(py, choices.get(*i as usize).map(String::as_str).unwrap_or("")).into_any(),
        V::Text(s) => PyString::new(py, s.as_str()).into_any(),
        _ => py.None().into_bound(py),
    })
}

#[pymethods]
impl Registry {
    #[new]
    #[pyo3(signature = (plugin_dirs=None, default_plugins=true))]
    fn new(py: Python<'_>, plugin_dirs: Option<Vec<PathBuf>>, default_plugins: bool) -> PyResult<Self> {
        let dirs = plugin_dirs.unwrap_or_default();
        for d in &dirs {
            if !d.is_dir() {
                return Err(PyValueError::new_err(format!("plugin folder {} does not exist", d.display())));
            }
        }
        let options = RegistryOptions { plugin_dirs: dirs, use_default_dirs: default_plugins, ..Default::default() };
        let live = py.detach(|| LiveRegistry::new(&options));
        Ok(Registry { live })
    }

    /// Every effect (references and their variants) as a plain dict: id, kind, access, tier,
    /// variant_of, inputs, summary, doc, params (id, type, default, min, max, unit, choices,
    /// doc), variants and library.
    fn effects<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let reg = self.live.snapshot();
        reg.all().map(|e| effect_dict(py, e, reg.variants_of(&e.id))).collect()
    }

    /// Reloads every library whose file changed since it was loaded (and loads new ones); returns
    /// one line per changed file saying what happened. A build that fails its checks is refused
    /// and the previous one keeps serving.
    fn reload(&self, py: Python<'_>) -> Vec<String> {
        let live = self.live.clone();
        py.detach(move || live.reload_changed()).iter().map(|e| e.to_string()).collect()
    }

    /// Libraries that failed to load, with why.
    #[getter]
    fn errors(&self) -> Vec<String> {
        self.live.snapshot().errors().iter().map(|e| e.to_string()).collect()
    }

    /// The folders searched.
    #[getter]
    fn dirs(&self) -> Vec<String> {
        self.live.dirs().iter().map(|d| d.to_string_lossy().into_owned()).collect()
    }

    fn __repr__(&self) -> String {
        let reg = self.live.snapshot();
        format!("<fxchain.Registry: {} effects from {} libraries>", reg.all().count(), reg.libraries().len())
    }
}

static DEFAULT_REGISTRY: PyOnceLock<Py<Registry>> = PyOnceLock::new();

fn registry_or_default(py: Python<'_>, registry: Option<Py<Registry>>) -> PyResult<Py<Registry>> {
    match registry {
        Some(r) => Ok(r),
        None => DEFAULT_REGISTRY
            .get_or_try_init(py, || Py::new(py, Registry::new(py, None, true)?))
            .map(|r| r.clone_ref(py)),
    }
}

/// Converts a host chain error into `fxchain.ChainError` with `.diagnostics`.
fn chain_error(py: Python<'_>, e: &chain::ChainError) -> PyErr {
    let diags = e.diagnostics();
    let mut text = e.to_string();
    if diags.len() > 1 {
        text = diags.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n");
    }
    let err = ChainError::new_err(text);
    let list = PyList::empty(py);
    for d in &diags {
        let item = PyDict::new(py);
        let _ = item.set_item("file", &d.source.name);
        let _ = item.set_item("line", d.span.map(|s| s.start.line));
        let _ = item.set_item("column", d.span.map(|s| s.start.col));
        let _ = item.set_item("message", &d.message);
        let _ = item.set_item("help", &d.help);
        let _ = list.append(item);
    }
    let _ = err.value(py).setattr("diagnostics", list);
    err
}

fn run_error(e: RunError) -> PyErr {
    match e {
        RunError::MissingInput { name, .. } => PyValueError::new_err(format!(
            "the chain reads an image named `{name}`: pass it as chain.run(image) or inputs={{\"{name}\": image}}"
        )),
        other => RenderError::new_err(other.to_string()),
    }
}

/// A Python value as a chain-file literal (RON), for `set=` and `apply(**params)`.
fn literal(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(if v.extract::<bool>()? { "true" } else { "false" }.into());
    }
    if let Ok(i) = v.extract::<i64>() {
        if v.is_instance_of::<pyo3::types::PyInt>() {
            return Ok(i.to_string());
        }
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(format!("{f:?}"));
    }
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_str()?;
        return Ok(format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    if v.is_instance_of::<PyTuple>() || v.is_instance_of::<PyList>() {
        let parts: PyResult<Vec<String>> = v.try_iter()?.map(|x| literal(&x?)).collect();
        return Ok(format!("({})", parts?.join(", ")));
    }
    Err(PyTypeError::new_err(format!(
        "cannot use a {} as a parameter value (numbers, bools, strings and tuples are accepted)",
        v.get_type().name()?
    )))
}

fn overrides(set: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<Override>> {
    let Some(set) = set else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (k, v) in set.iter() {
        let key: String = k.extract()?;
        let text = format!("{key}={}", literal(&v)?);
        out.push(text.parse::<Override>().map_err(|e| PyValueError::new_err(format!("set: {e}")))?);
    }
    Ok(out)
}

fn parse_quality(q: Option<&str>) -> PyResult<Option<Tier>> {
    match q {
        None => Ok(None),
        Some(q) => Tier::from_name(q).map(Some).ok_or_else(|| {
            PyValueError::new_err(format!("quality {q:?}: expected \"fast\", \"balanced\" or \"quality\""))
        }),
    }
}

fn parse_precision(p: Option<&str>) -> PyResult<Option<Precision>> {
    match p {
        None => Ok(None),
        Some("u8" | "U8" | "uint8") => Ok(Some(Precision::U8)),
        Some("f32" | "F32" | "float32") => Ok(Some(Precision::F32)),
        Some(p) => Err(PyValueError::new_err(format!("precision {p:?}: expected \"u8\" or \"f32\""))),
    }
}

/// An input as the render needs it: a frame read now, or a file decoded by the worker that
/// renders it (as `fxchain batch` does).
enum Item {
    Array(convert::Input),
    File(PathBuf),
}

impl Item {
    /// The dtype of an array, `uint8` for a file (as the CLI decodes 8-bit files).
    fn dtype(&self) -> Dtype {
        match self {
            Item::Array(a) => a.dtype,
            Item::File(_) => Dtype::U8,
        }
    }
}

fn as_path(obj: &Bound<'_, PyAny>) -> PyResult<Option<PathBuf>> {
    if obj.is_instance_of::<PyString>() || obj.hasattr("__fspath__")? {
        return Ok(Some(obj.extract::<PathBuf>()?));
    }
    Ok(None)
}

fn read_item(obj: &Bound<'_, PyAny>, chain: &fxchain_host::Chain) -> PyResult<Item> {
    if let Some(p) = as_path(obj)? {
        return Ok(Item::File(p));
    }
    Ok(Item::Array(array_to_frame(obj, fxchain_host::run::input_format(chain))?))
}

/// Everything a render needs besides the inputs; `Send`, so it crosses into the pool.
struct Job {
    chain: Arc<fxchain_host::Chain>,
    registry: Arc<fxchain_host::Registry>,
    options: RenderOptions,
}

type Rendered = Result<Vec<Arc<Frame>>, RunError>;

impl Job {
    fn render(&self, items: Vec<(String, Item)>) -> Rendered {
        let format = fxchain_host::run::input_format(&self.chain);
        let mut frames = HashMap::new();
        for (name, item) in items {
            let f = match item {
                Item::Array(a) => a.into_frame(format),
                Item::File(p) => load_image(&p, format, ImageLimits::default())?,
            };
            frames.insert(name, Arc::new(f));
        }
        fxchain_host::run::run_frames(&self.chain, &self.registry, &frames, &self.options).map(|r| r.outputs)
    }
}

/// A chain validated against a registry. Load one with `Chain.load(path)` or
/// `Chain.from_str(text)`; errors raise `fxchain.ChainError`.
#[pyclass(module = "fxchain", frozen)]
struct Chain {
    source: Arc<ChainSource>,
    chain: Arc<fxchain_host::Chain>,
    registry: Py<Registry>,
}

impl Chain {
    fn validate(py: Python<'_>, source: Arc<ChainSource>, registry: Option<Py<Registry>>) -> PyResult<Chain> {
        let registry = registry_or_default(py, registry)?;
        let snapshot = registry.get().live.snapshot();
        let chain = chain::validate(source.clone(), &snapshot, &[]).map_err(|e| chain_error(py, &e))?;
        Ok(Chain { source, chain: Arc::new(chain), registry })
    }

    /// The chain and options for one call: overrides applied (the chain validated again with
    /// them, against the current registry snapshot), precision and quality set.
    fn job(
        &self,
        py: Python<'_>,
        set: Option<&Bound<'_, PyDict>>,
        quality: Option<&str>,
        precision: Option<&str>,
    ) -> PyResult<Job> {
        let registry = self.registry.get().live.snapshot();
        let overrides = overrides(set)?;
        let mut chain = if overrides.is_empty() {
            (*self.chain).clone()
        } else {
            chain::validate(self.source.clone(), &registry, &overrides).map_err(|e| chain_error(py, &e))?
        };
        if let Some(p) = parse_precision(precision)? {
            chain.precision = p;
        }
        let options = RenderOptions { quality: parse_quality(quality)?, ..Default::default() };
        Ok(Job { chain: Arc::new(chain), registry, options })
    }

    fn output_names(chain: &fxchain_host::Chain) -> Vec<String> {
        chain.outputs.iter().map(|&i| chain.steps[i].id.clone().unwrap_or_else(|| format!("step{}", i + 1))).collect()
    }

    fn output_arrays<'py>(
        py: Python<'py>,
        chain: &fxchain_host::Chain,
        frames: Vec<Arc<Frame>>,
        dtype: Dtype,
    ) -> PyResult<Bound<'py, PyAny>> {
        if frames.len() == 1 {
            let f = frames.into_iter().next().expect("one output");
            return frame_to_array(py, f, dtype);
        }
        let d = PyDict::new(py);
        for (name, f) in Self::output_names(chain).into_iter().zip(frames) {
            d.set_item(name, frame_to_array(py, f, dtype)?)?;
        }
        Ok(d.into_any())
    }
}

fn out_dtype(dtype: Option<&Bound<'_, PyAny>>, input: Option<Dtype>) -> PyResult<Dtype> {
    match dtype {
        Some(d) if !d.is_none() => dtype_of(d),
        _ => Ok(input.unwrap_or(Dtype::U8)),
    }
}

#[pymethods]
impl Chain {
    /// Reads and validates the chain file at `path` against `registry` (the default registry,
    /// over `FXCHAIN_PLUGIN_PATH`, when none is given).
    #[staticmethod]
    #[pyo3(signature = (path, registry=None))]
    fn load(py: Python<'_>, path: PathBuf, registry: Option<Py<Registry>>) -> PyResult<Chain> {
        let source = ChainSource::from_path(&path).map_err(|e| chain_error(py, &e))?;
        Self::validate(py, source, registry)
    }

    /// Validates a chain given as text; `name` is the file name used in diagnostics.
    #[staticmethod]
    #[pyo3(signature = (text, registry=None, name="<string>"))]
    fn from_str(py: Python<'_>, text: &str, registry: Option<Py<Registry>>, name: &str) -> PyResult<Chain> {
        Self::validate(py, ChainSource::from_text(name, text), registry)
    }

    /// Names of the images the chain reads (`["input"]` for a one-input filter chain, `[]` for a
    /// chain that starts from generators).
    #[getter]
    fn inputs(&self) -> Vec<String> {
        self.chain.inputs.clone()
    }

    /// Names of the outputs: the step id, or `stepN`.
    #[getter]
    fn outputs(&self) -> Vec<String> {
        Self::output_names(&self.chain)
    }

    /// The registry the chain was validated against.
    #[getter]
    fn registry(&self, py: Python<'_>) -> Py<Registry> {
        self.registry.clone_ref(py)
    }

    /// Renders the chain on `image` (the chain's first input) and `inputs` (by name).
    ///
    /// Images are NumPy arrays (uint8, uint16 or float32; H×W, H×W×3 or H×W×4), PIL images or
    /// paths. `set` overrides parameters ({"step.param": value}), `quality` picks variants
    /// ("fast", "balanced", "quality") and `precision` the working precision ("u8", "f32").
    /// Returns an H×W×4 array in `dtype` (default: the dtype of `image`, uint8 for paths), or a
    /// dict of them by output name when the chain has several outputs. The GIL is released while
    /// the chain renders.
    #[pyo3(signature = (image=None, *, inputs=None, set=None, quality=None, precision=None, dtype=None))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        image: Option<&Bound<'py, PyAny>>,
        inputs: Option<&Bound<'py, PyDict>>,
        set: Option<&Bound<'py, PyDict>>,
        quality: Option<&str>,
        precision: Option<&str>,
        dtype: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let job = self.job(py, set, quality, precision)?;
        let mut items = Vec::new();
        let mut first_dtype = None;
        if let Some(img) = image.filter(|i| !i.is_none()) {
            let name = job.chain.inputs.first().cloned().unwrap_or_else(|| "input".into());
            let item = read_item(img, &job.chain)?;
            if let Item::Array(a) = &item {
                first_dtype = Some(a.dtype);
            }
            items.push((name, item));
        }
        if let Some(inputs) = inputs {
            for (k, v) in inputs.iter() {
                let item = read_item(&v, &job.chain)?;
                if let (None, Item::Array(a)) = (first_dtype, &item) {
                    first_dtype = Some(a.dtype);
                }
                items.push((k.extract()?, item));
            }
        }
        let dtype = out_dtype(dtype, first_dtype)?;
        let frames = py.detach(|| job.render(items)).map_err(run_error)?;
        Self::output_arrays(py, &job.chain, frames, dtype)
    }

    /// Renders the chain on every image of `images` (arrays, PIL images or paths), yielding the
    /// results in order. The host's thread pool renders several images at once with the GIL
    /// released; `workers` sets how many threads (default: one per core). A failing image
    /// raises when its turn comes.
    #[pyo3(signature = (images, workers=None, *, set=None, quality=None, precision=None, dtype=None))]
    #[allow(clippy::too_many_arguments)]
    fn map(
        &self,
        py: Python<'_>,
        images: &Bound<'_, PyAny>,
        workers: Option<usize>,
        set: Option<&Bound<'_, PyDict>>,
        quality: Option<&str>,
        precision: Option<&str>,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<MapIter> {
        let job = self.job(py, set, quality, precision)?;
        let pool = match workers {
            None => None,
            Some(0) => return Err(PyValueError::new_err("workers must be at least 1")),
            Some(n) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} threads: {e}")))?,
            )),
        };
        let threads = pool.as_ref().map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
        let dtype = match dtype {
            Some(d) if !d.is_none() => Some(dtype_of(d)?),
            _ => None,
        };
        Ok(MapIter {
            source: Some(images.try_iter()?.unbind()),
            job: Arc::new(job),
            pool,
            window: (threads * 4).max(4),
            dtype,
            ready: VecDeque::new(),
        })
    }

    fn __repr__(&self) -> String {
        format!("<fxchain.Chain {} ({} steps)>", self.source.name, self.chain.steps.len())
    }
}

/// The iterator `Chain.map` returns.
#[pyclass(module = "fxchain")]
struct MapIter {
    source: Option<Py<pyo3::types::PyIterator>>,
    job: Arc<Job>,
    pool: Option<Arc<rayon::ThreadPool>>,
    window: usize,
    dtype: Option<Dtype>,
    ready: VecDeque<(Rendered, Dtype)>,
}

#[pymethods]
impl MapIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.ready.is_empty() {
            self.fill(py)?;
        }
        let Some((result, dtype)) = self.ready.pop_front() else { return Ok(None) };
        let frames = result.map_err(run_error)?;
        Chain::output_arrays(py, &self.job.chain, frames, dtype).map(Some)
    }
}

impl MapIter {
    /// Reads the next window of images (with the GIL) and renders them in parallel (without).
    fn fill(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(source) = &self.source else { return Ok(()) };
        let mut it = source.bind(py).clone();
        let name = self.job.chain.inputs.first().cloned().unwrap_or_else(|| "input".into());
        let mut batch: Vec<(Item, Dtype)> = Vec::new();
        while batch.len() < self.window {
            match it.next() {
                Some(obj) => {
                    let item = read_item(&obj?, &self.job.chain)?;
                    let d = self.dtype.unwrap_or(item.dtype());
                    batch.push((item, d));
                }
                None => {
                    self.source = None;
                    break;
                }
            }
        }
        let job = self.job.clone();
        let pool = self.pool.clone();
        let results: Vec<(Rendered, Dtype)> = py.detach(move || {
            let work =
                move || batch.into_par_iter().map(|(item, d)| (job.render(vec![(name.clone(), item)]), d)).collect();
            match pool {
                Some(p) => p.install(work),
                None => work(),
            }
        });
        self.ready.extend(results);
        Ok(())
    }
}

/// Applies one effect to `image` with `params` as its parameters; `fxchain.apply` in Python.
#[pyfunction]
#[pyo3(signature = (effect, image=None, *, registry=None, quality=None, dtype=None, **params))]
fn apply<'py>(
    py: Python<'py>,
    effect: &str,
    image: Option<&Bound<'py, PyAny>>,
    registry: Option<Py<Registry>>,
    quality: Option<&str>,
    dtype: Option<&Bound<'py, PyAny>>,
    params: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut fields = Vec::new();
    if let Some(params) = params {
        for (k, v) in params.iter() {
            let key: String = k.extract()?;
            fields.push(format!(
                "{}: {}",
                literal(&k)?,
                literal(&v).map_err(|e| { PyTypeError::new_err(format!("{key}: {e}")) })?
            ));
        }
    }
    let text =
        format!("(steps: [(effect: {}, params: {{{}}})])", literal(&PyString::new(py, effect))?, fields.join(", "));
    let chain = Chain::validate(py, ChainSource::from_text(format!("<apply {effect}>"), text), registry)?;
    chain.run(py, image, None, None, quality, None, dtype)
}

/// A new zeroed H×W×4 array (uint8 or float32) in host frame memory: 64-byte aligned rows, so a
/// chain reads it in place.
#[pyfunction]
#[pyo3(signature = (height, width, dtype=None))]
fn empty<'py>(
    py: Python<'py>,
    height: usize,
    width: usize,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let d = match dtype {
        Some(d) if !d.is_none() => dtype_of(d)?,
        _ => Dtype::U8,
    };
    convert::empty(py, height, width, d)
}

/// Whether `array` would be read in place by a chain of its dtype (H×W×4 uint8 or float32,
/// 64-byte aligned, rows a multiple of 64 bytes apart).
#[pyfunction]
fn reads_in_place(array: &Bound<'_, PyAny>) -> PyResult<bool> {
    convert::is_host_layout(array)
}

/// Counters of the host's frame memory pool: hits, misses, bytes (held), peak_bytes,
/// pooled_bytes, released.
#[pyfunction]
#[pyo3(signature = (reset_peak=false, budget=None))]
fn pool_stats<'py>(py: Python<'py>, reset_peak: bool, budget: Option<u64>) -> PyResult<Bound<'py, PyDict>> {
    let pool = fxchain_host::pool::BufferPool::global();
    if let Some(b) = budget {
        pool.set_budget(b);
    }
    if reset_peak {
        pool.reset_peak();
    }
    let s = pool.stats();
    let d = PyDict::new(py);
    d.set_item("hits", s.hits)?;
    d.set_item("misses", s.misses)?;
    d.set_item("bytes", s.bytes)?;
    d.set_item("peak_bytes", s.peak_bytes)?;
    d.set_item("pooled_bytes", s.pooled_bytes)?;
    d.set_item("released", s.released)?;
    Ok(d)
}

/// Writes `image` (an array, PIL image or another accepted image) to `path` with the host's
/// encoder, atomically, exactly as `fxchain run` and `fxchain batch` write their outputs (format
/// from the extension: png, jpg, webp, tiff; `jpeg_quality` for jpg).
#[pyfunction]
#[pyo3(signature = (image, path, *, jpeg_quality=90))]
fn save(py: Python<'_>, image: &Bound<'_, PyAny>, path: PathBuf, jpeg_quality: u8) -> PyResult<()> {
    let format = match OutputFormat::from_path(&path) {
        Some(OutputFormat::Jpeg(_)) => OutputFormat::Jpeg(jpeg_quality.clamp(1, 100)),
        Some(f) => f,
        None => {
            return Err(PyValueError::new_err(format!(
                "{}: unknown output format; use .png, .jpg, .webp or .tiff",
                path.display()
            )))
        }
    };
    let input = array_to_frame(image, fxchain_host::api::PixelFormat::RGBA8)?;
    py.detach(move || save_image(&input.into_frame(fxchain_host::api::PixelFormat::RGBA8), &path, format))
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))
}

/// Threads in the host's pool.
#[pyfunction]
fn threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Registry>()?;
    m.add_class::<Chain>()?;
    m.add_class::<MapIter>()?;
    m.add_class::<convert::FrameBuffer>()?;
    m.add("ChainError", py.get_type::<ChainError>())?;
    m.add("RenderError", py.get_type::<RenderError>())?;
    m.add_function(wrap_pyfunction!(apply, m)?)?;
    m.add_function(wrap_pyfunction!(empty, m)?)?;
    m.add_function(wrap_pyfunction!(reads_in_place, m)?)?;
    m.add_function(wrap_pyfunction!(pool_stats, m)?)?;
    m.add_function(wrap_pyfunction!(threads, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    Ok(())
}
