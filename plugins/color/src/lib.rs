//! Colour adjustments. All are point effects: rendered in place and fusable. Values are
//! sRGB-encoded channels in 0..1; 8-bit frames use a 256-entry table per band where the effect
//! maps each channel independently, so the result is exactly the formula rounded.

use fxchain_plugin_api::prelude::*;
use fxkit::fixed::{bytes4, pixels4};

/// Applies `f` to R, G and B of every pixel of the band (a lookup table for 8-bit frames).
fn map_channels<P: Pixel>(band: &mut Band<'_, P>, f: impl Fn(f32) -> f32) {
    let lut: [u8; 256] = std::array::from_fn(|i| f32_to_u8(f(i as f32 / 255.0)));
    // Tables that are the identity or an inversion need no lookups (the check keeps the result
    // exactly that of the table).
    let identity = lut.iter().enumerate().all(|(i, &v)| v as usize == i);
    let inversion = lut.iter().enumerate().all(|(i, &v)| v as usize == 255 - i);
    for (_, row) in band.rows_mut() {
        if let Some(row8) = P::as_rgba8_mut(row) {
            if identity {
                continue;
            }
            if inversion {
                map_words4(row8, |v| v ^ 0x00ff_ffff);
                continue;
            }
            for p in row8 {
                p.r = lut[p.r as usize];
                p.g = lut[p.g as usize];
                p.b = lut[p.b as usize];
            }
        } else {
            for p in row {
                *p = P::from_f32(p.to_f32().map_rgb(&f));
            }
        }
    }
}

/// Applies `f` to each 8-bit pixel as a little-endian word (`r | g << 8 | b << 16 | a << 24`).
/// Reading each pixel as one word lets the compiler process four pixels per register, with the
/// channels of four pixels in the lanes of one vector (shifts and masks pick them out).
#[inline(always)]
fn map_words(row: &mut [Rgba8], f: impl Fn(u32) -> u32) {
    for p in row {
        let b = f(u32::from_le_bytes([p.r, p.g, p.b, p.a])).to_le_bytes();
        *p = Rgba8::new(b[0], b[1], b[2], b[3]);
    }
}

/// [`map_words`] for cheap `f` (bit operations): blocks of four pixels go through byte arrays,
/// which the compiler loads and stores whole instead of byte by byte.
#[inline(always)]
fn map_words4(row: &mut [Rgba8], f: impl Fn(u32) -> u32) {
    let mut blocks = row.chunks_exact_mut(4);
    for block in &mut blocks {
        let b = bytes4((&*block).try_into().expect("four pixels"));
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(b.chunks_exact(4)) {
            o.copy_from_slice(&f(u32::from_le_bytes([w[0], w[1], w[2], w[3]])).to_le_bytes());
        }
        block.copy_from_slice(&pixels4(&out));
    }
    map_words(blocks.into_remainder(), f);
}

/// Channel `shift / 8` of a pixel word as a float in 0..1, exactly as [`Pixel::to_f32`] gives it.
#[inline(always)]
fn channel(v: u32, shift: u32) -> f32 {
    u8_to_f32((v >> shift) as u8)
}

/// [`f32_to_u8`] in a form that vectorizes (the `as u8` cast in it does not), same results.
#[inline(always)]
fn to_u8(v: f32) -> u32 {
    const M: f32 = 8_388_608.0; // 2^23, see `fxkit::fixed::round_u8`
    let y = v.clamp(0.0, 1.0) * 255.0 + 0.5;
    let r = (y + M) - M;
    let r = if r > y { r - 1.0 } else { r };
    (r + M).to_bits() & 0xff
}

/// Applies `f` to each pixel (as floats). `f` keeps alpha (every effect here does), so 8-bit
/// frames keep their alpha bytes as they are.
fn map_pixels<P: Pixel>(row: &mut [P], f: impl Fn(RgbaF32) -> RgbaF32) {
    if let Some(row8) = P::as_rgba8_mut(row) {
        // The same float operations as below, four pixels at a time.
        map_words(row8, |v| {
            let o = f(RgbaF32::new(channel(v, 0), channel(v, 8), channel(v, 16), channel(v, 24)));
            to_u8(o.r) | to_u8(o.g) << 8 | to_u8(o.b) << 16 | (v & 0xff00_0000)
        });
        return;
    }
    for p in row {
        *p = P::from_f32(f(p.to_f32()));
    }
}

/// Rec. 709 luma of sRGB-encoded values (the convention of Pillow's `L` with 709 weights).
#[inline]
fn luma(p: RgbaF32) -> f32 {
    0.2126 * p.r + 0.7152 * p.g + 0.0722 * p.b
}

