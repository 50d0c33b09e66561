//! Ensō: a single brush-stroke circle with varying width and dry-brush texture.

use std::f32::consts::TAU;

use fxchain_plugin_api::prelude::*;
use fxkit::noise::{value, Rng};

use crate::sigil::over;

/// Parameters of `generate.enso`.
#[derive(Params)]
pub struct EnsoParams {
    /// Diameter of the circle as a fraction of the shorter side.
    #[param(id = "scale", default = 0.75, range = 0.05..=1.0)]
    pub scale: f32,
    /// Brush width as a fraction of the radius.
    #[param(id = "width", default = 0.16, range = 0.01..=0.6)]
    pub width: f32,
    /// Dry-brush texture: 0 a solid stroke, 1 very dry towards the end.
    #[param(id = "dryness", default = 0.6, range = 0.0..=1.0)]
    pub dryness: f32,
    /// Ink colour.
    #[param(id = "ink", default = "#141010")]
    pub ink: Color,
    /// Background colour (transparent by default).
    #[param(id = "background", default = "#00000000")]
    pub background: Color,
}

/// The stroke's geometry, drawn from the seed.
pub struct EnsoPlan {
    p: EnsoParams,
    cx: f32,
    cy: f32,
    r: f32,
    start: f32,
    sweep: f32,
    seed: u64,
}

impl EnsoPlan {
    fn width_at(&self, t: f32) -> f32 {
        // Pressure: full at the start, tapering towards the lifted end.
        let base = self.p.width * self.r;
        base * (1.0 - 0.7 * t.powf(1.6)) * (0.9 + 0.2 * value(t * 6.0, 0.5, self.seed ^ 7))
    }

    fn coverage(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let d = dx.hypot(dy);
        // Clockwise angle travelled from the start.
        let theta = dy.atan2(dx);
        let t = (theta - self.start).rem_euclid(TAU) / self.sweep;
        let seed = self.seed;
        if t > 1.0 {
            // Before the start: the rounded, loaded first touch of the brush.
            let sx = self.cx + self.r * self.start.cos();
            let sy = self.cy + self.r * self.start.sin();
            let dd = (x - sx).hypot(y - sy);
            let w0 = self.width_at(0.0) * 0.5;
            return (w0 - dd + 0.5).clamp(0.0, 1.0);
        }
        // The radius wanders a little along the stroke and spirals slightly inwards.
        let rt = self.r * (1.0 + 0.025 * (value(t * 4.0, 1.5, seed ^ 3) - 0.5) - 0.03 * t);
        let half = self.width_at(t) * 0.5;
        // Ragged edges.
        let rag = 1.0 + 0.12 * (value(t * 90.0, (d - rt).signum() * 3.0, seed ^ 11) - 0.5);
        let edge = half * rag;
        let dist = (d - rt).abs();
        let cov = (edge - dist + 0.5).clamp(0.0, 1.0);
        if cov <= 0.0 {
            return 0.0;
        }
        // Bristles: streaks along the stroke, drier (gaps) towards the end and the edges.
        let u = (d - rt) / edge.max(1e-3);
        let bristle =
            value(u * 14.0 + 40.0, t * 30.0, seed ^ 5) * 0.7 + value(u * 40.0 + 9.0, t * 70.0, seed ^ 9) * 0.3;
        let dry = self.p.dryness * (smooth(0.35, 1.0, t) * 0.9 + 0.35 * u.abs().powi(3));
        let ink = smooth(dry - 0.08, dry + 0.08, bristle);
        cov * ink * (0.85 + 0.15 * (1.0 - t))
    }
}

#[inline]
fn smooth(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// An ensō.
#[derive(Default)]
pub struct Enso;
impl Generator for Enso {
    const ID: &'static str = "generate.enso";
    const SUMMARY: &'static str = "A brush-stroke circle: varying width, ragged edges, dry-brush streaks.";
    type Params = EnsoParams;
    type Plan = EnsoPlan;
    fn plan(&self, p: EnsoParams, size: Size, seed: u64) -> Result<EnsoPlan, PluginError> {
        let mut rng = Rng::new(seed);
        let m = size.width.min(size.height) as f32;
        let r = p.scale * 0.5 * m * (1.0 - p.width * 0.5);
        let cx = size.width as f32 / 2.0 + rng.range(-0.02, 0.02) * m;
        let cy = size.height as f32 / 2.0 + rng.range(-0.02, 0.02) * m;
        let start = rng.range(0.0, TAU);
        let sweep = rng.range(0.82, 0.95) * TAU;
        Ok(EnsoPlan { p, cx, cy, r, start, sweep, seed })
    }
    fn render<P: Pixel>(&self, pl: &EnsoPlan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let reach = pl.r * (1.1 + pl.p.width);
        let bg = P::from_f32(pl.p.background.to_rgbaf32());
        for (y, row) in out.rows_mut() {
            let fy = y as f32 + 0.5;
            let dy = fy - pl.cy;
            row.fill(bg);
            if dy.abs() > reach {
                continue;
            }
            let e = (reach * reach - dy * dy).sqrt();
            let (x0, x1) =
                (((pl.cx - e).floor().max(0.0)) as usize, ((pl.cx + e).ceil().max(0.0) as usize).min(row.len()));
            for (x, px) in row.iter_mut().enumerate().take(x1).skip(x0) {
                let c = pl.coverage(x as f32 + 0.5, fy);
                if c > 0.0 {
                    *px = P::from_f32(over(pl.p.ink, pl.p.background, c));
                }
            }
        }
        Ok(())
    }
}
