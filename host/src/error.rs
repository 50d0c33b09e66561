//! Error types of the host library, grouped by cause.

use std::path::PathBuf;

/// Why a plugin library was not loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read or copied.
    #[error("{}: cannot read the library: {reason}", path.display())]
    Io {
        /// The library file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file is not a shared library the dynamic loader can open.
    #[error("{}: not a loadable shared library: {reason}", path.display())]
    NotALibrary {
        /// The file.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The file ends before the parts its headers describe: truncated, or still being written.
    /// Found before the library is mapped (mapping it would crash the process with SIGBUS).
    #[error("{}: truncated or half-written library, not loaded: {reason}", path.display())]
    Truncated {
        /// The library file.
        path: PathBuf,
        /// What lies past the end of the file.
        reason: String,
    },
    /// The private copy in the cache folder could not be made; the library itself is fine.
    #[error(
        "{}: cannot copy the library into the cache folder {}: {reason} (set XDG_CACHE_HOME to a writable folder)",
        path.display(),
        dir.display()
    )]
    Cache {
        /// The library file.
        path: PathBuf,
        /// The cache folder.
        dir: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A shared library without an fxchain plugin root module.
    #[error("{}: not an fxchain plugin (it exports no plugin root module; use `export_plugin!`)", path.display())]
    NotAPlugin {
        /// The library.
        path: PathBuf,
    },
    /// Built against an incompatible `fxchain-plugin-api`.
    #[error("{}: incompatible plugin ABI: {reason}", path.display())]
    IncompatibleAbi {
        /// The library.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Loaded, but failed a check.
    #[error("{}: rejected: {reason}", path.display())]
    Rejected {
        /// The library.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl LoadError {
    /// The library file concerned.
    pub fn path(&self) -> &std::path::Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::Truncated { path, .. }
            | LoadError::Cache { path, .. }
            | LoadError::NotALibrary { path, .. }
            | LoadError::NotAPlugin { path }
            | LoadError::IncompatibleAbi { path, .. }
            | LoadError::Rejected { path, .. } => path,
        }
    }
}

/// Why rendering failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// An effect returned an error or panicked.
    #[error("step {step} ({effect}, from plugin {library}): {message}")]
    Plugin {
        /// Step label (`#2` or its id).
        step: String,
        /// Effect id actually run (variant included).
        effect: String,
        /// Library name and path.
        library: String,
        /// What the plugin said.
        message: String,
        /// Whether it was a panic.
        panicked: bool,
    },
    /// The chain needs an input that was not given.
    #[error("missing input `{name}`: {hint}")]
    MissingInput {
        /// Input name.
        name: String,
        /// How to give it.
        hint: String,
    },
    /// The chain's own `size` (of its generators) is beyond the image limits: a problem of the
    /// chain, not of an image.
    #[error("{chain}: the chain's size: {reason}")]
    ChainSize {
        /// The chain's name (its file).
        chain: String,
        /// Which limit it passes.
        reason: String,
    },
    /// An effect declared an output or input that the host cannot use.
    #[error("step {step} ({effect}): {message}")]
    BadPlan {
        /// Step label.
        step: String,
        /// Effect id.
        effect: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing an image failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// An isolated render failed in its worker process (the worker's own message, or why the
    /// worker could not be used).
    #[error("{message}")]
    Worker {
        /// What happened.
        message: String,
    },
    /// The render ran past its deadline.
    #[error("the render took longer than the deadline of {seconds} s; its image is abandoned")]
    Deadline {
        /// The deadline.
        seconds: f64,
    },
}

impl RunError {
    /// The chain input `name` was not given: the error says how to give it.
    pub fn missing_input(name: &str) -> RunError {
        RunError::MissingInput {
            name: name.to_string(),
            hint: if name == "input" {
                "this chain reads an image: pass it with -i FILE".into()
            } else {
                format!("pass it with -i {name}=FILE")
            },
        }
    }
}

/// Why reading or writing an image failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// Decoding failed.
    #[error("{}: cannot decode: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The image exceeds a configured limit.
    #[error("{}: {reason}", path.display())]
    Limits {
        /// The file.
        path: PathBuf,
        /// Which limit.
        reason: String,
    },
    /// Encoding or writing failed.
    #[error("{}: cannot write: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A plugin's error as people read it: `kind: message`, without repeating the kind when the
/// message already starts with it (the export glue writes panics as "panicked: …").
pub fn plugin_message(e: &fxchain_plugin_api::PluginError) -> String {
    let kind = e.kind.to_string();
    let message = e.message.as_str();
    match message.strip_prefix(kind.as_str()).and_then(|rest| rest.strip_prefix(':')) {
        Some(rest) => format!("{kind}:{rest}"),
        None => format!("{kind}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use fxchain_plugin_api::{ErrorKind, PluginError};

    use super::plugin_message;

    #[test]
    fn a_panic_message_names_its_kind_once() {
        let glue = PluginError::new(ErrorKind::PANICKED, "panicked: index out of bounds".to_string());
        assert_eq!(plugin_message(&glue), "panicked: index out of bounds");
        let plain = PluginError::new(ErrorKind::PANICKED, "index out of bounds".to_string());
        assert_eq!(plugin_message(&plain), "panicked: index out of bounds");
        assert_eq!(plugin_message(&glue), plugin_message(&plain));
    }
}
