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
//!   be appended the same way. [`OpFacts`], [`Footprint`] and [`TestSpec`] are fixed for a minor
//!   version: later facts arrive as appended methods or descriptor fields.
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
        /// A bounded neighbourhood (the rows follow from the effect's [`Footprint`]).
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
    /// This is the last field of version 0.2; new fields go after it and read as `Option`
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
    pub params: RSlice<'static, ParamSpecRef>,
    /// Test cases the host runs before trusting the effect.
    ///
    /// This is the last field of version 0.2; new fields go after it.
    #[sabi(last_prefix_field)]
    pub tests: RSlice<'static, TestSpec>,
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

/// How the input rows an output band needs follow from the output rows. An effect declares it
/// once per image (inside the guard); the host derives from it the input rows of every band, so
/// no plugin code runs per band to ask.
#[repr(C)]
#[derive(StableAbi, Copy, Clone, Debug, PartialEq)]
pub struct Footprint {
    /// Which rule applies.
    pub kind: FootprintKind,
    /// For [`FootprintKind::RADIUS`]: rows read above and below each output row.
    pub radius: u32,
    /// For [`FootprintKind::RADIUS`]: the border wraps around, so bands near an edge read rows at
    /// the other end of the image.
    pub wrap: bool,
    /// For [`FootprintKind::MAP`]: the input row read for output pixel `(x, y)` is
    /// `map_x * x + map_y * y + map_offset` (pixel centres at `+0.5`), widened by `support`.
    pub map_x: f64,
    /// See [`Footprint::map_x`].
    pub map_y: f64,
    /// See [`Footprint::map_x`].
    pub map_offset: f64,
    /// See [`Footprint::map_x`]: rows read on each side of the mapped position.
    pub support: f64,
}

open_tag! {
    /// The rule of a [`Footprint`].
    FootprintKind {
        /// Output row `y` reads input row `y` only.
        SAME = 0 => "same rows",
        /// Output row `y` reads input rows `y - radius ..= y + radius`.
        RADIUS = 1 => "radius",
        /// Every output row may read any input row.
        WHOLE = 2 => "whole image",
        /// Output rows read the rows an affine map sends them to (resize, rotation).
        MAP = 3 => "mapped",
    }
}

impl Footprint {
    const EMPTY: Footprint = Footprint {
        kind: FootprintKind::SAME,
        radius: 0,
        wrap: false,
        map_x: 0.0,
        map_y: 0.0,
        map_offset: 0.0,
        support: 0.0,
    };
    /// Output row `y` reads input row `y` only (point effects, most compositors).
    pub const SAME: Footprint = Footprint::EMPTY;
    /// Every output row may read any input row (vertical flips, global statistics).
    pub const WHOLE: Footprint = Footprint { kind: FootprintKind::WHOLE, ..Footprint::EMPTY };

    /// Rows within `radius` of the output row, read with `border` outside the image.
    pub const fn radius(radius: u32, border: crate::Border) -> Footprint {
        Footprint {
            kind: FootprintKind::RADIUS,
            radius,
            wrap: matches!(border, crate::Border::Wrap),
            ..Footprint::EMPTY
        }
    }
    /// Vertical resampling by `scale` input rows per output row, centres aligned (resize):
    /// output row `y` reads around input row `(y + 0.5) * scale - 0.5`, `support` rows each side.
    pub fn scale(scale: f64, support: f64) -> Footprint {
        Footprint::map(0.0, scale, 0.5 * scale - 0.5, support)
    }
    /// Output pixel `(x, y)` reads around input row `map_x * x + map_y * y + map_offset`, within
    /// `support` rows (the second row of an output-to-input affine map).
    pub fn map(map_x: f64, map_y: f64, map_offset: f64, support: f64) -> Footprint {
        Footprint { kind: FootprintKind::MAP, map_x, map_y, map_offset, support, ..Footprint::EMPTY }
    }

