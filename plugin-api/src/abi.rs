//! The stable ABI shared by the host and every plugin library.
//!
//! Everything here crosses a shared-library boundary, so every type is `#[repr(C)]` or
//! `#[repr(transparent)]` and derives [`StableAbi`]: `abi_stable` checks the whole layout when the
//! host loads a library and refuses one built against an incompatible `fxchain-plugin-api`.
//!
//! # Evolution rules
//!
//! - The crate version of `fxchain-plugin-api` *is* the ABI version. `abi_stable` requires the same
//!   0.x minor on both sides, so any change that is not purely additive bumps the minor.
//! - [`PluginModule`], [`EffectDescriptor`] and [`ParamSpec`] are *prefix types*: fields may be
//!   appended after `last_prefix_field` in a patch release; an older library then reads them as
//!   `None` through the generated accessors.
//! - [`PreparedOp`] is a `#[sabi_trait]` with `last_prefix_field` on its last method, so methods may
//!   be appended the same way.
//! - Tags that may gain values ([`EffectKind`], [`Access`], [`Tier`], [`PixelFormat`],
//!   [`ParamKind`], [`ErrorKind`]) are open integer newtypes: an unknown value from a newer library
//!   is rejected by the host with a message instead of being undefined behaviour.
//! - [`ParamValue`] is a `NonExhaustive` enum: variants may be appended.
#![allow(non_local_definitions)] // emitted by `#[sabi_trait]` on recent rustc.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, RResult, RSlice, RSliceMut, RStr, RString, RVec},
    StableAbi,
};

macro_rules! open_tag {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $value:expr => $text:expr),+ $(,)? }) => {
        $(#[$m])*
        #[repr(transparent)]
        #[derive(StableAbi, Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u8);
        impl $name {
            $($(#[$vm])* pub const $variant: $name = $name($value);)+
            /// All values this version of the API knows.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];
            /// The lower-case name used in chain files and listings, or `None` for a value
            /// this version does not know.
            pub fn name(self) -> Option<&'static str> {
                match self { $($name::$variant => Some($text),)+ _ => None }
            }
            /// Parses the name returned by [`Self::name`] (case-insensitive).
            pub fn from_name(s: &str) -> Option<$name> {
                $(if s.eq_ignore_ascii_case($text) { return Some($name::$variant); })+
                None
            }
        }
        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() { Some(n) => f.write_str(n), None => write!(f, "unknown({})", self.0) }
            }
        }
        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Debug::fmt(self, f)
            }
        }
    };
}

open_tag! {
    /// What an effect consumes: nothing, one image, or several.
    EffectKind {
        /// Synthesizes an image from parameters and a seed.
        GENERATOR = 0 => "generator",
        /// Transforms one input image.
        FILTER = 1 => "filter",
        /// Combines two or more input images.
        COMPOSITOR = 2 => "compositor",
    }
}

open_tag! {
    /// Which input pixels an output pixel depends on.
    Access {
        /// Only the same pixel of the input: rendered in place, can be fused.
        POINT = 0 => "point",
        /// A bounded neighbourhood (the rows are given by [`PreparedOp::input_rows`]).
        AREA = 1 => "area",
        /// Any pixel of the input (geometry, global statistics).
        GLOBAL = 2 => "global",
    }
}

open_tag! {
    /// Quality tier of an effect variant, chosen by the quality profile.
    Tier {
        /// Cheapest; approximates the reference.
        FAST = 0 => "fast",
        /// A compromise between speed and fidelity.
        BALANCED = 1 => "balanced",
        /// The reference implementation.
        QUALITY = 2 => "quality",
    }
}

open_tag! {
    /// Pixel storage of a frame. Both hold sRGB-encoded values with straight alpha.
    PixelFormat {
        /// Four `u8` per pixel.
        RGBA8 = 0 => "rgba8",
        /// Four `f32` per pixel, nominally 0..1 but not clamped.
        RGBA32F = 1 => "rgba32f",
    }
}

impl PixelFormat {
    /// Bytes per pixel, or 0 for an unknown format.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::RGBA8 => 4,
            PixelFormat::RGBA32F => 16,
            _ => 0,
        }
    }
}

open_tag! {
    /// Type of a parameter.
    ParamKind {
        /// A real number (`f32` or `f64` on the author side).
        FLOAT = 0 => "float",
        /// An integer.
        INT = 1 => "int",
        /// `true` or `false`.
        BOOL = 2 => "bool",
        /// An sRGB colour with alpha, written `"#rrggbb"`, `"#rrggbbaa"` or `(r, g, b, a)` in 0..1.
        COLOR = 3 => "color",
        /// One of a fixed list of names.
        ENUM = 4 => "enum",
        /// Free text.
        STRING = 5 => "string",
    }
}

