//! Geometry: resize, crop, rotate by quarter turns, flip, pad.

use fxchain_plugin_api::prelude::*;

mod resize;
mod resize8;

pub use resize::{Resize, ResizeFast};

/// Parameters of `geometry.crop`.
#[derive(Params)]
pub struct CropParams {
    /// Left edge in pixels.
    #[param(id = "x", default = 0, range = 0..=65535, unit = "px")]
    pub x: u32,
    /// Top edge in pixels.
    #[param(id = "y", default = 0, range = 0..=65535, unit = "px")]
    pub y: u32,
    /// Width in pixels; 0 reaches the right edge.
    #[param(id = "width", default = 0, range = 0..=65536, unit = "px")]
    pub width: u32,
    /// Height in pixels; 0 reaches the bottom edge.
    #[param(id = "height", default = 0, range = 0..=65536, unit = "px")]
    pub height: u32,
}

/// Cuts out a rectangle.
#[derive(Default)]
pub struct Crop;
impl Filter for Crop {
    const ID: &'static str = "geometry.crop";
    const SUMMARY: &'static str = "Cuts out a rectangle (clipped to the image).";
    const ACCESS: Access = Access::GLOBAL;
    type Params = CropParams;
    type Plan = (u32, u32, Size);
    fn plan(&self, p: CropParams, input: Size) -> Result<Self::Plan, PluginError> {
        if p.x >= input.width || p.y >= input.height {
            return Err(PluginError::invalid_params(format!(
                "the crop origin ({}, {}) is outside the {}x{} image",
                p.x, p.y, input.width, input.height
            )));
        }
        let w = if p.width == 0 { input.width - p.x } else { p.width.min(input.width - p.x) };
        let h = if p.height == 0 { input.height - p.y } else { p.height.min(input.height - p.y) };
        Ok((p.x, p.y, Size::new(w, h)))
    }
    fn output_size(&self, plan: &Self::Plan, _: Size) -> Size {
        plan.2
    }
    fn input_rows(&self, &(_, y, _): &Self::Plan, output: Rows, _: Size) -> Rows {
        Rows::new(output.start + y, output.end + y)
    }
    fn render<P: Pixel>(
        &self,
        &(x, y0, size): &Self::Plan,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
    ) -> Result<(), PluginError> {
        for (y, row) in out.rows_mut() {
            row.copy_from_slice(&input.row(y + y0)[x as usize..(x + size.width) as usize]);
        }
        Ok(())
    }
}

/// Quarter turns.
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Turn {
    /// 90° clockwise.
    #[choice("90")]
    Cw90,
    /// 180°.
    #[choice("180")]
    Half,
    /// 270° clockwise (90° counter-clockwise).
    #[choice("270")]
    Cw270,
}

/// Parameters of `geometry.rotate`.
#[derive(Params)]
pub struct RotateParams {
    /// Clockwise rotation: "90", "180" or "270".
    #[param(id = "angle", default = "90")]
    pub angle: Turn,
}

/// Rotates by a multiple of 90°, exactly.
#[derive(Default)]
pub struct Rotate;
impl Filter for Rotate {
    const ID: &'static str = "geometry.rotate";
    const SUMMARY: &'static str = "Rotates clockwise by 90, 180 or 270 degrees (lossless).";
    const ACCESS: Access = Access::GLOBAL;
    type Params = RotateParams;
    type Plan = Turn;
    fn plan(&self, p: RotateParams, _: Size) -> Result<Turn, PluginError> {
        Ok(p.angle)
    }
    fn output_size(&self, t: &Turn, input: Size) -> Size {
        match t {
            Turn::Half => input,
            _ => Size::new(input.height, input.width),
        }
    }
    fn input_rows(&self, t: &Turn, output: Rows, input: Size) -> Rows {
        match t {
            Turn::Half => Rows::new(input.height - output.end, input.height - output.start),
            _ => Rows::new(0, input.height),
        }
    }
    fn render<P: Pixel>(&self, t: &Turn, input: &Image<'_, P>, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let (iw, ih) = (input.width(), input.height());
        for (y, row) in out.rows_mut() {
            match t {
                // out(x, y) = in(y, ih - 1 - x)
                Turn::Cw90 => row.iter_mut().enumerate().for_each(|(x, p)| *p = input.get(y, ih - 1 - x as u32)),
                Turn::Half => {
                    let src = input.row(ih - 1 - y);
                    row.iter_mut().zip(src.iter().rev()).for_each(|(d, s)| *d = *s);
                }
                // out(x, y) = in(iw - 1 - y, x)
                Turn::Cw270 => row.iter_mut().enumerate().for_each(|(x, p)| *p = input.get(iw - 1 - y, x as u32)),
            }
        }
        Ok(())
    }
}

