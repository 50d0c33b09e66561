//! Attacks that once broke fxchain, each performed again: the failure must now be a clear
//! message and the documented exit code, with no finished work lost.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fxchain_host::api::PixelFormat;
use fxchain_host::io::{load_image, ImageLimits};

use crate::support::{dir_with, fixture, fxchain, plugin_dir, read_png, root, stderr, stdout};

/// The `fxchain` command with only the workspace plugins, in `cwd`, with a private cache.
fn cmd(args: &[&str], cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fxchain"));
    c.args(["--no-default-plugins", "--plugin-dir", plugin_dir().to_str().unwrap()])
        .args(args)
        .current_dir(cwd)
        .env_remove("FXCHAIN_PLUGIN_PATH")
        .env_remove("FXCHAIN_DEADLINE")
        .env_remove("FXCHAIN_THREADS")
        .env("XDG_CACHE_HOME", cwd.join(".cache"));
    c
}

/// Runs `c`, killing it after `limit` (the old failure of several attacks was never finishing).
fn run_for(mut c: impl std::borrow::BorrowMut<Command>, limit: Duration) -> Output {
    let mut child = c.borrow_mut().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn fxchain");
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}; stderr:\n{}", String::from_utf8_lossy(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "exit {:?}:\n{}", o.status, stderr(o));
}

fn write_images(dir: &Path, n: usize, size: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        image::RgbaImage::from_fn(size, size, |x, y| image::Rgba([(x * 7 + i as u32) as u8, (y * 3) as u8, 90, 255]))
            .save(dir.join(format!("{i}.png")))
            .unwrap();
    }
}

const INVERT: &str = r#"(steps: [(effect: "color.invert")])"#;

// ---- a truncated plugin library ----

#[test]
fn a_truncated_plugin_library_is_reported_and_never_crashes_a_command() {
    let good =
        plugin_dir().join(format!("{}fxchain_color{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    let bytes = std::fs::read(&good).unwrap();
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    let sample = root().join("examples/images/sample.png");
    for cut in [100_000, 64, 4096, bytes.len() / 2, bytes.len() - 4096] {
        let plugins = tempfile::tempdir().unwrap();
        std::fs::write(plugins.path().join("libhalf.so"), &bytes[..cut]).unwrap();
        std::fs::copy(&good, plugins.path().join(good.file_name().unwrap())).unwrap();
        for args in [
            vec!["plugins", "list"],
            vec!["chain", "check", "c.ron"],
            vec!["run", "c.ron", "-i", sample.to_str().unwrap(), "-o", "out.png"],
        ] {
            let o = fxchain(&args, &[plugins.path()], d);
            let err = stderr(&o);
            assert!(o.status.code().is_some(), "{args:?} with a library cut at {cut}: killed by {:?}", o.status);
            assert!(o.status.success(), "{args:?} cut at {cut}: {err}");
            assert!(err.contains("libhalf.so: truncated or half-written library"), "{args:?} cut at {cut}: {err}");
        }
        assert!(stdout(&fxchain(&["plugins", "list"], &[plugins.path()], d)).contains("color.invert"));
    }
    assert_eq!(read_png(&d.join("out.png")).0, read_png(&sample).0);
}

// ---- the done file ----

#[test]
fn an_unwritable_or_garbled_done_file_never_loses_the_batch() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    write_images(&d.join("in"), 3, 8);
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    // A folder where the done file should be: appending fails, even for root.
    std::fs::create_dir_all(d.join("out/.fxchain-done")).unwrap();
    let o = cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "out", "--report", "r.jsonl"], d)
        .output()
        .unwrap();
    ok(&o);
    let err = stderr(&o);
    assert!(err.contains("3 ok, 0 failed, 0 skipped"), "{err}");
    assert!(err.contains(".fxchain-done: cannot append to it") && err.contains("--resume will render them"), "{err}");
    assert_eq!(std::fs::read_to_string(d.join("r.jsonl")).unwrap().lines().count(), 3);
    assert_eq!(read_png(&d.join("out/1.png")).2[..4], [254, 255, 165, 255]);
    // Invalid UTF-8 in one line of the done file spoils only that line.
    let o = cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "out2"], d).output().unwrap();
    ok(&o);
    let mut done = std::fs::read(d.join("out2/.fxchain-done")).unwrap();
    done.extend_from_slice(b"\xff\xfe garbage\tx.png\n");
    std::fs::write(d.join("out2/.fxchain-done"), done).unwrap();
    let o =
        cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "out2", "--resume", "--report", "r2.jsonl"], d)
            .output()
            .unwrap();
    ok(&o);
    assert!(stderr(&o).contains("0 ok, 0 failed, 3 skipped"), "{}", stderr(&o));
    let report = std::fs::read_to_string(d.join("r2.jsonl")).unwrap();
    assert_eq!(report.matches("done by an earlier run").count(), 3, "{report}");
}

