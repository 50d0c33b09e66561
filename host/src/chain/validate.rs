//! Semantic checks of a chain file against the registry. Every problem is collected (with the
//! span of the offending value) so a user sees them all at once.

use std::collections::HashMap;
use std::sync::Arc;

use fxchain_plugin_api::{Color, EffectKind, ParamKind, ParamValue, Size, Tier};

use super::syntax::{self, ChainFile, Lit, PrecisionLit, QualityLit, Spanned, StepFile};
use super::{closest, Chain, ChainDiagnostic, ChainError, ChainSource, Precision, Source, Step};
use crate::loader::{EffectInfo, ParamInfo};
use crate::registry::Registry;

/// A parameter set from the command line: `--set STEP.PARAM=VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Step id, effect id (when only one step uses it) or 1-based index (`3` or `#3`).
    pub step: String,
    /// Parameter id.
    pub param: String,
    /// The value.
    pub value: Lit,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (target, value) = s.split_once('=').ok_or_else(|| format!("`{s}`: expected STEP.PARAM=VALUE"))?;
        let (step, param) = target
            .rsplit_once('.')
            .ok_or_else(|| format!("`{s}`: expected STEP.PARAM=VALUE (STEP is a step id, effect id or number)"))?;
        if step.is_empty() || param.is_empty() {
            return Err(format!("`{s}`: expected STEP.PARAM=VALUE"));
        }
        Ok(Override { step: step.to_string(), param: param.to_string(), value: syntax::parse_lit(value) })
    }
}

struct Errors {
    list: Vec<(String, usize, Option<String>)>,
}

impl Errors {
    fn push(&mut self, message: impl Into<String>, at: usize, help: Option<String>) {
        self.list.push((message.into(), at, help));
    }
}

fn tier(q: QualityLit) -> Tier {
    match q {
        QualityLit::Fast => Tier::FAST,
        QualityLit::Balanced => Tier::BALANCED,
        QualityLit::Quality => Tier::QUALITY,
    }
}

fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

fn number(lit: &Lit) -> Option<f64> {
    match lit {
        Lit::Int(i) => Some(*i as f64),
        Lit::Float(f) => Some(*f),
        _ => None,
    }
}

/// Converts a written value to the parameter's type, checking its range.
pub(crate) fn convert(effect: &str, spec: &ParamInfo, lit: &Lit) -> Result<ParamValue, (String, Option<String>)> {
    let name = format!("`{effect}` parameter `{}`", spec.id);
    let range_check = |x: f64| -> Result<(), (String, Option<String>)> {
        if !x.is_finite() {
            return Err((format!("{name} must be a finite number, got {lit}"), None));
        }
        if x < spec.min || x > spec.max {
            return Err((
                format!("{name} is {lit}, out of its range {}..={}", fmt_num(spec.min), fmt_num(spec.max)),
                None,
            ));
        }
        Ok(())
    };
    let mismatch = || (format!("{name} expects {}, got {} {lit}", kind_phrase(spec.kind), lit.type_name()), None);
    match spec.kind {
        ParamKind::FLOAT => {
            let x = number(lit).ok_or_else(mismatch)?;
            range_check(x)?;
            Ok(ParamValue::Float(x))
        }
        ParamKind::INT => {
            let x = match lit {
                Lit::Int(i) => *i,
                Lit::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => *f as i64,
                _ => return Err(mismatch()),
            };
            range_check(x as f64)?;
            Ok(ParamValue::Int(x))
        }
        ParamKind::BOOL => match lit {
            Lit::Bool(b) => Ok(ParamValue::Bool(*b)),
            _ => Err(mismatch()),
        },
        ParamKind::COLOR => {
            let c = match lit {
                Lit::Str(s) => Color::parse_hex(s).ok_or_else(|| {
                    (
                        format!("{name}: `{s}` is not a colour"),
                        Some("write \"#rrggbb\", \"#rrggbbaa\" or (r, g, b, a) in 0..1".into()),
                    )
                })?,
                Lit::List(v) if (3..=4).contains(&v.len()) => {
                    if v.iter().any(|x| !x.is_finite() || *x < 0.0 || *x > 1.0) {
                        return Err((format!("{name}: colour channels must be in 0..1, got {lit}"), None));
                    }
                    Color::new(v[0] as f32, v[1] as f32, v[2] as f32, v.get(3).copied().unwrap_or(1.0) as f32)
                }
                _ => return Err(mismatch()),
            };
            Ok(ParamValue::Color([c.r, c.g, c.b, c.a]))
        }
        ParamKind::ENUM => match lit {
            Lit::Str(s) => match spec.choices.iter().position(|c| c.eq_ignore_ascii_case(s)) {
                Some(i) => Ok(ParamValue::Enum(i as u32)),
                None => Err((
                    format!(
                        "{name}: `{s}` is not one of {}",
                        spec.choices.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    ),
                    did_you_mean(s, spec.choices.iter().map(String::as_str)),
                )),
            },
            _ => Err(mismatch()),
        },
        ParamKind::STRING => match lit {
            Lit::Str(s) => Ok(ParamValue::Text(s.as_str().into())),
            _ => Err(mismatch()),
        },
        _ => Err((format!("{name} has a type this host does not know"), None)),
    }
}

