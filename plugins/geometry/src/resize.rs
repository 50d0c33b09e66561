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

/// How `width`/`height` are read when both are set.
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fit {
    /// Exactly `width` × `height`.
    Stretch,
    /// The largest size within `width` × `height` that keeps the aspect ratio.
    Contain,
}

/// Parameters of `geometry.resize` and its fast variant.
#[derive(Params, Clone)]
pub struct ResizeParams {
    /// Target width; 0 derives it from the height and the aspect ratio (or from `scale` when
    /// both are 0).
    #[param(id = "width", default = 0, range = 0..=65536, unit = "px")]
    pub width: u32,
    /// Target height; 0 derives it from the width and the aspect ratio.
    #[param(id = "height", default = 0, range = 0..=65536, unit = "px")]
    pub height: u32,
    /// Scale factor, used when neither width nor height is set (half size by default).
    #[param(id = "scale", default = 0.5, range = 0.001..=64.0)]
    pub scale: f32,
    /// With both width and height: "stretch" to them or "contain" within them.
    #[param(id = "fit", default = "stretch")]
    pub fit: Fit,
    /// Resampling kernel (support 3 for lanczos3, as Pillow and libvips).
    #[param(id = "filter", default = "lanczos3")]
    pub filter: Kernel,
}

fn target_size(p: &ResizeParams, input: Size) -> Result<Size, PluginError> {
    let (iw, ih) = (input.width as f64, input.height as f64);
    let (w, h) = {
        match (p.width, p.height) {
            (0, 0) => ((iw * p.scale as f64).round().max(1.0), (ih * p.scale as f64).round().max(1.0)),
            (w, 0) => (w as f64, (ih * w as f64 / iw).round().max(1.0)),
            (0, h) => ((iw * h as f64 / ih).round().max(1.0), h as f64),
            (w, h) if p.fit == Fit::Contain => {
                let s = (w as f64 / iw).min(h as f64 / ih);
                ((iw * s).round().min(w as f64), (ih * s).round().min(h as f64))
            }
            (w, h) => (w as f64, h as f64),
        }
    };
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
pub struct ResizePlan {
    out: Size,
    xs: Vec<Taps>,
    ys: Vec<Taps>,
    /// The taps laid out for the opaque 8-bit path.
    taps8: Option<Taps8>,
    /// An exact 2× area shrink, done on 8-bit pixels directly.
    halve: bool,
}

fn plan(p: &ResizeParams, kernel: Kernel, input: Size) -> Result<ResizePlan, PluginError> {
    let out = target_size(p, input)?;
    let halve = kernel == Kernel::Box && out.width * 2 == input.width && out.height * 2 == input.height;
    let (xs, ys) = (taps(kernel, input.width, out.width), taps(kernel, input.height, out.height));
    let taps8 = (!halve).then(|| Taps8::new(&xs, &ys, input.width as usize));
    Ok(ResizePlan { out, xs, ys, taps8, halve })
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
                acc[0] += p[0] * w;
                acc[1] += p[1] * w;
                acc[2] += p[2] * w;
                acc[3] += p[3] * w;
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
                a[0] += p[0] * w;
                a[1] += p[1] * w;
                a[2] += p[2] * w;
                a[3] += p[3] * w;
            }
        }
        if !opaque {
            // Negative lobes can push alpha slightly outside 0..1.
            acc.iter_mut().for_each(|a| a[3] = a[3].clamp(0.0, 1.0));
        }
        store_premul(&acc, row, opaque);
    }
}

/// Resize, the reference: separable filter with the chosen kernel, antialiased when shrinking.
#[derive(Default)]
pub struct Resize;
impl Filter for Resize {
    const ID: &'static str = "geometry.resize";
    const SUMMARY: &'static str = "Resizes by size, by scale, or to fit a box; nearest, bilinear, bicubic or Lanczos3.";
    const DOC: &'static str = "Antialiased like Pillow and libvips: when shrinking, the kernel is widened by the scale factor. Alpha is premultiplied while filtering.";
    const ACCESS: Access = Access::GLOBAL;
    type Params = ResizeParams;
    type Plan = ResizePlan;
    fn plan(&self, p: ResizeParams, input: Size) -> Result<ResizePlan, PluginError> {
        plan(&p, p.filter, input)
    }
    fn output_size(&self, plan: &ResizePlan, _: Size) -> Size {
        plan.out
    }
    fn input_rows(&self, plan: &ResizePlan, output: Rows, _: Size) -> Rows {
        input_rows(plan, output)
    }
    fn render<P: Pixel>(
        &self,
        plan: &ResizePlan,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        render(plan, input, out);
        Ok(())
    }
}

/// Fast resize: an area average when shrinking (like OpenCV's INTER_AREA) and bilinear when
/// enlarging, whatever `filter` says.
#[derive(Default)]
pub struct ResizeFast;
impl Filter for ResizeFast {
    const ID: &'static str = "geometry.resize.fast";
    const SUMMARY: &'static str =
        "Resize by area averaging (shrinking) or bilinear (enlarging); much cheaper than Lanczos3.";
    const VARIANT_OF: &'static str = "geometry.resize";
    const TIER: Tier = Tier::FAST;
    const ACCESS: Access = Access::GLOBAL;
    type Params = ResizeParams;
    type Plan = ResizePlan;
    fn plan(&self, p: ResizeParams, input: Size) -> Result<ResizePlan, PluginError> {
        let out = target_size(&p, input)?;
        let shrink = out.width <= input.width && out.height <= input.height;
        let k = match p.filter {
            Kernel::Nearest => Kernel::Nearest,
            _ if shrink => Kernel::Box,
            _ => Kernel::Bilinear,
        };
        plan(&p, k, input)
    }
    fn output_size(&self, plan: &ResizePlan, _: Size) -> Size {
        plan.out
    }
    fn input_rows(&self, plan: &ResizePlan, output: Rows, _: Size) -> Rows {
        input_rows(plan, output)
    }
    fn render<P: Pixel>(
        &self,
        plan: &ResizePlan,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        render(plan, input, out);
        Ok(())
    }
}
