//! Edge detection on Rec. 709 luma.

use fxchain_plugin_api::prelude::*;
use fxkit::conv::rows_needed;
use fxkit::Border;

#[inline]
fn luma<P: Pixel>(p: P) -> f32 {
    let c = p.to_f32();
    0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b
}

/// Loads the luma of rows `y-1..=y+1` (with border handling) into three lines with one pixel of
/// border on each side.
fn luma_rows<P: Pixel>(input: &Image<'_, P>, y: u32, border: Border, lines: &mut [Vec<f32>; 3]) {
    let w = input.width() as usize;
    for (k, line) in lines.iter_mut().enumerate() {
        let sy = border.index(y as i64 + k as i64 - 1, input.height());
        for (i, v) in line.iter_mut().enumerate() {
            let sx = border.index(i as i64 - 1, w as u32);
            *v = match (sx, sy) {
                (Some(x), Some(yy)) => luma(input.row(yy as u32)[x]),
                _ => 0.0,
            };
        }
    }
}

/// Parameters of `edges.sobel`.
#[derive(Params)]
pub struct SobelParams {
    /// Multiplier on the gradient magnitude before clamping to 1.
    #[param(id = "scale", default = 1.0, range = 0.0..=100.0)]
    pub scale: f32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Sobel gradient magnitude of luma, as grey.
#[derive(Default)]
pub struct Sobel;
impl Filter for Sobel {
    const ID: &'static str = "edges.sobel";
    const SUMMARY: &'static str = "Sobel gradient magnitude of Rec. 709 luma, as grey (alpha kept).";
    const DOC: &'static str = "The 3×3 Sobel kernels on luma in 0..1, magnitude sqrt(gx² + gy²) clamped to 1 — on 8-bit data the same numbers as OpenCV's Sobel magnitude clamped to 255.";
    type Params = SobelParams;
    type Plan = SobelParams;
    fn plan(&self, p: SobelParams, _: Size) -> Result<SobelParams, PluginError> {
        Ok(p)
    }
    fn input_rows(&self, p: &SobelParams, output: Rows, input: Size) -> Rows {
        rows_needed(output, 1, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        p: &SobelParams,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let w = input.width() as usize;
        let mut l: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; w + 2]);
        for (y, row) in out.rows_mut() {
            luma_rows(input, y, p.border, &mut l);
            let src = input.row(y);
            for (x, d) in row.iter_mut().enumerate() {
                let (a, b, c) = (&l[0], &l[1], &l[2]);
                let gx = (a[x + 2] + 2.0 * b[x + 2] + c[x + 2]) - (a[x] + 2.0 * b[x] + c[x]);
                let gy = (c[x] + 2.0 * c[x + 1] + c[x + 2]) - (a[x] + 2.0 * a[x + 1] + a[x + 2]);
                let m = ((gx * gx + gy * gy).sqrt() * p.scale).min(1.0);
                *d = P::from_f32(RgbaF32::new(m, m, m, src[x].to_f32().a));
            }
        }
        Ok(())
    }
}

/// Parameters of `edges.emboss`.
#[derive(Params)]
pub struct EmbossParams {
    /// Direction of the light in degrees (0 = from the left, 90 = from the top).
    #[param(id = "angle", default = 135.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
    /// Height of the relief.
    #[param(id = "strength", default = 2.0, range = 0.0..=20.0)]
    pub strength: f32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Emboss: grey relief lit from a direction.
#[derive(Default)]
pub struct Emboss;
impl Filter for Emboss {
    const ID: &'static str = "edges.emboss";
    const SUMMARY: &'static str = "Grey relief: 0.5 plus the luma gradient along the light direction.";
    type Params = EmbossParams;
    type Plan = EmbossParams;
    fn plan(&self, p: EmbossParams, _: Size) -> Result<EmbossParams, PluginError> {
        Ok(p)
    }
    fn input_rows(&self, p: &EmbossParams, output: Rows, input: Size) -> Rows {
        rows_needed(output, 1, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        p: &EmbossParams,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let w = input.width() as usize;
        let (s, c) = p.angle.to_radians().sin_cos();
        let mut l: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; w + 2]);
        for (y, row) in out.rows_mut() {
            luma_rows(input, y, p.border, &mut l);
            let src = input.row(y);
            for (x, d) in row.iter_mut().enumerate() {
                let (a, b, cc) = (&l[0], &l[1], &l[2]);
                let gx = ((a[x + 2] + 2.0 * b[x + 2] + cc[x + 2]) - (a[x] + 2.0 * b[x] + cc[x])) / 8.0;
                let gy = ((cc[x] + 2.0 * cc[x + 1] + cc[x + 2]) - (a[x] + 2.0 * a[x + 1] + a[x + 2])) / 8.0;
                // Light from `angle`: slopes facing it are bright.
                let v = (0.5 - p.strength * (gx * c - gy * s)).clamp(0.0, 1.0);
                *d = P::from_f32(RgbaF32::new(v, v, v, src[x].to_f32().a));
            }
        }
        Ok(())
    }
}

/// Parameters of `edges.laplacian`.
#[derive(Params)]
pub struct LaplacianParams {
    /// Multiplier on |∇²L| before clamping to 1.
    #[param(id = "scale", default = 1.0, range = 0.0..=100.0)]
    pub scale: f32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Absolute 4-neighbour Laplacian of luma.
#[derive(Default)]
pub struct Laplacian;
impl Filter for Laplacian {
    const ID: &'static str = "edges.laplacian";
    const SUMMARY: &'static str = "Absolute 4-neighbour Laplacian of luma, as grey.";
    type Params = LaplacianParams;
    type Plan = LaplacianParams;
    fn plan(&self, p: LaplacianParams, _: Size) -> Result<LaplacianParams, PluginError> {
        Ok(p)
    }
    fn input_rows(&self, p: &LaplacianParams, output: Rows, input: Size) -> Rows {
        rows_needed(output, 1, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        p: &LaplacianParams,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let w = input.width() as usize;
        let mut l: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; w + 2]);
        for (y, row) in out.rows_mut() {
            luma_rows(input, y, p.border, &mut l);
            let src = input.row(y);
            for (x, d) in row.iter_mut().enumerate() {
                let v = (l[0][x + 1] + l[2][x + 1] + l[1][x] + l[1][x + 2] - 4.0 * l[1][x + 1]).abs();
                let v = (v * p.scale).min(1.0);
                *d = P::from_f32(RgbaF32::new(v, v, v, src[x].to_f32().a));
            }
        }
        Ok(())
    }
}

export_plugin!(Sobel, Emboss, Laplacian);
