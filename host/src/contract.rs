//! Test cases in the plugin contract: every effect may declare cases (parameters, an input, an
//! expected hash or a PSNR bound against another effect). `fxchain plugins test` runs them, and
//! hot reload runs a library's cases before it swaps the library in.
//!
//! A case runs as a one-step chain through the same validation and executor as any chain, so its
//! parameters get the same checks and messages, and what it tests is what chains run.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_plugin_api::{EffectKind, PixelFormat, Size};

use crate::chain::{validate, ChainSource};
use crate::exec::{render, RenderOptions};
use crate::frame::Frame;
use crate::loader::{EffectInfo, Expect, TestCase};
use crate::probe::psnr;
use crate::registry::Registry;

/// Hex digits of the output hash a case records and compares.
pub const HASH_DIGITS: usize = 16;

/// The outcome of one case.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaseReport {
    /// Effect id.
    pub effect: String,
    /// Case name.
    pub case: String,
    /// Whether the output met the expectation.
    pub passed: bool,
    /// What was expected and found, or why the case could not run.
    pub detail: String,
    /// The output's hash (first [`HASH_DIGITS`] hex digits), when the case rendered.
    pub hash: Option<String>,
}

/// The generated test input `index` of a case: gradients, a disc with hard edges, stripes and
/// noise, all from `(x, y, seed)`; odd seeds add a semi-transparent corner so both the opaque and
/// the alpha paths of effects get exercised.
pub fn test_pattern(size: Size, seed: u64, index: u32) -> Frame {
    let (w, h) = (size.width as usize, size.height as usize);
    let salt = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(index as u64 * 0x632B_E59B_D9B4_E019);
    let mut px = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = ((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32);
            let mut k = (x as u64) << 32 ^ y as u64 ^ salt;
            k = (k ^ (k >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            k = (k ^ (k >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let grain = ((k >> 56) as f32 / 255.0 - 0.5) * 0.16;
            let (cx, cy) = (0.3 + 0.4 * ((salt >> 8) & 0xff) as f32 / 255.0, 0.35 + 0.3 * (salt & 0xff) as f32 / 255.0);
            let disc = (fx - cx).powi(2) + (fy - cy).powi(2) < 0.04;
            let stripes = ((fx * 23.0).sin() * (fy * 5.0).cos() > 0.5) as u8 as f32;
            let (r, g, b) = if disc {
                (0.95, 0.85, 0.35)
            } else {
                (0.15 + 0.7 * fx + 0.1 * stripes + grain, 0.25 + 0.5 * fy + grain, 0.8 - 0.6 * fx * fy + grain)
            };
            let a = if seed % 2 == 1 && fx > 0.6 && fy > 0.6 { 0.25 + (fx - 0.6) * 1.5 } else { 1.0 };
            let i = (y * w + x) * 4;
            for (c, v) in [r, g, b, a].into_iter().enumerate() {
                px[i + c] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    Frame::from_rgba8(size, &px)
}

/// The hash of a frame's 8-bit pixels (tightly packed RGBA), as cases record it.
pub fn frame_hash(frame: &Frame) -> String {
    let hex = blake3::hash(&frame.to_rgba8_vec()).to_hex();
    hex[..HASH_DIGITS].to_string()
}

/// How many inputs a case of `effect` gets.
fn input_count(effect: &EffectInfo) -> u32 {
    match effect.kind {
        EffectKind::GENERATOR => 0,
        EffectKind::COMPOSITOR => effect.min_inputs.max(1),
        _ => 1,
    }
}

/// Renders `case` through effect `id` (which may differ from the declaring effect, for a PSNR
/// reference) as a one-step chain. The step has a fixed id, so its seed (derived from the chain
/// seed and the step id) is the same for an effect and its reference.
fn render_case(registry: &Registry, declaring: &EffectInfo, id: &str, case: &TestCase) -> Result<Frame, String> {
    let n = input_count(declaring);
    let names: Vec<String> = (0..n).map(|i| if i == 0 { "input".into() } else { format!("input{}", i + 1) }).collect();
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let precision = if case.format == PixelFormat::RGBA32F { "F32" } else { "U8" };
    let (size, inputs) = match n {
        0 => (format!("size: ({}, {}), ", case.size.width, case.size.height), String::new()),
        _ => (format!("inputs: [{}], ", quoted.join(", ")), format!(", inputs: [{}]", quoted.join(", "))),
    };
    let text = format!(
        "(seed: {}, precision: {precision}, {size}steps: [(id: \"case\", effect: {id:?}, params: {}{inputs})])",
        case.seed, case.params
    );
    let source = ChainSource::from_text(format!("test case `{}` of {}", case.name, declaring.id), text);
    let chain = validate(source, registry, &[]).map_err(|e| {
        e.diagnostics()
            .iter()
            .map(|d| format!("{}{}", d.message, d.help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let frames: HashMap<String, Arc<Frame>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let frame = if case.input.is_empty() || i > 0 {
                test_pattern(case.size, case.seed, i as u32)
            } else {
                Frame::from_rgba8(case.size, &case.input)
            };
            (name.clone(), Arc::new(frame))
        })
        .collect();
    let options = RenderOptions { default_size: case.size, ..RenderOptions::default() };
    let result = render(&chain, registry, &frames, &options).map_err(|e| e.to_string())?;
    result.outputs.into_iter().next().map(|f| (*f).clone()).ok_or_else(|| "the case produced no output".into())
}

/// Runs one case of `effect`.
pub fn run_case(registry: &Registry, effect: &EffectInfo, case: &TestCase) -> CaseReport {
    let report = |passed: bool, detail: String, hash: Option<String>| CaseReport {
        effect: effect.id.clone(),
        case: case.name.clone(),
        passed,
        detail,
        hash,
    };
    let out = match render_case(registry, effect, &effect.id, case) {
        Ok(f) => f,
        Err(e) => return report(false, e, None),
    };
    let hash = frame_hash(&out);
    match &case.expect {
        Expect::Hash(want) if want.is_empty() => {
            report(false, format!("no expected hash declared; this build gives {hash}"), Some(hash))
        }
        Expect::Hash(want) if hash.starts_with(want.as_str()) => report(true, format!("hash {want}"), Some(hash)),
        Expect::Hash(want) => report(false, format!("expected hash {want}, got {hash}"), Some(hash)),
        Expect::Psnr { reference, min_db } => match render_case(registry, effect, reference, case) {
            Err(e) => report(false, format!("the reference `{reference}` failed: {e}"), Some(hash)),
            Ok(r) => {
                let db = psnr(&out, &r);
                let shown = if db.is_finite() { format!("{db:.1} dB") } else { "identical".into() };
                report(db >= *min_db, format!("{shown} against `{reference}` (at least {min_db} dB)"), Some(hash))
            }
        },
    }
}

/// Runs every case `effect` declares; an effect that declares none gets one failing report.
pub fn run_effect(registry: &Registry, effect: &EffectInfo) -> Vec<CaseReport> {
    if effect.tests.is_empty() {
        return vec![CaseReport {
            effect: effect.id.clone(),
            case: "-".into(),
            passed: false,
            detail: "declares no test case".into(),
            hash: None,
        }];
    }
    effect.tests.iter().map(|c| run_case(registry, effect, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_depends_on_seed_and_index_only() {
        let a = test_pattern(Size::new(17, 9), 3, 0);
        assert_eq!(a.to_rgba8_vec(), test_pattern(Size::new(17, 9), 3, 0).to_rgba8_vec());
        assert_ne!(a.to_rgba8_vec(), test_pattern(Size::new(17, 9), 3, 1).to_rgba8_vec());
        assert_ne!(a.to_rgba8_vec(), test_pattern(Size::new(17, 9), 4, 0).to_rgba8_vec());
    }

    #[test]
    fn odd_seeds_have_a_transparent_corner_and_even_seeds_are_opaque() {
        let alpha = |seed| test_pattern(Size::new(32, 32), seed, 0).to_rgba8_vec().chunks(4).map(|p| p[3]).min();
        assert!(alpha(1).unwrap() < 128);
        assert_eq!(alpha(2), Some(255));
    }

    #[test]
    fn hashes_are_prefixes_of_blake3() {
        let f = Frame::from_rgba8(Size::new(1, 1), &[1, 2, 3, 4]);
        assert_eq!(frame_hash(&f), blake3::hash(&[1, 2, 3, 4]).to_hex()[..HASH_DIGITS]);
    }
}
