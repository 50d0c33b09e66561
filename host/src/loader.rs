//! Finding plugin libraries and loading one: shadow copy, `abi_stable` checks, descriptors.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use abi_stable::library::{lib_header_from_path, LibraryError};
use fxchain_plugin_api::abi::{EffectDescriptorRef, ExpectKind, ParamSpecRef, PluginModuleRef, TestSpec};
use fxchain_plugin_api::{Access, EffectKind, FormatSet, ParamKind, ParamValue, PixelFormat, Size, Tier};

use crate::error::LoadError;

/// Environment variable holding extra plugin directories (`:`-separated on Unix).
pub const PLUGIN_PATH_ENV: &str = "FXCHAIN_PLUGIN_PATH";

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The next generation number of this process.
pub fn next_generation() -> u64 {
    GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// A parameter schema entry, copied into host memory.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// Stable id.
    pub id: String,
    /// Type.
    pub kind: ParamKind,
    /// Default value.
    pub default: ParamValue,
    /// Inclusive lower bound.
    pub min: f64,
    /// Inclusive upper bound.
    pub max: f64,
    /// Unit.
    pub unit: String,
    /// Enum names.
    pub choices: Vec<String>,
    /// Documentation.
    pub doc: String,
}

/// A library that loaded and passed its checks.
pub struct Library {
    /// Crate name of the plugin.
    pub name: String,
    /// Crate version of the plugin.
    pub version: String,
    /// Where it was found.
    pub path: PathBuf,
    /// The private copy that was actually loaded.
    pub loaded_from: PathBuf,
    /// BLAKE3 of the library file (stable across runs: used in cache keys and resume records).
    pub content_hash: String,
    /// Load generation (per process).
    pub generation: u64,
    module: PluginModuleRef,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Library({} {} gen {} from {})", self.name, self.version, self.generation, self.path.display())
    }
}

impl Library {
    /// The root module.
    pub fn module(&self) -> PluginModuleRef {
        self.module
    }
}

/// One effect of a loaded library, copied into host memory.
#[derive(Clone, Debug)]
pub struct EffectInfo {
    /// Unique id.
    pub id: String,
    /// Generator, filter or compositor.
    pub kind: EffectKind,
    /// Fewest inputs.
    pub min_inputs: u32,
    /// Most inputs.
    pub max_inputs: u32,
    /// The reference id for a variant.
    pub variant_of: Option<String>,
    /// Quality tier.
    pub tier: Tier,
    /// Access pattern.
    pub access: Access,
    /// Formats rendered.
    pub formats: FormatSet,
    /// Cacheable.
    pub deterministic: bool,
    /// One-line summary.
    pub summary: String,
    /// Documentation.
    pub doc: String,
    /// Parameters in ABI order.
    pub params: Vec<ParamInfo>,
    /// Test cases the effect declares (run by `plugins test` and before a hot reload).
    pub tests: Vec<TestCase>,
    /// Index in the library's effect list.
    pub index: u32,
    /// The library that exports it.
    pub library: Arc<Library>,
}

impl EffectInfo {
    /// The reference id: `variant_of` for a variant, the own id otherwise.
    pub fn reference_id(&self) -> &str {
        self.variant_of.as_deref().unwrap_or(&self.id)
    }
    /// The parameter named `id`.
    pub fn param(&self, id: &str) -> Option<&ParamInfo> {
        self.params.iter().find(|p| p.id == id)
    }
    /// The format this effect renders best for a chain that prefers `preferred`.
    pub fn pick_format(&self, preferred: PixelFormat) -> PixelFormat {
        if self.formats.contains(preferred) {
            preferred
        } else if self.formats.contains(PixelFormat::RGBA8) {
            PixelFormat::RGBA8
        } else {
            PixelFormat::RGBA32F
        }
    }
}

/// The plugin directories to scan, in order: `explicit` (command-line), then `FXCHAIN_PLUGIN_PATH`,
/// then the folder of the running executable (for a cargo build, `target/<profile>/`). Each
/// canonical path appears once; folders that do not exist are dropped.
pub fn plugin_dirs(explicit: &[PathBuf], use_defaults: bool) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = explicit.to_vec();
    if use_defaults {
        if let Some(v) = std::env::var_os(PLUGIN_PATH_ENV) {
            dirs.extend(std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()));
        }
        if let Some(exe_dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
            dirs.push(exe_dir.clone());
            // Test and bench binaries live in target/<profile>/deps.
            if exe_dir.file_name().is_some_and(|n| n == "deps") {
                if let Some(p) = exe_dir.parent() {
                    dirs.push(p.to_path_buf());
                }
            }
        }
    }
    let mut seen = Vec::new();
    dirs.into_iter()
        .filter_map(|d| d.canonicalize().ok())
        .filter(|d| d.is_dir())
        .filter(|d| {
            let new = !seen.contains(d);
            seen.push(d.clone());
            new
        })
        .collect()
}

