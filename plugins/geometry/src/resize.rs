//! Separable resampling with antialiasing (the kernel widens by the downscale factor, as in
//! Pillow and libvips), on premultiplied alpha.

use fxchain_plugin_api::prelude::*;
use fxkit::rows::{load_premul, store_premul};

use fxkit::fixed::pixels4;
use fxkit::kernels::{
    self,
    resize::{halve_horizontal, halve_lanes, halve_vertical, halve_vertical_lanes, halve_widen, Halve},
};

use crate::resize8::{self, Taps8};

/// Resampling kernels.
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Nearest neighbour (no smoothing).
    Nearest,
    /// Triangle filter, support 1.
    Bilinear,
    /// Catmull-Rom cubic (a = −0.5), support 2.
    Bicubic,
    /// Lanczos windowed sinc, support 3.
    Lanczos3,
    /// Area average (box), support ½: used by the fast variant.
    #[choice("box")]
    Box,
}

impl Kernel {
    fn support(self) -> f64 {
        match self {
            Kernel::Nearest | Kernel::Box => 0.5,
            Kernel::Bilinear => 1.0,
            Kernel::Bicubic => 2.0,
            Kernel::Lanczos3 => 3.0,
        }
    }
    fn eval(self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Kernel::Nearest | Kernel::Box => {
                if x <= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            Kernel::Bilinear => (1.0 - x).max(0.0),
            Kernel::Bicubic => {
                let a = -0.5;
                if x < 1.0 {
                    ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * a
                } else {
                    0.0
                }
            }
            Kernel::Lanczos3 => {
                if x < 1e-8 {
                    1.0
                } else if x < 3.0 {
                    let px = std::f64::consts::PI * x;
                    3.0 * px.sin() * (px / 3.0).sin() / (px * px)
                } else {
                    0.0
                }
            }
        }
    }
}

/// How `width` and `height` are read.
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Exactly `width` × `height`.
    Stretch,
    /// The largest size within `width` × `height` that keeps the aspect ratio.
    Contain,
    /// As `contain`, but never larger than the input: an image that already fits keeps its size
    /// (ImageMagick's `WxH>`).
    Shrink,
}

/// Parameters of `geometry.resize` and its fast variant.
#[derive(Params)]
pub struct ResizeParams {
    /// Target width; 0 derives it from the height and the aspect ratio (or from `scale` when
    /// both are 0).
    #[param(default = 0, range = 0..=65536, unit = "px")]
    pub width: u32,
    /// Target height; 0 derives it from the width and the aspect ratio.
    #[param(default = 0, range = 0..=65536, unit = "px")]
    pub height: u32,
    /// Scale factor, used when neither width nor height is set (half size by default).
    #[param(default = 0.5, range = 0.001..=64.0)]
    pub scale: f32,
    /// "stretch" to `width` × `height` (with both set), "contain" within them keeping the aspect
    /// ratio, or "shrink": as "contain" but only ever making the image smaller, so an input that
    /// already fits keeps its size (ImageMagick's `WxH>`; a thumbnail that never upscales).
    /// With "shrink", sizes from `width` or `height` alone, or from `scale`, never exceed the
    /// input either.
    #[param(default = "stretch")]
    pub fit: Fit,
    /// Resampling kernel (support 3 for lanczos3, as Pillow and libvips).
    #[param(default = "lanczos3")]
    pub filter: Kernel,
}