// ---- decoding limits ----

/// A baseline JPEG of `w`×`h` whose frame header claims `claim_w`×`claim_h`.
fn lying_jpeg(claim_w: u16, claim_h: u16) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 100, 50]));
    let mut c = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut c, image::ImageFormat::Jpeg).unwrap();
    let mut b = c.into_inner();
    let sof = b.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline frame header");
    b[sof + 5..sof + 7].copy_from_slice(&claim_h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&claim_w.to_be_bytes());
    b
}

#[test]
fn decoding_limits_cover_jpeg_and_png_pixel_buffers_and_truncated_jpegs_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let limits = ImageLimits { max_bytes: 100 << 20, ..ImageLimits::default() };
    // Under a kilobyte, declaring 16000² (768 MB of RGB).
    let bomb = lying_jpeg(16000, 16000);
    assert!(bomb.len() < 1000, "{}", bomb.len());
    std::fs::write(d.join("bomb.jpg"), &bomb).unwrap();
    let t = Instant::now();
    let e = load_image(&d.join("bomb.jpg"), PixelFormat::RGBA8, limits).unwrap_err().to_string();
    assert!(e.contains("decoding 16000x16000 needs 733 MiB, more than the limit of 100 MiB"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2), "refused after {:?}", t.elapsed());
    // A valid 8000² PNG of zeros: a zlib bomb of 64 MB.
    let zeros = image::GrayImage::new(8000, 8000);
    let mut c = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(zeros).write_to(&mut c, image::ImageFormat::Png).unwrap();
    assert!(c.get_ref().len() < 1 << 20, "{}", c.get_ref().len());
    std::fs::write(d.join("zbomb.png"), c.get_ref()).unwrap();
    let tight = ImageLimits { max_bytes: 10 << 20, ..ImageLimits::default() };
    let e = load_image(&d.join("zbomb.png"), PixelFormat::RGBA8, tight).unwrap_err().to_string();
    assert!(e.contains("decoding 8000x8000 needs 62 MiB, more than the limit of 10 MiB"), "{e}");
    // Through the CLI: exit 1 with the flag named.
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    let o = cmd(&["--max-decode-mb", "100", "run", "c.ron", "-i", "bomb.jpg", "-o", "o.png"], d).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-decode-mb") && !d.join("o.png").exists(), "{}", stderr(&o));
    // A truncated JPEG is refused instead of decoded with a grey bottom.
    let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 7]));
    let mut c = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut c, image::ImageFormat::Jpeg).unwrap();
    let full = c.into_inner();
    std::fs::write(d.join("cut.jpg"), &full[..full.len() * 3 / 4]).unwrap();
    let o = cmd(&["run", "c.ron", "-i", "cut.jpg", "-o", "cut.png"], d).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cut.jpg: cannot decode: the JPEG data ends before its end marker"), "{}", stderr(&o));
    std::fs::write(d.join("whole.jpg"), &full).unwrap();
    ok(&cmd(&["run", "c.ron", "-i", "whole.jpg", "-o", "whole.png"], d).output().unwrap());
}

// ---- option values ----

#[test]
fn option_values_out_of_range_are_usage_errors_never_panics() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    for v in ["1e20", "nan", "0", "inf", "-1", "soon"] {
        let o = cmd(&[&format!("--deadline={v}"), "plugins", "list"], d).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "--deadline={v}: {}", stderr(&o));
        assert!(stderr(&o).contains("--deadline"), "{v}: {}", stderr(&o));
    }
    let o = cmd(&["plugins", "list"], d).env("FXCHAIN_DEADLINE", "1e300").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 31536000 seconds"), "{}", stderr(&o));
    ok(&cmd(&["--deadline", "0.5", "plugins", "list"], d).output().unwrap());
    // A trace file that cannot be created, or written.
    let o = cmd(&["--trace", "/nonexistent/t.json", "plugins", "list"], d).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("--trace /nonexistent/t.json: cannot create the trace file"), "{}", stderr(&o));
    if Path::new("/dev/full").exists() {
        std::fs::write(d.join("c.ron"), INVERT).unwrap();
        let sample = root().join("examples/images/sample.png");
        let o = cmd(&["--trace", "/dev/full", "run", "c.ron", "-i", sample.to_str().unwrap(), "-o", "o.png"], d)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("--trace /dev/full: cannot write the trace: No space left"), "{}", stderr(&o));
    }
}

