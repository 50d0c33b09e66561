//! The glue between the author traits and the ABI: type erasure, the panic guard and the pieces
//! [`export_plugin!`](crate::export_plugin) expands to. Nothing here is for authors to call.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use std::mem::ManuallyDrop;

use abi_stable::library::{CheckTypeLayout, LibHeader, RootModule, RootModuleError, RootModuleResult};
use abi_stable::marker_type::ErasedPrefix;
use abi_stable::prefix_type::{PrefixRefTrait, PrefixTypeTrait};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk, RResult, RSlice, RStr, RVec};

use crate::abi::*;
use crate::image::{Band, Image};
use crate::meta::{Meta, Test};
use crate::params::{ParamDef, Params};
use crate::pixel::{Pixel, Rgba8, RgbaF32};
use crate::point;
use crate::traits::{ColorMatrix, Compositor, Curve, Filter, Generator, PointFilter};

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
            RErr(PluginError::new(ErrorKind::PANICKED, msg))
        }
    }
}

/// What the glue knows about an effect type: its metadata block, kind, inputs and schema.
pub struct Described {
    meta: Meta,
    kind: EffectKind,
    access: Access,
    inputs: (u32, u32),
    params: Vec<ParamDef>,
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn test_spec(t: &Test) -> TestSpec {
    TestSpec {
        name: t.name.into(),
        params: t.params.into(),
        size: t.size,
        seed: t.seed,
        format: t.format,
        input: RSlice::from_slice(t.input),
        expect: t.expect,
        hash: t.hash.into(),
        reference: t.reference.into(),
        min_db: t.min_db,
    }
}

impl Described {
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
                    choices: RSlice::from_slice(leak(choices)),
                    doc: p.doc.into(),
                }
                .leak_into_prefix()
            })
            .collect();
        let m = &self.meta;
        EffectDescriptor {
            id: m.id.into(),
            kind: self.kind,
            min_inputs: self.inputs.0,
            max_inputs: self.inputs.1,
            variant_of: m.variant_of.into(),
            tier: m.tier,
            access: self.access,
            formats: m.formats,
            deterministic: m.deterministic,
            summary: m.summary.into(),
            doc: m.doc.into(),
            params: RSlice::from_slice(leak(params)),
            tests: RSlice::from_slice(leak(m.tests.iter().map(test_spec).collect())),
        }
        .leak_into_prefix()
    }
}

fn described<Pa: Params>(meta: Meta, kind: EffectKind, access: Access, inputs: (u32, u32)) -> Described {
    Described { meta, kind, access: meta.access.unwrap_or(access), inputs, params: Pa::schema() }
}

/// An effect with its type erased, as the export macro stores it.
pub trait ErasedEffect: Send + Sync {
    /// Static facts.
    fn describe(&self) -> Described;
    /// Prepares for one image.
    fn prepare(&self, params: &[ParamValue], inputs: &[Size], info: &PrepareInfo) -> Result<Prepared, PluginError>;
}

/// A boxed [`ErasedEffect`].
pub type BoxedEffect = Box<dyn ErasedEffect>;

/// Renders bands of one prepared effect; the per-kind ops below implement it.
trait BandRenderer: Send + Sync + 'static {
    fn render(&self, inputs: &[FrameRef<'_>], output: FrameMut<'_>, ctx: &RenderCtx) -> Result<(), PluginError>;
}

/// A prepared op whose every call, and its drop, runs inside the guard. `release` drops the
/// plugin's state inside the guard, so a panic there is reported; `Drop` is the fallback for an
/// op the host drops without releasing it (a render that failed), where a panic is swallowed.
struct Guarded<R: BandRenderer> {
    id: &'static str,
    state: Option<ManuallyDrop<R>>,
}

