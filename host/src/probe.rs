//! Measuring a fast variant against its reference: speed-up and PSNR on a natural photo.
//!
//! Filters are measured on [`photo_probe`] (a photograph, mirror-tiled to the probe size), PSNR
//! over the R, G and B channels only (the alpha channel is constant). The figures are kept in the
//! cache folder per content hash of the two libraries, probe size and parameters, so listing
//! effects does not re-measure them ([`measure_cached`]).

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
    /// the R, G and B channels of 8-bit pixels (infinite when identical).
    pub psnr: f64,
    /// What the input was ([`PHOTO_NAME`] for filters, "none" for generators).
    pub image: String,
    /// Whether the figures came from the cache of an earlier measurement.
    pub cached: bool,
}

impl VariantReport {
    /// Reference time / variant time.
    pub fn speedup(&self) -> f64 {
        self.reference_time.as_secs_f64() / self.variant_time.as_secs_f64().max(1e-9)
    }
}

/// The photograph variants are measured on: NASA's portrait of astronaut Eileen Collins (public
/// domain; the `astronaut` sample image of scikit-image), 512×512, JPEG quality 92.
const PHOTO: &[u8] = include_bytes!("../assets/astronaut.jpg");

/// How reports name [`PHOTO`].
pub const PHOTO_NAME: &str = "astronaut photo (512x512 JPEG, mirror-tiled), RGB only";

/// The natural photo, mirror-tiled to `size` (an opaque 8-bit frame).
pub fn photo_probe(size: Size) -> Frame {
    let img = image::load_from_memory(PHOTO).expect("the embedded photo decodes").to_rgba8();
    let (pw, ph) = (img.width() as i64, img.height() as i64);
    let mirror = |v: i64, n: i64| {
        let m = v.rem_euclid(2 * n);
        if m < n {
            m
        } else {
            2 * n - 1 - m
        }
    };
    let (w, h) = (size.width as usize, size.height as usize);
    let mut px = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let p = img.get_pixel(mirror(x as i64, pw) as u32, mirror(y as i64, ph) as u32);
            px[(y * w + x) * 4..][..4].copy_from_slice(&p.0);
        }
    }
    Frame::from_rgba8(size, &px)
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

/// PSNR in dB between two frames of the same size over the R, G and B channels of 8-bit
/// pixels (alpha ignored).
pub fn psnr_rgb(a: &Frame, b: &Frame) -> f64 {
    let (a, b) = (a.to_rgba8_vec(), b.to_rgba8_vec());
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut sum, mut n) = (0f64, 0usize);
    for (p, q) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for c in 0..3 {
            sum += (p[c] as f64 - q[c] as f64).powi(2);
        }
        n += 3;
    }
    if sum == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 * n as f64 / sum).log10()
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

/// Renders `variant` and its reference with default parameters on a probe of `size` (the
/// [`photo_probe`] for filters, nothing for generators) and compares them. Compositors are not
/// probed.
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
    let input = (variant.kind == EffectKind::FILTER).then(|| Arc::new(photo_probe(size)));
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
            psnr: psnr_rgb(&ref_out, &var_out),
            image: if input.is_some() { PHOTO_NAME.to_string() } else { "none".to_string() },
            cached: false,
        })
    })())
}

/// Bumped when what [`compare_variant`] measures changes, so older cached figures are ignored.
const MEASURE_VERSION: u32 = 1;

/// The cache file of the figures of `variant` against its reference at `size`: keyed by the
/// content hashes of both libraries, the two ids, the default parameters and the probe size.
fn cache_file(
    registry: &Registry,
    variant: &EffectInfo,
    size: Size,
    dir: &std::path::Path,
) -> Option<std::path::PathBuf> {
    let reference = registry.effect(variant.variant_of.as_deref()?)?;
    let mut h = blake3::Hasher::new();
    h.update(&MEASURE_VERSION.to_le_bytes());
    for e in [variant, reference] {
        h.update(e.library.content_hash.as_bytes());
        h.update(e.id.as_bytes());
        h.update(format!("{:?}", e.params.iter().map(|p| &p.default).collect::<Vec<_>>()).as_bytes());
    }
    h.update(&size.width.to_le_bytes());
    h.update(&size.height.to_le_bytes());
    Some(dir.join(format!("{}.json", &h.finalize().to_hex()[..32])))
}

