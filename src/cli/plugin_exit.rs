//! A plugin that ends the process with `exit` in the middle of a render must not look like
//! success: an exit handler, armed while a render is in progress, says which images and steps
//! were running and ends the process with [`exit::PLUGIN_EXIT`](super::exit::PLUGIN_EXIT).
//!
//! The steps in flight come from the engine's `step` and `image` tracing spans, recorded by a
//! small layer; the library of each effect from the registry the command loaded.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::exit;

/// Renders in progress (a `run` render, or a whole batch).
static RENDERING: AtomicUsize = AtomicUsize::new(0);
/// Set when fxchain itself ends the process (a second Ctrl-C), which is no plugin's doing.
static OWN_EXIT: AtomicBool = AtomicBool::new(false);
/// Spans entered right now: span id → "image a.png" / "step #2 (blur.box)".
static ACTIVE: Mutex<BTreeMap<u64, String>> = Mutex::new(BTreeMap::new());
/// Set in a worker process: every step entered is reported on stderr for the host.
static MARK_STEPS: AtomicBool = AtomicBool::new(false);
/// Effect id → "name version (path)" of the library that exports it.
static LIBRARIES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();

/// Marks a render in progress while it lives.
pub struct Rendering(());

impl Rendering {
    /// Arms the exit handler until the value is dropped.
    pub fn begin() -> Rendering {
        RENDERING.fetch_add(1, Ordering::SeqCst);
        Rendering(())
    }
}

impl Drop for Rendering {
    fn drop(&mut self) {
        RENDERING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ends the process with `code` on fxchain's own behalf (the handler stays quiet).
pub fn exit_now(code: i32) -> ! {
    OWN_EXIT.store(true, Ordering::SeqCst);
    std::process::exit(code)
}

/// Reports every step entered on stderr, as a line starting with
/// [`fxchain_host::isolate::STEP_MARK`] (worker mode).
pub fn mark_steps() {
    MARK_STEPS.store(true, Ordering::SeqCst);
}

/// Remembers which library exports each effect, for the message.
pub fn remember_libraries(registry: &fxchain_host::Registry) {
    let map = LIBRARIES.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    for e in registry.all() {
        let l = &e.library;
        map.insert(e.id.clone(), format!("{} {} ({})", l.name, l.version, l.path.display()));
    }
}

fn describe() -> String {
    let active = ACTIVE.try_lock().map(|a| a.values().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let libraries = LIBRARIES.get().and_then(|m| m.try_lock().ok());
    let mut out = String::new();
    for a in &active {
        let _ = write!(out, "\n  in {a}");
        if let Some(effect) = a.split_once(" (").map(|(_, e)| e.trim_end_matches(')')) {
            if let Some(lib) = libraries.as_ref().and_then(|m| m.get(effect).cloned()) {
                let _ = write!(out, ", from plugin {lib}");
            }
        }
    }
    if active.is_empty() {
        out.push_str("\n  (no step was being rendered at that moment)");
    }
    out
}

extern "C" fn on_exit() {
    if RENDERING.load(Ordering::SeqCst) == 0 || OWN_EXIT.load(Ordering::SeqCst) {
        return;
    }
    let msg = format!(
        "error: a plugin ended the process (it called exit) while rendering; work in flight is lost:{}\n",
        describe()
    );
    sys::write_stderr(msg.as_bytes());
    sys::exit_immediately(exit::PLUGIN_EXIT)
}

/// Registers the exit handler (once).
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| sys::at_exit(on_exit));
}

/// The only `unsafe` of the binary: three libc calls.
mod sys {
    /// Runs `f` when the process calls `exit`.
    pub fn at_exit(f: extern "C" fn()) {
        // SAFETY: `f` is a plain function with C linkage and no arguments, valid for the life of
        // the process, which is what `atexit` requires.
        let _ = unsafe { libc::atexit(f) };
    }

    /// Writes to file descriptor 2 directly: stderr's lock may be held by a thread that is
    /// stopped in the middle of `exit`.
    pub fn write_stderr(bytes: &[u8]) {
        // SAFETY: the pointer and length describe `bytes`, which outlives the call.
        let _ = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// Ends the process now with `code`, without running the remaining exit handlers (which
    /// would run plugin code again).
    pub fn exit_immediately(code: i32) -> ! {
        // SAFETY: `_exit` takes any status and never returns.
        unsafe { libc::_exit(code) }
    }
}

/// Records fields of the spans the layer is interested in.
#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        match field.name() {
            "step" | "path" => self.0.insert_str(0, &v),
            "effect" => {
                let _ = write!(self.0, " ({v})");
            }
            _ => {}
        }
    }
}

struct Description(String);

/// Only the engine's `image` and `step` spans.
fn wanted(meta: &tracing::Metadata<'_>) -> bool {
    meta.is_span() && meta.target().starts_with("fxchain") && matches!(meta.name(), "step" | "image")
}

struct Active;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Active {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        let what = format!("{} {}", attrs.metadata().name(), f.0);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Description(what));
        }
    }
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(d) = ctx.span(id).and_then(|s| s.extensions().get::<Description>().map(|d| d.0.clone())) {
            if MARK_STEPS.load(Ordering::Relaxed) && d.starts_with("step ") {
                sys::write_stderr(format!("{}{d}\n", fxchain_host::isolate::STEP_MARK).as_bytes());
            }
            ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).insert(id.into_u64(), d);
        }
    }
    fn on_exit(&self, id: &Id, _: Context<'_, S>) {
        ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).remove(&id.into_u64());
    }
}

struct OnlyWanted;

impl<S> Filter<S> for OnlyWanted {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _: &Context<'_, S>) -> bool {
        wanted(meta)
    }
    fn callsite_enabled(&self, meta: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        if wanted(meta) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }
}

/// The layer that tracks the spans in flight.
pub fn layer<S: Subscriber + for<'a> LookupSpan<'a>>() -> impl Layer<S> {
    Active.with_filter(OnlyWanted)
}
