//! Geometry: resize, crop, rotate by quarter turns, flip, pad.

use fxchain_plugin_api::prelude::*;

mod resize;
mod resize8;

pub use resize::{Resize, ResizeFast};

/// Parameters of `geometry.crop`.
#[derive(Params)]
pub struct CropParams {
    /// Left edge in pixels.
    #[param(default = 0, range = 0..=65535, unit = "px")]
    pub x: u32,
    /// Top edge in pixels.
    #[param(default = 0, range = 0..=65535, unit = "px")]
    pub y: u32,
    /// Width in pixels; 0 reaches the right edge.
    #[param(default = 0, range = 0..=65536, unit = "px")]
    pub width: u32,
    /// Height in pixels; 0 reaches the bottom edge.
    #[param(default = 0, range = 0..=65536, unit = "px")]
    pub height: u32,
}

/// Cuts out a rectangle; its state is the rectangle, clipped to the image.
#[derive(Default)]
pub struct Crop {
    x: u32,
    y: u32,
    size: Size,
}
impl Filter for Crop {
    const META: Meta = Meta::new("geometry.crop")
        .summary("Cuts out a rectangle (clipped to the image).")
        .access(Access::GLOBAL)
        .tests(&[
            Test::new("inside").params(r#"{"x": 5, "y": 7, "width": 20, "height": 30}"#).hash("8b886e1c34d9497e"),
            Test::new("clipped").params(r#"{"x": 50, "y": 40, "width": 30}"#).hash("5c6b250362146463"),
        ]);
    type Params = CropParams;
    fn setup(&mut self, p: &CropParams, input: Size) -> Result<(), PluginError> {
        if p.x >= input.width || p.y >= input.height {
            return Err(PluginError::invalid_params(format!(
                "the crop origin ({}, {}) is outside the {}x{} image",
                p.x, p.y, input.width, input.height
            )));
        }
        let w = if p.width == 0 { input.width - p.x } else { p.width.min(input.width - p.x) };
        let h = if p.height == 0 { input.height - p.y } else { p.height.min(input.height - p.y) };
        *self = Crop { x: p.x, y: p.y, size: Size::new(w, h) };
        Ok(())
    }
    fn output_size(&self, _: &CropParams, _: Size) -> Size {
        self.size
    }
    fn footprint(&self, _: &CropParams, _: Size, _: Size) -> Footprint {
        // Output row y reads input row y + top.
        Footprint::map(0.0, 1.0, self.y as f64, 0.0)
    }
    fn render<P: Pixel>(&self, _: &CropParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let (x0, x1) = (self.x as usize, (self.x + self.size.width) as usize);
        for (y, row) in out.rows_mut() {
            row.copy_from_slice(&input.row(y + self.y)[x0..x1]);
        }
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
    #[param(default = "90")]
    pub angle: Turn,
}

/// Rotates by a multiple of 90°, exactly.
#[derive(Default)]
pub struct Rotate;
impl Filter for Rotate {
    const META: Meta = Meta::new("geometry.rotate")
        .summary("Rotates clockwise by 90, 180 or 270 degrees (lossless).")
        .access(Access::GLOBAL)
        .tests(&[
            Test::new("90").hash("e9639404c119c81a"),
            Test::new("180").params(r#"{"angle": "180"}"#).hash("ea3ef0de8c54529b"),
            Test::new("270, float").f32().params(r#"{"angle": "270"}"#).hash("e8b45b73a16d1799"),
        ]);
    type Params = RotateParams;
    fn output_size(&self, p: &RotateParams, input: Size) -> Size {
        match p.angle {
            Turn::Half => input,
            _ => Size::new(input.height, input.width),
        }
    }
    fn footprint(&self, p: &RotateParams, input: Size, _: Size) -> Footprint {
        // The input row each output pixel (x, y) reads.
        let last = input.height as f64 - 1.0;
        match p.angle {
            Turn::Cw90 => Footprint::map(-1.0, 0.0, last, 0.0),
            Turn::Half => Footprint::map(0.0, -1.0, last, 0.0),
            Turn::Cw270 => Footprint::map(1.0, 0.0, 0.0, 0.0),
        }
    }
    fn render<P: Pixel>(&self, p: &RotateParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let (iw, ih) = (input.width(), input.height());
        for (y, row) in out.rows_mut() {
            match p.angle {
                // out(x, y) = in(y, ih - 1 - x)
                Turn::Cw90 => row.iter_mut().enumerate().for_each(|(x, d)| *d = input.get(y, ih - 1 - x as u32)),
                Turn::Half => mirror(input.row(ih - 1 - y), row),
                // out(x, y) = in(iw - 1 - y, x)
                Turn::Cw270 => row.iter_mut().enumerate().for_each(|(x, d)| *d = input.get(iw - 1 - y, x as u32)),
            }
        }
    }
}

/// `dst` is `src` from right to left.
fn mirror<P: Pixel>(src: &[P], dst: &mut [P]) {
    dst.iter_mut().zip(src.iter().rev()).for_each(|(d, s)| *d = *s);
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
    #[param(default = "horizontal")]
    pub axis: FlipAxis,
}

/// Mirrors the image.
#[derive(Default)]
pub struct Flip;
impl Filter for Flip {
    const META: Meta = Meta::new("geometry.flip")
        .summary("Mirrors horizontally, vertically or both.")
        .access(Access::GLOBAL)
        .tests(&[
            Test::new("horizontal").hash("8601fe7b5c8a94fb"),
            Test::new("vertical").params(r#"{"axis": "vertical"}"#).hash("169e180abf788db7"),
            Test::new("both").params(r#"{"axis": "both"}"#).hash("ea3ef0de8c54529b"),
        ]);
    type Params = FlipParams;
    fn footprint(&self, p: &FlipParams, _: Size, _: Size) -> Footprint {
        match p.axis {
            FlipAxis::Horizontal => Footprint::SAME,
            _ => Footprint::WHOLE,
        }
    }
    fn render<P: Pixel>(&self, p: &FlipParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let h = input.height();
        for (y, row) in out.rows_mut() {
            match p.axis {
                FlipAxis::Horizontal => mirror(input.row(y), row),
                FlipAxis::Vertical => row.copy_from_slice(input.row(h - 1 - y)),
                FlipAxis::Both => mirror(input.row(h - 1 - y), row),
            }
        }
    }
}

/// Parameters of `geometry.pad`.
#[derive(Params)]
pub struct PadParams {
    /// Pixels added at the top.
    #[param(default = 0, range = 0..=16384, unit = "px")]
    pub top: u32,
    /// Pixels added on the right.
    #[param(default = 0, range = 0..=16384, unit = "px")]
    pub right: u32,
    /// Pixels added at the bottom.
    #[param(default = 0, range = 0..=16384, unit = "px")]
    pub bottom: u32,
    /// Pixels added on the left.
    #[param(default = 0, range = 0..=16384, unit = "px")]
    pub left: u32,
    /// Colour of the border.
    #[param(default = "#00000000")]
    pub color: Color,
}

/// Adds a border of a colour.
#[derive(Default)]
pub struct Pad;
impl Filter for Pad {
    const META: Meta =
        Meta::new("geometry.pad").summary("Adds a coloured border on each side.").access(Access::GLOBAL).tests(&[
            Test::new("default").hash("9f1f8f9c96163184"),
            Test::new("uneven, translucent red")
                .params(r##"{"top": 3, "right": 1, "bottom": 5, "left": 8, "color": "#ff000080"}"##)
                .hash("89f614c7c4beaba0"),
        ]);
    type Params = PadParams;
    fn output_size(&self, p: &PadParams, input: Size) -> Size {
        Size::new(input.width + p.left + p.right, input.height + p.top + p.bottom)
    }
    fn footprint(&self, p: &PadParams, _: Size, _: Size) -> Footprint {
        // Output row y shows input row y - top.
        Footprint::map(0.0, 1.0, -(p.top as f64), 0.0)
    }
    fn render<P: Pixel>(&self, p: &PadParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
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
    }
}

export_plugin!(Resize, ResizeFast, Crop, Rotate, Flip, Pad);