fn target_size(p: &ResizeParams, input: Size) -> Result<Size, PluginError> {
    let (iw, ih) = (input.width as f64, input.height as f64);
    let (w, h) = match (p.width, p.height) {
        (0, 0) => ((iw * p.scale as f64).round().max(1.0), (ih * p.scale as f64).round().max(1.0)),
        (w, 0) => (w as f64, (ih * w as f64 / iw).round().max(1.0)),
        (0, h) => ((iw * h as f64 / ih).round().max(1.0), h as f64),
        (w, h) if p.fit != Fit::Stretch => {
            let s = (w as f64 / iw).min(h as f64 / ih);
            ((iw * s).round().min(w as f64), (ih * s).round().min(h as f64))
        }
        (w, h) => (w as f64, h as f64),
    };
    let (w, h) = if p.fit == Fit::Shrink && (w > iw || h > ih) { (iw, ih) } else { (w, h) };
    if !(1.0..=65536.0).contains(&w) || !(1.0..=65536.0).contains(&h) {
        return Err(PluginError::invalid_params(format!("the resized image would be {w}x{h}")));
    }
    Ok(Size::new(w as u32, h as u32))
}

/// Contributions to one output sample: first input index and weights.
#[derive(Clone, Debug)]
pub struct Taps {
    pub(crate) start: usize,
    pub(crate) weights: Vec<f32>,
}

/// The taps of `output` samples over `input` samples, output sample `o` centred at input
/// position `(o + ½) · scale`.
fn taps_at(kernel: Kernel, input: u32, output: u32, scale: f64) -> Vec<Taps> {
    let filter_scale = scale.max(1.0);
    let support = kernel.support() * filter_scale;
    (0..output)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            if kernel == Kernel::Nearest {
                let i = (center.floor() as i64).clamp(0, input as i64 - 1) as usize;
                return Taps { start: i, weights: vec![1.0] };
            }
            let lo = ((center - support).floor() as i64).max(0);
            let hi = ((center + support).ceil() as i64).min(input as i64);
            let mut w: Vec<f64> = (lo..hi).map(|i| kernel.eval((i as f64 + 0.5 - center) / filter_scale)).collect();
            let sum: f64 = w.iter().sum();
            if sum.abs() > 1e-12 {
                w.iter_mut().for_each(|v| *v /= sum);
            }
            Taps { start: lo as usize, weights: w.into_iter().map(|v| v as f32).collect() }
        })
        .collect()
}

/// The prepared resize.
#[derive(Default)]
pub struct ResizePlan {
    out: Size,
    xs: Vec<Taps>,
    ys: Vec<Taps>,
    /// Input rows on each side of an output row's centre that its taps may reach.
    reach: f64,
    /// The taps laid out for the opaque 8-bit path.
    taps8: Option<Taps8>,
    /// An exact 2× area shrink, done on 8-bit pixels directly.
    halve: bool,
}

impl ResizePlan {
    fn new(kernel: Kernel, input: Size, out: Size) -> ResizePlan {
        let halve = kernel == Kernel::Box && out.width * 2 == input.width && out.height * 2 == input.height;
        let scale = (input.width as f64 / out.width as f64, input.height as f64 / out.height as f64);
        ResizePlan::with_scale(kernel, input, out, scale, halve)
    }

    /// The plan with output samples centred at input positions `(o + ½) · scale` on each axis.
    fn with_scale(kernel: Kernel, input: Size, out: Size, scale: (f64, f64), halve: bool) -> ResizePlan {
        let xs = taps_at(kernel, input.width, out.width, scale.0);
        let ys = taps_at(kernel, input.height, out.height, scale.1);
        let taps8 = (!halve).then(|| Taps8::new(&xs, &ys, input.width as usize));
        // The taps of an output row lie within the kernel's support (widened when shrinking)
        // of its centre; half a row more absorbs rounding.
        let reach = kernel.support() * scale.1.max(1.0) + 0.5;
        ResizePlan { out, xs, ys, reach, taps8, halve }
    }
}

/// The fast variant's plan when both sides shrink by exactly 2 or by 2.2 or more: a 2:1 reduction of the input
/// with six taps of the filter's own kernel (its weights at ½, 1½ and 2½ input pixels from an
/// output centre, the rest cut off and the kernel renormalized), then the filter itself for
/// the rest of the reduction (none at an exact half).
pub struct HalvePlan {
    kernel: Halve,
    /// The reduced size: half the input, rounded up.
    mid: Size,
    /// From the reduced size to the output; `None` when they are the same (an exact half).
    rest: Option<ResizePlan>,
    /// Input rows on each side of an output row's centre that it reads.
    reach: f64,
}

