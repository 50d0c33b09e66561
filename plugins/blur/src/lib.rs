//! Blur and sharpen effects.

use fxchain_plugin_api::prelude::*;
use fxkit::conv::{convolve_band, gaussian_kernel, rows_needed};
use fxkit::fixed::{convolve_rgba8, store_block, store_lanes, FixedKernel, BLOCK, LANES};
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
    const DOC: &'static str = "Box widths from the standard three-pass approximation of σ; from σ = 1 the cascade runs on a 2×2-averaged copy and is upsampled bilinearly. Cost does not grow with σ. On opaque 8-bit frames with σ ≤ 5 the exact Gaussian in fixed point is cheaper than the cascade, and is used instead.";
    const VARIANT_OF: &'static str = "blur.gaussian";
    const TIER: Tier = Tier::FAST;
    type Params = GaussianParams;
    type Plan = (GaussianParams, Fast);

    fn plan(&self, p: GaussianParams, _input: Size) -> Result<Self::Plan, PluginError> {
        let f = Fast::new(p.sigma);
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
        let exact = f.exact.as_ref().filter(|_| input.is_opaque());
        if !exact.is_some_and(|k| convolve_rgba8(input, out, k, k, p.border, store_block)) {
            f.blur.render(input, out, p.border);
        }
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

/// The sharpening formula in fixed point for the 8-bit path: `amount` as `A / 2^shift` per lane
/// (0 for alpha, which is kept) and the threshold in whole levels.
struct SharpenFixed {
    amount: [i16; LANES],
    shift: u32,
    threshold: i16,
}

impl SharpenFixed {
    fn new(p: &UnsharpParams) -> Self {
        // The finest scale whose products still fit: A < 2^15 and o·2^(7+shift) + A·d < 2^31.
        let shift = (0..=14).rev().find(|&s| p.amount * (1 << s) as f32 <= 32767.0).unwrap_or(0);
        let a = (p.amount * (1 << shift) as f32).round() as i16;
        SharpenFixed {
            amount: std::array::from_fn(|i| if i % 4 == 3 { 0 } else { a }),
            shift,
            // The reference compares whole-level differences with `threshold·255`.
            threshold: (p.threshold * 255.0).ceil() as i16,
        }
    }

    /// `out = o + amount·(o − blur)` for a block: `o` the original pixels, `blur` the
    /// fixed-point blur (units of 1/256 level, used unrounded). Integer lanes throughout: the
    /// i16×i16→i32 products vectorize as `pmullw`/`pmulhw`, and the clamp as saturating packs.
    #[inline(always)]
    fn block<const THRESHOLD: bool>(&self, o: &[Rgba8; BLOCK], blur: &[u16; LANES], out: &mut [Rgba8; BLOCK]) {
        let mut ol = [0i16; LANES];
        for (l, p) in ol.chunks_exact_mut(4).zip(o) {
            l.copy_from_slice(&[p.r as i16, p.g as i16, p.b as i16, p.a as i16]);
        }
        let s = self.shift;
        let mut res = [0u8; LANES];
        for i in 0..LANES {
            // Both in units of 1/128 level, so the difference fits i16.
            let d = (ol[i] << 7) - (blur[i] >> 1) as i16;
            // The threshold applies to the difference from the rounded blur, as in the reference.
            let whole = ol[i] - ((blur[i] + 128) >> 8) as i16;
            let a = if THRESHOLD && whole.max(-whole) < self.threshold { 0 } else { self.amount[i] };
            let r = ((ol[i] as i32) << (7 + s)) + d as i32 * a as i32 + (1 << (6 + s));
            res[i] = (r >> (7 + s)).clamp(0, 255) as u8;
        }
        for (d, c) in out.iter_mut().zip(res.chunks_exact(4)) {
            *d = Rgba8::new(c[0], c[1], c[2], c[3]);
        }
    }
}

impl SharpenFixed {
    /// Sharpens pixels `x0..x0 + n` of `orig` into `dst` against `blur` (one block).
    fn span(&self, orig: &[Rgba8], dst: &mut [Rgba8], x0: usize, blur: &[u16; LANES], n: usize) {
        let block = |o: &[Rgba8; BLOCK], d: &mut [Rgba8; BLOCK]| {
            if self.threshold > 0 {
                self.block::<true>(o, blur, d)
            } else {
                self.block::<false>(o, blur, d)
            }
        };
        if n == BLOCK {
            let o = orig[x0..x0 + BLOCK].try_into().expect("block of pixels");
            block(o, (&mut dst[x0..x0 + BLOCK]).try_into().expect("block of pixels"));
        } else {
            let mut o = [Rgba8::default(); BLOCK];
            o[..n].copy_from_slice(&orig[x0..x0 + n]);
            let mut d = [Rgba8::default(); BLOCK];
            block(&o, &mut d);
            dst[x0..x0 + n].copy_from_slice(&d[..n]);
        }
    }
}

/// Unsharp mask on an opaque 8-bit frame in one pass: the fixed-point blur of each block goes
/// straight into the sharpening formula. Returns `false` when the fast path does not apply.
fn unsharp_fixed<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>, p: &UnsharpParams, k: &FixedKernel) -> bool {
    if !input.is_opaque() {
        return false;
    }
    let sh = SharpenFixed::new(p);
    convolve_rgba8(input, out, k, k, p.border, |orig, dst, x0, blur, n| sh.span(orig, dst, x0, blur, n))
}

