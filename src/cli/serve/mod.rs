//! The live preview page of `fxchain watch --serve`: a small local HTTP server (axum on tokio)
//! with the page embedded in the binary, server-sent events for renders, reloads and errors, and
//! a render thread that coalesces changes. Rendering, overrides, preview modes and chain edits
//! are the host's ([`fxchain_host::session`], [`fxchain_host::chain::edit`]); this module only
//! translates between them and the page.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fxchain_host::api::{ParamKind, ParamValue};
use fxchain_host::chain::edit::{self, EditError};
use fxchain_host::chain::syntax::Lit;
use fxchain_host::chain::{Chain, Override};
use fxchain_host::reload::ReloadEvent;
use fxchain_host::session::{PreviewMode, RenderRequest, Rendered, Session, SessionError};
use fxchain_host::{Frame, Registry};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use super::report;
use super::watch::{print_failure, print_render, write_output};

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// Parses `PORT`, `HOST` or `HOST:PORT` (`HOST` alone gets a free port).
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    let with_port = if text.contains(':') { text.to_string() } else { format!("{text}:0") };
    with_port
        .to_socket_addrs()
        .map_err(|e| format!("`{text}` is not an address ({e}); give PORT, HOST or HOST:PORT"))?
        .next()
        .ok_or_else(|| format!("`{text}` resolves to no address"))
}

/// What the page asked for: overrides (by step index and parameter) and the preview mode.
struct Control {
    overrides: BTreeMap<(usize, String), Lit>,
    mode: PreviewMode,
    /// Follow a quick preview with a full render.
    refine: bool,
    /// Bumped by every change; the render thread renders the newest only.
    request: u64,
    /// A change made on the page is waiting: render it in the page's mode first. Changes of
    /// files and plugins render at full size directly (the output file is written sooner).
    quick: bool,
    changed_at: Option<Instant>,
}

impl Control {
    fn overrides(&self) -> Vec<Override> {
        self.overrides
            .iter()
            .map(|((step, param), value)| Override {
                step: (step + 1).to_string(),
                param: param.clone(),
                value: value.clone(),
            })
            .collect()
    }
}

/// The last good image and what the page shows about it.
#[derive(Default)]
struct Latest {
    seq: u64,
    png: Vec<u8>,
    info: Value,
    /// The steps and their controls, from the last chain that validated.
    steps: Value,
    error: Option<Value>,
}

struct Shared {
    session: Arc<Session>,
    output: Option<PathBuf>,
    control: Mutex<Control>,
    wake: Condvar,
    latest: Mutex<Latest>,
    /// Parameter types by (step, parameter), to type the page's values.
    kinds: Mutex<BTreeMap<(usize, String), ParamKind>>,
    events: tokio::sync::broadcast::Sender<(&'static str, String)>,
}

/// A running preview server.
pub struct Server {
    shared: Arc<Shared>,
}

/// Starts the server on `addr` and its render thread; prints the page's address.
pub fn start(addr: &str, session: Arc<Session>, output: Option<PathBuf>) -> Result<Server, String> {
    let addr = parse_addr(addr)?;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let (events, _) = tokio::sync::broadcast::channel(256);
    let shared = Arc::new(Shared {
        session,
        output,
        control: Mutex::new(Control {
            overrides: BTreeMap::new(),
            mode: PreviewMode::Fast,
            refine: true,
            request: 0,
            quick: false,
            changed_at: None,
        }),
        wake: Condvar::new(),
        latest: Mutex::default(),
        kinds: Mutex::default(),
        events,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("fxchain-serve")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let app = router(shared.clone());
    std::thread::Builder::new()
        .name("fxchain-serve".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return eprintln!("error: preview server: {e}"),
                };
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("error: preview server: {e}");
                }
            })
        })
        .map_err(|e| e.to_string())?;
    {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("fxchain-preview".into())
            .spawn(move || render_loop(&shared))
            .map_err(|e| e.to_string())?;
    }
    eprintln!("preview page: http://{local}/");
    Ok(Server { shared })
}

