//! A live editing session: one chain file and its inputs rendered again and again against a
//! [`LiveRegistry`], with parameter overrides, preview modes and per-step timings compared with
//! the previous render. `fxchain watch` and its preview page both render through this.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fxchain_plugin_api::{PixelFormat, Tier};

use crate::cache::ResultCache;
use crate::chain::{self, Chain, ChainError, Override, Precision};
use crate::io::fit_within;
use crate::pipeline::{Job, JobInput, JobOptions, JobOutput};
use crate::plan::fit_size;
use crate::reload::LiveRegistry;
use crate::{ChainSource, Frame, Registry};

/// How much of the image a render computes: a quick look or the real thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PreviewMode {
    /// At most 300 px on the larger side, fast variants.
    Fast,
    /// At most 500 px, balanced variants.
    Balanced,
    /// Full size with the chain's own quality.
    #[default]
    Full,
}

impl PreviewMode {
    /// Every mode, quickest first.
    pub const ALL: [PreviewMode; 3] = [PreviewMode::Fast, PreviewMode::Balanced, PreviewMode::Full];

    /// Largest side in pixels (`None`: full size).
    pub fn max_dimension(self) -> Option<u32> {
        match self {
            PreviewMode::Fast => Some(300),
            PreviewMode::Balanced => Some(500),
            PreviewMode::Full => None,
        }
    }

    /// The quality profile replacing the chain's (`None`: the chain's own).
    pub fn quality(self) -> Option<Tier> {
        match self {
            PreviewMode::Fast => Some(Tier::FAST),
            PreviewMode::Balanced => Some(Tier::BALANCED),
            PreviewMode::Full => None,
        }
    }

    /// `fast`, `balanced` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            PreviewMode::Fast => "fast",
            PreviewMode::Balanced => "balanced",
            PreviewMode::Full => "full",
        }
    }

    /// The mode called `name`.
    pub fn from_name(name: &str) -> Option<PreviewMode> {
        PreviewMode::ALL.into_iter().find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

/// What to render.
#[derive(Clone, Debug, Default)]
pub struct RenderRequest {
    /// Parameter overrides, as `--set` gives them.
    pub overrides: Vec<Override>,
    /// Preview mode.
    pub mode: PreviewMode,
    /// Render the result of this step (0-based) instead of the chain's first output.
    pub step: Option<usize>,
}

/// One step of a session render, with its time in the previous render of the same mode.
#[derive(Clone, Debug)]
pub struct StepTiming {
    /// Step label (`#2 "blur"`).
    pub label: String,
    /// Effect (variant) that ran.
    pub effect: String,
    /// Library generation that ran it.
    pub generation: u64,
    /// Time of this render (zero when cached or skipped).
    pub time: Duration,
    /// Time the last time it was computed in this mode.
    pub previous: Option<Duration>,
    /// Served from the result cache.
    pub cached: bool,
    /// Disabled.
    pub skipped: bool,
}

/// A finished session render.
#[derive(Clone)]
pub struct Rendered {
    /// The image.
    pub image: Arc<Frame>,
    /// The chain as validated (overrides applied).
    pub chain: Chain,
    /// The registry snapshot it ran on.
    pub registry: Arc<Registry>,
    /// Steps in the order they ran.
    pub steps: Vec<StepTiming>,
    /// Wall time of the render (inputs already decoded).
    pub took: Duration,
    /// Mode rendered.
    pub mode: PreviewMode,
}

/// Why a session render failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The chain does not read or validate (its diagnostics have positions).
    #[error("{0}")]
    Chain(ChainError),
    /// An input could not be read, or the render failed.
    #[error("{0}")]
    Render(String),
}

#[derive(Default)]
struct State {
    /// Decoded inputs per precision, then scaled copies per preview size.
    frames: HashMap<(bool, Option<u32>), HashMap<String, Arc<Frame>>>,
    last_times: HashMap<(PreviewMode, String), Duration>,
}

/// A chain file and its inputs, rendered on demand against a live registry.
pub struct Session {
    live: Arc<LiveRegistry>,
    chain_path: PathBuf,
    inputs: Vec<(String, PathBuf)>,
    /// Overrides of the command line, under the page's.
    overrides: Vec<Override>,
    /// Options of the command line: quality, deadline, limits, fusion, optimizer.
    options: JobOptions,
    state: Mutex<State>,
    inputs_version: std::sync::atomic::AtomicU64,
}

impl Session {
    /// A session over `chain_path` with named `inputs`, rendered with `options` (the command
    /// line's; `options.render.cache` keeps intermediate results, one is made when it has none) and the
    /// command line's `overrides` (the page's overrides apply after them).
    pub fn new(
        live: Arc<LiveRegistry>,
        chain_path: PathBuf,
        inputs: Vec<(String, PathBuf)>,
        overrides: Vec<Override>,
        mut options: JobOptions,
    ) -> Session {
        options.render.cache.get_or_insert_with(|| ResultCache::new(512 << 20, None));
        Session { live, chain_path, inputs, overrides, options, state: Mutex::default(), inputs_version: 0.into() }
    }

    /// The chain file.
    pub fn chain_path(&self) -> &std::path::Path {
        &self.chain_path
    }

    /// The live registry.
    pub fn live(&self) -> &Arc<LiveRegistry> {
        &self.live
    }

    /// The result cache.
    pub fn cache(&self) -> &Arc<ResultCache> {
        self.options.render.cache.as_ref().expect("a session has a cache")
    }

