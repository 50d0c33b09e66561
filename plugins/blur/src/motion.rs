//! Motion blur and median filter.

use fxchain_plugin_api::prelude::*;
use fxkit::conv::rows_needed;
use fxkit::Border;

use crate::{sample, store};

/// Parameters of `blur.motion`.
#[derive(Params)]
pub struct MotionParams {
    /// Direction of the motion in degrees, counter-clockwise from the x axis.
    #[param(id = "angle", default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
    /// Length of the streak in pixels.
    #[param(id = "length", default = 10.0, range = 0.0..=500.0, unit = "px")]
    pub length: f32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Motion blur: the mean of samples along a line centred on each pixel (bilinear sampling).
#[derive(Default)]
pub struct MotionBlur;

/// Sample offsets and the rows they reach.
pub struct MotionPlan {
    offsets: Vec<(f32, f32)>,
    reach: u32,
    border: Border,
}

impl Filter for MotionBlur {
    const ID: &'static str = "blur.motion";
    const SUMMARY: &'static str = "Motion blur along a direction.";
    type Params = MotionParams;
    type Plan = MotionPlan;

    fn plan(&self, p: MotionParams, _input: Size) -> Result<MotionPlan, PluginError> {
        let n = (p.length.ceil() as usize).max(1) + 1;
        let (s, c) = p.angle.to_radians().sin_cos();
        let offsets: Vec<(f32, f32)> = if p.length <= 0.0 {
            vec![(0.0, 0.0)]
        } else {
            (0..n)
                .map(|i| {
                    let t = (i as f32 / (n - 1) as f32 - 0.5) * p.length;
                    (t * c, -t * s)
                })
                .collect()
        };
        let reach = offsets.iter().map(|o| o.1.abs().ceil() as u32 + 1).max().unwrap_or(0);
        Ok(MotionPlan { offsets, reach, border: p.border })
    }
    fn input_rows(&self, p: &MotionPlan, output: Rows, input: Size) -> Rows {
        rows_needed(output, p.reach, input.height, p.border)
    }
    fn render<P: Pixel>(&self, p: &MotionPlan, input: &Image<'_, P>, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let opaque = input.is_opaque();
        let inv = 1.0 / p.offsets.len() as f32;
        for (y, row) in out.rows_mut() {
            for (x, d) in row.iter_mut().enumerate() {
                let mut acc = [0f32; 4];
                for &(dx, dy) in &p.offsets {
                    let (fx, fy) = (x as f32 + dx, y as f32 + dy);
                    let (x0, y0) = (fx.floor(), fy.floor());
                    let (tx, ty) = (fx - x0, fy - y0);
                    let (x0, y0) = (x0 as i64, y0 as i64);
                    let s00 = sample(input, x0, y0, p.border, opaque);
                    let s10 = sample(input, x0 + 1, y0, p.border, opaque);
                    let s01 = sample(input, x0, y0 + 1, p.border, opaque);
                    let s11 = sample(input, x0 + 1, y0 + 1, p.border, opaque);
                    for c in 0..4 {
                        let top = s00[c] + (s10[c] - s00[c]) * tx;
                        let bot = s01[c] + (s11[c] - s01[c]) * tx;
                        acc[c] += top + (bot - top) * ty;
                    }
                }
                *d = store(acc.map(|v| v * inv), opaque);
            }
        }
        Ok(())
    }
}

/// Parameters of `blur.median`.
#[derive(Params)]
pub struct MedianParams {
    /// Half-width of the square window.
    #[param(id = "radius", default = 1, range = 0..=10, unit = "px")]
    pub radius: u32,
    /// How pixels outside the image are read.
    #[param(id = "border", default = "clamp")]
    pub border: Border,
}

/// Median filter: each channel's median over a (2r+1)² window (removes salt-and-pepper noise).
#[derive(Default)]
pub struct Median;

impl Filter for Median {
    const ID: &'static str = "blur.median";
    const SUMMARY: &'static str = "Median filter per channel over a square window.";
    type Params = MedianParams;
    type Plan = MedianParams;

    fn plan(&self, p: MedianParams, _input: Size) -> Result<MedianParams, PluginError> {
        Ok(p)
    }
    fn input_rows(&self, p: &MedianParams, output: Rows, input: Size) -> Rows {
        rows_needed(output, p.radius, input.height, p.border)
    }
    fn render<P: Pixel>(
        &self,
        p: &MedianParams,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let r = p.radius as i64;
        let n = ((2 * r + 1) * (2 * r + 1)) as usize;
        let mut win: [Vec<f32>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
        for (y, row) in out.rows_mut() {
            for (x, d) in row.iter_mut().enumerate() {
                win.iter_mut().for_each(Vec::clear);
                for dy in -r..=r {
                    let Some(sy) = p.border.index(y as i64 + dy, input.height()) else { continue };
                    let src = input.row(sy as u32);
                    for dx in -r..=r {
                        let Some(sx) = p.border.index(x as i64 + dx, input.width()) else { continue };
                        let v = src[sx].to_f32().to_array();
                        for c in 0..4 {
                            win[c].push(v[c]);
                        }
                    }
                }
                let mut m = [0f32; 4];
                for c in 0..4 {
                    let k = win[c].len();
                    if k > 0 {
                        let (_, mid, _) = win[c].select_nth_unstable_by(k / 2, f32::total_cmp);
                        m[c] = *mid;
                    }
                }
                *d = P::from_f32(RgbaF32::from_array(m));
            }
        }
        Ok(())
    }
}
