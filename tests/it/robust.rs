//! Bad chains, bad images, bad plugins and faults: one clear error each, nothing lost.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fxchain_host::api::PixelFormat;
use fxchain_host::chain::{self, ChainError};
use fxchain_host::io::{load_image, ImageLimits};
use fxchain_host::ChainSource;

use crate::support::{dir_with, fixture, fxchain, plugin_dir, read_png, registry, root, stderr};

/// Validates `text`; returns the first diagnostic's message and location, within a time bound.
fn first_error(text: &str) -> (String, Option<(usize, usize)>) {
    let t = Instant::now();
    let r = chain::validate(ChainSource::from_text("bad.ron", text), registry(), &[]);
    assert!(t.elapsed() < Duration::from_secs(10), "validation took {:?}", t.elapsed());
    match r {
        Ok(_) => panic!("expected an error for {text:.80}"),
        Err(e) => {
            let d = e.diagnostics();
            match d.first() {
                Some(d) => (d.message.clone(), d.span.map(|s| (s.start.line, s.start.col))),
                None => (e.to_string(), None),
            }
        }
    }
}

#[test]
fn bad_chains_get_one_clear_error_each() {
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "the chain file is empty"),
        ("(steps: [(effect: \"color.invert\",".into(), "Unexpected end of RON"),
        ("(steps: [], colour: 1)".into(), "unknown field `colour`"),
        ("(steps: [(effect: 7)])".into(), "string"),
        ("(seed: \"x\", steps: [])".into(), "integer"),
        ("(steps: [(effect: \"blur.gaussian\", params: {\"sigma\": inf})])".into(), "must be a finite number"),
        ("(steps: [(effect: \"blur.gaussian\", params: {\"sigma\": 9999.0})])".into(), "out of its range"),
        (format!("(steps: [{}])", "[".repeat(500)), "Expected opening `(` for struct `StepFile`"),
        (format!("(vars: {{\"a\": {}}}, steps: [])", "[".repeat(500)), "Expected float"),
        ("(steps: [])".into(), "the chain has no steps"),
    ];
    for (text, want) in &cases {
        let (msg, at) = first_error(text);
        assert!(msg.contains(want), "{text:.60}: got {msg:?}, want {want:?}");
        assert!(at.is_some() || msg.contains("no steps"), "{text:.60}: no location for {msg:?}");
    }
    // Thousands of steps, one of them wrong: the error points at it.
    let mut big = String::from("(steps: [\n");
    for i in 0..5000 {
        big.push_str(if i == 4321 { "  (effect: \"color.invertt\"),\n" } else { "  (effect: \"color.invert\"),\n" });
    }
    big.push_str("])\n");
    let (msg, at) = first_error(&big);
    assert_eq!(msg, "unknown effect `color.invertt`");
    assert_eq!(at, Some((4323, 12)));
    // Thousands of wrong steps: all reported, quickly.
    let many = "(steps: [".to_string() + &"(effect: \"nope\"),".repeat(3000) + "])";
    let t = Instant::now();
    let e = chain::validate(ChainSource::from_text("m.ron", many), registry(), &[]).unwrap_err();
    assert_eq!(e.diagnostics().len(), 3000);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn unreadable_chain_files_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("latin1.ron");
    std::fs::write(&bad, b"(steps: [(effect: \"caf\xe9\")])").unwrap();
    match ChainSource::from_path(&bad) {
        Err(ChainError::Io { reason, .. }) => {
            assert!(reason.contains("latin1.ron:1:23: the file is not valid UTF-8"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let huge = dir.path().join("huge.ron");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(fxchain_host::chain::MAX_CHAIN_BYTES + 1).unwrap();
    match ChainSource::from_path(&huge) {
        Err(ChainError::Io { reason, .. }) => assert!(reason.contains("limited to"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The CLI reports them with exit code 2.
    let o = fxchain(&["chain", "check", bad.to_str().unwrap()], &[plugin_dir()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not valid UTF-8"));
}

#[test]
fn the_fuzz_corpus_replays_without_panics() {
    let corpus = root().join("fuzz/corpus/chain");
    let mut n = 0;
    for e in std::fs::read_dir(&corpus).unwrap().flatten() {
        let bytes = std::fs::read(e.path()).unwrap();
        let Ok(text) = String::from_utf8(bytes) else { continue };
        let t = Instant::now();
        let _ = chain::validate(ChainSource::from_text("fuzz.ron", text.clone()), registry(), &[]);
        let _ =
            chain::validate(ChainSource::from_text("fuzz.ron", text.clone()), &fxchain_host::Registry::default(), &[]);
        let _ = chain::edit::format(&text);
        let _ = chain::edit::move_step(&text, 0, 1);
        let _ = chain::edit::set_enabled(&text, 0, false);
        assert!(t.elapsed() < Duration::from_secs(5), "{}", e.path().display());
        n += 1;
    }
    assert!(n >= 10);
}

fn encode(img: &image::DynamicImage, fmt: image::ImageFormat) -> Vec<u8> {
    let mut c = std::io::Cursor::new(Vec::new());
    img.write_to(&mut c, fmt).unwrap();
    c.into_inner()
}

fn load(path: &Path) -> Result<(u32, u32), String> {
    load_image(path, PixelFormat::RGBA8, ImageLimits::default())
        .map(|f| (f.size().width, f.size().height))
        .map_err(|e| e.to_string())
}

#[test]
fn bad_images_fail_with_a_message_and_odd_ones_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rgba = image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(40, 30, |x, y| {
        image::Rgba([x as u8 * 6, y as u8 * 8, 99, 200])
    }));
    let rgb = image::DynamicImage::ImageRgb8(rgba.to_rgb8());
    for (ext, fmt, img) in [
        ("png", image::ImageFormat::Png, &rgba),
        ("jpg", image::ImageFormat::Jpeg, &rgb),
        ("webp", image::ImageFormat::WebP, &rgba),
        ("tiff", image::ImageFormat::Tiff, &rgba),
    ] {
        let bytes = encode(img, fmt);
        let good = d.join(format!("good.{ext}"));
        std::fs::write(&good, &bytes).unwrap();
        assert_eq!(load(&good), Ok((40, 30)), "{ext}");
        let truncated = d.join(format!("truncated.{ext}"));
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let e = load(&truncated).unwrap_err();
        assert!(e.contains(&format!("truncated.{ext}")) && e.contains("cannot decode"), "{e}");
        let mut corrupt = bytes.clone();
        for b in corrupt.iter_mut().skip(16).step_by(7) {
            *b ^= 0x5A;
        }
        let c = d.join(format!("corrupt.{ext}"));
        std::fs::write(&c, &corrupt).unwrap();
        // Corrupt data decodes to garbage or fails, but never panics.
        let _ = load(&c);
    }
    std::fs::write(d.join("empty.png"), b"").unwrap();
    assert!(load(&d.join("empty.png")).unwrap_err().contains("not an image"));
    let noise: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(d.join("noise.png"), &noise).unwrap();
    assert!(load(&d.join("noise.png")).is_err());
    // An extension that lies: the content decides.
    std::fs::write(d.join("actually-png.jpg"), encode(&rgba, image::ImageFormat::Png)).unwrap();
    assert_eq!(load(&d.join("actually-png.jpg")), Ok((40, 30)));
    // A tiny PNG that declares 100000×100000 pixels is refused before any allocation.
    let mut header = encode(&image::DynamicImage::ImageRgba8(image::RgbaImage::new(1, 1)), image::ImageFormat::Png);
    header[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    header[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&header[12..29]);
    header[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(d.join("bomb.png"), &header).unwrap();
    let t = Instant::now();
    let e = load(&d.join("bomb.png")).unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(500));
    assert!(e.contains("limit"), "{e}");
    // 16-bit, grey + alpha and palette images are converted.
    let g16 = image::DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(8, 4, |x, _| {
        image::Rgba([x as u16 * 8000, 65535, 0, 65535])
    }));
    std::fs::write(d.join("16.png"), encode(&g16, image::ImageFormat::Png)).unwrap();
    let f = load_image(&d.join("16.png"), PixelFormat::RGBA8, ImageLimits::default()).unwrap();
    assert_eq!(&f.to_rgba8_vec()[4..8], &[31, 255, 0, 255]);
    let la = image::DynamicImage::ImageLumaA8(image::ImageBuffer::from_fn(5, 5, |_, _| image::LumaA([90u8, 128])));
    std::fs::write(d.join("la.png"), encode(&la, image::ImageFormat::Png)).unwrap();
    let f = load_image(&d.join("la.png"), PixelFormat::RGBA8, ImageLimits::default()).unwrap();
    assert_eq!(&f.to_rgba8_vec()[..4], &[90, 90, 90, 128]);
    // CMYK JPEG: converted to RGB.
    let mut cmyk = Vec::new();
    let data: Vec<u8> = (0..16 * 8).flat_map(|_| [0u8, 255, 255, 0]).collect();
    jpeg_encoder::Encoder::new(&mut cmyk, 95).encode(&data, 16, 8, jpeg_encoder::ColorType::Cmyk).unwrap();
    std::fs::write(d.join("cmyk.jpg"), &cmyk).unwrap();
    let f = load_image(&d.join("cmyk.jpg"), PixelFormat::RGBA8, ImageLimits::default()).unwrap();
    assert_eq!((f.size().width, f.size().height), (16, 8));
    let px = f.to_rgba8_vec();
    assert!(px[0] > 200 && px[1] < 60 && px[2] < 60 && px[3] == 255, "CMYK red decodes as red: {:?}", &px[..4]);
    // Palette PNG, written by hand: 2×1, colours red and blue.
    let palette = palette_png();
    std::fs::write(d.join("pal.png"), &palette).unwrap();
    let f = load_image(&d.join("pal.png"), PixelFormat::RGBA8, ImageLimits::default()).unwrap();
    assert_eq!(f.to_rgba8_vec(), vec![255, 0, 0, 255, 0, 0, 255, 255]);
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn palette_png() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(2u32.to_be_bytes());
    ihdr.extend(1u32.to_be_bytes());
    ihdr.extend([8, 3, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"PLTE", &[255, 0, 0, 0, 0, 255]);
    // zlib stored block: filter byte 0, indices 0 and 1.
    let raw = [0u8, 0, 1];
    let mut z = vec![0x78, 0x01, 0x01, 3, 0, 0xFC, 0xFF];
    z.extend(raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    z.extend(((b << 16) | a).to_be_bytes());
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn exif_orientation_is_honoured_and_limits_only_tighten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            image::Rgb([250, 0, 0])
        } else {
            image::Rgb([0, 0, 250])
        }
    }));
    let jpeg = encode(&img, image::ImageFormat::Jpeg);
    // An APP1 Exif segment with Orientation = 6 (rotate 90° clockwise), after SOI.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend([1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(&app1);
    out.extend(&jpeg[2..]);
    std::fs::write(d.join("rotated.jpg"), &out).unwrap();
    let f = load_image(&d.join("rotated.jpg"), PixelFormat::RGBA8, ImageLimits::default()).unwrap();
    assert_eq!((f.size().width, f.size().height), (20, 40), "orientation 6 swaps the sides");
    let px = f.to_rgba8_vec();
    assert!(px[0] > 200 && px[2] < 50, "red ends up on top after the rotation: {:?}", &px[..4]);
    // Flags may tighten the limits but never loosen them.
    let sample = root().join("examples/images/sample.png");
    let o = fxchain(
        &[
            "--max-width",
            "100",
            "run",
            root().join("examples/chains/photo.ron").to_str().unwrap(),
            "-i",
            sample.to_str().unwrap(),
            "-o",
            "x.png",
        ],
        &[plugin_dir()],
        d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("limit"), "{}", stderr(&o));
    let tight = ImageLimits::default().tighten(ImageLimits {
        max_width: 1 << 20,
        max_height: 100,
        max_pixels: u64::MAX,
        max_bytes: u64::MAX,
    });
    assert_eq!((tight.max_width, tight.max_height), (1 << 17, 100));
}

#[test]
fn a_failing_plugin_fails_only_its_images_and_a_deadline_abandons_a_runaway() {
    let lib = fixture("panicking");
    let dir = dir_with(&[&lib]);
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for (i, h) in [10u32, 60, 20, 80, 30].iter().enumerate() {
        image::RgbaImage::from_pixel(16, *h, image::Rgba([1, 2, 3, 255])).save(d.join(format!("in/{i}.png"))).unwrap();
    }
    std::fs::write(d.join("p.ron"), r#"(steps: [(effect: "fixture.panic_render", params: {"row": 40})])"#).unwrap();
    let o = fxchain(
        &["batch", "p.ron", "--input-dir", "in", "--output-dir", "out", "--report", "r.jsonl"],
        &[dir.path()],
        d,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("3 ok, 2 failed"), "{}", stderr(&o));
    let report = std::fs::read_to_string(d.join("r.jsonl")).unwrap();
    let failed: Vec<&str> = report.lines().filter(|l| l.contains("\"failed\"")).collect();
    assert!(
        failed.iter().all(|l| l.contains("\"stage\":\"plugin\"")
            && l.contains("fixture.panic_render")
            && l.contains("panicked")),
        "{report}"
    );
    // A runaway effect: the image fails at the deadline, the others complete.
    std::fs::create_dir_all(d.join("in2")).unwrap();
    image::RgbaImage::new(64, 8).save(d.join("in2/wide.png")).unwrap();
    for i in 0..3 {
        image::RgbaImage::new(8, 8).save(d.join(format!("in2/small{i}.png"))).unwrap();
    }
    std::fs::write(d.join("s.ron"), r#"(steps: [(effect: "fixture.sleep", params: {"ms": 30000, "min_width": 32})])"#)
        .unwrap();
    let t = Instant::now();
    let o = fxchain(
        &["--deadline", "0.5", "batch", "s.ron", "--input-dir", "in2", "--output-dir", "out2"],
        &[dir.path()],
        d,
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("3 ok, 1 failed") && stderr(&o).contains("deadline"), "{}", stderr(&o));
}

#[test]
fn outputs_are_never_partial_and_stale_temporaries_are_removed() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let sample = root().join("examples/images/sample.png");
    // A stale temporary file (unlocked, and older than any write) disappears at the next run.
    std::fs::write(d.join(".fxchain-999999999-abc.tmp"), b"half").unwrap();
    std::fs::File::options()
        .write(true)
        .open(d.join(".fxchain-999999999-abc.tmp"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(13 * 3600))
        .unwrap();
    std::fs::write(d.join("c.ron"), r#"(steps: [(effect: "geometry.resize", params: {"scale": 4.0}), (effect: "blur.gaussian", params: {"sigma": 4.0})])"#).unwrap();
    let o = fxchain(&["run", "c.ron", "-i", sample.to_str().unwrap(), "-o", "big.png"], &[plugin_dir()], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.join(".fxchain-999999999-abc.tmp").exists());
    let good = read_png(&d.join("big.png"));
    // Kill -9 at various moments: the output is the old file or the new one, never a torn one.
    for delay in [5u64, 40, 120, 250, 400] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fxchain"))
            .args([
                "--no-default-plugins",
                "--plugin-dir",
                plugin_dir().to_str().unwrap(),
                "run",
                "c.ron",
                "-i",
                sample.to_str().unwrap(),
                "-o",
                "big.png",
            ])
            .current_dir(d)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(read_png(&d.join("big.png")), good, "after a kill at {delay} ms");
    }
    // An output equal to the input is refused; an unwritable folder fails with a message.
    std::fs::copy(&sample, d.join("same.png")).unwrap();
    let o = fxchain(&["run", "c.ron", "-i", "same.png", "-o", "same.png"], &[plugin_dir()], d);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("both an input and an output"));
    // In a batch, an output folder that cannot be created fails only the images that go there.
    std::fs::create_dir_all(d.join("bin/sub")).unwrap();
    for name in ["a.png", "sub/b.png", "sub/c.png", "d.png"] {
        std::fs::copy(&sample, d.join("bin").join(name)).unwrap();
    }
    std::fs::create_dir_all(d.join("bout")).unwrap();
    std::fs::write(d.join("bout/sub"), b"a file where a folder is needed").unwrap();
    let o = fxchain(&["batch", "c.ron", "--input-dir", "bin", "--output-dir", "bout"], &[plugin_dir()], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("2 ok, 2 failed") && stderr(&o).contains("failed [write]"), "{}", stderr(&o));
    std::fs::write(d.join("blocker"), b"a file, not a folder").unwrap();
    let o = fxchain(&["run", "c.ron", "-i", sample.to_str().unwrap(), "-o", "blocker/out.png"], &[plugin_dir()], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("blocker"), "{}", stderr(&o));
}

#[test]
fn batches_give_the_same_pixels_with_one_or_two_jobs_and_tight_budgets() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for i in 0..12u32 {
        image::RgbaImage::from_fn(300 + i, 200, |x, y| image::Rgba([(x * 9) as u8, (y * 5 + i) as u8, 7, 255]))
            .save(d.join(format!("in/{i}.png")))
            .unwrap();
    }
    // The generator step is cached across images; its budget is smaller than the working set.
    std::fs::write(
        d.join("c.ron"),
        r#"(size: (256, 256), steps: [
            (id: "n", effect: "noise.perlin"),
            (id: "img", effect: "blur.gaussian", input: "input", params: {"sigma": 1.5}),
            (effect: "composite.blend", inputs: ["img", "n"], params: {"mode": "overlay", "opacity": 0.5}),
        ])"#,
    )
    .unwrap();
    let mut outs = Vec::new();
    for jobs in ["1", "2"] {
        let out = format!("out{jobs}");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fxchain"));
        cmd.args([
            "--no-default-plugins",
            "--plugin-dir",
            plugin_dir().to_str().unwrap(),
            "--pool-mb",
            "1",
            "--threads",
            jobs,
            "batch",
            "c.ron",
            "--input-dir",
            "in",
            "--output-dir",
            &out,
            "--jobs",
            jobs,
            "--cache-mb",
            "1",
            "--pool-stats",
        ]);
        let t = Instant::now();
        let o = cmd.current_dir(d).output().unwrap();
        assert!(t.elapsed() < Duration::from_secs(60));
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains(" 0 bytes in use at the end"), "{}", stderr(&o));
        let mut files: Vec<_> = std::fs::read_dir(d.join(&out))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        files.sort();
        outs.push(files.iter().map(|f| read_png(f)).collect::<Vec<_>>());
    }
    assert_eq!(outs[0].len(), 12);
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn ctrl_c_stops_a_batch_cleanly_with_exit_130() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for i in 0..40 {
        image::RgbaImage::from_pixel(96, 96, image::Rgba([i as u8, 0, 0, 255]))
            .save(d.join(format!("in/{i:02}.png")))
            .unwrap();
    }
    std::fs::write(d.join("slow.ron"), r#"(steps: [(effect: "blur.median", params: {"radius": 8})])"#).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_fxchain"))
        .args([
            "--no-default-plugins",
            "--plugin-dir",
            plugin_dir().to_str().unwrap(),
            "batch",
            "slow.ron",
            "--input-dir",
            "in",
            "--output-dir",
            "out",
            "--jobs",
            "1",
            "--report",
            "r.jsonl",
        ])
        .current_dir(d)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !d.join("out").exists() || std::fs::read_dir(d.join("out")).unwrap().count() < 3 {
        assert!(t.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("interrupted") && err.contains(" ok, 0 failed, "), "{err}");
    let report = std::fs::read_to_string(d.join("r.jsonl")).unwrap();
    assert_eq!(report.lines().count(), 40, "every image has a record");
    assert!(report.contains("the batch stopped before this image"));
    // Every output that exists is complete.
    for e in std::fs::read_dir(d.join("out")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "png") {
            read_png(&e.path());
        }
    }
}