/// [`compare_variant`], with the figures kept in `dir` (one small JSON file per library pair,
/// parameters and probe size): a second call for the same libraries reads them back
/// (`cached: true`) instead of measuring again. Errors are not cached.
pub fn measure_cached(
    registry: &Registry,
    variant: &EffectInfo,
    size: Size,
    runs: usize,
    dir: &std::path::Path,
) -> Option<Result<VariantReport, RunError>> {
    let file = cache_file(registry, variant, size, dir);
    if let Some(r) = file.as_ref().and_then(|f| read_cached(f)) {
        return Some(Ok(r));
    }
    let r = compare_variant(registry, variant, size, runs)?;
    if let (Ok(r), Some(f)) = (&r, &file) {
        let v = serde_json::json!({
            "variant": r.variant, "reference": r.reference, "width": r.size.width, "height": r.size.height,
            "reference_ns": r.reference_time.as_nanos() as u64, "variant_ns": r.variant_time.as_nanos() as u64,
            "psnr_db": if r.psnr.is_finite() { serde_json::json!(r.psnr) } else { serde_json::json!("inf") },
            "image": r.image,
        });
        // A cache that cannot be written only costs a measurement next time.
        let _ = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(f, v.to_string()));
    }
    Some(r)
}

fn read_cached(file: &std::path::Path) -> Option<VariantReport> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let psnr = match &v["psnr_db"] {
        serde_json::Value::String(s) if s == "inf" => f64::INFINITY,
        x => x.as_f64()?,
    };
    Some(VariantReport {
        variant: v["variant"].as_str()?.to_string(),
        reference: v["reference"].as_str()?.to_string(),
        size: Size::new(v["width"].as_u64()? as u32, v["height"].as_u64()? as u32),
        reference_time: Duration::from_nanos(v["reference_ns"].as_u64()?),
        variant_time: Duration::from_nanos(v["variant_ns"].as_u64()?),
        psnr,
        image: v["image"].as_str()?.to_string(),
        cached: true,
    })
}

/// The folder [`measure_cached`] keeps figures in: `variants` beside the plugin shadow copies
/// (`$XDG_CACHE_HOME/fxchain/variants`).
pub fn default_measure_dir() -> std::path::PathBuf {
    let plugins = crate::loader::default_cache_dir();
    plugins.parent().map(|p| p.join("variants")).unwrap_or_else(|| plugins.join("variants"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_psnr_ignores_alpha_and_is_infinite_for_equal_frames() {
        let a = Frame::from_rgba8(Size::new(2, 1), &[10, 20, 30, 255, 40, 50, 60, 255]);
        let b = Frame::from_rgba8(Size::new(2, 1), &[10, 20, 30, 0, 40, 50, 60, 7]);
        assert_eq!(psnr_rgb(&a, &b), f64::INFINITY);
        // One channel off by 3 in six: MSE 9/6 = 1.5.
        let c = Frame::from_rgba8(Size::new(2, 1), &[13, 20, 30, 255, 40, 50, 60, 255]);
        let want = 10.0 * (255.0f64 * 255.0 / 1.5).log10();
        assert!((psnr_rgb(&a, &c) - want).abs() < 1e-9);
    }

    #[test]
    fn the_photo_probe_is_the_photo_mirror_tiled() {
        let f = photo_probe(Size::new(1030, 3)).to_rgba8_vec();
        let px = |x: usize| &f[x * 4..x * 4 + 4];
        // Columns 511 and 512 are the same photo column (mirrored), as are 0 and 1023.
        assert_eq!(px(511), px(512));
        assert_eq!(px(0), px(1023));
        assert_ne!(px(0), px(100));
        assert!(f.chunks_exact(4).all(|p| p[3] == 255));
    }
}
