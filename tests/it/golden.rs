//! Golden images: small committed PNGs compared with a tolerance. `REGENERATE=1 cargo test`
//! rewrites them; a mismatch writes the actual image to `tests/output/` for a person to look at.

use std::path::PathBuf;

use crate::support::root;

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

/// Compares `rgba` (w×h) with `tests/golden/<name>.png`; panics with the largest difference.
pub fn check(name: &str, w: u32, h: u32, rgba: &[u8], tolerance: u8) {
    let path = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("REGENERATE").is_some() || !path.exists() && std::env::var_os("CI").is_none() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        image::RgbaImage::from_raw(w, h, rgba.to_vec()).unwrap().save(&path).unwrap();
        return;
    }
    let want = image::open(&path).unwrap_or_else(|e| panic!("golden {}: {e}", path.display())).to_rgba8();
    let ok_size = want.width() == w && want.height() == h;
    let worst =
        if ok_size { want.as_raw().iter().zip(rgba).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0) } else { 255 };
    if !ok_size || worst > tolerance {
        let out = root().join("tests/output");
        std::fs::create_dir_all(&out).unwrap();
        let actual = out.join(format!("{name}.png"));
        image::RgbaImage::from_raw(w, h, rgba.to_vec()).unwrap().save(&actual).unwrap();
        panic!(
            "{name}: differs from {} by up to {worst} (tolerance {tolerance}); actual image written to {}",
            path.display(),
            actual.display()
        );
    }
}