    /// Forgets the decoded inputs (a file changed).
    pub fn inputs_changed(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).frames.clear();
        self.inputs_version.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// What a render of `overrides` depends on besides the preview mode: the chain text, the
    /// overrides, the library generations and the inputs. Equal fingerprints render equal images.
    pub fn fingerprint(&self, overrides: &[Override]) -> String {
        let text = std::fs::read_to_string(&self.chain_path).unwrap_or_default();
        let generations: Vec<u64> = self.live.snapshot().libraries().iter().map(|l| l.generation).collect();
        let inputs = self.inputs_version.load(std::sync::atomic::Ordering::Relaxed);
        let overrides: Vec<String> = overrides.iter().map(|o| format!("{}.{}={}", o.step, o.param, o.value)).collect();
        let digest = blake3::hash(format!("{text}\0{overrides:?}\0{generations:?}\0{inputs}").as_bytes());
        digest.to_hex().to_string()
    }

    /// Reads and validates the chain file with `overrides`, against the current registry.
    pub fn validate(&self, overrides: &[Override]) -> Result<(Chain, Arc<Registry>), SessionError> {
        let registry = self.live.snapshot();
        let source = ChainSource::from_path(&self.chain_path).map_err(SessionError::Chain)?;
        let all: Vec<Override> = self.overrides.iter().chain(overrides).cloned().collect();
        let chain = chain::validate(source, &registry, &all).map_err(SessionError::Chain)?;
        Ok((chain, registry))
    }

    fn frames(&self, f32: bool, max: Option<u32>) -> Result<HashMap<String, Arc<Frame>>, SessionError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = state.frames.get(&(f32, max)) {
            return Ok(f.clone());
        }
        let full = match state.frames.get(&(f32, None)) {
            Some(f) => f.clone(),
            None => {
                let format = if f32 { PixelFormat::RGBA32F } else { PixelFormat::RGBA8 };
                let mut frames = HashMap::new();
                for (name, path) in &self.inputs {
                    // Converted to sRGB as `run` does (watch outputs carry no metadata).
                    let f = crate::meta::load(path, format, self.options.limits, self.options.meta)
                        .map(|l| l.frame)
                        .map_err(|e| SessionError::Render(e.to_string()))?;
                    frames.insert(name.clone(), Arc::new(f));
                }
                state.frames.insert((f32, None), frames.clone());
                frames
            }
        };
        let Some(max) = max else { return Ok(full) };
        let scaled: HashMap<String, Arc<Frame>> = full
            .iter()
            .map(|(k, f)| {
                let small =
                    if f.size().width.max(f.size().height) > max { Arc::new(fit_within(f, max)) } else { f.clone() };
                (k.clone(), small)
            })
            .collect();
        state.frames.insert((f32, Some(max)), scaled.clone());
        Ok(scaled)
    }

    /// Renders the chain as `request` asks.
    pub fn render(&self, request: &RenderRequest) -> Result<Rendered, SessionError> {
        let (mut chain, registry) = self.validate(&request.overrides)?;
        if let Some(step) = request.step {
            if step >= chain.steps.len() {
                return Err(SessionError::Render(format!("the chain has no step {}", step + 1)));
            }
            chain.outputs = vec![step];
        }
        let max = request.mode.max_dimension();
        let frames = self.frames(chain.precision == Precision::F32, max)?;
        if let Some(max) = max {
            chain.size = chain.size.map(|s| fit_size(s, max.max(1)));
        }
        // The page's mode picks the quality of quick previews; a full render uses the command
        // line's (or the chain's).
        let mut options = self.options.clone();
        options.render.quality = request.mode.quality().or(options.render.quality);
        let job = Job {
            inputs: frames.iter().map(|(k, f)| (k.clone(), JobInput::Frame(f.clone()))).collect(),
            outputs: vec![JobOutput::Memory; chain.outputs.len()],
            chain,
            options,
        };
        let started = Instant::now();
        let result = crate::pipeline::run(job, &registry).map_err(|e| SessionError::Render(e.to_string()))?;
        let chain = result.chain;
        let took = started.elapsed();
        let image = result
            .frames
            .first()
            .cloned()
            .flatten()
            .ok_or_else(|| SessionError::Render("the chain has no output".into()))?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let steps = result
            .steps
            .iter()
            .map(|s| {
                let key = (request.mode, format!("{} {}", s.label, s.effect));
                let previous = state.last_times.get(&key).copied();
                let computed = !s.cached && !s.skipped;
                if computed {
                    state.last_times.insert(key, s.time);
                }
                StepTiming {
                    label: s.label.clone(),
                    effect: s.effect.clone(),
                    generation: s.generation,
                    time: if computed { s.time } else { Duration::ZERO },
                    previous,
                    cached: s.cached,
                    skipped: s.skipped,
                }
            })
            .collect();
        Ok(Rendered { image, chain, registry, steps, took, mode: request.mode })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_have_a_size_a_quality_and_a_name() {
        let table: Vec<_> = PreviewMode::ALL.iter().map(|m| (m.name(), m.max_dimension(), m.quality())).collect();
        assert_eq!(
            table,
            [
                ("fast", Some(300), Some(Tier::FAST)),
                ("balanced", Some(500), Some(Tier::BALANCED)),
                ("full", None, None)
            ]
        );
        for m in PreviewMode::ALL {
            assert_eq!(PreviewMode::from_name(m.name()), Some(m));
        }
        assert_eq!(PreviewMode::from_name("Fast"), Some(PreviewMode::Fast));
        assert_eq!(PreviewMode::from_name("quick"), None);
    }
}