    /// The input rows (of an input `input_height` rows tall) that output rows `output` of an
    /// output `output_width` wide read. The host calls this; it is exact for `SAME`, `RADIUS`
    /// and `WHOLE`, and rounds outwards for `MAP`.
    pub fn input_rows(&self, output: Rows, output_width: u32, input_height: u32) -> Rows {
        let h = input_height;
        if output.is_empty() || h == 0 {
            return Rows::new(0, 0);
        }
        match self.kind {
            FootprintKind::SAME => Rows::new(output.start.min(h), output.end.min(h)),
            FootprintKind::RADIUS => {
                if self.wrap && (output.start < self.radius || output.end.saturating_add(self.radius) > h) {
                    Rows::new(0, h)
                } else {
                    let r = output.expand(self.radius, u32::MAX);
                    Rows::new(r.start.min(h), r.end.min(h))
                }
            }
            FootprintKind::MAP => {
                let (y0, y1) = (output.start as f64, output.end as f64 - 1.0);
                let x1 = output_width.saturating_sub(1) as f64;
                let at = |x: f64, y: f64| self.map_x * x + self.map_y * y + self.map_offset;
                let corners = [at(0.0, y0), at(x1, y0), at(0.0, y1), at(x1, y1)];
                let lo = corners.iter().copied().fold(f64::INFINITY, f64::min) - self.support.abs();
                let hi = corners.iter().copied().fold(f64::NEG_INFINITY, f64::max) + self.support.abs();
                if !lo.is_finite() || !hi.is_finite() {
                    return Rows::new(0, h);
                }
                let start = lo.floor().clamp(0.0, h as f64 - 1.0) as u32;
                let end = (hi.ceil() + 1.0).clamp(start as f64 + 1.0, h as f64) as u32;
                Rows::new(start, end)
            }
            _ => Rows::new(0, h),
        }
    }
}

/// What an effect prepared for one image tells the host, computed once inside the guard.
///
/// Its fields are fixed for API 0.2; later facts are added as methods appended to
/// [`PreparedOp`].
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct OpFacts {
    /// Size of the output image.
    pub output: Size,
    /// One footprint per input (empty for generators).
    pub footprints: RVec<Footprint>,
    /// For point effects that are a per-channel 8-bit table: 1024 bytes, the tables of R, G, B
    /// and A one after the other; empty otherwise.
    pub table: RVec<u8>,
    /// For point effects that are an affine colour transform: 12 numbers, rows R, G, B of
    /// `[r, g, b, offset]` applied to values in 0..1 (alpha is kept); empty otherwise.
    pub matrix: RVec<f32>,
}

/// An effect prepared for one image: parameters parsed, sizes known, tables built.
///
/// The host calls [`render_band`](PreparedOp::render_band) concurrently on disjoint bands, so the
/// object is `Send + Sync` and only takes `&self`. Every method, and dropping the object, runs
/// inside the plugin's panic guard.
#[sabi_trait]
pub trait PreparedOp: Send + Sync {
    /// Renders the rows `output.rows`. For point effects `output` already holds the input pixels
    /// and `inputs` is empty; otherwise `inputs` has one view per input, holding the rows the
    /// input's footprint names.
    ///
    fn render_band(
        &self,
        inputs: RSlice<'_, FrameRef<'_>>,
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> RResult<(), PluginError>;

    /// Drops the plugin's state for this image inside the guard, so a panic while dropping is
    /// reported as an error of this image. The host calls it once after the last band; later
    /// renders fail.
    ///
    /// This is the last method of version 0.2; new methods go after it.
    #[sabi(last_prefix_field)]
    fn release(&mut self) -> RResult<(), PluginError>;
}

/// A boxed [`PreparedOp`] as returned across the ABI.
pub type PreparedOpBox = PreparedOp_TO<'static, RBox<()>>;

/// What `prepare` returns: the op and its facts.
#[repr(C)]
#[derive(StableAbi)]
pub struct Prepared {
    /// The op, rendered band by band.
    pub op: PreparedOpBox,
    /// Its output size, footprints and composable forms.
    pub facts: OpFacts,
}

open_tag! {
    /// What a declared test case checks.
    ExpectKind {
        /// The 8-bit output, tightly packed RGBA, hashes (BLAKE3, hex prefix) to `hash`.
        HASH = 0 => "hash",
        /// The output is within `min_db` PSNR of effect `reference` run on the same case.
        PSNR = 1 => "psnr",
    }
}

/// A test case an effect declares; the host runs it in `fxchain plugins test` and before a hot
/// reload swaps a library in.
#[repr(C)]
#[derive(StableAbi, Copy, Clone, Debug)]
pub struct TestSpec {
    /// Short name, unique within the effect.
    pub name: RStr<'static>,
    /// Parameters as a RON map (`{"sigma": 3.0}`), validated against the schema like a chain's.
    pub params: RStr<'static>,
    /// Size of the generated inputs (and of a generator's output).
    pub size: Size,
    /// Seed of the generated inputs and of the step.
    pub seed: u64,
    /// Format the case renders in.
    pub format: PixelFormat,
    /// An embedded 8-bit RGBA input of `size` (tightly packed) instead of a generated one; empty
    /// for generated inputs.
    pub input: RSlice<'static, u8>,
    /// What is checked.
    pub expect: ExpectKind,
    /// For [`ExpectKind::HASH`]: the expected hex prefix.
    pub hash: RStr<'static>,
    /// For [`ExpectKind::PSNR`]: the effect compared against.
    pub reference: RStr<'static>,
    /// For [`ExpectKind::PSNR`]: the lowest acceptable PSNR in dB.
    pub min_db: f64,
}

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
    /// This is the last field of version 0.2: the root module is append-only, new fields go
    /// after it and read as `Option` when the library predates them.
    #[sabi(last_prefix_field)]
    pub prepare: extern "C" fn(
        index: u32,
        params: RVec<ParamValueNE>,
        inputs: RVec<Size>,
        info: &PrepareInfo,
    ) -> RResult<Prepared, PluginError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "fxchain_plugin";
    const NAME: &'static str = "fxchain_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The ABI version this crate implements (its own crate version).
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Border;