/// Whether `path` is named like a shared library of this platform (`lib*.so`, `*.dylib`, `*.dll`).
pub fn is_library_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    name.starts_with(std::env::consts::DLL_PREFIX) && name.ends_with(std::env::consts::DLL_SUFFIX)
}

/// The shared libraries directly inside `dir`, sorted by name.
pub fn libraries_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file() && is_library_name(p)).collect())
        .unwrap_or_default();
    found.sort();
    found
}

/// Keeps only the first lines of a long `abi_stable` report, from the first `Error:` on.
fn summarize_abi_report(text: &str) -> String {
    let lines: Vec<&str> = text.lines().skip_while(|l| !l.trim_start().starts_with("Error:")).take(6).collect();
    if lines.is_empty() {
        text.lines().take(6).collect::<Vec<_>>().join("\n")
    } else {
        lines.join("\n")
    }
}

/// `0.2` of `0.2.5`.
fn api_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The message for a library built against another minor of the plugin API.
fn version_mismatch(actual: &str) -> String {
    let ours = api_minor(fxchain_plugin_api::abi::ABI_VERSION);
    format!(
        "built against fxchain-plugin-api {actual}; this fxchain loads {ours}.x plugins: rebuild it against {ours} \
         (see docs/plugin-api-0.2.md); no restart is needed, a rebuilt library is picked up by `watch`"
    )
}

fn classify(path: &Path, err: LibraryError) -> LoadError {
    let path = path.to_path_buf();
    match err {
        LibraryError::OpenError { .. } => LoadError::NotALibrary { path, reason: err.to_string() },
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin { path },
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
            tracing::info!(target: "fxchain::loader", "{}: {err}", path.display());
            LoadError::IncompatibleAbi { path, reason: version_mismatch(&actual_version.to_string()) }
        }
        LibraryError::AbiInstability(ref report) => {
            let full = report.to_string();
            tracing::info!(target: "fxchain::loader", "full ABI report for {}:\n{full}", path.display());
            // abi_stable remembers the layout of every prefix type it has checked in this process,
            // so only a layout that changed after this process saw the old one needs a restart.
            let restart = full.contains("prefix") && full.contains("mismatched");
            LoadError::IncompatibleAbi {
                path,
                reason: if restart {
                    "its plugin API layout changed since this process loaded an earlier build of it: restart \
                     fxchain to load it (run with -v for abi_stable's report)"
                        .to_string()
                } else {
                    format!(
                        "its plugin API layout does not match this fxchain's although both are {}.x: rebuild it \
                         against this fxchain's plugin-api (run with -v for abi_stable's report; first lines: {})",
                        api_minor(fxchain_plugin_api::abi::ABI_VERSION),
                        summarize_abi_report(&full).lines().next().unwrap_or_default().trim()
                    )
                },
            }
        }
        other => LoadError::Rejected { path, reason: other.to_string() },
    }
}

