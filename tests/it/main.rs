//! Integration tests: one binary (it links once) with a module per concern. The tests build the
//! plugins and fixture crates they need with cargo themselves.

mod apply;
mod attacks;
mod batch;
mod branches;
mod cache_dir;
mod chain_errors;
mod cli;
mod contract;
mod effects;
mod engine;
mod exit_codes;
mod fixtures;
mod golden;
mod io_files;
mod json;
mod library;
mod meta;
mod options;
mod reload;
mod robust;
mod shell;
mod stream;
mod support;
mod template;
mod variants;
mod watch;
