//! Image files from the command line: pipes, encoder settings, depth, alpha to JPEG, frames.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{fxchain, plugin_dir, read_png, root, stderr};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A photo-like opaque RGB image.
fn photo(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = ((x as f32 / 9.0).sin() * 60.0 + (y as f32 / 13.0).cos() * 50.0 + 128.0) as u8;
        image::Rgb([v, v.wrapping_add((x / 3) as u8), 255 - v / 2])
    })
}

#[test]
fn a_shell_pipeline_gives_the_same_pixels_as_files() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in.jpg");
    image::DynamicImage::ImageRgb8(photo(400, 300)).save(&input).unwrap();
    let chain = root().join("examples/chains/photo.ron");
    let file_out = d.path().join("file.png");
    let o = fxchain(&["run", s(&chain), "-i", s(&input), "-o", s(&file_out)], &[plugin_dir()], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let exe = env!("CARGO_BIN_EXE_fxchain");
    for (out, args) in [("pipe.png", "-o - --format png"), ("prefix.png", "-o png:-")] {
        let script = format!(
            "cat '{}' | '{exe}' --no-default-plugins --plugin-dir '{}' run '{}' -i - {args} > '{out}'",
            s(&input),
            s(plugin_dir()),
            s(&chain)
        );
        let o = Command::new("sh").arg("-c").arg(&script).current_dir(d.path()).output().unwrap();
        assert!(o.status.success(), "{script}: {}", stderr(&o));
        // Messages go to stderr, the image alone to stdout.
        assert!(stderr(&o).contains("wrote <stdout> (320x240)"), "{}", stderr(&o));
        assert_eq!(read_png(&d.path().join(out)), read_png(&file_out), "{args}");
    }
    // Standard output has no extension: the format must be named.
    let o = fxchain(&["run", s(&chain), "-i", s(&input), "-o", "-"], &[plugin_dir()], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--format FMT or png:-"), "{}", stderr(&o));
}

#[test]
fn standard_input_that_is_not_an_image_is_a_decode_error() {
    let d = tempfile::tempdir().unwrap();
    let chain = root().join("examples/chains/photo.ron");
    let mut c = Command::new(env!("CARGO_BIN_EXE_fxchain"));
    c.args(["--no-default-plugins", "--plugin-dir", s(plugin_dir()), "run", s(&chain), "-i", "-", "-o", "x.png"]);
    let mut child = c.current_dir(d.path()).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello, not a picture").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("<stdin>: cannot decode: not an image"), "{}", stderr(&o));
    assert!(!d.path().join("x.png").exists());
}

fn write_png16(path: &Path, w: u32, h: u32, channels: u8) -> Vec<u16> {
    let samples: Vec<u16> = (0..w * h * channels as u32).map(|i| ((i * 7919 + 13) % 65536) as u16 | 1).collect();
    let f = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(f, w, h);
    enc.set_color(if channels == 3 { png::ColorType::Rgb } else { png::ColorType::Rgba });
    enc.set_depth(png::BitDepth::Sixteen);
    let mut wr = enc.write_header().unwrap();
    let be: Vec<u8> = samples.iter().flat_map(|v| v.to_be_bytes()).collect();
    wr.write_image_data(&be).unwrap();
    samples
}

#[test]
fn sixteen_bit_input_through_an_f32_chain_writes_sixteen_bit_png_and_tiff() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in16.png");
    let samples = write_png16(&input, 64, 48, 3);
    let chain = d.path().join("half.ron");
    std::fs::write(&chain, r#"(precision: F32, steps: [(effect: "color.brightness", params: {"amount": 0.5})])"#)
        .unwrap();
    for out in ["out.png", "out.tiff"] {
        let o = fxchain(&["run", s(&chain), "-i", s(&input), "-o", out], &[plugin_dir()], d.path());
        assert!(o.status.success(), "{}", stderr(&o));
        let img = image::open(d.path().join(out)).unwrap();
        assert_eq!(img.color(), image::ColorType::Rgb16, "{out}: 16 bits, and no alpha for an opaque image");
        let got = img.into_rgb16().into_raw();
        let worst = got.iter().zip(&samples).map(|(&g, &v)| (g as i32 - (v as f32 * 0.5).round() as i32).abs()).max();
        assert!(worst <= Some(1), "{out}: off by {worst:?}");
        // Values between 8-bit levels survive.
        assert!(got.iter().any(|v| v % 257 != 0));
    }
    // --depth 8 asks for 8 bits; a U8 chain gives 8 bits by default.
    let o = fxchain(&["run", s(&chain), "-i", s(&input), "-o", "d8.png", "--depth", "8"], &[plugin_dir()], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(image::open(d.path().join("d8.png")).unwrap().color(), image::ColorType::Rgb8);
    let u8chain = d.path().join("u8.ron");
    std::fs::write(&u8chain, r#"(steps: [(effect: "color.brightness", params: {"amount": 0.5})])"#).unwrap();
    let o = fxchain(&["run", s(&u8chain), "-i", s(&input), "-o", "u8.png"], &[plugin_dir()], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(image::open(d.path().join("u8.png")).unwrap().color(), image::ColorType::Rgb8);
}

#[test]
fn opaque_images_lose_alpha_and_grey_images_colour_where_the_format_allows() {
    let d = tempfile::tempdir().unwrap();
    let chain = d.path().join("id.ron");
    std::fs::write(&chain, r#"(steps: [(effect: "color.brightness", params: {"amount": 1.0})])"#).unwrap();
    image::DynamicImage::ImageRgb8(photo(50, 40)).save(d.path().join("rgb.png")).unwrap();
    let grey = image::GrayImage::from_fn(50, 40, |x, y| image::Luma([(x * 5 + y) as u8]));
    image::DynamicImage::ImageLuma8(grey.clone()).save(d.path().join("grey.png")).unwrap();
    for (input, out, color) in [
        ("rgb.png", "rgb_out.png", image::ColorType::Rgb8),
        ("grey.png", "grey_out.png", image::ColorType::L8),
        ("grey.png", "grey_out.tiff", image::ColorType::L8),
        ("grey.png", "grey_out.jpg", image::ColorType::L8),
        ("rgb.png", "rgb_out.webp", image::ColorType::Rgb8),
    ] {
        let o = fxchain(&["run", s(&chain), "-i", input, "-o", out], &[plugin_dir()], d.path());
        assert!(o.status.success(), "{}", stderr(&o));
        let img = image::open(d.path().join(out)).unwrap();
        assert_eq!(img.color(), color, "{out}");
        if !out.ends_with(".jpg") && input == "grey.png" {
            assert_eq!(img.to_luma8(), grey, "{out}");
        }
    }
}

#[test]
fn encoder_settings_reach_the_files() {
    let d = tempfile::tempdir().unwrap();
    let chain = d.path().join("id.ron");
    std::fs::write(&chain, r#"(steps: [(effect: "color.brightness", params: {"amount": 1.0})])"#).unwrap();
    image::DynamicImage::ImageRgb8(photo(200, 150)).save(d.path().join("in.png")).unwrap();
    let run = |out: &str, extra: &[&str]| -> Vec<u8> {
        let mut a = vec!["run", s(&chain), "-i", "in.png", "-o", out];
        a.extend_from_slice(extra);
        let o = fxchain(&a, &[plugin_dir()], d.path());
        assert!(o.status.success(), "{out} {extra:?}: {}", stderr(&o));
        std::fs::read(d.path().join(out)).unwrap()
    };
    let stored = run("c0.png", &["--png-compression", "0"]);
    let best = run("c9.png", &["--png-compression", "9"]);
    let fast = run("fast.png", &["--png-fast"]);
    assert!(stored.len() > 200 * 150 * 3 && best.len() * 2 < stored.len(), "{} {}", stored.len(), best.len());
    assert!(fast.len() < stored.len() && fast.len() > best.len(), "{}", fast.len());
    for p in ["c0.png", "c9.png", "fast.png"] {
        assert_eq!(read_png(&d.path().join(p)), read_png(&d.path().join("c0.png")), "{p} is lossless");
    }
    let q30 = run("q30.jpg", &["--jpeg-quality", "30"]);
    let q95 = run("q95.jpg", &["--jpeg-q", "95"]);
    assert!(q30.len() * 2 < q95.len(), "{} {}", q30.len(), q95.len());
    let prog = run("prog.jpg", &["--jpeg-progressive"]);
    let has = |b: &[u8], m: u8| b.windows(2).any(|w| w == [0xFF, m]);
    assert!(has(&prog, 0xC2) && !has(&q95, 0xC2), "progressive JPEGs have an SOF2 marker");
    let lossless = run("ll.webp", &[]);
    let lossy = run("lossy.webp", &["--webp-quality", "50"]);
    assert!(lossy.len() * 2 < lossless.len(), "{} {}", lossy.len(), lossless.len());
    let back = image::open(d.path().join("ll.webp")).unwrap().to_rgba8();
    assert_eq!(back.into_raw(), read_png(&d.path().join("c0.png")).2, "lossless WebP");
    let back = image::open(d.path().join("lossy.webp")).unwrap().to_rgba8().into_raw();
    let diff: Vec<i32> =
        back.iter().zip(read_png(&d.path().join("c0.png")).2).map(|(a, b)| (*a as i32 - b as i32).abs()).collect();
    let mean = diff.iter().sum::<i32>() as f64 / diff.len() as f64;
    // Lossy: not identical, but close on average (chroma edges of the test image differ most).
    assert!(diff.iter().any(|&d| d > 0) && mean < 6.0, "lossy WebP mean error {mean}");
    for (arg, code) in [("none", 1u16), ("lzw", 5), ("deflate", 8)] {
        let bytes = run(&format!("{arg}.tiff"), &["--tiff-compression", arg]);
        let mut dec = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).unwrap();
        let tag = dec.get_tag_u32(tiff::tags::Tag::Compression).unwrap();
        assert_eq!(tag, code as u32, "{arg}");
        let back = image::open(d.path().join(format!("{arg}.tiff"))).unwrap().to_rgba8();
        assert_eq!(back.into_raw(), read_png(&d.path().join("c0.png")).2, "{arg}");
    }
}

#[test]
fn transparency_written_to_jpeg_is_flattened_on_white_with_a_warning_or_on_the_background() {
    let d = tempfile::tempdir().unwrap();
    let chain = d.path().join("id.ron");
    std::fs::write(&chain, r#"(steps: [(effect: "color.brightness", params: {"amount": 1.0})])"#).unwrap();
    let img = image::RgbaImage::from_fn(64, 64, |x, _| image::Rgba([200, 30, 30, if x < 32 { 0 } else { 255 }]));
    img.save(d.path().join("a.png")).unwrap();
    let o = fxchain(&["run", s(&chain), "-i", "a.png", "-o", "white.jpg"], &[plugin_dir()], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("flattened on white (choose the colour with --background)"), "{}", stderr(&o));
    let px = |f: &str, x: u32| image::open(d.path().join(f)).unwrap().to_rgb8().get_pixel(x, 32).0;
    let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(a, b)| (*a as i32 - b as i32).abs() <= 6);
    assert!(near(px("white.jpg", 8), [255, 255, 255]), "{:?}", px("white.jpg", 8));
    assert!(near(px("white.jpg", 56), [200, 30, 30]), "{:?}", px("white.jpg", 56));
    let o = fxchain(
        &["run", s(&chain), "-i", "a.png", "-o", "blue.jpg", "--background", "#0000ff"],
        &[plugin_dir()],
        d.path(),
    );
    assert!(o.status.success() && !stderr(&o).contains("flattened"), "{}", stderr(&o));
    assert!(near(px("blue.jpg", 8), [0, 0, 255]), "{:?}", px("blue.jpg", 8));
    // --background flattens PNG too, which is then written without alpha.
    let o = fxchain(
        &["run", s(&chain), "-i", "a.png", "-o", "flat.png", "--background", "0,255,0"],
        &[plugin_dir()],
        d.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let flat = image::open(d.path().join("flat.png")).unwrap();
    assert_eq!(flat.color(), image::ColorType::Rgb8);
    assert_eq!(flat.to_rgb8().get_pixel(8, 8).0, [0, 255, 0]);
}

#[test]
fn multi_frame_inputs_are_refused_with_their_count_or_read_at_the_chosen_frame() {
    let d = tempfile::tempdir().unwrap();
    let chain = d.path().join("id.ron");
    std::fs::write(&chain, r#"(steps: [(effect: "color.brightness", params: {"amount": 1.0})])"#).unwrap();
    let colours = [[250u8, 0, 0], [0, 250, 0], [0, 0, 250]];
    {
        let mut enc = image::codecs::gif::GifEncoder::new(std::fs::File::create(d.path().join("a.gif")).unwrap());
        for c in colours {
            let f = image::RgbaImage::from_pixel(16, 8, image::Rgba([c[0], c[1], c[2], 255]));
            enc.encode_frame(image::Frame::new(f)).unwrap();
        }
    }
    {
        let f = std::fs::File::create(d.path().join("pages.tiff")).unwrap();
        let mut enc = tiff::encoder::TiffEncoder::new(f).unwrap();
        for c in colours {
            let px: Vec<u8> = (0..16 * 8).flat_map(|_| c).collect();
            enc.write_image::<tiff::encoder::colortype::RGB8>(16, 8, &px).unwrap();
        }
    }
    for (input, word) in [("a.gif", "frames"), ("pages.tiff", "pages")] {
        let o = fxchain(&["run", s(&chain), "-i", input, "-o", "x.png"], &[plugin_dir()], d.path());
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("holds 3 {word}: choose one with --frame N (0 to 2)")), "{}", stderr(&o));
        for (n, c) in colours.iter().enumerate() {
            let out = format!("{input}-{n}.png");
            let o = fxchain(
                &["run", s(&chain), "-i", input, "-o", &out, "--frame", &n.to_string()],
                &[plugin_dir()],
                d.path(),
            );
            assert!(o.status.success(), "{}", stderr(&o));
            let (_, _, px) = read_png(&d.path().join(&out));
            assert_eq!(&px[..3], c, "{input} frame {n}");
        }
        let o = fxchain(&["run", s(&chain), "-i", input, "-o", "x.png", "--frame", "3"], &[plugin_dir()], d.path());
        assert!(stderr(&o).contains("--frame 3: the file holds 3 frame(s), numbered 0 to 2"), "{}", stderr(&o));
    }
}
