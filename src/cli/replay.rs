//! Metadata, colour and provenance options of the rendering commands, and `fxchain replay`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use fxchain_host::chain::Override;
use fxchain_host::meta::MetaOptions;
use fxchain_host::provenance::{self, ReplayError, Settings};

use super::{exit, Global};

/// What outputs carry besides pixels, and colour handling of inputs.
#[derive(Args, Debug, Clone, Default)]
pub struct MetaArgs {
    /// Write outputs without the input's ICC profile, EXIF and XMP.
    #[arg(long)]
    pub strip: bool,
    /// Keep the pixels in the input's ICC profile (no conversion to sRGB) and tag outputs with it.
    #[arg(long)]
    pub keep_profile: bool,
    /// Do not record in outputs how they were made (see `fxchain replay`).
    #[arg(long)]
    pub no_provenance: bool,
}

impl MetaArgs {
    /// The host's metadata options.
    pub fn options(&self) -> MetaOptions {
        MetaOptions { strip: self.strip, keep_profile: self.keep_profile }
    }

    /// How a render was asked for, for its provenance records.
    pub fn settings(&self, sets: &[String], quality: &Option<String>, fuse: bool, preview: Option<u32>) -> Settings {
        Settings { sets: sets.to_vec(), quality: quality.clone(), fuse, preview, meta: self.options() }
    }

    /// Sets the metadata options and provenance records of `options` from these flags and the
    /// rendering flags.
    pub fn apply(
        &self,
        options: &mut fxchain_host::pipeline::JobOptions,
        render: &super::job::RenderArgs,
        overrides: &[Override],
        preview: Option<u32>,
    ) {
        options.meta = self.options();
        options.provenance = (!self.no_provenance)
            .then(|| (self.settings(&render.sets, &render.quality, !render.no_fuse, preview), overrides.to_vec()));
    }
}

/// Arguments of `fxchain replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// An output written by fxchain (with its provenance record).
    output: PathBuf,
    /// Look for inputs in this folder (and its subfolders) by their recorded content hash when
    /// they are not at their recorded paths.
    #[arg(long, value_name = "DIR")]
    input_dir: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command: 0 identical, 1 different (or the render failed), 2 no record / missing
/// input / chain no longer valid, 3 no plugins.
pub fn run(g: &Global, args: ReplayArgs) -> i32 {
    let record = match provenance::read(&args.output) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let registry = g.registry();
    if registry.all().next().is_none() {
        eprintln!(
            "error: no effects are loaded (searched: {})",
            registry.dirs().iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return exit::ENV;
    }
    let registry = Arc::new(registry);
    let report = match provenance::replay(
        &record,
        &args.output,
        &registry,
        Path::new("."),
        args.input_dir.as_deref(),
        g.limits(),
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", args.output.display());
            return match e {
                ReplayError::Render(_) => exit::FAILED,
                _ => exit::USAGE,
            };
        }
    };
    if args.json {
        let doc = serde_json::json!({
            "schema_version": 1,
            "identical": report.identical,
            "psnr_db": report.psnr_db.filter(|v| v.is_finite()),
            "first_differing_step": report.first_differing_step,
            "changed_plugins": report.changed_plugins,
            "inputs": report.inputs.iter().map(|(n, p)| serde_json::json!({"name": n, "path": p})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
    } else {
        for c in &report.changed_plugins {
            match &c.now {
                Some(now) => println!(
                    "plugin {} changed: recorded {}, now {}",
                    c.name,
                    &c.recorded[..c.recorded.len().min(16)],
                    &now[..now.len().min(16)]
                ),
                None => {
                    println!("plugin {} (recorded {}) is not loaded", c.name, &c.recorded[..c.recorded.len().min(16)])
                }
            }
        }
        if report.identical {
            println!("identical");
        } else {
            let db = match report.psnr_db {
                Some(v) if v.is_finite() => format!("{v:.2} dB"),
                _ => "inf dB (the encoded file matches; the render does not)".to_string(),
            };
            println!("differs: PSNR {db}");
            match &report.first_differing_step {
                Some(s) => println!("first differing step: {s}"),
                None => println!("first differing step: unknown (no recorded plugin changed)"),
            }
        }
    }
    if report.identical {
        exit::OK
    } else {
        exit::FAILED
    }
}