impl Server {
    /// Asks for a render of the current state (a file or plugin changed at `changed_at`).
    pub fn request_render(&self, changed_at: Option<Instant>) {
        self.shared.request(changed_at.or(Some(Instant::now())), false);
    }

    /// Tells the page about a reload event.
    pub fn reload_event(&self, e: &ReloadEvent) {
        let kind = match e {
            ReloadEvent::Loaded { .. } => "loaded",
            ReloadEvent::Replaced { .. } => "replaced",
            ReloadEvent::Rejected { .. } => "rejected",
            ReloadEvent::Retired { .. } => "retired",
            ReloadEvent::Unchanged { .. } => return,
        };
        self.shared.send("reload", json!({ "kind": kind, "text": e.to_string() }));
    }

    /// Tells the page a watched file changed (the chain's steps may have changed).
    pub fn file_changed(&self, path: &Path) {
        self.shared.send("file", json!({ "path": path.display().to_string() }));
    }
}

impl Shared {
    fn send(&self, event: &'static str, data: Value) {
        let _ = self.events.send((event, data.to_string()));
    }

    fn request(&self, changed_at: Option<Instant>, quick: bool) {
        let mut c = self.control.lock().unwrap_or_else(|e| e.into_inner());
        c.request += 1;
        c.quick |= quick;
        if c.changed_at.is_none() {
            c.changed_at = changed_at;
        }
        self.wake.notify_all();
    }

    /// The newest request, taken: its id, what to render, whether to refine, when it changed.
    fn take_request(&self) -> (u64, RenderRequest, bool, Option<Instant>) {
        let mut c = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let mode = if c.quick { c.mode } else { PreviewMode::Full };
        let taken = (c.request, RenderRequest { overrides: c.overrides(), mode, step: None }, c.refine, c.changed_at);
        c.quick = false;
        c.changed_at = None;
        taken
    }

    fn newer_than(&self, request: u64) -> bool {
        self.control.lock().unwrap_or_else(|e| e.into_inner()).request != request
    }
}

/// Renders the newest request, then (for a quick mode) the full render, unless a newer change
/// arrived meanwhile: changes that come faster than renders are coalesced. Only changes made on
/// the page get the quick preview first.
fn render_loop(shared: &Shared) {
    let mut done = 0u64;
    // What the last full render shown depended on: a change that leads back to it (a save
    // without changes, a mode switch) renders nothing.
    let mut shown: Option<String> = None;
    loop {
        {
            let mut c = shared.control.lock().unwrap_or_else(|e| e.into_inner());
            while c.request == done {
                c = shared.wake.wait(c).unwrap_or_else(|e| e.into_inner());
            }
        }
        let (id, request, refine, changed_at) = shared.take_request();
        done = id;
        let fingerprint = shared.session.fingerprint(&request.overrides);
        if shown.as_ref() == Some(&fingerprint) {
            continue;
        }
        shown = None;
        let quick = request.mode != PreviewMode::Full;
        if !render_once(shared, &request, changed_at) {
            continue;
        }
        if !quick {
            shown = Some(fingerprint);
            continue;
        }
        if !refine || shared.newer_than(id) {
            continue;
        }
        let full = RenderRequest { mode: PreviewMode::Full, ..request };
        if render_once(shared, &full, changed_at) {
            shown = Some(fingerprint);
        }
    }
}

/// One render, published to the page; false when it failed.
fn render_once(shared: &Shared, request: &RenderRequest, changed_at: Option<Instant>) -> bool {
    match shared.session.render(request) {
        Ok(r) => {
            // The output file and the page's image are encoded side by side.
            std::thread::scope(|scope| {
                if r.mode == PreviewMode::Full {
                    scope.spawn(|| {
                        if let Some(out) = &shared.output {
                            if let Err(e) = write_output(&r, out) {
                                eprintln!("error: {e}");
                            }
                        }
                        print_render(
                            &r,
                            shared.output.as_deref(),
                            changed_at.map(|t| t.elapsed()),
                            shared.session.live(),
                        );
                    });
                }
                publish(shared, &r, request, changed_at);
            });
            true
        }
        Err(e) => {
            print_failure(&e);
            let error = failure_json(&e);
            shared.latest.lock().unwrap_or_else(|e| e.into_inner()).error = Some(error.clone());
            shared.send("failure", error);
            false
        }
    }
}