#[test]
fn worker_counts_and_sizes_have_upper_bounds() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    write_images(&d.join("in"), 2, 8);
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    let max = (cores * 8).to_string();
    let o = run_for(
        cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "o", "--jobs", "100000"], d),
        Duration::from_secs(30),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("must be from 1 to {max} (8 per core")), "{}", stderr(&o));
    let o = run_for(cmd(&["--threads", "5000", "plugins", "list"], d), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run_for(cmd(&["plugins", "list"], d).env("FXCHAIN_THREADS", "0"), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run_for(cmd(&["bench", "c.ron", "--size", "65536", "--iterations", "1"], d), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--size 65536: 65536x65536 is 4294967296 pixels, more than the limit of 536870912"),
        "{}",
        stderr(&o)
    );
    // A header declaring 100000² pixels: explain refuses to plan it, as run would refuse it.
    let mut c = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(image::GrayImage::new(1, 1)).write_to(&mut c, image::ImageFormat::Png).unwrap();
    let mut png = c.into_inner();
    let ihdr = png.windows(4).position(|w| w == b"IHDR").unwrap();
    png[ihdr + 4..ihdr + 8].copy_from_slice(&100_000u32.to_be_bytes());
    png[ihdr + 8..ihdr + 12].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[ihdr..ihdr + 17]);
    png[ihdr + 17..ihdr + 21].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(d.join("bomb.png"), &png).unwrap();
    let o = run_for(cmd(&["chain", "explain", "c.ron", "-i", "bomb.png"], d), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("100000x100000 is 10000000000 pixels, more than the limit"), "{}", stderr(&o));
    let o = run_for(cmd(&["chain", "explain", "c.ron", "--size", "200000x10"], d), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A generator chain's size obeys the limits too.
    std::fs::write(d.join("g.ron"), r#"(size: (4000, 4000), steps: [(effect: "generate.solid")])"#).unwrap();
    let o = run_for(cmd(&["--max-pixels", "1000000", "run", "g.ron", "-o", "g.png"], d), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the chain's size: 4000x4000 is 16000000 pixels, more than the limit of 1000000"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("g.png").exists());
    // Larger sizes stream; a job holding whole frames refuses them
    // up front, saying why (with --isolate, frames go to worker processes whole).
    std::fs::write(d.join("big.ron"), r#"(size: (17000, 17000), steps: [(effect: "generate.solid")])"#).unwrap();
    let o = run_for(cmd(&["--isolate", "run", "big.ron", "-o", "big.png"], d), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("17000x17000 is 289000000 pixels; rendered whole an image may have at most 268435456"),
        "{}",
        stderr(&o)
    );
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

// ---- chain edits ----

const TWO_STEPS: &str = "(steps: [\n    (effect: \"color.invert\"),\n    (effect: \"color.grayscale\"),\n])\n";

#[cfg(unix)]
#[test]
fn chain_edits_keep_links_refuse_read_only_files_and_clean_up() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    // A symbolic link: the target is edited, the link stays a link.
    std::fs::create_dir_all(d.join("real")).unwrap();
    std::fs::write(d.join("real/c.ron"), TWO_STEPS).unwrap();
    std::os::unix::fs::symlink("real/c.ron", d.join("link.ron")).unwrap();
    ok(&cmd(&["chain", "disable", "link.ron", "2"], d).output().unwrap());
    assert!(std::fs::symlink_metadata(d.join("link.ron")).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(d.join("real/c.ron")).unwrap().contains("enabled: false"));
    // Hard links: every name sees the edit.
    std::fs::write(d.join("a.ron"), TWO_STEPS).unwrap();
    std::fs::hard_link(d.join("a.ron"), d.join("b.ron")).unwrap();
    ok(&cmd(&["chain", "move", "a.ron", "2", "1"], d).output().unwrap());
    let (a, b) = (std::fs::metadata(d.join("a.ron")).unwrap(), std::fs::metadata(d.join("b.ron")).unwrap());
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
    let moved = std::fs::read_to_string(d.join("b.ron")).unwrap();
    assert!(moved.find("grayscale").unwrap() < moved.find("invert").unwrap(), "{moved}");
    // A read-only file is left alone, even by root.
    std::fs::write(d.join("ro.ron"), TWO_STEPS).unwrap();
    std::fs::set_permissions(d.join("ro.ron"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let o = cmd(&["chain", "disable", "ro.ron", "1"], d).output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(d.join("ro.ron")).unwrap(), TWO_STEPS);
    // The temporary file of an edit killed minutes ago is removed by the next edit.
    std::fs::write(d.join("e.ron"), TWO_STEPS).unwrap();
    let (file, left) = fxchain_host::io::temp_in(d).unwrap().keep().unwrap();
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(600)).unwrap();
    drop(file);
    ok(&cmd(&["chain", "disable", "e.ron", "1"], d).output().unwrap());
    assert!(!left.exists(), "{} was left", left.display());
    // A chain that would format past the 16 MiB read limit is not written.
    let mut big = String::from("(steps:[");
    while big.len() < 12 << 20 {
        big.push_str("(effect:\"color.invert\"),");
    }
    big.push_str("])");
    std::fs::write(d.join("big.ron"), &big).unwrap();
    let o = run_for(cmd(&["chain", "fmt", "big.ron"], d), Duration::from_secs(120));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("more than the 16777216 a chain file may have"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(d.join("big.ron")).unwrap(), big);
    // A byte-order mark is accepted, and kept by an edit.
    std::fs::write(d.join("bom.ron"), format!("\u{feff}{TWO_STEPS}")).unwrap();
    ok(&cmd(&["chain", "check", "bom.ron"], d).output().unwrap());
    ok(&cmd(&["chain", "disable", "bom.ron", "1"], d).output().unwrap());
    let t = std::fs::read_to_string(d.join("bom.ron")).unwrap();
    assert!(t.starts_with('\u{feff}') && t.contains("enabled: false"), "{t:?}");
}

// ---- input folder walks ----

#[cfg(unix)]
#[test]
fn input_folder_walks_survive_link_loops_and_skip_the_output_folder() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    write_images(&d.join("in"), 1, 8);
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    std::os::unix::fs::symlink("..", d.join("in/l1")).unwrap();
    std::os::unix::fs::symlink("..", d.join("in/l2")).unwrap();
    let o = run_for(cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "out"], d), Duration::from_secs(60));
    ok(&o);
    assert!(stderr(&o).contains("1 ok, 0 failed, 0 skipped"), "{}", stderr(&o));
    // An output folder inside the input folder is not read back as input.
    write_images(&d.join("in2"), 2, 8);
    for _ in 0..2 {
        let o = run_for(
            cmd(&["batch", "c.ron", "--input-dir", "in2", "--output-dir", "in2/out"], d),
            Duration::from_secs(60),
        );
        ok(&o);
    }
    let o = cmd(&["batch", "c.ron", "--input-dir", "in2", "--output-dir", "in2/out"], d).output().unwrap();
    assert!(stderr(&o).contains("0 ok, 0 failed, 2 skipped"), "{}", stderr(&o));
    assert!(!d.join("in2/out/out").exists());
}

// ---- messages and exit codes ----

#[test]
fn resume_never_overwrites_and_failures_name_their_image() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    write_images(&d.join("in"), 2, 8);
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    std::fs::create_dir_all(d.join("out")).unwrap();
    std::fs::write(d.join("out/0.png"), b"someone else's file").unwrap();
    let o = cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "out", "--resume"], d).output().unwrap();
    ok(&o);
    assert!(stderr(&o).contains("1 ok, 0 failed, 1 skipped"), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.join("out/0.png")).unwrap(), b"someone else's file");
    // Plugin and deadline failures say which image.
    let lib = fixture("panicking");
    let dir = dir_with(&[&lib]);
    std::fs::write(d.join("p.ron"), r#"(steps: [(effect: "fixture.panic_render", params: {"row": 0})])"#).unwrap();
    let o = fxchain(&["batch", "p.ron", "--input-dir", "in", "--output-dir", "pout"], &[dir.path()], d);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("failed [plugin] {}: step #1", Path::new("in").join("1.png").display())), "{err}");
    std::fs::write(d.join("s.ron"), r#"(steps: [(effect: "fixture.sleep", params: {"ms": 20000})])"#).unwrap();
    let o = fxchain(&["--deadline", "0.3", "batch", "s.ron", "in/0.png", "--output-dir", "sout"], &[dir.path()], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("failed [plugin] in/0.png: the render took longer"), "{}", stderr(&o));
    // A report that cannot be written fails the batch loudly.
    if Path::new("/dev/full").exists() {
        let o = cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "fout", "--report", "/dev/full"], d)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("/dev/full: cannot write the report: No space left"), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_dir(d.join("fout"))
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension().is_some())
                .count(),
            2
        );
    }
}

