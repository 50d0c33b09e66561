//! The fxchain host: loads effect plugins, validates chain files against them and renders.
//!
//! The flow, top-down: [`registry`] finds and loads plugin libraries (through [`loader`]),
//! [`chain`] reads and validates a RON chain file against the registry, [`exec`] renders it on
//! [`frame`]s, and [`io`] decodes inputs and writes outputs atomically. [`run`] is the entry point
//! for rendering a chain on in-memory frames the way the commands do.
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
pub mod loader;
pub mod metrics;
pub mod plan;
pub mod pool;
pub mod probe;
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
