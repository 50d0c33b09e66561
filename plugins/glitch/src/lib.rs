//! Glitch and texture effects. The random ones are seeded: the same seed gives the same image.

use fxchain_plugin_api::point;
use fxchain_plugin_api::prelude::*;
use fxkit::noise::{rand2, Rng};
use fxkit::rows::{load_premul, reads_opaque, sample, store, unpremul};

/// Parameters of `glitch.shake`.
#[derive(Params)]
pub struct ShakeParams {
    /// Largest offset of a ghost copy, in pixels.
    #[param(default = 6.0, range = 0.0..=200.0, unit = "px")]
    pub amount: f32,
    /// Number of ghost copies.
    #[param(default = 4, range = 1..=16)]
    pub copies: u32,
    /// Weight of the ghosts relative to the original (0..1).
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub ghost: f32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
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
    const META: Meta = Meta::new("glitch.shake")
        .summary("Averages the image with seeded, offset ghost copies (camera shake).")
        .doc(
            "With `border: transparent`, ghosts reaching outside the image read transparent black: the \
             edges turn translucent and keep the image's colour.",
        )
        .tests(&[
            Test::new("3 copies").params(r#"{"amount": 6.0, "copies": 3}"#).hash("b6a5e34af256d7ee"),
            Test::new("wrap, seed 7")
                .params(r#"{"amount": 10.0, "ghost": 0.8, "border": "wrap"}"#)
                .seed(7)
                .hash("e9a84bc36edbf431"),
            Test::new("opaque, transparent border")
                .params(r#"{"amount": 3.0, "copies": 2, "border": "transparent"}"#)
                .input(4, 4, &[255; 64])
                .hash("90fe511ce9d8de91"),
        ]);
    type Params = ShakeParams;
    fn footprint(&self, p: &ShakeParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(p.amount.ceil() as u32 + 1)
    }
    fn render<P: Pixel>(&self, p: &ShakeParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        // A transparent border makes the result translucent near the edges even when the input is
        // opaque, so it is then averaged premultiplied.
        let opaque = reads_opaque(input, p.border.mode);
        let taps = shake_taps(p, out.seed());
        for (y, row) in out.rows_mut() {
            for (x, d) in row.iter_mut().enumerate() {
                let mut acc = [0f32; 4];
                for &(dx, dy, w) in &taps {
                    let s = sample(input, x as i64 + dx, y as i64 + dy, p.border.mode, opaque);
                    for c in 0..4 {
                        acc[c] += s[c] * w;
                    }
                }
                *d = store(acc, opaque);
            }
        }
    }
}

/// Parameters of `glitch.noise`.
#[derive(Params)]
pub struct NoiseParams {
    /// Standard deviation of the added Gaussian noise (0..1 of full scale).
    #[param(default = 0.05, range = 0.0..=1.0)]
    pub sigma: f32,
    /// The same noise in R, G and B (luminance noise) instead of per channel.
    #[param(default = false)]
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
    const META: Meta = Meta::new("glitch.noise").summary("Adds seeded Gaussian noise (film grain).").tests(&[
        Test::new("σ=0.05").params(r#"{"sigma": 0.05}"#).hash("f18f37d311ee7251"),
        Test::new("mono, seed 3").params(r#"{"sigma": 0.2, "mono": true}"#).seed(3).hash("e0b82f68de84a202"),
    ]);
    type Params = NoiseParams;
    fn render<P: Pixel>(&self, p: &NoiseParams, band: &mut Band<'_, P>) {
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
    #[param(default = 4.0, range = -500.0..=500.0, unit = "px")]
    pub dx: f32,
    /// Vertical shift of red (blue moves the other way), in pixels.
    #[param(default = 0.0, range = -500.0..=500.0, unit = "px")]
    pub dy: f32,
    /// Chromatic aberration: the shift grows from 0 at the centre to (dx, dy) at the corners, radially.
    #[param(default = false)]
    pub radial: bool,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

/// RGB channel shift / chromatic aberration.
#[derive(Default)]
pub struct RgbShift;
impl Filter for RgbShift {
    const META: Meta = Meta::new("glitch.rgb_shift")
        .summary("Shifts red and blue in opposite directions (or radially: chromatic aberration).")
        .tests(&[
            Test::new("dx 2").params(r#"{"dx": 2.0}"#).hash("1d85199cfc263ef6"),
            Test::new("radial, transparent")
                .params(r#"{"dx": -6.0, "dy": 3.0, "radial": true, "border": "transparent"}"#)
                .hash("66606dce40237bc4"),
        ]);
    type Params = ShiftParams;
    fn footprint(&self, p: &ShiftParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(p.dx.abs().max(p.dy.abs()).ceil() as u32 + 1)
    }
    fn render<P: Pixel>(&self, p: &ShiftParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let (w, h) = (input.width() as f32, input.height() as f32);
        let (cx, cy) = (w / 2.0, h / 2.0);
        let inv = 1.0 / (cx * cx + cy * cy).sqrt().max(1.0);
        let get = |x: f32, y: f32| -> RgbaF32 {
            let (Some(sx), Some(sy)) = (
                p.border.mode.index(x.round() as i64, input.width()),
                p.border.mode.index(y.round() as i64, input.height()),
            ) else {
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
    }
}

/// Parameters of `glitch.scanlines`.
#[derive(Params)]
pub struct ScanlineParams {
    /// Distance between dark lines, in rows.
    #[param(default = 3, range = 2..=1000, unit = "px")]
    pub period: u32,
    /// Rows per dark line.
    #[param(default = 1, range = 1..=999, unit = "px")]
    pub thickness: u32,
    /// How dark the lines are (0 none, 1 black).
    #[param(default = 0.4, range = 0.0..=1.0)]
    pub strength: f32,
}

/// CRT-style scanlines.
#[derive(Default)]
pub struct Scanlines;
impl PointFilter for Scanlines {
    const META: Meta = Meta::new("glitch.scanlines").summary("Darkens every n-th row (CRT scanlines).").tests(&[
        Test::new("3/1").params(r#"{"period": 3, "thickness": 1, "strength": 0.4}"#).hash("59433dd06edc7154"),
        Test::new("thick, float")
            .params(r#"{"period": 7, "thickness": 3, "strength": 0.9}"#)
            .f32()
            .hash("f8fcf958e9ef8398"),
    ]);
    type Params = ScanlineParams;
    fn render<P: Pixel>(&self, p: &ScanlineParams, band: &mut Band<'_, P>) {
        let k = 1.0 - p.strength;
        let dark = point::curve_table(|c| c * k);
        for (y, row) in band.rows_mut() {
            if y % p.period >= p.thickness {
                continue;
            }
            match P::as_rgba8_mut(row) {
                Some(row8) => point::apply_table(row8, &dark),
                None => row.iter_mut().for_each(|px| *px = P::from_f32(px.to_f32().map_rgb(|c| c * k))),
            }
        }
    }
}

/// Parameters of `glitch.pixelate`.
#[derive(Params)]
pub struct PixelateParams {
    /// Side of a block in pixels.
    #[param(default = 8, range = 1..=4096, unit = "px")]
    pub block: u32,
}

/// Pixelate: each block becomes its mean colour (blocks on a grid from the top-left corner).
#[derive(Default)]
pub struct Pixelate;
impl Filter for Pixelate {
    const META: Meta =
        Meta::new("glitch.pixelate").summary("Replaces each block by its mean colour (alpha-weighted).").tests(&[
            Test::new("block 4").params(r#"{"block": 4}"#).hash("74d918d14147ed9e"),
            Test::new("block 7").params(r#"{"block": 7}"#).hash("fb4b459e73074fba"),
        ]);
    type Params = PixelateParams;
    fn footprint(&self, p: &PixelateParams, _: Size, _: Size) -> Footprint {
        // A row reads the rows of its block, which lie within block − 1 of it.
        Footprint::radius(p.block - 1, Border::Clamp)
    }
    fn render<P: Pixel>(&self, p: &PixelateParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let (b, w, h) = (p.block, input.width(), input.height());
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
    }
}

export_plugin!(Shake, AddNoise, RgbShift, Scanlines, Pixelate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pixelate_band_can_read_its_whole_blocks() {
        for (block, h) in [(1, 5), (4, 18), (7, 20), (32, 20)] {
            let p = PixelateParams { block };
            let f = Pixelate.footprint(&p, Size::new(3, h), Size::new(3, h));
            for start in 0..h {
                for end in start + 1..=h {
                    let rows = f.input_rows(Rows::new(start, end), 3, h);
                    // The band reads the blocks it touches, whole.
                    let (first, last) = (start / block * block, (end.div_ceil(block) * block).min(h));
                    assert!(rows.start <= first && last <= rows.end, "block {block}: {start}..{end} reads {rows:?}");
                }
            }
        }
    }

    #[test]
    fn shake_weights_sum_to_one_and_offsets_stay_within_the_amount() {
        let p = ShakeParams { amount: 6.0, copies: 5, ghost: 0.4, border: BorderParams::default() };
        let taps = shake_taps(&p, 99);
        assert_eq!(taps.len(), 6);
        assert_eq!(taps[0], (0, 0, 0.6));
        assert!((taps.iter().map(|t| t.2).sum::<f32>() - 1.0).abs() < 1e-6);
        // Radius at most the amount, each coordinate rounded by at most ½: (6 + 0.71)² < 45.
        let reach = Shake.footprint(&p, Size::new(9, 9), Size::new(9, 9)).radius as i64;
        assert!(taps.iter().all(|&(dx, dy, _)| dx.abs().max(dy.abs()) <= reach && dx * dx + dy * dy <= 45));
        assert_eq!(taps, shake_taps(&p, 99), "the same seed gives the same copies");
        assert_ne!(taps, shake_taps(&p, 100));
    }
}