open_tag! {
    /// Cause of a [`PluginError`].
    ErrorKind {
        /// The parameters are valid for the schema but cannot be used together.
        INVALID_PARAMS = 0 => "invalid parameters",
        /// The input (size, format, count) is not supported by this effect.
        UNSUPPORTED = 1 => "unsupported input",
        /// Rendering failed.
        FAILED = 2 => "failed",
        /// The plugin panicked; the panic was caught at the boundary.
        PANICKED = 3 => "panicked",
    }
}

/// A set of [`PixelFormat`]s, one bit per format value.
#[repr(transparent)]
#[derive(StableAbi, Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct FormatSet(pub u32);

impl FormatSet {
    /// Only `Rgba8`.
    pub const RGBA8: FormatSet = FormatSet(1 << 0);
    /// Only `Rgba32F`.
    pub const RGBA32F: FormatSet = FormatSet(1 << 1);
    /// Both formats.
    pub const ALL: FormatSet = FormatSet(0b11);
    /// Whether `format` is in the set.
    pub fn contains(self, format: PixelFormat) -> bool {
        format.0 < 32 && self.0 & (1 << format.0) != 0
    }
}

/// Width and height in pixels.
#[repr(C)]
#[derive(StableAbi, Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Size {
    /// A size of `width` × `height`.
    pub const fn new(width: u32, height: u32) -> Self {
        Size { width, height }
    }
    /// Number of pixels.
    pub fn pixels(self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

/// A half-open range of rows, `start..end`.
#[repr(C)]
#[derive(StableAbi, Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Rows {
    /// First row.
    pub start: u32,
    /// One past the last row.
    pub end: u32,
}

impl Rows {
    /// Rows `start..end`.
    pub const fn new(start: u32, end: u32) -> Self {
        Rows { start, end }
    }
    /// Number of rows.
    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }
    /// Whether the range holds no row.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// This range widened by `radius` on both sides and clamped to `0..height`.
    pub fn expand(self, radius: u32, height: u32) -> Rows {
        Rows::new(self.start.saturating_sub(radius), self.end.saturating_add(radius).min(height))
    }
}

/// An error returned by a plugin.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PluginError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// A message for people.
    pub message: RString,
}

impl PluginError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError { kind, message: RString::from(message.into()) }
    }
    /// Parameters that are valid one by one but not together.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::INVALID_PARAMS, message)
    }
    /// An input this effect does not handle.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNSUPPORTED, message)
    }
    /// Rendering failed.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::FAILED, message)
    }
}

impl core::fmt::Display for PluginError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PluginError {}

/// A parameter value as it crosses the ABI: already validated against the schema and defaulted by
/// the host, in schema order.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [usize; 6], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum ParamValue {
    /// A [`ParamKind::FLOAT`].
    Float(f64),
    /// A [`ParamKind::INT`].
    Int(i64),
    /// A [`ParamKind::BOOL`].
    Bool(bool),
    /// A [`ParamKind::COLOR`]: sRGB-encoded, straight alpha, 0..1.
    Color([f32; 4]),
    /// A [`ParamKind::ENUM`]: index into [`ParamSpec::choices`].
    Enum(u32),
    /// A [`ParamKind::STRING`].
    Text(RString),
}

/// Growable form of [`ParamValue`] used in every ABI signature.
pub type ParamValueNE = ParamValue_NE;

/// The schema of one parameter.
///
/// Descriptors are built once when a library is loaded and live as long as the library (which is
/// never unloaded), hence the `'static` views.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ParamSpecRef)))]
pub struct ParamSpec {
    /// Stable identifier used in chain files and cache keys (independent of the field name).
    pub id: RStr<'static>,
    /// Value type.
    pub kind: ParamKind,
    /// Value used when the chain does not set the parameter.
    pub default: &'static ParamValueNE,
    /// Inclusive lower bound for numbers (`-inf` when unbounded).
    pub min: f64,
    /// Inclusive upper bound for numbers (`+inf` when unbounded).
    pub max: f64,
    /// Unit shown in listings (`px`, `deg`, …), may be empty.
    pub unit: RStr<'static>,
    /// Allowed names for [`ParamKind::ENUM`].
    pub choices: RSlice<'static, RStr<'static>>,
    /// Documentation for people.
    ///
    /// This is the last field of version 0.1; new fields go after it and read as `Option`
    /// from libraries built against an older API.
    #[sabi(last_prefix_field)]
    pub doc: RStr<'static>,
}

