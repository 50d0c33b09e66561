//! Compositing: blend modes with opacity and an optional mask, placing an image over another, and
//! alpha masks. Colours are composited as straight sRGB values with the W3C compositing formulas.

use fxchain_plugin_api::prelude::*;

/// Blend modes (the W3C / Photoshop definitions).
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The top colour.
    Normal,
    /// base × top: darkens.
    Multiply,
    /// 1 − (1 − base)(1 − top): lightens.
    Screen,
    /// Multiply or screen depending on the base: contrast.
    Overlay,
    /// base + top (linear dodge).
    Add,
    /// |base − top|.
    Difference,
}

#[inline]
fn blend(mode: Mode, b: f32, s: f32) -> f32 {
    match mode {
        Mode::Normal => s,
        Mode::Multiply => b * s,
        Mode::Screen => b + s - b * s,
        Mode::Overlay => {
            if b <= 0.5 {
                2.0 * b * s
            } else {
                1.0 - 2.0 * (1.0 - b) * (1.0 - s)
            }
        }
        Mode::Add => b + s,
        Mode::Difference => (b - s).abs(),
    }
}

/// Source-over of `top` (its alpha already scaled by opacity and mask) on `base` with `mode`.
#[inline]
pub fn composite(mode: Mode, base: RgbaF32, top: RgbaF32) -> RgbaF32 {
    let (ab, as_) = (base.a, top.a);
    let ao = as_ + ab * (1.0 - as_);
    if ao <= 1e-7 {
        return RgbaF32::default();
    }
    let ch = |cb: f32, cs: f32| {
        let mixed = (1.0 - ab) * cs + ab * blend(mode, cb, cs);
        (as_ * mixed + ab * cb * (1.0 - as_)) / ao
    };
    RgbaF32::new(ch(base.r, top.r), ch(base.g, top.g), ch(base.b, top.b), ao)
}

#[inline]
fn luma(c: RgbaF32) -> f32 {
    0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b
}

/// Parameters of `composite.blend`.
#[derive(Params)]
pub struct BlendParams {
    /// How colours combine.
    #[param(id = "mode", default = "normal")]
    pub mode: Mode,
    /// Opacity of the top image.
    #[param(id = "opacity", default = 1.0, range = 0.0..=1.0)]
    pub opacity: f32,
}