    #[test]
    fn footprints_give_the_input_rows_of_a_band() {
        let r = |a, b| Rows::new(a, b);
        assert_eq!(Footprint::SAME.input_rows(r(3, 9), 10, 100), r(3, 9));
        assert_eq!(Footprint::SAME.input_rows(r(90, 120), 10, 100), r(90, 100), "clamped to the input");
        assert_eq!(Footprint::WHOLE.input_rows(r(3, 4), 10, 100), r(0, 100));
        let blur = Footprint::radius(5, Border::Clamp);
        assert_eq!(blur.input_rows(r(20, 30), 10, 100), r(15, 35));
        assert_eq!(blur.input_rows(r(2, 30), 10, 100), r(0, 35));
        assert_eq!(blur.input_rows(r(90, 100), 10, 100), r(85, 100));
        let wrap = Footprint::radius(5, Border::Wrap);
        assert_eq!(wrap.input_rows(r(20, 30), 10, 100), r(15, 35), "inside, wrapping reads nothing more");
        assert_eq!(wrap.input_rows(r(2, 30), 10, 100), r(0, 100), "near an edge it reads the other end");
        assert_eq!(blur.input_rows(r(5, 5), 10, 100), r(0, 0), "an empty band reads nothing");
    }

    #[test]
    fn mapped_footprints_cover_the_mapped_rows_and_their_support() {
        // Halving 100 rows to 50: output row y samples around input row 2y + 0.5.
        let half = Footprint::scale(2.0, 3.0);
        let rows = half.input_rows(Rows::new(10, 20), 8, 100);
        assert!(rows.start <= 20 - 3 && rows.end > 39 + 3, "{rows:?}");
        assert!(rows.start >= 15 && rows.end <= 45, "{rows:?}");
        assert_eq!(half.input_rows(Rows::new(0, 50), 8, 100), Rows::new(0, 100));
        // A rotation: the input row depends on x too, so the band's corners decide.
        let rot = Footprint::map(0.5, 0.8, 0.0, 1.0);
        let rows = rot.input_rows(Rows::new(10, 11), 40, 1000);
        assert_eq!(rows, Rows::new(7, 30), "rows 8..=27.5 widened by 1 to 7..=28.5, and row 29 for its neighbour");
        assert_eq!(Footprint::map(f64::NAN, 1.0, 0.0, 0.0).input_rows(Rows::new(1, 2), 4, 9), Rows::new(0, 9));
    }
}
