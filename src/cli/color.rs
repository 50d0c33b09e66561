//! Colour on or off for every output: `--color auto|always|never` and `NO_COLOR`.
//!
//! `auto` (the default) colours a stream only when it is a terminal and `NO_COLOR` is unset or
//! empty (<https://no-color.org>); `always` and `never` win over both. Every coloured output asks
//! here: chain error reports (miette), log lines (tracing), progress bars (indicatif) and help
//! text (clap).

use std::io::IsTerminal;
use std::sync::OnceLock;

/// The values of `--color`.
#[derive(clap::ValueEnum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Colour on a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always colour, also into pipes and files.
    Always,
    /// Never colour.
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Sets the choice for the process (the first call wins) and tells the libraries that colour on
/// their own (indicatif through `console`).
pub fn init(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
    console::set_colors_enabled(stdout());
    console::set_colors_enabled_stderr(stderr());
}

fn choice() -> ColorChoice {
    CHOICE.get().copied().unwrap_or_default()
}

/// Whether `NO_COLOR` asks for no colour (set and not empty).
fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether a stream that is (or is not) a terminal gets colour under `choice`.
fn decide(choice: ColorChoice, terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && !no_color,
    }
}

/// Whether output to stderr is coloured.
pub fn stderr() -> bool {
    decide(choice(), std::io::stderr().is_terminal(), no_color_env())
}

/// Whether output to stdout is coloured.
pub fn stdout() -> bool {
    decide(choice(), std::io::stdout().is_terminal(), no_color_env())
}

/// The `--color` value in raw arguments, before clap has parsed them (clap's own help and
/// errors are coloured by it).
pub fn from_args(args: &[std::ffi::OsString]) -> ColorChoice {
    let mut it = args.iter().map(|a| a.to_string_lossy());
    let mut found = ColorChoice::Auto;
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = if a == "--color" {
            it.next().map(|v| v.to_string())
        } else {
            a.strip_prefix("--color=").map(String::from)
        };
        if let Some(v) = value {
            found = <ColorChoice as clap::ValueEnum>::from_str(&v, true).unwrap_or(found);
        }
    }
    found
}

/// clap's colour setting for `choice` (`auto` lets clap look at `NO_COLOR` and the terminal).
pub fn clap_choice(choice: ColorChoice) -> clap::ColorChoice {
    match choice {
        ColorChoice::Auto if no_color_env() => clap::ColorChoice::Never,
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_terminals_unless_no_color_and_the_flag_wins() {
        assert!(decide(ColorChoice::Auto, true, false));
        assert!(!decide(ColorChoice::Auto, true, true));
        assert!(!decide(ColorChoice::Auto, false, false));
        assert!(decide(ColorChoice::Always, false, true));
        assert!(!decide(ColorChoice::Never, true, false));
    }

    #[test]
    fn the_flag_is_found_in_raw_arguments() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(from_args(&args(&["fxchain", "--color", "never", "run"])), ColorChoice::Never);
        assert_eq!(from_args(&args(&["fxchain", "run", "--color=always"])), ColorChoice::Always);
        assert_eq!(from_args(&args(&["fxchain", "--", "--color=always"])), ColorChoice::Auto);
        assert_eq!(from_args(&args(&["fxchain", "--color=bogus"])), ColorChoice::Auto);
    }
}
