//! Hot reload: a registry whose libraries are replaced, generation by generation, when their
//! files change. A new build replaces the old one only after it loads, passes its checks and a
//! self-test render of every effect; renders in flight keep the snapshot they started with.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use fxchain_plugin_api::{EffectKind, Size};
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};

use crate::chain::oneshot::single_effect;
use crate::contract;
use crate::error::{LoadError, RunError};
use crate::exec::{render, RenderOptions};
use crate::frame::Frame;
use crate::loader::{self, Library};
use crate::probe::probe_image;
use crate::registry::{Registry, RegistryOptions};

/// What happened to a library file.
#[derive(Clone, Debug)]
pub enum ReloadEvent {
    /// A library appeared and was loaded.
    Loaded {
        /// Library file.
        path: PathBuf,
        /// Crate name.
        library: String,
        /// New generation.
        generation: u64,
        /// Time from the change being noticed to the swap.
        took: Duration,
    },
    /// A new build replaced the previous generation.
    Replaced {
        /// Library file.
        path: PathBuf,
        /// Crate name.
        library: String,
        /// The generation that served until now.
        old_generation: u64,
        /// The generation that serves from now on.
        generation: u64,
        /// Time from the change being noticed to the swap.
        took: Duration,
    },
    /// A new build was refused; the previous generation keeps serving.
    Rejected {
        /// Library file.
        path: PathBuf,
        /// Why, for people.
        reason: String,
    },
    /// The library file was removed; its effects are retired (runs in flight finish).
    Retired {
        /// Library file.
        path: PathBuf,
        /// Crate name.
        library: String,
    },
    /// The file's content is the build already serving, or one already refused: nothing was
    /// loaded and nothing is published.
    Unchanged {
        /// Library file.
        path: PathBuf,
    },
}

/// Whether a file event can mean new content: creation, data written, close after writing, a
/// rename or a removal. Opens, reads, closes without writing and metadata changes cannot (they
/// are what every reader of the folder, this process included, causes).
pub fn is_content_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Modify(m) => matches!(m, ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

/// Library generations held by this process, for status lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Generations loaded since the start (they stay mapped: libraries are never unloaded).
    pub loaded: u64,
    /// Bytes of library files mapped by those generations.
    pub mapped_bytes: u64,
    /// Generations still referenced by a snapshot (the current one or a render in flight).
    pub in_use: usize,
}

impl std::fmt::Display for ReloadEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadEvent::Loaded { library, generation, took, .. } => {
                write!(f, "loaded {library} (generation {generation}) in {:.0} ms", took.as_secs_f64() * 1e3)
            }
            ReloadEvent::Replaced { library, old_generation, generation, took, .. } => write!(
                f,
                "reloaded {library}: generation {old_generation} → {generation} in {:.0} ms",
                took.as_secs_f64() * 1e3
            ),
            ReloadEvent::Rejected { path, reason } => {
                write!(f, "kept the previous build of {}: {reason}", path.display())
            }
            ReloadEvent::Retired { library, .. } => write!(f, "retired {library}: its file was removed"),
            ReloadEvent::Unchanged { path } => write!(f, "{} is unchanged", path.display()),
        }
    }
}

/// A check a new snapshot must pass before it is swapped in (e.g. "the chain still validates").
pub type Acceptor = dyn Fn(&Registry) -> Result<(), String> + Send + Sync;

