//! Rendering a chain on in-memory frames the way every command does: a shorthand for a
//! [`crate::pipeline::Job`] with frames in and frames out.

pub use crate::pipeline::{input_format, run_frames};
