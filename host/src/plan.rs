//! Planning a chain before any pixel is touched: which steps are needed, the variant and pixel
//! format of each node, fusion, the content keys of the result cache, and each effect prepared
//! by its plugin for the actual sizes; explaining a plan (`chain explain`) and the optional
//! reordering optimizer. The executor ([`crate::exec`], [`crate::stream`]) only executes plans.

use std::collections::HashMap;
use std::sync::Arc;

use abi_stable::std_types::{RSlice, RVec};
use fxchain_plugin_api::abi::{
    FrameMut, FrameRef, OpFacts, ParamValueNE, PrepareInfo, Prepared, PreparedOpBox, RenderCtx,
};
use fxchain_plugin_api::{point, Access, EffectKind, PixelFormat, PluginError, Size, Tier};

use crate::cache::Key;
use crate::chain::{Chain, Precision, Source, Step};
use crate::error::RunError;
use crate::frame::Frame;
use crate::io::fit_within;
use crate::loader::EffectInfo;
use crate::registry::Registry;

pub use crate::frame::{MAX_PIXELS, MAX_SIDE};

/// The effect that runs `step` under `quality`.
pub fn resolve_effect(registry: &Registry, step: &Step, quality: fxchain_plugin_api::Tier) -> Option<Arc<EffectInfo>> {
    let direct = registry.effect(&step.effect)?;
    if direct.variant_of.is_some() {
        // The chain names a variant explicitly: pin it.
        return Some(direct.clone());
    }
    registry.resolve(&step.effect, step.quality.unwrap_or(quality))
}

pub(crate) fn plugin_error(step: &Step, info: &EffectInfo, e: PluginError) -> RunError {
    RunError::Plugin {
        step: step.label(),
        effect: info.id.clone(),
        library: format!("{} {} ({})", info.library.name, info.library.version, info.library.path.display()),
        panicked: e.kind == fxchain_plugin_api::ErrorKind::PANICKED,
        message: crate::error::plugin_message(&e),
    }
}

/// An effect prepared by its plugin for one image, with the facts it declared (output size,
/// footprints, composable forms). Release it with [`PreparedStep::release`] after the last band,
/// so a panic while the plugin drops its state fails this image; dropping it without releasing
/// (on an error path) still runs the plugin's drop inside its guard.
pub struct PreparedStep {
    op: PreparedOpBox,
    /// What the plugin declared for this image.
    pub facts: OpFacts,
}

