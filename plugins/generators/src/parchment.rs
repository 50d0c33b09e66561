//! Parchment: aged paper from layered noise, fibres, stains, grain, tint and a burnt vignette.
//!
//! The smooth layers are computed by [`layers`]; the reference evaluates them at every pixel, the
//! fast variant on a 4-pixel grid with bilinear interpolation. Both shade with [`shade`], so they
//! differ only by the interpolation of smooth fields.

use fxchain_plugin_api::prelude::*;
use fxkit::noise::{rand2, value, Fbm};

/// Parameters of `generate.parchment` and its fast variant.
#[derive(Params, Clone)]
pub struct ParchmentParams {
    /// Colour of clean paper.
    #[param(id = "paper", default = "#ead9b0")]
    pub paper: Color,
    /// Colour of stains and burnt edges.
    #[param(id = "stain", default = "#7a5630")]
    pub stain: Color,
    /// Age: more blotches and darker edges.
    #[param(id = "age", default = 0.5, range = 0.0..=1.0)]
    pub age: f32,
    /// Size of the largest mottling, as a fraction of the shorter side.
    #[param(id = "scale", default = 0.35, range = 0.02..=4.0)]
    pub scale: f32,
    /// Strength of the fibres.
    #[param(id = "fibres", default = 0.5, range = 0.0..=1.0)]
    pub fibres: f32,
    /// Strength of the per-pixel grain.
    #[param(id = "grain", default = 0.3, range = 0.0..=1.0)]
    pub grain: f32,
    /// Darkening and burn towards the edges.
    #[param(id = "vignette", default = 0.6, range = 0.0..=1.0)]
    pub vignette: f32,
}

/// Prepared parchment.
pub struct ParchmentPlan {
    p: ParchmentParams,
    size: Size,
    seed: u64,
    cell: f32,
}

const N: usize = 4;

/// The smooth fields at a point: mottling, stain, fibres, edge burn (each about 0..1).
fn layers(pl: &ParchmentPlan, x: f32, y: f32) -> [f32; N] {
    let s = pl.seed;
    let (u, v) = (x / pl.cell, y / pl.cell);
    let mottle = Fbm { octaves: 4, gain: 0.5, lacunarity: 2.0 }.sample(u, v, s, value, false);
    let stain =
        Fbm { octaves: 3, gain: 0.55, lacunarity: 2.1 }.sample(u * 0.7 + 13.1, v * 0.7 - 7.3, s ^ 0x51, value, false);
    // Fibres: value noise stretched along a seeded direction.
    let a = rand2(1, 2, s) * std::f32::consts::PI;
    let (sa, ca) = a.sin_cos();
    let (fu, fv) = (x * ca + y * sa, -x * sa + y * ca);
    let fibre = value(fu / 40.0, fv / 1.8, s ^ 0xF1) * 0.6 + value(fu / 25.0, fv / 1.2, s ^ 0xF2) * 0.4;
    // Distance to the nearest edge, roughened.
    let (w, h) = (pl.size.width as f32, pl.size.height as f32);
    let m = w.min(h);
    let edge = (x.min(w - x).min(y).min(h - y)) / m + 0.05 * (value(u * 6.0, v * 6.0, s ^ 0xE0) - 0.5);
    [mottle, stain, fibre, edge]
}

