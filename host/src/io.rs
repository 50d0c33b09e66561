//! Image files: decoding with limits, and atomic writes.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use fxchain_plugin_api::{PixelFormat, Size};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::ImageError;
use crate::frame::Frame;

/// Limits applied when decoding. Defaults allow 16384×16384 and 1 GiB of decoder memory.
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
        ImageLimits { max_width: 16384, max_height: 16384, max_pixels: 16384 * 16384, max_bytes: 1 << 30 }
    }
}

impl ImageLimits {
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

/// Decodes the image at `path` into a frame of `format`, honouring EXIF orientation.
pub fn load_image(path: &Path, format: PixelFormat, limits: ImageLimits) -> Result<Frame, ImageError> {
    let decode = |reason: String| ImageError::Decode { path: path.to_path_buf(), reason };
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(decode("the file is empty (0 bytes): not an image".into()));
    }
    let mut reader = ImageReader::open(path).map_err(|e| decode(e.to_string()))?;
    reader = reader.with_guessed_format().map_err(|e| decode(e.to_string()))?;
    if reader.format().is_none() {
        return Err(decode("not an image in a supported format (png, jpeg, webp, tiff)".into()));
    }
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_bytes);
    reader.limits(l);
    let mut decoder = reader.into_decoder().map_err(|e| classify(path, e))?;
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > limits.max_pixels {
        return Err(ImageError::Limits {
            path: path.to_path_buf(),
            reason: format!("{w}x{h} is {} pixels, more than the limit of {}", w as u64 * h as u64, limits.max_pixels),
        });
    }
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| classify(path, e))?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    if img.width() == 0 || img.height() == 0 {
        return Err(decode("the image is empty".into()));
    }
    Ok(frame_from_image(img, format))
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

/// Encodes `frame` to `path` atomically: the bytes go to a temporary file in the same folder,
/// which is renamed over `path` only when complete. No partial file is ever visible.
pub fn save_image(frame: &Frame, path: &Path, format: OutputFormat) -> Result<(), ImageError> {
    let write_err = |reason: String| ImageError::Write { path: path.to_path_buf(), reason };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let size = frame.size();
    let rgba = image::RgbaImage::from_raw(size.width, size.height, frame.to_rgba8_vec())
        .ok_or_else(|| write_err("internal: frame size mismatch".into()))?;
    let mut tmp =
        temp_in(&dir).map_err(|e| write_err(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        let result = match format {
            OutputFormat::Png => DynamicImage::ImageRgba8(rgba).write_to(&mut w, ImageFormat::Png),
            OutputFormat::Jpeg(q) => {
                let rgb = DynamicImage::ImageRgba8(rgba).to_rgb8();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut w, q.clamp(1, 100)).encode_image(&rgb)
            }
            OutputFormat::Webp => DynamicImage::ImageRgba8(rgba).write_to(&mut w, ImageFormat::WebP),
            OutputFormat::Tiff => {
                let mut cursor = std::io::Cursor::new(Vec::new());
                DynamicImage::ImageRgba8(rgba)
                    .write_to(&mut cursor, ImageFormat::Tiff)
                    .and_then(|_| w.write_all(cursor.get_ref()).map_err(image::ImageError::IoError))
            }
        };
        result.map_err(|e| write_err(e.to_string()))?;
        w.flush().map_err(|e| write_err(e.to_string()))?;
    }
    tmp.as_file().sync_all().map_err(|e| write_err(e.to_string()))?;
    set_output_permissions(tmp.as_file(), path);
    tmp.persist(path).map_err(|e| write_err(e.error.to_string()))?;
    Ok(())
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

/// Prefix of the temporary files fxchain writes next to its outputs: `.fxchain-<pid>-`.
fn temp_prefix() -> String {
    format!(".fxchain-{}-", std::process::id())
}

/// A temporary file in `dir` named after this process, so a later run can tell it is stale.
pub fn temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(&temp_prefix()).suffix(".tmp").tempfile_in(dir)
}

/// Removes temporary files left in `dir` by fxchain processes that no longer run (a kill -9
/// during a write). Returns how many were removed.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(".fxchain-") else { continue };
        if !name.ends_with(".tmp") {
            continue;
        }
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| p == std::process::id() || Path::new(&format!("/proc/{p}")).exists());
        // Without /proc (not Linux), only files of unknown origin older than an hour go.
        let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|a| a.as_secs() > 3600));
        let gone = if Path::new("/proc/self").exists() { !alive } else { old };
        if gone && std::fs::remove_file(e.path()).is_ok() {
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