/// Copies `path` to a fresh file in `cache_dir` (new inode, unique name): the dynamic loader
/// identifies libraries by path and inode, and the build may replace the original at any time.
fn shadow_copy(path: &Path, bytes: &[u8], cache_dir: &Path, generation: u64) -> Result<PathBuf, LoadError> {
    let io = |e: std::io::Error| LoadError::Cache {
        path: path.to_path_buf(),
        dir: cache_dir.to_path_buf(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(cache_dir).map_err(io)?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("so");
    let target = cache_dir.join(format!("{stem}-g{generation}-p{}.{ext}", std::process::id()));
    // The dynamic loader also treats a file as already loaded when its (device, inode) pair
    // matches a library it mapped before. If one of our earlier copies was deleted (a temp
    // cleaner, a removed cache folder), its inode number can come back for a new file, and the
    // loader would hand back the old code. Copies whose inode was seen before are kept (so the
    // number stays taken) and the copy is made again.
    for attempt in 0..16 {
        let mut tmp = tempfile::NamedTempFile::new_in(cache_dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, bytes).map_err(io)?;
        let id = file_id(tmp.path());
        let fresh = id.is_none_or(|id| LOADED_FILES.lock().unwrap_or_else(|e| e.into_inner()).insert(id));
        if fresh || attempt == 15 {
            tmp.persist(&target).map_err(|e| io(e.error))?;
            return Ok(target);
        }
        tracing::debug!("shadow copy of {} reused an inode of an earlier copy; copying again", path.display());
        let held = cache_dir.join(format!("{stem}-g{generation}h{attempt}-p{}.{ext}", std::process::id()));
        tmp.persist(&held).map_err(|e| io(e.error))?;
    }
    unreachable!("the loop returns")
}

/// (device, inode) of every shadow copy made by this process.
static LOADED_FILES: std::sync::Mutex<std::collections::BTreeSet<(u64, u64)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &Path) -> Option<(u64, u64)> {
    None
}

fn read_param(p: ParamSpecRef) -> Result<ParamInfo, String> {
    let default =
        p.default().as_enum().map_err(|_| format!("parameter `{}` has a default of unknown type", p.id()))?.clone();
    if p.kind().name().is_none() {
        return Err(format!("parameter `{}` has unknown type {}", p.id(), p.kind().0));
    }
    Ok(ParamInfo {
        id: p.id().to_string(),
        kind: p.kind(),
        default,
        min: p.min(),
        max: p.max(),
        unit: p.unit().to_string(),
        choices: p.choices().iter().map(|c| c.to_string()).collect(),
        doc: p.doc().to_string(),
    })
}

/// A test case declared by an effect (the host-side copy of [`TestSpec`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    /// Name, unique within the effect.
    pub name: String,
    /// Parameters as a RON map.
    pub params: String,
    /// Size of the generated inputs (a generator's output size).
    pub size: Size,
    /// Seed of the inputs and of the step.
    pub seed: u64,
    /// Format rendered.
    pub format: PixelFormat,
    /// Embedded 8-bit RGBA input, or empty for generated inputs.
    pub input: Vec<u8>,
    /// What is checked.
    pub expect: Expect,
}

/// What a [`TestCase`] checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The 8-bit output's BLAKE3 hash starts with this hex prefix.
    Hash(String),
    /// The output is within `min_db` PSNR of `reference` on the same case.
    Psnr {
        /// Effect compared against.
        reference: String,
        /// Lowest acceptable PSNR.
        min_db: f64,
    },
}

fn read_test(id: &str, t: &TestSpec) -> Result<TestCase, String> {
    let expect = match t.expect {
        ExpectKind::HASH => Expect::Hash(t.hash.to_string()),
        ExpectKind::PSNR => Expect::Psnr { reference: t.reference.to_string(), min_db: t.min_db },
        other => {
            return Err(format!("test case `{}` of `{id}` expects {other}, which this host does not know", t.name))
        }
    };
    if !t.input.is_empty() && t.input.len() as u64 != t.size.pixels() * 4 {
        return Err(format!(
            "test case `{}` of `{id}` embeds {} bytes, not the {}x{}x4 its size needs",
            t.name,
            t.input.len(),
            t.size.width,
            t.size.height
        ));
    }
    Ok(TestCase {
        name: t.name.to_string(),
        params: t.params.to_string(),
        size: t.size,
        seed: t.seed,
        format: t.format,
        input: t.input.to_vec(),
        expect,
    })
}

fn read_effect(d: EffectDescriptorRef, index: u32, library: &Arc<Library>) -> Result<EffectInfo, String> {
    let id = d.id().to_string();
    if d.kind().name().is_none() || d.access().name().is_none() || d.tier().name().is_none() {
        return Err(format!("effect `{id}` uses a kind, access pattern or tier this host does not know"));
    }
    if id.is_empty() || id.chars().any(|c| c.is_whitespace()) {
        return Err(format!("effect id {id:?} is empty or has white space"));
    }
    let params = d.params().iter().map(|p| read_param(*p)).collect::<Result<Vec<_>, _>>()?;
    let variant_of = d.variant_of().to_string();
    let tests = d.tests().iter().map(|t| read_test(&id, t)).collect::<Result<Vec<_>, _>>()?;
    Ok(EffectInfo {
        id,
        kind: d.kind(),
        min_inputs: d.min_inputs(),
        max_inputs: d.max_inputs(),
        variant_of: (!variant_of.is_empty()).then_some(variant_of),
        tier: d.tier(),
        access: d.access(),
        formats: d.formats(),
        deterministic: d.deterministic(),
        summary: d.summary().to_string(),
        doc: d.doc().to_string(),
        params,
        tests,
        index,
        library: library.clone(),
    })
}

/// The symbol every plugin library exports: `abi_stable`'s root-module loader.
pub const PLUGIN_SYMBOL: &str = abi_stable::library::ROOT_MODULE_LOADER_NAME;

