// The fxchain preview page: controls from each step's parameter schema, live updates over
// server-sent events. Everything is served by `fxchain watch --serve`; nothing is fetched from
// elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { steps: [], mode: "fast", view: null, seq: 0, render: null, lastTimes: {} };
// Read by the browser tests and the latency script: every image shown, with when.
window.fxchain = { shown: [], received: [], failures: [], state };

async function api(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) log("failure", data.error || `${path}: ${r.status}`);
  return r.ok;
}

function log(kind, text) {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  const ol = $("log");
  ol.prepend(li);
  while (ol.children.length > 60) ol.lastChild.remove();
}

function fmtMs(ms) {
  if (ms == null) return "";
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

// Sends parameter changes one at a time; a change made while one is in flight replaces any
// change still waiting, so dragging a slider never queues up stale values.
const pending = new Map();
let sending = false;
async function sendParam(step, param, value) {
  pending.set(`${step}/${param}`, { step, param, value });
  if (sending) return;
  sending = true;
  while (pending.size) {
    const [key, body] = pending.entries().next().value;
    pending.delete(key);
    await api("/api/param", body);
  }
  sending = false;
}

function control(step, p) {
  const row = document.createElement("div");
  row.className = "param" + (p.overridden ? " changed" : "");
  row.dataset.param = p.id;
  const label = document.createElement("label");
  label.textContent = p.id;
  label.title = (p.doc || p.id) + (p.unit ? ` (${p.unit})` : "");
  row.append(label);
  const changed = (value) => {
    row.classList.add("changed");
    sendParam(step.index, p.id, value);
  };
  if (p.kind === "float" || p.kind === "int") {
    // A slider for usable ranges; a number field for open or huge ones (1..65536 px).
    const bounded = p.min != null && p.max != null && p.max - p.min <= 1000;
    const input = document.createElement("input");
    input.type = bounded ? "range" : "number";
    if (p.min != null) input.min = p.min;
    if (p.max != null) input.max = p.max;
    // Floats move freely (a step would snap the chain's value to the slider's grid).
    input.step = p.kind === "int" ? 1 : "any";
    input.value = p.value;
    const val = document.createElement("span");
    val.className = "val";
    const show = () => {
      const v = Number(input.value);
      const text = p.kind === "int" ? String(v) : String(Number(v.toFixed(v >= 100 ? 1 : 3)));
      val.textContent = `${text}${p.unit ? " " + p.unit : ""}`;
    };
    show();
    input.addEventListener("input", () => {
      show();
      if (input.value !== "") changed(Number(input.value));
    });
    row.append(input, val);
  } else if (p.kind === "bool") {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.checked = !!p.value;
    input.addEventListener("change", () => changed(input.checked));
    row.append(input);
  } else if (p.kind === "enum") {
    const select = document.createElement("select");
    for (const c of p.choices) {
      const o = document.createElement("option");
      o.value = o.textContent = c;
      select.append(o);
    }
    select.value = p.value;
    select.addEventListener("change", () => changed(select.value));
    row.append(select);
  } else if (p.kind === "color") {
    const input = document.createElement("input");
    input.type = "color";
    const v = String(p.value || "#000000");
    const alpha = v.length === 9 ? v.slice(7) : "";
    input.value = v.slice(0, 7);
    const val = document.createElement("span");
    val.className = "val";
    val.textContent = v;
    input.addEventListener("input", () => {
      val.textContent = input.value + alpha;
      changed(input.value + alpha);
    });
    row.append(input, val);
  } else {
    const input = document.createElement("input");
    input.type = "text";
    input.value = p.value ?? "";
    input.addEventListener("change", () => changed(input.value));
    row.append(input);
  }
  return row;
}

function renderSteps() {
  const box = $("steps");
  box.replaceChildren();
  state.steps.forEach((s, i) => {
    const card = document.createElement("div");
    card.className = "step" + (s.enabled ? "" : " disabled") + (state.view === s.index ? " viewing" : "");
    card.dataset.step = s.index;
    const head = document.createElement("div");
    head.className = "step-head";
    const on = document.createElement("input");
    on.type = "checkbox";
    on.checked = s.enabled;
    on.title = "enabled";
    on.className = "enable";
    on.addEventListener("change", () => api("/api/enable", { step: s.index, enabled: on.checked }));
    const name = document.createElement("div");
    name.className = "name";
    name.title = "Show this step's result";
    name.innerHTML = `<b></b><small></small>`;
    name.querySelector("b").textContent = `${s.label} ${s.effect}`;
    name.querySelector("small").textContent = s.summary || "";
    name.addEventListener("click", () => showStep(s.index));
    const up = document.createElement("button");
    up.textContent = "↑";
    up.title = "Move up";
    up.className = "up";
    up.disabled = i === 0;
    up.addEventListener("click", () => api("/api/move", { from: i, to: i - 1 }));
    const down = document.createElement("button");
    down.textContent = "↓";
    down.title = "Move down";
    down.className = "down";
    down.disabled = i === state.steps.length - 1;
    down.addEventListener("click", () => api("/api/move", { from: i, to: i + 1 }));
    head.append(on, name, up, down);
    card.append(head);
    if (s.params.length) {
      const params = document.createElement("div");
      params.className = "params";
      for (const p of s.params) params.append(control(s, p));
      card.append(params);
    }
    box.append(card);
  });
}

let loads = 0;
function imageUrl() {
  // A URL of its own per load: the browser's image memory cache must never answer.
  const q = `seq=${state.seq}&n=${++loads}`;
  return state.view == null ? `/api/image?${q}` : `/api/step/${state.view}/image?${q}`;
}

function showImage() {
  const img = $("view");
  const seq = state.seq;
  const mode = state.render ? state.render.mode : "";
  const view = state.view;
  const next = new Image();
  next.onload = async () => {
    // Images arrive in any order: never go back to an older one.
    if (view !== state.view || seq < state.seq) return;
    img.src = next.src;
    await img.decode().catch(() => {});
    if (img.src !== next.src) return;
    fit();
    img.dataset.seq = seq;
    img.dataset.mode = mode;
    img.dataset.view = view == null ? "output" : `step${view}`;
    window.fxchain.shown.push({ seq, mode, view, at: Date.now() });
  };
  next.src = imageUrl();
  $("show-output").classList.toggle("active", view == null);
  const step = state.steps.find((s) => s.index === view);
  $("view-label").textContent = step ? `result of ${step.label} ${step.effect}` : "";
}

// Scales the image to the stage (up or down), keeping its aspect ratio.
function fit() {
  const img = $("view");
  const box = img.parentElement;
  if (!img.naturalWidth) return;
  const k = Math.min((box.clientWidth - 32) / img.naturalWidth, (box.clientHeight - 32) / img.naturalHeight);
  img.style.width = `${Math.max(1, Math.floor(img.naturalWidth * k))}px`;
  img.style.height = `${Math.max(1, Math.floor(img.naturalHeight * k))}px`;
  img.style.imageRendering = k >= 3 ? "pixelated" : "auto";
}
new ResizeObserver(fit).observe(document.querySelector(".canvas"));

function showStep(index) {
  state.view = state.view === index ? null : index;
  renderSteps();
  showImage();
}

function showRender(r) {
  window.fxchain.received.push({ seq: r.seq, mode: r.mode, at: Date.now() });
  if (r.seq < state.seq) return;
  state.render = r;
  state.seq = r.seq;
  $("error").hidden = true;
  showImage();
  $("image-info").textContent = `${r.width}×${r.height} · ${r.mode}`;
  const since = r.since_change_ms != null ? ` · <b>${fmtMs(r.since_change_ms)}</b> after the change` : "";
  const g = r.generations;
  $("summary").innerHTML =
    `<b>${r.mode}</b> in <b>${fmtMs(r.took_ms)}</b>${since}<br>` +
    `${r.cache_hits} of ${r.steps.length} steps from the cache · ${g.loaded} generations loaded, ` +
    `${g.in_use} in use (${(g.mapped_bytes / 1048576).toFixed(1)} MiB)`;
  const body = $("timings").querySelector("tbody");
  body.replaceChildren();
  for (const s of r.steps) {
    const tr = document.createElement("tr");
    const cell = (text, cls) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    };
    cell(s.label);
    cell(s.effect);
    cell(s.generation);
    if (s.skipped) cell("skipped");
    else if (s.cached) cell("cached", "cached");
    else cell(fmtMs(s.ms));
    if (!s.cached && !s.skipped && s.previous_ms != null) {
      const d = s.ms - s.previous_ms;
      cell(`${d >= 0 ? "+" : "−"}${fmtMs(Math.abs(d))}`, d < 0 ? "faster" : "slower");
    } else cell("");
    body.append(tr);
  }
  const ul = $("plugins");
  ul.replaceChildren();
  for (const p of r.plugins) {
    const li = document.createElement("li");
    li.innerHTML = `<b></b> <span></span>`;
    li.querySelector("b").textContent = p.name;
    li.querySelector("span").textContent = `${p.version} · generation ${p.generation}`;
    ul.append(li);
  }
}

