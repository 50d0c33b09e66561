//! Solid colour, gradients, checkerboard and grid.

use fxchain_plugin_api::prelude::*;

use crate::mix;

/// Parameters of `generate.solid`.
#[derive(Params)]
pub struct SolidParams {
    /// The colour.
    #[param(default = "#808080")]
    pub color: Color,
}

/// A single colour.
#[derive(Default)]
pub struct Solid;
impl Generator for Solid {
    const META: Meta = Meta::new("generate.solid").summary("Fills the image with one colour.").tests(&[
        Test::new("default, float").f32().size(16, 8).hash("743f452bb484b2e6"),
        Test::new("translucent").size(16, 8).params(r##"{"color": "#ff800080"}"##).hash("80bda9d3c102cd1c"),
    ]);
    type Params = SolidParams;
    fn render<P: Pixel>(&self, p: &SolidParams, out: &mut Band<'_, P>) {
        let px = P::from_f32(p.color.to_rgbaf32());
        for (_, row) in out.rows_mut() {
            row.fill(px);
        }
    }
}

/// Parameters of `generate.gradient.linear`.
#[derive(Params)]
pub struct LinearParams {
    /// Colour at the start.
    #[param(default = "#000000")]
    pub from: Color,
    /// Colour at the end.
    #[param(default = "#ffffff")]
    pub to: Color,
    /// Direction in degrees, counter-clockwise from left→right.
    #[param(default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
}

/// A linear gradient across the whole image.
#[derive(Default)]
pub struct LinearGradient;
impl Generator for LinearGradient {
    const META: Meta =
        Meta::new("generate.gradient.linear").summary("Linear gradient between two colours at an angle.").tests(&[
            Test::new("default, float").f32().hash("0fdcefa2f2805214"),
            Test::new("30°")
                .params(r##"{"angle": 30.0, "from": "#203040", "to": "#f0c080"}"##)
                .hash("2e68bd60c8f96431"),
        ]);
    type Params = LinearParams;
    fn render<P: Pixel>(&self, p: &LinearParams, out: &mut Band<'_, P>) {
        let (s, c) = p.angle.to_radians().sin_cos();
        let (w, h) = (out.width() as f32, out.height() as f32);
        // Project onto the direction; normalize so the corners map to 0 and 1.
        let half = 0.5 * (w * c.abs() + h * s.abs()).max(1e-6);
        out.fill_with(|x, y| {
            let (dx, dy) = (x as f32 + 0.5 - w / 2.0, h / 2.0 - (y as f32 + 0.5));
            let t = ((dx * c + dy * s) / half * 0.5 + 0.5).clamp(0.0, 1.0);
            mix(p.from, p.to, t)
        });
    }
}

/// Parameters of `generate.gradient.radial`.
#[derive(Params)]
pub struct RadialParams {
    /// Colour at the centre.
    #[param(default = "#ffffff")]
    pub inner: Color,
    /// Colour at the radius and beyond.
    #[param(default = "#000000")]
    pub outer: Color,
    /// Centre x as a fraction of the width.
    #[param(default = 0.5, range = -1.0..=2.0)]
    pub cx: f32,
    /// Centre y as a fraction of the height.
    #[param(default = 0.5, range = -1.0..=2.0)]
    pub cy: f32,
    /// Radius as a fraction of half the shorter side.
    #[param(default = 1.0, range = 0.001..=10.0)]
    pub radius: f32,
}

/// A radial gradient.
#[derive(Default)]
pub struct RadialGradient;
impl Generator for RadialGradient {
    const META: Meta = Meta::new("generate.gradient.radial").summary("Radial gradient from a centre point.").tests(&[
        Test::new("default, float").f32().hash("93b36b7f6a313809"),
        Test::new("off centre").params(r#"{"cx": 0.3, "cy": 0.6, "radius": 0.8}"#).hash("2f08d492f4c7943b"),
    ]);
    type Params = RadialParams;
    fn render<P: Pixel>(&self, p: &RadialParams, out: &mut Band<'_, P>) {
        let (w, h) = (out.width() as f32, out.height() as f32);
        let r = p.radius * 0.5 * w.min(h);
        out.fill_with(|x, y| {
            let (dx, dy) = (x as f32 + 0.5 - p.cx * w, y as f32 + 0.5 - p.cy * h);
            mix(p.inner, p.outer, ((dx * dx + dy * dy).sqrt() / r).clamp(0.0, 1.0))
        });
    }
}

/// Parameters of `generate.gradient.conic`.
#[derive(Params)]
pub struct ConicParams {
    /// Colour at the start angle.
    #[param(default = "#000000")]
    pub from: Color,
    /// Colour just before a full turn.
    #[param(default = "#ffffff")]
    pub to: Color,
    /// Start angle in degrees.
    #[param(default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
    /// Centre x as a fraction of the width.
    #[param(default = 0.5, range = -1.0..=2.0)]
    pub cx: f32,
    /// Centre y as a fraction of the height.
    #[param(default = 0.5, range = -1.0..=2.0)]
    pub cy: f32,
}

/// A conic (angular) gradient.
#[derive(Default)]
pub struct ConicGradient;
impl Generator for ConicGradient {
    const META: Meta =
        Meta::new("generate.gradient.conic").summary("Conic gradient sweeping around a centre.").tests(&[
            Test::new("default, float").f32().hash("4a926b31b75acd60"),
            Test::new("start at 45°").params(r#"{"angle": 45.0, "cx": 0.4}"#).hash("270331e18c801c90"),
        ]);
    type Params = ConicParams;
    fn render<P: Pixel>(&self, p: &ConicParams, out: &mut Band<'_, P>) {
        let (w, h) = (out.width() as f32, out.height() as f32);
        out.fill_with(|x, y| {
            let (dx, dy) = (x as f32 + 0.5 - p.cx * w, p.cy * h - (y as f32 + 0.5));
            let a = (dy.atan2(dx).to_degrees() - p.angle).rem_euclid(360.0) / 360.0;
            mix(p.from, p.to, a)
        });
    }
}

/// Parameters of `generate.checker`.
#[derive(Params)]
pub struct CheckerParams {
    /// Side of a square in pixels.
    #[param(default = 32, range = 1..=65536, unit = "px")]
    pub cell: u32,
    /// First colour (top-left square).
    #[param(default = "#ffffff")]
    pub a: Color,
    /// Second colour.
    #[param(default = "#000000")]
    pub b: Color,
}

/// A checkerboard.
#[derive(Default)]
pub struct Checker;
impl Generator for Checker {
    const META: Meta = Meta::new("generate.checker").summary("Checkerboard of two colours.").tests(&[
        Test::new("default, float").f32().hash("9966ac707fe3ec34"),
        Test::new("7 px squares").params(r##"{"cell": 7, "b": "#3060c0"}"##).hash("4ef5faa0efbebdc1"),
    ]);
    type Params = CheckerParams;
    fn render<P: Pixel>(&self, p: &CheckerParams, out: &mut Band<'_, P>) {
        let (a, b) = (p.a.to_rgbaf32(), p.b.to_rgbaf32());
        out.fill_with(|x, y| if ((x / p.cell) + (y / p.cell)).is_multiple_of(2) { a } else { b });
    }
}

/// Parameters of `generate.grid`.
#[derive(Params)]
pub struct GridParams {
    /// Distance between lines in pixels.
    #[param(default = 32, range = 2..=65536, unit = "px")]
    pub spacing: u32,
    /// Line width in pixels.
    #[param(default = 1, range = 1..=65536, unit = "px")]
    pub width: u32,
    /// Line colour.
    #[param(default = "#ffffff")]
    pub line: Color,
    /// Background colour.
    #[param(default = "#000000")]
    pub background: Color,
}

/// A grid of lines.
#[derive(Default)]
pub struct Grid;
impl Generator for Grid {
    const META: Meta = Meta::new("generate.grid").summary("Grid lines over a background.").tests(&[
        Test::new("default, float").f32().hash("8a2326f074e84a55"),
        Test::new("2 px lines every 10").params(r#"{"spacing": 10, "width": 2}"#).hash("d944f7435b176673"),
    ]);
    type Params = GridParams;
    fn render<P: Pixel>(&self, p: &GridParams, out: &mut Band<'_, P>) {
        let (l, b) = (p.line.to_rgbaf32(), p.background.to_rgbaf32());
        out.fill_with(|x, y| if y % p.spacing < p.width || x % p.spacing < p.width { l } else { b });
    }
}
