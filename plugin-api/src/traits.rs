//! The traits effect authors implement. Each has one required rendering method; everything else
//! has a default.

use crate::abi::{Access, FormatSet, PluginError, Rows, Size, Tier};
use crate::image::{Band, Image};
use crate::params::Params;
use crate::pixel::Pixel;

/// An effect whose output pixel depends only on the same input pixel (colour adjustments).
///
/// It is rendered in place, band by band, and consecutive point effects can be fused by the host.
/// Implement [`process_row`](PointFilter::process_row), or
/// [`process_band`](PointFilter::process_band) when the effect needs the row index or wants to
/// build a table once per band.
pub trait PointFilter: Default + Send + Sync + 'static {
    /// Unique id, dotted by family (`color.brightness`).
    const ID: &'static str;
    /// One-line summary.
    const SUMMARY: &'static str = "";
    /// Longer documentation.
    const DOC: &'static str = "";
    /// For a fast-path variant: the id of the reference effect (same parameter schema).
    const VARIANT_OF: &'static str = "";
    /// Quality tier of this implementation.
    const TIER: Tier = Tier::QUALITY;
    /// Whether the output depends only on inputs, params and seed.
    const DETERMINISTIC: bool = true;
    /// Formats this effect renders (both by default: the code is generic over [`Pixel`]).
    const FORMATS: FormatSet = FormatSet::ALL;
    /// The parameter struct (`()` for none).
    type Params: Params;

    /// Transforms one row in place.
    fn process_row<P: Pixel>(&self, params: &Self::Params, row: &mut [P]) {
        let _ = (params, row);
        unimplemented!("{} implements neither process_row nor process_band", Self::ID)
    }

    /// Transforms a band in place; by default calls [`process_row`](PointFilter::process_row) on
    /// each row.
    fn process_band<P: Pixel>(&self, params: &Self::Params, band: &mut Band<'_, P>) {
        for (_, row) in band.rows_mut() {
            self.process_row(params, row);
        }
    }
}

/// An effect with one input that reads a neighbourhood or the whole image (blurs, edges, resize).
///
/// [`plan`](Filter::plan) runs once per image and may build kernels or tables;
/// [`render`](Filter::render) is called concurrently for disjoint output bands.
pub trait Filter: Default + Send + Sync + 'static {
    /// Unique id, dotted by family (`blur.gaussian`).
    const ID: &'static str;
    /// One-line summary.
    const SUMMARY: &'static str = "";
    /// Longer documentation.
    const DOC: &'static str = "";
    /// For a fast-path variant: the id of the reference effect.
    const VARIANT_OF: &'static str = "";
    /// Quality tier of this implementation.
    const TIER: Tier = Tier::QUALITY;
    /// Whether the output depends only on inputs, params and seed.
    const DETERMINISTIC: bool = true;
    /// Formats this effect renders.
    const FORMATS: FormatSet = FormatSet::ALL;
    /// [`Access::AREA`] for neighbourhoods, [`Access::GLOBAL`] for geometry.
    const ACCESS: Access = Access::AREA;
    /// The parameter struct.
    type Params: Params;
    /// What [`plan`](Filter::plan) computes once per image.
    type Plan: Send + Sync + 'static;

    /// Prepares rendering of an input of `input` size.
    fn plan(&self, params: Self::Params, input: Size) -> Result<Self::Plan, PluginError>;

    /// Size of the output; the input size by default.
    fn output_size(&self, plan: &Self::Plan, input: Size) -> Size {
        let _ = plan;
        input
    }

    /// The input rows needed for output rows `output`; all of them by default.
    fn input_rows(&self, plan: &Self::Plan, output: Rows, input: Size) -> Rows {
        let _ = (plan, output);
        Rows::new(0, input.height)
    }

    /// Renders the output rows of `output` from `input`.
    fn render<P: Pixel>(
        &self,
        plan: &Self::Plan,
        input: &Image<'_, P>,
        output: &mut Band<'_, P>,
    ) -> Result<(), PluginError>;
}

/// An effect that synthesizes an image. Each pixel must depend only on `(x, y)`, the parameters
/// and the seed, so the result does not depend on how the host splits bands.
pub trait Generator: Default + Send + Sync + 'static {
    /// Unique id (`noise.value`).
    const ID: &'static str;
    /// One-line summary.
    const SUMMARY: &'static str = "";
    /// Longer documentation.
    const DOC: &'static str = "";
    /// For a fast-path variant: the id of the reference effect.
    const VARIANT_OF: &'static str = "";
    /// Quality tier of this implementation.
    const TIER: Tier = Tier::QUALITY;
    /// Formats this effect renders.
    const FORMATS: FormatSet = FormatSet::ALL;
    /// The parameter struct.
    type Params: Params;
    /// What [`plan`](Generator::plan) computes once per image.
    type Plan: Send + Sync + 'static;

    /// Prepares an image of `size` for `seed`.
    fn plan(&self, params: Self::Params, size: Size, seed: u64) -> Result<Self::Plan, PluginError>;

    /// Renders the rows of `output`.
    fn render<P: Pixel>(&self, plan: &Self::Plan, output: &mut Band<'_, P>) -> Result<(), PluginError>;
}

/// An effect that combines several inputs (blend, mask, place).
pub trait Compositor: Default + Send + Sync + 'static {
    /// Unique id (`composite.blend`).
    const ID: &'static str;
    /// One-line summary.
    const SUMMARY: &'static str = "";
    /// Longer documentation.
    const DOC: &'static str = "";
    /// For a fast-path variant: the id of the reference effect.
    const VARIANT_OF: &'static str = "";
    /// Quality tier of this implementation.
    const TIER: Tier = Tier::QUALITY;
    /// Whether the output depends only on inputs, params and seed.
    const DETERMINISTIC: bool = true;
    /// Formats this effect renders.
    const FORMATS: FormatSet = FormatSet::ALL;
    /// Which pixels of the inputs an output pixel reads.
    const ACCESS: Access = Access::POINT;
    /// Fewest inputs.
    const MIN_INPUTS: u32 = 2;
    /// Most inputs.
    const MAX_INPUTS: u32 = 2;
    /// The parameter struct.
    type Params: Params;
    /// What [`plan`](Compositor::plan) computes once per image.
    type Plan: Send + Sync + 'static;

    /// Prepares rendering for inputs of the given sizes.
    fn plan(&self, params: Self::Params, inputs: &[Size]) -> Result<Self::Plan, PluginError>;

    /// Size of the output; the first input's by default.
    fn output_size(&self, plan: &Self::Plan, inputs: &[Size]) -> Size {
        let _ = plan;
        inputs[0]
    }

    /// Rows of input `input` needed for output rows `output`; the same rows by default.
    fn input_rows(&self, plan: &Self::Plan, input: u32, output: Rows, size: Size) -> Rows {
        let _ = (plan, input);
        Rows::new(output.start.min(size.height), output.end.min(size.height))
    }

    /// Renders the rows of `output`.
    fn render<P: Pixel>(
        &self,
        plan: &Self::Plan,
        inputs: &[Image<'_, P>],
        output: &mut Band<'_, P>,
    ) -> Result<(), PluginError>;
}
