//! Seeded generators. Every pixel is a function of `(x, y)`, the parameters and the seed only,
//! so output never depends on how the host splits bands or on thread count.

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

/// Fills every row of `out` with `f(x, y)` (pixel centres at `x + 0.5`).
pub(crate) fn fill<P: Pixel>(out: &mut Band<'_, P>, f: impl Fn(u32, u32) -> RgbaF32) {
    for (y, row) in out.rows_mut() {
        for (x, px) in row.iter_mut().enumerate() {
            *px = P::from_f32(f(x as u32, y));
        }
    }
}

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
