//! A template fxchain plugin: one point effect (duotone) and one area effect (edge glow).

use fxchain_plugin_api::prelude::*;

#[derive(Params)]
pub struct DuotoneParams {
    /// Colour for black.
    #[param(id = "dark", default = "#1b1035")]
    pub dark: Color,
    /// Colour for white.
    #[param(id = "light", default = "#ffd27a")]
    pub light: Color,
}

/// Maps luma to a ramp between two colours.
#[derive(Default)]
pub struct Duotone;

impl PointFilter for Duotone {
    const ID: &'static str = "template.duotone";
    const SUMMARY: &'static str = "Maps luma onto a two-colour ramp.";
    type Params = DuotoneParams;

    fn process_row<P: Pixel>(&self, p: &DuotoneParams, row: &mut [P]) {
        for px in row {
            let c = px.to_f32();
            let t = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
            let mix = |a: f32, b: f32| a + (b - a) * t;
            *px = P::from_f32(RgbaF32::new(mix(p.dark.r, p.light.r), mix(p.dark.g, p.light.g), mix(p.dark.b, p.light.b), c.a));
        }
    }
}

#[derive(Params)]
pub struct OutlineParams {
    /// Strength of the outline.
    #[param(id = "strength", default = 1.0, range = 0.0..=8.0)]
    pub strength: f32,
}

/// Darkens pixels that differ from their right and lower neighbours (a 1-pixel area effect).
#[derive(Default)]
pub struct Outline;

impl Filter for Outline {
    const ID: &'static str = "template.outline";
    const SUMMARY: &'static str = "Darkens edges found from neighbouring differences.";
    type Params = OutlineParams;
    type Plan = f32;

    fn plan(&self, p: OutlineParams, _input: Size) -> Result<f32, PluginError> {
        Ok(p.strength)
    }
    fn input_rows(&self, _: &f32, output: Rows, input: Size) -> Rows {
        output.expand(1, input.height)
    }
    fn render<P: Pixel>(&self, strength: &f32, input: &Image<'_, P>, out: &mut Band<'_, P>) -> Result<(), PluginError> {
        let w = input.width() as usize;
        for (y, row) in out.rows_mut() {
            let here = input.row(y);
            let below = input.row_clamped(y as i64 + 1);
            for (x, px) in row.iter_mut().enumerate() {
                let c = here[x].to_f32();
                let r = here[(x + 1).min(w - 1)].to_f32();
                let b = below[x].to_f32();
                let edge = ((c.r - r.r).abs() + (c.g - r.g).abs() + (c.b - r.b).abs() + (c.r - b.r).abs() + (c.g - b.g).abs() + (c.b - b.b).abs()) / 6.0;
                let k = (1.0 - edge * strength * 4.0).clamp(0.0, 1.0);
                *px = P::from_f32(c.map_rgb(|v| v * k));
            }
        }
        Ok(())
    }
}

export_plugin!(Duotone, Outline);