impl HalvePlan {
    fn new(filter: Kernel, input: Size, out: Size) -> Option<HalvePlan> {
        let mid = Size::new(input.width.div_ceil(2), input.height.div_ceil(2));
        if filter == Kernel::Nearest || mid.width < out.width || mid.height < out.height {
            return None;
        }
        // Box means are exact area averages at integer factors only: halve only when the
        // remaining factor is an integer too (as at ½ or ¼).
        let even = |i: u32, o: u32| i.is_multiple_of(2 * o);
        if filter == Kernel::Box && !(even(input.width, out.width) && even(input.height, out.height)) {
            return None;
        }
        let kernel = Halve::new(halving_weights(filter))?;
        let scale = (input.width as f64 / out.width as f64, input.height as f64 / out.height as f64);
        let exact = mid == out && input.width == 2 * out.width && input.height == 2 * out.height;
        // A rest just above 1 (an odd side at ½, say) would resample the halved image at a
        // drifting phase and blur it: there the next shorter kernel is closer to the reference.
        let axis_ok = |i: u32, o: u32, r: f64| i == 2 * o || r >= MIN_REST;
        if !axis_ok(input.width, out.width, scale.0 / 2.0) || !axis_ok(input.height, out.height, scale.1 / 2.0) {
            return None;
        }
        // The reduced image's pixel j covers input pixels 2j and 2j + 1.
        let rest = (!exact).then(|| ResizePlan::with_scale(filter, mid, out, (scale.0 / 2.0, scale.1 / 2.0), false));
        // An output row reads the reduced rows within `rest.reach` of its centre, and each of
        // them the input rows 2j − 2 ..= 2j + 3.
        let reach = rest.as_ref().map_or(0.5, |r| r.reach) * 2.0 + 3.0;
        Some(HalvePlan { kernel, mid, rest, reach })
    }

    /// The reduced rows that output rows `output` read.
    fn mid_rows(&self, output: Rows) -> Rows {
        match &self.rest {
            Some(rest) => input_rows(rest, output),
            None => output,
        }
    }

    /// The input rows that reduced rows `mid` read.
    #[cfg(test)]
    fn input_rows(&self, mid: Rows, input_height: u32) -> Rows {
        let last = input_height as i64 - 1;
        let first = (2 * mid.start as i64 - 2).clamp(0, last);
        let end = (2 * (mid.end as i64 - 1) + 3).clamp(0, last) + 1;
        Rows::new(first as u32, end as u32)
    }
}

/// The least reduction left after the 2:1 stage on a side that is not an exact half (1.1: at
/// 0.45 the photo keeps 43 dB against the reference with Lanczos3, at an odd side's ½ it would
/// drop to 40.5 dB).
const MIN_REST: f64 = 1.1;

/// The pair weights of the 2:1 stage for `filter`: its kernel widened by 2, at ½, 1½ and 2½
/// input pixels from the centre, scaled to sum to ½ (one side of the kernel).
fn halving_weights(filter: Kernel) -> [f64; 3] {
    let w = [0.5, 1.5, 2.5].map(|d| filter.eval(d / 2.0));
    let sum: f64 = w.iter().sum();
    w.map(|v| v / (2.0 * sum))
}

/// Input rows converted to halving lanes, each once: row `y` lives in slot `y % 6`.
struct HalveRing {
    rows: [Vec<i16>; 6],
    held: [Option<u32>; 6],
}

impl HalveRing {
    fn new(width: usize) -> Self {
        HalveRing { rows: std::array::from_fn(|_| vec![0i16; halve_lanes(width)]), held: [None; 6] }
    }

