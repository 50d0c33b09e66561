//! Printing errors and tables.

use fxchain_host::ChainError;
use miette::{GraphicalReportHandler, GraphicalTheme};

/// Prints every problem of a chain as an annotated snippet.
pub fn chain_error(e: &ChainError) {
    let diags = e.diagnostics();
    if diags.is_empty() {
        eprintln!("error: {e}");
        return;
    }
    let color = super::color::stderr();
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

/// Version of every JSON document fxchain prints or writes (docs/json.md): raised when a field
/// changes meaning or is removed; adding fields keeps it.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// `fields` as a JSON document: the object with `schema_version` added.
pub fn json_doc(fields: serde_json::Value) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert("schema_version".into(), JSON_SCHEMA_VERSION.into());
    if let serde_json::Value::Object(m) = fields {
        doc.extend(m);
    }
    serde_json::Value::Object(doc)
}

/// An f32 value (plugin parameters, PSNR) as the JSON number it prints as: `0.05`, not
/// `0.05000000074505806`. Infinity and NaN have no JSON number: `null`.
pub fn json_f32(x: f64) -> serde_json::Value {
    let f = x as f32;
    if !f.is_finite() {
        return serde_json::Value::Null;
    }
    format!("{f}").parse::<f64>().map(serde_json::Value::from).unwrap_or(serde_json::Value::Null)
}

/// A finite f64 as a JSON number, anything else as `null`.
pub fn json_f64(x: f64) -> serde_json::Value {
    if x.is_finite() {
        x.into()
    } else {
        serde_json::Value::Null
    }
}

/// A chain diagnostic as JSON: file, line, column (1-based; null without a position), message
/// and help (null without one).
pub fn diagnostic_json(d: &fxchain_host::chain::ChainDiagnostic) -> serde_json::Value {
    serde_json::json!({
        "file": d.source.name,
        "line": d.span.map(|s| s.start.line),
        "column": d.span.map(|s| s.start.col),
        "message": d.message,
        "help": d.help,
    })
}

/// Formats a rate of images per second with three significant digits (`1510/s`, `15.1/s`).
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0/s".to_string()
    } else if per_sec >= 100.0 {
        format!("{per_sec:.0}/s")
    } else if per_sec >= 10.0 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{per_sec:.2}/s")
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

/// A borderless table whose columns fit their widest cell (any name length), two spaces apart.
/// `right` lists the columns aligned to the right (numbers).
pub fn table(headers: &[&str], right: &[usize]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    t.set_header(headers.iter().copied());
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((0, 2));
        if right.contains(&i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    t
}

/// The lines of a table, without trailing spaces, each prefixed with `indent`.
pub fn table_lines(t: &comfy_table::Table, indent: &str) -> Vec<String> {
    t.lines().map(|l| format!("{indent}{}", l.trim_end())).collect()
}

/// Prints the per-step rows of a render to stderr (`run`, `apply`).
pub fn step_rows(steps: &[fxchain_host::exec::StepReport]) {
    if steps.is_empty() {
        return;
    }
    let mut t = table(&["step", "effect", "gen", "size", "format", "time", ""], &[2, 3, 5]);
    for s in steps {
        let mut row = vec![s.label.clone(), s.effect.clone()];
        if s.skipped || s.cached {
            row.push(if s.skipped { "skipped" } else { "cached" }.to_string());
        } else {
            row.extend([
                s.generation.to_string(),
                format!("{}x{}", s.size.width, s.size.height),
                s.format.to_string(),
                ms(s.time),
                if s.fused { "fused".to_string() } else { String::new() },
            ]);
        }
        t.add_row(row);
    }
    for l in table_lines(&t, "  ") {
        eprintln!("{l}");
    }
}

/// Prints per-effect figures and the pool counters.
pub fn metrics_table(figures: &[fxchain_host::metrics::EffectFigures]) {
    let mut t = table(
        &["effect", "calls", "Mpixels", "total ms", "p50 ms", "p95 ms", "p99 ms", "ns/px", "cache", ""],
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    for f in figures {
        t.add_row(vec![
            f.effect.clone(),
            f.calls.to_string(),
            format!("{:.2}", f.pixels as f64 / 1e6),
            format!("{:.2}", f.total_ms),
            format!("{:.2}", f.p50_ms),
            format!("{:.2}", f.p95_ms),
            format!("{:.2}", f.p99_ms),
            format!("{:.2}", f.ns_per_pixel),
            format!("{}/{}", f.cache_hits, f.cache_hits + f.cache_misses),
            if f.fused > 0 { "fused".to_string() } else { String::new() },
        ]);
    }
    eprintln!();
    for l in table_lines(&t, "  ") {
        eprintln!("{l}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_have_three_significant_digits_and_no_thousands_separator() {
        assert_eq!(rate(1512.2992), "1512/s");
        assert_eq!(rate(15.122992), "15.1/s");
        assert_eq!(rate(1.5122992), "1.51/s");
        assert_eq!(rate(f64::NAN), "0/s");
    }

    #[test]
    fn table_columns_fit_long_names() {
        let mut t = table(&["effect", "calls"], &[1]);
        t.add_row(vec!["a.very.long.effect.name.that.breaks.fixed.widths".to_string(), "7".into()]);
        t.add_row(vec!["x".to_string(), "12345".into()]);
        let lines = table_lines(&t, "");
        assert_eq!(lines[0], format!("effect{}calls", " ".repeat(44)));
        assert_eq!(lines[1], "a.very.long.effect.name.that.breaks.fixed.widths      7");
        assert_eq!(lines[2], format!("x{}12345", " ".repeat(49)));
    }
}
