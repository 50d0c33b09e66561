//! Compositing: blend modes with opacity and an optional mask, placing an image over another, and
//! alpha masks. Colours are composited as straight sRGB values with the W3C compositing formulas.

use fxchain_plugin_api::prelude::*;
use fxkit::luma::coverage;

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

/// Parameters of `composite.blend`.
#[derive(Params)]
pub struct BlendParams {
    /// How colours combine.
    #[param(default = "normal")]
    pub mode: Mode,
    /// Opacity of the top image.
    #[param(default = 1.0, range = 0.0..=1.0)]
    pub opacity: f32,
}

/// Blends the second input over the first; a third input, if given, is a mask (its luma × alpha
/// scales the top image's opacity).
#[derive(Default)]
pub struct Blend;
impl Compositor for Blend {
    const META: Meta = Meta::new("composite.blend")
        .summary(
            "Blends input 2 over input 1 (normal, multiply, screen, overlay, add, difference); optional mask as input 3.",
        )
        .inputs(2, 3)
        .tests(&[
            Test::new("multiply 0.7").params(r#"{"mode": "multiply", "opacity": 0.7}"#).hash("906760d9172cb633"),
            Test::new("overlay").params(r#"{"mode": "overlay"}"#).hash("d6b7b9406a634280"),
            Test::new("difference, float").params(r#"{"mode": "difference", "opacity": 0.5}"#).f32().hash("c0ae7442f351ef36"),
        ]);
    type Params = BlendParams;
    fn render<P: Pixel>(&self, p: &BlendParams, inputs: &[Image<'_, P>], out: &mut Band<'_, P>) {
        let (base, top) = (&inputs[0], &inputs[1]);
        let mask = inputs.get(2);
        for (y, row) in out.rows_mut() {
            let b = base.row(y);
            let t = (y < top.height()).then(|| top.row(y));
            let m = mask.filter(|m| y < m.height()).map(|m| m.row(y));
            for (x, d) in row.iter_mut().enumerate() {
                let mut s = t.and_then(|t| t.get(x)).map(|p| p.to_f32()).unwrap_or_default();
                let k = match m {
                    Some(m) => m.get(x).map(|p| coverage(p.to_f32())),
                    None => Some(1.0),
                }
                .unwrap_or(0.0);
                s.a *= p.opacity * k.clamp(0.0, 1.0);
                *d = P::from_f32(composite(p.mode, b[x].to_f32(), s));
            }
        }
    }
}

/// Parameters of `composite.place`.
#[derive(Params)]
pub struct PlaceParams {
    /// Left edge of the placed image, in pixels (may be negative).
    #[param(default = 0, range = -65536..=65536, unit = "px")]
    pub x: i32,
    /// Top edge of the placed image, in pixels (may be negative).
    #[param(default = 0, range = -65536..=65536, unit = "px")]
    pub y: i32,
    /// Centre the placed image instead (x and y then offset it from the centre).
    #[param(default = false)]
    pub center: bool,
    /// Opacity of the placed image.
    #[param(default = 1.0, range = 0.0..=1.0)]
    pub opacity: f32,
}

/// Places input 2 over input 1 at an offset (normal source-over).
#[derive(Default)]
pub struct Place {
    /// Where the placed image's top-left corner lands on input 1.
    origin: (i64, i64),
}
impl Compositor for Place {
    const META: Meta = Meta::new("composite.place").summary("Draws input 2 over input 1 at an offset.").tests(&[
        Test::new("offset, half opacity").params(r#"{"x": 9, "y": -5, "opacity": 0.5}"#).hash("e546e3aeacb015f4"),
        Test::new("centred").params(r#"{"x": -3, "y": 4, "center": true}"#).hash("90fb580870fa141a"),
    ]);
    type Params = PlaceParams;
    fn setup(&mut self, p: &PlaceParams, inputs: &[Size]) -> Result<(), PluginError> {
        let (mut x, mut y) = (p.x as i64, p.y as i64);
        if p.center {
            x += (inputs[0].width as i64 - inputs[1].width as i64) / 2;
            y += (inputs[0].height as i64 - inputs[1].height as i64) / 2;
        }
        self.origin = (x, y);
        Ok(())
    }
    fn footprint(&self, _: &PlaceParams, index: usize, _: &[Size], _: Size) -> Footprint {
        match index {
            0 => Footprint::SAME,
            // Output row y shows row y − oy of the placed image.
            _ => Footprint::map(0.0, 1.0, -self.origin.1 as f64, 0.0),
        }
    }
    fn render<P: Pixel>(&self, p: &PlaceParams, inputs: &[Image<'_, P>], out: &mut Band<'_, P>) {
        let (ox, oy) = self.origin;
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
                        s.a *= p.opacity;
                        P::from_f32(composite(Mode::Normal, base_px, s))
                    }
                    _ => b[x],
                };
            }
        }
    }
}

/// Parameters of `composite.mask`.
#[derive(Params)]
pub struct MaskParams {
    /// Use 1 − mask.
    #[param(default = false)]
    pub invert: bool,
}

/// Multiplies the alpha of input 1 by the luma × alpha of input 2.
#[derive(Default)]
pub struct Mask;
impl Compositor for Mask {
    const META: Meta =
        Meta::new("composite.mask").summary("Scales input 1's alpha by input 2's luma × alpha (a cut-out).").tests(&[
            Test::new("mask").hash("1e7fc7479c809593"),
            Test::new("inverted").params(r#"{"invert": true}"#).hash("369f13d05efd9e06"),
        ]);
    type Params = MaskParams;
    fn render<P: Pixel>(&self, p: &MaskParams, inputs: &[Image<'_, P>], out: &mut Band<'_, P>) {
        let (img, mask) = (&inputs[0], &inputs[1]);
        for (y, row) in out.rows_mut() {
            let src = img.row(y);
            let m = (y < mask.height()).then(|| mask.row(y));
            for (x, d) in row.iter_mut().enumerate() {
                let k = m.and_then(|m| m.get(x)).map(|p| coverage(p.to_f32()));
                let k = k.unwrap_or(0.0).clamp(0.0, 1.0);
                let k = if p.invert { 1.0 - k } else { k };
                let mut c = src[x].to_f32();
                c.a *= k;
                *d = P::from_f32(c);
            }
        }
    }
}

export_plugin!(Blend, Place, Mask);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placed_images_footprint_holds_every_row_it_shows() {
        let base = Size::new(8, 20);
        for (y, center, th) in
            [(0, false, 10), (-5, false, 10), (7, false, 10), (30, false, 10), (-30, false, 10), (3, true, 1)]
        {
            let p = PlaceParams { x: 0, y, center, opacity: 1.0 };
            let inputs = [base, Size::new(8, th)];
            let mut place = Place::default();
            place.setup(&p, &inputs).unwrap();
            let oy = place.origin.1;
            assert_eq!(oy, if center { y as i64 + (20 - th as i64) / 2 } else { y as i64 });
            assert_eq!(place.footprint(&p, 0, &inputs, base), Footprint::SAME);
            let f = place.footprint(&p, 1, &inputs, base);
            for start in 0..20 {
                for end in start + 1..=20 {
                    let rows = f.input_rows(Rows::new(start, end), 8, th);
                    for ty in (start as i64 - oy..end as i64 - oy).filter(|ty| (0..th as i64).contains(ty)) {
                        assert!(rows.start as i64 <= ty && ty < rows.end as i64, "row {ty} of {rows:?} (y {y})");
                    }
                }
            }
        }
    }
}