    /// The input rows 2j − 2 ..= 2j + 3 (clamped to the image) of reduced row `j`.
    fn window<'r>(&mut self, j: u32, height: u32, row: impl Fn(u32) -> &'r [Rgba8]) -> [&[i16]; 6] {
        let ys: [u32; 6] = std::array::from_fn(|k| (2 * j as i64 - 2 + k as i64).clamp(0, height as i64 - 1) as u32);
        for &y in &ys {
            let s = y as usize % 6;
            if self.held[s] != Some(y) {
                halve_widen(row(y), &mut self.rows[s]);
                self.held[s] = Some(y);
            }
        }
        ys.map(|y| self.rows[y as usize % 6].as_slice())
    }
}

/// Renders a band through [`HalvePlan`]; `false` (nothing done) unless the frames are opaque
/// `Rgba8`.
fn render_halved<P: Pixel>(h: &HalvePlan, input: &Image<'_, P>, out: &mut Band<'_, P>) -> bool {
    if !input.is_opaque() || P::as_rgba8(&[]).is_none() {
        return false;
    }
    let input = *input;
    let (iw, ih, mw) = (input.width() as usize, input.height(), h.mid.width as usize);
    let level = kernels::level();
    let mut ring = HalveRing::new(iw);
    let mut v = vec![0i16; halve_vertical_lanes(iw)];
    let mut bytes = vec![0u8; 4 * mw];
    let mut reduce = |j: u32, dst: &mut [Rgba8]| {
        let window = ring.window(j, ih, |y| P::as_rgba8(input.row(y)).expect("8-bit frame"));
        halve_vertical(level, &h.kernel, &window, &mut v);
        halve_horizontal(level, &h.kernel, &v, &mut bytes);
        let mut quads = dst.chunks_exact_mut(4);
        for (d, b) in (&mut quads).zip(bytes.chunks_exact(16)) {
            d.copy_from_slice(&pixels4(b.try_into().expect("sixteen bytes")));
        }
        let rest = &bytes[16 * (mw / 4)..];
        for (d, b) in quads.into_remainder().iter_mut().zip(rest.chunks_exact(4)) {
            *d = Rgba8::new(b[0], b[1], b[2], b[3]);
        }
    };
    match &h.rest {
        None => {
            for (y, row) in out.rows_mut() {
                reduce(y, P::as_rgba8_mut(row).expect("8-bit frame"));
            }
        }
        Some(rest) => {
            let mid = h.mid_rows(out.rows());
            let mut buf = vec![Rgba8::new(0, 0, 0, 255); mid.len() as usize * mw];
            for (j, dst) in (mid.start..mid.end).zip(buf.chunks_exact_mut(mw)) {
                reduce(j, dst);
            }
            let t8 = rest.taps8.as_ref().expect("the rest of a reduction has 8-bit taps");
            let row = |j: u32| &buf[(j - mid.start) as usize * mw..][..mw];
            resize8::render_rows(&rest.ys, t8, mw, row, out);
        }
    }
    true
}

/// 2×2 means of opaque 8-bit pixels, rounded: the same numbers as the box kernel gives.
fn halve_rgba8(a: &[Rgba8], b: &[Rgba8], out: &mut [Rgba8]) {
    for (i, d) in out.iter_mut().enumerate() {
        let (p, q, r, s) = (a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]);
        let m = |w: u8, x: u8, y: u8, z: u8| ((w as u16 + x as u16 + y as u16 + z as u16 + 2) >> 2) as u8;
        *d = Rgba8::new(m(p.r, q.r, r.r, s.r), m(p.g, q.g, r.g, s.g), m(p.b, q.b, r.b, s.b), m(p.a, q.a, r.a, s.a));
    }
}

fn input_rows(plan: &ResizePlan, output: Rows) -> Rows {
    let first = &plan.ys[output.start as usize];
    let last = &plan.ys[output.end as usize - 1];
    Rows::new(first.start as u32, (last.start + last.weights.len()) as u32)
}