/// Reloading on request rather than on file events (for programs that embed the host).
impl LiveRegistry {
    /// Reloads, through [`LiveRegistry::reload`], every library of the followed folders whose
    /// file differs from the generation loaded (or that is new, or was removed); unchanged
    /// libraries keep their generation. Returns what happened to each file that changed.
    pub fn reload_changed(&self) -> Vec<ReloadEvent> {
        let current = self.snapshot();
        let mut changed: Vec<(PathBuf, bool)> = Vec::new();
        for lib in current.libraries() {
            let same = std::fs::read(&lib.path).is_ok_and(|b| blake3::hash(&b).to_hex().as_str() == lib.content_hash);
            if !same {
                changed.push((lib.path.clone(), false));
            }
        }
        for dir in &self.dirs {
            for file in loader::libraries_in(dir) {
                let file = file.canonicalize().unwrap_or(file);
                if current.library_at(&file).is_none() && !changed.iter().any(|(p, _)| *p == file) {
                    changed.push((file, true));
                }
            }
        }
        changed
            .into_iter()
            .map(|(p, new)| (self.reload(&p), new))
            // New files that are not plugins (proc-macro crates next to the CLI) are skipped as
            // at start-up.
            .filter(|(e, new)| {
                !(*new && matches!(e, ReloadEvent::Rejected { reason, .. } if reason.contains("not an fxchain plugin")))
            })
            .map(|(e, _)| e)
            .collect()
    }
}

/// A registry that follows its plugin folders.
pub struct LiveRegistry {
    current: RwLock<Arc<Registry>>,
    cache_dir: PathBuf,
    dirs: Vec<PathBuf>,
    subscribers: Mutex<Vec<Sender<ReloadEvent>>>,
    generations: AtomicU64,
    acceptor: RwLock<Option<Box<Acceptor>>>,
    /// Per library file: the content hash last refused and why (each cause is reported once).
    last_rejection: Mutex<HashMap<PathBuf, (String, String)>>,
    /// Every generation loaded, to count those still in use and what they map.
    loaded: Mutex<Vec<(Weak<Library>, u64)>>,
}

impl LiveRegistry {
    /// Loads the plugin folders of `options`.
    pub fn new(options: &RegistryOptions) -> Arc<Self> {
        let cache_dir = options.cache_dir.clone().unwrap_or_else(loader::default_cache_dir);
        let registry = Registry::load(&RegistryOptions { cache_dir: Some(cache_dir.clone()), ..options.clone() });
        let generations = registry.libraries().len() as u64;
        let loaded = registry.libraries().iter().map(|l| (Arc::downgrade(l), l.mapped_bytes)).collect();
        Arc::new(LiveRegistry {
            dirs: registry.dirs().to_vec(),
            current: RwLock::new(Arc::new(registry)),
            cache_dir,
            subscribers: Mutex::new(Vec::new()),
            generations: AtomicU64::new(generations),
            acceptor: RwLock::new(None),
            last_rejection: Mutex::new(HashMap::new()),
            loaded: Mutex::new(loaded),
        })
    }

    /// The current snapshot. A render holds it for its whole duration, so it never mixes
    /// generations.
    pub fn snapshot(&self) -> Arc<Registry> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The plugin folders followed.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Library generations loaded by this process so far (they are never unloaded).
    pub fn loaded_generations(&self) -> u64 {
        self.generations.load(Ordering::Relaxed)
    }

    /// Generations loaded, what they map, and how many are still in use.
    pub fn generation_stats(&self) -> GenerationStats {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        GenerationStats {
            loaded: self.loaded_generations(),
            mapped_bytes: loaded.iter().map(|(_, b)| b).sum(),
            in_use: loaded.iter().filter(|(w, _)| w.strong_count() > 0).count(),
        }
    }

    /// The shadow-copy folder.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Receives every reload event from now on.
    pub fn subscribe(&self) -> Receiver<ReloadEvent> {
        let (tx, rx) = channel();
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        rx
    }

    /// Sets the extra check a new snapshot must pass.
    pub fn set_acceptor(&self, check: Option<Box<Acceptor>>) {
        *self.acceptor.write().unwrap_or_else(|e| e.into_inner()) = check;
    }

