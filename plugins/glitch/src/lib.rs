//! Glitch and texture effects. The random ones are seeded: the same seed gives the same image.

use fxchain_plugin_api::prelude::*;
use fxkit::conv::rows_needed;
use fxkit::noise::{rand2, Rng};
use fxkit::rows::{load_premul, unpremul};
use fxkit::Border;

/// The premultiplied pixel at `(x, y)` with border handling.
#[inline]
fn fetch<P: Pixel>(input: &Image<'_, P>, x: i64, y: i64, border: Border, opaque: bool) -> [f32; 4] {
    let (Some(sx), Some(sy)) = (border.index(x, input.width()), border.index(y, input.height())) else {
        return [0.0; 4];
    };
    let mut px = [[0f32; 4]; 1];
    load_premul(&input.row(sy as u32)[sx..sx + 1], &mut px, opaque);
    px[0]
}

/// Parameters of `glitch.shake`.
#[derive(Params)]
pub struct ShakeParams {
    /// Largest offset of a ghost copy, in pixels.
    #[param(id = "amount", default = 6.0, range = 0.0..=200.0, unit = "px")]
    pub amount: f32,
    /// Number of ghost copies.
    #[param(id = "copies", default = 4, range = 1..=16)]
    pub copies: u32,
    /// Weight of the ghosts relative to the original (0..1).
    #[param(id = "ghost", default = 0.5, range = 0.0..=1.0)]
    pub ghost: f32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Offsets and weights of the copies, drawn from the step's seed.
fn shake_taps(p: &ShakeParams, seed: u64) -> Vec<(i64, i64, f32)> {
    let mut rng = Rng::new(seed);
    let g = p.ghost / p.copies as f32;
    let mut taps = vec![(0, 0, 1.0 - p.ghost)];
    for _ in 0..p.copies {
        let a = rng.range(0.0, std::f32::consts::TAU);
        let r = rng.range(0.3, 1.0) * p.amount;
        taps.push(((r * a.cos()).round() as i64, (r * a.sin()).round() as i64, g));
    }
    taps
}

/// Camera shake: the image averaged with seeded offset copies of itself.
#[derive(Default)]
pub struct Shake;
impl Filter for Shake {
    const ID: &'static str = "glitch.shake";
    const SUMMARY: &'static str = "Averages the image with seeded, offset ghost copies (camera shake).";
    type Params = ShakeParams;
    type Plan = ShakeParams;
    fn plan(&self, p: ShakeParams, _: Size) -> Result<ShakeParams, PluginError> {
        Ok(p)
    }
    fn input_rows(&self, p: &ShakeParams, output: Rows, input: Size) -> Rows {
        rows_needed(output, p.amount.ceil() as u32 + 1, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        p: &ShakeParams,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let opaque = input.is_opaque();
        let taps = shake_taps(p, out.seed());
        for (y, row) in out.rows_mut() {
            for (x, d) in row.iter_mut().enumerate() {
                let mut acc = [0f32; 4];
                for &(dx, dy, w) in &taps {
                    let s = fetch(input, x as i64 + dx, y as i64 + dy, p.border, opaque);
                    for c in 0..4 {
                        acc[c] += s[c] * w;
                    }
                }
                *d = P::from_f32(unpremul(acc, opaque));
            }
        }
        Ok(())
    }
}

/// Parameters of `glitch.noise`.
#[derive(Params)]
pub struct NoiseParams {
    /// Standard deviation of the added Gaussian noise (0..1 of full scale).
    #[param(id = "sigma", default = 0.05, range = 0.0..=1.0)]
    pub sigma: f32,
    /// The same noise in R, G and B (luminance noise) instead of per channel.
    #[param(id = "mono", default = false)]
    pub mono: bool,
}

/// Box–Muller normal from two hashes of the pixel position.
#[inline]
fn normal_at(x: i64, y: i64, seed: u64) -> f32 {
    let u1 = rand2(x, y, seed).max(1e-7);
    let u2 = rand2(x, y, seed ^ 0x9E37_79B9_7F4A_7C15);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Additive Gaussian noise, a function of position and the step's seed (the same for any band split).
#[derive(Default)]
pub struct AddNoise;
impl PointFilter for AddNoise {
    const ID: &'static str = "glitch.noise";
    const SUMMARY: &'static str = "Adds seeded Gaussian noise (film grain).";
    type Params = NoiseParams;
    fn process_band<P: Pixel>(&self, p: &NoiseParams, band: &mut Band<'_, P>) {
        let seed = band.seed();
        for (y, row) in band.rows_mut() {
            for (x, px) in row.iter_mut().enumerate() {
                let (x, y) = (x as i64, y as i64);
                let c = px.to_f32();
                let n = |k: u64| p.sigma * normal_at(x, y, seed.wrapping_mul(3).wrapping_add(k));
                *px = P::from_f32(if p.mono {
                    let v = n(0);
                    c.map_rgb(|ch| ch + v)
                } else {
                    RgbaF32::new(c.r + n(0), c.g + n(1), c.b + n(2), c.a)
                });
            }
        }
    }
}

/// Parameters of `glitch.rgb_shift`.
#[derive(Params)]
pub struct ShiftParams {
    /// Horizontal shift of red (blue moves the other way), in pixels.
    #[param(id = "dx", default = 4.0, range = -500.0..=500.0, unit = "px")]
    pub dx: f32,
    /// Vertical shift of red (blue moves the other way), in pixels.
    #[param(id = "dy", default = 0.0, range = -500.0..=500.0, unit = "px")]
    pub dy: f32,
    /// Chromatic aberration: the shift grows from 0 at the centre to (dx, dy) at the corners, radially.
    #[param(id = "radial", default = false)]
    pub radial: bool,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// RGB channel shift / chromatic aberration.
#[derive(Default)]
pub struct RgbShift;
impl Filter for RgbShift {
    const ID: &'static str = "glitch.rgb_shift";
    const SUMMARY: &'static str = "Shifts red and blue in opposite directions (or radially: chromatic aberration).";
    type Params = ShiftParams;
    type Plan = ShiftParams;
    fn plan(&self, p: ShiftParams, _: Size) -> Result<ShiftParams, PluginError> {
        Ok(p)
    }
    fn input_rows(&self, p: &ShiftParams, output: Rows, input: Size) -> Rows {
        let reach = p.dx.abs().max(p.dy.abs()).ceil() as u32 + 1;
        rows_needed(output, reach, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        p: &ShiftParams,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let (w, h) = (input.width() as f32, input.height() as f32);
        let (cx, cy) = (w / 2.0, h / 2.0);
        let inv = 1.0 / (cx * cx + cy * cy).sqrt().max(1.0);
        let get = |x: f32, y: f32| -> RgbaF32 {
            let (Some(sx), Some(sy)) =
                (p.border.index(x.round() as i64, input.width()), p.border.index(y.round() as i64, input.height()))
            else {
                return RgbaF32::default();
            };
            input.row(sy as u32)[sx].to_f32()
        };
        for (y, row) in out.rows_mut() {
            for (x, d) in row.iter_mut().enumerate() {
                let (fx, fy) = (x as f32, y as f32);
                let (sx, sy) = if p.radial {
                    let (rx, ry) = ((fx + 0.5 - cx) * inv, (fy + 0.5 - cy) * inv);
                    (p.dx * rx, p.dy.abs().max(p.dx.abs()) * ry * p.dx.signum())
                } else {
                    (p.dx, p.dy)
                };
                let r = get(fx - sx, fy - sy);
                let g = get(fx, fy);
                let b = get(fx + sx, fy + sy);
                *d = P::from_f32(RgbaF32::new(r.r, g.g, b.b, r.a.max(g.a).max(b.a)));
            }
        }
        Ok(())
    }
}

/// Parameters of `glitch.scanlines`.
#[derive(Params)]
pub struct ScanlineParams {
    /// Distance between dark lines, in rows.
    #[param(id = "period", default = 3, range = 2..=1000, unit = "px")]
    pub period: u32,
    /// Rows per dark line.
    #[param(id = "thickness", default = 1, range = 1..=999, unit = "px")]
    pub thickness: u32,
    /// How dark the lines are (0 none, 1 black).
    #[param(id = "strength", default = 0.4, range = 0.0..=1.0)]
    pub strength: f32,
}

/// CRT-style scanlines.
#[derive(Default)]
pub struct Scanlines;
impl PointFilter for Scanlines {
    const ID: &'static str = "glitch.scanlines";
    const SUMMARY: &'static str = "Darkens every n-th row (CRT scanlines).";
    type Params = ScanlineParams;
    fn process_band<P: Pixel>(&self, p: &ScanlineParams, band: &mut Band<'_, P>) {
        let k = 1.0 - p.strength;
        for (y, row) in band.rows_mut() {
            if y % p.period < p.thickness {
                for px in row.iter_mut() {
                    *px = P::from_f32(px.to_f32().map_rgb(|c| c * k));
                }
            }
        }
    }
}

/// Parameters of `glitch.pixelate`.
#[derive(Params)]
pub struct PixelateParams {
    /// Side of a block in pixels.
    #[param(id = "block", default = 8, range = 1..=4096, unit = "px")]
    pub block: u32,
}

/// Pixelate: each block becomes its mean colour (blocks on a grid from the top-left corner).
#[derive(Default)]
pub struct Pixelate;
impl Filter for Pixelate {
    const ID: &'static str = "glitch.pixelate";
    const SUMMARY: &'static str = "Replaces each block by its mean colour (alpha-weighted).";
    type Params = PixelateParams;
    type Plan = u32;
    fn plan(&self, p: PixelateParams, _: Size) -> Result<u32, PluginError> {
        Ok(p.block)
    }
    fn input_rows(&self, b: &u32, output: Rows, input: Size) -> Rows {
        Rows::new(output.start / b * b, (output.end.div_ceil(*b) * b).min(input.height))
    }
    fn render<P: Pixel>(&self, b: &u32, input: &Image<'_, P>, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let (b, w, h) = (*b, input.width(), input.height());
        let opaque = input.is_opaque();
        let rows = out.rows();
        let mut line = vec![[0f32; 4]; w as usize];
        let mut by = rows.start / b * b;
        while by < rows.end {
            let y1 = (by + b).min(h);
            let mut sums = vec![[0f32; 4]; w.div_ceil(b) as usize];
            for y in by..y1 {
                load_premul(input.row(y), &mut line, opaque);
                for (x, p) in line.iter().enumerate() {
                    let s = &mut sums[x / b as usize];
                    for c in 0..4 {
                        s[c] += p[c];
                    }
                }
            }
            let colors: Vec<P> = sums
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let bw = (b.min(w - i as u32 * b) * (y1 - by)) as f32;
                    P::from_f32(unpremul(s.map(|v| v / bw), opaque))
                })
                .collect();
            for y in by.max(rows.start)..y1.min(rows.end) {
                for (x, d) in out.row_mut(y).iter_mut().enumerate() {
                    *d = colors[x / b as usize];
                }
            }
            by += b;
        }
        Ok(())
    }
}

export_plugin!(Shake, AddNoise, RgbShift, Scanlines, Pixelate);