#[cfg(unix)]
#[test]
fn pipes_devices_cache_folders_webp_sizes_and_output_clashes_get_their_own_message() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    assert!(Command::new("mkfifo").arg(d.join("pipe.png")).status().unwrap().success());
    let o = run_for(cmd(&["run", "c.ron", "-i", "pipe.png", "-o", "o.png"], d), Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("pipe.png: cannot decode: a named pipe (FIFO), not a regular file"), "{}", stderr(&o));
    for dev in ["/dev/zero", "/dev/urandom"] {
        let o = run_for(cmd(&["run", "c.ron", "-i", dev, "-o", "o.png"], d), Duration::from_secs(30));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("a device, not a regular file"), "{}", stderr(&o));
    }
    // An unusable cache folder is named as the problem, not the (readable) plugin.
    std::fs::write(d.join("not-a-folder"), b"").unwrap();
    let o = cmd(&["plugins", "list"], d).env("XDG_CACHE_HOME", d.join("not-a-folder")).output().unwrap();
    assert!(stderr(&o).contains("cannot copy the library into the cache folder"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("cannot read the library"), "{}", stderr(&o));
    // A WebP wider than the format allows is refused when writing, not written unreadable.
    std::fs::write(
        d.join("wide.ron"),
        r##"(size: (16384, 2), steps: [(effect: "generate.solid", params: {"color": "#336699"})])"##,
    )
    .unwrap();
    let o = cmd(&["run", "wide.ron", "-o", "wide.webp"], d).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("16384x2 is too large for WebP (at most 16383 pixels per side)"), "{}", stderr(&o));
    assert!(!d.join("wide.webp").exists());
    std::fs::write(
        d.join("ok.ron"),
        r##"(size: (16383, 2), steps: [(effect: "generate.solid", params: {"color": "#336699"})])"##,
    )
    .unwrap();
    ok(&cmd(&["run", "ok.ron", "-o", "ok.webp"], d).output().unwrap());
    let back = load_image(&d.join("ok.webp"), PixelFormat::RGBA8, ImageLimits::default()).unwrap();
    assert_eq!((back.size().width, back.size().height), (16383, 2));
    // Two -o paths naming one file.
    std::fs::write(
        d.join("two.ron"),
        r##"(size: (4, 4), steps: [(id: "a", effect: "generate.solid"), (id: "b", effect: "color.invert", input: "a")], outputs: ["a", "b"])"##,
    )
    .unwrap();
    let o = cmd(&["run", "two.ron", "-o", "x.png", "-o", "./x.png"], d).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("are the same file"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_a_batch_cleanly_like_ctrl_c() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    write_images(&d.join("in"), 30, 96);
    std::fs::write(d.join("slow.ron"), r#"(steps: [(effect: "blur.median", params: {"radius": 8})])"#).unwrap();
    let mut c = cmd(
        &["batch", "slow.ron", "--input-dir", "in", "--output-dir", "out", "--jobs", "1", "--report", "r.jsonl"],
        d,
    );
    let child = c.stderr(Stdio::piped()).spawn().unwrap();
    let t = Instant::now();
    while !d.join("out").exists() || std::fs::read_dir(d.join("out")).unwrap().count() < 3 {
        assert!(t.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{:?}: {}", o.status, stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    let report = std::fs::read_to_string(d.join("r.jsonl")).unwrap();
    assert_eq!(report.lines().count(), 30, "every image has a record");
}

// ---- shards on Slurm arrays ----

#[test]
fn one_based_slurm_arrays_cover_every_image_once() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    write_images(&d.join("in"), 12, 4);
    std::fs::write(d.join("c.ron"), INVERT).unwrap();
    let mut seen: Vec<PathBuf> = Vec::new();
    // sbatch --array=1-3
    for id in 1..=3 {
        let mut c = cmd(&["batch", "c.ron", "--input-dir", "in", "--output-dir", "out"], d);
        for (k, v) in [("ID", id), ("MIN", 1), ("MAX", 3), ("STEP", 1), ("COUNT", 3)] {
            c.env(format!("SLURM_ARRAY_TASK_{k}"), v.to_string());
        }
        let o = c.output().unwrap();
        ok(&o);
        assert!(stderr(&o).contains(&format!("(shard {}/3:", id - 1)), "{}", stderr(&o));
    }
    for e in std::fs::read_dir(d.join("out")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "png") {
            seen.push(e.path());
        }
    }
    assert_eq!(seen.len(), 12, "{seen:?}");
}

// ---- temporary files across PID namespaces ----

/// Whether this machine lets us run a command in a new PID namespace.
fn unshare_works() -> bool {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(unix)]
#[test]
fn an_instance_in_another_pid_namespace_leaves_live_temporaries_alone() {
    if !unshare_works() {
        println!("skipped: `unshare --pid --fork --mount-proc` is not available here");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("out")).unwrap();
    std::fs::write(d.join("g.ron"), r#"(size: (8, 8), steps: [(effect: "generate.solid")])"#).unwrap();
    let backdate = |f: &std::fs::File, secs: u64| {
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(secs)).unwrap();
    };
    // This process is in the middle of a long write: its temporary file is open (and locked,
    // as every writer's is) and ten minutes old.
    let live = fxchain_host::io::temp_in(&d.join("out")).unwrap();
    backdate(live.as_file(), 600);
    // A writer of this machine that was killed: nobody holds its file.
    let (dead, dead_path) = fxchain_host::io::temp_in(&d.join("out")).unwrap().keep().unwrap();
    backdate(&dead, 600);
    drop(dead);
    // Another instance, in a PID namespace where this process's pid does not exist, writes to
    // the same folder (and cleans up stale temporaries there first).
    let o = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", env!("CARGO_BIN_EXE_fxchain")])
        .args(["--no-default-plugins", "--plugin-dir", plugin_dir().to_str().unwrap()])
        .args(["run", "g.ron", "-o", "out/g.png"])
        .current_dir(d)
        .env("XDG_CACHE_HOME", d.join(".cache"))
        .output()
        .unwrap();
    ok(&o);
    assert!(live.path().exists(), "the other namespace removed a live temporary file");
    assert!(!dead_path.exists(), "the killed writer's temporary file was kept");
    // The live write completes.
    let target = d.join("out/live.png");
    std::io::Write::write_all(&mut live.as_file(), b"done").unwrap();
    live.persist(&target).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"done");
    assert_eq!(read_png(&d.join("out/g.png")).0, 8);
}

