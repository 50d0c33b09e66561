//! The registry of effects from every loaded library.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fxchain_plugin_api::Tier;

use crate::error::LoadError;
use crate::loader::{self, EffectInfo, Library};

/// Where to look for plugins.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Directories given explicitly (searched first).
    pub plugin_dirs: Vec<PathBuf>,
    /// Also search `FXCHAIN_PLUGIN_PATH` and the executable's folder.
    pub use_default_dirs: bool,
    /// Individual library files to load in addition.
    pub libraries: Vec<PathBuf>,
    /// Where shadow copies go (default: [`loader::default_cache_dir`]).
    pub cache_dir: Option<PathBuf>,
}

impl RegistryOptions {
    /// Only the given directories.
    pub fn dirs(dirs: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        RegistryOptions { plugin_dirs: dirs.into_iter().map(Into::into).collect(), ..Default::default() }
    }
}

/// Every effect that loaded, by id, with the problems met on the way. A registry is an
/// immutable snapshot: hot reload builds a new one (see [`crate::reload`]).
#[derive(Default, Clone)]
pub struct Registry {
    libraries: Vec<Arc<Library>>,
    effects: BTreeMap<String, Arc<EffectInfo>>,
    variants: BTreeMap<String, Vec<Arc<EffectInfo>>>,
    errors: Vec<LoadError>,
    warnings: Vec<String>,
    dirs: Vec<PathBuf>,
}

