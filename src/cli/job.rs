//! The options every rendering command takes (`run`, `batch`, `watch`, `bench`), turned into the
//! host's [`JobOptions`] in one place so that a flag means the same in each.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use fxchain_host::chain::Override;
use fxchain_host::pipeline::JobOptions;
use fxchain_host::RenderOptions;

use super::{parse_overrides, parse_quality, Global};

/// Rendering flags shared by the commands that render.
#[derive(Args, Debug, Clone, Default)]
pub struct RenderArgs {
    /// Override a parameter: STEP.PARAM=VALUE (STEP is a step id, effect id or number).
    #[arg(long = "set", value_name = "STEP.PARAM=VALUE")]
    pub sets: Vec<String>,
    /// Quality profile: fast, balanced or quality (picks each effect's variant).
    #[arg(long, value_parser = super::QualityParser::with_encoder_hint())]
    pub quality: Option<String>,
    /// Run every step separately instead of fusing consecutive point steps.
    #[arg(long)]
    pub no_fuse: bool,
    /// Keep the written order of steps even where the chain allows reordering (`optimize: true`).
    #[arg(long)]
    pub no_optimize: bool,
    /// Also keep intermediate results in this folder, for later runs and other processes sharing
    /// it (off by default). Renders then work on whole frames instead of streaming.
    #[arg(long, env = "FXCHAIN_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Most bytes the --cache-dir folder holds; the least recently used results go first
    /// (`512M`, `2G`, `100K` or bytes).
    #[arg(long, env = "FXCHAIN_CACHE_BUDGET", value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub cache_budget: u64,
}

/// A size in bytes: a whole number with an optional binary unit (`K`, `M`, `G`, `T`, also
/// written `KB`/`KiB`).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: u64 = n.parse().map_err(|_| format!("{s:?}: expected a size such as 512M or 2G"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("{s:?}: unknown unit (use K, M, G or T)")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?}: too large"))
}

impl RenderArgs {
    /// The overrides and job options these flags (and the global ones) ask for; prints the error
    /// and returns the exit code on a bad value.
    pub fn job_options(&self, g: &Global) -> Result<(Vec<Override>, JobOptions), i32> {
        let overrides = parse_overrides(&self.sets)?;
        let quality = parse_quality(self.quality.as_deref())?;
        let options = JobOptions {
            render: RenderOptions {
                quality,
                deadline: g.deadline(),
                band_rows: g.band_rows,
                fuse: !self.no_fuse,
                ..Default::default()
            },
            optimize: self.no_optimize.then_some(false),
            limits: g.limits(),
            cache_dir: self.disk_cache()?,
            ..Default::default()
        };
        Ok((overrides, options))
    }

    /// The disk cache `--cache-dir` asks for; a folder that cannot be made or written is an
    /// environment error.
    fn disk_cache(&self) -> Result<Option<Arc<fxchain_host::cache::DiskCache>>, i32> {
        let Some(dir) = &self.cache_dir else { return Ok(None) };
        match fxchain_host::cache::DiskCache::open(dir, self.cache_budget) {
            Ok(d) => Ok(Some(Arc::new(d))),
            Err(e) => {
                eprintln!("error: --cache-dir {}: cannot use it as a cache folder: {e}", dir.display());
                Err(super::exit::ENV)
            }
        }
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("3 kib"), Ok(3 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("12X").unwrap_err().contains("unknown unit"));
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999T").unwrap_err().contains("too large"));
    }
}
