//! Building plugins and fixtures, running the CLI, reading images.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use fxchain_host::{Registry, RegistryOptions};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

fn profile() -> (&'static str, &'static str) {
    if cfg!(debug_assertions) {
        ("dev", "debug")
    } else {
        ("release", "release")
    }
}

/// Serializes cargo invocations from this test binary (cargo would block on its lock anyway).
fn cargo_lock() -> &'static Mutex<()> {
    static L: OnceLock<Mutex<()>> = OnceLock::new();
    L.get_or_init(|| Mutex::new(()))
}

fn run_cargo(args: &[&str], dir: &Path) {
    let _g = cargo_lock().lock().unwrap_or_else(|e| e.into_inner());
    run_cargo_locked(args, dir);
}

/// Runs cargo; the caller holds `cargo_lock`.
fn run_cargo_locked(args: &[&str], dir: &Path) {
    let out = Command::new(cargo()).args(args).current_dir(dir).output().expect("run cargo");
    assert!(out.status.success(), "cargo {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Builds the workspace's plugins (same profile as the tests) and returns their folder.
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let (profile, folder) = profile();
        // Every cdylib under plugins/.
        let mut names = Vec::new();
        for e in std::fs::read_dir(root().join("plugins")).unwrap().flatten() {
            let Ok(m) = std::fs::read_to_string(e.path().join("Cargo.toml")) else { continue };
            if m.contains("\"cdylib\"") {
                names.push(package_name(&m));
            }
        }
        let mut args = vec!["build", "--profile", profile, "--offline"];
        for n in &names {
            args.push("-p");
            args.push(n);
        }
        run_cargo(&args, &root());
        target_dir().join(folder)
    })
}

/// A registry over the workspace plugins, with shadow copies in a private cache folder.
pub fn registry() -> &'static Registry {
    shared_registry_ref()
}

/// [`registry`], shared (for the job API).
pub fn shared_registry() -> std::sync::Arc<Registry> {
    shared_registry_ref();
    SHARED.get().expect("set above").clone()
}

static SHARED: OnceLock<std::sync::Arc<Registry>> = OnceLock::new();

fn shared_registry_ref() -> &'static Registry {
    SHARED.get_or_init(|| {
        let cache = tempfile::tempdir().expect("tempdir").keep();
        let reg = Registry::load(&RegistryOptions {
            plugin_dirs: vec![plugin_dir().to_path_buf()],
            cache_dir: Some(cache),
            ..Default::default()
        });
        // The build folder also holds libraries that are no plugins (the derive macros).
        let errors: Vec<_> =
            reg.errors().iter().filter(|e| !matches!(e, fxchain_host::LoadError::NotAPlugin { .. })).collect();
        assert!(errors.is_empty(), "plugins failed to load: {errors:?}");
        std::sync::Arc::new(reg)
    })
}

/// Copies the crate at `src` into a temporary folder with its path dependencies made absolute and
/// the workspace's `Cargo.lock`, lets `edit` change files, builds it offline into
/// `target/fixtures` and returns the built library (copied to a fresh folder of its own).
pub fn build_crate(src: &Path, key: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    if let Some(p) = built.lock().unwrap().get(key) {
        return p.clone();
    }
    let work = tempfile::tempdir().expect("tempdir").keep();
    let dst = work.join("crate");
    copy_dir(src, &dst);
    let manifest = dst.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    // Relative paths in the copied manifest are resolved against the original folder.
    let text = rewrite_paths(&text, src);
    std::fs::write(&manifest, text).unwrap();
    std::fs::copy(root().join("Cargo.lock"), dst.join("Cargo.lock")).unwrap();
    edit(&dst);
    let target = target_dir().join("fixtures");
    let (profile, folder) = profile();
    // Hold the lock until the library is copied out: the next build of a crate with the same name
    // replaces the file in the shared target folder.
    let _g = cargo_lock().lock().unwrap_or_else(|e| e.into_inner());
    run_cargo_locked(
        &[
            "build",
            "--offline",
            "--profile",
            profile,
            "--target-dir",
            target.to_str().unwrap(),
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
        &dst,
    );
    let pkg = package_name(&std::fs::read_to_string(&manifest).unwrap());
    let file = format!("{}{}{}", std::env::consts::DLL_PREFIX, pkg.replace('-', "_"), std::env::consts::DLL_SUFFIX);
    let lib = target.join(folder).join(&file);
    let out_dir = work.join("lib");
    std::fs::create_dir_all(&out_dir).unwrap();
    let copy = out_dir.join(&file);
    std::fs::copy(&lib, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", lib.display()));
    built.lock().unwrap().insert(key.to_string(), copy.clone());
    copy
}

/// Builds the fixture crate `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    build_crate(&root().join("tests/fixtures").join(name), name, |_| {})
}

fn package_name(manifest: &str) -> String {
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("name = ").map(|v| v.trim_matches('"').to_string()))
        .expect("package name")
}