impl Registry {
    /// Scans the directories of `options` and loads every library; a library that fails is
    /// recorded in [`Registry::errors`] and the others still load.
    ///
    /// ```
    /// use fxchain_host::{Registry, RegistryOptions};
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("libbroken.so"), b"not a library").unwrap();
    /// let registry = Registry::load(&RegistryOptions::dirs([dir.path()]));
    /// // The broken file is reported, not loaded; nothing else is there.
    /// assert_eq!(registry.all().count(), 0);
    /// assert_eq!(registry.errors().len(), 1);
    /// let canonical = dir.path().canonicalize().unwrap();
    /// assert_eq!(registry.searched(), format!("plugins were searched in {}", canonical.display()));
    /// ```
    pub fn load(options: &RegistryOptions) -> Registry {
        let cache_dir = options.cache_dir.clone().unwrap_or_else(loader::default_cache_dir);
        loader::clean_stale_copies(&cache_dir);
        let dirs = loader::plugin_dirs(&options.plugin_dirs, options.use_default_dirs);
        let explicit = loader::plugin_dirs(&options.plugin_dirs, false);
        let mut files: Vec<(PathBuf, bool)> = Vec::new();
        for f in &options.libraries {
            files.push((f.canonicalize().unwrap_or_else(|_| f.clone()), true));
        }
        for d in &dirs {
            for f in loader::libraries_in(d) {
                let canonical = f.canonicalize().unwrap_or(f);
                if !files.iter().any(|(p, _)| *p == canonical) {
                    files.push((canonical, explicit.contains(d)));
                }
            }
        }
        let mut registry = Registry { dirs, ..Default::default() };
        for (file, explicit) in files {
            match loader::load_library(&file, &cache_dir) {
                Ok((library, effects)) => registry.add(library, effects),
                // Default folders (next to the executable) also hold libraries that are not
                // plugins, such as proc-macro crates: skip those quietly.
                Err(LoadError::NotAPlugin { .. }) if !explicit => {
                    tracing::debug!(target: "fxchain::registry", "skipping {}: not a plugin", file.display());
                }
                Err(e) => {
                    tracing::debug!(target: "fxchain::registry", "{e}");
                    registry.errors.push(e);
                }
            }
        }
        registry
    }

    /// Loads one library file and registers its effects.
    pub fn add_library_file(&mut self, file: &Path, cache_dir: &Path) {
        match loader::load_library(file, cache_dir) {
            Ok((library, effects)) => {
                tracing::debug!(target: "fxchain::registry", "loaded {} {} from {}", library.name, library.version, file.display());
                self.add(library, effects);
            }
            Err(e) => {
                tracing::debug!(target: "fxchain::registry", "{e}");
                self.errors.push(e);
            }
        }
    }

    /// Registers the effects of a loaded library; the first library to register an id wins.
    pub fn add(&mut self, library: Arc<Library>, effects: Vec<EffectInfo>) {
        self.libraries.push(library.clone());
        for effect in effects {
            if let Some(existing) = self.effects.get(&effect.id) {
                self.warnings.push(format!(
                    "effect `{}` from {} is ignored: {} already provides it",
                    effect.id,
                    library.path.display(),
                    existing.library.path.display()
                ));
                continue;
            }
            self.effects.insert(effect.id.clone(), Arc::new(effect));
        }
        self.rebuild_variants();
    }

    fn rebuild_variants(&mut self) {
        self.variants.clear();
        let mut rejected = Vec::new();
        for e in self.effects.values() {
            let Some(reference) = &e.variant_of else {
                self.variants.entry(e.id.clone()).or_default().insert(0, e.clone());
                continue;
            };
            match self.effects.get(reference) {
                None => rejected.push((e.id.clone(), format!("is a variant of `{reference}`, which no library provides"))),
                Some(r) if r.params != e.params => rejected.push((
                    e.id.clone(),
                    format!("is a variant of `{reference}` but its parameter schema differs; variants must share it exactly"),
                )),
                Some(r) if r.kind != e.kind || r.min_inputs != e.min_inputs || r.max_inputs != e.max_inputs => rejected
                    .push((e.id.clone(), format!("is a variant of `{reference}` but takes different inputs"))),
                Some(_) => self.variants.entry(reference.clone()).or_default().push(e.clone()),
            }
        }
        for (id, why) in rejected {
            let w = format!("variant `{id}` {why}");
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }

    /// A copy of this registry in which the library loaded from `path` is replaced by `library`
    /// (or added, when none was loaded from there).
    pub fn with_library(&self, path: &Path, library: Arc<Library>, effects: Vec<EffectInfo>) -> Registry {
        let mut r = self.without_library(path);
        r.add(library, effects);
        r
    }

    /// A copy of this registry without the library loaded from `path` (its effects stay usable by
    /// renders holding the old snapshot).
    pub fn without_library(&self, path: &Path) -> Registry {
        let mut r = Registry { dirs: self.dirs.clone(), errors: self.errors.clone(), ..Default::default() };
        for lib in &self.libraries {
            if lib.path != path {
                let effects: Vec<EffectInfo> =
                    self.effects.values().filter(|e| Arc::ptr_eq(&e.library, lib)).map(|e| (**e).clone()).collect();
                r.libraries.push(lib.clone());
                for e in effects {
                    r.effects.insert(e.id.clone(), Arc::new(e));
                }
            }
        }
        r.rebuild_variants();
        r
    }

    /// The library loaded from `path`, if any.
    pub fn library_at(&self, path: &Path) -> Option<&Arc<Library>> {
        self.libraries.iter().find(|l| l.path == path)
    }

    /// Effects provided by `library`.
    pub fn effects_of(&self, library: &Arc<Library>) -> Vec<Arc<EffectInfo>> {
        self.effects.values().filter(|e| Arc::ptr_eq(&e.library, library)).cloned().collect()
    }

    /// The directories that were scanned.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }
    /// Where plugins were looked for, for messages: `plugins were searched in A, B`, or that no
    /// folder was searched at all.
    pub fn searched(&self) -> String {
        if self.dirs.is_empty() {
            "no plugin folder was searched: the default folders are off (--no-default-plugins) and no existing \
             --plugin-dir was given"
                .to_string()
        } else {
            format!(
                "plugins were searched in {}",
                self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
            )
        }
    }
    /// Loaded libraries.
    pub fn libraries(&self) -> &[Arc<Library>] {
        &self.libraries
    }
    /// Libraries that failed to load, with why.
    pub fn errors(&self) -> &[LoadError] {
        &self.errors
    }
    /// Non-fatal problems: duplicate ids, variants without a reference.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// Any effect (reference or variant) by id.
    pub fn effect(&self, id: &str) -> Option<&Arc<EffectInfo>> {
        self.effects.get(id)
    }
    /// Every effect, references and variants, by id.
    pub fn all(&self) -> impl Iterator<Item = &Arc<EffectInfo>> {
        self.effects.values()
    }
    /// Reference effects (those chains name), by id.
    pub fn references(&self) -> impl Iterator<Item = &Arc<EffectInfo>> {
        self.variants.values().filter_map(|v| v.first())
    }
    /// The reference effect `id` and its usable variants (reference first).
    pub fn variants_of(&self, id: &str) -> &[Arc<EffectInfo>] {
        self.variants.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The implementation of reference `id` for `quality`: the variant of that tier, else the
    /// nearest tier towards quality, else the reference.
    pub fn resolve(&self, id: &str, quality: Tier) -> Option<Arc<EffectInfo>> {
        let candidates = self.variants.get(id)?;
        let order: &[Tier] = match quality {
            Tier::FAST => &[Tier::FAST, Tier::BALANCED, Tier::QUALITY],
            Tier::BALANCED => &[Tier::BALANCED, Tier::QUALITY, Tier::FAST],
            _ => &[Tier::QUALITY, Tier::BALANCED, Tier::FAST],
        };
        order.iter().find_map(|t| candidates.iter().find(|c| c.tier == *t)).or_else(|| candidates.first()).cloned()
    }
}
