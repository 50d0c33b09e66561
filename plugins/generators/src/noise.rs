//! Value and Perlin noise with fBm octaves.

use fxchain_plugin_api::prelude::*;
use fxkit::fill::fill_smooth;
use fxkit::noise::{perlin, Fbm, FbmScratch, Lattice};

use crate::mix;

/// Parameters shared by the noise generators.
#[derive(Params, Clone)]
pub struct NoiseParams {
    /// Size of the largest features (the first octave's lattice cell), in pixels.
    #[param(default = 64.0, range = 1.0..=100000.0, unit = "px")]
    pub scale: f32,
    /// Number of fBm layers, each `lacunarity` times finer.
    #[param(default = 4, range = 1..=12)]
    pub octaves: u32,
    /// Amplitude ratio between successive octaves.
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub gain: f32,
    /// Frequency ratio between successive octaves.
    #[param(default = 2.0, range = 1.0..=4.0)]
    pub lacunarity: f32,
    /// Colour for 0.
    #[param(default = "#000000")]
    pub low: Color,
    /// Colour for 1.
    #[param(default = "#ffffff")]
    pub high: Color,
    /// Independent noise per RGB channel instead of a `low`→`high` ramp.
    #[param(default = false)]
    pub rgb: bool,
}

type Base = fn(f32, f32, u64) -> f32;

fn sample(p: &NoiseParams, seed: u64, base: Base, signed: bool, x: f32, y: f32) -> RgbaF32 {
    let (u, v) = (x / p.scale, y / p.scale);
    let f = Fbm { octaves: p.octaves, gain: p.gain, lacunarity: p.lacunarity };
    let n = |s: u64| f.sample(u, v, s, base, signed).clamp(0.0, 1.0);
    if p.rgb {
        let [r, g, b] = channel_seeds(seed).map(n);
        RgbaF32::new(r, g, b, 1.0)
    } else {
        mix(p.low, p.high, n(seed))
    }
}

/// The seeds of the red, green and blue channels of the `rgb` option.
fn channel_seeds(seed: u64) -> [u64; 3] {
    [seed, seed ^ 0xA5A5_5A5A, seed ^ 0x5A5A_A5A5]
}

/// Fills `out` with [`sample`] at every pixel centre, a row at a time with the row functions of
/// `fxkit::noise` (the same bits, far fewer hashes).
fn render_rows<P: Pixel>(p: &NoiseParams, base: Lattice, signed: bool, out: &mut Band<'_, P>) {
    let seed = out.seed();
    let w = out.width() as usize;
    let f = Fbm { octaves: p.octaves, gain: p.gain, lacunarity: p.lacunarity };
    let us: Vec<f32> = (0..w).map(|x| (x as f32 + 0.5) / p.scale).collect();
    let mut ch = [vec![0.0f32; w], vec![0.0f32; w], vec![0.0f32; w]];
    let mut scratch = [(); 3].map(|_| FbmScratch::default());
    let level = fxkit::kernels::level();
    let (lo, hi) = (p.low, p.high);
    let (low, d) = ([lo.r, lo.g, lo.b, lo.a], [hi.r - lo.r, hi.g - lo.g, hi.b - lo.b, hi.a - lo.a]);
    for (y, row) in out.rows_mut() {
        let v = (y as f32 + 0.5) / p.scale;
        if p.rgb {
            for ((c, s), k) in ch.iter_mut().zip(channel_seeds(seed)).zip(&mut scratch) {
                f.sample_row_with(k, level, &us, v, s, base, signed, c);
            }
            let [r, g, b] = &ch;
            for (i, px) in row.iter_mut().enumerate() {
                *px = P::from_f32(RgbaF32::new(r[i].clamp(0.0, 1.0), g[i].clamp(0.0, 1.0), b[i].clamp(0.0, 1.0), 1.0));
            }
        } else {
            f.sample_row_with(&mut scratch[0], level, &us, v, seed, base, signed, &mut ch[0]);
            match P::as_rgba8_mut(row) {
                // The same mix and rounding as below, a row at a time.
                Some(row) => fxkit::kernels::noise::ramp_rgba8(level, &low, &d, &ch[0], row),
                None => {
                    for (px, &n) in row.iter_mut().zip(&ch[0]) {
                        *px = P::from_f32(mix(p.low, p.high, n.clamp(0.0, 1.0)));
                    }
                }
            }
        }
    }
}

/// Value noise with fBm.
#[derive(Default)]
pub struct ValueNoise;
impl Generator for ValueNoise {
    const META: Meta = Meta::new("noise.value")
        .summary("Value noise (smoothly interpolated lattice values) with fBm octaves.")
        .tests(&[
            Test::new("default, float").f32().hash("5b805e84a5265134"),
            Test::new("rgb, 3 octaves")
                .params(r#"{"scale": 12.0, "octaves": 3, "rgb": true}"#)
                .hash("3042375eec6c83a9"),
        ]);
    type Params = NoiseParams;
    fn render<P: Pixel>(&self, p: &NoiseParams, out: &mut Band<'_, P>) {
        render_rows(p, Lattice::Value, false, out);
    }
}

/// Perlin gradient noise with fBm: the reference (`FAST` false) evaluates every pixel; the fast
/// variant evaluates the same field on a coarser grid (half the finest octave's wavelength, at
/// most 4 px) and interpolates it bilinearly. One implementation, differing only in `setup`.
#[derive(Default)]
pub struct Perlin<const FAST: bool> {
    /// Grid step in pixels (1: every pixel).
    step: u32,
}

/// Perlin gradient noise with fBm, the reference.
pub type PerlinNoise = Perlin<false>;
/// Fast Perlin noise, on a coarse grid.
pub type PerlinNoiseFast = Perlin<true>;

const COARSE: &str = r#"{"scale": 20.0, "octaves": 3, "gain": 0.7}"#;

const PERLIN_META: Meta = Meta::new("noise.perlin").summary("Perlin gradient noise with fBm octaves.").tests(&[
    Test::new("default, float").f32().hash("f2e8e3fb290efab7"),
    Test::new("coarse, high gain").params(COARSE).hash("e64d0f701ce69718"),
]);

const PERLIN_FAST_META: Meta = Meta::new("noise.perlin.fast")
    .summary("Perlin fBm sampled on a coarse grid and interpolated.")
    .variant_of("noise.perlin", Tier::FAST)
    .tests(&[
        Test::new("defaults, 4 px grid").size(128, 96).psnr("noise.perlin", 45.0),
        Test::new("coarse, high gain").params(COARSE).psnr("noise.perlin", 40.0),
    ]);

impl<const FAST: bool> Generator for Perlin<FAST> {
    const META: Meta = if FAST { PERLIN_FAST_META } else { PERLIN_META };
    type Params = NoiseParams;
    fn setup(&mut self, p: &NoiseParams, _: Size, _: u64) -> Result<(), PluginError> {
        let finest = p.scale / p.lacunarity.powi(p.octaves as i32 - 1);
        self.step = if FAST { ((finest / 2.0).floor() as u32).clamp(1, 4) } else { 1 };
        Ok(())
    }
    fn render<P: Pixel>(&self, p: &NoiseParams, out: &mut Band<'_, P>) {
        if self.step == 1 {
            return render_rows(p, Lattice::Perlin, true, out);
        }
        fill_smooth(
            out,
            self.step,
            |x, y, seed| sample(p, seed, perlin, true, x, y).to_array(),
            |v, _, _, _| RgbaF32::from_array(v),
        );
    }
}
