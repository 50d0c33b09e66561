//! The `fxchain` command-line tool. The work happens in `fxchain-host`; this binary parses
//! arguments, prints reports and maps failures to exit codes.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