fn kind_phrase(k: ParamKind) -> &'static str {
    match k {
        ParamKind::FLOAT => "a number",
        ParamKind::INT => "an integer",
        ParamKind::BOOL => "a bool",
        ParamKind::COLOR => "a colour",
        ParamKind::ENUM => "one of its names (a string)",
        ParamKind::STRING => "a string",
        _ => "a value",
    }
}

fn fmt_num(x: f64) -> String {
    if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        format!("{x}")
    }
}

fn derive_seed(chain_seed: u64, key: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&chain_seed.to_le_bytes());
    h.update(key.as_bytes());
    let bytes = h.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"))
}

fn find_step(file: &ChainFile, selector: &str) -> Result<usize, String> {
    let n = selector.trim_start_matches('#');
    if let Ok(i) = n.parse::<usize>() {
        return if i >= 1 && i <= file.steps.len() {
            Ok(i - 1)
        } else {
            Err(format!("--set: there is no step {i} (the chain has {})", file.steps.len()))
        };
    }
    if let Some(i) = file.steps.iter().position(|s| s.id.as_ref().is_some_and(|id| id.value == selector)) {
        return Ok(i);
    }
    let by_effect: Vec<usize> =
        file.steps.iter().enumerate().filter(|(_, s)| s.effect.value == selector).map(|(i, _)| i).collect();
    match by_effect.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("--set: no step has the id or effect `{selector}`")),
        _ => Err(format!("--set: several steps use `{selector}`; give the step an id or use its number")),
    }
}