/// The fast unsharp mask on an opaque 8-bit frame: the half-resolution blur in float lanes, then
/// the fixed-point sharpening. Returns `false` when this path does not apply.
fn unsharp_fast_rgba8<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>, p: &UnsharpParams, f: &FastBlur) -> bool {
    let FastBlur::Half(h) = f else { return false };
    if !input.is_opaque() {
        return false;
    }
    let sh = SharpenFixed::new(p);
    let w = input.width() as usize;
    h.render_rgba8(input, out, p.border, |y, row, lanes| {
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
        let fixed = k.len() > 1 && FixedKernel::new(k).is_some_and(|fk| unsharp_fixed(input, out, p, &fk));
        if !fixed {
            unsharp_band(input, out, p, |b| convolve_band(input, b, k, k, p.border));
        }
        Ok(())
    }
}

/// Fast unsharp mask: the blur is the three-box approximation.
#[derive(Default)]
pub struct UnsharpFast;

impl Filter for UnsharpFast {
    const ID: &'static str = "sharpen.unsharp.fast";
    const SUMMARY: &'static str = "Unsharp mask over the fast (box, half-resolution) blur.";
    const DOC: &'static str = "On opaque 8-bit frames with σ ≤ 5 the exact Gaussian in fixed point is cheaper than the box cascade, and is used instead.";
    const VARIANT_OF: &'static str = "sharpen.unsharp";
    const TIER: Tier = Tier::FAST;
    type Params = UnsharpParams;
    type Plan = (UnsharpParams, Fast);

    fn plan(&self, p: UnsharpParams, _input: Size) -> Result<Self::Plan, PluginError> {
        let f = Fast::new(p.sigma);
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
        let exact = f.exact.as_ref().is_some_and(|k| unsharp_fixed(input, out, p, k));
        if !exact && !unsharp_fast_rgba8(input, out, p, &f.blur) {
            unsharp_band(input, out, p, |b| f.blur.render(input, b, p.border));
        }
        Ok(())
    }
}

/// The plan of the fast blur and sharpen: the box cascade, and for small σ the exact kernel in
/// fixed point, which costs less than the cascade on opaque 8-bit frames.
pub struct Fast {
    blur: FastBlur,
    exact: Option<FixedKernel>,
}

impl Fast {
    /// Largest σ for which the exact fixed-point kernel is used (±15 taps; measured: cheaper than
    /// the half-resolution cascade up to about there).
    const EXACT_MAX_SIGMA: f32 = 5.0;

    fn new(sigma: f32) -> Self {
        let exact = if sigma > 0.0 && sigma <= Self::EXACT_MAX_SIGMA {
            FixedKernel::new(&gaussian_kernel(sigma))
        } else {
            None
        };
        Fast { blur: FastBlur::new(sigma), exact }
    }

    fn rows_needed(&self, output: Rows, height: u32, border: Border) -> Rows {
        let boxes = self.blur.rows_needed(output, height, border);
        match &self.exact {
            Some(k) => {
                let exact = rows_needed(output, k.radius() as u32, height, border);
                Rows::new(boxes.start.min(exact.start), boxes.end.max(exact.end))
            }
            None => boxes,
        }
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
        if let FastBlur::Half(h) = self {
            let store =
                |_, row: &mut [P], lanes: &[f32]| store_lanes(lanes, P::as_rgba8_mut(row).expect("8-bit frame"));
            if input.is_opaque() && h.render_rgba8(input, out, border, store) {
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
