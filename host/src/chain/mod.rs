//! Chains: the RON file format, its validation against the registry, and the validated model.

mod diagnostic;
pub mod edit;
pub mod oneshot;
pub mod syntax;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fxchain_plugin_api::{ParamValue, Tier};

use crate::registry::Registry;

pub use diagnostic::{ChainDiagnostic, ChainError};
pub use validate::{validate, Override};

/// Largest chain file read (16 MiB): a bigger one is refused before it is parsed.
pub const MAX_CHAIN_BYTES: u64 = 16 << 20;

/// The text of a chain file and the name it is reported under.
#[derive(Debug)]
pub struct ChainSource {
    /// File name for messages.
    pub name: String,
    /// Path on disk, if it came from a file.
    pub path: Option<PathBuf>,
    /// The text.
    pub text: String,
}

impl ChainSource {
    /// Reads a chain file. Invalid UTF-8 is an error with its position.
    pub fn from_path(path: &Path) -> Result<Arc<ChainSource>, ChainError> {
        let name = path.display().to_string();
        if let Ok(m) = std::fs::metadata(path) {
            if m.len() > MAX_CHAIN_BYTES {
                return Err(ChainError::Io {
                    path: path.to_path_buf(),
                    reason: format!("the file is {} bytes; chain files are limited to {MAX_CHAIN_BYTES}", m.len()),
                });
            }
        }
        let bytes =
            std::fs::read(path).map_err(|e| ChainError::Io { path: path.to_path_buf(), reason: e.to_string() })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            ChainError::Io {
                path: path.to_path_buf(),
                reason: format!("{name}:{line}:{col}: the file is not valid UTF-8"),
            }
        })?;
        Ok(Arc::new(ChainSource { name, path: Some(path.to_path_buf()), text: without_bom(text) }))
    }

    /// A chain given as text.
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Arc<ChainSource> {
        Arc::new(ChainSource { name: name.into(), path: None, text: without_bom(text.into()) })
    }
}

/// The UTF-8 byte-order mark some editors put at the start of a file.
pub const BOM: char = '\u{feff}';

/// `text` without a leading byte-order mark (line and column numbers then match what editors show).
fn without_bom(text: String) -> String {
    match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// Working precision of a chain.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// Keep 8-bit frames wherever every step accepts them.
    #[default]
    U8,
    /// Float frames throughout.
    F32,
}

/// Where a step's input comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A named chain input (an image given on the command line).
    Input(String),
    /// The result of an earlier step (its index).
    Step(usize),
}

/// One validated step.
#[derive(Clone, Debug)]
pub struct Step {
    /// Position in the file (0-based).
    pub index: usize,
    /// The step's id, if it has one.
    pub id: Option<String>,
    /// The reference effect id as written.
    pub effect: String,
    /// Parameter values in schema order, validated and defaulted.
    pub params: Vec<ParamValue>,
    /// Parameters as written, for canonical keys and `chain fmt`.
    pub enabled: bool,
    /// Inputs, resolved.
    pub inputs: Vec<Source>,
    /// Quality for this step, if set.
    pub quality: Option<Tier>,
    /// Seed derived from the chain seed and the step's id (or its effect and occurrence).
    pub seed: u64,
}

impl Step {
    /// `#3` or `#3 "id"`, for messages (1-based).
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => format!("#{} \"{id}\"", self.index + 1),
            None => format!("#{}", self.index + 1),
        }
    }
}

/// A chain validated against a registry.
#[derive(Clone, Debug)]
pub struct Chain {
    /// Where it came from.
    pub source: Arc<ChainSource>,
    /// Chain seed.
    pub seed: u64,
    /// Size for generators when no input sets it.
    pub size: Option<fxchain_plugin_api::Size>,
    /// Quality profile.
    pub quality: Tier,
    /// Working precision.
    pub precision: Precision,
    /// Steps in file order (disabled ones included).
    pub steps: Vec<Step>,
    /// Names of chain inputs the steps use.
    pub inputs: Vec<String>,
    /// The steps whose results are the outputs (indices).
    pub outputs: Vec<usize>,
    /// Whether reordering optimizations are allowed.
    pub optimize: bool,
}

/// The effect id of `registry` closest to `id`, for "did you mean" messages.
pub fn suggest_effect<'r>(registry: &'r Registry, id: &str) -> Option<&'r str> {
    closest(id, registry.references().map(|e| e.id.as_str()))
}

/// The candidate closest to `word` by edit distance, when close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
