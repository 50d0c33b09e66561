//! The chain file as written, deserialized with `ron`, with source spans for the values that
//! semantic checks may point at.
//!
//! `ron` has no spanned values, but it gives a span with every error. [`Spanned`] values are
//! numbered in the order they are read; to find where value `k` is, the file is read again with a
//! probe that makes value `k` fail, and `ron` reports its span. Only values that have an error are
//! located this way, so a valid file is read once.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

thread_local! {
    static COUNTER: Cell<usize> = const { Cell::new(0) };
    static PROBE: Cell<Option<usize>> = const { Cell::new(None) };
}

const PROBE_MARK: &str = "\u{0}fxchain-span-probe";

/// A value with its index among the spanned values of the file (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Order in which it was read; `usize::MAX` for values that do not come from the file.
    pub index: usize,
}

impl<T> Spanned<T> {
    /// A value that did not come from the file (e.g. a command-line override).
    pub fn synthetic(value: T) -> Self {
        Spanned { value, index: usize::MAX }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let index = COUNTER.with(|c| {
            let v = c.get();
            c.set(v + 1);
            v
        });
        let value = T::deserialize(d)?;
        if PROBE.with(|p| p.get()) == Some(index) {
            return Err(de::Error::custom(PROBE_MARK));
        }
        Ok(Spanned { value, index })
    }
}

/// A position in the source: 1-based line and column (in characters), and the byte offset.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
    /// Byte offset.
    pub offset: usize,
}

/// A range of source text.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First character.
    pub start: Pos,
    /// One past the last character.
    pub end: Pos,
}

fn to_pos(src: &str, p: ron::error::Position) -> Pos {
    let mut offset = 0;
    for (i, line) in src.split_inclusive('\n').enumerate() {
        if i + 1 == p.line {
            let col_bytes: usize = line.chars().take(p.col.saturating_sub(1)).map(char::len_utf8).sum();
            return Pos { line: p.line, col: p.col, offset: offset + col_bytes };
        }
        offset += line.len();
    }
    Pos { line: p.line.max(1), col: p.col.max(1), offset: src.len() }
}

/// Converts a `ron` span to a [`Span`] with byte offsets; a span that starts just inside a string's
/// opening quote is widened to include it.
pub fn convert_span(src: &str, s: ron::error::Span) -> Span {
    let mut start = to_pos(src, s.start);
    let end = to_pos(src, s.end);
    if start.offset > 0
        && src.as_bytes().get(start.offset - 1) == Some(&b'"')
        && src.as_bytes().get(end.offset.wrapping_sub(1)) == Some(&b'"')
    {
        start.offset -= 1;
        start.col -= 1;
    }
    if end.offset < start.offset {
        return Span { start, end: start };
    }
    Span { start, end }
}

