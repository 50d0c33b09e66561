//! `fxchain apply`: effects named on the command line, without a chain file.

use std::path::PathBuf;

use clap::Args;
use fxchain_host::chain::oneshot;

use super::run::{RunArgs, RunOptions};
use super::{exit, Global};

/// Arguments of `fxchain apply`.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Effects and their parameters: `EFFECT [PARAM=VALUE]...`, several separated by a `:` word
    /// (`blur.gaussian sigma=3 : color.invert`). Values are written as in chain files.
    #[arg(required = true, value_name = "EFFECT [PARAM=VALUE]... [: EFFECT ...]")]
    words: Vec<String>,
    /// Also write the equivalent chain file (RON) to FILE.
    #[arg(long, value_name = "FILE")]
    save_chain: Option<PathBuf>,
    #[command(flatten)]
    options: RunOptions,
}

/// Runs the command; returns the exit code.
pub fn run(g: &Global, args: ApplyArgs) -> i32 {
    let source = match oneshot::source(&args.words) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    if let Some(path) = &args.save_chain {
        // Only a chain that validates is saved: the same check `run` makes next.
        let registry = match g.registry_with_effects() {
            Ok(r) => r,
            Err(code) => return code,
        };
        if let Err(code) = super::load_chain_or(path, Some(source.clone()), &registry, &[]) {
            return code;
        }
        if let Err(e) = fxchain_host::chain::edit::write_atomic(path, &source.text) {
            eprintln!("error: --save-chain {}: cannot write: {e}", path.display());
            return exit::ENV;
        }
    }
    super::run::run(g, RunArgs::from_source(source, args.options))
}
