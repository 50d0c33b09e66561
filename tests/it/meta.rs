//! Metadata, colour management and provenance, checked with the real tools: `exiftool`
//! (Debian `libimage-exiftool-perl`), ImageMagick's `convert` and the ICC profiles of
//! `icc-profiles-free`, which `.ci/run` installs.

use std::path::{Path, PathBuf};
use std::process::Command;

use fxchain_host::io::{Metadata, OutputFormat};

use crate::reload;
use crate::support::{dir_with, fxchain, install, plugin_dir, read_png, root, stderr, stdout};

const SRGB_ICC: &str = "/usr/share/color/icc/sRGB.icc";
const ADOBE_ICC: &str = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc";
/// A chain that leaves the pixels as they are.
const IDENTITY: &str = r#"(steps: [(effect: "color.brightness", params: {"amount": 1.0})])"#;

fn tool(name: &str) -> String {
    let found = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().unwrap();
    assert!(found.status.success(), "{name} is not installed (.ci/run installs it)");
    String::from_utf8(found.stdout).unwrap().trim().to_string()
}

fn exiftool(file: &Path, tags: &[&str]) -> serde_json::Value {
    let out = Command::new(tool("exiftool")).args(["-j", "-n"]).args(tags).arg(file).output().unwrap();
    assert!(out.status.success(), "exiftool {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

fn check(o: &std::process::Output) {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), stderr(o));
}

