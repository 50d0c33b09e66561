//! Colour adjustments. All are point effects: rendered in place and fusable. Values are
//! sRGB-encoded channels in 0..1. Effects that map each channel through one function are
//! [`Curve`]s (on 8-bit frames a 256-entry table, so the result is exactly the formula rounded),
//! affine colour transforms are [`ColorMatrix`]es; the host composes runs of both into one pass.

use fxchain_plugin_api::point::{self, Table};
use fxchain_plugin_api::prelude::*;
use fxkit::luma::{luma_for_compare, WEIGHTS};

/// Implements [`Curve`] for a unit struct: the metadata block, the parameters and `|p, c| value`.
macro_rules! curve {
    ($(#[$doc:meta])* $name:ident, $meta:expr, $params:ty, |$p:ident, $c:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Default)]
        pub struct $name;
        impl Curve for $name {
            const META: Meta = $meta;
            type Params = $params;
            fn apply(&self, $p: &$params, $c: f32) -> f32 {
                $body
            }
        }
    };
}

/// Parameters of `color.brightness`.
#[derive(Params)]
pub struct BrightnessParams {
    /// Multiplier for R, G and B; 1.0 leaves the image unchanged.
    #[param(default = 1.0, range = 0.0..=10.0)]
    pub amount: f32,
}
curve!(
    /// Scales R, G and B (as Pillow's `ImageEnhance.Brightness`).
    Brightness,
    Meta::new("color.brightness")
        .summary("Multiplies R, G and B by a factor.")
        .tests(&[Test::new("×1.3").params(r#"{"amount": 1.3}"#).hash("b555b9b481c292c4")]),
    BrightnessParams,
    |p, c| c * p.amount
);

/// Parameters of `color.contrast`.
#[derive(Params)]
pub struct ContrastParams {
    /// Contrast factor; 1.0 leaves the image unchanged, 0 gives flat grey at the pivot.
    #[param(default = 1.0, range = 0.0..=10.0)]
    pub amount: f32,
    /// Value that stays fixed (0.5 is mid grey; 128/255 ≈ 0.502 matches "around 128").
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub pivot: f32,
}
curve!(
    /// Stretches values away from a pivot.
    Contrast,
    Meta::new("color.contrast")
        .summary("Scales values around a pivot.")
        .tests(&[Test::new("×1.4 around 0.45").params(r#"{"amount": 1.4, "pivot": 0.45}"#).hash("916c696793ce790d")]),
    ContrastParams,
    |p, c| (c - p.pivot) * p.amount + p.pivot
);

/// Parameters of `color.gamma`.
#[derive(Params)]
pub struct GammaParams {
    /// Exponent applied as c^(1/gamma): above 1 brightens midtones.
    #[param(default = 1.0, range = 0.01..=10.0)]
    pub gamma: f32,
}
curve!(
    /// Gamma correction.
    Gamma,
    Meta::new("color.gamma")
        .summary("Gamma correction: c^(1/gamma).")
        .tests(&[Test::new("2.2").params(r#"{"gamma": 2.2}"#).hash("aea7a43a1f0402a3")]),
    GammaParams,
    |p, c| c.max(0.0).powf(1.0 / p.gamma)
);

/// Parameters of `color.levels`.
#[derive(Params)]
pub struct LevelsParams {
    /// Input value mapped to black.
    #[param(default = 0.0, range = 0.0..=1.0)]
    pub in_black: f32,
    /// Input value mapped to white.
    #[param(default = 1.0, range = 0.0..=1.0)]
    pub in_white: f32,
    /// Midtone gamma after the input range is normalized.
    #[param(default = 1.0, range = 0.01..=10.0)]
    pub gamma: f32,
    /// Output value for black.
    #[param(default = 0.0, range = 0.0..=1.0)]
    pub out_black: f32,
    /// Output value for white.
    #[param(default = 1.0, range = 0.0..=1.0)]
    pub out_white: f32,
}
curve!(
    /// Levels as in photo editors.
    Levels,
    Meta::new("color.levels").summary("Input range, midtone gamma and output range.").tests(&[Test::new(
        "all five"
    )
    .params(r#"{"in_black": 0.1, "in_white": 0.9, "gamma": 1.5, "out_black": 0.05, "out_white": 0.95}"#)
    .hash("aa5c41a3e1602926")]),
    LevelsParams,
    |p, c| {
        let span = (p.in_white - p.in_black).max(1e-6);
        let t = ((c - p.in_black) / span).clamp(0.0, 1.0).powf(1.0 / p.gamma);
        p.out_black + t * (p.out_white - p.out_black)
    }
);

curve!(
    /// Inverts R, G and B.
    Invert,
    Meta::new("color.invert").summary("1 − value for R, G and B.").tests(&[Test::new("invert").hash("38a81bb70b08aea4")]),
    (),
    |_p, c| 1.0 - c
);

/// Parameters of `color.posterize`.
#[derive(Params)]
pub struct PosterizeParams {
    /// Number of levels per channel.
    #[param(default = 4, range = 2..=256)]
    pub levels: u32,
}
curve!(
    /// Reduces each channel to a few levels.
    Posterize,
    Meta::new("color.posterize")
        .summary("Quantizes each channel to N evenly spaced levels.")
        .tests(&[Test::new("3 levels").params(r#"{"levels": 3}"#).hash("dd8fbb13569ec68f")]),
    PosterizeParams,
    |p, c| {
        let n = (p.levels - 1) as f32;
        (c.clamp(0.0, 1.0) * n).round() / n
    }
);

/// Parameters of `color.threshold`.
#[derive(Params)]
pub struct ThresholdParams {
    /// Luma at or above this becomes white, below it black.
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub level: f32,
}

/// Black and white by a luma threshold.
#[derive(Default)]
pub struct Threshold;
impl PointFilter for Threshold {
    const META: Meta = Meta::new("color.threshold")
        .summary("White where Rec. 709 luma ≥ level, black elsewhere.")
        .doc(
            "Luma is computed exactly for 8-bit pixels (in f64 for float ones) and rounded to f32 once \
             before it is compared, so a pixel whose luma equals the level (0.3) is white.",
        )
        .tests(&[
            Test::new("level 0.4").params(r#"{"level": 0.4}"#).hash("1a2688cf973f0550"),
            Test::new("float, level 0.6").params(r#"{"level": 0.6}"#).f32().hash("2624e54aab7a1612"),
        ]);
    type Params = ThresholdParams;
    fn render<P: Pixel>(&self, p: &ThresholdParams, band: &mut Band<'_, P>) {
        for (_, row) in band.rows_mut() {
            for px in row.iter_mut() {
                let v = if luma_for_compare(*px) >= p.level { 1.0 } else { 0.0 };
                let c = px.to_f32();
                *px = P::from_f32(RgbaF32::new(v, v, v, c.a));
            }
        }
    }
}

/// The affine form of a 3×3 transform (no offset).
fn affine(m: [[f32; 3]; 3]) -> [[f32; 4]; 3] {
    m.map(|[r, g, b]| [r, g, b, 0.0])
}

/// `(1 − t) · a + t · b` for every coefficient: the transform `b` mixed into `a` by `t` (exactly
/// `a` at 0 and `b` at 1).
fn lerp_matrix(a: [[f32; 3]; 3], b: [[f32; 3]; 3], t: f32) -> [[f32; 4]; 3] {
    affine(std::array::from_fn(|i| std::array::from_fn(|j| (1.0 - t) * a[i][j] + t * b[i][j])))
}

/// The identity transform.
const IDENTITY: [[f32; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// Every channel replaced by the luma.
const GREY: [[f32; 3]; 3] = [WEIGHTS, WEIGHTS, WEIGHTS];

/// Parameters of `color.saturation`.
#[derive(Params)]
pub struct SaturationParams {
    /// 0 is grey, 1 unchanged, above 1 more saturated.
    #[param(default = 1.0, range = 0.0..=10.0)]
    pub amount: f32,
}

/// Saturation around Rec. 709 luma (as Pillow's `ImageEnhance.Color`).
#[derive(Default)]
pub struct Saturation;
impl ColorMatrix for Saturation {
    const META: Meta = Meta::new("color.saturation")
        .summary("Mixes each pixel with its luma grey.")
        .tests(&[Test::new("×1.7").params(r#"{"amount": 1.7}"#).hash("edb343032e9ea504")]);
    type Params = SaturationParams;
    fn matrix(&self, p: &SaturationParams) -> [[f32; 4]; 3] {
        // luma + (c − luma) · amount
        lerp_matrix(GREY, IDENTITY, p.amount)
    }
}

/// Grayscale by Rec. 709 luma.
#[derive(Default)]
pub struct Grayscale;
impl ColorMatrix for Grayscale {
    const META: Meta = Meta::new("color.grayscale")
        .summary("Rec. 709 luma (0.2126 R + 0.7152 G + 0.0722 B) in all channels.")
        .tests(&[Test::new("grey").hash("27d1ef6a39fdc6f7")]);
    type Params = ();
    fn matrix(&self, _: &()) -> [[f32; 4]; 3] {
        affine(GREY)
    }
}

/// Parameters of `color.sepia`.
#[derive(Params)]
pub struct SepiaParams {
    /// Mix between the original (0) and full sepia (1).
    #[param(default = 1.0, range = 0.0..=1.0)]
    pub amount: f32,
}

/// Sepia tone with the classic matrix.
#[derive(Default)]
pub struct Sepia;
impl ColorMatrix for Sepia {
    const META: Meta = Meta::new("color.sepia")
        .summary("Sepia tone (the common 3×3 matrix), mixed by amount.")
        .tests(&[Test::new("0.6").params(r#"{"amount": 0.6}"#).hash("9d352345738cadbb")]);
    type Params = SepiaParams;
    fn matrix(&self, p: &SepiaParams) -> [[f32; 4]; 3] {
        const SEPIA: [[f32; 3]; 3] = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]];
        lerp_matrix(IDENTITY, SEPIA, p.amount)
    }
}

/// Parameters of `color.hue`.
#[derive(Params)]
pub struct HueParams {
    /// Rotation of the hue in degrees.
    #[param(default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub degrees: f32,
}

/// Hue rotation that keeps luma (a rotation about the grey axis in YIQ-like space).
#[derive(Default)]
pub struct Hue;
impl ColorMatrix for Hue {
    const META: Meta = Meta::new("color.hue")
        .summary("Rotates hue about the grey axis, keeping Rec. 709 luma.")
        .tests(&[Test::new("120°").params(r#"{"degrees": 120.0}"#).hash("2be96f6a360dcd9a")]);
    type Params = HueParams;
    fn matrix(&self, p: &HueParams) -> [[f32; 4]; 3] {
        // The luminance-preserving hue rotation matrix (as in the SVG/CSS hue-rotate filter).
        let (s, c) = p.degrees.to_radians().sin_cos();
        let m = [
            [0.2126 + 0.7874 * c - 0.2126 * s, 0.7152 - 0.7152 * c - 0.7152 * s, 0.0722 - 0.0722 * c + 0.9278 * s],
            [0.2126 - 0.2126 * c + 0.143 * s, 0.7152 + 0.2848 * c + 0.140 * s, 0.0722 - 0.0722 * c - 0.283 * s],
            [0.2126 - 0.2126 * c - 0.7874 * s, 0.7152 - 0.7152 * c + 0.7152 * s, 0.0722 + 0.9278 * c + 0.0722 * s],
        ];
        affine(m)
    }
}

/// Parameters of `color.tint`.
#[derive(Params)]
pub struct TintParams {
    /// Colour to tint towards.
    #[param(default = "#ff9933")]
    pub color: Color,
    /// Strength: 0 unchanged, 1 the colour multiplied by luma.
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub amount: f32,
}

/// Tints the image: mixes each pixel with (luma × colour).
#[derive(Default)]
pub struct Tint;
impl ColorMatrix for Tint {
    const META: Meta =
        Meta::new("color.tint").summary("Mixes each pixel with its luma times a colour.").tests(&[Test::new(
            "orange, half",
        )
        .params(r##"{"color": "#ff8000", "amount": 0.5}"##)
        .hash("75bb853c0543069b")]);
    type Params = TintParams;
    fn matrix(&self, p: &TintParams) -> [[f32; 4]; 3] {
        let tinted = [p.color.r, p.color.g, p.color.b].map(|k| WEIGHTS.map(|w| w * k));
        lerp_matrix(IDENTITY, tinted, p.amount)
    }
}

/// Parameters of `color.balance`.
#[derive(Params)]
pub struct BalanceParams {
    /// Added to red (−1..1).
    #[param(default = 0.0, range = -1.0..=1.0)]
    pub red: f32,
    /// Added to green.
    #[param(default = 0.0, range = -1.0..=1.0)]
    pub green: f32,
    /// Added to blue.
    #[param(default = 0.0, range = -1.0..=1.0)]
    pub blue: f32,
    /// Weights the shift towards midtones (1) or applies it evenly (0).
    #[param(default = 1.0, range = 0.0..=1.0)]
    pub midtones: f32,
}

impl BalanceParams {
    /// Channel value `c` shifted by `shift`, weighted towards midtones.
    #[inline]
    fn shifted(&self, c: f32, shift: f32) -> f32 {
        let m = c.clamp(0.0, 1.0);
        c + shift * (1.0 - self.midtones + self.midtones * 4.0 * m * (1.0 - m))
    }
}

/// Colour balance: shifts each channel, weighted towards midtones. Each channel has its own
/// function, so this is a point filter with one table per channel rather than a [`Curve`].
#[derive(Default)]
pub struct Balance {
    /// The R, G, B and A tables for 8-bit frames.
    table: Option<Box<Table>>,
}
impl PointFilter for Balance {
    const META: Meta = Meta::new("color.balance").summary("Shifts R, G and B, weighted towards midtones.").tests(&[
        Test::new("warm midtones")
            .params(r#"{"red": 0.2, "green": -0.1, "blue": 0.05, "midtones": 1.0}"#)
            .hash("4bdb2bedeca33744"),
        Test::new("even shift").params(r#"{"red": -0.3, "blue": 0.2, "midtones": 0.0}"#).hash("d7972ff9822ca1be"),
    ]);
    type Params = BalanceParams;
    fn setup(&mut self, p: &BalanceParams, _: Size) -> Result<(), PluginError> {
        let mut table = point::identity_table();
        for (channel, shift) in [p.red, p.green, p.blue].into_iter().enumerate() {
            let t = point::curve_table(|c| p.shifted(c, shift));
            let range = channel * 256..(channel + 1) * 256;
            table[range.clone()].copy_from_slice(&t[range]);
        }
        self.table = Some(Box::new(table));
        Ok(())
    }
    fn render<P: Pixel>(&self, p: &BalanceParams, band: &mut Band<'_, P>) {
        for (_, row) in band.rows_mut() {
            if let Some(table) = self.table.as_deref() {
                if let Some(row8) = P::as_rgba8_mut(row) {
                    point::apply_table(row8, table);
                    continue;
                }
            }
            for px in row.iter_mut() {
                let c = px.to_f32();
                *px = P::from_f32(RgbaF32::new(
                    p.shifted(c.r, p.red),
                    p.shifted(c.g, p.green),
                    p.shifted(c.b, p.blue),
                    c.a,
                ));
            }
        }
    }
}

/// Parameters of `color.vignette`.
#[derive(Params)]
pub struct VignetteParams {
    /// Darkening at the corners: 0 none, 1 black.
    #[param(default = 0.5, range = 0.0..=1.0)]
    pub strength: f32,
    /// Distance from the centre (1 = corner) where darkening starts.
    #[param(default = 0.5, range = 0.0..=1.5)]
    pub radius: f32,
    /// Width of the transition, as a fraction of the half-diagonal.
    #[param(default = 0.5, range = 0.01..=2.0)]
    pub softness: f32,
    /// Colour the edges fade to.
    #[param(default = "#000000")]
    pub color: Color,
}

/// Vignette: darkens towards the corners (depends on position, still a point effect).
#[derive(Default)]
pub struct Vignette;
impl PointFilter for Vignette {
    const META: Meta = Meta::new("color.vignette")
        .summary("Fades towards a colour with distance from the centre.")
        .tests(&[Test::new("strong, to blue")
            .params(r##"{"strength": 0.9, "radius": 0.3, "softness": 0.4, "color": "#102080"}"##)
            .hash("198656e2593ddb3c")]);
    type Params = VignetteParams;
    fn render<P: Pixel>(&self, p: &VignetteParams, band: &mut Band<'_, P>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs point filter `T` with `params` over `px` as one band of a `px.len()`×1 image.
    fn render<T: PointFilter, P: Pixel>(params: &T::Params, px: &mut [P]) {
        let size = Size::new(px.len() as u32, 1);
        let mut effect = T::default();
        effect.setup(params, size).expect("setup");
        let mut band = Band::new(px, size, size.width as usize, Rows::new(0, 1)).expect("band");
        effect.render(params, &mut band);
    }

    #[test]
    fn threshold_counts_a_luma_equal_to_the_level_as_white() {
        // Lumas of exactly 0.3 (2126 R + 7152 G + 722 B = 765 000); the f32 sum gives 0.29999998
        // for the first, which used to turn it black. The last is one blue step below 0.3.
        let mut px = [Rgba8::new(174, 51, 42, 200), Rgba8::new(27, 95, 39, 255), Rgba8::new(174, 51, 41, 255)];
        render::<Threshold, _>(&ThresholdParams { level: 0.3 }, &mut px);
        assert_eq!(px, [Rgba8::new(255, 255, 255, 200), Rgba8::new(255, 255, 255, 255), Rgba8::new(0, 0, 0, 255)]);
        // 0.33: two pixels of exactly that luma.
        let mut px = [Rgba8::new(168, 55, 126, 255), Rgba8::new(185, 45, 175, 255)];
        render::<Threshold, _>(&ThresholdParams { level: 0.33 }, &mut px);
        assert_eq!(px, [Rgba8::new(255, 255, 255, 255); 2]);
        // Float frames: a grey of the level itself is white, the next float below is black.
        let below = f32::from_bits(0.3f32.to_bits() - 4);
        let mut px = [RgbaF32::new(0.3, 0.3, 0.3, 0.5), RgbaF32::new(below, below, below, 1.0)];
        render::<Threshold, _>(&ThresholdParams { level: 0.3 }, &mut px);
        assert_eq!(px, [RgbaF32::new(1.0, 1.0, 1.0, 0.5), RgbaF32::new(0.0, 0.0, 0.0, 1.0)]);
    }

    #[test]
    fn balance_tables_give_the_formula_rounded_per_channel() {
        let p = BalanceParams { red: 0.2, green: -0.35, blue: 0.05, midtones: 0.7 };
        let src: Vec<Rgba8> = (0..=255u8).map(|v| Rgba8::new(v, v.wrapping_mul(7), 255 - v, v / 2)).collect();
        let mut px8 = src.clone();
        render::<Balance, _>(&p, &mut px8);
        let mut pxf: Vec<RgbaF32> = src.iter().map(|p| p.to_f32()).collect();
        render::<Balance, _>(&p, &mut pxf);
        assert_eq!(px8, pxf.into_iter().map(Rgba8::from_f32).collect::<Vec<_>>());
        // 128 → 128/255 + 0.2·(0.3 + 0.7·4·c(1 − c)) = 0.70194 → 179; green 128 → 0.15200 → 39;
        // blue 127 → 0.54804 → 140; alpha kept.
        assert_eq!(px8[128], Rgba8::new(179, 39, 140, 64));
    }

    /// Every `step`-th value of each channel (alpha varies too).
    fn grid(step: usize) -> Vec<Rgba8> {
        let v: Vec<u8> = (0..=255).step_by(step).chain([255]).collect();
        let mut out = Vec::new();
        for &r in &v {
            for &g in &v {
                for &b in &v {
                    out.push(Rgba8::new(r, g, b, r ^ g));
                }
            }
        }
        out
    }

    /// Largest channel difference and how many pixels differ between the matrix form, run by the
    /// host's 8-bit loop, and the per-pixel formula it replaces (rounded as before).
    fn matrix_vs_formula<M: ColorMatrix>(p: &M::Params, px: &[Rgba8], f: impl Fn(RgbaF32) -> RgbaF32) -> (u8, usize) {
        let mut got = px.to_vec();
        point::apply_matrix8(&mut got, &M::default().matrix(p));
        let mut worst = (0, 0);
        for (g, s) in got.iter().zip(px) {
            let want = Rgba8::from_f32(f(s.to_f32()));
            let d = [g.r.abs_diff(want.r), g.g.abs_diff(want.g), g.b.abs_diff(want.b), g.a.abs_diff(want.a)];
            let d = d.into_iter().max().unwrap_or(0);
            worst = (worst.0.max(d), worst.1 + (d > 0) as usize);
        }
        worst
    }

    #[test]
    fn matrices_give_the_bytes_of_the_formulas_they_replace() {
        let px = grid(5);
        let luma = fxkit::luma::luma;
        // Sums of the same products in the same order: identical.
        let grey = matrix_vs_formula::<Grayscale>(&(), &px, |c| {
            let l = luma(c);
            RgbaF32::new(l, l, l, c.a)
        });
        assert_eq!(grey, (0, 0));
        let (s, c) = 120f32.to_radians().sin_cos();
        let m = Hue.matrix(&HueParams { degrees: 120.0 });
        assert_eq!(m[1][2], 0.0722 - 0.0722 * c - 0.283 * s);
        let hue = matrix_vs_formula::<Hue>(&HueParams { degrees: 120.0 }, &px, |p| {
            let f = |r: [f32; 4]| r[0] * p.r + r[1] * p.g + r[2] * p.b;
            RgbaF32::new(f(m[0]), f(m[1]), f(m[2]), p.a)
        });
        assert_eq!(hue, (0, 0));
        // Mixes: other rounding of the same real numbers, so a rare ±1 where a value lies within
        // float error of half a step (over all 2^24 colours: at most 0.005 % of pixels).
        let sat = matrix_vs_formula::<Saturation>(&SaturationParams { amount: 1.7 }, &px, |c| {
            let l = luma(c);
            c.map_rgb(|v| l + (v - l) * 1.7)
        });
        let sepia = matrix_vs_formula::<Sepia>(&SepiaParams { amount: 0.6 }, &px, |c| {
            let r = 0.393 * c.r + 0.769 * c.g + 0.189 * c.b;
            let g = 0.349 * c.r + 0.686 * c.g + 0.168 * c.b;
            let b = 0.272 * c.r + 0.534 * c.g + 0.131 * c.b;
            RgbaF32::new(c.r + (r - c.r) * 0.6, c.g + (g - c.g) * 0.6, c.b + (b - c.b) * 0.6, c.a)
        });
        let color = Color { r: 1.0, g: 0.6, b: 0.2, a: 1.0 };
        let tint = matrix_vs_formula::<Tint>(&TintParams { color, amount: 0.5 }, &px, |c| {
            let l = luma(c);
            RgbaF32::new(c.r + (l - c.r) * 0.5, c.g + (l * 0.6 - c.g) * 0.5, c.b + (l * 0.2 - c.b) * 0.5, c.a)
        });
        for (name, (worst, n)) in [("saturation", sat), ("sepia", sepia), ("tint", tint)] {
            assert!(worst <= 1 && n * 10_000 <= px.len(), "{name}: up to {worst} in {n} of {} pixels", px.len());
        }
    }
}
