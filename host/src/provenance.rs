//! Provenance records: how an output was made, carried in the output file, and replaying them.
//!
//! A record holds the resolved chain (command-line overrides applied, as RON text), the quality
//! and precision, the seeds, every plugin library a step may run (name, version, content hash),
//! the input files with their content hashes, fxchain's version and a hash of the output's
//! pixels. It is JSON, embedded as the text record [`KEYWORD`] (a PNG `iTXt` chunk; an element
//! of the XMP packet in JPEG, WebP and TIFF), or written beside the output as
//! `OUT.fxchain.json` when the format cannot hold it (an XMP packet too large for one JPEG
//! segment).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::chain::{Chain, ChainSource, Override};
use crate::error::ImageError;
use crate::frame::Frame;
use crate::io::{ImageLimits, Metadata, OutputFormat};
use crate::meta::MetaOptions;
use crate::registry::Registry;

/// The keyword of the record among an image's text records.
pub const KEYWORD: &str = "fxchain";
/// The version of the record's layout.
pub const SCHEMA_VERSION: u32 = 1;

/// How an output was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Layout version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// fxchain's version.
    pub fxchain_version: String,
    /// The chain file's name.
    pub chain_name: String,
    /// The chain's text with the overrides applied (RON).
    pub chain: String,
    /// The overrides as given (`STEP.PARAM=VALUE`), already applied to `chain`.
    pub overrides: Vec<String>,
    /// The quality profile given on the command line, if any.
    pub quality: Option<String>,
    /// The chain's quality profile.
    pub chain_quality: String,
    /// The chain's precision (`U8` or `F32`).
    pub precision: String,
    /// The chain's seed.
    pub seed: u64,
    /// Each step's seed.
    pub seeds: Vec<StepSeed>,
    /// Whether consecutive point steps were fused.
    pub fuse: bool,
    /// `--preview MAXDIM`, if the inputs were scaled down.
    pub preview: Option<u32>,
    /// Whether the inputs were kept in their ICC profile (`--keep-profile`).
    pub keep_profile: bool,
    /// Which of the chain's outputs this file holds (0-based).
    pub output: usize,
    /// BLAKE3 of the output's pixels (tightly packed 8-bit RGBA) before encoding.
    pub output_hash: String,
    /// The input files.
    pub inputs: Vec<InputRecord>,
    /// The plugin libraries the steps may run.
    pub plugins: Vec<PluginRecord>,
    /// The steps in chain order, with the library that provides each.
    pub steps: Vec<StepRecord>,
}

/// A step's seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSeed {
    /// Step label.
    pub step: String,
    /// Its seed.
    pub seed: u64,
}

/// An input file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The chain's name for it.
    pub name: String,
    /// The path as given.
    pub path: String,
    /// BLAKE3 of the file's bytes.
    pub hash: String,
}

/// A plugin library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRecord {
    /// Library name.
    pub name: String,
    /// Library version.
    pub version: String,
    /// BLAKE3 of the library file.
    pub content_hash: String,
}

/// A step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step label (`#2 "blur"`).
    pub label: String,
    /// Effect id.
    pub effect: String,
    /// Names of the libraries providing the effect or one of its variants.
    pub plugins: Vec<String>,
}

/// How a render was asked for, beyond the chain itself.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `--set` values as given.
    pub sets: Vec<String>,
    /// `--quality` as given.
    pub quality: Option<String>,
    /// Fusion of point steps.
    pub fuse: bool,
    /// `--preview`.
    pub preview: Option<u32>,
    /// Metadata and colour options.
    pub meta: MetaOptions,
}

/// BLAKE3 of a frame's pixels as tightly packed 8-bit RGBA.
pub fn pixel_hash(frame: &Frame) -> String {
    // Row by row: the hash of `to_rgba8_vec()` without a copy of the image.
    let mut h = PixelHasher::default();
    h.update(frame.bytes(), frame.stride(), frame.size().height, frame.size().width, frame.format());
    h.finish()
}