// ---- a plugin that calls exit ----

#[test]
fn a_plugin_calling_exit_during_a_render_never_looks_like_success() {
    let lib = fixture("exiting");
    let dir = dir_with(&[&lib]);
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for (name, w) in [("a", 8u32), ("b", 8), ("c", 64)] {
        image::RgbaImage::new(w, 8).save(d.join(format!("in/{name}.png"))).unwrap();
    }
    std::fs::write(d.join("x.ron"), r#"(steps: [(effect: "fixture.exit", params: {"min_width": 32})])"#).unwrap();
    let o = fxchain(&["run", "x.ron", "-i", "in/c.png", "-o", "c.png"], &[dir.path()], d);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("a plugin ended the process (it called exit) while rendering"), "{err}");
    assert!(err.contains("step #1 (fixture.exit), from plugin fxchain-fixture-exiting 0.1.0"), "{err}");
    assert!(!d.join("c.png").exists());
    // In a batch: the images finished before are kept, recorded and reported.
    let o = fxchain(
        &["batch", "x.ron", "--input-dir", "in", "--output-dir", "out", "--jobs", "1", "--report", "r.jsonl"],
        &[dir.path()],
        d,
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("image in/c.png") && err.contains("fixture.exit"), "{err}");
    let report = std::fs::read_to_string(d.join("r.jsonl")).unwrap();
    assert_eq!(report.lines().filter(|l| l.contains("\"ok\"")).count(), 2, "{report}");
    assert_eq!(std::fs::read_to_string(d.join("out/.fxchain-done")).unwrap().lines().count(), 2);
    // Narrow images only: no exit, a normal success.
    let o = fxchain(&["run", "x.ron", "-i", "in/a.png", "-o", "a.png"], &[dir.path()], d);
    assert!(o.status.success(), "{}", stderr(&o));
}

