//! Ensō: a single brush-stroke circle with varying width and dry-brush texture.

use std::f32::consts::TAU;

use fxchain_plugin_api::prelude::*;
use fxkit::noise::{value, Rng, ValueLine};

use crate::sigil::over;

/// Parameters of `generate.enso`.
#[derive(Params)]
pub struct EnsoParams {
    /// Diameter of the circle as a fraction of the shorter side.
    #[param(default = 0.75, range = 0.05..=1.0)]
    pub scale: f32,
    /// Brush width as a fraction of the radius.
    #[param(default = 0.16, range = 0.01..=0.6)]
    pub width: f32,
    /// Dry-brush texture: 0 a solid stroke, 1 very dry towards the end.
    #[param(default = 0.6, range = 0.0..=1.0)]
    pub dryness: f32,
    /// Ink colour.
    #[param(default = "#141010")]
    pub ink: Color,
    /// Background colour (transparent by default).
    #[param(default = "#00000000")]
    pub background: Color,
}

/// An ensō; its state is the stroke's geometry, drawn from the seed.
#[derive(Default)]
pub struct Enso {
    cx: f32,
    cy: f32,
    r: f32,
    start: f32,
    sweep: f32,
}

/// The noise along the stroke (functions of the stroke's `t` in 0..=1 on fixed lattice rows),
/// hashed once per band: the same values as calling `value`.
struct Lines {
    pressure: ValueLine,
    wander: ValueLine,
    rag_out: ValueLine,
    rag_in: ValueLine,
}

impl Lines {
    fn new(seed: u64) -> Self {
        Lines {
            pressure: ValueLine::new(6, 0.5, seed ^ 7),
            wander: ValueLine::new(4, 1.5, seed ^ 3),
            rag_out: ValueLine::new(90, 3.0, seed ^ 11),
            rag_in: ValueLine::new(90, -3.0, seed ^ 11),
        }
    }
}

impl Enso {
    fn width_at(&self, p: &EnsoParams, lines: &Lines, t: f32) -> f32 {
        // Pressure: full at the start, tapering towards the lifted end.
        let base = p.width * self.r;
        base * (1.0 - 0.7 * t.powf(1.6)) * (0.9 + 0.2 * lines.pressure.at(t * 6.0))
    }

    /// A radius inside which [`Enso::coverage`] is 0: the stroke's centre line stays beyond
    /// `r × (1 - 0.0125 - 0.03)` and its half width plus ragged edge below
    /// `0.5 × width × r × 1.1 × 1.06` (the first touch is a disc of at most that radius on the
    /// circle), and coverage needs a distance below that plus half a pixel; with 1 % and 2 px to
    /// spare for rounding.
    fn inner_radius(&self, p: &EnsoParams) -> f32 {
        self.r * (0.9575 - 0.583 * p.width) * 0.99 - 2.5
    }

    /// A radius beyond which [`Enso::coverage`] is 0, by the same bounds as
    /// [`Enso::inner_radius`]: `r × 1.0125` plus the half width and ragged edge, half a pixel,
    /// 1 % and 2 px.
    fn outer_radius(&self, p: &EnsoParams) -> f32 {
        self.r * (1.0125 + 0.583 * p.width) * 1.01 + 2.5
    }

    fn coverage(&self, p: &EnsoParams, lines: &Lines, seed: u64, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let d = dx.hypot(dy);
        // Clockwise angle travelled from the start.
        let theta = dy.atan2(dx);
        let t = angle_rem(theta - self.start) / self.sweep;
        if t > 1.0 {
            // Before the start: the rounded, loaded first touch of the brush.
            let sx = self.cx + self.r * self.start.cos();
            let sy = self.cy + self.r * self.start.sin();
            let dd = (x - sx).hypot(y - sy);
            let w0 = self.width_at(p, lines, 0.0) * 0.5;
            return (w0 - dd + 0.5).clamp(0.0, 1.0);
        }
        // The radius wanders a little along the stroke and spirals slightly inwards.
        let rt = self.r * (1.0 + 0.025 * (lines.wander.at(t * 4.0) - 0.5) - 0.03 * t);
        let dist = (d - rt).abs();
        // Coverage is 0 beyond the widest the edge can be at `t` (as `width_at` and `rag` below,
        // with `t²` for the smaller `t^1.6`, noise at its maximum, and a margin for rounding):
        // return that 0 before computing the edge.
        let widest = p.width * self.r * (1.0 - 0.7 * t * t) * 0.5 * 1.1 * 1.06;
        if dist > widest * 1.001 + 0.501 {
            return 0.0;
        }
        let half = self.width_at(p, lines, t) * 0.5;
        // Ragged edges.
        let side = (d - rt).signum() * 3.0;
        let ragged = match side {
            3.0 => lines.rag_out.at(t * 90.0),
            -3.0 => lines.rag_in.at(t * 90.0),
            _ => value(t * 90.0, side, seed ^ 11),
        };
        let rag = 1.0 + 0.12 * (ragged - 0.5);
        let edge = half * rag;
        let cov = (edge - dist + 0.5).clamp(0.0, 1.0);
        if cov <= 0.0 {
            return 0.0;
        }
        // Bristles: streaks along the stroke, drier (gaps) towards the end and the edges.
        let u = (d - rt) / edge.max(1e-3);
        let bristle =
            value(u * 14.0 + 40.0, t * 30.0, seed ^ 5) * 0.7 + value(u * 40.0 + 9.0, t * 70.0, seed ^ 9) * 0.3;
        let dry = p.dryness * (smooth(0.35, 1.0, t) * 0.9 + 0.35 * u.abs().powi(3));
        let ink = smooth(dry - 0.08, dry + 0.08, bristle);
        cov * ink * (0.85 + 0.15 * (1.0 - t))
    }
}