fn render<P: Pixel>(plan: &ResizePlan, input: &Image<'_, P>, out: &mut Band<'_, P>) {
    if plan.halve && input.is_opaque() {
        let mut done = true;
        for (y, row) in out.rows_mut() {
            let (a, b, d) = (P::as_rgba8(input.row(2 * y)), P::as_rgba8(input.row(2 * y + 1)), P::as_rgba8_mut(row));
            match (a, b, d) {
                (Some(a), Some(b), Some(d)) => halve_rgba8(a, b, d),
                _ => {
                    done = false;
                    break;
                }
            }
        }
        if done {
            return;
        }
    }
    if let Some(t8) = plan.taps8.as_ref().filter(|_| input.is_opaque()) {
        if resize8::render(&plan.ys, t8, input, out) {
            return;
        }
    }
    let rows = out.rows();
    let need = input_rows(plan, rows);
    let (iw, ow) = (input.width() as usize, plan.out.width as usize);
    let opaque = input.is_opaque();
    let mut line = vec![[0f32; 4]; iw];
    let mut hbuf = vec![[0f32; 4]; need.len() as usize * ow];
    for (j, y) in (need.start..need.end).enumerate() {
        load_premul(input.row(y), &mut line, opaque);
        for (d, t) in hbuf[j * ow..(j + 1) * ow].iter_mut().zip(&plan.xs) {
            let mut acc = [0f32; 4];
            for (p, &w) in line[t.start..t.start + t.weights.len()].iter().zip(&t.weights) {
                add_weighted(&mut acc, p, w);
            }
            *d = acc;
        }
    }
    let mut acc = vec![[0f32; 4]; ow];
    for (y, row) in out.rows_mut() {
        let t = &plan.ys[y as usize];
        acc.iter_mut().for_each(|a| *a = [0.0; 4]);
        for (k, &w) in t.weights.iter().enumerate() {
            let j = t.start + k - need.start as usize;
            for (a, p) in acc.iter_mut().zip(&hbuf[j * ow..(j + 1) * ow]) {
                add_weighted(a, p, w);
            }
        }
        if !opaque {
            // Negative lobes can push alpha slightly outside 0..1.
            acc.iter_mut().for_each(|a| a[3] = a[3].clamp(0.0, 1.0));
        }
        store_premul(&acc, row, opaque);
    }
}

/// `acc += w · p`, channel by channel.
#[inline(always)]
fn add_weighted(acc: &mut [f32; 4], p: &[f32; 4], w: f32) {
    for (a, v) in acc.iter_mut().zip(p) {
        *a += v * w;
    }
}

/// Resizing, the reference (`FAST` false) or the fast variant: one implementation, which
/// differs only in the kernel `setup` picks.
#[derive(Default)]
pub struct Resampler<const FAST: bool>(ResizePlan, Option<HalvePlan>);

/// Resize, the reference: separable filter with the chosen kernel, antialiased when shrinking.
pub type Resize = Resampler<false>;

/// Fast resize: when both sides shrink by exactly 2 or by 2.2 or more, a 2:1 reduction with six taps of the
/// filter's own kernel in 16-bit fixed point, then the filter for the rest ([`HalvePlan`]);
/// otherwise, and for frames with alpha or in floats, the next shorter kernel ([`fast_kernel`]).
pub type ResizeFast = Resampler<true>;

const UP: &str = r#"{"width": 100, "filter": "bicubic"}"#;
const CONTAIN: &str = r#"{"width": 40, "height": 40, "fit": "contain", "filter": "bilinear"}"#;

/// The kernel the fast variant uses for `filter`: the next shorter one (Lanczos3 → bicubic →
/// bilinear → box when shrinking; bilinear and box enlarge bilinearly), nearest stays nearest.
fn fast_kernel(filter: Kernel, input: Size, out: Size) -> Kernel {
    let shrinking = out.width <= input.width && out.height <= input.height;
    match filter {
        Kernel::Nearest => Kernel::Nearest,
        Kernel::Lanczos3 => Kernel::Bicubic,
        Kernel::Bicubic => Kernel::Bilinear,
        Kernel::Bilinear | Kernel::Box if shrinking => Kernel::Box,
        Kernel::Bilinear | Kernel::Box => Kernel::Bilinear,
    }
}