// ---- fuzz corpora ----

#[test]
fn the_set_and_image_fuzz_corpora_replay_with_the_expected_outcomes() {
    use fxchain_host::chain::{self, Override};
    let reg = crate::support::registry();
    let text = std::fs::read_to_string(root().join("fuzz/set_chain.ron")).unwrap();
    let mut rendered = Vec::new();
    let mut refused = Vec::new();
    for e in std::fs::read_dir(root().join("fuzz/corpus/set")).unwrap().flatten() {
        let Ok(s) = std::fs::read_to_string(e.path()) else { continue };
        let Ok(o) = s.parse::<Override>() else { continue };
        let name = e.file_name().to_string_lossy().to_string();
        if let Ok(c) = chain::validate(fxchain_host::ChainSource::from_text("set.ron", text.clone()), reg, &[o]) {
            match fxchain_host::render(&c, reg, &Default::default(), &Default::default()) {
                Ok(r) => {
                    assert_eq!(r.outputs.len(), 2);
                    rendered.push(name);
                }
                Err(e) => refused.push((name, e.to_string())),
            }
        }
    }
    // The seeds with valid values render; the others (nan, 1e308, -1, 2.5 for an integer, a list,
    // an empty value, a short colour, an unknown parameter) are refused by validation.
    rendered.sort();
    assert_eq!(rendered, ["color", "enum", "float", "index_big"]);
    // A valid width whose output (21091², 1.8 GB) is past what a whole-frame render holds is
    // refused before anything is allocated, naming the step.
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "huge_resize");
    assert!(
        refused[0].1.contains("step #3 \"r\" (geometry.resize)") && refused[0].1.contains("21091x21091"),
        "{}",
        refused[0].1
    );
    let limits = ImageLimits { max_width: 4096, max_height: 4096, max_pixels: 1 << 20, max_bytes: 32 << 20 };
    let decode = |name: &str| {
        let bytes = std::fs::read(root().join("fuzz/corpus/image").join(name)).unwrap();
        fxchain_host::io::decode_image(&bytes, Path::new(name), PixelFormat::RGBA8, limits)
    };
    for name in ["tiny.png", "tiny.jpg", "tiny.webp", "tiny.tiff"] {
        let f = decode(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((f.size().width, f.size().height), (6, 5), "{name}");
    }
    for name in ["bomb.jpg", "huge_header.png"] {
        assert!(matches!(decode(name), Err(fxchain_host::ImageError::Limits { .. })), "{name}");
    }
    for name in ["cut.jpg", "cut.png"] {
        assert!(matches!(decode(name), Err(fxchain_host::ImageError::Decode { .. })), "{name}");
    }
}

