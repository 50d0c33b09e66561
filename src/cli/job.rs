//! The options every rendering command takes (`run`, `batch`, `watch`, `bench`), turned into the
//! host's [`JobOptions`] in one place so that a flag means the same in each.

use clap::Args;
use fxchain_host::chain::Override;
use fxchain_host::pipeline::JobOptions;

use super::{parse_overrides, parse_quality, Global};

/// Rendering flags shared by the commands that render.
#[derive(Args, Debug, Clone, Default)]
pub struct RenderArgs {
    /// Override a parameter: STEP.PARAM=VALUE (STEP is a step id, effect id or number).
    #[arg(long = "set", value_name = "STEP.PARAM=VALUE")]
    pub sets: Vec<String>,
    /// Quality profile: fast, balanced or quality (picks each effect's variant).
    #[arg(long)]
    pub quality: Option<String>,
    /// Run every step separately instead of fusing consecutive point steps.
    #[arg(long)]
    pub no_fuse: bool,
    /// Keep the written order of steps even where the chain allows reordering (`optimize: true`).
    #[arg(long)]
    pub no_optimize: bool,
}

impl RenderArgs {
    /// The overrides and job options these flags (and the global ones) ask for; prints the error
    /// and returns the exit code on a bad value.
    pub fn job_options(&self, g: &Global) -> Result<(Vec<Override>, JobOptions), i32> {
        let overrides = parse_overrides(&self.sets)?;
        let quality = parse_quality(self.quality.as_deref())?;
        let options = JobOptions {
            quality,
            optimize: self.no_optimize.then_some(false),
            deadline: g.deadline(),
            limits: g.limits(),
            band_rows: g.band_rows,
            fuse: !self.no_fuse,
            ..Default::default()
        };
        Ok((overrides, options))
    }

    /// The description of this render for worker processes (`--isolate`).
    pub fn isolate_job(&self, g: &Global, chain: &fxchain_host::Chain) -> fxchain_host::isolate::Job {
        fxchain_host::isolate::Job {
            chain_name: chain.source.name.clone(),
            chain_text: chain.source.text.clone(),
            sets: self.sets.clone(),
            quality: self.quality.clone(),
            band_rows: g.band_rows,
            fuse: !self.no_fuse,
            size: chain.size.map(|s| (s.width, s.height)),
            bypass: Vec::new(),
            optimize: self.no_optimize.then_some(false),
        }
    }
}
