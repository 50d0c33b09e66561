//! The glue between the author traits and the ABI: type erasure, the panic guard and the pieces
//! [`export_plugin!`](crate::export_plugin) expands to. Nothing here is for authors to call.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, RResult, RSlice, RStr, RVec};

use crate::abi::*;
use crate::image::{Band, Image};
use crate::params::{ParamDef, Params};
use crate::pixel::{Rgba8, RgbaF32};
use crate::traits::{Compositor, Filter, Generator, PointFilter};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    // The plugin has its own copy of std, hence its own panic hook: record where the panic happened
    // so the host can report it, instead of printing from inside the library.
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "non-string panic payload".to_string()
            };
            let text = match info.location() {
                Some(l) => format!("{msg} (at {}:{}:{})", l.file(), l.line(), l.column()),
                None => msg,
            };
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        }));
    });
}

/// Runs `f`, turning a panic into a [`PluginError`] of kind [`ErrorKind::PANICKED`]. Every function
/// and method the host can call goes through this.
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    install_panic_hook();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => ROk(v),
        Ok(Err(e)) => RErr(e),
        Err(_) => {
            let msg = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "unknown panic".into());
            RErr(PluginError::new(ErrorKind::PANICKED, format!("panicked: {msg}")))
        }
    }
}

/// Static facts about an effect, gathered from its trait constants.
pub struct Meta {
    id: &'static str,
    kind: EffectKind,
    inputs: (u32, u32),
    variant_of: &'static str,
    tier: Tier,
    access: Access,
    formats: FormatSet,
    deterministic: bool,
    summary: &'static str,
    doc: &'static str,
    params: Vec<ParamDef>,
}

impl Meta {
    fn descriptor(&self) -> EffectDescriptorRef {
        // Descriptors live as long as the library, which is never unloaded, so they are leaked.
        let params: Vec<ParamSpecRef> = self
            .params
            .iter()
            .map(|p| {
                let choices: Vec<RStr<'static>> = p.choices.iter().map(|c| RStr::from(*c)).collect();
                ParamSpec {
                    id: p.id.into(),
                    kind: p.kind,
                    default: Box::leak(Box::new(ParamValueNE::new(p.default.clone()))),
                    min: p.min,
                    max: p.max,
                    unit: p.unit.into(),
                    choices: RSlice::from_slice(Box::leak(choices.into_boxed_slice())),
                    doc: p.doc.into(),
                }
                .leak_into_prefix()
            })
            .collect();
        let params = RSlice::from_slice(Box::leak(params.into_boxed_slice()));
        EffectDescriptor {
            id: self.id.into(),
            kind: self.kind,
            min_inputs: self.inputs.0,
            max_inputs: self.inputs.1,
            variant_of: self.variant_of.into(),
            tier: self.tier,
            access: self.access,
            formats: self.formats,
            deterministic: self.deterministic,
            summary: self.summary.into(),
            doc: self.doc.into(),
            params,
        }
        .leak_into_prefix()
    }
}

/// The [`Meta`] of effect type `$T` (whose trait gives the common constants) with the facts that
/// differ between the author traits.
macro_rules! meta {
    ($T:ident, $kind:expr, $inputs:expr, $access:expr, $deterministic:expr) => {
        Meta {
            id: $T::ID,
            kind: $kind,
            inputs: $inputs,
            variant_of: $T::VARIANT_OF,
            tier: $T::TIER,
            access: $access,
            formats: $T::FORMATS,
            deterministic: $deterministic,
            summary: $T::SUMMARY,
            doc: $T::DOC,
            params: $T::Params::schema(),
        }
    };
}

/// An effect with its type erased, as the export macro stores it.
pub trait ErasedEffect: Send + Sync {
    /// Static facts.
    fn meta(&self) -> Meta;
    /// Prepares for one image.
    fn prepare(&self, params: &[ParamValue], inputs: &[Size], info: &PrepareInfo)
        -> Result<PreparedOpBox, PluginError>;
}