/// [`pixel_hash`] of an image given in strips of rows, in order.
#[derive(Default)]
pub struct PixelHasher {
    hasher: blake3::Hasher,
    row8: Vec<u8>,
}

impl PixelHasher {
    /// Adds `n` rows of `width` pixels in `format` (`RGBA8` or `RGBA32F`), `stride` bytes apart.
    pub fn update(&mut self, data: &[u8], stride: usize, n: u32, width: u32, format: fxchain_plugin_api::PixelFormat) {
        let width = width as usize;
        for r in (0..n as usize).map(|i| &data[i * stride..]) {
            if format == fxchain_plugin_api::PixelFormat::RGBA8 {
                self.hasher.update(&r[..width * 4]);
            } else {
                self.row8.clear();
                self.row8.extend(
                    bytemuck::cast_slice::<u8, f32>(&r[..width * 16]).iter().map(|v| fxchain_plugin_api::f32_to_u8(*v)),
                );
                self.hasher.update(&self.row8);
            }
        }
    }

    /// The hash, in hexadecimal.
    pub fn finish(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }
}

/// The chain's text with `overrides` applied where they are written (comments and layout kept).
pub fn resolved_text(chain: &Chain, overrides: &[Override]) -> Result<String, String> {
    let mut text = chain.source.text.clone();
    for o in overrides {
        let index = step_index(chain, &o.step).ok_or_else(|| format!("--set {}: no such step", o.step))?;
        text = crate::chain::edit::set_param(&text, index, &o.param, &o.value).map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// The step an override names: a 1-based number (`3`, `#3`), a step id, or an effect id.
fn step_index(chain: &Chain, selector: &str) -> Option<usize> {
    if let Ok(n) = selector.trim_start_matches('#').parse::<usize>() {
        return n.checked_sub(1).filter(|&i| i < chain.steps.len());
    }
    chain
        .steps
        .iter()
        .position(|s| s.id.as_deref() == Some(selector))
        .or_else(|| chain.steps.iter().position(|s| s.effect == selector))
}

/// Libraries providing effect `id` or one of its variants.
fn libraries_of(registry: &Registry, id: &str) -> Vec<Arc<crate::loader::Library>> {
    let mut libs: Vec<Arc<crate::loader::Library>> = Vec::new();
    for e in registry.effect(id).into_iter().chain(registry.variants_of(id)) {
        if !libs.iter().any(|l| l.name == e.library.name) {
            libs.push(e.library.clone());
        }
    }
    libs
}

/// The record of output number `output` (0-based, in `chain.outputs` order) of a render of
/// `chain` (validated with `overrides`) on `inputs` (chain name and file) with `settings`.
#[allow(clippy::too_many_arguments)]
pub fn record(
    chain: &Chain,
    overrides: &[Override],
    registry: &Registry,
    inputs: &[(String, PathBuf)],
    settings: &Settings,
    output: usize,
    output_hash: String,
) -> Result<Record, String> {
    let mut plugins: Vec<PluginRecord> = Vec::new();
    let mut steps = Vec::new();
    for s in &chain.steps {
        let libs = libraries_of(registry, &s.effect);
        for l in &libs {
            if !plugins.iter().any(|p| p.name == l.name) {
                plugins.push(PluginRecord {
                    name: l.name.clone(),
                    version: l.version.clone(),
                    content_hash: l.content_hash.clone(),
                });
            }
        }
        steps.push(StepRecord {
            label: s.label(),
            effect: s.effect.clone(),
            plugins: libs.iter().map(|l| l.name.clone()).collect(),
        });
    }
    let inputs = inputs
        .iter()
        .map(|(name, path)| {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(InputRecord {
                name: name.clone(),
                path: path.display().to_string(),
                hash: blake3::hash(&bytes).to_hex().to_string(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Record {
        schema_version: SCHEMA_VERSION,
        fxchain_version: env!("CARGO_PKG_VERSION").to_string(),
        chain_name: chain.source.name.clone(),
        chain: resolved_text(chain, overrides)?,
        overrides: settings.sets.clone(),
        quality: settings.quality.clone(),
        chain_quality: chain.quality.name().unwrap_or("balanced").to_string(),
        precision: format!("{:?}", chain.precision),
        seed: chain.seed,
        seeds: chain.steps.iter().map(|s| StepSeed { step: s.label(), seed: s.seed }).collect(),
        fuse: settings.fuse,
        preview: settings.preview,
        keep_profile: settings.meta.keep_profile,
        output,
        output_hash,
        inputs,
        plugins,
        steps,
    })
}

/// The sidecar file of an output: `OUT.fxchain.json`.
pub fn sidecar(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".fxchain.json");
    PathBuf::from(s)
}

/// Writes `frame` to `path` (atomically, as [`crate::io::save_image_with`]) with `meta` and,
/// when given, the provenance `record`: embedded where the format holds it, else in the sidecar
/// file. A sidecar left by an earlier write of `path` is removed when the record is embedded.
pub fn save(
    frame: &Frame,
    path: &Path,
    format: OutputFormat,
    encode: &crate::io::EncodeOptions,
    meta: &Metadata,
    record: Option<&Record>,
) -> Result<(), ImageError> {
    let target = crate::io::Target::from_path(path);
    let write = |m: &Metadata| crate::io::save_image_with(frame, &target, format, encode, m);
    let Some(record) = record else { return write(meta) };
    let (keyword, json) = png_text(record);
    let mut with = without_record(meta);
    with.text.push((keyword, json.clone()));
    if format != OutputFormat::Png {
        // Text records live in the XMP packet where the format has no text chunks.
        with.xmp = crate::meta::xmp_with_text(&with).map(String::into_bytes);
        with.text.clear();
    }
    match write(&with) {
        Ok(()) => {
            embedded(path);
            Ok(())
        }
        Err(ImageError::Write { reason, .. })
            if reason.contains("XMP packet") && target != crate::io::Target::Stdout =>
        {
            write(meta)?;
            crate::chain::edit::write_atomic(&sidecar(path), &json)
                .map_err(|e| ImageError::Write { path: sidecar(path), reason: e.to_string() })
        }
        Err(e) => Err(e),
    }
}

/// The text record (keyword, JSON) of `record`, as [`save`] embeds it in a PNG.
pub fn png_text(record: &Record) -> (String, String) {
    (KEYWORD.to_string(), serde_json::to_string(record).expect("a record serializes"))
}

/// `meta` without a provenance record (an input written by fxchain has one; its output gets
/// its own).
pub fn without_record(meta: &Metadata) -> Metadata {
    let mut m = meta.clone();
    m.text.retain(|(k, _)| k != KEYWORD);
    m
}

/// Called once an output was written with its record embedded: a sidecar left by an earlier
/// write, whose record was too large to embed, is stale and removed.
pub fn embedded(path: &Path) {
    if path != Path::new("-") {
        let _ = std::fs::remove_file(sidecar(path));
    }
}

/// Why a record could not be read or replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The output or its record cannot be read (exit 2).
    #[error("{0}")]
    Record(String),
    /// An input file cannot be found (exit 2).
    #[error("{0}")]
    Input(String),
    /// The recorded chain no longer validates against the loaded plugins (exit 2).
    #[error("{0}")]
    Chain(String),
    /// The render failed (exit 1).
    #[error("{0}")]
    Render(String),
}

/// Reads the record of the output file at `path`: embedded, or in its sidecar.
pub fn read(path: &Path) -> Result<Record, ReplayError> {
    let bytes = std::fs::read(path).map_err(|e| ReplayError::Record(format!("{}: {e}", path.display())))?;
    let meta = crate::meta::read(&bytes);
    let json = match crate::meta::text_record(&meta, KEYWORD) {
        Some(j) => j,
        None => std::fs::read_to_string(sidecar(path)).map_err(|_| {
            ReplayError::Record(format!(
                "{}: no provenance record (neither embedded nor in {})",
                path.display(),
                sidecar(path).display()
            ))
        })?,
    };
    let record: Record = serde_json::from_str(&json)
        .map_err(|e| ReplayError::Record(format!("{}: the provenance record cannot be read: {e}", path.display())))?;
    if record.schema_version > SCHEMA_VERSION {
        return Err(ReplayError::Record(format!(
            "{}: the provenance record has schema version {}, newer than this fxchain reads ({SCHEMA_VERSION})",
            path.display(),
            record.schema_version
        )));
    }
    Ok(record)
}

/// A plugin library whose content differs from the record's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangedPlugin {
    /// Library name.
    pub name: String,
    /// Recorded content hash.
    pub recorded: String,
    /// Content hash of the library loaded now (`None`: not loaded).
    pub now: Option<String>,
}

/// What a replay found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayReport {
    /// The re-rendered pixels equal the recorded ones.
    pub identical: bool,
    /// PSNR in dB of the re-render against the output file's pixels (`None` when identical).
    pub psnr_db: Option<f64>,
    /// The first step that runs a changed plugin, when the result differs.
    pub first_differing_step: Option<String>,
    /// Plugin libraries whose content hash changed.
    pub changed_plugins: Vec<ChangedPlugin>,
    /// Where each input was found.
    pub inputs: Vec<(String, PathBuf)>,
}

/// Finds a recorded input: at its recorded path if the content hash matches, else a file with
/// that hash in `dir`.
fn find_input(input: &InputRecord, base: &Path, dir: Option<&Path>) -> Result<PathBuf, ReplayError> {
    let hash_of = |p: &Path| std::fs::read(p).ok().map(|b| blake3::hash(&b).to_hex().to_string());
    let recorded = PathBuf::from(&input.path);
    let at = if recorded.is_absolute() { recorded.clone() } else { base.join(&recorded) };
    if hash_of(&at).as_deref() == Some(input.hash.as_str()) {
        return Ok(at);
    }
    if let Some(dir) = dir {
        let mut files: Vec<PathBuf> = walkdir_files(dir);
        files.sort();
        if let Some(p) = files.into_iter().find(|p| hash_of(p).as_deref() == Some(input.hash.as_str())) {
            return Ok(p);
        }
    }
    Err(ReplayError::Input(format!(
        "input `{}` ({}, blake3 {}) not found{}",
        input.name,
        input.path,
        &input.hash[..input.hash.len().min(16)],
        match dir {
            Some(d) => format!(" at its path or in {}", d.display()),
            None => " at its path with that content (give --input-dir DIR to search a folder by hash)".to_string(),
        }
    )))
}

/// Regular files in `dir` and its subfolders (symbolic links not followed).
fn walkdir_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out
}

/// PSNR in dB between two 8-bit RGBA buffers of the same size (`inf` when equal).
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let se: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum();
    if se == 0.0 {
        return f64::INFINITY;
    }
    let mse = se / a.len().max(1) as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Re-renders the output `output_path` from its `record` with the plugins of `registry`: the
/// inputs are found at their recorded paths (relative ones from `base`) or by content hash in
/// `input_dir`, loaded as the record says, and rendered with the recorded chain, quality,
/// fusion and preview.
pub fn replay(
    record: &Record,
    output_path: &Path,
    registry: &Arc<Registry>,
    base: &Path,
    input_dir: Option<&Path>,
    limits: ImageLimits,
) -> Result<ReplayReport, ReplayError> {
    let source = ChainSource::from_text(record.chain_name.clone(), record.chain.clone());
    let chain = crate::chain::validate(source, registry, &[])
        .map_err(|e| ReplayError::Chain(format!("the recorded chain does not validate now: {e}")))?;
    let mut changed = Vec::new();
    for p in &record.plugins {
        let now = registry.libraries().iter().find(|l| l.name == p.name).map(|l| l.content_hash.clone());
        if now.as_deref() != Some(p.content_hash.as_str()) {
            changed.push(ChangedPlugin { name: p.name.clone(), recorded: p.content_hash.clone(), now });
        }
    }
    let format = crate::run::input_format(&chain);
    let options = MetaOptions { strip: false, keep_profile: record.keep_profile };
    let mut frames: HashMap<String, Arc<Frame>> = HashMap::new();
    let mut found = Vec::new();
    for i in &record.inputs {
        let path = find_input(i, base, input_dir)?;
        let loaded =
            crate::meta::load(&path, format, limits, options).map_err(|e| ReplayError::Input(e.to_string()))?;
        frames.insert(i.name.clone(), Arc::new(loaded.frame));
        found.push((i.name.clone(), path));
    }
    let mut chain = chain;
    if let Some(max) = record.preview {
        crate::session::shrink_for_preview(&mut chain, &mut frames, max);
    }
    let quality = match &record.quality {
        Some(q) => Some(
            fxchain_plugin_api::Tier::from_name(q)
                .ok_or_else(|| ReplayError::Record(format!("recorded quality `{q}` is unknown")))?,
        ),
        None => None,
    };
    let options = crate::RenderOptions { quality, fuse: record.fuse, ..Default::default() };
    let result =
        crate::run::run_frames(&chain, registry, &frames, &options).map_err(|e| ReplayError::Render(e.to_string()))?;
    let frame = result.outputs.get(record.output).ok_or_else(|| {
        ReplayError::Record(format!(
            "the record names output {} of a chain with {}",
            record.output + 1,
            result.outputs.len()
        ))
    })?;
    let identical = pixel_hash(frame) == record.output_hash;
    let (psnr_db, first) = if identical {
        (None, None)
    } else {
        let written = image::open(output_path)
            .map_err(|e| ReplayError::Record(format!("{}: {e}", output_path.display())))?
            .to_rgba8();
        let now = frame.to_rgba8_vec();
        let db = if written.width() == frame.size().width && written.height() == frame.size().height {
            psnr(written.as_raw(), &now)
        } else {
            0.0
        };
        let first = record
            .steps
            .iter()
            .find(|s| s.plugins.iter().any(|p| changed.iter().any(|c| &c.name == p)))
            .map(|s| s.label.clone());
        (Some(db), first)
    };
    Ok(ReplayReport { identical, psnr_db, first_differing_step: first, changed_plugins: changed, inputs: found })
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_pixel_hash_is_that_of_the_rgba8_pixels_for_both_formats() {
        let px: Vec<u8> = (0..7 * 5 * 4).map(|i| (i * 37 % 256) as u8).collect();
        let f = Frame::from_rgba8(fxchain_plugin_api::Size::new(7, 5), &px);
        assert_eq!(pixel_hash(&f), blake3::hash(&px).to_hex().to_string());
        let g = f.convert(fxchain_plugin_api::PixelFormat::RGBA32F);
        assert_eq!(pixel_hash(&g), blake3::hash(&g.to_rgba8_vec()).to_hex().to_string());
        assert_eq!(pixel_hash(&g), pixel_hash(&f));
    }

    use super::*;

    #[test]
    fn psnr_is_infinite_for_equal_buffers_and_falls_with_error() {
        let a = vec![100u8; 400];
        assert!(psnr(&a, &a).is_infinite());
        let mut b = a.clone();
        b[0] = 110;
        let one = psnr(&a, &b);
        // MSE = 100 / 400 = 0.25: 10 log10(65025 / 0.25) = 54.15 dB.
        assert!((one - 54.151).abs() < 0.01, "{one}");
        b[1] = 110;
        assert!(psnr(&a, &b) < one);
    }

    #[test]
    fn sidecar_is_named_after_the_whole_output_name() {
        assert_eq!(sidecar(Path::new("out/a.jpg")), PathBuf::from("out/a.jpg.fxchain.json"));
    }
}
