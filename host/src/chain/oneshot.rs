//! One-shot chains from command-line words: `EFFECT [PARAM=VALUE]... [: EFFECT ...]`.
//!
//! The words are turned into the text of an equivalent chain file, which is then validated like
//! any chain file: the messages are those of chain files, and the text is what `--save-chain`
//! writes.

use std::sync::Arc;

use super::syntax::{self, Lit};
use super::{Chain, ChainError, ChainSource, Override};
use crate::registry::Registry;

/// The name one-shot chains are reported under.
pub const SOURCE_NAME: &str = "command line";

/// One step as written on the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct OneShotStep {
    /// The effect id.
    pub effect: String,
    /// `PARAM=VALUE` pairs in the order written, values parsed as in chain files.
    pub params: Vec<(String, Lit)>,
}

/// Splits command-line words into steps: a word `:` separates steps, the first word of a step
/// is the effect id and the others are `PARAM=VALUE`.
///
/// ```
/// use fxchain_host::chain::oneshot::parse_words;
/// let steps = parse_words(&["blur.gaussian", "sigma=3", ":", "color.invert"]).unwrap();
/// assert_eq!(steps.len(), 2);
/// assert_eq!(steps[0].effect, "blur.gaussian");
/// assert_eq!(steps[0].params[0].0, "sigma");
/// assert!(parse_words(&["blur.gaussian", "sigma"]).is_err());
/// ```
pub fn parse_words<S: AsRef<str>>(words: &[S]) -> Result<Vec<OneShotStep>, String> {
    let mut steps = Vec::new();
    let mut group: Vec<&str> = Vec::new();
    let mut groups = Vec::new();
    for w in words {
        let w = w.as_ref();
        if w == ":" {
            groups.push(std::mem::take(&mut group));
        } else {
            group.push(w);
        }
    }
    groups.push(group);
    for (n, g) in groups.iter().enumerate() {
        let Some((effect, params)) = g.split_first() else {
            return Err(if groups.len() == 1 {
                "expected an effect id (EFFECT [PARAM=VALUE]... [: EFFECT ...])".to_string()
            } else {
                format!("step {} is empty: expected an effect id after `:`", n + 1)
            });
        };
        if effect.contains('=') {
            return Err(format!(
                "`{effect}`: expected an effect id before its parameters (step {} of EFFECT [PARAM=VALUE]...)",
                n + 1
            ));
        }
        let mut pairs = Vec::new();
        for p in params {
            let (k, v) = p.split_once('=').filter(|(k, _)| !k.is_empty()).ok_or_else(|| {
                format!("`{p}` (after `{effect}`): expected PARAM=VALUE, or `:` before the next effect")
            })?;
            pairs.push((k.to_string(), syntax::parse_lit(v)));
        }
        steps.push(OneShotStep { effect: effect.to_string(), params: pairs });
    }
    Ok(steps)
}

/// The text of the chain file equivalent to `steps` (one step a line; each step reads the
/// previous one, the first reads the chain's input).
pub fn chain_text(steps: &[OneShotStep]) -> String {
    let mut out = String::from("(\n    steps: [\n");
    for s in steps {
        out.push_str(&format!("        (effect: {}", quote(&s.effect)));
        if !s.params.is_empty() {
            let params: Vec<String> = s.params.iter().map(|(k, v)| format!("{}: {v}", quote(k))).collect();
            out.push_str(&format!(", params: {{{}}}", params.join(", ")));
        }
        out.push_str("),\n");
    }
    out.push_str("    ],\n)\n");
    out
}

/// A RON string literal.
fn quote(s: &str) -> String {
    Lit::Str(s.to_string()).to_string()
}

/// Builds and validates the chain of command-line words, with the messages of chain files
/// (reported under [`SOURCE_NAME`], with the generated text as the snippet).
pub fn build<S: AsRef<str>>(words: &[S], registry: &Registry, overrides: &[Override]) -> Result<Chain, BuildError> {
    let steps = parse_words(words).map_err(BuildError::Words)?;
    let source = ChainSource::from_text(SOURCE_NAME, chain_text(&steps));
    super::validate(source, registry, overrides).map_err(BuildError::Chain)
}

