//! Image files: sources that decode with limits and yield rows, sinks that take rows and write
//! atomically, and the temporary files behind those writes.

mod sink;
mod source;

pub use sink::{scan, EncodeOptions, ImageSink, Layout, Subsampling, Target, TiffCompression};
pub use source::{Header, ImageSource, SourceOptions, PNG_XMP_KEYWORD};

use std::path::Path;
use std::time::Duration;

use fxchain_plugin_api::{PixelFormat, Size};
use image::{DynamicImage, ImageFormat};

use crate::error::ImageError;
use crate::frame::Frame;

/// What an image file carries besides its pixels. Sources fill it from the input; sinks write
/// what their format can hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// ICC colour profile.
    pub icc: Option<Vec<u8>>,
    /// EXIF block, from the TIFF header on (without an `Exif\0\0` prefix).
    pub exif: Option<Vec<u8>>,
    /// XMP packet (UTF-8 XML).
    pub xmp: Option<Vec<u8>>,
    /// Text records by keyword (PNG `iTXt`), such as the provenance record.
    pub text: Vec<(String, String)>,
}

/// Limits applied when decoding. Defaults allow 131072 pixels per side, 2²⁹ pixels (a 20000²
/// image, or 100000×5000) and 1 GiB of decoder memory — which a whole decode of more than 2²⁸
/// 8-bit pixels exceeds, while a row-by-row decode for a streamed job needs far less.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest width.
    pub max_width: u32,
    /// Largest height.
    pub max_height: u32,
    /// Largest number of pixels.
    pub max_pixels: u64,
    /// Largest allocation the decoder may make, in bytes.
    pub max_bytes: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits { max_width: 1 << 17, max_height: 1 << 17, max_pixels: 1 << 29, max_bytes: 1 << 30 }
    }
}

impl ImageLimits {
    /// Checks a width and height against these limits, before anything of that size is
    /// allocated. The error says which limit is exceeded.
    pub fn check(&self, width: u32, height: u32) -> Result<(), String> {
        let pixels = width as u64 * height as u64;
        if width > self.max_width || height > self.max_height {
            return Err(format!(
                "{width}x{height} exceeds the size limit of {}x{} (--max-width/--max-height may only tighten it)",
                self.max_width, self.max_height
            ));
        }
        if pixels > self.max_pixels {
            return Err(format!("{width}x{height} is {pixels} pixels, more than the limit of {}", self.max_pixels));
        }
        Ok(())
    }

    /// These limits, tightened (never loosened) by `other`.
    pub fn tighten(self, other: ImageLimits) -> ImageLimits {
        ImageLimits {
            max_width: self.max_width.min(other.max_width),
            max_height: self.max_height.min(other.max_height),
            max_pixels: self.max_pixels.min(other.max_pixels),
            max_bytes: self.max_bytes.min(other.max_bytes),
        }
    }
}

/// Decodes the image at `path` (or standard input for `-`) into a frame of `format`,
/// honouring EXIF orientation: an [`ImageSource`] read whole. The dimensions and the decoder's
/// pixel buffer are checked against `limits` before that buffer is allocated; a JPEG that ends
/// before its end marker is refused as truncated; a file of several frames is refused (open an
/// [`ImageSource`] with [`SourceOptions::frame`] to pick one).
pub fn load_image(path: &Path, format: PixelFormat, limits: ImageLimits) -> Result<Frame, ImageError> {
    ImageSource::open(path, &SourceOptions { limits, frame: None })?.read_frame(format)
}

/// Decodes an image file's bytes (as [`load_image`] does after reading the file); `path` is only
/// used in messages.
pub fn decode_image(bytes: &[u8], path: &Path, format: PixelFormat, limits: ImageLimits) -> Result<Frame, ImageError> {
    ImageSource::from_bytes(bytes.to_vec(), path, &SourceOptions { limits, frame: None })?.read_frame(format)
}