function showFailure(f, quiet) {
  if (!quiet) window.fxchain.failures.push({ ...f, at: Date.now() });
  const text = f.diagnostics && f.diagnostics.length ? f.diagnostics.map((d) => d.snippet).join("\n") : f.message;
  $("error-text").textContent = text;
  $("error").hidden = false;
  if (quiet) return;
  for (const d of f.diagnostics || []) log("failure", `${d.location}: ${d.message}`);
  if (!(f.diagnostics || []).length) log("failure", f.message);
}

function renderModes(modes) {
  const box = $("modes");
  box.replaceChildren();
  for (const m of modes) {
    const b = document.createElement("button");
    b.textContent = m.name;
    b.dataset.mode = m.name;
    b.title = m.max ? `at most ${m.max} px, ${m.quality} variants` : "full size, the chain's quality";
    b.className = m.name === state.mode ? "active" : "";
    b.addEventListener("click", async () => {
      state.mode = m.name;
      renderModes(modes);
      await api("/api/mode", { mode: m.name });
    });
    box.append(b);
  }
}

async function loadState() {
  const s = await (await fetch("/api/state")).json();
  state.steps = s.steps || [];
  state.mode = s.mode;
  $("chain-path").textContent = s.chain;
  $("refine").checked = s.refine;
  renderModes(s.modes);
  renderSteps();
  if (s.render && s.render.seq && s.render.seq > state.seq) showRender(s.render);
  if (s.error) showFailure(s.error, true);
}

function connect() {
  const es = new EventSource("/api/events");
  es.addEventListener("render", (e) => showRender(JSON.parse(e.data)));
  es.addEventListener("failure", (e) => showFailure(JSON.parse(e.data)));
  es.addEventListener("reload", (e) => {
    const r = JSON.parse(e.data);
    log(r.kind, r.text);
    loadState();
  });
  es.addEventListener("file", () => loadState());
  es.addEventListener("state", () => loadState());
  es.onopen = () => loadState();
}

$("show-output").addEventListener("click", () => {
  state.view = null;
  renderSteps();
  showImage();
});
$("reset").addEventListener("click", () => api("/api/reset"));
$("write").addEventListener("click", async () => {
  if (await api("/api/write")) log("loaded", "parameters written to the chain");
});
$("refine").addEventListener("change", () => api("/api/mode", { mode: state.mode, refine: $("refine").checked }));
connect();
