//! Editing chain files as text: moving steps, enabling and disabling them, and formatting. Moves
//! and toggles keep comments and layout; `format` rewrites the file canonically (it keeps the
//! comment lines at the top of the file).

use std::ops::Range;

use super::syntax::{self, ChainFile, Lit};

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The text is not a chain file (it does not parse).
    #[error("the chain does not parse: {0}")]
    Parse(String),
    /// No step matches.
    #[error("no step `{0}` (give its number from 1, or its id)")]
    NoStep(String),
}

/// The positions of the step list and of each step in `src`.
struct Layout {
    close: usize,
    /// Start of each chunk (after the previous comma) and end of each step's closing paren.
    chunks: Vec<(usize, usize)>,
}

/// Scans `src` for the top-level `steps: [ ... ]` list, skipping strings and comments.
fn layout(src: &str) -> Option<Layout> {
    let b = src.as_bytes();
    let (mut i, mut depth) = (0usize, 0i32);
    let mut list: Option<usize> = None;
    let mut item_start: Option<usize> = None;
    let mut chunk_start = 0;
    let mut chunks = Vec::new();
    let mut last_ident: Option<Range<usize>> = None;
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if c == b'['
                    && depth == 2
                    && list.is_none()
                    && last_ident.as_ref().is_some_and(|r| &src[r.clone()] == "steps")
                {
                    list = Some(i);
                    chunk_start = i + 1;
                } else if list.is_some() && depth == 3 && item_start.is_none() {
                    item_start = Some(i);
                }
            }
            b')' | b']' | b'}' => {
                if list.is_some() && depth == 3 && item_start.is_some() && c == b')' {
                    chunks.push((chunk_start, i + 1));
                    item_start = None;
                    chunk_start = i + 1;
                }
                if list.is_some() && depth == 2 && c == b']' {
                    return Some(Layout { close: i, chunks });
                }
                depth -= 1;
            }
            b',' if list.is_some() && depth == 2 => chunk_start = i + 1,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                if depth == 1 {
                    last_ident = Some(s..i);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse(src: &str) -> Result<ChainFile, EditError> {
    syntax::parse(src).map_err(|(m, s)| EditError::Parse(format!("{}:{}: {m}", s.start.line, s.start.col)))
}

/// The index (0-based) of the step named by `selector`: a number from 1 (`3` or `#3`) or an id.
pub fn find_step(src: &str, selector: &str) -> Result<usize, EditError> {
    let file = parse(src)?;
    let n = selector.trim_start_matches('#');
    if let Ok(i) = n.parse::<usize>() {
        if i >= 1 && i <= file.steps.len() {
            return Ok(i - 1);
        }
    }
    file.steps
        .iter()
        .position(|s| s.id.as_ref().is_some_and(|id| id.value == selector))
        .ok_or_else(|| EditError::NoStep(selector.to_string()))
}

/// Moves step `from` to position `to` (both 0-based), keeping comments and layout.
pub fn move_step(src: &str, from: usize, to: usize) -> Result<String, EditError> {
    let file = parse(src)?;
    let l = layout(src).ok_or_else(|| EditError::Parse("no `steps: [...]` list found".into()))?;
    if l.chunks.len() != file.steps.len() {
        return Err(EditError::Parse("could not find every step in the text".into()));
    }
    let n = l.chunks.len();
    if from >= n || to >= n {
        return Err(EditError::NoStep(format!("{}", from.max(to) + 1)));
    }
    let mut order: Vec<usize> = (0..n).collect();
    let item = order.remove(from);
    order.insert(to, item);
    let tail_start = l.chunks.last().map_or(l.close, |c| c.1);
    let tail = &src[tail_start..l.close];
    let tail = tail.strip_prefix(',').unwrap_or(tail);
    let mut out = String::with_capacity(src.len() + 8);
    out.push_str(&src[..l.chunks.first().map_or(l.close, |c| c.0)]);
    for &k in &order {
        let (s, e) = l.chunks[k];
        out.push_str(&src[s..e]);
        out.push(',');
    }
    out.push_str(tail);
    out.push_str(&src[l.close..]);
    Ok(out)
}

/// Sets `enabled` of step `index` (0-based), keeping comments and layout.
pub fn set_enabled(src: &str, index: usize, enabled: bool) -> Result<String, EditError> {
    let file = parse(src)?;
    let l = layout(src).ok_or_else(|| EditError::Parse("no `steps: [...]` list found".into()))?;
    if l.chunks.len() != file.steps.len() {
        return Err(EditError::Parse("could not find every step in the text".into()));
    }
    let (s, e) = *l.chunks.get(index).ok_or_else(|| EditError::NoStep(format!("{}", index + 1)))?;
    let item = &src[s..e];
    let open = s + item.find('(').expect("a step starts with (");
    let current = file.steps[index].enabled;
    let mut out = String::with_capacity(src.len() + 16);
    if current.is_some() {
        // Replace the value after `enabled:` (a bare true/false at the step's own level).
        let rel = item.find("enabled").expect("the field is in the text");
        let after = s + rel + "enabled".len();
        let colon = after + src[after..].find(':').expect("a colon");
        let vstart = colon + 1 + src[colon + 1..].len() - src[colon + 1..].trim_start().len();
        let vlen = if src[vstart..].starts_with("true") { 4 } else { 5 };
        out.push_str(&src[..vstart]);
        out.push_str(if enabled { "true" } else { "false" });
        out.push_str(&src[vstart + vlen..]);
    } else if enabled {
        return Ok(src.to_string());
    } else {
        out.push_str(&src[..open + 1]);
        out.push_str("enabled: false, ");
        out.push_str(&src[open + 1..]);
    }
    Ok(out)
}

fn lit(l: &Lit) -> String {
    l.to_string()
}

fn string(s: &str) -> String {
    format!("{s:?}")
}

/// Rewrites the chain canonically: fields in a fixed order, one step per line. Comment lines at
/// the top of the file are kept; other comments are dropped.
pub fn format(src: &str) -> Result<String, EditError> {
    let f = parse(src)?;
    let mut out = String::new();
    for line in src.lines() {
        let t = line.trim_start();
        if t.starts_with("//") {
            out.push_str(line.trim_end());
            out.push('\n');
        } else if !t.is_empty() {
            break;
        }
    }
    out.push_str("(\n");
    let q = |q: syntax::QualityLit| format!("{q:?}");
    if let Some(s) = f.seed {
        out.push_str(&format!("    seed: {s},\n"));
    }
    if let Some((w, h)) = f.size {
        out.push_str(&format!("    size: ({w}, {h}),\n"));
    }
    if let Some(v) = f.quality {
        out.push_str(&format!("    quality: {},\n", q(v)));
    }
    if let Some(p) = f.precision {
        out.push_str(&format!("    precision: {p:?},\n"));
    }
    if let Some(o) = f.optimize {
        out.push_str(&format!("    optimize: {o},\n"));
    }
    let list = |v: &[syntax::Spanned<String>]| v.iter().map(|s| string(&s.value)).collect::<Vec<_>>().join(", ");
    if let Some(i) = &f.inputs {
        out.push_str(&format!("    inputs: [{}],\n", list(i)));
    }
    if !f.vars.is_empty() {
        let vars: Vec<String> = f.vars.iter().map(|(k, v)| format!("{}: {}", string(k), lit(&v.value))).collect();
        out.push_str(&format!("    vars: {{{}}},\n", vars.join(", ")));
    }
    out.push_str("    steps: [\n");
    for s in &f.steps {
        let mut fields = Vec::new();
        if let Some(id) = &s.id {
            fields.push(format!("id: {}", string(&id.value)));
        }
        fields.push(format!("effect: {}", string(&s.effect.value)));
        if let Some(i) = &s.input {
            fields.push(format!("input: {}", string(&i.value)));
        }
        if let Some(i) = &s.inputs {
            fields.push(format!("inputs: [{}]", list(i)));
        }
        if !s.params.0.is_empty() {
            let ps: Vec<String> =
                s.params.0.iter().map(|(k, v)| format!("{}: {}", string(&k.value), lit(&v.value))).collect();
            fields.push(format!("params: {{{}}}", ps.join(", ")));
        }
        if let Some(q) = s.quality {
            fields.push(format!("quality: {}", q_fmt(q)));
        }
        if let Some(e) = s.enabled {
            fields.push(format!("enabled: {e}"));
        }
        out.push_str(&format!("        ({}),\n", fields.join(", ")));
    }
    out.push_str("    ],\n");
    if let Some(o) = &f.outputs {
        out.push_str(&format!("    outputs: [{}],\n", list(o)));
    }
    out.push_str(")\n");
    Ok(out)
}

fn q_fmt(q: syntax::QualityLit) -> String {
    format!("{q:?}")
}

/// Writes an edited chain to `path`: the file a symbolic link points to is the one changed (the
/// link stays), a file with several hard links is rewritten in place (so every name sees the
/// edit), anything else goes through a locked temporary file renamed over it. Refused, leaving
/// the file unchanged: a read-only file (also for root), and a text larger than a chain file may
/// be ([`super::MAX_CHAIN_BYTES`]), which no command could read back. Temporary files of earlier
/// edits that were killed are removed first.
pub fn write_atomic(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    if text.len() as u64 > super::MAX_CHAIN_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "the edited chain would be {} bytes, more than the {} a chain file may have; the file is unchanged",
                text.len(),
                super::MAX_CHAIN_BYTES
            ),
        ));
    }
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let meta = std::fs::metadata(&target).ok();
    if meta.as_ref().is_some_and(|m| m.permissions().readonly()) {
        return Err(Error::new(ErrorKind::PermissionDenied, "the file is read-only; it is unchanged"));
    }
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    crate::io::clean_stale_temps(dir);
    if meta.as_ref().is_some_and(links_elsewhere) {
        let mut f = std::fs::OpenOptions::new().write(true).open(&target)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.set_len(text.len() as u64)?;
        return f.sync_all();
    }
    let mut tmp = crate::io::temp_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.as_file().sync_all()?;
    crate::io::set_output_permissions(tmp.as_file(), &target);
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// Whether the file has other hard links, which a rename over it would cut off.
fn links_elsewhere(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.nlink() > 1
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}