impl<R: BandRenderer> PreparedOp for Guarded<R> {
    fn render_band(
        &self,
        inputs: RSlice<'_, FrameRef<'_>>,
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> RResult<(), PluginError> {
        guard(|| match &self.state {
            Some(r) => r.render(inputs.as_slice(), output, ctx),
            None => Err(PluginError::failed(format!("{} was released before rendering", self.id))),
        })
    }

    fn release(&mut self) -> RResult<(), PluginError> {
        let state = self.state.take();
        guard(move || {
            if let Some(s) = state {
                drop(ManuallyDrop::into_inner(s));
            }
            Ok(())
        })
    }
}

impl<R: BandRenderer> Drop for Guarded<R> {
    fn drop(&mut self) {
        if let Some(s) = self.state.take() {
            let _ = guard(move || {
                drop(ManuallyDrop::into_inner(s));
                Ok(())
            });
        }
    }
}

fn prepared<R: BandRenderer>(id: &'static str, renderer: R, facts: OpFacts) -> Prepared {
    let op = Guarded { id, state: Some(ManuallyDrop::new(renderer)) };
    Prepared { op: PreparedOp_TO::from_value(op, TD_Opaque), facts }
}

fn facts(output: Size, footprints: Vec<Footprint>) -> OpFacts {
    OpFacts { output, footprints: footprints.into(), table: RVec::new(), matrix: RVec::new() }
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

/// Applies `f8` or `f32` to every row of a point band, by format.
fn map_rows(
    output: FrameMut<'_>,
    ctx: &RenderCtx,
    f8: impl Fn(&mut [Rgba8]),
    f32: impl Fn(&mut [RgbaF32]),
) -> Result<(), PluginError> {
    with_pixel!(output.format, P => {
        let mut band = Band::<P>::from_frame(output, ctx.seed)?;
        for (_, row) in band.rows_mut() {
            match P::as_rgba8_mut(row) {
                Some(r8) => f8(r8),
                None => f32(bytemuck::cast_slice_mut(row)),
            }
        }
        Ok(())
    })
}

// ---- point filters, curves and colour matrices ------------------------------------------------

/// An op for a kind whose `render(&self, params, band)` takes only the output band (point
/// filters render it in place, generators fill it).
macro_rules! band_op {
    ($op:ident, $trait:ident) => {
        struct $op<T: $trait> {
            effect: T,
            params: T::Params,
        }

        impl<T: $trait> BandRenderer for $op<T> {
            fn render(&self, _: &[FrameRef<'_>], output: FrameMut<'_>, ctx: &RenderCtx) -> Result<(), PluginError> {
                with_pixel!(output.format, P => {
                    let mut band = Band::<P>::from_frame(output, ctx.seed)?;
                    self.effect.render(&self.params, &mut band);
                    Ok(())
                })
            }
        }
    };
}

band_op!(PointOp, PointFilter);

struct CurveOp<T: Curve> {
    effect: T,
    params: T::Params,
    program: point::Program,
}

impl<T: Curve> BandRenderer for CurveOp<T> {
    fn render(&self, _: &[FrameRef<'_>], output: FrameMut<'_>, ctx: &RenderCtx) -> Result<(), PluginError> {
        map_rows(
            output,
            ctx,
            |row| self.program.run_in_place(row),
            |row| point::apply_curve_f32(row, |c| self.effect.apply(&self.params, c)),
        )
    }
}

struct MatrixOp {
    matrix: [[f32; 4]; 3],
    program: point::Program,
}

impl BandRenderer for MatrixOp {
    fn render(&self, _: &[FrameRef<'_>], output: FrameMut<'_>, ctx: &RenderCtx) -> Result<(), PluginError> {
        map_rows(output, ctx, |row| self.program.run_in_place(row), |row| point::apply_matrix_f32(row, &self.matrix))
    }
}

// ---- area / global filters --------------------------------------------------------------------

struct FilterOp<T: Filter> {
    effect: T,
    params: T::Params,
}

impl<T: Filter> BandRenderer for FilterOp<T> {
    fn render(&self, inputs: &[FrameRef<'_>], output: FrameMut<'_>, ctx: &RenderCtx) -> Result<(), PluginError> {
        let [input] = inputs else {
            return Err(PluginError::unsupported(format!("{} takes one input, got {}", T::META.id, inputs.len())));
        };
        with_pixel!(output.format, P => {
            let image = Image::<P>::from_frame(input)?;
            let mut band = Band::<P>::from_frame(output, ctx.seed)?;
            self.effect.render(&self.params, &image, &mut band);
            Ok(())
        })
    }
}

// ---- generators -------------------------------------------------------------------------------

band_op!(GeneratorOp, Generator);

// ---- compositors ------------------------------------------------------------------------------

struct CompositorOp<T: Compositor> {
    effect: T,
    params: T::Params,
    inputs: usize,
}

impl<T: Compositor> BandRenderer for CompositorOp<T> {
    fn render(&self, inputs: &[FrameRef<'_>], output: FrameMut<'_>, ctx: &RenderCtx) -> Result<(), PluginError> {
        if inputs.len() != self.inputs {
            return Err(PluginError::unsupported(format!(
                "{} prepared for {} inputs, got {}",
                T::META.id,
                self.inputs,
                inputs.len()
            )));
        }
        with_pixel!(output.format, P => {
            let images = inputs.iter().map(Image::<P>::from_frame).collect::<Result<Vec<_>, _>>()?;
            let mut band = Band::<P>::from_frame(output, ctx.seed)?;
            self.effect.render(&self.params, &images, &mut band);
            Ok(())
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

struct Erased<T>(PhantomData<fn() -> T>);

macro_rules! via {
    ($($(#[$doc:meta])* $via:ident: $trait:ident for [$($r:tt)*];)+) => {$(
        $(#[$doc])*
        pub trait $via {
            /// The erased effect.
            fn erase(&self) -> BoxedEffect;
        }
        impl<T: $trait> $via for $($r)* Wrap<T> {
            fn erase(&self) -> BoxedEffect {
                Box::new(Erased::<Kind<T, { Kinds::$trait as u8 }>>(PhantomData))
            }
        }
    )+};
}

/// Which trait an erased effect goes through.
#[allow(non_camel_case_types, dead_code)]
enum Kinds {
    PointFilter,
    Curve,
    ColorMatrix,
    Filter,
    Generator,
    Compositor,
}

struct Kind<T, const K: u8>(T);

via! {
    /// Erases a [`PointFilter`].
    ViaPoint: PointFilter for [&&&&&];
    /// Erases a [`Curve`].
    ViaCurve: Curve for [&&&&];
    /// Erases a [`ColorMatrix`].
    ViaColorMatrix: ColorMatrix for [&&&];
    /// Erases a [`Filter`].
    ViaFilter: Filter for [&&];
    /// Erases a [`Generator`].
    ViaGenerator: Generator for [&];
    /// Erases a [`Compositor`].
    ViaCompositor: Compositor for [];
}

const POINT: u8 = Kinds::PointFilter as u8;
const CURVE: u8 = Kinds::Curve as u8;
const MATRIX: u8 = Kinds::ColorMatrix as u8;
const FILTER: u8 = Kinds::Filter as u8;
const GENERATOR: u8 = Kinds::Generator as u8;
const COMPOSITOR: u8 = Kinds::Compositor as u8;

impl<T: PointFilter> ErasedEffect for Erased<Kind<T, POINT>> {
    fn describe(&self) -> Described {
        described::<T::Params>(T::META, EffectKind::FILTER, Access::POINT, (1, 1))
    }
    fn prepare(&self, params: &[ParamValue], inputs: &[Size], _: &PrepareInfo) -> Result<Prepared, PluginError> {
        let size = single_input(T::META.id, inputs)?;
        let params = T::Params::from_values(params)?;
        let mut effect = T::default();
        effect.setup(&params, size)?;
        Ok(prepared(T::META.id, PointOp { effect, params }, facts(size, vec![Footprint::SAME])))
    }
}

impl<T: Curve> ErasedEffect for Erased<Kind<T, CURVE>> {
    fn describe(&self) -> Described {
        described::<T::Params>(T::META, EffectKind::FILTER, Access::POINT, (1, 1))
    }
    fn prepare(&self, params: &[ParamValue], inputs: &[Size], _: &PrepareInfo) -> Result<Prepared, PluginError> {
        let size = single_input(T::META.id, inputs)?;
        let params = T::Params::from_values(params)?;
        let mut effect = T::default();
        effect.setup(&params)?;
        let table = point::curve_table(|c| effect.apply(&params, c));
        let mut f = facts(size, vec![Footprint::SAME]);
        f.table = table.to_vec().into();
        let program = point::Program::new([point::Stage::Table(Box::new(table))]);
        Ok(prepared(T::META.id, CurveOp { effect, params, program }, f))
    }
}

impl<T: ColorMatrix> ErasedEffect for Erased<Kind<T, MATRIX>> {
    fn describe(&self) -> Described {
        described::<T::Params>(T::META, EffectKind::FILTER, Access::POINT, (1, 1))
    }
    fn prepare(&self, params: &[ParamValue], inputs: &[Size], _: &PrepareInfo) -> Result<Prepared, PluginError> {
        let size = single_input(T::META.id, inputs)?;
        let params = T::Params::from_values(params)?;
        let matrix = T::default().matrix(&params);
        let mut f = facts(size, vec![Footprint::SAME]);
        f.matrix = point::matrix_to_vec(&matrix).into();
        let program = point::Program::new([point::Stage::Matrix(matrix)]);
        Ok(prepared(T::META.id, MatrixOp { matrix, program }, f))
    }
}

impl<T: Filter> ErasedEffect for Erased<Kind<T, FILTER>> {
    fn describe(&self) -> Described {
        described::<T::Params>(T::META, EffectKind::FILTER, Access::AREA, (1, 1))
    }
    fn prepare(&self, params: &[ParamValue], inputs: &[Size], _: &PrepareInfo) -> Result<Prepared, PluginError> {
        let input = single_input(T::META.id, inputs)?;
        let params = T::Params::from_values(params)?;
        let mut effect = T::default();
        effect.setup(&params, input)?;
        let output = effect.output_size(&params, input);
        let footprint = effect.footprint(&params, input, output);
        Ok(prepared(T::META.id, FilterOp { effect, params }, facts(output, vec![footprint])))
    }
}

impl<T: Generator> ErasedEffect for Erased<Kind<T, GENERATOR>> {
    fn describe(&self) -> Described {
        described::<T::Params>(T::META, EffectKind::GENERATOR, Access::POINT, (0, 0))
    }
    fn prepare(&self, params: &[ParamValue], _: &[Size], info: &PrepareInfo) -> Result<Prepared, PluginError> {
        let params = T::Params::from_values(params)?;
        let mut effect = T::default();
        effect.setup(&params, info.size, info.seed)?;
        Ok(prepared(T::META.id, GeneratorOp { effect, params }, facts(info.size, Vec::new())))
    }
}

impl<T: Compositor> ErasedEffect for Erased<Kind<T, COMPOSITOR>> {
    fn describe(&self) -> Described {
        described::<T::Params>(T::META, EffectKind::COMPOSITOR, Access::POINT, T::META.inputs)
    }
    fn prepare(&self, params: &[ParamValue], inputs: &[Size], _: &PrepareInfo) -> Result<Prepared, PluginError> {
        let (min, max) = T::META.inputs;
        let n = inputs.len() as u32;
        if n < min || n > max {
            return Err(PluginError::unsupported(format!("{} takes {min}..={max} inputs, got {n}", T::META.id)));
        }
        let params = T::Params::from_values(params)?;
        let mut effect = T::default();
        effect.setup(&params, inputs)?;
        let output = effect.output_size(&params, inputs);
        let footprints = (0..inputs.len()).map(|i| effect.footprint(&params, i, inputs, output)).collect();
        Ok(prepared(T::META.id, CompositorOp { effect, params, inputs: inputs.len() }, facts(output, footprints)))
    }
}

// ---- root module functions, called by the `extern "C"` shims the macro writes -----------------

/// Body of the root module's `library`.
pub fn library_info(name: &str, version: &str, panic_unwind: bool) -> LibraryInfo {
    LibraryInfo { name: name.into(), version: version.into(), panic_unwind }
}

/// Body of the root module's `effects`.
pub fn describe(effects: fn() -> &'static [BoxedEffect]) -> RResult<RVec<EffectDescriptorRef>, PluginError> {
    guard(|| Ok(effects().iter().map(|e| e.describe().descriptor()).collect()))
}

/// Body of the root module's `prepare`.
pub fn prepare(
    effects: fn() -> &'static [BoxedEffect],
    index: u32,
    params: RVec<ParamValueNE>,
    inputs: RVec<Size>,
    info: &PrepareInfo,
) -> RResult<Prepared, PluginError> {
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
    prepare: extern "C" fn(u32, RVec<ParamValueNE>, RVec<Size>, &PrepareInfo) -> RResult<Prepared, PluginError>,
) -> PluginModuleRef {
    PluginModule { library, effects, prepare }.leak_into_prefix()
}

/// Body of the library header's loader: builds the root module (inside a panic guard), registers
/// it as the library's module and hands it to abi_stable erased, as `#[export_root_module]` does,
/// through abi_stable's public API.
pub fn load_root(make: fn() -> PluginModuleRef) -> RootModuleResult {
    let built = std::panic::catch_unwind(|| {
        let module = make();
        let _ = PluginModuleRef::load_module_with(|| Ok::<_, std::convert::Infallible>(module));
        // SAFETY: a prefix reference points to a prefix-type struct whose layout starts with the
        // erased prefix header; abi_stable checks the full layout against `PluginModuleRef` (the
        // type named in `header`) before the host casts it back.
        unsafe { module.to_prefix_ref().cast::<ErasedPrefix>() }
    });
    match built {
        Ok(erased) => ROk(erased),
        Err(_) => RErr(RootModuleError::Unwound),
    }
}

/// The library header the export macro places under abi_stable's root-module symbol.
///
/// # Safety
/// `loader` must return the erased [`PluginModuleRef`] built by [`load_root`].
pub const unsafe fn header(loader: extern "C" fn() -> RootModuleResult) -> LibHeader {
    // SAFETY: forwarded to the caller: `loader` returns a `PluginModuleRef`.
    unsafe { LibHeader::from_constructor::<PluginModuleRef>(loader, CheckTypeLayout::Yes) }
}