/// Blends the second input over the first; a third input, if given, is a mask (its luma × alpha
/// scales the top image's opacity).
#[derive(Default)]
pub struct Blend;
impl Compositor for Blend {
    const ID: &'static str = "composite.blend";
    const SUMMARY: &'static str =
        "Blends input 2 over input 1 (normal, multiply, screen, overlay, add, difference); optional mask as input 3.";
    const MAX_INPUTS: u32 = 3;
    type Params = BlendParams;
    type Plan = BlendParams;
    fn plan(&self, p: BlendParams, _: &[Size]) -> Result<BlendParams, PluginError> {
        Ok(p)
    }
    fn render<P: Pixel>(
        &self,
        p: &BlendParams,
        inputs: &[Image<'_, P>],
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let (base, top) = (&inputs[0], &inputs[1]);
        let mask = inputs.get(2);
        for (y, row) in out.rows_mut() {
            let b = base.row(y);
            let t = (y < top.height()).then(|| top.row(y));
            let m = mask.filter(|m| y < m.height()).map(|m| m.row(y));
            for (x, d) in row.iter_mut().enumerate() {
                let mut s = t.and_then(|t| t.get(x)).map(|p| p.to_f32()).unwrap_or_default();
                let k = match m {
                    Some(m) => m.get(x).map(|p| {
                        let c = p.to_f32();
                        luma(c) * c.a
                    }),
                    None => Some(1.0),
                }
                .unwrap_or(0.0);
                s.a *= p.opacity * k.clamp(0.0, 1.0);
                *d = P::from_f32(composite(p.mode, b[x].to_f32(), s));
            }
        }
        Ok(())
    }
}

/// Parameters of `composite.place`.
#[derive(Params)]
pub struct PlaceParams {
    /// Left edge of the placed image, in pixels (may be negative).
    #[param(id = "x", default = 0, range = -65536..=65536, unit = "px")]
    pub x: i32,
    /// Top edge of the placed image, in pixels (may be negative).
    #[param(id = "y", default = 0, range = -65536..=65536, unit = "px")]
    pub y: i32,
    /// Centre the placed image instead (x and y then offset it from the centre).
    #[param(id = "center", default = false)]
    pub center: bool,
    /// Opacity of the placed image.
    #[param(id = "opacity", default = 1.0, range = 0.0..=1.0)]
    pub opacity: f32,
}

/// Places input 2 over input 1 at an offset (normal source-over).
#[derive(Default)]
pub struct Place;
impl Compositor for Place {
    const ID: &'static str = "composite.place";
    const SUMMARY: &'static str = "Draws input 2 over input 1 at an offset.";
    type Params = PlaceParams;
    type Plan = (i64, i64, f32);
    fn plan(&self, p: PlaceParams, inputs: &[Size]) -> Result<Self::Plan, PluginError> {
        let (mut x, mut y) = (p.x as i64, p.y as i64);
        if p.center {
            x += (inputs[0].width as i64 - inputs[1].width as i64) / 2;
            y += (inputs[0].height as i64 - inputs[1].height as i64) / 2;
        }
        Ok((x, y, p.opacity))
    }
    fn input_rows(&self, &(_, oy, _): &Self::Plan, input: u32, output: Rows, size: Size) -> Rows {
        if input == 0 {
            return output;
        }
        let s = (output.start as i64 - oy).clamp(0, size.height as i64) as u32;
        let e = (output.end as i64 - oy).clamp(0, size.height as i64) as u32;
        Rows::new(s, e)
    }
    fn render<P: Pixel>(
        &self,
        &(ox, oy, opacity): &Self::Plan,
        inputs: &[Image<'_, P>],
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let (base, top) = (&inputs[0], &inputs[1]);
        let (tw, th) = (top.width() as i64, top.height() as i64);
        for (y, row) in out.rows_mut() {
            let b = base.row(y);
            let ty = y as i64 - oy;
            let t = (0..th).contains(&ty).then(|| top.row(ty as u32));
            for (x, d) in row.iter_mut().enumerate() {
                let tx = x as i64 - ox;
                let base_px = b[x].to_f32();
                *d = match t {
                    Some(t) if (0..tw).contains(&tx) => {
                        let mut s = t[tx as usize].to_f32();
                        s.a *= opacity;
                        P::from_f32(composite(Mode::Normal, base_px, s))
                    }
                    _ => b[x],
                };
            }
        }
        Ok(())
    }
}

/// Parameters of `composite.mask`.
#[derive(Params)]
pub struct MaskParams {
    /// Use 1 − mask.
    #[param(id = "invert", default = false)]
    pub invert: bool,
}

/// Multiplies the alpha of input 1 by the luma × alpha of input 2.
#[derive(Default)]
pub struct Mask;
impl Compositor for Mask {
    const ID: &'static str = "composite.mask";
    const SUMMARY: &'static str = "Scales input 1's alpha by input 2's luma × alpha (a cut-out).";
    type Params = MaskParams;
    type Plan = bool;
    fn plan(&self, p: MaskParams, _: &[Size]) -> Result<bool, PluginError> {
        Ok(p.invert)
    }
    fn render<P: Pixel>(
        &self,
        invert: &bool,
        inputs: &[Image<'_, P>],
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        let (img, mask) = (&inputs[0], &inputs[1]);
        for (y, row) in out.rows_mut() {
            let src = img.row(y);
            let m = (y < mask.height()).then(|| mask.row(y));
            for (x, d) in row.iter_mut().enumerate() {
                let k = m.and_then(|m| m.get(x)).map(|p| {
                    let c = p.to_f32();
                    luma(c) * c.a
                });
                let k = k.unwrap_or(0.0).clamp(0.0, 1.0);
                let k = if *invert { 1.0 - k } else { k };
                let mut c = src[x].to_f32();
                c.a *= k;
                *d = P::from_f32(c);
            }
        }
        Ok(())
    }
}

export_plugin!(Blend, Place, Mask);
