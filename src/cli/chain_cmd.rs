//! `fxchain chain …`.

use std::path::PathBuf;

use clap::Subcommand;
use fxchain_host::chain;
use fxchain_host::ChainSource;

use super::{exit, report, Global};

/// Chain file commands.
#[derive(Subcommand, Debug)]
pub enum ChainCommand {
    /// Validate a chain against the loaded plugins; report every error with its line and column.
    Check {
        /// The chain file.
        chain: PathBuf,
    },
}

/// Runs a chain subcommand.
pub fn run(g: &Global, cmd: ChainCommand) -> i32 {
    match cmd {
        ChainCommand::Check { chain: path } => {
            let registry = g.registry();
            let source = match ChainSource::from_path(&path) {
                Ok(s) => s,
                Err(e) => {
                    report::chain_error(&e);
                    return exit::USAGE;
                }
            };
            match chain::validate(source, &registry, &[]) {
                Ok(c) => {
                    if !g.quiet {
                        println!(
                            "{}: ok ({} steps, {} output(s), inputs: {})",
                            path.display(),
                            c.steps.len(),
                            c.outputs.len(),
                            if c.inputs.is_empty() { "none".to_string() } else { c.inputs.join(", ") }
                        );
                    }
                    exit::OK
                }
                Err(e) => {
                    report::chain_error(&e);
                    exit::USAGE
                }
            }
        }
    }
}
