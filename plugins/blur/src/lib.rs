//! Blur and sharpen effects.

use fxchain_plugin_api::prelude::*;
use fxkit::conv::{convolve_band, gaussian_kernel, rows_needed};
use fxkit::rows::{load_premul, unpremul};
use fxkit::Border;

mod boxes;
mod motion;

pub use motion::{Median, MotionBlur};

/// Copies the band's rows from the input (identity).
fn copy_band<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>) {
    for (y, row) in out.rows_mut() {
        row.copy_from_slice(input.row(y));
    }
}

// ---- gaussian -----------------------------------------------------------------------------------

/// Parameters of `blur.gaussian` and its fast variant.
#[derive(Params, Clone)]
pub struct GaussianParams {
    /// Standard deviation in pixels (as OpenCV's and libvips' sigma); the kernel covers ±ceil(3σ). 0 leaves the image unchanged.
    #[param(id = "sigma", default = 2.0, range = 0.0..=250.0, unit = "px")]
    pub sigma: f32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Gaussian blur, the reference: separable convolution with a sampled Gaussian in f32 on
/// premultiplied alpha (fully transparent pixels never bleed colour).
#[derive(Default)]
pub struct GaussianBlur;

impl Filter for GaussianBlur {
    const ID: &'static str = "blur.gaussian";
    const SUMMARY: &'static str = "Gaussian blur (separable, exact kernel covering ±3σ).";
    const DOC: &'static str =
        "Quality reference. Alpha is premultiplied while blurring so transparent pixels do not bleed colour.";
    type Params = GaussianParams;
    type Plan = (GaussianParams, Vec<f32>);

    fn plan(&self, p: GaussianParams, _input: Size) -> Result<Self::Plan, PluginError> {
        let k = if p.sigma > 0.0 { gaussian_kernel(p.sigma) } else { vec![1.0] };
        Ok((p, k))
    }
    fn input_rows(&self, (p, k): &Self::Plan, output: Rows, input: Size) -> Rows {
        rows_needed(output, (k.len() / 2) as u32, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        (p, k): &Self::Plan,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        if k.len() == 1 {
            copy_band(input, out);
        } else {
            convolve_band(input, out, k, k, p.border);
        }
        Ok(())
    }
}

/// Fast gaussian: three box-blur passes per axis (running sums, cost independent of σ).
#[derive(Default)]
pub struct GaussianBlurFast;

impl Filter for GaussianBlurFast {
    const ID: &'static str = "blur.gaussian.fast";
    const SUMMARY: &'static str = "Gaussian blur approximated by three box blurs (at half resolution from σ = 1).";
    const DOC: &'static str = "Box widths from the standard three-pass approximation of σ; from σ = 1 the cascade runs on a 2×2-averaged copy and is upsampled bilinearly. Cost does not grow with σ.";
    const VARIANT_OF: &'static str = "blur.gaussian";
    const TIER: Tier = Tier::FAST;
    type Params = GaussianParams;
    type Plan = (GaussianParams, FastBlur);

    fn plan(&self, p: GaussianParams, _input: Size) -> Result<Self::Plan, PluginError> {
        let f = FastBlur::new(p.sigma);
        Ok((p, f))
    }
    fn input_rows(&self, (p, f): &Self::Plan, output: Rows, input: Size) -> Rows {
        f.rows_needed(output, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        (p, f): &Self::Plan,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        f.render(input, out, p.border);
        Ok(())
    }
}

// ---- box --------------------------------------------------------------------------------------

/// Parameters of `blur.box`.
#[derive(Params)]
pub struct BoxParams {
    /// Half-width of the square window: each output is the mean of (2r+1)² pixels.
    #[param(id = "radius", default = 2, range = 0..=500, unit = "px")]
    pub radius: u32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Box blur: the mean over a square window.
#[derive(Default)]
pub struct BoxBlur;

impl Filter for BoxBlur {
    const ID: &'static str = "blur.box";
    const SUMMARY: &'static str = "Box blur: mean over a (2r+1)² window.";
    type Params = BoxParams;
    type Plan = BoxParams;

