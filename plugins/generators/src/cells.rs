//! Voronoi cells.

use fxchain_plugin_api::prelude::*;
use fxkit::noise::{hash2, rand2};

use crate::{fill, mix};

/// What a Voronoi image shows.
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CellMode {
    /// Each cell in a seeded colour.
    Cells,
    /// Distance to the nearest feature point, `low` → `high`.
    Distance,
    /// Cell borders in `high` over `low`.
    Edges,
}

/// Parameters of `generate.voronoi`.
#[derive(Params)]
pub struct VoronoiParams {
    /// Average cell size in pixels.
    #[param(id = "cell", default = 48.0, range = 2.0..=10000.0, unit = "px")]
    pub cell: f32,
    /// How far feature points move from the grid (0 = a square grid, 1 = fully random).
    #[param(id = "jitter", default = 1.0, range = 0.0..=1.0)]
    pub jitter: f32,
    /// "cells", "distance" or "edges".
    #[param(id = "mode", default = "cells")]
    pub mode: CellMode,
    /// Border width for `edges`, in pixels.
    #[param(id = "edge", default = 2.0, range = 0.1..=100.0, unit = "px")]
    pub edge: f32,
    /// Dark colour (distance 0, and the background of `edges`).
    #[param(id = "low", default = "#101018")]
    pub low: Color,
    /// Light colour.
    #[param(id = "high", default = "#f0f0f0")]
    pub high: Color,
}

/// Voronoi diagram (Worley noise) from jittered grid points.
#[derive(Default)]
pub struct Voronoi;
impl Generator for Voronoi {
    const ID: &'static str = "generate.voronoi";
    const SUMMARY: &'static str = "Voronoi cells from seeded, jittered feature points: cells, distance or edges.";
    type Params = VoronoiParams;
    type Plan = (VoronoiParams, u64);
    fn plan(&self, p: VoronoiParams, _: Size, seed: u64) -> Result<Self::Plan, PluginError> {
        Ok((p, seed))
    }
    fn render<P: Pixel>(&self, (p, seed): &Self::Plan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let seed = *seed;
        let point = |i: i64, j: i64| -> (f32, f32) {
            let ox = 0.5 + p.jitter * (rand2(i, j, seed) - 0.5);
            let oy = 0.5 + p.jitter * (rand2(i, j, seed ^ 0xABCD_EF01) - 0.5);
            ((i as f32 + ox) * p.cell, (j as f32 + oy) * p.cell)
        };
        fill(out, |x, y| {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let (ci, cj) = ((fx / p.cell).floor() as i64, (fy / p.cell).floor() as i64);
            let (mut d1, mut d2, mut best) = (f32::MAX, f32::MAX, (0, 0));
            let mut p1 = (0.0, 0.0);
            for j in cj - 1..=cj + 1 {
                for i in ci - 1..=ci + 1 {
                    let q = point(i, j);
                    let d = (q.0 - fx).hypot(q.1 - fy);
                    if d < d1 {
                        d2 = d1;
                        d1 = d;
                        best = (i, j);
                        p1 = q;
                    } else if d < d2 {
                        d2 = d;
                    }
                }
            }
            match p.mode {
                CellMode::Cells => {
                    let h = hash2(best.0, best.1, seed ^ 0x00C0_10C0);
                    let c = |k: u32| 0.25 + 0.7 * ((h >> (k * 16)) & 0xFFFF) as f32 / 65535.0;
                    RgbaF32::new(c(0), c(1), c(2), 1.0)
                }
                CellMode::Distance => mix(p.low, p.high, (d1 / p.cell).clamp(0.0, 1.0)),
                CellMode::Edges => {
                    // Distance to the bisector between the two nearest points, approximated by
                    // (d2 − d1) / 2, antialiased over one pixel.
                    let _ = p1;
                    let d = (d2 - d1) * 0.5;
                    let t = (p.edge * 0.5 - d + 0.5).clamp(0.0, 1.0);
                    mix(p.low, p.high, t)
                }
            }
        });
        Ok(())
    }
}
