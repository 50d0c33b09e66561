//! `fxchain chain …`.

use std::collections::HashMap;
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
    /// Move step FROM to position TO (numbers from 1, or step ids); the file is rewritten in place.
    Move {
        /// The chain file.
        chain: PathBuf,
        /// The step to move.
        from: String,
        /// Its new position (a number from 1, or the id of the step whose place it takes).
        to: String,
    },
    /// Enable a step.
    Enable {
        /// The chain file.
        chain: PathBuf,
        /// Step number (from 1) or id.
        step: String,
    },
    /// Disable a step (its input passes through).
    Disable {
        /// The chain file.
        chain: PathBuf,
        /// Step number (from 1) or id.
        step: String,
    },
    /// Rewrite a chain in the canonical layout (comment lines at the top are kept).
    Fmt {
        /// The chain file.
        chain: PathBuf,
        /// Only check: exit 1 when the file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Show the resolved plan: effect, generation, variant, format and size of each node, fused
    /// steps, independent branches and cache keys.
    Explain {
        /// The chain file.
        chain: PathBuf,
        /// Size of each chain input (WxH), when no file is given.
        #[arg(long, default_value = "1024x1024")]
        size: String,
        /// Input image, as FILE or NAME=FILE (its size is used).
        #[arg(short, long = "input")]
        inputs: Vec<String>,
        /// Quality profile.
        #[arg(long)]
        quality: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Reads, edits, validates and atomically writes a chain file.
fn edit(g: &Global, path: &std::path::Path, f: impl FnOnce(&str) -> Result<String, chain::edit::EditError>) -> i32 {
    let text = match read(path) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let new = match f(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return exit::USAGE;
        }
    };
    let registry = g.registry();
    let source = ChainSource::from_text(path.display().to_string(), new.clone());
    if let Err(e) = chain::validate(source, &registry, &[]) {
        eprintln!("error: the edited chain would not be valid; {} is unchanged:", path.display());
        report::chain_error(&e);
        return exit::USAGE;
    }
    if new == text {
        return exit::OK;
    }
    // Keep a byte-order mark the file had (reading drops it).
    let had_bom = std::fs::read(path).is_ok_and(|b| b.starts_with("\u{feff}".as_bytes()));
    let new = if had_bom { format!("{}{new}", chain::BOM) } else { new };
    if let Err(e) = chain::edit::write_atomic(path, &new) {
        eprintln!("error: {}: cannot write: {e}", path.display());
        return if e.kind() == std::io::ErrorKind::InvalidInput { exit::USAGE } else { exit::ENV };
    }
    exit::OK
}

/// The text of a chain file, read as every command reads it (size limit, UTF-8, byte-order mark).
fn read(path: &std::path::Path) -> Result<String, i32> {
    match ChainSource::from_path(path) {
        Ok(s) => Ok(s.text.clone()),
        Err(e) => {
            report::chain_error(&e);
            Err(exit::USAGE)
        }
    }
}

fn step_index(text: &str, sel: &str) -> Result<usize, chain::edit::EditError> {
    chain::edit::find_step(text, sel)
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
        ChainCommand::Move { chain: path, from, to } => edit(g, &path, |t| {
            let (f, to) = (step_index(t, &from)?, step_index(t, &to)?);
            chain::edit::move_step(t, f, to)
        }),
        ChainCommand::Enable { chain: path, step } => {
            edit(g, &path, |t| chain::edit::set_enabled(t, step_index(t, &step)?, true))
        }
        ChainCommand::Disable { chain: path, step } => {
            edit(g, &path, |t| chain::edit::set_enabled(t, step_index(t, &step)?, false))
        }
        ChainCommand::Fmt { chain: path, check } => {
            if check {
                let text = match read(&path) {
                    Ok(t) => t,
                    Err(code) => return code,
                };
                return match chain::edit::format(&text) {
                    Ok(f) if f == text => exit::OK,
                    Ok(_) => {
                        eprintln!("{} is not formatted", path.display());
                        exit::FAILED
                    }
                    Err(e) => {
                        eprintln!("error: {}: {e}", path.display());
                        exit::USAGE
                    }
                };
            }
            edit(g, &path, chain::edit::format)
        }
        ChainCommand::Explain { chain: path, size, inputs, quality, json } => {
            explain(g, &path, &size, &inputs, quality, json)
        }
    }
}