impl PreparedStep {
    /// Renders one band.
    pub(crate) fn render(
        &self,
        inputs: &[FrameRef<'_>],
        output: FrameMut<'_>,
        ctx: &RenderCtx,
    ) -> Result<(), PluginError> {
        self.op.render_band(RSlice::from_slice(inputs), output, ctx).into_result()
    }
    /// Drops the plugin's per-image state (inside the plugin's guard).
    pub fn release(mut self) -> Result<(), PluginError> {
        self.op.release().into_result()
    }
    /// The per-channel table of a composable point effect.
    pub fn table(&self) -> Option<&point::Table> {
        self.facts.table.as_slice().try_into().ok()
    }
    /// The colour matrix of a composable point effect.
    pub fn matrix(&self) -> Option<[[f32; 4]; 3]> {
        point::matrix_from_slice(&self.facts.matrix)
    }
}

/// Prepares `info` for inputs of `sizes`.
pub fn prepare(
    info: &EffectInfo,
    params: &[fxchain_plugin_api::ParamValue],
    sizes: &[Size],
    prep: &PrepareInfo,
) -> Result<PreparedStep, PluginError> {
    let module = info.library.module();
    let values: RVec<ParamValueNE> = params.iter().cloned().map(ParamValueNE::new).collect();
    let Prepared { op, facts } =
        (module.prepare())(info.index, values, sizes.iter().copied().collect(), prep).into_result()?;
    Ok(PreparedStep { op, facts })
}

/// Prepares one step and checks what it declared: an output size within the limits, one
/// footprint per input, a point effect keeping its size.
pub fn prepare_step(
    step: &Step,
    info: &EffectInfo,
    sizes: &[Size],
    prep: &PrepareInfo,
) -> Result<PreparedStep, RunError> {
    let prepared = prepare(info, &step.params, sizes, prep).map_err(|e| plugin_error(step, info, e))?;
    let bad = |message: String| RunError::BadPlan { step: step.label(), effect: info.id.clone(), message };
    let out = prepared.facts.output;
    if out.width == 0 || out.height == 0 || out.width > MAX_SIDE || out.height > MAX_SIDE || out.pixels() > MAX_PIXELS {
        return Err(bad(format!(
            "the plugin asks for a {}x{} output; each side must be in 1..={MAX_SIDE} and at most {MAX_PIXELS} pixels",
            out.width, out.height
        )));
    }
    if info.kind != EffectKind::GENERATOR && prepared.facts.footprints.len() != sizes.len() {
        return Err(bad(format!(
            "the plugin declared {} footprints for {} inputs",
            prepared.facts.footprints.len(),
            sizes.len()
        )));
    }
    if is_point(info) && sizes.first() != Some(&out) {
        return Err(bad(format!("a point effect must keep the size {:?}, it asks for {out:?}", sizes.first())));
    }
    Ok(prepared)
}

pub(crate) fn is_point(info: &EffectInfo) -> bool {
    info.access == Access::POINT && info.kind == EffectKind::FILTER
}

/// The cache key of every needed step (`None` for steps that are not cacheable: effects that are
/// not deterministic, and what reads them), from the keys of the chain's inputs. `chain explain`
/// and the executor both use this one function, so both report the same keys.
pub fn node_keys(
    chain: &Chain,
    needed: &[bool],
    nodes: &[Option<(Arc<EffectInfo>, PixelFormat)>],
    gen_size: Size,
    inputs: &HashMap<String, Key>,
) -> Vec<Option<Key>> {
    let mut keys: Vec<Option<Key>> = vec![None; chain.steps.len()];
    for (i, step) in chain.steps.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        let mut ins = Vec::new();
        let mut known = true;
        for s in &step.inputs {
            match s {
                Source::Input(name) => match inputs.get(name) {
                    Some(k) => ins.push(*k),
                    None => known = false,
                },
                Source::Step(j) => match keys[*j] {
                    Some(k) => ins.push(k),
                    None => known = false,
                },
            }
        }
        keys[i] = match &nodes[i] {
            _ if !known => None,
            None => ins.first().copied(),
            Some((info, format)) if info.deterministic => Some(node_key(step, info, *format, gen_size, &ins)),
            Some(_) => None,
        };
    }
    keys
}

/// A key as hexadecimal text.
pub fn hex(key: Key) -> String {
    blake3::Hash::from(key).to_hex().to_string()
}

/// The key a chain input gets when only its name and size are known (`chain explain` without the
/// file): results computed from it are never looked up under it.
pub fn input_key_from_size(name: &str, size: Size) -> Key {
    *blake3::hash(format!("input {name} {}x{}", size.width, size.height).as_bytes()).as_bytes()
}

/// The cache key of a step from its effect, parameters and the keys of its inputs.
fn node_key(step: &Step, info: &EffectInfo, format: PixelFormat, gen_size: Size, inputs: &[Key]) -> Key {
    let mut h = blake3::Hasher::new();
    h.update(info.id.as_bytes());
    h.update(info.library.content_hash.as_bytes());
    h.update(&info.library.generation.to_le_bytes());
    h.update(format!("{:?}", step.params).as_bytes());
    h.update(&[format.0]);
    h.update(&step.seed.to_le_bytes());
    if info.kind == EffectKind::GENERATOR {
        h.update(&gen_size.width.to_le_bytes());
        h.update(&gen_size.height.to_le_bytes());
    }
    for k in inputs {
        h.update(k);
    }
    *h.finalize().as_bytes()
}

/// What the executor will do, decided before any pixel is touched.
pub struct Plan {
    /// Steps some output depends on.
    pub needed: Vec<bool>,
    /// How many needed steps (and outputs) read each step's result.
    pub readers: Vec<usize>,
    /// For each needed, enabled step: the effect (variant resolved) and the pixel format.
    pub nodes: Vec<Option<(Arc<EffectInfo>, PixelFormat)>>,
    /// Steps rendered in the same band pass as the next step.
    pub fused_with_next: Vec<bool>,
}

