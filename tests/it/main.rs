//! Integration tests: one binary (it links once) with a module per concern. The tests build the
//! plugins and fixture crates they need with cargo themselves.

mod attacks;
mod batch;
mod chain_errors;
mod cli;
mod contract;
mod effects;
mod engine;
mod fixtures;
mod golden;
mod io_files;
mod library;
mod reload;
mod robust;
mod stream;
mod support;
mod template;
mod watch;