macro_rules! channel_filter {
    ($(#[$doc:meta])* $name:ident, $id:literal, $summary:literal, $params:ty, |$p:ident, $c:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Default)]
        pub struct $name;
        impl PointFilter for $name {
            const ID: &'static str = $id;
            const SUMMARY: &'static str = $summary;
            type Params = $params;
            fn process_band<P: Pixel>(&self, $p: &$params, band: &mut Band<'_, P>) {
                map_channels(band, |$c| $body);
            }
        }
    };
}

/// Parameters of `color.brightness`.
#[derive(Params)]
pub struct BrightnessParams {
    /// Multiplier for R, G and B; 1.0 leaves the image unchanged.
    #[param(id = "amount", default = 1.0, range = 0.0..=10.0)]
    pub amount: f32,
}
channel_filter!(
    /// Scales R, G and B (as Pillow's `ImageEnhance.Brightness`).
    Brightness, "color.brightness", "Multiplies R, G and B by a factor.", BrightnessParams, |p, c| c * p.amount);

/// Parameters of `color.contrast`.
#[derive(Params)]
pub struct ContrastParams {
    /// Contrast factor; 1.0 leaves the image unchanged, 0 gives flat grey at the pivot.
    #[param(id = "amount", default = 1.0, range = 0.0..=10.0)]
    pub amount: f32,
    /// Value that stays fixed (0.5 is mid grey; 128/255 ≈ 0.502 matches "around 128").
    #[param(id = "pivot", default = 0.5, range = 0.0..=1.0)]
    pub pivot: f32,
}
channel_filter!(
    /// Stretches values away from a pivot.
    Contrast, "color.contrast", "Scales values around a pivot.", ContrastParams, |p, c| (c - p.pivot) * p.amount + p.pivot);

/// Parameters of `color.gamma`.
#[derive(Params)]
pub struct GammaParams {
    /// Exponent applied as c^(1/gamma): above 1 brightens midtones.
    #[param(id = "gamma", default = 1.0, range = 0.01..=10.0)]
    pub gamma: f32,
}
channel_filter!(
    /// Gamma correction.
    Gamma, "color.gamma", "Gamma correction: c^(1/gamma).", GammaParams, |p, c| c.max(0.0).powf(1.0 / p.gamma));

/// Parameters of `color.levels`.
#[derive(Params)]
pub struct LevelsParams {
    /// Input value mapped to black.
    #[param(id = "in_black", default = 0.0, range = 0.0..=1.0)]
    pub in_black: f32,
    /// Input value mapped to white.
    #[param(id = "in_white", default = 1.0, range = 0.0..=1.0)]
    pub in_white: f32,
    /// Midtone gamma after the input range is normalized.
    #[param(id = "gamma", default = 1.0, range = 0.01..=10.0)]
    pub gamma: f32,
    /// Output value for black.
    #[param(id = "out_black", default = 0.0, range = 0.0..=1.0)]
    pub out_black: f32,
    /// Output value for white.
    #[param(id = "out_white", default = 1.0, range = 0.0..=1.0)]
    pub out_white: f32,
}
channel_filter!(
/// Levels as in photo editors.
Levels, "color.levels", "Input range, midtone gamma and output range.", LevelsParams, |p, c| {
    let span = (p.in_white - p.in_black).max(1e-6);
    let t = ((c - p.in_black) / span).clamp(0.0, 1.0).powf(1.0 / p.gamma);
    p.out_black + t * (p.out_white - p.out_black)
});

channel_filter!(
    /// Inverts R, G and B.
    Invert, "color.invert", "1 − value for R, G and B.", (), |_p, c| 1.0 - c);

/// Parameters of `color.threshold`.
#[derive(Params)]
pub struct ThresholdParams {
    /// Luma at or above this becomes white, below it black.
    #[param(id = "level", default = 0.5, range = 0.0..=1.0)]
    pub level: f32,
}

/// Black and white by a luma threshold.
#[derive(Default)]
pub struct Threshold;
impl PointFilter for Threshold {
    const ID: &'static str = "color.threshold";
    const SUMMARY: &'static str = "White where Rec. 709 luma ≥ level, black elsewhere.";
    type Params = ThresholdParams;
    fn process_row<P: Pixel>(&self, p: &ThresholdParams, row: &mut [P]) {
        map_pixels(row, |px| {
            let v = if luma(px) >= p.level { 1.0 } else { 0.0 };
            RgbaF32::new(v, v, v, px.a)
        });
    }
}

/// Parameters of `color.posterize`.
#[derive(Params)]
pub struct PosterizeParams {
    /// Number of levels per channel.
    #[param(id = "levels", default = 4, range = 2..=256)]
    pub levels: u32,
}
channel_filter!(
/// Reduces each channel to a few levels.
Posterize, "color.posterize", "Quantizes each channel to N evenly spaced levels.", PosterizeParams, |p, c| {
    let n = (p.levels - 1) as f32;
    (c.clamp(0.0, 1.0) * n).round() / n
});

/// Parameters of `color.saturation`.
#[derive(Params)]
pub struct SaturationParams {
    /// 0 is grey, 1 unchanged, above 1 more saturated.
    #[param(id = "amount", default = 1.0, range = 0.0..=10.0)]
    pub amount: f32,
}

/// Saturation around Rec. 709 luma (as Pillow's `ImageEnhance.Color`).
#[derive(Default)]
pub struct Saturation;
impl PointFilter for Saturation {
    const ID: &'static str = "color.saturation";
    const SUMMARY: &'static str = "Mixes each pixel with its luma grey.";
    type Params = SaturationParams;
    fn process_row<P: Pixel>(&self, p: &SaturationParams, row: &mut [P]) {
        map_pixels(row, |px| {
            let l = luma(px);
            px.map_rgb(|c| l + (c - l) * p.amount)
        });
    }
}

/// Grayscale by Rec. 709 luma.
#[derive(Default)]
pub struct Grayscale;
impl PointFilter for Grayscale {
    const ID: &'static str = "color.grayscale";
    const SUMMARY: &'static str = "Rec. 709 luma (0.2126 R + 0.7152 G + 0.0722 B) in all channels.";
    type Params = ();
    fn process_row<P: Pixel>(&self, _: &(), row: &mut [P]) {
        map_pixels(row, |px| {
            let l = luma(px);
            RgbaF32::new(l, l, l, px.a)
        });
    }
}

/// Parameters of `color.sepia`.
#[derive(Params)]
pub struct SepiaParams {
    /// Mix between the original (0) and full sepia (1).
    #[param(id = "amount", default = 1.0, range = 0.0..=1.0)]
    pub amount: f32,
}

/// Sepia tone with the classic matrix.
#[derive(Default)]
pub struct Sepia;
impl PointFilter for Sepia {
    const ID: &'static str = "color.sepia";
    const SUMMARY: &'static str = "Sepia tone (the common 3×3 matrix), mixed by amount.";
    type Params = SepiaParams;
    fn process_row<P: Pixel>(&self, p: &SepiaParams, row: &mut [P]) {
        map_pixels(row, |c| {
            let r = 0.393 * c.r + 0.769 * c.g + 0.189 * c.b;
            let g = 0.349 * c.r + 0.686 * c.g + 0.168 * c.b;
            let b = 0.272 * c.r + 0.534 * c.g + 0.131 * c.b;
            let k = p.amount;
            RgbaF32::new(c.r + (r - c.r) * k, c.g + (g - c.g) * k, c.b + (b - c.b) * k, c.a)
        });
    }
}

/// Parameters of `color.hue`.
#[derive(Params)]
pub struct HueParams {
    /// Rotation of the hue in degrees.
    #[param(id = "degrees", default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub degrees: f32,
}

/// Hue rotation that keeps luma (a rotation about the grey axis in YIQ-like space).
#[derive(Default)]
pub struct Hue;
impl PointFilter for Hue {
    const ID: &'static str = "color.hue";
    const SUMMARY: &'static str = "Rotates hue about the grey axis, keeping Rec. 709 luma.";
    type Params = HueParams;
    fn process_row<P: Pixel>(&self, p: &HueParams, row: &mut [P]) {
        // The luminance-preserving hue rotation matrix (as in the SVG/CSS hue-rotate filter).
        let (s, c) = p.degrees.to_radians().sin_cos();
        let m = [
            [0.2126 + 0.7874 * c - 0.2126 * s, 0.7152 - 0.7152 * c - 0.7152 * s, 0.0722 - 0.0722 * c + 0.9278 * s],
            [0.2126 - 0.2126 * c + 0.143 * s, 0.7152 + 0.2848 * c + 0.140 * s, 0.0722 - 0.0722 * c - 0.283 * s],
            [0.2126 - 0.2126 * c - 0.7874 * s, 0.7152 - 0.7152 * c + 0.7152 * s, 0.0722 + 0.9278 * c + 0.0722 * s],
        ];
        map_pixels(row, |px| {
            let v = [px.r, px.g, px.b];
            let f = |r: [f32; 3]| r[0] * v[0] + r[1] * v[1] + r[2] * v[2];
            RgbaF32::new(f(m[0]), f(m[1]), f(m[2]), px.a)
        });
    }
}

/// Parameters of `color.tint`.
#[derive(Params)]
pub struct TintParams {
    /// Colour to tint towards.
    #[param(id = "color", default = "#ff9933")]
    pub color: Color,
    /// Strength: 0 unchanged, 1 the colour multiplied by luma.
    #[param(id = "amount", default = 0.5, range = 0.0..=1.0)]
    pub amount: f32,
}

/// Tints the image: mixes each pixel with (luma × colour).
#[derive(Default)]
pub struct Tint;
impl PointFilter for Tint {
    const ID: &'static str = "color.tint";
    const SUMMARY: &'static str = "Mixes each pixel with its luma times a colour.";
    type Params = TintParams;
    fn process_row<P: Pixel>(&self, p: &TintParams, row: &mut [P]) {
        let k = p.amount;
        map_pixels(row, |px| {
            let l = luma(px);
            RgbaF32::new(
                px.r + (l * p.color.r - px.r) * k,
                px.g + (l * p.color.g - px.g) * k,
                px.b + (l * p.color.b - px.b) * k,
                px.a,
            )
        });
    }
}

/// Parameters of `color.balance`.
#[derive(Params)]
pub struct BalanceParams {
    /// Added to red (−1..1).
    #[param(id = "red", default = 0.0, range = -1.0..=1.0)]
    pub red: f32,
    /// Added to green.
    #[param(id = "green", default = 0.0, range = -1.0..=1.0)]
    pub green: f32,
    /// Added to blue.
    #[param(id = "blue", default = 0.0, range = -1.0..=1.0)]
    pub blue: f32,
    /// Weights the shift towards midtones (1) or applies it evenly (0).
    #[param(id = "midtones", default = 1.0, range = 0.0..=1.0)]
    pub midtones: f32,
}

/// Colour balance: shifts each channel, weighted towards midtones.
#[derive(Default)]
pub struct Balance;
impl PointFilter for Balance {
    const ID: &'static str = "color.balance";
    const SUMMARY: &'static str = "Shifts R, G and B, weighted towards midtones.";
    type Params = BalanceParams;
    fn process_row<P: Pixel>(&self, p: &BalanceParams, row: &mut [P]) {
        map_pixels(row, |px| {
            let w = |c: f32| 1.0 - p.midtones + p.midtones * 4.0 * c.clamp(0.0, 1.0) * (1.0 - c.clamp(0.0, 1.0));
            RgbaF32::new(px.r + p.red * w(px.r), px.g + p.green * w(px.g), px.b + p.blue * w(px.b), px.a)
        });
    }
}

/// Parameters of `color.vignette`.
#[derive(Params)]
pub struct VignetteParams {
    /// Darkening at the corners: 0 none, 1 black.
    #[param(id = "strength", default = 0.5, range = 0.0..=1.0)]
    pub strength: f32,
    /// Distance from the centre (1 = corner) where darkening starts.
    #[param(id = "radius", default = 0.5, range = 0.0..=1.5)]
    pub radius: f32,
    /// Width of the transition, as a fraction of the half-diagonal.
    #[param(id = "softness", default = 0.5, range = 0.01..=2.0)]
    pub softness: f32,
    /// Colour the edges fade to.
    #[param(id = "color", default = "#000000")]
    pub color: Color,
}

/// Vignette: darkens towards the corners (depends on position, still a point effect).
#[derive(Default)]
pub struct Vignette;
impl PointFilter for Vignette {
    const ID: &'static str = "color.vignette";
    const SUMMARY: &'static str = "Fades towards a colour with distance from the centre.";
    type Params = VignetteParams;
    fn process_band<P: Pixel>(&self, p: &VignetteParams, band: &mut Band<'_, P>) {
        let (w, h) = (band.width() as f32, band.height() as f32);
        let (cx, cy) = (w / 2.0, h / 2.0);
        let inv_diag = 1.0 / (cx * cx + cy * cy).sqrt().max(1e-6);
        for (y, row) in band.rows_mut() {
            let dy = y as f32 + 0.5 - cy;
            for (x, px) in row.iter_mut().enumerate() {
                let dx = x as f32 + 0.5 - cx;
                let d = (dx * dx + dy * dy).sqrt() * inv_diag;
                let t = ((d - p.radius) / p.softness).clamp(0.0, 1.0);
                let t = t * t * (3.0 - 2.0 * t) * p.strength;
                let c = px.to_f32();
                *px = P::from_f32(RgbaF32::new(
                    c.r + (p.color.r - c.r) * t,
                    c.g + (p.color.g - c.g) * t,
                    c.b + (p.color.b - c.b) * t,
                    c.a,
                ));
            }
        }
    }
}

export_plugin!(
    Brightness, Contrast, Saturation, Hue, Gamma, Levels, Invert, Grayscale, Sepia, Threshold, Posterize, Tint,
    Balance, Vignette
);
