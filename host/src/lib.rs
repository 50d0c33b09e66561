//! The fxchain host: loads effect plugins, validates chain files against them and renders.
//!
//! The flow, top-down: [`registry`] finds and loads plugin libraries (through [`loader`]),
//! [`chain`] reads and validates a RON chain file against the registry, [`exec`] renders it on
//! [`frame`]s whole or [`stream`]s it in strips, and [`io`] decodes inputs and writes outputs
//! atomically. [`pipeline`] is the one entry point every command uses: a job (chain, inputs,
//! outputs, options) in, files or frames out.
#![deny(missing_docs)]

pub mod batch;
pub mod cache;
pub mod chain;
pub mod contract;
pub mod error;
pub mod exec;
pub mod frame;
pub mod io;
#[cfg(unix)]
pub mod isolate;
#[cfg(test)]
mod layers;
pub mod loader;
pub mod meta;
pub mod metrics;
pub mod outdir;
pub mod pipeline;
pub mod plan;
pub mod pool;
pub mod probe;
pub mod provenance;
pub mod registry;
pub mod reload;
pub mod run;
pub mod session;
pub mod stream;

pub use chain::{Chain, ChainError, ChainSource};
pub use error::{ImageError, LoadError, RunError};
pub use exec::{render, RenderOptions, RenderResult};
pub use frame::Frame;
pub use registry::{Registry, RegistryOptions};

pub use fxchain_plugin_api as api;
