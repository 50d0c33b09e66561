//! Solid colour, gradients, checkerboard and grid.

use fxchain_plugin_api::prelude::*;

use crate::{fill, mix};

/// Parameters of `generate.solid`.
#[derive(Params)]
pub struct SolidParams {
    /// The colour.
    #[param(id = "color", default = "#808080")]
    pub color: Color,
}

/// A single colour.
#[derive(Default)]
pub struct Solid;
impl Generator for Solid {
    const ID: &'static str = "generate.solid";
    const SUMMARY: &'static str = "Fills the image with one colour.";
    type Params = SolidParams;
    type Plan = Color;
    fn plan(&self, p: SolidParams, _: Size, _: u64) -> Result<Color, PluginError> {
        Ok(p.color)
    }
    fn render<P: Pixel>(&self, c: &Color, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let px = P::from_f32(c.to_rgbaf32());
        for (_, row) in out.rows_mut() {
            row.fill(px);
        }
        Ok(())
    }
}

/// Parameters of `generate.gradient.linear`.
#[derive(Params)]
pub struct LinearParams {
    /// Colour at the start.
    #[param(id = "from", default = "#000000")]
    pub from: Color,
    /// Colour at the end.
    #[param(id = "to", default = "#ffffff")]
    pub to: Color,
    /// Direction in degrees, counter-clockwise from left→right.
    #[param(id = "angle", default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
}

/// A linear gradient across the whole image.
#[derive(Default)]
pub struct LinearGradient;
impl Generator for LinearGradient {
    const ID: &'static str = "generate.gradient.linear";
    const SUMMARY: &'static str = "Linear gradient between two colours at an angle.";
    type Params = LinearParams;
    type Plan = (LinearParams, Size);
    fn plan(&self, p: LinearParams, size: Size, _: u64) -> Result<Self::Plan, PluginError> {
        Ok((p, size))
    }
    fn render<P: Pixel>(&self, (p, size): &Self::Plan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let (s, c) = p.angle.to_radians().sin_cos();
        let (w, h) = (size.width as f32, size.height as f32);
        // Project onto the direction; normalize so the corners map to 0 and 1.
        let half = 0.5 * (w * c.abs() + h * s.abs()).max(1e-6);
        fill(out, |x, y| {
            let (dx, dy) = (x as f32 + 0.5 - w / 2.0, h / 2.0 - (y as f32 + 0.5));
            let t = ((dx * c + dy * s) / half * 0.5 + 0.5).clamp(0.0, 1.0);
            mix(p.from, p.to, t)
        });
        Ok(())
    }
}

/// Parameters of `generate.gradient.radial`.
#[derive(Params)]
pub struct RadialParams {
    /// Colour at the centre.
    #[param(id = "inner", default = "#ffffff")]
    pub inner: Color,
    /// Colour at the radius and beyond.
    #[param(id = "outer", default = "#000000")]
    pub outer: Color,
    /// Centre x as a fraction of the width.
    #[param(id = "cx", default = 0.5, range = -1.0..=2.0)]
    pub cx: f32,
    /// Centre y as a fraction of the height.
    #[param(id = "cy", default = 0.5, range = -1.0..=2.0)]
    pub cy: f32,
    /// Radius as a fraction of half the shorter side.
    #[param(id = "radius", default = 1.0, range = 0.001..=10.0)]
    pub radius: f32,
}

/// A radial gradient.
#[derive(Default)]
pub struct RadialGradient;
impl Generator for RadialGradient {
    const ID: &'static str = "generate.gradient.radial";
    const SUMMARY: &'static str = "Radial gradient from a centre point.";
    type Params = RadialParams;
    type Plan = (RadialParams, Size);
    fn plan(&self, p: RadialParams, size: Size, _: u64) -> Result<Self::Plan, PluginError> {
        Ok((p, size))
    }
    fn render<P: Pixel>(&self, (p, size): &Self::Plan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let (w, h) = (size.width as f32, size.height as f32);
        let r = p.radius * 0.5 * w.min(h);
        fill(out, |x, y| {
            let (dx, dy) = (x as f32 + 0.5 - p.cx * w, y as f32 + 0.5 - p.cy * h);
            mix(p.inner, p.outer, ((dx * dx + dy * dy).sqrt() / r).clamp(0.0, 1.0))
        });
        Ok(())
    }
}

