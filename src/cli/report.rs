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
    let color = std::io::stderr().is_terminal();
    for d in &diags {
        eprintln!("error: {}", diagnostic_text(d, color));
    }
    if diags.len() > 1 {
        eprintln!("{} errors in {}", diags.len(), diags[0].source.name);
    }
}

/// A chain diagnostic with its source line and a caret under the problem (`color`: with ANSI
/// colours, for a terminal).
pub fn diagnostic_text(d: &fxchain_host::chain::ChainDiagnostic, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    if handler.render_report(&mut out, d).is_err() {
        out = d.to_string();
    }
    out
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

/// Prints per-effect figures and the pool counters.
pub fn metrics_table(figures: &[fxchain_host::metrics::EffectFigures]) {
    eprintln!(
        "\n  {:<26} {:>6} {:>10} {:>10} {:>9} {:>9} {:>9} {:>8} {:>6}",
        "effect", "calls", "Mpixels", "total ms", "p50 ms", "p95 ms", "p99 ms", "ns/px", "cache"
    );
    for f in figures {
        eprintln!(
            "  {:<26} {:>6} {:>10.2} {:>10.2} {:>9.2} {:>9.2} {:>9.2} {:>8.2} {:>3}/{:<3}{}",
            f.effect,
            f.calls,
            f.pixels as f64 / 1e6,
            f.total_ms,
            f.p50_ms,
            f.p95_ms,
            f.p99_ms,
            f.ns_per_pixel,
            f.cache_hits,
            f.cache_hits + f.cache_misses,
            if f.fused > 0 { "  fused" } else { "" }
        );
    }
    let p = fxchain_host::pool::BufferPool::global().stats();
    eprintln!(
        "  buffer pool: {} reused, {} allocated, peak {:.1} MiB",
        p.hits,
        p.misses,
        p.peak_bytes as f64 / (1 << 20) as f64
    );
}

/// Resident memory of this process in bytes (Linux; `None` elsewhere).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Formats a byte count in MiB.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

/// One line per step of a render: label, effect, generation, size, format, time.
pub fn step_rows(steps: &[fxchain_host::exec::StepReport]) {
    for s in steps {
        if s.skipped {
            eprintln!("  {:<28} {:<26} skipped", s.label, s.effect);
        } else if s.cached {
            eprintln!("  {:<28} {:<26} cached", s.label, s.effect);
        } else {
            eprintln!(
                "  {:<28} {:<26} gen {:<3} {:>5}x{:<5} {:<7} {:>9}{}",
                s.label,
                s.effect,
                s.generation,
                s.size.width,
                s.size.height,
                s.format.to_string(),
                ms(s.time),
                if s.fused { "  fused" } else { "" }
            );
        }
    }
}