#[inline]
fn smooth(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Colour of a pixel from its smooth fields and its grain.
fn shade(pl: &ParchmentPlan, l: [f32; N], x: u32, y: u32) -> RgbaF32 {
    let p = &pl.p;
    let [mottle, stain, fibre, edge] = l;
    // Brightness from mottling, fibres and grain.
    let grain = (rand2(x as i64, y as i64, pl.seed ^ 0x6A) - 0.5) * 0.08 * p.grain;
    let light = 1.0 + (mottle - 0.5) * 0.22 + (fibre - 0.5) * 0.09 * p.fibres + grain;
    // Stains: blotches where the stain field passes a threshold set by age, with darker rims.
    let th = 0.68 - 0.18 * p.age;
    let blot = smooth(th, th + 0.06, stain) * 0.35 * p.age;
    let rim = (smooth(th - 0.015, th, stain) - smooth(th, th + 0.015, stain)).max(0.0) * 0.25 * p.age;
    // Burnt, darker edges.
    let burn = smooth(0.16, 0.0, edge) * p.vignette;
    let k = (blot + rim + burn * 0.85).clamp(0.0, 1.0);
    let c = |paper: f32, st: f32| (paper * light) * (1.0 - k) + st * k;
    RgbaF32::new(c(p.paper.r, p.stain.r), c(p.paper.g, p.stain.g), c(p.paper.b, p.stain.b), 1.0)
}

fn plan(p: ParchmentParams, size: Size, seed: u64) -> ParchmentPlan {
    let cell = (p.scale * size.width.min(size.height) as f32).max(2.0);
    ParchmentPlan { p, size, seed, cell }
}

/// Parchment, the reference.
#[derive(Default)]
pub struct Parchment;
impl Generator for Parchment {
    const ID: &'static str = "generate.parchment";
    const SUMMARY: &'static str = "Aged paper: mottling, fibres, stains, grain, tint and burnt edges.";
    type Params = ParchmentParams;
    type Plan = ParchmentPlan;
    fn plan(&self, p: ParchmentParams, size: Size, seed: u64) -> Result<ParchmentPlan, PluginError> {
        Ok(plan(p, size, seed))
    }
    fn render<P: Pixel>(&self, pl: &ParchmentPlan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        for (y, row) in out.rows_mut() {
            for (x, px) in row.iter_mut().enumerate() {
                let l = layers(pl, x as f32 + 0.5, y as f32 + 0.5);
                *px = P::from_f32(shade(pl, l, x as u32, y));
            }
        }
        Ok(())
    }
}

/// Fast parchment: smooth fields on a 4-pixel grid, interpolated; grain per pixel.
#[derive(Default)]
pub struct ParchmentFast;
impl Generator for ParchmentFast {
    const ID: &'static str = "generate.parchment.fast";
    const SUMMARY: &'static str = "Parchment with its smooth layers computed on a 4-pixel grid.";
    const VARIANT_OF: &'static str = "generate.parchment";
    const TIER: Tier = Tier::FAST;
    type Params = ParchmentParams;
    type Plan = ParchmentPlan;
    fn plan(&self, p: ParchmentParams, size: Size, seed: u64) -> Result<ParchmentPlan, PluginError> {
        Ok(plan(p, size, seed))
    }
    fn render<P: Pixel>(&self, pl: &ParchmentPlan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        const S: u32 = 4;
        let rows = out.rows();
        let gw = (out.width().div_ceil(S) + 1) as usize;
        let (gy0, gy1) = (rows.start / S, rows.end.div_ceil(S) + 1);
        let grid: Vec<[f32; N]> = (gy0..gy1)
            .flat_map(|gy| (0..gw as u32).map(move |gx| (gx, gy)))
            .map(|(gx, gy)| layers(pl, (gx * S) as f32 + 0.5, (gy * S) as f32 + 0.5))
            .collect();
        let inv = 1.0 / S as f32;
        for (y, row) in out.rows_mut() {
            let (gy, ty) = ((y / S - gy0) as usize, (y % S) as f32 * inv);
            for (x, px) in row.iter_mut().enumerate() {
                let (gx, tx) = (x / S as usize, (x as u32 % S) as f32 * inv);
                let (a, b) = (&grid[gy * gw + gx], &grid[gy * gw + gx + 1]);
                let (c, d) = (&grid[(gy + 1) * gw + gx], &grid[(gy + 1) * gw + gx + 1]);
                let l: [f32; N] = std::array::from_fn(|i| {
                    let top = a[i] + (b[i] - a[i]) * tx;
                    let bot = c[i] + (d[i] - c[i]) * tx;
                    top + (bot - top) * ty
                });
                *px = P::from_f32(shade(pl, l, x as u32, y));
            }
        }
        Ok(())
    }
}
