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

/// If a comment or a string starts at `b[i]`, where the scan goes on after it (a line comment
/// ends before its newline); every scan of a chain's text skips them alike.
fn skip_trivia(b: &[u8], i: usize) -> Option<usize> {
    match b[i] {
        b'/' if b.get(i + 1) == Some(&b'/') => Some(b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p)),
        b'/' if b.get(i + 1) == Some(&b'*') => {
            let mut j = i + 2;
            while j + 1 < b.len() && !(b[j] == b'*' && b[j + 1] == b'/') {
                j += 1;
            }
            Some(j + 2)
        }
        b'"' => {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                if b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            Some(j + 1)
        }
        _ => None,
    }
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
        if let Some(next) = skip_trivia(b, i) {
            i = next;
            continue;
        }
        let c = b[i];
        match c {
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

/// Where the value of field `field` of the step text `item` starts (the first character after
/// `field:`), looking only at the step's own level and skipping strings and comments.
fn field_value(item: &str, field: &str) -> Option<usize> {
    let b = item.as_bytes();
    let (mut i, mut depth) = (0usize, 0i32);
    while i < b.len() {
        if let Some(next) = skip_trivia(b, i) {
            i = next;
            continue;
        }
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            c if depth == 1 && (c.is_ascii_alphabetic() || c == b'_') => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let rest = item[i..].trim_start();
                if &item[s..i] == field && rest.starts_with(':') {
                    let after = item.len() - rest.len() + 1;
                    return Some(after + item[after..].len() - item[after..].trim_start().len());
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Sets parameter `param` of step `index` (0-based) to `value`, keeping comments and layout: the
/// value is replaced where it is written, or the parameter is added to the step's `params`.
pub fn set_param(src: &str, index: usize, param: &str, value: &Lit) -> Result<String, EditError> {
    let file = parse(src)?;
    let l = layout(src).ok_or_else(|| EditError::Parse("no `steps: [...]` list found".into()))?;
    if l.chunks.len() != file.steps.len() {
        return Err(EditError::Parse("could not find every step in the text".into()));
    }
    let step = file.steps.get(index).ok_or_else(|| EditError::NoStep(format!("{}", index + 1)))?;
    let text = value.to_string();
    if let Some((_, v)) = step.params.0.iter().find(|(k, _)| k.value == param) {
        let span = syntax::locate(src, v.index)
            .ok_or_else(|| EditError::Parse(format!("could not find the value of `{param}` in the text")))?;
        return Ok(format!("{}{text}{}", &src[..span.start.offset], &src[span.end.offset..]));
    }
    let entry = format!("{}: {text}", string(param));
    let (s, e) = l.chunks[index];
    let item = &src[s..e];
    let mut out = String::with_capacity(src.len() + entry.len() + 16);
    match field_value(item, "params") {
        Some(v) if item[v..].starts_with('{') => {
            let at = s + v + 1;
            let sep = if step.params.0.is_empty() { "" } else { ", " };
            out.push_str(&src[..at]);
            out.push_str(&entry);
            out.push_str(sep);
            out.push_str(&src[at..]);
        }
        Some(_) => return Err(EditError::Parse("the step's `params` is not a map".into())),
        None => {
            // Before the step's closing parenthesis, after its last field.
            let close = e - 1;
            let body = src[s..close].trim_end();
            let end = s + body.len();
            let sep = if body.ends_with(',') { " " } else { ", " };
            out.push_str(&src[..end]);
            out.push_str(sep);
            out.push_str(&format!("params: {{{entry}}}"));
            out.push_str(&src[end..]);
        }
    }
    Ok(out)
}

/// Reads the chain file at `path`, applies `edit`, checks that the result still validates against
/// `registry`, and writes it atomically. Returns whether the file changed; on an error, the file
/// is unchanged.
pub fn edit_file(
    path: &std::path::Path,
    registry: &crate::Registry,
    edit: impl FnOnce(&str) -> Result<String, EditError>,
) -> Result<bool, EditFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| EditFileError::Io(e.to_string()))?;
    let new = edit(&text).map_err(EditFileError::Edit)?;
    let source = super::ChainSource::from_text(path.display().to_string(), new.clone());
    super::validate(source, registry, &[]).map_err(|e| EditFileError::Invalid(Box::new(e)))?;
    if new == text {
        return Ok(false);
    }
    write_atomic(path, &new).map_err(|e| EditFileError::Io(e.to_string()))?;
    Ok(true)
}

/// Why [`edit_file`] left the file as it was.
#[derive(Debug, thiserror::Error)]
pub enum EditFileError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The edit could not be made.
    #[error("{0}")]
    Edit(EditError),
    /// The edited chain would not validate.
    #[error("the edited chain would not be valid: {0}")]
    Invalid(Box<super::ChainError>),
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

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r##"// A chain with comments.
(
    steps: [
        // the base
        (effect: "generate.solid", params: {"color": "#808080"}),
        (id: "soft", effect: "blur.gaussian", params: {"sigma": 2.0 /* px */, "edge": "clamp"}),
        (effect: "color.invert"),
        (effect: "color.levels", params: {}),
    ],
)
"##;

    fn value(src: &str, step: usize, param: &str) -> Option<Lit> {
        let f = syntax::parse(src).unwrap();
        f.steps[step].params.0.iter().find(|(k, _)| k.value == param).map(|(_, v)| v.value.clone())
    }

    #[test]
    fn set_param_replaces_a_written_value_in_place() {
        let out = set_param(SRC, 1, "sigma", &Lit::Float(3.5)).unwrap();
        assert_eq!(out, SRC.replace("\"sigma\": 2.0 /* px */", "\"sigma\": 3.5 /* px */"));
        let out = set_param(SRC, 0, "color", &Lit::Str("#ff8800".into())).unwrap();
        assert_eq!(out, SRC.replace("#808080", "#ff8800"));
        let out = set_param(SRC, 1, "edge", &Lit::Str("wrap".into())).unwrap();
        assert_eq!(value(&out, 1, "edge"), Some(Lit::Str("wrap".into())));
        assert!(out.contains("// the base") && out.contains("/* px */"));
    }

    #[test]
    fn set_param_adds_a_missing_parameter() {
        let out = set_param(SRC, 1, "radius", &Lit::Int(4)).unwrap();
        assert_eq!(value(&out, 1, "radius"), Some(Lit::Int(4)));
        assert_eq!(value(&out, 1, "sigma"), Some(Lit::Float(2.0)));
        let out = set_param(SRC, 2, "amount", &Lit::Float(0.5)).unwrap();
        assert!(out.contains(r#"(effect: "color.invert", params: {"amount": 0.5})"#), "{out}");
        let out = set_param(SRC, 3, "gamma", &Lit::List(vec![1.0, 0.5])).unwrap();
        assert!(out.contains(r#"params: {"gamma": (1.0, 0.5)}"#), "{out}");
        assert_eq!(value(&out, 3, "gamma"), Some(Lit::List(vec![1.0, 0.5])));
        assert!(matches!(set_param(SRC, 9, "x", &Lit::Int(1)), Err(EditError::NoStep(_))));
    }
}