fn failure_json(e: &SessionError) -> Value {
    match e {
        SessionError::Chain(c) => {
            let diagnostics: Vec<Value> = c
                .diagnostics()
                .iter()
                .map(|d| {
                    json!({
                        "location": d.location(),
                        "line": d.span.map(|s| s.start.line),
                        "col": d.span.map(|s| s.start.col),
                        "message": d.message,
                        "help": d.help,
                        "snippet": report::diagnostic_text(d, false),
                    })
                })
                .collect();
            json!({ "kind": "chain", "message": c.to_string(), "diagnostics": diagnostics })
        }
        SessionError::Render(m) => json!({ "kind": "render", "message": m, "diagnostics": [] }),
    }
}

fn encode_png(frame: &Frame) -> Vec<u8> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let s = frame.size();
    let mut out = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub);
    if let Err(e) = encoder.write_image(&frame.to_rgba8_vec(), s.width, s.height, image::ExtendedColorType::Rgba8) {
        tracing::warn!("preview encoding failed: {e}");
    }
    out
}

fn publish(shared: &Shared, r: &Rendered, request: &RenderRequest, changed_at: Option<Instant>) {
    let png = encode_png(&r.image);
    let steps = steps_json(&r.chain, &r.registry, &request.overrides, shared);
    let stats = shared.session.live().generation_stats();
    let cache = shared.session.cache().stats();
    let plugins: Vec<Value> = r
        .registry
        .libraries()
        .iter()
        .map(|l| json!({ "name": l.name, "version": l.version, "generation": l.generation }))
        .collect();
    let timings: Vec<Value> = r
        .steps
        .iter()
        .map(|s| {
            json!({
                "label": s.label,
                "effect": s.effect,
                "generation": s.generation,
                "ms": s.time.as_secs_f64() * 1e3,
                "previous_ms": s.previous.map(|p| p.as_secs_f64() * 1e3),
                "cached": s.cached,
                "skipped": s.skipped,
            })
        })
        .collect();
    let mut latest = shared.latest.lock().unwrap_or_else(|e| e.into_inner());
    latest.seq += 1;
    let info = json!({
        "seq": latest.seq,
        "mode": r.mode.name(),
        "width": r.image.size().width,
        "height": r.image.size().height,
        "took_ms": r.took.as_secs_f64() * 1e3,
        "since_change_ms": changed_at.map(|t| t.elapsed().as_secs_f64() * 1e3),
        "steps": timings,
        "cache_hits": r.steps.iter().filter(|s| s.cached).count(),
        "cache": { "hits": cache.hits, "misses": cache.misses, "bytes": cache.bytes },
        "plugins": plugins,
        "generations": { "loaded": stats.loaded, "in_use": stats.in_use, "mapped_bytes": stats.mapped_bytes },
    });
    latest.png = png;
    latest.info = info.clone();
    latest.steps = steps;
    latest.error = None;
    drop(latest);
    shared.send("render", info);
}

fn hex(c: [f32; 4]) -> String {
    let b = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    if b(c[3]) == 255 {
        format!("#{:02x}{:02x}{:02x}", b(c[0]), b(c[1]), b(c[2]))
    } else {
        format!("#{:02x}{:02x}{:02x}{:02x}", b(c[0]), b(c[1]), b(c[2]), b(c[3]))
    }
}

