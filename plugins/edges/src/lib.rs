//! Edge detection on Rec. 709 luma: each effect is a formula over the 3×3 luma window of
//! [`fxkit::stencil::stencil3`].

use fxchain_plugin_api::prelude::*;
use fxkit::luma::luma;
use fxkit::stencil::{sobel, stencil3, Window};

/// Parameters of `edges.sobel` and `edges.laplacian`.
#[derive(Params)]
pub struct ScaleParams {
    /// Multiplier on the edge strength (the gradient magnitude, or |∇²L|) before clamping to 1.
    #[param(default = 1.0, range = 0.0..=100.0)]
    pub scale: f32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

/// Sobel gradient magnitude of luma, as grey.
#[derive(Default)]
pub struct Sobel;
impl Filter for Sobel {
    const META: Meta = Meta::new("edges.sobel")
        .summary("Sobel gradient magnitude of Rec. 709 luma, as grey (alpha kept).")
        .doc("The 3×3 Sobel kernels on luma in 0..1, magnitude sqrt(gx² + gy²) clamped to 1 — on 8-bit data the same numbers as OpenCV's Sobel magnitude clamped to 255.")
        .tests(&[Test::new("scale 0.5, mirror").params(r#"{"scale": 0.5, "border": "mirror"}"#).hash("7441535de371bd7a")]);
    type Params = ScaleParams;
    fn footprint(&self, p: &ScaleParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(1)
    }
    fn render<P: Pixel>(&self, p: &ScaleParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        stencil3(input, out, p.border.mode, luma, |w| {
            let (gx, gy) = sobel(w);
            ((gx * gx + gy * gy).sqrt() * p.scale).min(1.0)
        });
    }
}

/// Parameters of `edges.emboss`.
#[derive(Params)]
pub struct EmbossParams {
    /// Direction of the light in degrees (0 = from the left, 90 = from the top).
    #[param(default = 135.0, range = -360.0..=360.0, unit = "deg")]
    pub angle: f32,
    /// Height of the relief.
    #[param(default = 2.0, range = 0.0..=20.0)]
    pub strength: f32,
    /// How pixels outside the image are read.
    #[param(flatten)]
    pub border: BorderParams,
}

/// Emboss: grey relief lit from a direction.
#[derive(Default)]
pub struct Emboss;
impl Filter for Emboss {
    const META: Meta = Meta::new("edges.emboss")
        .summary("Grey relief: 0.5 plus the luma gradient along the light direction.")
        .tests(&[Test::new("light from 30°").params(r#"{"angle": 30.0, "strength": 5.0}"#).hash("faf8dd6d8b60e1f1")]);
    type Params = EmbossParams;
    fn footprint(&self, p: &EmbossParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(1)
    }
    fn render<P: Pixel>(&self, p: &EmbossParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let (s, c) = p.angle.to_radians().sin_cos();
        stencil3(input, out, p.border.mode, luma, |w| {
            let (gx, gy) = sobel(w);
            // Light from `angle`: slopes facing it are bright.
            (0.5 - p.strength * (gx / 8.0 * c - gy / 8.0 * s)).clamp(0.0, 1.0)
        });
    }
}

/// Absolute 4-neighbour Laplacian of luma.
#[derive(Default)]
pub struct Laplacian;
impl Filter for Laplacian {
    const META: Meta = Meta::new("edges.laplacian").summary("Absolute 4-neighbour Laplacian of luma, as grey.").tests(
        &[Test::new("transparent, f32")
            .params(r#"{"scale": 3.0, "border": "transparent"}"#)
            .f32()
            .hash("0964bb40f4c9c730")],
    );
    type Params = ScaleParams;
    fn footprint(&self, p: &ScaleParams, _: Size, _: Size) -> Footprint {
        p.border.footprint(1)
    }
    fn render<P: Pixel>(&self, p: &ScaleParams, input: &Image<'_, P>, out: &mut Band<'_, P>) {
        let laplacian = |w: &Window| (w[0][1] + w[2][1] + w[1][0] + w[1][2] - 4.0 * w[1][1]).abs();
        stencil3(input, out, p.border.mode, luma, |w| (laplacian(w) * p.scale).min(1.0));
    }
}

export_plugin!(Sobel, Emboss, Laplacian);