impl Plan {
    /// Plans `chain`: needed steps, variants, formats and fusion.
    pub fn new(
        chain: &Chain,
        registry: &Registry,
        quality: fxchain_plugin_api::Tier,
        preferred: PixelFormat,
        fuse: bool,
    ) -> Result<Plan, RunError> {
        let n = chain.steps.len();
        let mut needed = vec![false; n];
        let mut readers = vec![0usize; n];
        let mut stack: Vec<usize> = chain.outputs.clone();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut needed[i], true) {
                continue;
            }
            for s in &chain.steps[i].inputs {
                if let Source::Step(j) = s {
                    stack.push(*j);
                }
            }
        }
        for (i, step) in chain.steps.iter().enumerate() {
            if needed[i] {
                for s in &step.inputs {
                    if let Source::Step(j) = s {
                        readers[*j] += 1;
                    }
                }
            }
        }
        for &o in &chain.outputs {
            readers[o] += 1;
        }
        let mut nodes: Vec<Option<(Arc<EffectInfo>, PixelFormat)>> = vec![None; n];
        for (i, step) in chain.steps.iter().enumerate() {
            if needed[i] && step.enabled {
                let info = resolve_effect(registry, step, quality).ok_or_else(|| RunError::BadPlan {
                    step: step.label(),
                    effect: step.effect.clone(),
                    message: "the effect is no longer loaded".into(),
                })?;
                let format = info.pick_format(preferred);
                nodes[i] = Some((info, format));
            }
        }
        let is_point = |i: usize| {
            nodes[i].as_ref().is_some_and(|(e, _)| e.access == Access::POINT && e.kind == EffectKind::FILTER)
        };
        // Fusion: a point step joins the one before it when it is that step's only reader.
        let mut fused_with_next = vec![false; n];
        if fuse {
            for (j, step) in chain.steps.iter().enumerate() {
                if let [Source::Step(i)] = step.inputs.as_slice() {
                    let i = *i;
                    if j == i + 1
                        && is_point(i)
                        && is_point(j)
                        && readers[i] == 1
                        && !chain.outputs.contains(&i)
                        && nodes[i].as_ref().map(|p| p.1) == nodes[j].as_ref().map(|p| p.1)
                    {
                        fused_with_next[i] = true;
                    }
                }
            }
        }
        Ok(Plan { needed, readers, nodes, fused_with_next })
    }
}

/// Scales `frames` (and the chain's generator size) down so the larger side is at most `max`.
/// Parameters in pixels (blur sigma, offsets) are not scaled.
pub fn shrink_for_preview(chain: &mut Chain, frames: &mut HashMap<String, Arc<Frame>>, max: u32) {
    let max = max.max(1);
    for f in frames.values_mut() {
        if f.size().width.max(f.size().height) > max {
            *f = Arc::new(fit_within(f, max));
        }
    }
    chain.size = chain.size.map(|s| fit_size(s, max));
}

/// `s` scaled down (never up) so its larger side is at most `max`.
pub(crate) fn fit_size(s: Size, max: u32) -> Size {
    let k = (max as f64 / s.width.max(s.height) as f64).min(1.0);
    Size::new(((s.width as f64 * k).round() as u32).max(1), ((s.height as f64 * k).round() as u32).max(1))
}

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
    input_keys: &HashMap<String, Key>,
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
        all_keys.entry(name.clone()).or_insert_with(|| input_key_from_size(name, *size));
    }
    let keys = node_keys(chain, &plan.needed, &plan.nodes, gen_size, &all_keys);
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
        let key = keys[i].map(hex);
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
    fn preview_sizes_shrink_and_never_grow() {
        assert_eq!(fit_size(Size::new(1024, 512), 300), Size::new(300, 150));
        assert_eq!(fit_size(Size::new(400, 1000), 500), Size::new(200, 500));
        assert_eq!(fit_size(Size::new(160, 120), 300), Size::new(160, 120));
        assert_eq!(fit_size(Size::new(5000, 1), 300), Size::new(300, 1));
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
