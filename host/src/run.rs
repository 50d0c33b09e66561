//! Running a validated chain on in-memory frames, the way `fxchain run` and `fxchain batch` do:
//! the chain's reordering optimizations (when it allows them) for the actual input sizes, then
//! the render under the options' deadline. Programs embedding the host call this too, so every
//! front end renders a chain the same way.

use std::collections::HashMap;
use std::sync::Arc;

use crate::chain::{Chain, Precision};
use crate::error::RunError;
use crate::exec::{render_with_deadline, RenderOptions, RenderResult};
use crate::frame::Frame;
use crate::registry::Registry;
use fxchain_plugin_api::PixelFormat;

/// The frame format a chain's inputs are decoded to.
pub fn input_format(chain: &Chain) -> PixelFormat {
    match chain.precision {
        Precision::F32 => PixelFormat::RGBA32F,
        Precision::U8 => PixelFormat::RGBA8,
    }
}

/// Renders `chain` on the named `inputs`: optimized for their sizes when the chain allows it,
/// then rendered with `options` (its quality, deadline, cache and metrics).
pub fn run_frames(
    chain: &Chain,
    registry: &Arc<Registry>,
    inputs: &HashMap<String, Arc<Frame>>,
    options: &RenderOptions,
) -> Result<RenderResult, RunError> {
    if chain.optimize {
        let sizes = inputs.iter().map(|(k, f)| (k.clone(), f.size())).collect();
        let optimized = crate::plan::optimize(chain, registry, &sizes, options.quality)?;
        return render_with_deadline(&optimized, registry, inputs, options);
    }
    render_with_deadline(chain, registry, inputs, options)
}
