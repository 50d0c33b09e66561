//! The traits effect authors implement. Each kind has one metadata block (`META`), a parameter
//! struct, and exactly the rendering method the compiler requires; `setup` (per-image state),
//! sizes and footprints have defaults where one makes sense.
//!
//! Per-image state lives in the effect struct itself: the host makes a fresh `Default` value for
//! each image and calls `setup` on it once, so an effect that needs no state writes no `setup`.

use crate::abi::{Footprint, PluginError, Size};
use crate::image::{Band, Image};
use crate::meta::Meta;
use crate::params::Params;
use crate::pixel::Pixel;

/// An effect whose output pixel depends only on the same input pixel, rendered in place band by
/// band. Consecutive point effects run in one pass.
///
/// Prefer [`Curve`] (a function of each channel) or [`ColorMatrix`] (an affine colour transform)
/// where the effect is one: the host can then compose a run of them into one table.
pub trait PointFilter: Default + Send + Sync + 'static {
    /// The metadata block.
    const META: Meta;
    /// The parameter struct (`()` for none).
    type Params: Params;

    /// Builds per-image state for an input of `size`.
    fn setup(&mut self, params: &Self::Params, size: Size) -> Result<(), PluginError> {
        let _ = (params, size);
        Ok(())
    }

    /// Transforms the band in place (its rows, positions and the step's seed are in `band`).
    fn render<P: Pixel>(&self, params: &Self::Params, band: &mut Band<'_, P>);
}

/// A point effect that maps R, G and B each through the same function and keeps alpha
/// (brightness, contrast, gamma, levels). On 8-bit frames it runs as a 256-entry table, so the
/// result is exactly the formula rounded, and the host composes consecutive tables into one.
pub trait Curve: Default + Send + Sync + 'static {
    /// The metadata block.
    const META: Meta;
    /// The parameter struct.
    type Params: Params;

    /// Builds per-image state (rarely needed).
    fn setup(&mut self, params: &Self::Params) -> Result<(), PluginError> {
        let _ = params;
        Ok(())
    }

    /// The new value of a channel value `c` (sRGB-encoded, nominally 0..1; `Rgba32F` frames may
    /// hold values outside).
    fn apply(&self, params: &Self::Params, c: f32) -> f32;
}

/// An affine colour transform of R, G and B that keeps alpha (saturation, channel mixing, sepia).
/// The host runs consecutive transforms and tables in one pass.
pub trait ColorMatrix: Default + Send + Sync + 'static {
    /// The metadata block.
    const META: Meta;
    /// The parameter struct.
    type Params: Params;

    /// The transform: row `i` gives output channel `i` (R, G, B) as
    /// `m[i][0] * r + m[i][1] * g + m[i][2] * b + m[i][3]`.
    fn matrix(&self, params: &Self::Params) -> [[f32; 4]; 3];
}

/// An effect with one input that reads a neighbourhood or the whole image (blurs, edges, resize).
pub trait Filter: Default + Send + Sync + 'static {
    /// The metadata block.
    const META: Meta;
    /// The parameter struct.
    type Params: Params;

    /// Builds per-image state (kernels, tables) for an input of `input` size.
    fn setup(&mut self, params: &Self::Params, input: Size) -> Result<(), PluginError> {
        let _ = (params, input);
        Ok(())
    }

    /// Size of the output; the input size by default.
    fn output_size(&self, params: &Self::Params, input: Size) -> Size {
        let _ = params;
        input
    }

    /// Which input rows an output band reads: [`Footprint::radius`] for neighbourhoods,
    /// [`Footprint::scale`] or [`Footprint::map`] for geometry, [`Footprint::WHOLE`] otherwise.
    fn footprint(&self, params: &Self::Params, input: Size, output: Size) -> Footprint;

    /// Renders the output rows of `output` from `input` (which holds the rows the footprint
    /// names).
    fn render<P: Pixel>(&self, params: &Self::Params, input: &Image<'_, P>, output: &mut Band<'_, P>);
}

/// An effect that synthesizes an image. Each pixel must depend only on `(x, y)`, the parameters
/// and the seed, so the result does not depend on how the host splits bands.
pub trait Generator: Default + Send + Sync + 'static {
    /// The metadata block.
    const META: Meta;
    /// The parameter struct.
    type Params: Params;

    /// Builds per-image state for an image of `size` with the step's `seed`.
    fn setup(&mut self, params: &Self::Params, size: Size, seed: u64) -> Result<(), PluginError> {
        let _ = (params, size, seed);
        Ok(())
    }

    /// Renders the rows of `output` (which knows the full size and the seed).
    fn render<P: Pixel>(&self, params: &Self::Params, output: &mut Band<'_, P>);
}

/// An effect that combines several inputs (blend, mask, place). The number of inputs is set in
/// the metadata block with [`Meta::inputs`] (two by default).
pub trait Compositor: Default + Send + Sync + 'static {
    /// The metadata block.
    const META: Meta;
    /// The parameter struct.
    type Params: Params;

    /// Builds per-image state for inputs of the given sizes.
    fn setup(&mut self, params: &Self::Params, inputs: &[Size]) -> Result<(), PluginError> {
        let _ = (params, inputs);
        Ok(())
    }

    /// Size of the output; the first input's by default.
    fn output_size(&self, params: &Self::Params, inputs: &[Size]) -> Size {
        let _ = params;
        inputs[0]
    }

    /// Which rows of input `index` an output band reads; the same rows by default.
    fn footprint(&self, params: &Self::Params, index: usize, inputs: &[Size], output: Size) -> Footprint {
        let _ = (params, index, inputs, output);
        Footprint::SAME
    }

    /// Renders the rows of `output`.
    fn render<P: Pixel>(&self, params: &Self::Params, inputs: &[Image<'_, P>], output: &mut Band<'_, P>);
}
