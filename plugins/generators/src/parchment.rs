//! Parchment: aged paper from layered noise, fibres, stains, grain, tint and a burnt vignette.
//!
//! The smooth layers are computed by [`layers`]; the reference evaluates them at every pixel, the
//! fast variant on a 4-pixel grid with bilinear interpolation (`fxkit::fill::fill_smooth`). Both
//! shade with [`shade`] and share one implementation, so they differ only by the grid step.

use fxchain_plugin_api::prelude::*;
use fxkit::fill::fill_smooth;
use fxkit::noise::{rand2, value, Fbm, FbmScratch, Lattice, RowScratch, ValueCached};

/// Parameters of `generate.parchment` and its fast variant.
#[derive(Params, Clone)]
pub struct ParchmentParams {
    /// Colour of clean paper.
    #[param(default = "#ead9b0")]
    pub paper: Color,
    /// Colour of stains and burnt edges.
    #[param(default = "#7a5630")]
    pub stain: Color,
    /// Age: more blotches and darker edges.
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub age: f32,
    /// Size of the largest mottling, as a fraction of the shorter side.
    #[param(default = 0.35, range = 0.02..=4.0)]
    pub scale: f32,
    /// Strength of the fibres.
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub fibres: f32,
    /// Strength of the per-pixel grain.
    #[param(default = 0.3, range = 0.0..=1.0)]
    pub grain: f32,
    /// Darkening and burn towards the edges.
    #[param(default = 0.6, range = 0.0..=1.0)]
    pub vignette: f32,
}

/// The fields' geometry for one image.
#[derive(Copy, Clone, Debug, Default)]
struct Paper {
    size: Size,
    cell: f32,
}

impl Paper {
    fn new(p: &ParchmentParams, size: Size) -> Paper {
        Paper { size, cell: (p.scale * size.width.min(size.height) as f32).max(2.0) }
    }
}

const N: usize = 4;

const MOTTLE: Fbm = Fbm { octaves: 4, gain: 0.5, lacunarity: 2.0 };
const STAIN: Fbm = Fbm { octaves: 3, gain: 0.55, lacunarity: 2.1 };

/// The fibres' direction for seed `s`: its sine and cosine.
fn fibre_direction(s: u64) -> (f32, f32) {
    (rand2(1, 2, s) * std::f32::consts::PI).sin_cos()
}

/// Fibres: value noise stretched along the direction `(sa, ca)`.
#[inline]
fn fibre(x: f32, y: f32, (sa, ca): (f32, f32), s: u64) -> f32 {
    let (fu, fv) = (x * ca + y * sa, -x * sa + y * ca);
    value(fu / 40.0, fv / 1.8, s ^ 0xF1) * 0.6 + value(fu / 25.0, fv / 1.2, s ^ 0xF2) * 0.4
}

/// Distance to the nearest edge, roughened by `noise` (value noise at `6 × (u, v)`).
#[inline]
fn edge(pl: &Paper, x: f32, y: f32, noise: f32) -> f32 {
    let (w, h) = (pl.size.width as f32, pl.size.height as f32);
    let m = w.min(h);
    (x.min(w - x).min(y).min(h - y)) / m + 0.05 * (noise - 0.5)
}

/// The smooth fields at a point: mottling, stain, fibres, edge burn (each about 0..1).
fn layers(pl: &Paper, x: f32, y: f32, s: u64) -> [f32; N] {
    let (u, v) = (x / pl.cell, y / pl.cell);
    let mottle = MOTTLE.sample(u, v, s, value, false);
    let stain = STAIN.sample(u * 0.7 + 13.1, v * 0.7 - 7.3, s ^ 0x51, value, false);
    let fibre = fibre(x, y, fibre_direction(s), s);
    let edge = edge(pl, x, y, value(u * 6.0, v * 6.0, s ^ 0xE0));
    [mottle, stain, fibre, edge]
}

