//! Motion blur and median filter.

use fxchain_plugin_api::prelude::*;
use fxkit::rows::{reads_opaque, sample_bilinear, store};

/// Parameters of `blur.motion`.
#[derive(Params)]
pub struct MotionParams {
    /// Direction of the motion in degrees, counter-clockwise from the x axis.
    #[param(default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
    /// Length of the streak in pixels.
    #[param(default = 10.0, range = 0.0..=500.0, unit = "px")]
    pub length: f32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

/// Motion blur: the mean of samples along a line centred on each pixel (bilinear sampling).
/// The state is the sample offsets.
#[derive(Default)]
pub struct MotionBlur {
    offsets: Vec<(f32, f32)>,
}

impl Filter for MotionBlur {
    const META: Meta = Meta::new("blur.motion").summary("Motion blur along a direction.").tests(&[
        Test::new("30°, 16 px").params(r#"{"angle": 30.0, "length": 16.0}"#).hash("2b2264d1a40331d7"),
        Test::new("vertical, transparent border, f32")
            .params(r#"{"angle": 90.0, "length": 6.0, "border": "transparent"}"#)
            .f32()
            .hash("88c08bd0b1e67ae2"),
    ]);
    type Params = MotionParams;

    fn setup(&mut self, p: &MotionParams, _: Size) -> Result<(), PluginError> {
        let n = (p.length.ceil() as usize).max(1) + 1;
        let (s, c) = p.angle.to_radians().sin_cos();
        self.offsets = if p.length <= 0.0 {
            vec![(0.0, 0.0)]
        } else {
            (0..n)
                .map(|i| {
                    let t = (i as f32 / (n - 1) as f32 - 0.5) * p.length;
                    (t * c, -t * s)
                })
                .collect()
        };
        Ok(())
    }
    fn footprint(&self, p: &MotionParams, _: Size, _: Size) -> Footprint {
        let reach = self.offsets.iter().map(|o| o.1.abs().ceil() as u32 + 1).max().unwrap_or(0);
        p.border.footprint(reach)
    }
    fn render<P: Pixel>(&self, p: &MotionParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let border = p.border.mode;
        let opaque = reads_opaque(input, border);
        let inv = 1.0 / self.offsets.len() as f32;
        for (y, row) in out.rows_mut() {
            for (x, d) in row.iter_mut().enumerate() {
                let mut acc = [0f32; 4];
                for &(dx, dy) in &self.offsets {
                    let s = sample_bilinear(input, x as f32 + dx, y as f32 + dy, border, opaque);
                    for c in 0..4 {
                        acc[c] += s[c];
                    }
                }
                *d = store(acc.map(|v| v * inv), opaque);
            }
        }
    }
}

/// Parameters of `blur.median`.
#[derive(Params)]
pub struct MedianParams {
    /// Half-width of the square window.
    #[param(default = 1, range = 0..=10, unit = "px")]
    pub radius: u32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

/// Median filter: each channel's median over a (2r+1)² window (removes salt-and-pepper noise).
#[derive(Default)]
pub struct Median;

impl Filter for Median {
    const META: Meta = Meta::new("blur.median")
        .summary("Median filter per channel over a square window.")
        .tests(&[Test::new("r=2, mirror").params(r#"{"radius": 2, "border": "mirror"}"#).hash("8099a89ec89323a3")]);
    type Params = MedianParams;

    fn footprint(&self, p: &MedianParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(p.radius)
    }
    fn render<P: Pixel>(&self, p: &MedianParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let r = p.radius as i64;
        let border = p.border.mode;
        let n = ((2 * r + 1) * (2 * r + 1)) as usize;
        let mut win: [Vec<f32>; 4] = std::array::from_fn(|_| Vec::with_capacity(n));
        for (y, row) in out.rows_mut() {
            for (x, d) in row.iter_mut().enumerate() {
                win.iter_mut().for_each(Vec::clear);
                for dy in -r..=r {
                    let Some(sy) = border.index(y as i64 + dy, input.height()) else { continue };
                    let src = input.row(sy as u32);
                    for dx in -r..=r {
                        let Some(sx) = border.index(x as i64 + dx, input.width()) else { continue };
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
    }
}