    fn plan(&self, p: BoxParams, _input: Size) -> Result<BoxParams, PluginError> {
        Ok(p)
    }
    fn input_rows(&self, p: &BoxParams, output: Rows, input: Size) -> Rows {
        rows_needed(output, p.radius, input.height, p.border)
    }
    fn render<P: Pixel>(&self, p: &BoxParams, input: &Image<'_, P>, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        if p.radius == 0 {
            copy_band(input, out);
        } else {
            boxes::box_blur_band(input, out, &[p.radius as usize, 0, 0], p.border);
        }
        Ok(())
    }
}

// ---- unsharp ------------------------------------------------------------------------------------

/// Parameters of `sharpen.unsharp` and its fast variant.
#[derive(Params, Clone)]
pub struct UnsharpParams {
    /// Standard deviation of the blur that defines detail, in pixels.
    #[param(id = "sigma", default = 1.0, range = 0.0..=100.0, unit = "px")]
    pub sigma: f32,
    /// How much detail is added back: out = in + amount·(in − blur).
    #[param(id = "amount", default = 0.5, range = 0.0..=10.0)]
    pub amount: f32,
    /// Differences smaller than this (0..1) are left alone, to spare noise.
    #[param(id = "threshold", default = 0.0, range = 0.0..=1.0)]
    pub threshold: f32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
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

/// Unsharp mask, the reference: exact Gaussian blur, then in + amount·(in − blur) per channel.
#[derive(Default)]
pub struct Unsharp;

impl Filter for Unsharp {
    const ID: &'static str = "sharpen.unsharp";
    const SUMMARY: &'static str = "Unsharp mask: adds back the difference from a Gaussian blur.";
    const DOC: &'static str = "Same convention as OpenCV's GaussianBlur + addWeighted(1+amount, -amount) and libvips' sharpen with a plain Gaussian.";
    type Params = UnsharpParams;
    type Plan = (UnsharpParams, Vec<f32>);

    fn plan(&self, p: UnsharpParams, _input: Size) -> Result<Self::Plan, PluginError> {
        let k = if p.sigma > 0.0 { gaussian_kernel(p.sigma) } else { vec![1.0] };
        Ok((p, k))
    }
    fn input_rows(&self, (p, k): &Self::Plan, output: Rows, input: Size) -> Rows {
        rows_needed(output, (k.len() / 2) as u32, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        (p, k): &Self::Plan,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        unsharp_band(input, out, p, |b| convolve_band(input, b, k, k, p.border));
        Ok(())
    }
}

/// Fast unsharp mask: the blur is the three-box approximation.
#[derive(Default)]
pub struct UnsharpFast;

impl Filter for UnsharpFast {
    const ID: &'static str = "sharpen.unsharp.fast";
    const SUMMARY: &'static str = "Unsharp mask over the fast (box, half-resolution) blur.";
    const VARIANT_OF: &'static str = "sharpen.unsharp";
    const TIER: Tier = Tier::FAST;
    type Params = UnsharpParams;
    type Plan = (UnsharpParams, FastBlur);

    fn plan(&self, p: UnsharpParams, _input: Size) -> Result<Self::Plan, PluginError> {
        let f = FastBlur::new(p.sigma);
        Ok((p, f))
    }
    fn input_rows(&self, (p, f): &Self::Plan, output: Rows, input: Size) -> Rows {
        f.rows_needed(output, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        (p, f): &Self::Plan,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        unsharp_band(input, out, p, |b| f.render(input, b, p.border));
        Ok(())
    }
}

/// The fast blur: a box cascade, at half resolution for larger σ.
pub enum FastBlur {
    /// σ = 0.
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
    fn rows_needed(&self, output: Rows, height: u32, border: Border) -> Rows {
        match self {
            FastBlur::Identity => output,
            FastBlur::Full(r) => rows_needed(output, r.iter().sum::<usize>() as u32, height, border),
            FastBlur::Half(h) => h.rows_needed(output, height, border),
        }
    }
    fn render<P: Pixel>(&self, input: &Image<'_, P>, out: &mut Band<'_, P>, border: Border) {
        match self {
            FastBlur::Identity => copy_band(input, out),
            FastBlur::Full(r) => boxes::box_blur_band(input, out, r, border),
            FastBlur::Half(h) => h.render(input, out, border),
        }
    }
}

/// Loads the premultiplied pixel at `(x, y)` with border handling (used by the sampling filters).
#[inline]
pub(crate) fn sample<P: Pixel>(input: &Image<'_, P>, x: i64, y: i64, border: Border, opaque: bool) -> [f32; 4] {
    let (Some(sx), Some(sy)) = (border.index(x, input.width()), border.index(y, input.height())) else {
        return [0.0; 4];
    };
    let mut px = [[0f32; 4]; 1];
    load_premul(&input.row_clamped(sy as i64)[sx..sx + 1], &mut px, opaque);
    px[0]
}

/// Writes a premultiplied accumulator as a pixel.
#[inline]
pub(crate) fn store<P: Pixel>(acc: [f32; 4], opaque: bool) -> P {
    P::from_f32(unpremul(acc, opaque))
}

export_plugin!(GaussianBlur, GaussianBlurFast, BoxBlur, Unsharp, UnsharpFast, MotionBlur, Median);
