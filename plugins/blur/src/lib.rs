//! Blur and sharpen effects.

use fxchain_plugin_api::prelude::*;
use fxkit::conv::{convolve_band, gaussian_or_identity};
use fxkit::fixed::{convolve_rgba8_rows, store_lanes, store_row, FixedKernel, BLOCK, LANES};
use fxkit::half::HalfGaussian;
use fxkit::kernels::sharpen::{self, SharpenFixed, SharpenQ15};
use fxkit::rows::reads_opaque;

mod boxes;
mod motion;

pub use motion::{Median, MotionBlur};

/// Copies the band's rows from the input (identity).
fn copy_band<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>) {
    for (y, row) in out.rows_mut() {
        row.copy_from_slice(input.row(y));
    }
}

/// Rows a kernel of odd length `k.len()` reads above and below its centre.
fn radius(k: &[f32]) -> u32 {
    (k.len() / 2) as u32
}

// ---- gaussian -----------------------------------------------------------------------------------

/// Parameters of `blur.gaussian` and its fast variant.
#[derive(Params)]
pub struct GaussianParams {
    /// Standard deviation in pixels (as OpenCV's and libvips' sigma); the kernel covers ±ceil(3σ). 0 leaves the image unchanged.
    #[param(default = 2.0, range = 0.0..=250.0, unit = "px")]
    pub sigma: f32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

/// Gaussian blur, the reference: separable convolution with a sampled Gaussian in f32 on
/// premultiplied alpha (fully transparent pixels never bleed colour). The state is the kernel.
#[derive(Default)]
pub struct GaussianBlur {
    kernel: Vec<f32>,
}

impl Filter for GaussianBlur {
    const META: Meta = Meta::new("blur.gaussian")
        .summary("Gaussian blur (separable, exact kernel covering ±3σ).")
        .doc("Quality reference. Alpha is premultiplied while blurring so transparent pixels do not bleed colour.")
        .tests(&[
            Test::new("σ=3").params(r#"{"sigma": 3.0}"#).hash("64126242a1792467"),
            Test::new("σ=1.6, wrap, f32").params(r#"{"sigma": 1.6, "border": "wrap"}"#).f32().hash("6fbfa93307c22876"),
            Test::new("σ=40, transparent border")
                .params(r#"{"sigma": 40.0, "border": "transparent"}"#)
                .hash("1c4d3dd87e1a5ef5"),
        ]);
    type Params = GaussianParams;

    fn setup(&mut self, p: &GaussianParams, _: Size) -> Result<(), PluginError> {
        self.kernel = gaussian_or_identity(p.sigma);
        Ok(())
    }
    fn footprint(&self, p: &GaussianParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(radius(&self.kernel))
    }
    fn render<P: Pixel>(&self, p: &GaussianParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        if self.kernel.len() == 1 {
            copy_band(input, out);
        } else {
            convolve_band(input, out, &self.kernel, &self.kernel, p.border.mode);
        }
    }
}

/// Fast gaussian: three box-blur passes per axis (running sums, cost independent of σ).
#[derive(Default)]
pub struct GaussianBlurFast {
    fast: Fast,
}

impl Filter for GaussianBlurFast {
    const META: Meta = Meta::new("blur.gaussian.fast")
        .summary("Gaussian blur at half resolution: 2×2 mean, narrower Gaussian, bilinear interpolation back.")
        .doc("On opaque 8-bit frames from σ = 1.5: the quarter-size copy is blurred in 16-bit fixed point with the Gaussian that leaves the same total spread (48-56 dB from the exact blur on a photo, RGB), about a sixth of the work; below σ = 1.5 the exact fixed-point Gaussian. Translucent frames and f32 chains use three box blurs (at half resolution from σ = 1), whose cost does not grow with σ.")
        .variant_of("blur.gaussian", Tier::FAST)
        .tests(&[
            Test::new("σ=3").params(r#"{"sigma": 3.0}"#).psnr("blur.gaussian", 49.0),
            Test::new("σ=12, mirror").params(r#"{"sigma": 12.0, "border": "mirror"}"#).psnr("blur.gaussian", 48.0),
            Test::new("σ=0.7, f32").params(r#"{"sigma": 0.7}"#).f32().psnr("blur.gaussian", 35.0),
        ]);
    type Params = GaussianParams;

    fn setup(&mut self, p: &GaussianParams, _: Size) -> Result<(), PluginError> {
        self.fast = Fast::new(p.sigma, 1.5);
        Ok(())
    }
    fn footprint(&self, p: &GaussianParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(self.fast.radius())
    }
    fn render<P: Pixel>(&self, p: &GaussianParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let border = p.border.mode;
        let level = fxkit::kernels::level();
        let store = |_: &[Rgba8], dst: &mut [Rgba8], line: &[u16]| store_row(level, line, dst);
        if !reads_opaque(input, border) || !self.fast.render_rgba8_rows(input, out, border, store) {
            self.fast.blur.render(input, out, border);
        }
    }
}

// ---- box --------------------------------------------------------------------------------------

/// Parameters of `blur.box`.
#[derive(Params)]
pub struct BoxParams {
    /// Half-width of the square window: each output is the mean of (2r+1)² pixels.
    #[param(default = 2, range = 0..=500, unit = "px")]
    pub radius: u32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

/// Box blur: the mean over a square window.
#[derive(Default)]
pub struct BoxBlur;

impl Filter for BoxBlur {
    const META: Meta = Meta::new("blur.box").summary("Box blur: mean over a (2r+1)² window.").tests(&[
        Test::new("r=3").params(r#"{"radius": 3}"#).hash("2d74105608a340ba"),
        Test::new("r=2, transparent border, f32")
            .params(r#"{"radius": 2, "border": "transparent"}"#)
            .f32()
            .hash("fccb4fb56dba4269"),
    ]);
    type Params = BoxParams;

    fn footprint(&self, p: &BoxParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(p.radius)
    }
    fn render<P: Pixel>(&self, p: &BoxParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        if p.radius == 0 {
            copy_band(input, out);
        } else {
            boxes::box_blur_band(input, out, &[p.radius as usize, 0, 0], p.border.mode);
        }
    }
}

// ---- unsharp ------------------------------------------------------------------------------------

/// Parameters of `sharpen.unsharp` and its fast variant.
#[derive(Params)]
pub struct UnsharpParams {
    /// Standard deviation of the blur that defines detail, in pixels.
    #[param(default = 1.0, range = 0.0..=100.0, unit = "px")]
    pub sigma: f32,
    /// How much detail is added back: out = in + amount·(in − blur).
    #[param(default = 0.5, range = 0.0..=10.0)]
    pub amount: f32,
    /// Differences smaller than this (0..1) are left alone, to spare noise.
    #[param(default = 0.0, range = 0.0..=1.0)]
    pub threshold: f32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

fn sharpen_rows<P: Pixel>(orig: &[P], blurred: &[P], out: &mut [P], p: &UnsharpParams) {
    if let (Some(o8), Some(b8), Some(d8)) = (P::as_rgba8(orig), P::as_rgba8(blurred), P::as_rgba8_mut(out)) {
        // 8-bit path on the channel bytes: the same formula, without per-pixel conversions.
        let (amount, th) = (p.amount, p.threshold * 255.0);
        let f = |o: u8, b: u8| {
            let (of, diff) = (o as f32, o as f32 - b as f32);
            let v = if diff.abs() < th { of } else { of + amount * diff };
            (v.clamp(0.0, 255.0) + 0.5) as u8
        };
        for ((d, o), b) in d8.iter_mut().zip(o8).zip(b8) {
            *d = Rgba8::new(f(o.r, b.r), f(o.g, b.g), f(o.b, b.b), o.a);
        }
        return;
    }
    for ((o, b), d) in orig.iter().zip(blurred).zip(out.iter_mut()) {
        let (o, b) = (o.to_f32(), b.to_f32());
        let f = |x: f32, y: f32| {
            let diff = x - y;
            if diff.abs() < p.threshold {
                x
            } else {
                x + p.amount * diff
            }
        };
        *d = P::from_f32(RgbaF32::new(f(o.r, b.r), f(o.g, b.g), f(o.b, b.b), o.a));
    }
}

fn unsharp_band<P: Pixel>(
    input: &Image<'_, P>,
    out: &mut Band<'_, P>,
    p: &UnsharpParams,
    blur: impl FnOnce(&mut Band<'_, P>),
) {
    let rows = out.rows();
    let w = input.width() as usize;
    let mut tmp = vec![P::default(); w * rows.len() as usize];
    {
        let mut band =
            Band::new(&mut tmp, Size::new(input.width(), input.height()), w, rows).expect("band sized to fit");
        blur(&mut band);
    }
    for (y, row) in out.rows_mut() {
        let j = (y - rows.start) as usize;
        sharpen_rows(input.row(y), &tmp[j * w..(j + 1) * w], row, p);
    }
}

/// Unsharp mask on an opaque 8-bit frame in one pass: the fixed-point blur of each block goes
/// straight into the sharpening formula. Returns `false` when the fast path does not apply.
fn unsharp_fixed<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>, p: &UnsharpParams, k: &FixedKernel) -> bool {
    let border = p.border.mode;
    if !reads_opaque(input, border) {
        return false;
    }
    let sh = SharpenFixed::new(p.amount, p.threshold);
    let level = fxkit::kernels::level();
    convolve_rgba8_rows(input, out, k, k, border, |orig, dst, blur| sharpen::fixed_row(level, &sh, orig, blur, dst))
}

/// The fast unsharp mask on an opaque 8-bit frame: the half-resolution blur in float lanes, then
/// the fixed-point sharpening. Returns `false` when this path does not apply.
fn unsharp_fast_rgba8<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>, p: &UnsharpParams, f: &FastBlur) -> bool {
    let FastBlur::Half(h) = f else { return false };
    let border = p.border.mode;
    if !reads_opaque(input, border) {
        return false;
    }
    let sh = SharpenFixed::new(p.amount, p.threshold);
    let w = input.width() as usize;
    h.render_rgba8(input, out, border, |y, row, lanes| {
        let orig = P::as_rgba8(input.row(y)).expect("8-bit frame");
        let dst = P::as_rgba8_mut(row).expect("8-bit frame");
        for x0 in (0..w).step_by(BLOCK) {
            let n = BLOCK.min(w - x0);
            let mut blur = [0u16; LANES];
            for (b, &v) in blur.iter_mut().zip(&lanes[4 * x0..4 * (x0 + n)]) {
                *b = to_fixed(v);
            }
            sh.span(orig, dst, x0, &blur, n);
        }
    })
}

/// A channel value 0..255 in units of 1/256, rounded (to even on ties), through the bits of
/// `v·256 + 2²³` so that it vectorizes.
#[inline(always)]
fn to_fixed(v: f32) -> u16 {
    (v.clamp(0.0, 255.0) * 256.0 + 8_388_608.0).to_bits() as u16
}

/// Unsharp mask, the reference: exact Gaussian blur, then in + amount·(in − blur) per channel.
/// The state is the blur kernel, and its fixed-point form where that applies.
#[derive(Default)]
pub struct Unsharp {
    kernel: Vec<f32>,
    fixed: Option<FixedKernel>,
}

impl Filter for Unsharp {
    const META: Meta = Meta::new("sharpen.unsharp")
        .summary("Unsharp mask: adds back the difference from a Gaussian blur.")
        .doc("Same convention as OpenCV's GaussianBlur + addWeighted(1+amount, -amount) and libvips' sharpen with a plain Gaussian.")
        .tests(&[
            Test::new("σ=2, amount 1.5").params(r#"{"sigma": 2.0, "amount": 1.5}"#).hash("a34d4a4f4700c80a"),
            Test::new("threshold, f32").params(r#"{"sigma": 1.2, "amount": 0.8, "threshold": 0.05}"#).f32().hash("dfca7e111b3aa235"),
        ]);
    type Params = UnsharpParams;

    fn setup(&mut self, p: &UnsharpParams, _: Size) -> Result<(), PluginError> {
        self.kernel = gaussian_or_identity(p.sigma);
        self.fixed = if self.kernel.len() > 1 { FixedKernel::new(&self.kernel) } else { None };
        Ok(())
    }
    fn footprint(&self, p: &UnsharpParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(radius(&self.kernel))
    }
    fn render<P: Pixel>(&self, p: &UnsharpParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        if !self.fixed.as_ref().is_some_and(|k| unsharp_fixed(input, out, p, k)) {
            let k = &self.kernel;
            unsharp_band(input, out, p, |b| convolve_band(input, b, k, k, p.border.mode));
        }
    }
}

/// Fast unsharp mask: the blur is the three-box approximation.
#[derive(Default)]
pub struct UnsharpFast {
    fast: Fast,
}

impl Filter for UnsharpFast {
    const META: Meta = Meta::new("sharpen.unsharp.fast")
        .summary("Unsharp mask over the fast (box, half-resolution) blur.")
        .doc("On opaque 8-bit frames from σ = 1 the blur runs at half resolution (a 2×2 mean, a narrower Gaussian in 16-bit fixed point, bilinear interpolation back; at σ = 1 the mean and the interpolation alone), 48 dB from the exact unsharp mask on a photo at the defaults (RGB); the sharpening formula is the reference's. Translucent frames and f32 chains use the box cascade.")
        .variant_of("sharpen.unsharp", Tier::FAST)
        .tests(&[
            Test::new("σ=2, amount 1.5").params(r#"{"sigma": 2.0, "amount": 1.5}"#).psnr("sharpen.unsharp", 43.0),
            Test::new("σ=8, f32").params(r#"{"sigma": 8.0, "amount": 0.8}"#).f32().psnr("sharpen.unsharp", 50.0),
        ]);
    type Params = UnsharpParams;

    fn setup(&mut self, p: &UnsharpParams, _: Size) -> Result<(), PluginError> {
        self.fast = Fast::new(p.sigma, fxkit::half::MIN_SIGMA);
        Ok(())
    }
    fn footprint(&self, p: &UnsharpParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(self.fast.radius())
    }
    fn render<P: Pixel>(&self, p: &UnsharpParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let border = p.border.mode;
        let level = fxkit::kernels::level();
        let fixed = reads_opaque(input, border)
            && match SharpenQ15::new(p.amount, p.threshold) {
                Some(q) => self
                    .fast
                    .render_rgba8_rows(input, out, border, |o, d, blur| sharpen::q15_row(level, &q, o, blur, d)),
                None => {
                    let sh = SharpenFixed::new(p.amount, p.threshold);
                    self.fast
                        .render_rgba8_rows(input, out, border, |o, d, blur| sharpen::fixed_row(level, &sh, o, blur, d))
                }
            };
        if !fixed && !unsharp_fast_rgba8(input, out, p, &self.fast.blur) {
            unsharp_band(input, out, p, |b| self.fast.blur.render(input, b, p.border.mode));
        }
    }
}

/// The state of the fast blur and sharpen: the box cascade, and for opaque 8-bit frames the
/// half-resolution fixed-point Gaussian, or below its σ the exact kernel in fixed point.
#[derive(Default)]
pub struct Fast {
    blur: FastBlur,
    half: Option<HalfGaussian>,
    exact: Option<FixedKernel>,
}

impl Fast {
    /// The fast Gaussian: half resolution from `half_from` (σ), the exact fixed-point kernel below.
    fn new(sigma: f32, half_from: f32) -> Self {
        let half = if sigma >= half_from { HalfGaussian::new(sigma) } else { None };
        let exact = if half.is_none() && sigma > 0.0 { FixedKernel::new(&gaussian_or_identity(sigma)) } else { None };
        Fast { blur: FastBlur::new(sigma), half, exact }
    }

    /// Rows read above and below an output row, by any path.
    fn radius(&self) -> u32 {
        let exact = self.exact.as_ref().map_or(0, |k| k.radius() as u32);
        let half = self.half.as_ref().map_or(0, HalfGaussian::radius);
        self.blur.radius().max(exact).max(half)
    }

    /// The blur of an opaque 8-bit frame in fixed point, handing over whole rows as
    /// [`convolve_rgba8_rows`]; `false` when neither fixed-point path applies.
    fn render_rgba8_rows<P: Pixel>(
        &self,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
        border: Border,
        finish: impl FnMut(&[Rgba8], &mut [Rgba8], &[u16]),
    ) -> bool {
        match (&self.half, &self.exact) {
            (Some(h), _) => h.render_rgba8_rows(input, out, border, finish),
            (None, Some(k)) => convolve_rgba8_rows(input, out, k, k, border, finish),
            (None, None) => false,
        }
    }
}

/// The fast blur: a box cascade, at half resolution for larger σ.
#[derive(Default)]
pub enum FastBlur {
    /// σ = 0.
    #[default]
    Identity,
    /// Full-resolution box cascade.
    Full([usize; 3]),
    /// Half-resolution cascade.
    Half(boxes::HalfRes),
}

impl FastBlur {
    fn new(sigma: f32) -> Self {
        match boxes::half_res_plan(sigma) {
            Some(h) => FastBlur::Half(h),
            None => {
                let r = boxes::box_radii(sigma);
                if r.iter().all(|&x| x == 0) {
                    FastBlur::Identity
                } else {
                    FastBlur::Full(r)
                }
            }
        }
    }
    fn radius(&self) -> u32 {
        match self {
            FastBlur::Identity => 0,
            FastBlur::Full(r) => r.iter().sum::<usize>() as u32,
            FastBlur::Half(h) => h.radius(),
        }
    }
    fn render<P: Pixel>(&self, input: &Image<'_, P>, out: &mut Band<'_, P>, border: Border) {
        if let FastBlur::Half(h) = self {
            let store =
                |_, row: &mut [P], lanes: &[f32]| store_lanes(lanes, P::as_rgba8_mut(row).expect("8-bit frame"));
            if reads_opaque(input, border) && h.render_rgba8(input, out, border, store) {
                return;
            }
        }
        match self {
            FastBlur::Identity => copy_band(input, out),
            FastBlur::Full(r) => boxes::box_blur_band(input, out, r, border),
            FastBlur::Half(h) => h.render(input, out, border),
        }
    }
}

export_plugin!(GaussianBlur, GaussianBlurFast, BoxBlur, Unsharp, UnsharpFast, MotionBlur, Median);
