//! Printing errors and tables.

use fxchain_host::ChainError;
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::io::IsTerminal;

/// Prints every problem of a chain as an annotated snippet.
pub fn chain_error(e: &ChainError) {
    let diags = e.diagnostics();
    if diags.is_empty() {
        eprintln!("error: {e}");
        return;
    }
    let theme =
        if std::io::stderr().is_terminal() { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    for d in &diags {
        let mut out = String::new();
        if handler.render_report(&mut out, *d).is_err() {
            out = d.to_string();
        }
        eprintln!("error: {out}");
    }
    if diags.len() > 1 {
        eprintln!("{} errors in {}", diags.len(), diags[0].source.name);
    }
}

/// Formats a duration in milliseconds with three significant digits.
pub fn ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}
