//! Measuring a fast variant against its reference on a probe image: speed-up and PSNR.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fxchain_plugin_api::{EffectKind, PixelFormat, Size};

use crate::chain::Step;
use crate::error::RunError;
use crate::exec::render_step;
use crate::frame::Frame;
use crate::loader::EffectInfo;
use crate::registry::Registry;

/// How a variant compares with its reference.
#[derive(Clone, Debug)]
pub struct VariantReport {
    /// The variant's id.
    pub variant: String,
    /// The reference's id.
    pub reference: String,
    /// Probe size.
    pub size: Size,
    /// Best time of the reference.
    pub reference_time: Duration,
    /// Best time of the variant.
    pub variant_time: Duration,
    /// Peak signal-to-noise ratio of the variant's output against the reference's, in dB over
    /// 8-bit RGBA (infinite when identical).
    pub psnr: f64,
}

impl VariantReport {
    /// Reference time / variant time.
    pub fn speedup(&self) -> f64 {
        self.reference_time.as_secs_f64() / self.variant_time.as_secs_f64().max(1e-9)
    }
}

/// A deterministic, photo-like probe image: smooth gradients, hard edges, fine texture.
pub fn probe_image(size: Size) -> Frame {
    let (w, h) = (size.width as usize, size.height as usize);
    let mut px = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let hash =
                ((x as u32).wrapping_mul(73_856_093) ^ (y as u32).wrapping_mul(19_349_663)).wrapping_mul(2_654_435_761);
            let grain = (hash >> 24) as f32 / 255.0 - 0.5;
            let disc = ((fx - 0.62).powi(2) + (fy - 0.35).powi(2)).sqrt() < 0.18;
            let stripes = ((fx * 40.0).sin() * (fy * 7.0).cos() > 0.6) as u8 as f32;
            let r = if disc { 0.95 } else { 0.2 + 0.6 * fx + 0.1 * stripes };
            let g = if disc { 0.85 } else { 0.3 + 0.4 * fy + 0.05 * grain };
            let b = if disc { 0.4 } else { 0.7 - 0.5 * fy * fx + 0.08 * grain };
            let i = (y * w + x) * 4;
            px[i] = (r.clamp(0.0, 1.0) * 255.0) as u8;
            px[i + 1] = (g.clamp(0.0, 1.0) * 255.0) as u8;
            px[i + 2] = (b.clamp(0.0, 1.0) * 255.0) as u8;
            px[i + 3] = 255;
        }
    }
    Frame::from_rgba8(size, &px)
}

/// PSNR in dB between two frames of the same size (8-bit RGBA).
pub fn psnr(a: &Frame, b: &Frame) -> f64 {
    let (a, b) = (a.to_rgba8_vec(), b.to_rgba8_vec());
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let mse = a.iter().zip(&b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

fn timed(
    step: &Step,
    info: &EffectInfo,
    input: &Option<Arc<Frame>>,
    size: Size,
    runs: usize,
) -> Result<(Frame, Duration), RunError> {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let inputs: Vec<Arc<Frame>> = input.iter().cloned().collect();
        let t = Instant::now();
        let f = render_step(step, info, inputs, PixelFormat::RGBA8, size, None)?;
        best = best.min(t.elapsed());
        out = Some(f);
    }
    Ok((out.expect("at least one run"), best))
}

/// Renders `variant` and its reference with default parameters on a probe of `size` (a probe
/// image for filters, nothing for generators) and compares them. Compositors are not probed.
pub fn compare_variant(
    registry: &Registry,
    variant: &EffectInfo,
    size: Size,
    runs: usize,
) -> Option<Result<VariantReport, RunError>> {
    let reference = registry.effect(variant.variant_of.as_deref()?)?;
    if variant.kind == EffectKind::COMPOSITOR {
        return None;
    }
    let input = (variant.kind == EffectKind::FILTER).then(|| Arc::new(probe_image(size)));
    let step = |info: &EffectInfo| Step {
        index: 0,
        id: None,
        effect: info.id.clone(),
        params: info.params.iter().map(|p| p.default.clone()).collect(),
        enabled: true,
        inputs: Vec::new(),
        quality: None,
        seed: 0x5EED,
    };
    Some((|| {
        let (ref_out, ref_time) = timed(&step(reference), reference, &input, size, runs)?;
        let (var_out, var_time) = timed(&step(variant), variant, &input, size, runs)?;
        Ok(VariantReport {
            variant: variant.id.clone(),
            reference: reference.id.clone(),
            size,
            reference_time: ref_time,
            variant_time: var_time,
            psnr: psnr(&ref_out, &var_out),
        })
    })())
}