// ---- isolation ----

#[cfg(target_os = "linux")]
#[test]
fn with_isolate_a_crashing_plugin_fails_only_its_image() {
    let lib = fixture("crashing");
    let dir = dir_with(&[
        &lib,
        &plugin_dir().join(format!("{}fxchain_color{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)),
    ]);
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for i in 0..10 {
        let w = if i == 6 { 64 } else { 8 };
        image::RgbaImage::from_pixel(w, 8, image::Rgba([i as u8 * 10, 20, 30, 255]))
            .save(d.join(format!("in/{i}.png")))
            .unwrap();
    }
    let has_prlimit = Command::new("prlimit").arg("--version").output().is_ok_and(|o| o.status.success());
    for (how, what) in [
        (1, "SIGABRT"),
        (2, "overflowed its stack"),
        (3, "memory allocation"),
        (4, "SIGSEGV"),
        (5, "the plugin called exit"),
    ] {
        if how == 3 && !has_prlimit {
            println!("skipped the 20 GB allocation: prlimit is not available to set an address-space limit");
            continue;
        }
        std::fs::write(
            d.join("x.ron"),
            format!(r#"(steps: [(effect: "color.invert"), (effect: "fixture.crash", params: {{"how": {how}, "min_width": 32}})])"#),
        )
        .unwrap();
        let out = format!("out{how}");
        let report = format!("r{how}.jsonl");
        let args = [
            "--isolate",
            "batch",
            "x.ron",
            "--input-dir",
            "in",
            "--output-dir",
            &out,
            "--jobs",
            "2",
            "--report",
            &report,
        ];
        // A 4 GiB address-space limit: the 20 GB allocation fails in the worker instead of
        // reaching the machine's memory.
        let mut c = Command::new("prlimit");
        if has_prlimit {
            c.arg(format!("--as={}", 4u64 << 30)).arg("--").arg(env!("CARGO_BIN_EXE_fxchain"));
        } else {
            c = Command::new(env!("CARGO_BIN_EXE_fxchain"));
        }
        c.args(["--no-default-plugins", "--plugin-dir", dir.path().to_str().unwrap()])
            .args(args)
            .current_dir(d)
            .env("XDG_CACHE_HOME", d.join(".cache"));
        let o = run_for(c, Duration::from_secs(120));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "how {how}: {err}");
        assert!(err.contains("9 ok, 1 failed"), "how {how}: {err}");
        let log = std::fs::read_to_string(d.join(&report)).unwrap();
        let failed: Vec<&str> = log.lines().filter(|l| l.contains("\"failed\"")).collect();
        assert_eq!(failed.len(), 1, "{log}");
        assert!(
            failed[0].contains("in/6.png")
                && failed[0].contains("fixture.crash")
                && failed[0].contains("fxchain-fixture-crashing 0.1.0"),
            "how {how}: {}",
            failed[0]
        );
        assert!(failed[0].contains(what), "how {how}: want {what:?} in {}", failed[0]);
        // The other nine are rendered (inverted) and complete.
        for i in (0..10).filter(|&i| i != 6) {
            let (_, _, px) = read_png(&d.join(&out).join(format!("{i}.png")));
            assert_eq!(px[..4], [255 - i as u8 * 10, 235, 225, 255], "how {how}, image {i}");
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_plugin_that_keeps_failing_is_skipped_or_bypassed_after_n_images() {
    let crashing = fixture("crashing");
    let panicking = fixture("panicking");
    let color =
        plugin_dir().join(format!("{}fxchain_color{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    let dir = dir_with(&[&crashing, &panicking, &color]);
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for i in 0..10 {
        let w = if (6..9).contains(&i) { 64 } else { 8 };
        image::RgbaImage::from_pixel(w, 8, image::Rgba([i as u8 * 10, 20, 30, 255]))
            .save(d.join(format!("in/{i}.png")))
            .unwrap();
    }
    std::fs::write(
        d.join("x.ron"),
        r#"(steps: [(effect: "color.invert"), (effect: "fixture.crash", params: {"how": 1, "min_width": 32})])"#,
    )
    .unwrap();
    let batch = |out: &str, policy: &str, isolate: bool| {
        let mut args = vec!["batch", "x.ron", "--input-dir", "in", "--output-dir", out, "--jobs", "1"];
        args.extend(["--on-error", policy, "--report"]);
        let report = format!("{out}.jsonl");
        args.push(&report);
        if isolate {
            args.insert(0, "--isolate");
        }
        let o = fxchain(&args, &[dir.path()], d);
        (o, std::fs::read_to_string(d.join(&report)).unwrap())
    };
    // Isolated: the first crash trips the policy.
    let (o, report) = batch("bypassed", "bypass:1", true);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("9 ok, 1 failed, 0 skipped"), "{}", stderr(&o));
    let bypassed: Vec<&str> =
        report.lines().filter(|l| l.contains("step #2 bypassed: plugin fxchain-fixture-crashing")).collect();
    // Every image after the first failure, narrow ones too: the policy is about the plugin.
    assert_eq!(bypassed.len(), 3, "{report}");
    // A bypassed image has every other step: inverted, not crashed.
    assert_eq!(read_png(&d.join("bypassed/8.png")).2[..4], [255 - 80, 235, 225, 255]);
    let (o, report) = batch("skipped", "skip:1", true);
    assert!(stderr(&o).contains("6 ok, 1 failed, 3 skipped"), "{}\n{report}", stderr(&o));
    assert_eq!(report.matches("(--on-error skip)").count(), 3, "{report}");
    // Isolating by library: a chain that uses the named library is isolated; with another
    // name it runs in-process, where the plugin's exit ends the whole batch (exit code 4).
    std::fs::write(
        d.join("x.ron"),
        r#"(steps: [(effect: "color.invert"), (effect: "fixture.crash", params: {"how": 5, "min_width": 32})])"#,
    )
    .unwrap();
    let args = |isolate: &str, out: &str| {
        fxchain(&[isolate, "batch", "x.ron", "--input-dir", "in", "--output-dir", out, "--jobs", "1"], &[dir.path()], d)
    };
    let o = args("--isolate=fxchain-fixture-crashing", "by-name");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("7 ok, 3 failed"), "{}", stderr(&o));
    let o = args("--isolate=libfxchain_fixture_crashing.so", "by-file");
    assert!(stderr(&o).contains("7 ok, 3 failed"), "{}", stderr(&o));
    let o = args("--isolate=fxchain-other", "other");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("--isolate=fxchain-other: no loaded plugin library has that name"), "{}", stderr(&o));
    // In-process, with a plugin that panics on every image, after two failures.
    std::fs::write(
        d.join("x.ron"),
        r#"(steps: [(effect: "color.invert"), (effect: "fixture.panic_render", params: {"row": 0})])"#,
    )
    .unwrap();
    let (o, report) = batch("panics", "bypass:2", false);
    assert!(stderr(&o).contains("8 ok, 2 failed, 0 skipped"), "{}\n{report}", stderr(&o));
    assert_eq!(read_png(&d.join("panics/9.png")).2[..4], [255 - 90, 235, 225, 255]);
    // Bypassed images are not recorded as done.
    assert_eq!(std::fs::read_to_string(d.join("panics/.fxchain-done")).unwrap_or_default().lines().count(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn an_isolated_run_gives_the_same_pixels_and_survives_a_segfault() {
    let crashing = fixture("crashing");
    let dir = dir_with(&[&crashing]);
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let sample = root().join("examples/images/sample.png");
    let s = sample.to_str().unwrap();
    // 8-bit and float frames, a size change and several outputs cross the shared memory.
    for precision in ["U8", "F32"] {
        std::fs::write(
            d.join("c.ron"),
            format!(
                r#"(precision: {precision}, steps: [
                    (id: "small", effect: "geometry.resize", params: {{"scale": 0.37}}),
                    (id: "soft", effect: "blur.gaussian", input: "small", params: {{"sigma": 2.0}}),
                    (id: "hue", effect: "color.invert", input: "small"),
                ], outputs: ["soft", "hue"])"#
            ),
        )
        .unwrap();
        ok(&cmd(&["run", "c.ron", "-i", s, "-o", "a1.png", "-o", "a2.png"], d).output().unwrap());
        ok(&cmd(&["--isolate", "run", "c.ron", "-i", s, "-o", "b1.png", "-o", "b2.png"], d).output().unwrap());
        for (a, b) in [("a1.png", "b1.png"), ("a2.png", "b2.png")] {
            assert_eq!(read_png(&d.join(a)), read_png(&d.join(b)), "{precision} {a}");
        }
    }
    std::fs::write(d.join("x.ron"), r#"(steps: [(effect: "fixture.crash", params: {"how": 4})])"#).unwrap();
    let o = fxchain(&["--isolate", "run", "x.ron", "-i", s, "-o", "x.png"], &[dir.path()], d);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("step #1 (fixture.crash, from plugin fxchain-fixture-crashing")
            && stderr(&o).contains("SIGSEGV"),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("x.png").exists());
}