fn rewrite_paths(manifest: &str, base: &Path) -> String {
    let mut out = String::new();
    for line in manifest.lines() {
        if let Some(start) = line.find("path = \"") {
            let rest = &line[start + 8..];
            let end = rest.find('"').unwrap();
            let abs = base.join(&rest[..end]).canonicalize().unwrap();
            out.push_str(&line[..start + 8]);
            out.push_str(abs.to_str().unwrap());
            out.push_str(&rest[end..]);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &dst.join(&name));
        } else {
            std::fs::copy(&p, dst.join(&name)).unwrap();
        }
    }
}

/// A folder holding only the given libraries (copied).
pub fn dir_with(libs: &[&Path]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for l in libs {
        std::fs::copy(l, d.path().join(l.file_name().unwrap())).unwrap();
    }
    d
}

/// Runs the `fxchain` binary with only `plugin_dirs` (no defaults), in `cwd`.
pub fn fxchain(args: &[&str], plugin_dirs: &[&Path], cwd: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fxchain"));
    cmd.arg("--no-default-plugins");
    for d in plugin_dirs {
        cmd.arg("--plugin-dir").arg(d);
    }
    cmd.args(args).current_dir(cwd).env_remove("FXCHAIN_PLUGIN_PATH").env("XDG_CACHE_HOME", cwd.join(".cache"));
    cmd.output().expect("run fxchain")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Decodes a PNG into (width, height, RGBA8).
pub fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let img = image::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display())).to_rgba8();
    (img.width(), img.height(), img.into_raw())
}

/// A deterministic pseudo-random RGBA8 image.
pub fn random_rgba8(w: u32, h: u32, seed: u64, opaque: bool) -> Vec<u8> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..w * h * 4)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if opaque && i % 4 == 3 {
                255
            } else {
                (s >> 56) as u8
            }
        })
        .collect()
}

/// Points the crate copied in `dir` at a copy of `plugin-api` with its version set to `version`
/// (a different ABI version).
pub fn use_api_version(dir: &Path, version: &str) {
    let api = dir.join("api");
    copy_dir(&root().join("plugin-api"), &api);
    let m = api.join("Cargo.toml");
    let t = std::fs::read_to_string(&m).unwrap().replacen(
        &format!("version = \"{}\"", fxchain_host::api::abi::ABI_VERSION),
        &format!("version = \"{version}\""),
        1,
    );
    let t = t
        .replace("edition.workspace = true", "edition = \"2021\"")
        .replace("license.workspace = true", "")
        .replace("abi_stable.workspace = true", "abi_stable = \"0.11\"")
        .replace("bytemuck.workspace = true", "bytemuck = { version = \"1\", features = [\"derive\"] }");
    // The author guide's doctests need the workspace's fxkit; a copy builds without them.
    let t = match t.find("[dev-dependencies]") {
        Some(i) => t[..i].to_string(),
        None => t,
    };
    std::fs::write(&m, t).unwrap();
    let mm = api.join("macros/Cargo.toml");
    let t = std::fs::read_to_string(&mm)
        .unwrap()
        .replace("edition.workspace = true", "edition = \"2021\"")
        .replace("license.workspace = true", "");
    std::fs::write(&mm, t).unwrap();
    let manifest = dir.join("Cargo.toml");
    let t = std::fs::read_to_string(&manifest).unwrap();
    let t = t
        .lines()
        .map(|l| {
            if l.starts_with("fxchain-plugin-api") {
                "fxchain-plugin-api = { path = \"api\" }".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&manifest, t).unwrap();
}

/// Puts `lib` into `dir` the way cargo does: a new file renamed over the old one.
pub fn install(lib: &Path, dir: &Path) -> PathBuf {
    let target = dir.join(lib.file_name().unwrap());
    let tmp = dir.join(".installing.partial");
    std::fs::copy(lib, &tmp).unwrap();
    std::fs::rename(&tmp, &target).unwrap();
    target
}
