//! `fxchain completions SHELL` and `fxchain man`: generated from the same clap definitions the
//! parser uses, so they never drift from the options.

use std::io::Write;

use clap::CommandFactory;

use super::{exit, Cli};

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "fxchain", &mut out);
    write_stdout(&out)
}

/// Writes the man page (roff, with a section per subcommand) to stdout.
pub fn man() -> i32 {
    let cmd = Cli::command();
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd.clone()).render(&mut out) {
        eprintln!("error: cannot render the man page: {e}");
        return exit::FAILED;
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("fxchain-{}", sub.get_name());
        let page = clap_mangen::Man::new(sub.clone().display_name(name));
        // The subcommand's options and description, without a second title header.
        if page
            .render_name_section(&mut out)
            .and_then(|_| page.render_synopsis_section(&mut out))
            .and_then(|_| page.render_description_section(&mut out))
            .and_then(|_| page.render_options_section(&mut out))
            .is_err()
        {
            eprintln!("error: cannot render the man page of {}", sub.get_name());
            return exit::FAILED;
        }
    }
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> i32 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Ok(()) => exit::OK,
        // `fxchain man | head` closes the pipe early: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            exit::FAILED
        }
    }
}