/// Fills `out` with [`layers`] and [`shade`] at every pixel centre, a row at a time: the
/// axis-aligned noise with the row functions of `fxkit::noise` (the same bits).
fn render_rows<P: Pixel>(pl: &Paper, p: &ParchmentParams, out: &mut Band<'_, P>) {
    let s = out.seed();
    let w = out.width() as usize;
    let dir = fibre_direction(s);
    let us: Vec<f32> = (0..w).map(|x| (x as f32 + 0.5) / pl.cell).collect();
    let stain_us: Vec<f32> = us.iter().map(|&u| u * 0.7 + 13.1).collect();
    let xs: Vec<f32> = (0..w).map(|x| x as f32 + 0.5).collect();
    let [mut mottle, mut stain, mut rough, mut fib, mut edges, mut grains] = [(); 6].map(|_| vec![0.0f32; w]);
    let mut fibre_at = [(); 4].map(|_| vec![0.0f32; w]);
    let mut rgba = vec![RgbaF32::default(); w];
    let (sa, ca) = dir;
    let level = fxkit::kernels::level();
    let (mut mottle_k, mut stain_k, mut rough_k) =
        (FbmScratch::default(), FbmScratch::default(), RowScratch::default());
    for (y, row) in out.rows_mut() {
        let fy = y as f32 + 0.5;
        let v = fy / pl.cell;
        MOTTLE.sample_row_with(&mut mottle_k, level, &us, v, s, Lattice::Value, false, &mut mottle);
        let sv = v * 0.7 - 7.3;
        STAIN.sample_row_with(&mut stain_k, level, &stain_us, sv, s ^ 0x51, Lattice::Value, false, &mut stain);
        Lattice::Value.row_with(&mut rough_k, level, &us, 6.0, v * 6.0, s ^ 0xE0, &mut rough);
        // The fibres' lattice coordinates (as in `fibre`), then their noise keeping each
        // layer's last cell.
        let [a, b, c, d] = &mut fibre_at;
        for (i, &x) in xs.iter().enumerate() {
            let (fu, fv) = (x * ca + fy * sa, -x * sa + fy * ca);
            (a[i], b[i], c[i], d[i]) = (fu / 40.0, fv / 1.8, fu / 25.0, fv / 1.2);
        }
        let mut layers = [ValueCached::new(s ^ 0xF1), ValueCached::new(s ^ 0xF2)];
        for (i, f) in fib.iter_mut().enumerate() {
            *f = layers[0].at(a[i], b[i]) * 0.6 + layers[1].at(c[i], d[i]) * 0.4;
        }
        for (i, (e, g)) in edges.iter_mut().zip(grains.iter_mut()).enumerate() {
            *e = edge(pl, xs[i], fy, rough[i]);
            *g = grain(i as u32, y, s);
        }
        for (i, c) in rgba.iter_mut().enumerate() {
            *c = shade_grain(p, [mottle[i], stain[i], fib[i], edges[i]], grains[i]);
        }
        for (px, &c) in row.iter_mut().zip(&rgba) {
            *px = P::from_f32(c);
        }
    }
}

#[inline(always)]
fn smooth(a: f32, b: f32, x: f32) -> f32 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Colour of a pixel from its smooth fields and its grain.
fn shade(p: &ParchmentParams, l: [f32; N], x: u32, y: u32, seed: u64) -> RgbaF32 {
    shade_grain(p, l, grain(x, y, seed))
}

/// The grain's random number at pixel `(x, y)`.
#[inline]
fn grain(x: u32, y: u32, seed: u64) -> f32 {
    rand2(x as i64, y as i64, seed ^ 0x6A)
}

/// [`shade`] given the grain's random number `g`.
#[inline(always)]
fn shade_grain(p: &ParchmentParams, l: [f32; N], g: f32) -> RgbaF32 {
    let [mottle, stain, fibre, edge] = l;
    // Brightness from mottling, fibres and grain.
    let grain = (g - 0.5) * 0.08 * p.grain;
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

/// Parchment with its smooth fields on a grid of `STEP` pixels: 1 for the reference.
#[derive(Default)]
pub struct ParchmentGrid<const STEP: u32>(Paper);

/// Parchment, the reference.
pub type Parchment = ParchmentGrid<1>;
/// Fast parchment: smooth fields on a 4-pixel grid, interpolated; grain per pixel.
pub type ParchmentFast = ParchmentGrid<4>;

const AGED: &str = r##"{"age": 0.9, "scale": 0.5, "vignette": 1.0, "stain": "#503010"}"##;

const REFERENCE_META: Meta = Meta::new("generate.parchment")
    .summary("Aged paper: mottling, fibres, stains, grain, tint and burnt edges.")
    .tests(&[
        Test::new("defaults").size(96, 64).hash("0eba43a6648c20aa"),
        Test::new("aged").size(128, 96).params(AGED).hash("25fdcd2f26c38699"),
    ]);

const FAST_META: Meta = Meta::new("generate.parchment.fast")
    .summary("Parchment with its smooth layers computed on a 4-pixel grid.")
    .variant_of("generate.parchment", Tier::FAST)
    .tests(&[
        Test::new("defaults").size(96, 64).psnr("generate.parchment", 36.0),
        Test::new("aged").size(128, 96).params(AGED).psnr("generate.parchment", 38.0),
    ]);

impl<const STEP: u32> Generator for ParchmentGrid<STEP> {
    const META: Meta = if STEP == 1 { REFERENCE_META } else { FAST_META };
    type Params = ParchmentParams;
    fn setup(&mut self, p: &ParchmentParams, size: Size, _: u64) -> Result<(), PluginError> {
        self.0 = Paper::new(p, size);
        Ok(())
    }
    fn render<P: Pixel>(&self, p: &ParchmentParams, out: &mut Band<'_, P>) {
        if STEP == 1 {
            return render_rows(&self.0, p, out);
        }
        fill_smooth(out, STEP, |x, y, seed| layers(&self.0, x, y, seed), |l, x, y, seed| shade(p, l, x, y, seed));
    }
}