/// Flip directions.
#[derive(ParamEnum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum FlipAxis {
    /// Mirror left↔right.
    Horizontal,
    /// Mirror top↔bottom.
    Vertical,
    /// Both (same as a 180° rotation).
    Both,
}

/// Parameters of `geometry.flip`.
#[derive(Params)]
pub struct FlipParams {
    /// "horizontal", "vertical" or "both".
    #[param(id = "axis", default = "horizontal")]
    pub axis: FlipAxis,
}

/// Mirrors the image.
#[derive(Default)]
pub struct Flip;
impl Filter for Flip {
    const ID: &'static str = "geometry.flip";
    const SUMMARY: &'static str = "Mirrors horizontally, vertically or both.";
    const ACCESS: Access = Access::GLOBAL;
    type Params = FlipParams;
    type Plan = FlipAxis;
    fn plan(&self, p: FlipParams, _: Size) -> Result<FlipAxis, PluginError> {
        Ok(p.axis)
    }
    fn input_rows(&self, a: &FlipAxis, output: Rows, input: Size) -> Rows {
        match a {
            FlipAxis::Horizontal => output,
            _ => Rows::new(input.height - output.end, input.height - output.start),
        }
    }
    fn render<P: Pixel>(&self, a: &FlipAxis, input: &Image<'_, P>, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let h = input.height();
        for (y, row) in out.rows_mut() {
            let sy = if *a == FlipAxis::Horizontal { y } else { h - 1 - y };
            let src = input.row(sy);
            if *a == FlipAxis::Vertical {
                row.copy_from_slice(src);
            } else {
                row.iter_mut().zip(src.iter().rev()).for_each(|(d, s)| *d = *s);
            }
        }
        Ok(())
    }
}

/// Parameters of `geometry.pad`.
#[derive(Params)]
pub struct PadParams {
    /// Pixels added at the top.
    #[param(id = "top", default = 0, range = 0..=16384, unit = "px")]
    pub top: u32,
    /// Pixels added on the right.
    #[param(id = "right", default = 0, range = 0..=16384, unit = "px")]
    pub right: u32,
    /// Pixels added at the bottom.
    #[param(id = "bottom", default = 0, range = 0..=16384, unit = "px")]
    pub bottom: u32,
    /// Pixels added on the left.
    #[param(id = "left", default = 0, range = 0..=16384, unit = "px")]
    pub left: u32,
    /// Colour of the border.
    #[param(id = "color", default = "#00000000")]
    pub color: Color,
}

/// Adds a border of a colour.
#[derive(Default)]
pub struct Pad;
impl Filter for Pad {
    const ID: &'static str = "geometry.pad";
    const SUMMARY: &'static str = "Adds a coloured border on each side.";
    const ACCESS: Access = Access::GLOBAL;
    type Params = PadParams;
    type Plan = PadParams;
    fn plan(&self, p: PadParams, _: Size) -> Result<PadParams, PluginError> {
        Ok(p)
    }
    fn output_size(&self, p: &PadParams, input: Size) -> Size {
        Size::new(input.width + p.left + p.right, input.height + p.top + p.bottom)
    }
    fn input_rows(&self, p: &PadParams, output: Rows, input: Size) -> Rows {
        let s = output.start.saturating_sub(p.top).min(input.height);
        let e = output.end.saturating_sub(p.top).min(input.height);
        Rows::new(s, e.max(s))
    }
    fn render<P: Pixel>(&self, p: &PadParams, input: &Image<'_, P>, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let c = P::from_f32(p.color.to_rgbaf32());
        let (iw, ih) = (input.width() as usize, input.height());
        for (y, row) in out.rows_mut() {
            if y < p.top || y >= p.top + ih {
                row.fill(c);
            } else {
                let l = p.left as usize;
                row[..l].fill(c);
                row[l..l + iw].copy_from_slice(input.row(y - p.top));
                row[l + iw..].fill(c);
            }
        }
        Ok(())
    }
}

export_plugin!(Resize, ResizeFast, Crop, Rotate, Flip, Pad);