/// `a.rem_euclid(TAU)` for the angles of [`Enso::coverage`] (`a` in -3π..π) without a call to
/// `fmod`: below 2τ in magnitude the remainder is `a ∓ τ`, exact (Sterbenz), with `fmod`'s zero
/// sign; larger values (and NaN) take `rem_euclid`.
#[inline]
fn angle_rem(a: f32) -> f32 {
    let r = if a.abs() < TAU {
        a
    } else if a.abs() < 2.0 * TAU {
        let r = a - TAU.copysign(a);
        if r == 0.0 {
            0.0f32.copysign(a)
        } else {
            r
        }
    } else {
        return a.rem_euclid(TAU);
    };
    if r < 0.0 {
        r + TAU
    } else {
        r
    }
}

#[inline]
fn smooth(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl Generator for Enso {
    const META: Meta = Meta::new("generate.enso")
        .summary("A brush-stroke circle: varying width, ragged edges, dry-brush streaks.")
        .tests(&[
            Test::new("on paper")
                .size(96, 96)
                .params(r##"{"background": "#f4ecd8", "dryness": 0.9}"##)
                .hash("54cfa824b9fc2faa"),
            Test::new("seed 7, wide").seed(7).params(r#"{"width": 0.3, "scale": 0.9}"#).hash("ef7b52117550af9a"),
        ]);
    type Params = EnsoParams;
    fn setup(&mut self, p: &EnsoParams, size: Size, seed: u64) -> Result<(), PluginError> {
        let mut rng = Rng::new(seed);
        let m = size.width.min(size.height) as f32;
        self.r = p.scale * 0.5 * m * (1.0 - p.width * 0.5);
        self.cx = size.width as f32 / 2.0 + rng.range(-0.02, 0.02) * m;
        self.cy = size.height as f32 / 2.0 + rng.range(-0.02, 0.02) * m;
        self.start = rng.range(0.0, TAU);
        self.sweep = rng.range(0.82, 0.95) * TAU;
        Ok(())
    }
    fn render<P: Pixel>(&self, p: &EnsoParams, out: &mut Band<'_, P>) {
        let seed = out.seed();
        let reach = (self.r * (1.1 + p.width)).min(self.outer_radius(p));
        let inner = self.inner_radius(p);
        let bg = P::from_f32(p.background.to_rgbaf32());
        let lines = Lines::new(seed);
        // Only the pixels within reach of the circle can be inked.
        for (y, row) in out.rows_mut() {
            let fy = y as f32 + 0.5;
            let dy = fy - self.cy;
            row.fill(bg);
            if dy.abs() > reach {
                continue;
            }
            let e = (reach * reach - dy * dy).sqrt();
            let (x0, x1) =
                (((self.cx - e).floor().max(0.0)) as usize, ((self.cx + e).ceil().max(0.0) as usize).min(row.len()));
            // Nor the inside of the ring: see `inner_radius`.
            let (h0, h1) = match inner * inner - dy * dy {
                q if inner > 0.0 && q > 0.0 => {
                    let e = q.sqrt() - 1.0;
                    ((self.cx - e).ceil().max(0.0) as usize, ((self.cx + e).floor().max(0.0) as usize).min(row.len()))
                }
                _ => (0, 0),
            };
            for (x, px) in row.iter_mut().enumerate().take(x1).skip(x0) {
                if (h0..h1).contains(&x) {
                    continue;
                }
                let c = self.coverage(p, &lines, seed, x as f32 + 0.5, fy);
                if c > 0.0 {
                    *px = P::from_f32(over(p.ink, p.background, c));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_rem_is_rem_euclid() {
        let mut r = Rng::new(9);
        let mut xs: Vec<f32> = (0..200_000).map(|_| r.range(-3.5 * TAU, 3.5 * TAU)).collect();
        xs.extend([0.0, -0.0, TAU, -TAU, 2.0 * TAU, -2.0 * TAU, TAU * 0.999_999_9, f32::INFINITY, f32::NAN]);
        for a in xs {
            let (got, want) = (angle_rem(a), a.rem_euclid(TAU));
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{a}: {got} vs {want}");
        }
    }

    #[test]
    fn no_ink_inside_the_inner_radius_or_beyond_the_outer_one() {
        let mut inked = 0;
        for seed in 0..12u64 {
            for (width, scale, dryness) in [(0.16, 0.75, 0.6), (0.01, 0.05, 0.0), (0.3, 0.9, 1.0), (0.6, 1.0, 0.3)] {
                let p = EnsoParams { scale, width, dryness, ink: Color::default(), background: Color::default() };
                let size = Size::new(160, 128);
                let mut e = Enso::default();
                e.setup(&p, size, seed).unwrap();
                let (inner, outer) = (e.inner_radius(&p), e.outer_radius(&p));
                let lines = Lines::new(seed);
                for y in 0..size.height {
                    for x in 0..size.width {
                        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                        let d = (fx - e.cx).hypot(fy - e.cy);
                        let c = e.coverage(&p, &lines, seed, fx, fy);
                        inked += (c > 0.0) as u32;
                        assert!(c <= 0.0 || (inner..=outer).contains(&d), "seed {seed}, width {width}: ink at d {d}");
                    }
                }
            }
        }
        assert!(inked > 10_000, "{inked}");
    }
}
