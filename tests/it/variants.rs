//! Fast variants against their references: what `plugins list` reports, and the figures it
//! keeps per library.

use fxchain_host::api::Size;
use fxchain_host::probe::{measure_cached, photo_probe, psnr_rgb, PHOTO_NAME};

use crate::support::{fxchain, plugin_dir, registry, stdout};

fn measured(list: &serde_json::Value, id: &str) -> serde_json::Value {
    list["effects"].as_array().unwrap().iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("{id} listed"))
        ["measured"]
        .clone()
}

#[test]
fn plugins_list_measures_on_the_photo_once_per_library() {
    let d = tempfile::tempdir().unwrap();
    let list = || {
        let o = fxchain(&["plugins", "list", "--json", "--probe-size", "256"], &[plugin_dir()], d.path());
        assert!(o.status.success(), "{o:?}");
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let first = list();
    let g = measured(&first, "blur.gaussian.fast");
    assert_eq!(g["image"], PHOTO_NAME);
    assert_eq!(g["psnr_channels"], "rgb");
    assert_eq!(g["cached"], false);
    // At the default σ = 2 the fast Gaussian blurs at half resolution: about 53 dB from the exact
    // blur on the photo (RGB), libvips-like accuracy (at least 45 dB).
    assert_eq!(g["identical"], false, "{g}");
    let db = g["psnr_db"].as_f64().unwrap();
    assert!((45.0..60.0).contains(&db), "{g}");
    // The fast unsharp mask (half-resolution blur, 16-bit sharpening) at least 40 dB.
    let u = measured(&first, "sharpen.unsharp.fast");
    let db = u["psnr_db"].as_f64().unwrap();
    assert!((40.0..60.0).contains(&db), "{u}");
    // The fast resize (a six-tap 2:1 stage of Lanczos3 at the default ½) differs from the
    // reference on the photo, by little.
    let r = measured(&first, "geometry.resize.fast");
    let db = r["psnr_db"].as_f64().unwrap();
    assert!((45.0..60.0).contains(&db), "{r}");
    // The second listing reads the figures back instead of measuring again.
    let second = list();
    let g2 = measured(&second, "blur.gaussian.fast");
    assert_eq!(g2["cached"], true);
    for k in ["psnr_db", "reference_ms", "variant_ms"] {
        assert_eq!(g2[k], g[k], "{k}");
    }
    let files = std::fs::read_dir(d.path().join(".cache/fxchain/variants")).unwrap().count();
    assert!(files >= 3, "one file per variant: {files}");
}

#[test]
fn cached_figures_are_the_measured_ones_and_the_psnr_is_over_rgb() {
    let reg = registry();
    let variant = reg.effect("geometry.resize.fast").expect("fast resize");
    let dir = tempfile::tempdir().unwrap();
    let size = Size::new(256, 192);
    let fresh = measure_cached(reg, variant, size, 1, dir.path()).unwrap().unwrap();
    assert!(!fresh.cached);
    let again = measure_cached(reg, variant, size, 1, dir.path()).unwrap().unwrap();
    assert!(again.cached);
    assert_eq!(
        (again.psnr, again.reference_time, again.variant_time),
        (fresh.psnr, fresh.reference_time, fresh.variant_time)
    );
    let other = measure_cached(reg, variant, Size::new(256, 193), 1, dir.path()).unwrap().unwrap();
    assert!(!other.cached, "another size is measured anew");
    // The probe is the opaque photo; the reported PSNR is over R, G and B of the two renders.
    let photo = photo_probe(size);
    assert!(photo.to_rgba8_vec().chunks_exact(4).all(|p| p[3] == 255));
    assert!(fresh.psnr > 40.0 && fresh.psnr.is_finite(), "{}", fresh.psnr);
    assert!(psnr_rgb(&photo, &photo).is_infinite());
}