/// Parameters of `generate.gradient.conic`.
#[derive(Params)]
pub struct ConicParams {
    /// Colour at the start angle.
    #[param(id = "from", default = "#000000")]
    pub from: Color,
    /// Colour just before a full turn.
    #[param(id = "to", default = "#ffffff")]
    pub to: Color,
    /// Start angle in degrees.
    #[param(id = "angle", default = 0.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
    /// Centre x as a fraction of the width.
    #[param(id = "cx", default = 0.5, range = -1.0..=2.0)]
    pub cx: f32,
    /// Centre y as a fraction of the height.
    #[param(id = "cy", default = 0.5, range = -1.0..=2.0)]
    pub cy: f32,
}

/// A conic (angular) gradient.
#[derive(Default)]
pub struct ConicGradient;
impl Generator for ConicGradient {
    const ID: &'static str = "generate.gradient.conic";
    const SUMMARY: &'static str = "Conic gradient sweeping around a centre.";
    type Params = ConicParams;
    type Plan = (ConicParams, Size);
    fn plan(&self, p: ConicParams, size: Size, _: u64) -> Result<Self::Plan, PluginError> {
        Ok((p, size))
    }
    fn render<P: Pixel>(&self, (p, size): &Self::Plan, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let (w, h) = (size.width as f32, size.height as f32);
        fill(out, |x, y| {
            let (dx, dy) = (x as f32 + 0.5 - p.cx * w, p.cy * h - (y as f32 + 0.5));
            let a = (dy.atan2(dx).to_degrees() - p.angle).rem_euclid(360.0) / 360.0;
            mix(p.from, p.to, a)
        });
        Ok(())
    }
}

/// Parameters of `generate.checker`.
#[derive(Params)]
pub struct CheckerParams {
    /// Side of a square in pixels.
    #[param(id = "cell", default = 32, range = 1..=65536, unit = "px")]
    pub cell: u32,
    /// First colour (top-left square).
    #[param(id = "a", default = "#ffffff")]
    pub a: Color,
    /// Second colour.
    #[param(id = "b", default = "#000000")]
    pub b: Color,
}

/// A checkerboard.
#[derive(Default)]
pub struct Checker;
impl Generator for Checker {
    const ID: &'static str = "generate.checker";
    const SUMMARY: &'static str = "Checkerboard of two colours.";
    type Params = CheckerParams;
    type Plan = CheckerParams;
    fn plan(&self, p: CheckerParams, _: Size, _: u64) -> Result<CheckerParams, PluginError> {
        Ok(p)
    }
    fn render<P: Pixel>(&self, p: &CheckerParams, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let (a, b) = (P::from_f32(p.a.to_rgbaf32()), P::from_f32(p.b.to_rgbaf32()));
        for (y, row) in out.rows_mut() {
            for (x, px) in row.iter_mut().enumerate() {
                *px = if ((x as u32 / p.cell) + (y / p.cell)).is_multiple_of(2) { a } else { b };
            }
        }
        Ok(())
    }
}

/// Parameters of `generate.grid`.
#[derive(Params)]
pub struct GridParams {
    /// Distance between lines in pixels.
    #[param(id = "spacing", default = 32, range = 2..=65536, unit = "px")]
    pub spacing: u32,
    /// Line width in pixels.
    #[param(id = "width", default = 1, range = 1..=65536, unit = "px")]
    pub width: u32,
    /// Line colour.
    #[param(id = "line", default = "#ffffff")]
    pub line: Color,
    /// Background colour.
    #[param(id = "background", default = "#000000")]
    pub background: Color,
}

/// A grid of lines.
#[derive(Default)]
pub struct Grid;
impl Generator for Grid {
    const ID: &'static str = "generate.grid";
    const SUMMARY: &'static str = "Grid lines over a background.";
    type Params = GridParams;
    type Plan = GridParams;
    fn plan(&self, p: GridParams, _: Size, _: u64) -> Result<GridParams, PluginError> {
        Ok(p)
    }
    fn render<P: Pixel>(&self, p: &GridParams, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let (l, b) = (P::from_f32(p.line.to_rgbaf32()), P::from_f32(p.background.to_rgbaf32()));
        for (y, row) in out.rows_mut() {
            let on_row = y % p.spacing < p.width;
            for (x, px) in row.iter_mut().enumerate() {
                *px = if on_row || (x as u32) % p.spacing < p.width { l } else { b };
            }
        }
        Ok(())
    }
}