/// A boxed [`ErasedEffect`].
pub type BoxedEffect = Box<dyn ErasedEffect>;

fn boxed_op<T: PreparedOp + 'static>(op: T) -> PreparedOpBox {
    PreparedOp_TO::from_value(op, TD_Opaque)
}

fn single_input(id: &str, inputs: &[Size]) -> Result<Size, PluginError> {
    match inputs {
        [one] => Ok(*one),
        _ => Err(PluginError::unsupported(format!("{id} takes exactly one input, got {}", inputs.len()))),
    }
}

/// Calls `$body` with `$P` bound to the pixel type of `$format`.
macro_rules! with_pixel {
    ($format:expr, $P:ident => $body:expr) => {
        match $format {
            PixelFormat::RGBA8 => {
                type $P = Rgba8;
                $body
            }
            PixelFormat::RGBA32F => {
                type $P = RgbaF32;
                $body
            }
            other => Err(PluginError::unsupported(format!("pixel format {other} is not supported"))),
        }
    };
}

// ---- point filters ----------------------------------------------------------------------------

struct PointOp<T: PointFilter> {
    effect: T,
    params: T::Params,
    size: Size,
}

impl<T: PointFilter> PreparedOp for PointOp<T> {
    fn output_size(&self) -> Size {
        self.size
    }
    fn input_rows(&self, _input: u32, output: Rows) -> Rows {
        output
    }
    fn render_band(
        &self,
        _inputs: RSlice<'_, FrameRef<'_>>,
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> RResult<(), PluginError> {
        guard(|| {
            with_pixel!(output.format, P => {
                let mut band = Band::<P>::from_frame(output, ctx.seed)?;
                self.effect.process_band(&self.params, &mut band);
                Ok(())
            })
        })
    }
}

// ---- area / global filters --------------------------------------------------------------------

struct FilterOp<T: Filter> {
    effect: T,
    plan: T::Plan,
    input: Size,
    output: Size,
}

impl<T: Filter> PreparedOp for FilterOp<T> {
    fn output_size(&self) -> Size {
        self.output
    }
    fn input_rows(&self, _input: u32, output: Rows) -> Rows {
        let r = self.effect.input_rows(&self.plan, output, self.input);
        Rows::new(r.start.min(self.input.height), r.end.min(self.input.height))
    }
    fn render_band(
        &self,
        inputs: RSlice<'_, FrameRef<'_>>,
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> RResult<(), PluginError> {
        guard(|| {
            let [input] = inputs.as_slice() else {
                return Err(PluginError::unsupported(format!("{} takes one input, got {}", T::ID, inputs.len())));
            };
            with_pixel!(output.format, P => {
                let image = Image::<P>::from_frame(input)?;
                let mut band = Band::<P>::from_frame(output, ctx.seed)?;
                self.effect.render(&self.plan, &image, &mut band)
            })
        })
    }
}

// ---- generators -------------------------------------------------------------------------------

struct GeneratorOp<T: Generator> {
    effect: T,
    plan: T::Plan,
    size: Size,
}

impl<T: Generator> PreparedOp for GeneratorOp<T> {
    fn output_size(&self) -> Size {
        self.size
    }
    fn input_rows(&self, _input: u32, _output: Rows) -> Rows {
        Rows::default()
    }
    fn render_band(
        &self,
        _inputs: RSlice<'_, FrameRef<'_>>,
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> RResult<(), PluginError> {
        guard(|| {
            with_pixel!(output.format, P => {
                let mut band = Band::<P>::from_frame(output, ctx.seed)?;
                self.effect.render(&self.plan, &mut band)
            })
        })
    }
}

// ---- compositors ------------------------------------------------------------------------------

struct CompositorOp<T: Compositor> {
    effect: T,
    plan: T::Plan,
    inputs: Vec<Size>,
    output: Size,
}

impl<T: Compositor> PreparedOp for CompositorOp<T> {
    fn output_size(&self) -> Size {
        self.output
    }
    fn input_rows(&self, input: u32, output: Rows) -> Rows {
        let Some(size) = self.inputs.get(input as usize) else { return Rows::default() };
        let r = self.effect.input_rows(&self.plan, input, output, *size);
        Rows::new(r.start.min(size.height), r.end.min(size.height))
    }
    fn render_band(
        &self,
        inputs: RSlice<'_, FrameRef<'_>>,
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> RResult<(), PluginError> {
        guard(|| {
            if inputs.len() != self.inputs.len() {
                return Err(PluginError::unsupported(format!(
                    "{} prepared for {} inputs, got {}",
                    T::ID,
                    self.inputs.len(),
                    inputs.len()
                )));
            }
            with_pixel!(output.format, P => {
                let images = inputs.iter().map(Image::<P>::from_frame).collect::<Result<Vec<_>, _>>()?;
                let mut band = Band::<P>::from_frame(output, ctx.seed)?;
                self.effect.render(&self.plan, &images, &mut band)
            })
        })
    }
}

// ---- erasure, picked by autoref specialization in `export_plugin!` ----------------------------

/// Carries an effect type to the `Via*` traits.
pub struct Wrap<T>(PhantomData<T>);

impl<T> Wrap<T> {
    /// A new carrier.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Wrap(PhantomData)
    }
}

impl<T> Default for Wrap<T> {
    fn default() -> Self {
        Self::new()
    }
}

struct Erased<T>(PhantomData<fn() -> T>);

/// Erases a [`PointFilter`].
pub trait ViaPoint {
    /// The erased effect.
    fn erase(&self) -> BoxedEffect;
}
/// Erases a [`Filter`].
pub trait ViaFilter {
    /// The erased effect.
    fn erase(&self) -> BoxedEffect;
}
/// Erases a [`Generator`].
pub trait ViaGenerator {
    /// The erased effect.
    fn erase(&self) -> BoxedEffect;
}
/// Erases a [`Compositor`].
pub trait ViaCompositor {
    /// The erased effect.
    fn erase(&self) -> BoxedEffect;
}

impl<T: PointFilter> ViaPoint for &&&Wrap<T> {
    fn erase(&self) -> BoxedEffect {
        Box::new(Erased::<PointMarker<T>>(PhantomData))
    }
}
impl<T: Filter> ViaFilter for &&Wrap<T> {
    fn erase(&self) -> BoxedEffect {
        Box::new(Erased::<FilterMarker<T>>(PhantomData))
    }
}
impl<T: Generator> ViaGenerator for &Wrap<T> {
    fn erase(&self) -> BoxedEffect {
        Box::new(Erased::<GeneratorMarker<T>>(PhantomData))
    }
}
impl<T: Compositor> ViaCompositor for Wrap<T> {
    fn erase(&self) -> BoxedEffect {
        Box::new(Erased::<CompositorMarker<T>>(PhantomData))
    }
}

struct PointMarker<T>(T);
struct FilterMarker<T>(T);
struct GeneratorMarker<T>(T);
struct CompositorMarker<T>(T);

impl<T: PointFilter> ErasedEffect for Erased<PointMarker<T>> {
    fn meta(&self) -> Meta {
        meta!(T, EffectKind::FILTER, (1, 1), Access::POINT, T::DETERMINISTIC)
    }
    fn prepare(
        &self,
        params: &[ParamValue],
        inputs: &[Size],
        _info: &PrepareInfo,
    ) -> Result<PreparedOpBox, PluginError> {
        let size = single_input(T::ID, inputs)?;
        let params = T::Params::from_values(params)?;
        Ok(boxed_op(PointOp { effect: T::default(), params, size }))
    }
}

impl<T: Filter> ErasedEffect for Erased<FilterMarker<T>> {
    fn meta(&self) -> Meta {
        meta!(T, EffectKind::FILTER, (1, 1), T::ACCESS, T::DETERMINISTIC)
    }
    fn prepare(
        &self,
        params: &[ParamValue],
        inputs: &[Size],
        _info: &PrepareInfo,
    ) -> Result<PreparedOpBox, PluginError> {
        let input = single_input(T::ID, inputs)?;
        let effect = T::default();
        let plan = effect.plan(T::Params::from_values(params)?, input)?;
        let output = effect.output_size(&plan, input);
        Ok(boxed_op(FilterOp { effect, plan, input, output }))
    }
}

impl<T: Generator> ErasedEffect for Erased<GeneratorMarker<T>> {
    fn meta(&self) -> Meta {
        meta!(T, EffectKind::GENERATOR, (0, 0), Access::POINT, true)
    }
    fn prepare(
        &self,
        params: &[ParamValue],
        _inputs: &[Size],
        info: &PrepareInfo,
    ) -> Result<PreparedOpBox, PluginError> {
        let effect = T::default();
        let plan = effect.plan(T::Params::from_values(params)?, info.size, info.seed)?;
        Ok(boxed_op(GeneratorOp { effect, plan, size: info.size }))
    }
}

impl<T: Compositor> ErasedEffect for Erased<CompositorMarker<T>> {
    fn meta(&self) -> Meta {
        meta!(T, EffectKind::COMPOSITOR, (T::MIN_INPUTS, T::MAX_INPUTS), T::ACCESS, T::DETERMINISTIC)
    }
    fn prepare(
        &self,
        params: &[ParamValue],
        inputs: &[Size],
        _info: &PrepareInfo,
    ) -> Result<PreparedOpBox, PluginError> {
        let n = inputs.len() as u32;
        if n < T::MIN_INPUTS || n > T::MAX_INPUTS {
            return Err(PluginError::unsupported(format!(
                "{} takes {}..={} inputs, got {n}",
                T::ID,
                T::MIN_INPUTS,
                T::MAX_INPUTS
            )));
        }
        let effect = T::default();
        let plan = effect.plan(T::Params::from_values(params)?, inputs)?;
        let output = effect.output_size(&plan, inputs);
        Ok(boxed_op(CompositorOp { effect, plan, inputs: inputs.to_vec(), output }))
    }
}

// ---- root module functions, called by the `extern "C"` shims the macro writes -----------------

/// Body of the root module's `library`.
pub fn library_info(name: &str, version: &str, panic_unwind: bool) -> LibraryInfo {
    LibraryInfo { name: name.into(), version: version.into(), panic_unwind }
}

/// Body of the root module's `effects`.
pub fn describe(effects: fn() -> &'static [BoxedEffect]) -> RResult<RVec<EffectDescriptorRef>, PluginError> {
    guard(|| Ok(effects().iter().map(|e| e.meta().descriptor()).collect()))
}

/// Body of the root module's `prepare`.
pub fn prepare(
    effects: fn() -> &'static [BoxedEffect],
    index: u32,
    params: RVec<ParamValueNE>,
    inputs: RVec<Size>,
    info: &PrepareInfo,
) -> RResult<PreparedOpBox, PluginError> {
    guard(|| {
        let effect = effects()
            .get(index as usize)
            .ok_or_else(|| PluginError::invalid_params(format!("no effect with index {index}")))?;
        let values = params
            .into_iter()
            .map(|v| {
                v.into_enum()
                    .map_err(|_| PluginError::invalid_params("a parameter value has a type this plugin does not know"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        effect.prepare(&values, &inputs, info)
    })
}

/// Builds the root module from the three shims.
pub fn module(
    library: extern "C" fn() -> LibraryInfo,
    effects: extern "C" fn() -> RResult<RVec<EffectDescriptorRef>, PluginError>,
    prepare: extern "C" fn(u32, RVec<ParamValueNE>, RVec<Size>, &PrepareInfo) -> RResult<PreparedOpBox, PluginError>,
) -> PluginModuleRef {
    PluginModule { library, effects, prepare }.leak_into_prefix()
}