/// A 64×48 photo-like JPEG with an sRGB profile, EXIF orientation 6 (rotate 90° clockwise) and a
/// camera model, written by exiftool.
fn camera_jpeg(dir: &Path) -> PathBuf {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
    let path = dir.join("camera.jpg");
    img.save(&path).unwrap();
    let o = Command::new(tool("exiftool"))
        .args(["-q", "-overwrite_original", "-Orientation#=6", "-Model=Test Camera"])
        .arg(format!("-ICC_Profile<={SRGB_ICC}"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    path
}

#[test]
fn icc_and_exif_are_kept_with_orientation_1_and_dropped_with_strip() {
    let d = tempfile::tempdir().unwrap();
    let input = camera_jpeg(d.path());
    let chain = d.path().join("id.ron");
    std::fs::write(&chain, IDENTITY).unwrap();
    let want_icc = exiftool(&input, &["-ICC_Profile:ProfileDescription"])["ProfileDescription"].clone();
    assert!(want_icc.is_string(), "{want_icc}");
    for ext in ["jpg", "png", "webp", "tiff"] {
        let out = d.path().join(format!("out.{ext}"));
        let o = fxchain(&["run", "id.ron", "-i", "camera.jpg", "-o", out.to_str().unwrap()], &[plugin_dir()], d.path());
        check(&o);
        let tags =
            exiftool(&out, &["-ICC_Profile:ProfileDescription", "-EXIF:Orientation", "-EXIF:Model", "-ImageWidth"]);
        assert_eq!(tags["ProfileDescription"], want_icc, "{ext}: {tags}");
        // The decoder applied the rotation: the pixels are 48 wide and the tag says so.
        assert_eq!(tags["ImageWidth"], 48, "{ext}: {tags}");
        if ext != "tiff" {
            assert_eq!(tags["Orientation"], 1, "{ext}: {tags}");
            assert_eq!(tags["Model"], "Test Camera", "{ext}: {tags}");
        }
        let stripped = d.path().join(format!("stripped.{ext}"));
        let o = fxchain(
            &["run", "id.ron", "-i", "camera.jpg", "-o", stripped.to_str().unwrap(), "--strip", "--no-provenance"],
            &[plugin_dir()],
            d.path(),
        );
        check(&o);
        // A TIFF's own fields are EXIF to exiftool: there, only ICC and XMP can be dropped.
        let groups: &[&str] = if ext == "tiff" {
            &["-ICC_Profile:all", "-XMP:all"]
        } else {
            &["-ICC_Profile:all", "-EXIF:all", "-XMP:all"]
        };
        let tags = exiftool(&stripped, groups);
        let keys: Vec<&String> = tags.as_object().unwrap().keys().filter(|k| *k != "SourceFile").collect();
        assert!(keys.is_empty(), "{ext}: {keys:?}");
        // The pixels are the same either way.
        let a = image::open(&out).unwrap().to_rgba8();
        let b = image::open(&stripped).unwrap().to_rgba8();
        assert_eq!(a, b, "{ext}");
    }
}

/// A 48×32 PNG of saturated and pastel colours tagged with the Adobe RGB (1998) compatible
/// profile.
fn adobe_png(dir: &Path) -> PathBuf {
    let img = image::RgbaImage::from_fn(48, 32, |x, y| {
        image::Rgba([(x * 255 / 47) as u8, (y * 255 / 31) as u8, ((x + y) * 3 % 256) as u8, 255])
    });
    let mut c = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img).write_to(&mut c, image::ImageFormat::Png).unwrap();
    let icc = std::fs::read(ADOBE_ICC).expect("icc-profiles-free is installed (.ci/run)");
    let meta = Metadata { icc: Some(icc), ..Default::default() };
    let bytes = fxchain_host::meta::embed(c.get_ref(), OutputFormat::Png, &meta).unwrap();
    let path = dir.join("adobe.png");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn adobe_rgb_input_is_converted_to_srgb_like_imagemagick_or_kept_with_keep_profile() {
    let d = tempfile::tempdir().unwrap();
    let input = adobe_png(d.path());
    std::fs::write(d.path().join("id.ron"), IDENTITY).unwrap();
    check(&fxchain(&["run", "id.ron", "-i", "adobe.png", "-o", "out.png"], &[plugin_dir()], d.path()));
    let reference = d.path().join("magick.png");
    // Debian's ImageMagick by its path: another `convert` may come first in PATH.
    let o = Command::new("/usr/bin/convert").arg(&input).args(["-profile", SRGB_ICC]).arg(&reference).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (w, h, ours) = read_png(&d.path().join("out.png"));
    let (_, _, theirs) = read_png(&reference);
    let (_, _, original) = read_png(&input);
    assert_eq!((w, h), (48, 32));
    let diff = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
    let max = diff(&ours, &theirs);
    let off = ours.iter().zip(&theirs).filter(|(x, y)| x != y).count();
    println!("Adobe RGB -> sRGB: max difference to ImageMagick {max} levels, {off} of {} values differ", ours.len());
    assert!(max <= 1, "max difference to ImageMagick: {max} levels");
    // A real conversion happened (Adobe RGB greens are far outside sRGB).
    assert!(diff(&ours, &original) > 20, "{}", diff(&ours, &original));
    // Converted pixels are sRGB: the output carries no profile.
    assert_eq!(fxchain_host::meta::read_file(&d.path().join("out.png")).unwrap().icc, None);
    // --keep-profile: the pixels stay, tagged with the input's profile.
    check(&fxchain(
        &["run", "id.ron", "-i", "adobe.png", "-o", "kept.png", "--keep-profile"],
        &[plugin_dir()],
        d.path(),
    ));
    let (_, _, kept) = read_png(&d.path().join("kept.png"));
    assert_eq!(kept, original);
    let tags = exiftool(&d.path().join("kept.png"), &["-ICC_Profile:ProfileDescription"]);
    let want = exiftool(&input, &["-ICC_Profile:ProfileDescription"]);
    assert_eq!(tags["ProfileDescription"], want["ProfileDescription"]);
}

/// The example chains, each with the sample image as its input.
fn example_chains() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples/chains"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

#[test]
fn replay_reports_identical_for_every_example_chain_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("examples/images/sample.png"), d.path().join("sample.png")).unwrap();
    let chains = example_chains();
    assert!(chains.len() >= 10, "{chains:?}");
    for (i, chain) in chains.iter().enumerate() {
        let ext = ["png", "jpg", "webp", "tiff"][i % 4];
        let name = chain.file_stem().unwrap().to_string_lossy().to_string();
        let out = format!("{name}.{ext}");
        let c = chain.to_str().unwrap();
        check(&fxchain(&["run", c, "-i", "sample.png", "-o", &out, "-q"], &[plugin_dir()], d.path()));
        let o = fxchain(&["replay", &out], &[plugin_dir()], d.path());
        assert_eq!(o.status.code(), Some(0), "{name}: {}{}", stdout(&o), stderr(&o));
        assert_eq!(stdout(&o).trim(), "identical", "{name}");
    }
    // The record: chain, plugins with hashes, inputs with hashes, versions.
    let record = fxchain_host::provenance::read(&d.path().join("blur.png")).unwrap();
    assert_eq!(record.schema_version, 1);
    assert_eq!(record.fxchain_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(record.chain, std::fs::read_to_string(root().join("examples/chains/blur.ron")).unwrap());
    assert!(
        record.plugins.iter().any(|p| p.name == "fxchain-blur" && p.content_hash.len() == 64),
        "{:?}",
        record.plugins
    );
    let sample = std::fs::read(root().join("examples/images/sample.png")).unwrap();
    assert_eq!(record.inputs[0].hash, blake3_hex(&sample));
}

fn blake3_hex(b: &[u8]) -> String {
    fxchain_host::loader::content_hash(b)
}

#[test]
fn overrides_are_recorded_applied_and_inputs_are_found_by_hash() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("examples/images/sample.png"), d.path().join("sample.png")).unwrap();
    let chain = root().join("examples/chains/photo.ron");
    let c = chain.to_str().unwrap();
    let o = fxchain(
        &["run", c, "-i", "sample.png", "-o", "p.jpg", "--set", "color.contrast.amount=1.4", "--quality", "fast"],
        &[plugin_dir()],
        d.path(),
    );
    check(&o);
    let record = fxchain_host::provenance::read(&d.path().join("p.jpg")).unwrap();
    assert!(record.chain.contains("\"amount\": 1.4"), "{}", record.chain);
    assert_eq!(record.quality.as_deref(), Some("fast"));
    // exiftool reads the record from the XMP packet.
    let tags = exiftool(&d.path().join("p.jpg"), &["-XMP-fxchain:all"]);
    let json: serde_json::Value = serde_json::from_str(tags["Fxchain"].as_str().unwrap()).unwrap();
    assert_eq!(json["quality"], "fast");
    // The input moved: not found at its path, then found by hash in a folder.
    std::fs::create_dir(d.path().join("moved")).unwrap();
    std::fs::rename(d.path().join("sample.png"), d.path().join("moved/renamed.png")).unwrap();
    let o = fxchain(&["replay", "p.jpg"], &[plugin_dir()], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("input `input` (sample.png"), "{}", stderr(&o));
    let o = fxchain(&["replay", "p.jpg", "--input-dir", "moved"], &[plugin_dir()], d.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).trim(), "identical");
    // --no-provenance: nothing to replay.
    let o =
        fxchain(&["run", c, "-i", "moved/renamed.png", "-o", "n.png", "--no-provenance"], &[plugin_dir()], d.path());
    check(&o);
    let o = fxchain(&["replay", "n.png"], &[plugin_dir()], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no provenance record"), "{}", stderr(&o));
}