/// Checks a candidate library before anything maps it: its headers must parse, every segment
/// and section they describe must lie inside the file (mapping a truncated or half-written
/// library crashes the process with SIGBUS at the first touch past its end), and its dynamic
/// symbol table must export [`PLUGIN_SYMBOL`] (so the initializers of unrelated libraries
/// never run).
pub fn inspect(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    use object::{Object, ObjectSection, ObjectSegment};
    let truncated = |reason: String| LoadError::Truncated { path: path.to_path_buf(), reason };
    let len = bytes.len() as u64;
    let file =
        object::File::parse(bytes).map_err(|e| truncated(format!("its headers cannot be read ({len} bytes): {e}")))?;
    let check = |what: &str, offset: u64, size: u64| {
        if offset.checked_add(size).is_none_or(|end| end > len) {
            Err(truncated(format!(
                "{what} at bytes {offset}..{} lies past the end of the file ({len} bytes)",
                offset.saturating_add(size)
            )))
        } else {
            Ok(())
        }
    };
    for (i, seg) in file.segments().enumerate() {
        let (offset, size) = seg.file_range();
        check(&format!("segment {i}"), offset, size)?;
    }
    for sec in file.sections() {
        if let Some((offset, size)) = sec.file_range() {
            check(&format!("section {}", sec.name().unwrap_or("?")), offset, size)?;
        }
    }
    let wanted = PLUGIN_SYMBOL.as_bytes();
    let mut found = false;
    for export in file.exports().map_err(|e| truncated(format!("its dynamic symbol table cannot be read: {e}")))? {
        let export = export.map_err(|e| truncated(format!("its dynamic symbol table cannot be read: {e}")))?;
        // Mach-O symbol names carry a leading underscore.
        if let object::NameOrOrdinal::Name(name) = export.name() {
            found |= name == wanted || name.strip_prefix(b"_") == Some(wanted);
        }
    }
    if !found {
        return Err(LoadError::NotAPlugin { path: path.to_path_buf() });
    }
    Ok(())
}

/// Loads the library at `path` as a new generation: shadow copy into `cache_dir`, ABI and
/// version checks, descriptors. The library stays mapped for the rest of the process.
pub fn load_library(path: &Path, cache_dir: &Path) -> Result<(Arc<Library>, Vec<EffectInfo>), LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::Io { path: path.to_path_buf(), reason: e.to_string() })?;
    const MAGICS: [&[u8]; 6] =
        [b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xcf"];
    if !MAGICS.iter().any(|m| bytes.starts_with(m)) {
        return Err(LoadError::NotALibrary {
            path: path.to_path_buf(),
            reason: format!("not a shared library ({} bytes, unrecognized file header)", bytes.len()),
        });
    }
    inspect(path, &bytes)?;
    let content_hash = blake3::hash(&bytes).to_hex().to_string();
    let generation = next_generation();
    let copy = shadow_copy(path, &bytes, cache_dir, generation)?;
    let loaded = lib_header_from_path(&copy).and_then(|h| h.init_root_module::<PluginModuleRef>());
    let module = match loaded {
        Ok(m) => m,
        Err(e) => {
            // Nothing was mapped, or what was is unusable: the copy can go.
            let _ = std::fs::remove_file(&copy);
            return Err(classify(path, e));
        }
    };
    let info = (module.library())();
    if !info.panic_unwind {
        return Err(LoadError::Rejected {
            path: path.to_path_buf(),
            reason: "built with panic = \"abort\": a panic in an effect could not be contained; build it with \
                     panic = \"unwind\" (the default)"
                .into(),
        });
    }
    let library = Arc::new(Library {
        name: info.name.to_string(),
        version: info.version.to_string(),
        path: path.to_path_buf(),
        loaded_from: copy,
        content_hash,
        generation,
        module,
    });
    let descriptors = (module.effects())().into_result().map_err(|e| LoadError::Rejected {
        path: path.to_path_buf(),
        reason: format!("listing its effects failed: {e}"),
    })?;
    let effects = descriptors
        .iter()
        .enumerate()
        .map(|(i, d)| read_effect(*d, i as u32, &library))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| LoadError::Rejected { path: path.to_path_buf(), reason })?;
    let mut ids = std::collections::HashSet::new();
    for e in &effects {
        if !ids.insert(e.id.as_str()) {
            return Err(LoadError::Rejected {
                path: path.to_path_buf(),
                reason: format!("effect `{}` is exported twice", e.id),
            });
        }
    }
    Ok((library, effects))
}

/// Removes shadow copies left in `cache_dir` by processes that no longer run.
pub fn clean_stale_copies(cache_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(cache_dir) else { return };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) =
            name.rsplit_once("-p").and_then(|(_, rest)| rest.split('.').next()).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The default cache folder for shadow copies: `$XDG_CACHE_HOME/fxchain/plugins` or the system
/// temporary folder.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("fxchain").join("plugins")
}