/// A frame of `format` holding a decoded image: 8-bit images become `Rgba8` frames unless
/// `format` asks for float; deeper images are converted straight to float when it does. Files
/// and in-memory images (arrays of an embedding program) go through this one conversion.
pub fn frame_from_image(img: DynamicImage, format: PixelFormat) -> Frame {
    let size = Size::new(img.width(), img.height());
    let high_precision = !matches!(
        img,
        DynamicImage::ImageLuma8(_)
            | DynamicImage::ImageLumaA8(_)
            | DynamicImage::ImageRgb8(_)
            | DynamicImage::ImageRgba8(_)
    );
    match format {
        PixelFormat::RGBA32F if high_precision || format == PixelFormat::RGBA32F => {
            Frame::from_rgba32f(size, img.to_rgba32f().as_raw())
        }
        // `into_rgba8` reuses the decoded buffer when it already is RGBA8 (no extra full copy).
        _ => Frame::from_rgba8(size, img.into_rgba8().as_raw()),
    }
}

/// What a path that is not a regular file is, for messages.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO), not a regular file";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device, not a regular file";
        }
        if t.is_socket() {
            return "a socket, not a regular file";
        }
    }
    if meta.is_dir() {
        "a folder, not a file"
    } else {
        "not a regular file"
    }
}

/// Whether JPEG data ends before its end-of-image marker (the decoder would fill the rest with
/// grey without a word). Walks the segments: lengths of marker segments, and the entropy-coded
/// data after each start-of-scan up to the next real marker. Data that does not look like JPEG
/// segments at all is left to the decoder to report.
pub fn jpeg_is_truncated(b: &[u8]) -> bool {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    while i + 1 < b.len() {
        if b[i] != 0xFF {
            return false;
        }
        let marker = b[i + 1];
        match marker {
            0xFF => {
                i += 1;
                continue;
            }
            0xD9 => return false,
            0x01 | 0xD0..=0xD7 => {
                i += 2;
                continue;
            }
            _ => {}
        }
        if i + 3 >= b.len() {
            return true;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        i += 2 + len;
        if marker == 0xDA {
            // Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte), a restart marker
            // or fill bytes; anything else is the next marker.
            while i + 1 < b.len() && (b[i] != 0xFF || matches!(b[i + 1], 0x00 | 0xD0..=0xD7 | 0xFF)) {
                i += 1;
            }
        }
    }
    true
}

fn classify(path: &Path, e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(l) => {
            ImageError::Limits { path: path.to_path_buf(), reason: format!("exceeds the decoding limits: {l}") }
        }
        other => ImageError::Decode { path: path.to_path_buf(), reason: other.to_string() },
    }
}

/// Output encoding.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// PNG (lossless, keeps alpha).
    Png,
    /// JPEG with a quality 1..=100 (alpha is dropped).
    Jpeg(u8),
    /// WebP (lossless).
    Webp,
    /// TIFF.
    Tiff,
}

impl OutputFormat {
    /// The format for a file name's extension.
    pub fn from_path(path: &Path) -> Option<OutputFormat> {
        match ImageFormat::from_path(path).ok()? {
            ImageFormat::Png => Some(OutputFormat::Png),
            ImageFormat::Jpeg => Some(OutputFormat::Jpeg(90)),
            ImageFormat::WebP => Some(OutputFormat::Webp),
            ImageFormat::Tiff => Some(OutputFormat::Tiff),
            _ => None,
        }
    }
    /// The format named `name` (`png`, `jpg`/`jpeg`, `webp`, `tif`/`tiff`), JPEG at quality 90.
    pub fn from_name(name: &str) -> Option<OutputFormat> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Some(OutputFormat::Png),
            "jpg" | "jpeg" => Some(OutputFormat::Jpeg(90)),
            "webp" => Some(OutputFormat::Webp),
            "tif" | "tiff" => Some(OutputFormat::Tiff),
            _ => None,
        }
    }
    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Png => "PNG",
            OutputFormat::Jpeg(_) => "JPEG",
            OutputFormat::Webp => "WebP",
            OutputFormat::Tiff => "TIFF",
        }
    }
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg(_) => "jpg",
            OutputFormat::Webp => "webp",
            OutputFormat::Tiff => "tiff",
        }
    }
}