/// The chain that runs effect `id` of `registry` alone, with its default parameters: on `inputs`
/// chain inputs named `input1`, `input2`... (none for a generator), generating at `size`. Hot
/// reload renders it to self-test each effect of a newly loaded library.
pub fn single_effect(
    registry: &Registry,
    id: &str,
    inputs: usize,
    size: fxchain_plugin_api::Size,
    seed: u64,
) -> Result<Chain, ChainError> {
    // The step's quality is the effect's own tier, so the effect itself runs (not a variant).
    let quality = match registry.effect(id).map(|e| e.tier) {
        Some(fxchain_plugin_api::Tier::FAST) => "Fast",
        Some(fxchain_plugin_api::Tier::BALANCED) => "Balanced",
        _ => "Quality",
    };
    let names: Vec<String> = (1..=inputs).map(|n| quote(&format!("input{n}"))).collect();
    let list = names.join(", ");
    let (declared, read) = if inputs == 0 {
        (String::new(), String::new())
    } else {
        (format!("inputs: [{list}], "), format!(", inputs: [{list}]"))
    };
    let text = format!(
        "(seed: {seed}, size: ({}, {}), {declared}steps: [(effect: {}, quality: {quality}{read})])\n",
        size.width,
        size.height,
        quote(id)
    );
    super::validate(ChainSource::from_text(format!("self-test of `{id}`"), text), registry, &[])
}

/// The source of a one-shot chain, for callers that validate it themselves.
pub fn source<S: AsRef<str>>(words: &[S]) -> Result<Arc<ChainSource>, String> {
    Ok(ChainSource::from_text(SOURCE_NAME, chain_text(&parse_words(words)?)))
}

/// Why command-line words do not make a chain.
#[derive(Debug)]
pub enum BuildError {
    /// The words are not `EFFECT [PARAM=VALUE]... [: EFFECT ...]`.
    Words(String),
    /// The chain does not validate (unknown effect or parameter, bad value...).
    Chain(ChainError),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Words(e) => f.write_str(e),
            BuildError::Chain(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_steps_separated_by_colons() {
        let s = parse_words(&["a.b", "x=1", "y=2.5", ":", "c.d", "mode=multiply", ":", "e.f"]).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].params, vec![("x".into(), Lit::Int(1)), ("y".into(), Lit::Float(2.5))]);
        assert_eq!(s[1].params, vec![("mode".into(), Lit::Str("multiply".into()))]);
        assert!(s[2].params.is_empty());
    }

    #[test]
    fn malformed_words_are_refused_with_the_word() {
        assert!(parse_words::<&str>(&[]).unwrap_err().contains("expected an effect id"));
        assert!(parse_words(&["a.b", ":"]).unwrap_err().contains("step 2 is empty"));
        assert!(parse_words(&["a.b", "sigma"]).unwrap_err().contains("`sigma`"));
        assert!(parse_words(&["a.b", "=3"]).unwrap_err().contains("`=3`"));
        assert!(parse_words(&["sigma=3"]).unwrap_err().contains("expected an effect id"));
    }

    #[test]
    fn the_text_is_a_chain_file_that_parses_back_to_the_same_values() {
        let s =
            parse_words(&["blur.gaussian", "sigma=3", ":", "x.y", "ink=#1a0f0a", "c=(1, 0.5, 0)", "on=true"]).unwrap();
        let text = chain_text(&s);
        assert_eq!(
            text,
            "(\n    steps: [\n        (effect: \"blur.gaussian\", params: {\"sigma\": 3}),\n        \
             (effect: \"x.y\", params: {\"ink\": \"#1a0f0a\", \"c\": (1.0, 0.5, 0.0), \"on\": true}),\n    ],\n)\n"
        );
        let file = syntax::parse(&text).expect("parses");
        assert_eq!(file.steps.len(), 2);
    }
}