fn value_json(v: &ParamValue, choices: &[String]) -> Value {
    match v {
        ParamValue::Float(x) => json!(x),
        ParamValue::Int(i) => json!(i),
        ParamValue::Bool(b) => json!(b),
        ParamValue::Color(c) => json!(hex(*c)),
        ParamValue::Enum(i) => json!(choices.get(*i as usize)),
        ParamValue::Text(t) => json!(t.as_str()),
        _ => Value::Null,
    }
}

/// Each step with the controls its parameter schema calls for.
fn steps_json(chain: &Chain, registry: &Registry, overrides: &[Override], shared: &Shared) -> Value {
    let mut kinds = BTreeMap::new();
    let steps: Vec<Value> = chain
        .steps
        .iter()
        .map(|s| {
            let effect = registry.effect(&s.effect);
            let params: Vec<Value> = effect
                .map(|e| {
                    e.params
                        .iter()
                        .zip(&s.params)
                        .map(|(p, v)| {
                            kinds.insert((s.index, p.id.clone()), p.kind);
                            let finite = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
                            json!({
                                "id": p.id,
                                "kind": p.kind.name().unwrap_or("unknown"),
                                "min": finite(p.min),
                                "max": finite(p.max),
                                "unit": p.unit,
                                "choices": p.choices,
                                "doc": p.doc,
                                "value": value_json(v, &p.choices),
                                "default": value_json(&p.default, &p.choices),
                                "overridden": overrides.iter().any(|o| o.step == (s.index + 1).to_string() && o.param == p.id),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "index": s.index,
                "label": s.label(),
                "id": s.id,
                "effect": s.effect,
                "summary": effect.map(|e| e.summary.clone()),
                "enabled": s.enabled,
                "params": params,
            })
        })
        .collect();
    *shared.kinds.lock().unwrap_or_else(|e| e.into_inner()) = kinds;
    Value::Array(steps)
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX_HTML) }))
        .route("/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_JS) }))
        .route("/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE_CSS) }))
        .route("/api/state", get(state))
        .route("/api/events", get(events))
        .route("/api/image", get(image))
        .route("/api/step/{index}/image", get(step_image))
        .route("/api/param", post(set_param))
        .route("/api/reset", post(reset))
        .route("/api/mode", post(set_mode))
        .route("/api/write", post(write_chain))
        .route("/api/enable", post(enable))
        .route("/api/move", post(move_step))
        .with_state(shared)
}

async fn state(State(s): State<Arc<Shared>>) -> Json<Value> {
    // Steps come from the chain as it is now when it validates, else from the last good render.
    let shared = s.clone();
    let fresh = tokio::task::spawn_blocking(move || {
        let overrides = shared.control.lock().unwrap_or_else(|e| e.into_inner()).overrides();
        shared.session.validate(&overrides).map(|(c, r)| steps_json(&c, &r, &overrides, &shared))
    })
    .await
    .ok()
    .and_then(Result::ok);
    let c = s.control.lock().unwrap_or_else(|e| e.into_inner());
    let overrides: Vec<Value> = c
        .overrides
        .iter()
        .map(|((step, param), v)| json!({ "step": step, "param": param, "value": v.to_string() }))
        .collect();
    let (mode, refine) = (c.mode.name(), c.refine);
    drop(c);
    let latest = s.latest.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!({
        "chain": s.session.chain_path().display().to_string(),
        "mode": mode,
        "refine": refine,
        "modes": PreviewMode::ALL.iter().map(|m| json!({
            "name": m.name(),
            "max": m.max_dimension(),
            "quality": m.quality().and_then(|q| q.name()),
        })).collect::<Vec<_>>(),
        "overrides": overrides,
        "steps": fresh.unwrap_or_else(|| latest.steps.clone()),
        "render": latest.info,
        "error": latest.error,
    }))
}

async fn events(State(s): State<Arc<Shared>>) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(s.events.subscribe())
        .filter_map(|m| m.ok().map(|(name, data)| Ok(Event::default().event(name).data(data))));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn png_response(png: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response()
}

async fn image(State(s): State<Arc<Shared>>) -> Response {
    let png = s.latest.lock().unwrap_or_else(|e| e.into_inner()).png.clone();
    if png.is_empty() {
        return (StatusCode::NOT_FOUND, "nothing rendered yet").into_response();
    }
    png_response(png)
}

#[derive(Deserialize)]
struct StepImageQuery {
    mode: Option<String>,
}

/// A step's intermediate result, with the current overrides and mode (mostly cache hits).
async fn step_image(
    State(s): State<Arc<Shared>>,
    UrlPath(index): UrlPath<usize>,
    Query(q): Query<StepImageQuery>,
) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        let c = s.control.lock().unwrap_or_else(|e| e.into_inner());
        let mode = q.mode.as_deref().and_then(PreviewMode::from_name).unwrap_or(c.mode);
        let request = RenderRequest { overrides: c.overrides(), mode, step: Some(index) };
        drop(c);
        s.session.render(&request).map(|r| encode_png(&r.image))
    })
    .await;
    match result {
        Ok(Ok(png)) => png_response(png),
        Ok(Err(e)) => (StatusCode::CONFLICT, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct ParamBody {
    step: usize,
    param: String,
    value: Value,
}

/// A value from the page as a chain literal of the parameter's type.
fn lit_of(value: &Value, kind: Option<ParamKind>) -> Result<Lit, String> {
    Ok(match value {
        Value::Bool(b) => Lit::Bool(*b),
        Value::Number(n) => match (kind, n.as_i64()) {
            (Some(ParamKind::INT), Some(i)) => Lit::Int(i),
            (Some(ParamKind::INT), None) => Lit::Int(n.as_f64().unwrap_or(0.0).round() as i64),
            (None, Some(i)) => Lit::Int(i),
            _ => Lit::Float(n.as_f64().ok_or("not a number")?),
        },
        Value::String(t) => Lit::Str(t.clone()),
        Value::Array(v) => {
            Lit::List(v.iter().map(|x| x.as_f64().ok_or("a list of numbers")).collect::<Result<_, _>>()?)
        }
        _ => return Err("expected a number, bool, string or list".into()),
    })
}

fn bad(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message.into() }))).into_response()
}