/// The largest width or height a WebP file can hold (14-bit fields).
pub const MAX_WEBP_SIDE: u32 = 16383;

/// Encodes `frame` to `path` atomically with the default [`EncodeOptions`]: the bytes go to a
/// temporary file in the same folder, which is renamed over `path` only when complete. No
/// partial file is ever visible.
pub fn save_image(frame: &Frame, path: &Path, format: OutputFormat) -> Result<(), ImageError> {
    save_image_with(frame, &Target::File(path.to_path_buf()), format, &EncodeOptions::default(), &Metadata::default())
}

/// Encodes `frame` to `target` with `options` and `metadata`, in the smallest layout that holds
/// it exactly ([`Layout::for_frame`]).
pub fn save_image_with(
    frame: &Frame,
    target: &Target,
    format: OutputFormat,
    options: &EncodeOptions,
    metadata: &Metadata,
) -> Result<(), ImageError> {
    let layout = Layout::for_frame(frame, format, options);
    let mut sink = ImageSink::create(target.clone(), frame.size(), format, layout, options, metadata)?;
    sink.push_frame(frame)?;
    sink.finish()
}

/// Parses a colour for `--background`: `#rgb`, `#rrggbb` (the `#` may be left out), `R,G,B`
/// (0..=255 each), or `white`, `black`, `grey`/`gray`.
pub fn parse_color(s: &str) -> Result<[u8; 3], String> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "white" => return Ok([255; 3]),
        "black" => return Ok([0; 3]),
        "grey" | "gray" => return Ok([128; 3]),
        _ => {}
    }
    let bad = || format!("{s:?}: expected #rrggbb, #rgb, R,G,B or white/black/grey");
    if t.contains(',') {
        let v: Vec<u8> = t.split(',').map(|c| c.trim().parse::<u8>()).collect::<Result<_, _>>().map_err(|_| bad())?;
        return <[u8; 3]>::try_from(v).map_err(|_| bad());
    }
    let hex = t.strip_prefix('#').unwrap_or(t);
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let n = |a: &str| u8::from_str_radix(a, 16).map_err(|_| bad());
    match hex.len() {
        3 => Ok([n(&hex[0..1])? * 17, n(&hex[1..2])? * 17, n(&hex[2..3])? * 17]),
        6 => Ok([n(&hex[0..2])?, n(&hex[2..4])?, n(&hex[4..6])?]),
        _ => Err(bad()),
    }
}

/// A copy of `frame` scaled down (triangle filter) so its larger side is at most `max` pixels;
/// an unchanged copy when it already fits.
pub fn fit_within(frame: &Frame, max: u32) -> Frame {
    let s = frame.size();
    if s.width.max(s.height) <= max {
        return frame.clone();
    }
    let k = max as f64 / s.width.max(s.height) as f64;
    let (w, h) = (((s.width as f64 * k).round() as u32).max(1), ((s.height as f64 * k).round() as u32).max(1));
    let img = image::RgbaImage::from_raw(s.width, s.height, frame.to_rgba8_vec()).expect("frame size");
    let small = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
    let out = Frame::from_rgba8(Size::new(w, h), small.as_raw());
    if frame.format() == PixelFormat::RGBA8 {
        out
    } else {
        out.convert(frame.format())
    }
}

/// Age after which an unlocked temporary file of another machine (or of an earlier boot of this
/// one) counts as stale: no output takes this long to encode, and locks on some network file
/// systems are not seen by other hosts.
const FOREIGN_TEMP_AGE: Duration = Duration::from_secs(12 * 3600);