    fn publish(&self, event: ReloadEvent) -> ReloadEvent {
        match &event {
            ReloadEvent::Unchanged { .. } => return event,
            ReloadEvent::Loaded { path, .. }
            | ReloadEvent::Replaced { path, .. }
            | ReloadEvent::Retired { path, .. } => {
                self.last_rejection.lock().unwrap_or_else(|e| e.into_inner()).remove(path);
            }
            ReloadEvent::Rejected { .. } => {}
        }
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner()).retain(|s| s.send(event.clone()).is_ok());
        event
    }

    /// Publishes a refusal of the build with content `hash`, once per (content, cause).
    fn reject(&self, path: PathBuf, hash: &str, reason: String) -> ReloadEvent {
        let mut last = self.last_rejection.lock().unwrap_or_else(|e| e.into_inner());
        let key = (hash.to_string(), reason.clone());
        if last.get(&path) == Some(&key) {
            return ReloadEvent::Rejected { path, reason };
        }
        last.insert(path.clone(), key);
        drop(last);
        self.publish(ReloadEvent::Rejected { path, reason })
    }

    /// Whether the content `hash` at `path` is what serves, or was refused last time.
    fn already_seen(&self, path: &Path, old: Option<&Arc<Library>>, hash: &str) -> bool {
        old.is_some_and(|l| l.content_hash == hash)
            || self.last_rejection.lock().unwrap_or_else(|e| e.into_inner()).get(path).is_some_and(|(h, _)| h == hash)
    }

    /// Reloads the library at `path` (or retires it when the file is gone) and publishes what
    /// happened.
    pub fn reload(&self, path: &Path) -> ReloadEvent {
        let started = Instant::now();
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let current = self.snapshot();
        let old = current.library_at(&path).cloned();
        if !path.exists() {
            return match old {
                Some(lib) => {
                    self.swap(current.without_library(&path));
                    self.publish(ReloadEvent::Retired { path, library: lib.name.clone() })
                }
                None => ReloadEvent::Rejected { path, reason: "no such library".into() },
            };
        }
        // A build may still be writing the file: retry a few times while it looks incomplete.
        // The same content as the serving build (or as the build refused last) is not loaded
        // again: readers of the folder and repeated events cost nothing.
        let mut attempt = 0;
        let (hash, loaded) = loop {
            let read = std::fs::read(&path);
            let hash = read.as_ref().map(|b| loader::content_hash(b)).unwrap_or_default();
            if read.is_ok() && self.already_seen(&path, old.as_ref(), &hash) {
                return ReloadEvent::Unchanged { path };
            }
            let result = read
                .map_err(|e| LoadError::Io { path: path.clone(), reason: e.to_string() })
                .and_then(|bytes| loader::load_library_bytes(&path, &bytes, &self.cache_dir));
            match result {
                Err(LoadError::NotALibrary { .. } | LoadError::Truncated { .. } | LoadError::Io { .. })
                    if attempt < 5 =>
                {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(60));
                }
                other => break (hash, other),
            }
        };
        let (library, effects) = match loaded {
            Ok(x) => x,
            Err(e) => {
                // The loader's message says what to do (for an ABI mismatch: rebuild; the rebuilt
                // library is picked up without a restart).
                return self.reject(path, &hash, e.to_string());
            }
        };
        self.generations.fetch_add(1, Ordering::Relaxed);
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).push((Arc::downgrade(&library), library.mapped_bytes));
        let ids: Vec<String> = effects.iter().map(|e| e.id.clone()).collect();
        let next = current.with_library(&path, library.clone(), effects);
        if let Err(reason) = self.check(&current, &next, old.as_ref(), &library, &ids) {
            return self.reject(path, &hash, reason);
        }
        if let Err(reason) = run_declared_cases(&next, &ids) {
            return self.reject(path, &hash, reason);
        }
        if let Some(accept) = self.acceptor.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if let Err(reason) = accept(&next) {
                return self.reject(path, &hash, reason);
            }
        }
        self.swap(next);
        let took = started.elapsed();
        self.publish(match old {
            Some(o) => ReloadEvent::Replaced {
                path,
                library: library.name.clone(),
                old_generation: o.generation,
                generation: library.generation,
                took,
            },
            None => ReloadEvent::Loaded { path, library: library.name.clone(), generation: library.generation, took },
        })
    }

    fn swap(&self, next: Registry) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }

    /// Effects kept, and a self-test render of each effect `ids` of `library` in `next` (the
    /// candidate snapshot holding it).
    fn check(
        &self,
        current: &Registry,
        next: &Registry,
        old: Option<&Arc<Library>>,
        library: &Arc<Library>,
        ids: &[String],
    ) -> Result<(), String> {
        if let Some(old) = old {
            let new_ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
            let gone: Vec<String> = current
                .effects_of(old)
                .iter()
                .map(|e| e.id.clone())
                .filter(|id| !new_ids.contains(id.as_str()))
                .collect();
            if !gone.is_empty() {
                return Err(format!("the new build no longer provides {}", gone.join(", ")));
            }
        }
        for id in ids {
            self_test(next, id)
                .map_err(|m| format!("self-test of `{id}` (generation {}) failed: {m}", library.generation))?;
        }
        Ok(())
    }

    /// Follows the plugin folders: changed libraries are reloaded after `debounce` of quiet.
    /// The returned watcher stops when dropped.
    pub fn watch(self: &Arc<Self>, debounce: Duration) -> notify::Result<notify::RecommendedWatcher> {
        let (tx, rx) = channel::<notify::Result<notify::Event>>();
        let mut watcher = notify::recommended_watcher(tx)?;
        for d in &self.dirs {
            watcher.watch(d, RecursiveMode::NonRecursive)?;
        }
        let this = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("fxchain-reload".into())
            .spawn(move || {
                let mut pending: HashSet<PathBuf> = HashSet::new();
                loop {
                    let wait = if pending.is_empty() { Duration::from_secs(3600) } else { debounce };
                    match rx.recv_timeout(wait) {
                        Ok(Ok(event)) if is_content_change(&event.kind) => {
                            for p in event.paths {
                                if loader::is_library_name(&p) {
                                    pending.insert(p);
                                }
                            }
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!("plugin folder watch: {e}"),
                        Err(RecvTimeoutError::Timeout) => {
                            let Some(live) = this.upgrade() else { return };
                            for p in pending.drain() {
                                let event = live.reload(&p);
                                if !matches!(event, ReloadEvent::Unchanged { .. }) {
                                    tracing::info!(target: "fxchain::reload", "{event}");
                                }
                            }
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .expect("spawn the reload thread");
        Ok(watcher)
    }
}

/// Runs the declared test cases of effects `ids` in `registry` (the candidate snapshot, so a
/// PSNR case compares against the effect it names as it would then be loaded).
fn run_declared_cases(registry: &Registry, ids: &[String]) -> Result<(), String> {
    for id in ids {
        let Some(effect) = registry.effect(id) else { continue };
        if let Some(bad) = effect.tests.iter().map(|c| contract::run_case(registry, effect, c)).find(|r| !r.passed) {
            return Err(format!("test case `{}` of `{}` failed: {}", bad.case, bad.effect, bad.detail));
        }
    }
    Ok(())
}

/// Renders effect `id` of `registry` alone with its default parameters on small probes, through
/// the executor every chain runs on.
pub fn self_test(registry: &Registry, id: &str) -> Result<(), String> {
    let Some(effect) = registry.effect(id) else { return Err("the effect is not in the new snapshot".into()) };
    let size = Size::new(24, 16);
    let inputs = match effect.kind {
        EffectKind::GENERATOR => 0,
        _ => effect.min_inputs.max(1) as usize,
    };
    let chain = single_effect(registry, id, inputs, size, 1).map_err(|e| e.to_string())?;
    let frames: HashMap<String, Arc<Frame>> =
        chain.inputs.iter().map(|name| (name.clone(), Arc::new(probe_image(size)))).collect();
    render(&chain, registry, &frames, &RenderOptions::default()).map(|_| ()).map_err(|e| match e {
        RunError::Plugin { message, .. } => message,
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use notify::event::{
        AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, ModifyKind, RemoveKind, RenameMode,
    };
    use notify::EventKind;

    use super::is_content_change;

    #[test]
    fn only_content_changes_count() {
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Remove(RemoveKind::File),
        ] {
            assert!(is_content_change(&kind), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Other,
        ] {
            assert!(!is_content_change(&kind), "{kind:?}");
        }
    }
}