#[test]
fn replay_names_the_step_and_plugin_after_a_rebuild_with_another_formula() {
    let d = tempfile::tempdir().unwrap();
    let plugins = dir_with(&[&reload::build("v1")]);
    std::fs::copy(root().join("examples/images/sample.png"), d.path().join("sample.png")).unwrap();
    std::fs::write(
        d.path().join("c.ron"),
        r#"(steps: [(effect: "color.brightness", params: {"amount": 1.1}), (id: "paint", effect: "reload.fill")])"#,
    )
    .unwrap();
    let dirs = [plugins.path(), plugin_dir()];
    check(&fxchain(&["run", "c.ron", "-i", "sample.png", "-o", "out.png"], &dirs, d.path()));
    let o = fxchain(&["replay", "out.png"], &dirs, d.path());
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(0), "identical"), "{}", stderr(&o));
    install(&reload::build("v2"), plugins.path());
    let o = fxchain(&["replay", "out.png"], &dirs, d.path());
    let s = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{s}{}", stderr(&o));
    assert!(s.contains("plugin fxchain-fixture-reload changed"), "{s}");
    assert!(s.contains("first differing step: #2 \"paint\""), "{s}");
    assert!(s.contains("differs: PSNR"), "{s}");
    // The same as JSON.
    let o = fxchain(&["replay", "out.png", "--json"], &dirs, d.path());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["identical"], false);
    assert_eq!(v["changed_plugins"][0]["name"], "fxchain-fixture-reload");
    assert!(v["psnr_db"].as_f64().unwrap() < 20.0, "{v}");
}

#[test]
fn batch_outputs_keep_metadata_and_replay_identical() {
    let d = tempfile::tempdir().unwrap();
    let input = camera_jpeg(d.path());
    std::fs::create_dir(d.path().join("in")).unwrap();
    std::fs::rename(&input, d.path().join("in/camera.jpg")).unwrap();
    let chain = root().join("examples/chains/photo.ron");
    let o = fxchain(
        &["batch", chain.to_str().unwrap(), "--input-dir", "in", "--output-dir", "out", "--format", "webp", "-q"],
        &[plugin_dir()],
        d.path(),
    );
    check(&o);
    let out = d.path().join("out/camera.webp");
    let tags = exiftool(&out, &["-EXIF:Orientation", "-EXIF:Model", "-ICC_Profile:ProfileDescription"]);
    assert_eq!((tags["Orientation"].clone(), tags["Model"].clone()), (1.into(), "Test Camera".into()), "{tags}");
    assert!(tags["ProfileDescription"].is_string(), "{tags}");
    let o = fxchain(&["replay", "out/camera.webp"], &[plugin_dir()], d.path());
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(0), "identical"), "{}", stderr(&o));
}
