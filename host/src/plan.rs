//! Explaining a chain (what the executor will do at each node) and the optional reordering
//! optimizer.

use std::collections::HashMap;

use fxchain_plugin_api::abi::PrepareInfo;
use fxchain_plugin_api::{Access, EffectKind, PixelFormat, Size, Tier};

use crate::chain::{Chain, Precision, Source, Step};
use crate::error::RunError;
use crate::exec::{prepare_step, Plan};
use crate::registry::Registry;

/// One node of an explained plan.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlanRow {
    /// Step label.
    pub step: String,
    /// Effect id as written.
    pub effect: String,
    /// Effect that runs (the variant chosen by the quality profile).
    pub runs: String,
    /// Its tier.
    pub tier: String,
    /// Library and generation.
    pub library: String,
    /// Access pattern.
    pub access: String,
    /// Pixel format of the node.
    pub format: String,
    /// Output size.
    pub size: (u32, u32),
    /// Inputs (step labels or chain input names).
    pub inputs: Vec<String>,
    /// Runs in one band pass with the next step.
    pub fused_with_next: bool,
    /// In a fused run, run by the host as a composed table or colour matrix (`"table"`,
    /// `"matrix"`) instead of a plugin call; consecutive tables become one.
    pub composed: Option<&'static str>,
    /// Depth in the graph: nodes of the same depth do not depend on each other.
    pub level: usize,
    /// The result cache's key of this node (hex), when it is cacheable: the key the executor
    /// uses and reports.
    pub cache_key: Option<String>,
    /// Not needed by any output, or disabled.
    pub skipped: Option<&'static str>,
}

fn preferred(chain: &Chain) -> PixelFormat {
    match chain.precision {
        Precision::U8 => PixelFormat::RGBA8,
        Precision::F32 => PixelFormat::RGBA32F,
    }
}

/// Output sizes of every step for the given input sizes (prepares each effect, renders nothing).
pub fn sizes(
    chain: &Chain,
    registry: &Registry,
    inputs: &HashMap<String, Size>,
    quality: Tier,
    default_size: Size,
) -> Result<Vec<Option<Size>>, RunError> {
    Ok(node_facts(chain, registry, inputs, quality, default_size)?.into_iter().map(|f| f.map(|f| f.0)).collect())
}

