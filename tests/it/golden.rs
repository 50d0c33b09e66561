//! Golden files: small committed PNGs compared with a tolerance, and text snapshots. A missing or
//! different golden fails; `REGENERATE=1 cargo test` rewrites them and prints what changed. A
//! mismatch writes the actual image to `tests/output/` for a person to look at.

use std::path::PathBuf;

use crate::support::root;

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

fn regenerating() -> bool {
    std::env::var_os("REGENERATE").is_some()
}

/// Compares `rgba` (w×h) with `tests/golden/<name>.png`; panics with the largest difference.
pub fn check(name: &str, w: u32, h: u32, rgba: &[u8], tolerance: u8) {
    let path = golden_dir().join(format!("{name}.png"));
    let want = image::open(&path).ok().map(|i| i.to_rgba8());
    let worst = match &want {
        Some(want) if want.width() == w && want.height() == h => {
            want.as_raw().iter().zip(rgba).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0)
        }
        _ => 255,
    };
    if regenerating() {
        if worst > 0 {
            std::fs::create_dir_all(golden_dir()).unwrap();
            image::RgbaImage::from_raw(w, h, rgba.to_vec()).unwrap().save(&path).unwrap();
            let was = if want.is_some() { format!("changed by up to {worst}") } else { "new".into() };
            eprintln!("REGENERATE: {} ({was})", path.display());
        }
        return;
    }
    if want.is_none() || worst > tolerance {
        let out = root().join("tests/output");
        std::fs::create_dir_all(&out).unwrap();
        let actual = out.join(format!("{name}.png"));
        image::RgbaImage::from_raw(w, h, rgba.to_vec()).unwrap().save(&actual).unwrap();
        panic!(
            "{name}: {} (tolerance {tolerance}); actual image written to {}; REGENERATE=1 cargo test rewrites it",
            if want.is_none() {
                format!("{} is missing", path.display())
            } else {
                format!("differs from {} by up to {worst}", path.display())
            },
            actual.display()
        );
    }
}

/// Compares `text` with `tests/golden/<name>`; panics with the first differing line.
pub fn check_text(name: &str, text: &str) {
    let path = golden_dir().join(name);
    let want = std::fs::read_to_string(&path).ok();
    if regenerating() {
        if want.as_deref() != Some(text) {
            std::fs::write(&path, text).unwrap();
            eprintln!("REGENERATE: {} ({})", path.display(), if want.is_some() { "changed" } else { "new" });
        }
        return;
    }
    let Some(want) = want else {
        panic!("{} is missing; REGENERATE=1 cargo test writes it", path.display());
    };
    if let Some((i, (a, b))) = want.lines().zip(text.lines()).enumerate().find(|(_, (a, b))| a != b) {
        panic!("{name} line {}: expected\n  {a}\nfound\n  {b}\n(REGENERATE=1 cargo test rewrites it)", i + 1);
    }
    assert_eq!(want.lines().count(), text.lines().count(), "{name}: line counts differ (REGENERATE=1 rewrites it)");
}
