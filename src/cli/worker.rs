//! The hidden `__worker` mode: renders requests from an isolating host (see
//! `fxchain_host::isolate`), with the same plugin folders and the same validation as in-process.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use fxchain_host::chain::{self, Override};
use fxchain_host::isolate::Job;
use fxchain_host::{ChainSource, Frame, RenderOptions, RunError};

use super::{plugin_exit, Global};

/// Arguments of the worker mode.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The shared-memory file the host created for this worker.
    #[arg(long)]
    shm: PathBuf,
}

/// Serves requests on stdin/stdout until the host closes stdin.
pub fn run(g: &Global, args: WorkerArgs) -> i32 {
    plugin_exit::mark_steps();
    // Ctrl-C in a terminal reaches the whole process group: the host decides when to stop (it
    // lets the images in flight finish, then closes the worker's input).
    let _ = ctrlc::set_handler(|| {});
    let registry = std::sync::Arc::new(g.registry());
    let render = |job: &Job, inputs: HashMap<String, Arc<Frame>>| -> Result<Vec<Arc<Frame>>, RunError> {
        let bad = |message: String| RunError::Worker { message };
        let overrides = job.sets.iter().map(|s| s.parse()).collect::<Result<Vec<Override>, String>>().map_err(bad)?;
        let quality = match &job.quality {
            Some(q) => Some(fxchain_host::api::Tier::from_name(q).ok_or_else(|| bad(format!("unknown quality {q}")))?),
            None => None,
        };
        let source = ChainSource::from_text(job.chain_name.clone(), job.chain_text.clone());
        let mut chain = chain::validate(source, &registry, &overrides).map_err(|e| bad(e.to_string()))?;
        if let Some((w, h)) = job.size {
            chain.size = Some(fxchain_host::api::Size::new(w, h));
        }
        chain.optimize = job.optimize.unwrap_or(chain.optimize);
        for &i in &job.bypass {
            if let Some(s) = chain.steps.get_mut(i) {
                s.enabled = false;
            }
        }
        let options = RenderOptions { quality, band_rows: job.band_rows, fuse: job.fuse, ..Default::default() };
        let _rendering = plugin_exit::Rendering::begin();
        fxchain_host::run::run_frames(&chain, &registry, &inputs, &options).map(|r| r.outputs)
    };
    let served = fxchain_host::isolate::serve(&args.shm, std::io::stdin().lock(), std::io::stdout().lock(), &render);
    if let Err(e) = &served {
        eprintln!("error: worker: {e}");
    }
    plugin_exit::exit_now(if served.is_ok() { 0 } else { 1 })
}
