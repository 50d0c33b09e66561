//! Value and Perlin noise with fBm octaves.

use fxchain_plugin_api::prelude::*;
use fxkit::noise::{perlin, value, Fbm};

use crate::{fill, mix};

/// Parameters shared by the noise generators.
#[derive(Params, Clone)]
pub struct NoiseParams {
    /// Size of the largest features (the first octave's lattice cell), in pixels.
    #[param(id = "scale", default = 64.0, range = 1.0..=100000.0, unit = "px")]
    pub scale: f32,
    /// Number of fBm layers, each `lacunarity` times finer.
    #[param(id = "octaves", default = 4, range = 1..=12)]
    pub octaves: u32,
    /// Amplitude ratio between successive octaves.
    #[param(id = "gain", default = 0.5, range = 0.0..=1.0)]
    pub gain: f32,
    /// Frequency ratio between successive octaves.
    #[param(id = "lacunarity", default = 2.0, range = 1.0..=4.0)]
    pub lacunarity: f32,
    /// Colour for 0.
    #[param(id = "low", default = "#000000")]
    pub low: Color,
    /// Colour for 1.
    #[param(id = "high", default = "#ffffff")]
    pub high: Color,
    /// Independent noise per RGB channel instead of a `low`→`high` ramp.
    #[param(id = "rgb", default = false)]
    pub rgb: bool,
}

type Base = fn(f32, f32, u64) -> f32;

fn sample(p: &NoiseParams, seed: u64, base: Base, signed: bool, x: f32, y: f32) -> RgbaF32 {
    let (u, v) = (x / p.scale, y / p.scale);
    let f = Fbm { octaves: p.octaves, gain: p.gain, lacunarity: p.lacunarity };
    let n = |s: u64| f.sample(u, v, s, base, signed).clamp(0.0, 1.0);
    if p.rgb {
        RgbaF32::new(n(seed), n(seed ^ 0xA5A5_5A5A), n(seed ^ 0x5A5A_A5A5), 1.0)
    } else {
        mix(p.low, p.high, n(seed))
    }
}

/// Noise plan: parameters and seed.
pub struct NoisePlan {
    p: NoiseParams,
    seed: u64,
}

/// Value noise with fBm.
#[derive(Default)]
pub struct ValueNoise;
impl Generator for ValueNoise {
    const ID: &'static str = "noise.value";
    const SUMMARY: &'static str = "Value noise (smoothly interpolated lattice values) with fBm octaves.";
    type Params = NoiseParams;
    type Plan = NoisePlan;
    fn plan(&self, p: NoiseParams, _: Size, seed: u64) -> Result<NoisePlan, PluginError> {
        Ok(NoisePlan { p, seed })
    }
    fn render<P: Pixel>(&self, pl: &NoisePlan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        fill(out, |x, y| sample(&pl.p, pl.seed, value, false, x as f32 + 0.5, y as f32 + 0.5));
        Ok(())
    }
}

/// Perlin gradient noise with fBm, the reference.
#[derive(Default)]
pub struct PerlinNoise;
impl Generator for PerlinNoise {
    const ID: &'static str = "noise.perlin";
    const SUMMARY: &'static str = "Perlin gradient noise with fBm octaves.";
    type Params = NoiseParams;
    type Plan = NoisePlan;
    fn plan(&self, p: NoiseParams, _: Size, seed: u64) -> Result<NoisePlan, PluginError> {
        Ok(NoisePlan { p, seed })
    }
    fn render<P: Pixel>(&self, pl: &NoisePlan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        fill(out, |x, y| sample(&pl.p, pl.seed, perlin, true, x as f32 + 0.5, y as f32 + 0.5));
        Ok(())
    }
}

/// Fast Perlin noise: the same field evaluated on a coarser grid (half the finest octave's
/// wavelength, at most 4 px) and interpolated bilinearly.
#[derive(Default)]
pub struct PerlinNoiseFast;
impl Generator for PerlinNoiseFast {
    const ID: &'static str = "noise.perlin.fast";
    const SUMMARY: &'static str = "Perlin fBm sampled on a coarse grid and interpolated.";
    const VARIANT_OF: &'static str = "noise.perlin";
    const TIER: Tier = Tier::FAST;
    type Params = NoiseParams;
    type Plan = (NoisePlan, u32);
    fn plan(&self, p: NoiseParams, _: Size, seed: u64) -> Result<Self::Plan, PluginError> {
        let finest = p.scale / p.lacunarity.powi(p.octaves as i32 - 1);
        let step = ((finest / 2.0).floor() as u32).clamp(1, 4);
        Ok((NoisePlan { p, seed }, step))
    }
    fn render<P: Pixel>(&self, (pl, step): &Self::Plan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let s = *step;
        if s == 1 {
            fill(out, |x, y| sample(&pl.p, pl.seed, perlin, true, x as f32 + 0.5, y as f32 + 0.5));
            return Ok(());
        }
        let rows = out.rows();
        let w = out.width();
        // Grid nodes at pixel centres of multiples of `s`, covering this band.
        let (gx0, gx1) = (0, w.div_ceil(s) + 1);
        let (gy0, gy1) = (rows.start / s, rows.end.div_ceil(s) + 1);
        let gw = (gx1 - gx0) as usize;
        let grid: Vec<RgbaF32> = (gy0..gy1)
            .flat_map(|gy| (gx0..gx1).map(move |gx| (gx, gy)))
            .map(|(gx, gy)| sample(&pl.p, pl.seed, perlin, true, (gx * s) as f32 + 0.5, (gy * s) as f32 + 0.5))
            .collect();
        let inv = 1.0 / s as f32;
        for (y, row) in out.rows_mut() {
            let (gy, ty) = ((y / s - gy0) as usize, (y % s) as f32 * inv);
            for (x, px) in row.iter_mut().enumerate() {
                let (gx, tx) = (x / s as usize, (x as u32 % s) as f32 * inv);
                let a = grid[gy * gw + gx].to_array();
                let b = grid[gy * gw + gx + 1].to_array();
                let c = grid[(gy + 1) * gw + gx].to_array();
                let d = grid[(gy + 1) * gw + gx + 1].to_array();
                let v: [f32; 4] = std::array::from_fn(|i| {
                    let top = a[i] + (b[i] - a[i]) * tx;
                    let bot = c[i] + (d[i] - c[i]) * tx;
                    top + (bot - top) * ty
                });
                *px = P::from_f32(RgbaF32::from_array(v));
            }
        }
        Ok(())
    }
}