/// This machine's identity in temporary file names: the host name (for people) and the kernel's
/// boot id (unique per machine and boot, shared by every container and PID namespace on it, so
/// the advisory locks fxchain holds while writing are authoritative among them).
fn machine_id() -> &'static (String, String) {
    static ID: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let clean = |s: String, n: usize| -> String {
            let s: String = s.trim().chars().filter(|c| c.is_ascii_alphanumeric()).take(n).collect();
            if s.is_empty() {
                "x".to_string()
            } else {
                s
            }
        };
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::env::var("HOSTNAME"))
            .or_else(|_| std::env::var("COMPUTERNAME"))
            .unwrap_or_default();
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        (clean(host, 24), clean(boot, 12))
    })
}

/// Prefix of the temporary files fxchain writes next to its outputs:
/// `.fxchain-<host>-<boot id>-<pid>-` (a random part and `.tmp` follow).
fn temp_prefix() -> String {
    let (host, boot) = machine_id();
    format!(".fxchain-{host}-{boot}-{}-", std::process::id())
}

/// A temporary file in `dir`, named after this machine and process plus a random part, and held
/// under an exclusive advisory lock until it is closed (renamed into place or dropped), so no
/// other fxchain process — in another PID namespace, container or host — removes it in flight.
pub fn temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    // A cleaner may remove the file between its creation and the lock (it was unlocked then):
    // once locked, check that the name still leads to this file, else make another.
    for _ in 0..16 {
        let tmp = tempfile::Builder::new().prefix(&temp_prefix()).suffix(".tmp").tempfile_in(dir)?;
        if tmp.as_file().lock().is_err() {
            // A file system without locks is left to the age rule of `clean_stale_temps`.
            return Ok(tmp);
        }
        if still_named(tmp.path(), tmp.as_file()) {
            return Ok(tmp);
        }
    }
    Err(std::io::Error::other(format!("temporary files in {} are removed as soon as they are created", dir.display())))
}

/// Whether `path` still names the open file `file`.
fn still_named(path: &Path, file: &std::fs::File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(path), file.metadata()) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        true
    }
}

/// Whether some process holds the lock of a temporary file.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum LockState {
    /// Locked by a writer.
    Held,
    /// Nobody holds it.
    Free,
    /// The file system cannot tell.
    Unknown,
}

fn lock_state(path: &Path) -> LockState {
    let Ok(f) = std::fs::File::open(path) else { return LockState::Unknown };
    match f.try_lock() {
        Ok(()) => LockState::Free,
        Err(std::fs::TryLockError::WouldBlock) => LockState::Held,
        Err(std::fs::TryLockError::Error(_)) => LockState::Unknown,
    }
}

/// Whether a temporary file named `name` (without its folder), `age` old and in `lock` state,
/// was left by a writer that is gone. Only files that are not locked qualify; of those, files of
/// this machine (same boot id: its lock is authoritative) at once, and any other after many hours.
fn is_stale(name: &str, age: Duration, lock: LockState, boot: &str) -> bool {
    let Some(rest) = name.strip_prefix(".fxchain-").filter(|_| name.ends_with(".tmp")) else { return false };
    let this_machine = rest.split('-').nth(1).is_some_and(|b| b == boot) && boot != "x";
    match lock {
        LockState::Held => false,
        LockState::Free if this_machine => true,
        LockState::Free | LockState::Unknown => age > FOREIGN_TEMP_AGE,
    }
}

/// Removes temporary files left in `dir` by fxchain writers that are gone (a kill -9 during a
/// write): files nobody holds locked, of this machine, or of another machine and older than
/// twelve hours. Returns how many were removed.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    let boot = &machine_id().1;
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with(".fxchain-") || !name.ends_with(".tmp") {
            continue;
        }
        let Ok(age) = e.metadata().and_then(|m| m.modified()).map(|t| t.elapsed().unwrap_or_default()) else {
            continue;
        };
        if is_stale(&name, age, lock_state(&e.path()), boot) && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Temporary files are created private (0600); give the finished file the permissions of the file
