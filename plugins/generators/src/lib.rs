//! Seeded generators. Every pixel is a function of `(x, y)`, the parameters and the seed only
//! (bands are filled with `Band::fill_with`, row by row with the row noise of `fxkit::noise`, or
//! with `fxkit::fill::fill_smooth` for fields sampled on a coarse grid), so output never depends
//! on how the host splits bands or on thread count.

use fxchain_plugin_api::prelude::*;

mod cells;
mod enso;
mod noise;
mod parchment;
mod patterns;
mod sigil;

pub use cells::Voronoi;
pub use enso::Enso;
pub use noise::{PerlinNoise, PerlinNoiseFast, ValueNoise};
pub use parchment::{Parchment, ParchmentFast};
pub use patterns::{Checker, ConicGradient, Grid, LinearGradient, RadialGradient, Solid};
pub use sigil::Sigil;

/// Linear mix of two colours.
#[inline]
pub(crate) fn mix(a: Color, b: Color, t: f32) -> RgbaF32 {
    RgbaF32::new(a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t, a.a + (b.a - a.a) * t)
}

export_plugin!(
    Solid,
    LinearGradient,
    RadialGradient,
    ConicGradient,
    Checker,
    Grid,
    ValueNoise,
    PerlinNoise,
    PerlinNoiseFast,
    Voronoi,
    Sigil,
    Enso,
    Parchment,
    ParchmentFast,
);