const FAST_META: Meta = Meta::new("geometry.resize.fast")
    .summary("Resize: a 2:1 stage of six taps of `filter`'s kernel when shrinking by 2 (or 2.2+), then `filter`.")
    .doc(concat!(
        "When both sides shrink by exactly 2 or by 2.2 or more (opaque 8-bit frames), the input is first halved with six taps of ",
        "the filter's own kernel (its weights at ½, 1½ and 2½ pixels, renormalized; 16-bit fixed point), then ",
        "resampled with the filter for the rest of the reduction (nothing at an exact half; box only at even ",
        "factors). Other ratios, frames with alpha and float frames take the next shorter kernel: ",
        "Lanczos3 → bicubic → bilinear → box (area) when shrinking, bilinear when enlarging."
    ))
    .variant_of("geometry.resize", Tier::FAST)
    .access(Access::GLOBAL)
    .tests(&[
        Test::new("half, opaque").seed(2).psnr("geometry.resize", 48.0),
        Test::new("half, bicubic, opaque").seed(2).params(r#"{"filter": "bicubic"}"#).psnr("geometry.resize", 51.0),
        Test::new("third, opaque").seed(2).params(r#"{"scale": 0.3333}"#).psnr("geometry.resize", 50.5),
        Test::new("half, with alpha").psnr("geometry.resize", 36.0),
        Test::new("up").params(UP).psnr("geometry.resize", 39.0),
    ]);

const REFERENCE_META: Meta = Meta::new("geometry.resize")
    .summary("Resizes by size, by scale, or to fit a box; nearest, bilinear, bicubic or Lanczos3.")
    .doc(concat!(
        "Antialiased like Pillow and libvips: when shrinking, the kernel is widened by the scale factor. ",
        "Alpha is premultiplied while filtering."
    ))
    .access(Access::GLOBAL)
    .tests(&[
        Test::new("half, lanczos3").hash("bc3a5e558fcf1588"),
        Test::new("up, bicubic").params(UP).hash("ccb6735e21e1b886"),
        Test::new("contain, bilinear, float").f32().params(CONTAIN).hash("b070bd15fe04ad83"),
        Test::new("shrink keeps a small input")
            .params(r#"{"width": 200, "height": 100, "fit": "shrink"}"#)
            .hash("9f1f8f9c96163184"),
        Test::new("shrink, nearest")
            .params(r#"{"width": 20, "height": 100, "fit": "shrink", "filter": "nearest"}"#)
            .hash("b270db0f40ee22c9"),
    ]);

impl<const FAST: bool> Filter for Resampler<FAST> {
    const META: Meta = if FAST { FAST_META } else { REFERENCE_META };
    type Params = ResizeParams;
    fn setup(&mut self, p: &ResizeParams, input: Size) -> Result<(), PluginError> {
        let out = target_size(p, input)?;
        let kernel = if FAST { fast_kernel(p.filter, input, out) } else { p.filter };
        self.0 = ResizePlan::new(kernel, input, out);
        self.1 = if FAST { HalvePlan::new(p.filter, input, out) } else { None };
        Ok(())
    }
    fn output_size(&self, _: &ResizeParams, _: Size) -> Size {
        self.0.out
    }
    fn footprint(&self, _: &ResizeParams, input: Size, output: Size) -> Footprint {
        let reach = self.1.as_ref().map_or(self.0.reach, |h| h.reach.max(self.0.reach));
        Footprint::scale(input.height as f64 / output.height as f64, reach)
    }
    fn render<P: Pixel>(&self, _: &ResizeParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        if let Some(h) = &self.1 {
            if render_halved(h, input, out) {
                return;
            }
        }
        render(&self.0, input, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(width: u32, height: u32, scale: f32, fit: Fit, input: Size) -> Size {
        let p = ResizeParams { width, height, scale, fit, filter: Kernel::Lanczos3 };
        target_size(&p, input).unwrap()
    }

    #[test]
    fn shrink_contains_large_inputs_and_keeps_small_ones() {
        let (small, large) = (Size::new(30, 22), Size::new(600, 440));
        // `contain` enlarges a small input to the box; `shrink` keeps it.
        assert_eq!(size(256, 256, 0.5, Fit::Contain, small), Size::new(256, 188));
        assert_eq!(size(256, 256, 0.5, Fit::Shrink, small), small);
        // A large input is shrunk as `contain` shrinks it.
        assert_eq!(size(256, 256, 0.5, Fit::Contain, large), Size::new(256, 188));
        assert_eq!(size(256, 256, 0.5, Fit::Shrink, large), Size::new(256, 188));
        // Too large on one side only: shrunk to fit that side.
        assert_eq!(size(300, 100, 0.5, Fit::Shrink, Size::new(200, 150)), Size::new(133, 100));
        // An input exactly the box's size stays as it is.
        assert_eq!(size(30, 22, 0.5, Fit::Shrink, small), small);
        // One side given, or a scale: never larger than the input either.
        assert_eq!(size(64, 0, 0.5, Fit::Shrink, small), small);
        assert_eq!(size(0, 11, 0.5, Fit::Shrink, small), Size::new(15, 11));
        assert_eq!(size(0, 0, 2.0, Fit::Shrink, small), small);
        assert_eq!(size(0, 0, 2.0, Fit::Stretch, small), Size::new(60, 44));
        assert_eq!(size(64, 64, 0.5, Fit::Stretch, small), Size::new(64, 64));
    }

    /// Every output row's footprint holds the input rows its taps read, for both effects.
    fn footprint_holds_the_taps<const FAST: bool>(kernel: Kernel, ih: u32, oh: u32) {
        let (input, output) = (Size::new(9, ih), Size::new(4, oh));
        let p = ResizeParams { width: 4, height: oh, scale: 0.5, fit: Fit::Stretch, filter: kernel };
        let mut effect = Resampler::<FAST>::default();
        effect.setup(&p, input).unwrap();
        assert_eq!(effect.output_size(&p, input), output);
        let fp = effect.footprint(&p, input, output);
        for y in 0..oh {
            let rows = fp.input_rows(Rows::new(y, y + 1), output.width, ih);
            if let Some(h) = &effect.1 {
                // The 2:1 path: the input rows of the reduced rows this row reads.
                let read = h.input_rows(h.mid_rows(Rows::new(y, y + 1)), ih);
                assert!(
                    rows.start <= read.start && read.end <= rows.end,
                    "{kernel:?} halved {ih}->{oh}, row {y}: reads {read:?} outside {rows:?}"
                );
            }
            let t = &effect.0.ys[y as usize];
            assert!(
                rows.start as usize <= t.start && t.start + t.weights.len() <= rows.end as usize,
                "{kernel:?} (fast: {FAST}) {ih}->{oh}, row {y}: taps {}..{} outside {rows:?}",
                t.start,
                t.start + t.weights.len()
            );
        }
    }

    #[test]
    fn footprints_hold_every_row_the_taps_read() {
        let kernels = [Kernel::Nearest, Kernel::Bilinear, Kernel::Bicubic, Kernel::Lanczos3, Kernel::Box];
        for kernel in kernels {
            for (ih, oh) in
                [(22, 11), (22, 7), (30, 41), (7, 64), (1, 5), (5, 1), (1000, 3), (97, 97), (23, 11), (9, 4), (41, 13)]
            {
                footprint_holds_the_taps::<false>(kernel, ih, oh);
                footprint_holds_the_taps::<true>(kernel, ih, oh);
            }
        }
    }
}