/// Static description of one effect exported by a library.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = EffectDescriptorRef)))]
pub struct EffectDescriptor {
    /// Unique id, dotted by family (`blur.gaussian`).
    pub id: RStr<'static>,
    /// Generator, filter or compositor.
    pub kind: EffectKind,
    /// Minimum number of inputs (0 for generators, 1 for filters).
    pub min_inputs: u32,
    /// Maximum number of inputs.
    pub max_inputs: u32,
    /// For a variant, the id of the reference effect it approximates; empty otherwise.
    pub variant_of: RStr<'static>,
    /// Quality tier.
    pub tier: Tier,
    /// Which input pixels an output pixel depends on.
    pub access: Access,
    /// Pixel formats the effect renders.
    pub formats: FormatSet,
    /// Same params, inputs and seed always give the same pixels (so results may be cached).
    pub deterministic: bool,
    /// One-line summary.
    pub summary: RStr<'static>,
    /// Longer documentation.
    pub doc: RStr<'static>,
    /// Parameters, in the order their values are passed to `prepare`.
    ///
    /// This is the last field of version 0.1; new fields go after it.
    #[sabi(last_prefix_field)]
    pub params: RSlice<'static, ParamSpecRef>,
}

/// Describes the library as a whole.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct LibraryInfo {
    /// Crate name of the plugin.
    pub name: RString,
    /// Crate version of the plugin.
    pub version: RString,
    /// Whether the library was built with `panic = "unwind"` (required: the host refuses others).
    pub panic_unwind: bool,
}

/// Everything `prepare` needs besides the parameters.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct PrepareInfo {
    /// Seed of this step, derived by the host from the chain seed and the step id.
    pub seed: u64,
    /// Output size requested for generators (chain `size` or the size of the first input).
    pub size: Size,
    /// Format the op will be asked to render.
    pub format: PixelFormat,
}

/// Per-call context.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct RenderCtx {
    /// Seed of this step (same as in [`PrepareInfo`]).
    pub seed: u64,
    /// Full output size (a band is a part of it).
    pub size: Size,
}

/// A read-only view of an input frame (or of some of its rows).
#[repr(C)]
#[derive(StableAbi, Copy, Clone)]
pub struct FrameRef<'a> {
    /// Pixel bytes, `rows.len()` rows of `stride` bytes (the last row may be shorter).
    pub data: RSlice<'a, u8>,
    /// Full width of the frame.
    pub width: u32,
    /// Full height of the frame.
    pub height: u32,
    /// Bytes between the starts of two rows (a multiple of 64).
    pub stride: u32,
    /// Which rows of the frame `data` holds.
    pub rows: Rows,
    /// Pixel format.
    pub format: PixelFormat,
    /// Every alpha is 1: effects that premultiply may skip it.
    pub opaque: bool,
}

/// A writable view of output rows.
#[repr(C)]
#[derive(StableAbi)]
pub struct FrameMut<'a> {
    /// Pixel bytes of the band.
    pub data: RSliceMut<'a, u8>,
    /// Full width of the frame.
    pub width: u32,
    /// Full height of the frame.
    pub height: u32,
    /// Bytes between the starts of two rows.
    pub stride: u32,
    /// Which rows of the frame the band covers.
    pub rows: Rows,
    /// Pixel format.
    pub format: PixelFormat,
    /// For point effects rendered in place: whether every alpha of the input was 1.
    pub opaque: bool,
}

/// An effect prepared for one image: parameters parsed, sizes known, tables built.
///
/// The host calls [`render_band`](PreparedOp::render_band) concurrently on disjoint bands, so the
/// object is `Send + Sync` and only takes `&self`.
#[sabi_trait]
pub trait PreparedOp: Send + Sync {
    /// Size of the output image.
    fn output_size(&self) -> Size;

    /// The rows of input `input` needed to render output rows `output`.
    fn input_rows(&self, input: u32, output: Rows) -> Rows;

    /// Renders the rows `output.rows`. For point effects `output` already holds the input pixels
    /// and `inputs` is empty; otherwise `inputs` has one view per input.
    ///
    /// This is the last method of version 0.1; new methods go after it.
    #[sabi(last_prefix_field)]
    fn render_band(
        &self,
        inputs: RSlice<'_, FrameRef<'_>>,
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> RResult<(), PluginError>;
}

/// A boxed [`PreparedOp`] as returned across the ABI.
pub type PreparedOpBox = PreparedOp_TO<'static, RBox<()>>;

/// The root module every plugin library exports (through [`export_plugin!`](crate::export_plugin)).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
pub struct PluginModule {
    /// The library's name, version and build settings.
    pub library: extern "C" fn() -> LibraryInfo,
    /// The effects this library exports; the index in this list identifies an effect below.
    pub effects: extern "C" fn() -> RResult<RVec<EffectDescriptorRef>, PluginError>,
    /// Prepares effect `index` for one image. `params` are in schema order, validated and
    /// defaulted; `inputs` holds the size of each input.
    ///
    /// This is the last field of version 0.1: the root module is append-only, new fields go
    /// after it and read as `Option` when the library predates them.
    #[sabi(last_prefix_field)]
    pub prepare: extern "C" fn(
        index: u32,
        params: RVec<ParamValueNE>,
        inputs: RVec<Size>,
        info: &PrepareInfo,
    ) -> RResult<PreparedOpBox, PluginError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "fxchain_plugin";
    const NAME: &'static str = "fxchain_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The ABI version this crate implements (its own crate version).
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");