fn ok() -> Response {
    Json(json!({ "ok": true })).into_response()
}

/// Sets an override (the same as `--set STEP.PARAM=VALUE`) and renders.
async fn set_param(State(s): State<Arc<Shared>>, Json(b): Json<ParamBody>) -> Response {
    let kind = s.kinds.lock().unwrap_or_else(|e| e.into_inner()).get(&(b.step, b.param.clone())).copied();
    let lit = match lit_of(&b.value, kind) {
        Ok(l) => l,
        Err(e) => return bad(format!("{}: {e}", b.param)),
    };
    s.control.lock().unwrap_or_else(|e| e.into_inner()).overrides.insert((b.step, b.param), lit);
    s.request(Some(Instant::now()), true);
    ok()
}

async fn reset(State(s): State<Arc<Shared>>) -> Response {
    s.control.lock().unwrap_or_else(|e| e.into_inner()).overrides.clear();
    s.request(Some(Instant::now()), true);
    s.send("state", json!({}));
    ok()
}

#[derive(Deserialize)]
struct ModeBody {
    mode: String,
    refine: Option<bool>,
}

async fn set_mode(State(s): State<Arc<Shared>>, Json(b): Json<ModeBody>) -> Response {
    let Some(mode) = PreviewMode::from_name(&b.mode) else { return bad(format!("unknown mode `{}`", b.mode)) };
    {
        let mut c = s.control.lock().unwrap_or_else(|e| e.into_inner());
        c.mode = mode;
        if let Some(r) = b.refine {
            c.refine = r;
        }
    }
    s.request(Some(Instant::now()), true);
    ok()
}

