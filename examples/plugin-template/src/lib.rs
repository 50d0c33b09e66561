//! A template fxchain plugin: one point effect (duotone) and one area effect (outline).
#![forbid(unsafe_code)]

use fxchain_plugin_api::prelude::*;

#[derive(Params)]
pub struct DuotoneParams {
    /// Colour for black.
    #[param(default = "#1b1035")]
    pub dark: Color,
    /// Colour for white.
    #[param(default = "#ffd27a")]
    pub light: Color,
}

/// Maps luma to a ramp between two colours.
#[derive(Default)]
pub struct Duotone;

impl PointFilter for Duotone {
    const META: Meta = Meta::new("template.duotone")
        .summary("Maps luma onto a two-colour ramp.")
        .tests(&[Test::new("default").hash("ec70c4a2685714f1")]);
    type Params = DuotoneParams;

    fn render<P: Pixel>(&self, p: &DuotoneParams, band: &mut Band<'_, P>) {
        for (_, row) in band.rows_mut() {
            for px in row {
                let c = px.to_f32();
                let t = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
                let mix = |a: f32, b: f32| a + (b - a) * t;
                *px = P::from_f32(RgbaF32::new(mix(p.dark.r, p.light.r), mix(p.dark.g, p.light.g), mix(p.dark.b, p.light.b), c.a));
            }
        }
    }
}

#[derive(Params)]
pub struct OutlineParams {
    /// Strength of the outline.
    #[param(default = 1.0, range = 0.0..=8.0)]
    pub strength: f32,
}

/// Darkens pixels that differ from their right and lower neighbours (a 1-pixel area effect).
#[derive(Default)]
pub struct Outline;

impl Filter for Outline {
    const META: Meta = Meta::new("template.outline")
        .summary("Darkens edges found from neighbouring differences.")
        .tests(&[Test::new("strength 2").params(r#"{"strength": 2.0}"#).hash("f097aae98337191d")]);
    type Params = OutlineParams;

    fn footprint(&self, _: &OutlineParams, _: Size, _: Size) -> Footprint {
        Footprint::radius(1, Border::Clamp)
    }

    fn render<P: Pixel>(&self, p: &OutlineParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let w = input.width() as usize;
        for (y, row) in out.rows_mut() {
            let here = input.row(y);
            let below = input.row_clamped(y as i64 + 1);
            for (x, px) in row.iter_mut().enumerate() {
                let c = here[x].to_f32();
                let r = here[(x + 1).min(w - 1)].to_f32();
                let b = below[x].to_f32();
                let edge = ((c.r - r.r).abs() + (c.g - r.g).abs() + (c.b - r.b).abs() + (c.r - b.r).abs() + (c.g - b.g).abs() + (c.b - b.b).abs()) / 6.0;
                let k = (1.0 - edge * p.strength * 4.0).clamp(0.0, 1.0);
                *px = P::from_f32(c.map_rgb(|v| v * k));
            }
        }
    }
}

export_plugin!(Duotone, Outline);