/// it replaces, or the usual 0644 for a new one.
pub fn set_output_permissions(file: &std::fs::File, target: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(target).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
        let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = (file, target);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn only_unlocked_temporaries_are_stale_and_other_machines_get_hours() {
        let ours = ".fxchain-node1-abc123-42-XyZ.tmp";
        let theirs = ".fxchain-node2-def456-42-XyZ.tmp";
        // A live writer's file is never removed, however old.
        assert!(!is_stale(ours, 100 * 3600 * MIN, LockState::Held, "abc123"));
        // An unlocked file of this machine: its writer is gone (a writer that lost its file
        // between creating and locking it makes another, see `temp_in`).
        assert!(is_stale(ours, Duration::ZERO, LockState::Free, "abc123"));
        // Another machine: its lock may be invisible here, so only after many hours.
        assert!(!is_stale(theirs, 3 * MIN, LockState::Free, "abc123"));
        assert!(!is_stale(theirs, 11 * 60 * MIN, LockState::Free, "abc123"));
        assert!(is_stale(theirs, 13 * 60 * MIN, LockState::Free, "abc123"));
        assert!(!is_stale(ours, 3 * MIN, LockState::Unknown, "abc123"));
        // An older naming without a machine: the long rule.
        assert!(!is_stale(".fxchain-4242-abc.tmp", 3 * MIN, LockState::Free, "abc123"));
        // Not ours at all.
        assert!(!is_stale("photo.png", 100 * 60 * MIN, LockState::Free, "abc123"));
        assert!(!is_stale(".fxchain-done", 100 * 60 * MIN, LockState::Free, "abc123"));
    }

    #[test]
    fn a_temporary_file_is_locked_while_open_and_named_after_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = temp_in(dir.path()).unwrap();
        let name = tmp.path().file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with(&temp_prefix()) && name.ends_with(".tmp"), "{name}");
        assert!(name.contains(&format!("-{}-", std::process::id())), "{name}");
        assert_eq!(lock_state(tmp.path()), LockState::Held);
        let (file, path) = tmp.keep().unwrap();
        drop(file);
        assert_eq!(lock_state(&path), LockState::Free);
    }

    #[test]
    fn jpeg_truncation_is_found_at_any_cut() {
        let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, (x ^ y) as u8]));
        let mut c = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut c, ImageFormat::Jpeg).unwrap();
        let full = c.into_inner();
        assert!(!jpeg_is_truncated(&full));
        // Trailing bytes after the end marker are harmless.
        let mut padded = full.clone();
        padded.extend_from_slice(&[0; 16]);
        assert!(!jpeg_is_truncated(&padded));
        for cut in [full.len() - 1, full.len() - 2, full.len() * 3 / 4, full.len() / 2, 200, 4] {
            assert!(jpeg_is_truncated(&full[..cut]), "cut at {cut} of {}", full.len());
        }
    }

    #[test]
    fn colours_parse_in_every_spelling_and_bad_ones_say_what_is_expected() {
        assert_eq!(parse_color("#ff8000"), Ok([255, 128, 0]));
        assert_eq!(parse_color("FF8000"), Ok([255, 128, 0]));
        assert_eq!(parse_color("#f80"), Ok([255, 136, 0]));
        assert_eq!(parse_color("10, 20,30"), Ok([10, 20, 30]));
        assert_eq!(parse_color("White"), Ok([255; 3]));
        for bad in ["#ff80", "1,2", "1,2,300", "blue-ish", "#gg0000"] {
            assert!(parse_color(bad).unwrap_err().contains("expected #rrggbb"), "{bad}");
        }
    }

    #[test]
    fn size_checks_name_the_limit() {
        let l = ImageLimits { max_width: 100, max_height: 50, max_pixels: 4000, max_bytes: 1 << 20 };
        assert_eq!(l.check(100, 40), Ok(()));
        assert!(l.check(101, 1).unwrap_err().contains("size limit of 100x50"));
        assert!(l.check(100, 41).unwrap_err().contains("4100 pixels, more than the limit of 4000"));
    }
}