/// What preparing a step says that explain shows: its output size and, for a composable point
/// step rendering 8-bit frames, the form the host composes it in (`"table"` or `"matrix"`).
type NodeFacts = (Size, Option<&'static str>);

/// The [`NodeFacts`] of every step (`None` for steps no output needs).
fn node_facts(
    chain: &Chain,
    registry: &Registry,
    inputs: &HashMap<String, Size>,
    quality: Tier,
    default_size: Size,
) -> Result<Vec<Option<NodeFacts>>, RunError> {
    let plan = Plan::new(chain, registry, quality, preferred(chain), false)?;
    let gen_size =
        chain.size.or_else(|| chain.inputs.first().and_then(|n| inputs.get(n)).copied()).unwrap_or(default_size);
    let mut out: Vec<Option<NodeFacts>> = vec![None; chain.steps.len()];
    for (i, step) in chain.steps.iter().enumerate() {
        let ins: Vec<Size> = step
            .inputs
            .iter()
            .filter_map(|s| match s {
                Source::Input(n) => inputs.get(n).copied(),
                Source::Step(j) => out[*j].map(|f| f.0),
            })
            .collect();
        out[i] = match &plan.nodes[i] {
            None => ins.first().map(|s| (*s, None)),
            Some((info, format)) => {
                let prep = PrepareInfo { seed: step.seed, size: gen_size, format: *format };
                let op = prepare_step(step, info, &ins, &prep)?;
                let size = op.facts.output;
                let eight = *format == PixelFormat::RGBA8;
                let form = match (op.table().is_some(), op.matrix().is_some()) {
                    (true, _) if eight => Some("table"),
                    (_, true) if eight => Some("matrix"),
                    _ => None,
                };
                op.release().map_err(|e| RunError::Plugin {
                    step: step.label(),
                    effect: info.id.clone(),
                    library: info.library.name.clone(),
                    panicked: e.kind == fxchain_plugin_api::ErrorKind::PANICKED,
                    message: crate::error::plugin_message(&e),
                })?;
                Some((size, form))
            }
        };
    }
    Ok(out)
}

/// The plan of `chain` for inputs of the given sizes. `input_keys` are the content keys of the
/// inputs whose pixels are known (see [`Frame::content_hash`](crate::Frame::content_hash)); the
/// others are keyed by name and size, so the keys shown are the executor's exactly when every
/// input's pixels are given.
pub fn explain(
    chain: &Chain,
    registry: &Registry,
    inputs: &HashMap<String, Size>,
    input_keys: &HashMap<String, crate::cache::Key>,
    quality: Option<Tier>,
    fuse: bool,
) -> Result<Vec<PlanRow>, RunError> {
    let quality = quality.unwrap_or(chain.quality);
    let plan = Plan::new(chain, registry, quality, preferred(chain), fuse)?;
    let default_size = Size::new(512, 512);
    let facts = node_facts(chain, registry, inputs, quality, default_size)?;
    let gen_size =
        chain.size.or_else(|| chain.inputs.first().and_then(|n| inputs.get(n)).copied()).unwrap_or(default_size);
    let mut all_keys = input_keys.clone();
    for (name, size) in inputs {
        all_keys.entry(name.clone()).or_insert_with(|| crate::exec::input_key_from_size(name, *size));
    }
    let keys = crate::exec::node_keys(chain, &plan.needed, &plan.nodes, gen_size, &all_keys);
    let mut level = vec![0usize; chain.steps.len()];
    let mut rows = Vec::new();
    for (i, step) in chain.steps.iter().enumerate() {
        level[i] =
            step.inputs.iter().map(|s| if let Source::Step(j) = s { level[*j] + 1 } else { 0 }).max().unwrap_or(0);
        let input_names: Vec<String> = step
            .inputs
            .iter()
            .map(|s| match s {
                Source::Input(n) => format!("input `{n}`"),
                Source::Step(j) => chain.steps[*j].label(),
            })
            .collect();
        let size = facts[i].map(|s| (s.0.width, s.0.height)).unwrap_or((0, 0));
        let in_fused_run = plan.fused_with_next[i] || (i > 0 && plan.fused_with_next[i - 1]);
        let composed = facts[i].and_then(|f| f.1).filter(|_| in_fused_run);
        let skipped = if !plan.needed[i] {
            Some("not needed by any output")
        } else if !step.enabled {
            Some("disabled: its input passes through")
        } else {
            None
        };
        let key = keys[i].map(crate::exec::hex);
        let (runs, tier, library, access, format) = match &plan.nodes[i] {
            Some((info, format)) => (
                info.id.clone(),
                info.tier.to_string(),
                format!("{} {} gen {}", info.library.name, info.library.version, info.library.generation),
                info.access.to_string(),
                format.to_string(),
            ),
            None => (step.effect.clone(), "-".into(), "-".into(), "-".into(), "-".into()),
        };
        rows.push(PlanRow {
            step: step.label(),
            effect: step.effect.clone(),
            runs,
            tier,
            library,
            access,
            format,
            size,
            inputs: input_names,
            fused_with_next: plan.fused_with_next[i],
            composed,
            level: level[i],
            cache_key: key,
            skipped,
        });
    }
    Ok(rows)
}

/// Reorders `chain` where the effects' properties make it safe: a step that shrinks the image
/// (a one-input effect with a smaller output) is moved ahead of the point steps that feed it, so
/// they run on fewer pixels. Point effects commute with resampling up to rounding and the
/// non-linearity of the point curve, so the result matches the written order within a small
/// tolerance. Returns the chain unchanged when nothing applies.
pub fn optimize(
    chain: &Chain,
    registry: &Registry,
    inputs: &HashMap<String, Size>,
    quality: Option<Tier>,
) -> Result<Chain, RunError> {
    let quality = quality.unwrap_or(chain.quality);
    let mut c = chain.clone();
    loop {
        let plan = Plan::new(&c, registry, quality, preferred(&c), false)?;
        let sz = sizes(&c, registry, inputs, quality, Size::new(512, 512))?;
        let is_point = |i: usize| {
            plan.nodes[i].as_ref().is_some_and(|(e, _)| e.access == Access::POINT && e.kind == EffectKind::FILTER)
                && plan.readers[i] == 1
                && !c.outputs.contains(&i)
        };
        let mut change = None;
        for (j, step) in c.steps.iter().enumerate() {
            let Some((info, _)) = &plan.nodes[j] else { continue };
            let [Source::Step(p)] = step.inputs.as_slice() else { continue };
            if info.kind != EffectKind::FILTER || info.access == Access::POINT || *p + 1 != j {
                continue;
            }
            let (Some(i_sz), Some(o_sz)) = (sz[*p], sz[j]) else { continue };
            if o_sz.pixels() >= i_sz.pixels() {
                continue;
            }
            // The run of point steps ending right before j, each feeding the next.
            let mut head = *p;
            while is_point(head)
                && head > 0
                && matches!(c.steps[head].inputs.as_slice(), [Source::Step(q)] if *q + 1 == head)
            {
                if !is_point(head - 1) {
                    break;
                }
                head -= 1;
            }
            if is_point(head) {
                change = Some((head, j));
                break;
            }
        }
        let Some((head, j)) = change else { return Ok(c) };
        (c.steps, c.outputs) = move_ahead(&c.steps, &c.outputs, head, j);
        tracing::debug!(target: "fxchain::plan", "optimizer moved step {} ahead of {}", j + 1, head + 1);
    }
}

/// Moves step `j` ahead of the run of steps `head..j` that feeds it (each step of the run reading
/// the one before, `head` reading whatever it reads), rewiring every reference: `j` reads
/// `head`'s input, `head` reads `j`, and the readers of `j` (steps and outputs) read the last step
/// of the run. Returns the new steps (with their indices renumbered) and outputs.
fn move_ahead(steps: &[Step], outputs: &[usize], head: usize, j: usize) -> (Vec<Step>, Vec<usize>) {
    let head_input = steps[head].inputs.clone();
    let mut order: Vec<usize> = (0..steps.len()).collect();
    let moved = order.remove(j);
    order.insert(head, moved);
    let mut position = vec![0usize; order.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let remap = |s: &Source, me: usize| -> Source {
        match s {
            Source::Step(k) if *k == j && me != head => Source::Step(position[j - 1]),
            Source::Step(k) => Source::Step(position[*k]),
            other => other.clone(),
        }
    };
    let mut out = Vec::with_capacity(steps.len());
    for &old in &order {
        let mut s = steps[old].clone();
        s.inputs = if old == j {
            head_input.iter().map(|x| remap(x, old)).collect()
        } else if old == head {
            vec![Source::Step(position[j])]
        } else {
            s.inputs.iter().map(|x| remap(x, old)).collect()
        };
        s.index = out.len();
        out.push(s);
    }
    let outputs = outputs.iter().map(|&o| if o == j { position[j - 1] } else { position[o] }).collect();
    (out, outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(effect: &str, inputs: Vec<Source>) -> Step {
        Step {
            index: 0,
            id: None,
            effect: effect.into(),
            params: Vec::new(),
            enabled: true,
            inputs,
            quality: None,
            seed: 0,
        }
    }

    #[test]
    fn moving_a_shrink_ahead_of_its_point_run_rewires_every_reader() {
        use Source::{Input, Step as S};
        // input -> a -> b -> resize -> c, and d also reads resize; outputs: c and resize.
        let steps = vec![
            step("a", vec![Input("input".into())]),
            step("b", vec![S(0)]),
            step("resize", vec![S(1)]),
            step("c", vec![S(2)]),
            step("d", vec![S(2), S(0)]),
        ];
        let (out, outputs) = move_ahead(&steps, &[3, 2], 0, 2);
        let names: Vec<&str> = out.iter().map(|s| s.effect.as_str()).collect();
        assert_eq!(names, ["resize", "a", "b", "c", "d"]);
        assert_eq!(out.iter().map(|s| s.index).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(out[0].inputs, [Input("input".into())], "resize reads what the run read");
        assert_eq!(out[1].inputs, [S(0)], "the run's head reads resize");
        assert_eq!(out[2].inputs, [S(1)]);
        assert_eq!(out[3].inputs, [S(2)], "a reader of resize reads the run's end");
        assert_eq!(out[4].inputs, [S(2), S(1)], "other references follow their step");
        assert_eq!(outputs, [3, 2]);
    }
}
