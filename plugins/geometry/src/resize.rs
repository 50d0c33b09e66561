//! Separable resampling with antialiasing (the kernel widens by the downscale factor, as in
//! Pillow and libvips), on premultiplied alpha.

use fxchain_plugin_api::prelude::*;
use fxkit::rows::{load_premul, store_premul};

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

fn taps(kernel: Kernel, input: u32, output: u32) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
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
        let (xs, ys) = (taps(kernel, input.width, out.width), taps(kernel, input.height, out.height));
        let taps8 = (!halve).then(|| Taps8::new(&xs, &ys, input.width as usize));
        // The taps of an output row lie within the kernel's support (widened when shrinking)
        // of its centre; half a row more absorbs rounding.
        let reach = kernel.support() * (input.height as f64 / out.height as f64).max(1.0) + 0.5;
        ResizePlan { out, xs, ys, reach, taps8, halve }
    }
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
pub struct Resampler<const FAST: bool>(ResizePlan);

/// Resize, the reference: separable filter with the chosen kernel, antialiased when shrinking.
pub type Resize = Resampler<false>;

/// Fast resize: an area average when shrinking (like OpenCV's INTER_AREA) and bilinear when
/// enlarging, whatever `filter` says (except `nearest`).
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
    .summary("Resize with the next shorter kernel than `filter`: Lanczos3 → bicubic → bilinear → box (area).")
    .variant_of("geometry.resize", Tier::FAST)
    .access(Access::GLOBAL)
    .tests(&[
        Test::new("half").psnr("geometry.resize", 36.0),
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
        Ok(())
    }
    fn output_size(&self, _: &ResizeParams, _: Size) -> Size {
        self.0.out
    }
    fn footprint(&self, _: &ResizeParams, input: Size, output: Size) -> Footprint {
        Footprint::scale(input.height as f64 / output.height as f64, self.0.reach)
    }
    fn render<P: Pixel>(&self, _: &ResizeParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
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
            for (ih, oh) in [(22, 11), (22, 7), (30, 41), (7, 64), (1, 5), (5, 1), (1000, 3), (97, 97)] {
                footprint_holds_the_taps::<false>(kernel, ih, oh);
                footprint_holds_the_taps::<true>(kernel, ih, oh);
            }
        }
    }
}