fn options() -> ron::Options {
    // Depth limit: a hostile file cannot overflow the stack. Optional fields are written plainly
    // (`seed: 7`, not `seed: Some(7)`).
    ron::Options::default().with_recursion_limit(64).with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Reads `src` as a chain file. On a syntax error, returns it with its span.
pub fn parse(src: &str) -> Result<ChainFile, (String, Span)> {
    if src.trim().is_empty() {
        let start = Pos { line: 1, col: 1, offset: 0 };
        return Err((
            "the chain file is empty; a chain looks like `(steps: [(effect: \"…\")])`".into(),
            Span { start, end: start },
        ));
    }
    COUNTER.with(|c| c.set(0));
    PROBE.with(|p| p.set(None));
    options().from_str::<ChainFile>(src).map_err(|e| (describe_ron_error(&e.code), convert_span(src, e.span)))
}

/// Where spanned value `index` is in `src`.
pub fn locate(src: &str, index: usize) -> Option<Span> {
    if index == usize::MAX {
        return None;
    }
    COUNTER.with(|c| c.set(0));
    PROBE.with(|p| p.set(Some(index)));
    let result = options().from_str::<ChainFile>(src);
    PROBE.with(|p| p.set(None));
    match result {
        Err(e) if matches!(&e.code, ron::Error::Message(m) if m == PROBE_MARK) => Some(convert_span(src, e.span)),
        _ => None,
    }
}

fn describe_ron_error(e: &ron::Error) -> String {
    let text = e.to_string();
    match e {
        ron::Error::NoSuchStructField { expected, found, .. } => {
            let hint = crate::chain::closest(found, expected.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            format!(
                "unknown field `{found}`; expected one of {}{hint}",
                expected.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            )
        }
        ron::Error::ExceededRecursionLimit => "the file nests values too deeply (more than 64 levels)".into(),
        _ => text,
    }
}

/// The top level of a chain file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainFile {
    /// Seed of the chain; each step's seed is derived from it.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Size of generated images when nothing else sets it.
    #[serde(default)]
    pub size: Option<(u32, u32)>,
    /// Quality profile: `Fast`, `Balanced` or `Quality`.
    #[serde(default)]
    pub quality: Option<QualityLit>,
    /// Working precision: `U8` or `F32`.
    #[serde(default)]
    pub precision: Option<PrecisionLit>,
    /// Names of the chain's input images (default: `["input"]`).
    #[serde(default)]
    pub inputs: Option<Vec<Spanned<String>>>,
    /// Steps whose results are the chain's outputs (default: the last step).
    #[serde(default)]
    pub outputs: Option<Vec<Spanned<String>>>,
    /// Named values steps can use as `"$name"`.
    #[serde(default)]
    pub vars: BTreeMap<String, Spanned<Lit>>,
    /// Let the planner reorder steps where it is provably safe.
    #[serde(default)]
    pub optimize: Option<bool>,
    /// The steps, in order.
    pub steps: Vec<StepFile>,
}

/// One step as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    /// Name other steps use to refer to this one.
    #[serde(default)]
    pub id: Option<Spanned<String>>,
    /// Effect id.
    pub effect: Spanned<String>,
    /// Parameters by id, in the order written.
    #[serde(default)]
    pub params: Params,
    /// `false` skips the step (its input passes through).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The single input (step id or chain input name).
    #[serde(default)]
    pub input: Option<Spanned<String>>,
    /// Several inputs, for compositors.
    #[serde(default)]
    pub inputs: Option<Vec<Spanned<String>>>,
    /// Quality profile for this step only.
    #[serde(default)]
    pub quality: Option<QualityLit>,
}

/// A quality profile as written (`Fast`, `Balanced`, `Quality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum QualityLit {
    /// Cheapest variants.
    #[serde(alias = "fast")]
    Fast,
    /// Balanced variants.
    #[serde(alias = "balanced")]
    Balanced,
    /// Reference implementations.
    #[serde(alias = "quality")]
    Quality,
}

/// A working precision as written (`U8`, `F32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PrecisionLit {
    /// 8 bits per channel where possible.
    #[serde(alias = "u8")]
    U8,
    /// 32-bit floats.
    #[serde(alias = "f32")]
    F32,
}

/// Parameters in the order written.
#[derive(Debug, Default)]
pub struct Params(pub Vec<(Spanned<String>, Spanned<Lit>)>);

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Params;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of parameter names to values, like {\"sigma\": 2.0}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    let v = map.next_value::<Spanned<Lit>>()?;
                    out.push((k, v));
                }
                Ok(Params(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A parameter value as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// `true` / `false`.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string: text, an enum name, a colour (`"#ff8800"`) or a reference (`"$name"`).
    Str(String),
    /// A list or tuple of numbers (a colour `(r, g, b, a)`).
    List(Vec<f64>),
}

impl Lit {
    /// A short description of the value's type for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Lit::Bool(_) => "a bool",
            Lit::Int(_) => "an integer",
            Lit::Float(_) => "a float",
            Lit::Str(_) => "a string",
            Lit::List(_) => "a list",
        }
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Int(i) => write!(f, "{i}"),
            Lit::Float(x) => write!(f, "{x:?}"),
            Lit::Str(s) => write!(f, "{s:?}"),
            Lit::List(v) => write!(f, "({})", v.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", ")),
        }
    }
}

impl<'de> Deserialize<'de> for Lit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, bool, string or list of numbers")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Lit, E> {
                Ok(Lit::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Lit, E> {
                Ok(Lit::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lit, E> {
                i64::try_from(v).map(Lit::Int).map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Lit, E> {
                Ok(Lit::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Lit, E> {
                Ok(Lit::Str(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lit, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<f64>()? {
                    if out.len() >= 16 {
                        return Err(de::Error::custom("a list value has at most 16 numbers"));
                    }
                    out.push(x);
                }
                Ok(Lit::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a single value as written on the command line (`--set step.param=VALUE`): a RON
/// literal, or a bare word taken as a string.
pub fn parse_lit(text: &str) -> Lit {
    match options().from_str::<Lit>(text) {
        Ok(l) => l,
        Err(_) => Lit::Str(text.to_string()),
    }
}