/// Runs a chain edit on the file (validated before it is written); the file watcher renders.
async fn edit_chain(s: Arc<Shared>, f: impl FnOnce(&str) -> Result<String, EditError> + Send + 'static) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        let registry = s.session.live().snapshot();
        edit::edit_file(s.session.chain_path(), &registry, f)
    })
    .await;
    match result {
        Ok(Ok(_)) => ok(),
        Ok(Err(e)) => bad(e.to_string()),
        Err(e) => bad(e.to_string()),
    }
}

/// Writes the overrides into the chain file, keeping its comments and layout.
async fn write_chain(State(s): State<Arc<Shared>>) -> Response {
    let overrides: Vec<((usize, String), Lit)> = {
        let c = s.control.lock().unwrap_or_else(|e| e.into_inner());
        c.overrides.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    if overrides.is_empty() {
        return ok();
    }
    let written = overrides.clone();
    let response = edit_chain(s.clone(), move |text| {
        let mut text = text.to_string();
        for ((step, param), value) in &written {
            text = edit::set_param(&text, *step, param, value)?;
        }
        Ok(text)
    })
    .await;
    if response.status().is_success() {
        let mut c = s.control.lock().unwrap_or_else(|e| e.into_inner());
        for (k, v) in overrides {
            if c.overrides.get(&k) == Some(&v) {
                c.overrides.remove(&k);
            }
        }
        drop(c);
        s.send("state", json!({}));
    }
    response
}

#[derive(Deserialize)]
struct EnableBody {
    step: usize,
    enabled: bool,
}

async fn enable(State(s): State<Arc<Shared>>, Json(b): Json<EnableBody>) -> Response {
    edit_chain(s, move |t| edit::set_enabled(t, b.step, b.enabled)).await
}

#[derive(Deserialize)]
struct MoveBody {
    from: usize,
    to: usize,
}

async fn move_step(State(s): State<Arc<Shared>>, Json(b): Json<MoveBody>) -> Response {
    let response = edit_chain(s.clone(), move |t| edit::move_step(t, b.from, b.to)).await;
    if response.status().is_success() {
        // Overrides follow their step to its new position.
        let mut c = s.control.lock().unwrap_or_else(|e| e.into_inner());
        let moved = std::mem::take(&mut c.overrides);
        c.overrides = moved.into_iter().map(|((i, p), v)| ((moved_index(i, b.from, b.to), p), v)).collect();
    }
    response
}

/// Where the step at `i` ends up when the step at `from` moves to `to`.
fn moved_index(i: usize, from: usize, to: usize) -> usize {
    if i == from {
        to
    } else if from < to && i > from && i <= to {
        i - 1
    } else if to < from && i >= to && i < from {
        i + 1
    } else {
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_addr("8123").unwrap(), "127.0.0.1:8123".parse().unwrap());
        assert_eq!(parse_addr("127.0.0.1:0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(parse_addr("0.0.0.0").unwrap(), "0.0.0.0:0".parse().unwrap());
        assert!(parse_addr("no such host name.invalid").is_err());
    }

    #[test]
    fn overrides_follow_a_moved_step() {
        // Steps a b c d; b (1) moves to 3: a c d b.
        assert_eq!([0, 1, 2, 3].map(|i| moved_index(i, 1, 3)), [0, 3, 1, 2]);
        // d (3) moves to 0: d a b c.
        assert_eq!([0, 1, 2, 3].map(|i| moved_index(i, 3, 0)), [1, 2, 3, 0]);
    }

    #[test]
    fn page_values_become_typed_literals() {
        assert_eq!(lit_of(&json!(2), Some(ParamKind::FLOAT)).unwrap(), Lit::Float(2.0));
        assert_eq!(lit_of(&json!(2.6), Some(ParamKind::INT)).unwrap(), Lit::Int(3));
        assert_eq!(lit_of(&json!("#ff8800"), Some(ParamKind::COLOR)).unwrap(), Lit::Str("#ff8800".into()));
        assert_eq!(lit_of(&json!(true), Some(ParamKind::BOOL)).unwrap(), Lit::Bool(true));
        assert_eq!(hex([1.0, 0.5, 0.0, 1.0]), "#ff8000");
    }
}