/// Reads and validates a chain against `registry`, applying command-line `overrides`. Every
/// problem is reported at once, each with its line and column.
///
/// ```
/// use fxchain_host::{chain, ChainSource, Registry};
/// let registry = Registry::default(); // no plugins: every effect is unknown
/// let source = ChainSource::from_text("c.ron", "(steps: [\n  (effect: \"blur.gaussian\"),\n])");
/// let err = chain::validate(source, &registry, &[]).unwrap_err();
/// let d = &err.diagnostics()[0];
/// assert_eq!(d.location(), "c.ron:2:12");
/// assert_eq!(d.message, "unknown effect `blur.gaussian`");
/// // A syntax error stops at its position.
/// let err = chain::validate(ChainSource::from_text("c.ron", "(steps: ["), &registry, &[]).unwrap_err();
/// assert!(err.diagnostics()[0].location().starts_with("c.ron:1:"));
/// ```
pub fn validate(source: Arc<ChainSource>, registry: &Registry, overrides: &[Override]) -> Result<Chain, ChainError> {
    let mut file = syntax::parse(&source.text).map_err(|(message, span)| {
        ChainError::Syntax(Box::new(ChainDiagnostic { message, span: Some(span), help: None, source: source.clone() }))
    })?;
    let mut errors = Errors { list: Vec::new() };
    let mut plain: Vec<String> = Vec::new();

    for o in overrides {
        match find_step(&file, &o.step) {
            Ok(i) => {
                let params = &mut file.steps[i].params.0;
                match params.iter_mut().find(|(k, _)| k.value == o.param) {
                    Some((_, v)) => *v = Spanned::synthetic(o.value.clone()),
                    None => params.push((Spanned::synthetic(o.param.clone()), Spanned::synthetic(o.value.clone()))),
                }
            }
            Err(e) => plain.push(e),
        }
    }

    let quality = file.quality.map(tier).unwrap_or(Tier::QUALITY);
    let precision = match file.precision {
        Some(PrecisionLit::F32) => Precision::F32,
        _ => Precision::U8,
    };
    let size = match file.size {
        Some((w, h)) if w == 0 || h == 0 => {
            plain.push(format!("size ({w}, {h}) is not usable: each side must be at least 1"));
            None
        }
        // Generators render at this size: it obeys the limits of an input image.
        Some((w, h)) if crate::io::ImageLimits::default().check(w, h).is_err() => {
            let why = crate::io::ImageLimits::default().check(w, h).err().unwrap_or_default();
            plain.push(format!("size ({w}, {h}) is too large for generated images: {why}"));
            None
        }
        s => s.map(|(w, h)| Size::new(w, h)),
    };
    let chain_seed = file.seed.unwrap_or(0);
    let declared_inputs: Vec<Spanned<String>> =
        file.inputs.clone().unwrap_or_else(|| vec![Spanned::synthetic("input".to_string())]);
    let input_names: Vec<&str> = declared_inputs.iter().map(|s| s.value.as_str()).collect();

    if file.steps.is_empty() {
        plain.push("the chain has no steps".into());
    }

    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut used_inputs: Vec<String> = Vec::new();
    let mut occurrences: HashMap<String, usize> = HashMap::new();

    for (index, sf) in file.steps.iter().enumerate() {
        let StepFile { id, effect, params, enabled, input, inputs, quality: step_quality } = sf;
        if let Some(id) = id {
            if input_names.contains(&id.value.as_str()) {
                errors.push(format!("step id `{}` is also the name of a chain input", id.value), id.index, None);
            } else if ids.insert(id.value.clone(), index).is_some() {
                errors.push(format!("step id `{}` is used twice", id.value), id.index, None);
            }
        }
        let step_quality = step_quality.map(tier);
        let info: Option<Arc<EffectInfo>> = registry.effect(&effect.value).cloned();
        let Some(info) = info else {
            errors.push(
                format!("unknown effect `{}`", effect.value),
                effect.index,
                Some(match super::suggest_effect(registry, &effect.value) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => registry.searched(),
                }),
            );
            steps.push(placeholder(index, id, effect, chain_seed));
            continue;
        };

        // Parameters: schema order, defaults for the rest.
        let mut values: Vec<Option<ParamValue>> = vec![None; info.params.len()];
        for (key, lit) in &params.0 {
            let Some(pos) = info.params.iter().position(|p| p.id == key.value) else {
                let known: Vec<&str> = info.params.iter().map(|p| p.id.as_str()).collect();
                let help = did_you_mean(&key.value, known.iter().copied()).or_else(|| {
                    Some(if known.is_empty() {
                        "this effect takes no parameters".into()
                    } else {
                        format!("its parameters are {}", known.join(", "))
                    })
                });
                errors.push(format!("`{}` has no parameter `{}`", info.id, key.value), key.index, help);
                continue;
            };
            if values[pos].is_some() {
                errors.push(format!("parameter `{}` is set twice", key.value), key.index, None);
                continue;
            }
            let resolved = match &lit.value {
                Lit::Str(s) if s.starts_with('$') => match file.vars.get(&s[1..]) {
                    Some(v) => v.value.clone(),
                    None => {
                        errors.push(
                            format!("unknown variable `{s}`"),
                            lit.index,
                            did_you_mean(&s[1..], file.vars.keys().map(String::as_str))
                                .or(Some("define it under `vars`".into())),
                        );
                        continue;
                    }
                },
                l => l.clone(),
            };
            match convert(&info.id, &info.params[pos], &resolved) {
                Ok(v) => values[pos] = Some(v),
                Err((msg, help)) => {
                    if lit.index == usize::MAX {
                        plain.push(format!("--set {}: {msg}", key.value));
                    } else {
                        errors.push(msg, lit.index, help);
                    }
                }
            }
        }
        let params: Vec<ParamValue> =
            values.into_iter().zip(&info.params).map(|(v, spec)| v.unwrap_or_else(|| spec.default.clone())).collect();

        // Inputs.
        let written: Option<Vec<&Spanned<String>>> = match (input, inputs) {
            (Some(_), Some(list)) => {
                errors.push(
                    "give either `input` or `inputs`, not both",
                    list.first().map_or(usize::MAX, |s| s.index),
                    None,
                );
                None
            }
            (Some(one), None) => Some(vec![one]),
            (None, Some(list)) => Some(list.iter().collect()),
            (None, None) => None,
        };
        let mut sources = Vec::new();
        let errors_before = errors.list.len();
        match written {
            Some(list) => {
                for r in list {
                    if let Some(&j) = ids.get(&r.value) {
                        if j == index {
                            errors.push(format!("step `{}` uses itself as input (a cycle)", r.value), r.index, None);
                        } else {
                            sources.push(Source::Step(j));
                        }
                    } else if file.steps.iter().skip(index).any(|s| s.id.as_ref().is_some_and(|i| i.value == r.value)) {
                        errors.push(
                            format!("input `{}` refers to a step further down (or to this step): steps run top to bottom, so this would be a cycle", r.value),
                            r.index,
                            None,
                        );
                    } else if input_names.contains(&r.value.as_str()) {
                        sources.push(Source::Input(r.value.clone()));
                    } else {
                        let names =
                            ids.keys().map(String::as_str).chain(input_names.iter().copied()).collect::<Vec<_>>();
                        errors.push(
                            format!("input `{}` is neither an earlier step's id nor a chain input", r.value),
                            r.index,
                            did_you_mean(&r.value, names.iter().copied()),
                        );
                    }
                }
            }
            None if info.kind == EffectKind::GENERATOR => {}
            None if index == 0 => {
                sources.push(Source::Input(input_names.first().copied().unwrap_or("input").to_string()))
            }
            None => sources.push(Source::Step(index - 1)),
        }
        let n = sources.len() as u32;
        let bad_refs = errors.list.len() > errors_before;
        if !bad_refs && (n < info.min_inputs || n > info.max_inputs) {
            let want = if info.min_inputs == info.max_inputs {
                format!("{}", info.min_inputs)
            } else {
                format!("{} to {}", info.min_inputs, info.max_inputs)
            };
            errors.push(
                format!("`{}` takes {want} input(s), this step gives it {n}", info.id),
                effect.index,
                (info.kind == EffectKind::COMPOSITOR).then(|| "list them with `inputs: [\"a\", \"b\"]`".to_string()),
            );
        }
        for s in &sources {
            if let Source::Input(name) = s {
                if !used_inputs.contains(name) {
                    used_inputs.push(name.clone());
                }
            }
        }
        let key = match id {
            Some(id) => id.value.clone(),
            None => {
                let n = occurrences.entry(effect.value.clone()).or_insert(0);
                *n += 1;
                format!("{}#{}", effect.value, n)
            }
        };
        steps.push(Step {
            index,
            id: id.as_ref().map(|i| i.value.clone()),
            effect: effect.value.clone(),
            params,
            enabled: enabled.unwrap_or(true),
            inputs: sources,
            quality: step_quality,
            seed: derive_seed(chain_seed, &key),
        });
    }

    let outputs: Vec<usize> = match &file.outputs {
        None => steps.len().checked_sub(1).into_iter().collect(),
        Some(list) => list
            .iter()
            .filter_map(|o| match ids.get(&o.value) {
                Some(&i) => Some(i),
                None => {
                    errors.push(
                        format!("output `{}` is not a step id", o.value),
                        o.index,
                        did_you_mean(&o.value, ids.keys().map(String::as_str)),
                    );
                    None
                }
            })
            .collect(),
    };

    if errors.list.is_empty() && plain.is_empty() {
        return Ok(Chain {
            source,
            seed: chain_seed,
            size,
            quality,
            precision,
            steps,
            inputs: used_inputs,
            outputs,
            optimize: file.optimize.unwrap_or(false),
        });
    }
    const MAX_LOCATED: usize = 50;
    let mut diags: Vec<ChainDiagnostic> = plain
        .into_iter()
        .map(|message| ChainDiagnostic { message, span: None, help: None, source: source.clone() })
        .collect();
    let total = errors.list.len();
    for (i, (message, at, help)) in errors.list.into_iter().enumerate() {
        let span = if i < MAX_LOCATED { syntax::locate(&source.text, at) } else { None };
        diags.push(ChainDiagnostic { message, span, help, source: source.clone() });
    }
    if total > MAX_LOCATED {
        tracing::debug!("only the first {MAX_LOCATED} of {total} chain errors were located");
    }
    diags.sort_by_key(|d| d.span.map(|s| s.start.offset).unwrap_or(0));
    Err(ChainError::Invalid(diags))
}

fn placeholder(index: usize, id: &Option<Spanned<String>>, effect: &Spanned<String>, seed: u64) -> Step {
    Step {
        index,
        id: id.as_ref().map(|i| i.value.clone()),
        effect: effect.value.clone(),
        params: Vec::new(),
        enabled: false,
        inputs: Vec::new(),
        quality: None,
        seed,
    }
}