fn explain(
    g: &Global,
    path: &std::path::Path,
    size: &str,
    inputs: &[String],
    quality: Option<String>,
    json: bool,
) -> i32 {
    use fxchain_host::api::Size;
    let registry = g.registry();
    let c = match super::load_chain(path, &registry, &[]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let quality = match super::parse_quality(quality.as_deref()) {
        Ok(q) => q,
        Err(code) => return code,
    };
    let Some((w, h)) = size.split_once('x').and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
    else {
        eprintln!("error: --size {size}: expected WxH");
        return exit::USAGE;
    };
    let limits = g.limits();
    if let Err(e) = limits.check(w, h) {
        eprintln!("error: --size {size}: {e}");
        return exit::USAGE;
    }
    let mut sizes: HashMap<String, Size> = c.inputs.iter().map(|n| (n.clone(), Size::new(w, h))).collect();
    // With the input files, explain shows the executor's cache keys (they depend on the pixels).
    let mut keys: HashMap<String, fxchain_host::cache::Key> = HashMap::new();
    for i in inputs {
        let (name, file) = match i.split_once('=') {
            Some((n, f)) => (n.to_string(), f.to_string()),
            None => (c.inputs.first().cloned().unwrap_or_else(|| "input".into()), i.clone()),
        };
        let format = fxchain_host::pipeline::input_format(&c);
        match fxchain_host::io::load_image(std::path::Path::new(&file), format, limits) {
            Ok(f) => {
                sizes.insert(name.clone(), f.size());
                keys.insert(name, f.content_hash());
            }
            Err(e) => {
                eprintln!("error: {e}; it would be refused as an input");
                return exit::FAILED;
            }
        }
    }
    let c = if c.optimize {
        match fxchain_host::plan::optimize(&c, &registry, &sizes, quality) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::FAILED;
            }
        }
    } else {
        c
    };
    let rows = match fxchain_host::plan::explain(&c, &registry, &sizes, &keys, quality, true) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::FAILED;
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("json"));
        return exit::OK;
    }
    println!(
        "{}: {} steps, quality {}, precision {:?}{}",
        path.display(),
        c.steps.len(),
        quality.unwrap_or(c.quality),
        c.precision,
        if c.optimize { ", optimized" } else { "" }
    );
    println!(
        "{:<14} {:<5} {:<26} {:<8} {:<26} {:<7} {:>11}  {:<13} inputs",
        "step", "level", "runs", "tier", "library", "format", "size", "cache key"
    );
    for r in &rows {
        if let Some(why) = r.skipped {
            println!("{:<14} {:<5} {:<26} {why}", r.step, r.level, r.effect);
            continue;
        }
        println!(
            "{:<14} {:<5} {:<26} {:<8} {:<26} {:<7} {:>11}  {:<13} {}{}{}",
            r.step,
            r.level,
            r.runs,
            r.tier,
            r.library,
            r.format,
            format!("{}x{}", r.size.0, r.size.1),
            r.cache_key.as_deref().map(|k| &k[..12]).unwrap_or("(not cached)"),
            r.inputs.join(", "),
            if r.fused_with_next { "  ─┐ fused with next" } else { "" },
            match r.composed {
                Some(form) => format!("  (composed: {form})"),
                None => String::new(),
            }
        );
    }
    println!("Steps run one after another, each split into bands rendered in parallel; steps of the same level do not depend on each other.");
    exit::OK
}
