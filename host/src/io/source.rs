//! Reading images: [`ImageSource`] sniffs the format, reports a [`Header`] before any pixel is
//! decoded, then yields rows in order.
//!
//! PNG (non-interlaced, one frame, no EXIF rotation) is decoded row by row with the `png` crate;
//! every other case (JPEG, WebP, TIFF, GIF, interlaced or animated PNG, a rotated EXIF
//! orientation) is decoded whole on the first read and streamed from memory.

use std::io::{BufRead, BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};

use fxchain_plugin_api::{PixelFormat, Size};
use image::metadata::Orientation;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::{classify, file_kind, frame_from_image, jpeg_is_truncated, ImageLimits, Metadata};
use crate::error::ImageError;
use crate::frame::Frame;

/// What a source knows before decoding pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The container format, sniffed from the content.
    pub kind: ImageFormat,
    /// Width and height of the rows the source yields (after EXIF orientation).
    pub size: Size,
    /// Channels as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    pub channels: u8,
    /// Bits per channel as stored (8, 16 or 32).
    pub bit_depth: u8,
    /// Frames or pages in the file (1 for a still image).
    pub frames: u32,
    /// The frame the source yields (0-based).
    pub frame: u32,
    /// ICC profile, EXIF (orientation reset to 1 once applied) and XMP of the input.
    pub metadata: Metadata,
}

/// How a source is opened.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceOptions {
    /// Decoding limits, checked against the header before pixel memory is allocated.
    pub limits: ImageLimits,
    /// The frame or page of a multi-frame file (0-based). Without it such a file is refused
    /// with a message naming its frame count.
    pub frame: Option<u32>,
}

/// Anything the PNG row decoder can read from.
trait Input: BufRead + Seek + Send {}
impl<T: BufRead + Seek + Send> Input for T {}

enum State {
    /// Row-by-row PNG.
    Png { reader: Box<png::Reader<Box<dyn Input>>>, color: png::ColorType, depth: png::BitDepth },
    /// Not decoded yet: the whole file.
    Encoded(Vec<u8>),
    /// Decoded whole (in the format of the first read).
    Decoded(Frame),
    /// Failed or finished.
    Done,
}

/// An image being read: a header, then rows top to bottom. `Send`, so a decoding thread can
/// own it.
pub struct ImageSource {
    name: PathBuf,
    header: Header,
    limits: ImageLimits,
    orientation: Orientation,
    state: State,
    next_row: u32,
}

/// The XMP keyword of PNG `iTXt` chunks.
pub const PNG_XMP_KEYWORD: &str = "XML:com.adobe.xmp";

impl ImageSource {
    /// Opens the file at `path`, or standard input for `-`.
    pub fn open(path: &Path, options: &SourceOptions) -> Result<ImageSource, ImageError> {
        if path == Path::new("-") {
            return ImageSource::from_reader(std::io::stdin().lock(), Path::new("<stdin>"), options);
        }
        let decode = |reason: String| ImageError::Decode { path: path.to_path_buf(), reason };
        // `stat` never blocks; opening a named pipe would wait for a writer, and a device never ends.
        let meta = std::fs::metadata(path).map_err(|e| decode(e.to_string()))?;
        if !meta.is_file() {
            return Err(decode(format!("{}: not an image", file_kind(&meta))));
        }
        if meta.len() == 0 {
            return Err(decode("the file is empty (0 bytes): not an image".into()));
        }
        if meta.len() > options.limits.max_bytes {
            return Err(too_big_file(path, meta.len(), options.limits));
        }
        let mut file = BufReader::new(std::fs::File::open(path).map_err(|e| decode(e.to_string()))?);
        let head = file.fill_buf().map_err(|e| decode(e.to_string()))?;
        if image::guess_format(head).ok() == Some(ImageFormat::Png) {
            if let Some(src) = ImageSource::png_rows(Box::new(file), path, options)? {
                return Ok(src);
            }
        }
        let bytes = std::fs::read(path).map_err(|e| decode(e.to_string()))?;
        ImageSource::whole(bytes, path, options)
    }

    /// Reads a whole stream (standard input, a socket) into memory and opens it; `name` is used
    /// in messages. The encoded bytes count against the decoding limit as they arrive.
    pub fn from_reader(r: impl Read, name: &Path, options: &SourceOptions) -> Result<ImageSource, ImageError> {
        let mut bytes = Vec::new();
        r.take(options.limits.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| ImageError::Decode { path: name.to_path_buf(), reason: e.to_string() })?;
        if bytes.len() as u64 > options.limits.max_bytes {
            return Err(too_big_file(name, bytes.len() as u64, options.limits));
        }
        ImageSource::from_bytes(bytes, name, options)
    }

    /// Opens an encoded image held in memory; `name` is used in messages.
    pub fn from_bytes(bytes: Vec<u8>, name: &Path, options: &SourceOptions) -> Result<ImageSource, ImageError> {
        if bytes.is_empty() {
            return Err(ImageError::Decode {
                path: name.to_path_buf(),
                reason: "the file is empty (0 bytes): not an image".into(),
            });
        }
        // Probe on a borrowed cursor first, so a PNG that cannot stream keeps its bytes.
        if image::guess_format(&bytes).ok() == Some(ImageFormat::Png) && png_can_stream(&bytes) {
            return ImageSource::png_rows(Box::new(Cursor::new(bytes)), name, options)?.ok_or_else(|| {
                ImageError::Decode { path: name.to_path_buf(), reason: "internal: the PNG cannot stream".into() }
            });
        }
        ImageSource::whole(bytes, name, options)
    }

    /// The header: size, channels, depth, frames, metadata.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The name used in messages (the path, or `<stdin>`).
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// Rows yielded so far.
    pub fn rows_read(&self) -> u32 {
        self.next_row
    }

    /// Writes the next rows (at most `n`, fewer at the end of the image) in `format` into `buf`,
    /// rows `stride` bytes apart (each row `width × bytes_per_pixel` bytes at its start);
    /// returns how many rows were written (0 once the image is done).
    pub fn read_rows(&mut self, format: PixelFormat, buf: &mut [u8], stride: usize, n: u32) -> Result<u32, ImageError> {
        let size = self.header.size;
        let row_bytes = size.width as usize * format.bytes_per_pixel();
        let n = n.min(size.height - self.next_row);
        if n == 0 {
            return Ok(0);
        }
        if stride < row_bytes || buf.len() < stride * (n as usize - 1) + row_bytes {
            return Err(self.decode_err(format!(
                "internal: a buffer of {} bytes with rows {stride} apart cannot hold {n} rows of {row_bytes} bytes",
                buf.len()
            )));
        }
        if let State::Encoded(_) = self.state {
            self.materialise(format)?;
        }
        match &mut self.state {
            State::Png { reader, color, depth } => {
                let (color, depth) = (*color, *depth);
                for i in 0..n as usize {
                    let row = match reader.next_row() {
                        Ok(Some(r)) => r,
                        Ok(None) => return Err(self.decode_err("the PNG data ends before its last row".into())),
                        Err(e) => {
                            let reason = format!("row {}: {e}", self.next_row as usize + i);
                            self.state = State::Done;
                            return Err(self.decode_err(reason));
                        }
                    };
                    convert_png_row(row.data(), color, depth, format, &mut buf[i * stride..i * stride + row_bytes]);
                }
            }
            State::Decoded(frame) => {
                if frame.format() != format {
                    *frame = frame.convert(format);
                }
                for i in 0..n {
                    let src = frame.row(self.next_row + i);
                    buf[i as usize * stride..i as usize * stride + row_bytes].copy_from_slice(src);
                }
            }
            State::Encoded(_) | State::Done => return Err(self.decode_err("internal: the source is finished".into())),
        }
        self.next_row += n;
        if self.next_row == size.height {
            self.state = State::Done;
        }
        Ok(n)
    }

    /// Decodes the rest of the image into a frame of `format` (all of it when nothing was read).
    pub fn read_frame(mut self, format: PixelFormat) -> Result<Frame, ImageError> {
        if let State::Png { .. } = self.state {
            let (s, h) = (self.header.size, &self.header);
            let need = s.width as u64 * s.height as u64 * h.channels as u64 * (h.bit_depth as u64 / 8);
            check_bytes(&self.name, s.width, s.height, need, self.limits)?;
        }
        if self.next_row == 0 {
            if let State::Encoded(_) = self.state {
                self.materialise(format)?;
            }
            if let State::Decoded(_) = self.state {
                let State::Decoded(f) = std::mem::replace(&mut self.state, State::Done) else { unreachable!() };
                return Ok(if f.format() == format { f } else { f.convert(format) });
            }
        }
        let s = self.header.size;
        let mut frame = Frame::new_uninit(Size::new(s.width, s.height - self.next_row), format);
        let stride = frame.stride();
        let rows = frame.size().height;
        let mut done = 0;
        while done < rows {
            let buf = &mut frame.bytes_mut()[done as usize * stride..];
            let got = self.read_rows(format, buf, stride, rows - done)?;
            if got == 0 {
                break;
            }
            done += got;
        }
        frame.detect_opaque();
        Ok(frame)
    }

    fn decode_err(&self, reason: String) -> ImageError {
        ImageError::Decode { path: self.name.clone(), reason }
    }

    /// A row-by-row PNG source, or `None` when this PNG cannot stream (interlaced, animated,
    /// rotated by EXIF).
    fn png_rows(
        input: Box<dyn Input>,
        name: &Path,
        options: &SourceOptions,
    ) -> Result<Option<ImageSource>, ImageError> {
        let decode = |reason: String| ImageError::Decode { path: name.to_path_buf(), reason };
        let mut decoder =
            png::Decoder::new_with_limits(input, png::Limits { bytes: options.limits.max_bytes as usize });
        decoder.set_transformations(png::Transformations::EXPAND);
        let reader = decoder.read_info().map_err(|e| match e {
            png::DecodingError::LimitsExceeded => ImageError::Limits {
                path: name.to_path_buf(),
                reason: "exceeds the decoding limits (--max-decode-mb)".into(),
            },
            e => decode(e.to_string()),
        })?;
        let info = reader.info();
        let animated = info.animation_control.is_some_and(|a| a.num_frames > 1);
        let rotated = info
            .exif_metadata
            .as_deref()
            .and_then(Orientation::from_exif_chunk)
            .is_some_and(|o| o != Orientation::NoTransforms);
        if info.interlaced || animated || rotated {
            return Ok(None);
        }
        let (w, h) = (info.width, info.height);
        check_dims(name, w, h, options.limits)?;
        let (color, depth) = reader.output_color_type();
        let bit_depth = if depth == png::BitDepth::Sixteen { 16 } else { 8 };
        // Read row by row, the image needs a few rows of memory; the decoded-pixels limit is
        // checked when it is decoded whole (`read_frame`).
        let mut metadata = Metadata {
            icc: info.icc_profile.as_ref().map(|p| p.to_vec()),
            exif: info.exif_metadata.as_ref().map(|p| p.to_vec()),
            ..Default::default()
        };
        for t in &info.uncompressed_latin1_text {
            metadata.text.push((t.keyword.clone(), t.text.clone()));
        }
        for t in &info.utf8_text {
            let Ok(text) = t.get_text() else { continue };
            if t.keyword == PNG_XMP_KEYWORD {
                metadata.xmp = Some(text.into_bytes());
            } else {
                metadata.text.push((t.keyword.clone(), text));
            }
        }
        let header = Header {
            kind: ImageFormat::Png,
            size: Size::new(w, h),
            channels: color.samples() as u8,
            bit_depth,
            frames: 1,
            frame: 0,
            metadata,
        };
        Ok(Some(ImageSource {
            name: name.to_path_buf(),
            header,
            limits: options.limits,
            orientation: Orientation::NoTransforms,
            state: State::Png { reader: Box::new(reader), color, depth },
            next_row: 0,
        }))
    }

    /// A source decoded whole on the first read.
    fn whole(bytes: Vec<u8>, name: &Path, options: &SourceOptions) -> Result<ImageSource, ImageError> {
        let decode = |reason: String| ImageError::Decode { path: name.to_path_buf(), reason };
        let reader =
            ImageReader::new(Cursor::new(&bytes[..])).with_guessed_format().map_err(|e| decode(e.to_string()))?;
        let Some(kind) = reader.format() else {
            return Err(decode("not an image in a supported format (png, jpeg, webp, tiff, gif)".into()));
        };
        if kind == ImageFormat::Jpeg && jpeg_is_truncated(&bytes) {
            return Err(decode("the JPEG data ends before its end marker: the file is truncated".into()));
        }
        let limits = options.limits;
        let mut decoder = limited(reader, limits).into_decoder().map_err(|e| classify(name, e))?;
        let (w, h) = decoder.dimensions();
        check_dims(name, w, h, limits)?;
        check_bytes(name, w, h, decoder.total_bytes(), limits)?;
        let ct = decoder.color_type();
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let mut metadata = Metadata {
            icc: decoder.icc_profile().ok().flatten(),
            exif: decoder.exif_metadata().ok().flatten(),
            xmp: decoder.xmp_metadata().ok().flatten(),
            text: Vec::new(),
        };
        if let Some(exif) = &mut metadata.exif {
            // The rows come out upright: the EXIF block must not ask for another rotation.
            let _ = Orientation::remove_from_exif_chunk(exif);
        }
        drop(decoder);
        let frames = count_frames(kind, &bytes).map_err(decode)?;
        let frame = match (frames, options.frame) {
            (1, None) => 0,
            (n, None) => {
                return Err(decode(format!(
                    "the file holds {n} {}: choose one with --frame N (0 to {})",
                    if kind == ImageFormat::Tiff { "pages" } else { "frames" },
                    n - 1
                )))
            }
            (n, Some(f)) if f >= n => {
                return Err(decode(format!("--frame {f}: the file holds {n} frame(s), numbered 0 to {}", n - 1)))
            }
            (_, Some(f)) => f,
        };
        let size = match orientation {
            Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH => Size::new(h, w),
            _ => Size::new(w, h),
        };
        let header = Header {
            kind,
            size,
            channels: ct.channel_count(),
            bit_depth: (ct.bytes_per_pixel() / ct.channel_count() * 8),
            frames,
            frame,
            metadata,
        };
        Ok(ImageSource {
            name: name.to_path_buf(),
            header,
            limits,
            orientation,
            state: State::Encoded(bytes),
            next_row: 0,
        })
    }

    /// Decodes an `Encoded` source whole into a frame of `format`.
    fn materialise(&mut self, format: PixelFormat) -> Result<(), ImageError> {
        let State::Encoded(bytes) = std::mem::replace(&mut self.state, State::Done) else { return Ok(()) };
        let name = self.name.clone();
        let decode = |reason: String| ImageError::Decode { path: name.clone(), reason };
        let frame = self.header.frame;
        let kind = self.header.kind;
        let mut img = if frame == 0 {
            let reader =
                ImageReader::new(Cursor::new(&bytes[..])).with_guessed_format().map_err(|e| decode(e.to_string()))?;
            let decoder = limited(reader, self.limits).into_decoder().map_err(|e| classify(&name, e))?;
            DynamicImage::from_decoder(decoder).map_err(|e| classify(&name, e))?
        } else {
            decode_frame(kind, &bytes, frame, self.limits).map_err(|e| decode(format!("frame {frame}: {e}")))?
        };
        img.apply_orientation(self.orientation);
        if img.width() == 0 || img.height() == 0 {
            return Err(decode("the image is empty".into()));
        }
        if Size::new(img.width(), img.height()) != self.header.size {
            return Err(decode(format!(
                "frame {frame} is {}x{}, not the {}x{} of the header",
                img.width(),
                img.height(),
                self.header.size.width,
                self.header.size.height
            )));
        }
        self.state = State::Decoded(frame_from_image(img, format));
        Ok(())
    }
}

fn too_big_file(path: &Path, len: u64, limits: ImageLimits) -> ImageError {
    ImageError::Limits {
        path: path.to_path_buf(),
        reason: format!(
            "the file is {} MiB, more than the decoding limit of {} MiB (--max-decode-mb)",
            len >> 20,
            limits.max_bytes >> 20
        ),
    }
}

fn check_dims(name: &Path, w: u32, h: u32, limits: ImageLimits) -> Result<(), ImageError> {
    limits.check(w, h).map_err(|reason| ImageError::Limits { path: name.to_path_buf(), reason })?;
    if w == 0 || h == 0 {
        return Err(ImageError::Decode { path: name.to_path_buf(), reason: "the image is empty".into() });
    }
    Ok(())
}

fn check_bytes(name: &Path, w: u32, h: u32, need: u64, limits: ImageLimits) -> Result<(), ImageError> {
    if need > limits.max_bytes {
        return Err(ImageError::Limits {
            path: name.to_path_buf(),
            reason: format!(
                "decoding {w}x{h} needs {} MiB, more than the limit of {} MiB (--max-decode-mb)",
                need.div_ceil(1 << 20),
                limits.max_bytes >> 20
            ),
        });
    }
    Ok(())
}

fn limited<R: BufRead + Seek>(mut reader: ImageReader<R>, limits: ImageLimits) -> ImageReader<R> {
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_bytes);
    reader.limits(l);
    reader
}

/// Whether a PNG can be read row by row: not interlaced, one frame, no EXIF rotation.
fn png_can_stream(bytes: &[u8]) -> bool {
    let Ok(reader) = png::Decoder::new(Cursor::new(bytes)).read_info() else { return false };
    let info = reader.info();
    !info.interlaced
        && info.animation_control.is_none_or(|a| a.num_frames <= 1)
        && !info
            .exif_metadata
            .as_deref()
            .and_then(Orientation::from_exif_chunk)
            .is_some_and(|o| o != Orientation::NoTransforms)
}

/// Frames (GIF, animated PNG and WebP) or pages (TIFF) in a file.
fn count_frames(kind: ImageFormat, bytes: &[u8]) -> Result<u32, String> {
    Ok(match kind {
        ImageFormat::Gif => {
            let d = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
            let mut n = 0u32;
            for f in d.into_frames() {
                f.map_err(|e| e.to_string())?;
                n += 1;
            }
            n.max(1)
        }
        ImageFormat::Png => {
            let r = png::Decoder::new(Cursor::new(bytes)).read_info().map_err(|e| e.to_string())?;
            r.info().animation_control.map_or(1, |a| a.num_frames.max(1))
        }
        ImageFormat::WebP => {
            let d = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
            if d.is_animated() {
                d.num_frames().max(1)
            } else {
                1
            }
        }
        ImageFormat::Tiff => {
            let mut d = tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
            let mut n = 1u32;
            while d.more_images() {
                d.next_image().map_err(|e| e.to_string())?;
                n += 1;
                if n > 65535 {
                    return Err("more than 65535 pages".into());
                }
            }
            n
        }
        _ => 1,
    })
}

/// Frame `n` (> 0) of a multi-frame file.
fn decode_frame(kind: ImageFormat, bytes: &[u8], n: u32, limits: ImageLimits) -> Result<DynamicImage, String> {
    let nth = |mut frames: image::Frames<'_>| -> Result<DynamicImage, String> {
        let f = frames.nth(n as usize).ok_or("no such frame")?.map_err(|e| e.to_string())?;
        Ok(DynamicImage::ImageRgba8(f.into_buffer()))
    };
    match kind {
        ImageFormat::Gif => {
            nth(image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?.into_frames())
        }
        ImageFormat::Png => nth(image::codecs::png::PngDecoder::new(Cursor::new(bytes))
            .and_then(|d| d.apng())
            .map_err(|e| e.to_string())?
            .into_frames()),
        ImageFormat::WebP => {
            nth(image::codecs::webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?.into_frames())
        }
        ImageFormat::Tiff => tiff_page(bytes, n, limits),
        _ => Err("the format has one frame".into()),
    }
}

/// Page `n` of a TIFF file (grey, grey+alpha, RGB, RGBA; 8 or 16 bits).
fn tiff_page(bytes: &[u8], n: u32, limits: ImageLimits) -> Result<DynamicImage, String> {
    use tiff::decoder::DecodingResult;
    use tiff::ColorType as C;
    let mut l = tiff::decoder::Limits::default();
    l.decoding_buffer_size = limits.max_bytes as usize;
    let mut d = tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?.with_limits(l);
    d.seek_to_image(n as usize).map_err(|e| e.to_string())?;
    let (w, h) = d.dimensions().map_err(|e| e.to_string())?;
    limits.check(w, h)?;
    let ct = d.colortype().map_err(|e| e.to_string())?;
    let data = d.read_image().map_err(|e| e.to_string())?;
    let bad = || format!("{w}x{h} page: pixel data does not match its colour type {ct:?}");
    let img = match (ct, data) {
        (C::Gray(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageLuma8(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (C::GrayA(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageLumaA8(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (C::RGB(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageRgb8(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (C::RGBA(8), DecodingResult::U8(v)) => {
            DynamicImage::ImageRgba8(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (C::Gray(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (C::GrayA(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageLumaA16(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (C::RGB(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageRgb16(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (C::RGBA(16), DecodingResult::U16(v)) => {
            DynamicImage::ImageRgba16(image::ImageBuffer::from_raw(w, h, v).ok_or_else(bad)?)
        }
        (ct, _) => {
            return Err(format!("pages other than the first must be grey, RGB or RGBA of 8 or 16 bits, not {ct:?}"))
        }
    };
    Ok(img)
}

/// Converts one decoded PNG row (after `EXPAND`: grey, grey+alpha, RGB or RGBA of 8 or 16 bits)
/// to `format`, with the same arithmetic as the `image` crate's conversions.
fn convert_png_row(src: &[u8], color: png::ColorType, depth: png::BitDepth, format: PixelFormat, dst: &mut [u8]) {
    let samples = color.samples();
    let wide = depth == png::BitDepth::Sixteen;
    let sample = |px: &[u8], i: usize| -> u16 {
        if wide {
            u16::from_be_bytes([px[2 * i], px[2 * i + 1]])
        } else {
            px[i] as u16
        }
    };
    let bytes_per_px = samples * if wide { 2 } else { 1 };
    let rgba = |px: &[u8]| -> [u16; 4] {
        let max = if wide { u16::MAX } else { 255 };
        match samples {
            1 => [sample(px, 0), sample(px, 0), sample(px, 0), max],
            2 => [sample(px, 0), sample(px, 0), sample(px, 0), sample(px, 1)],
            3 => [sample(px, 0), sample(px, 1), sample(px, 2), max],
            _ => [sample(px, 0), sample(px, 1), sample(px, 2), sample(px, 3)],
        }
    };
    let pixels = src.chunks_exact(bytes_per_px);
    if format == PixelFormat::RGBA32F {
        // Through the `image` crate's own conversion (one row), so streamed float pixels equal
        // those of a whole decode to the last bit.
        let w = (src.len() / bytes_per_px) as u32;
        let wide_samples = || src.chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect::<Vec<u16>>();
        let row = match (samples, wide) {
            (1, false) => image::ImageBuffer::from_raw(w, 1, src.to_vec()).map(DynamicImage::ImageLuma8),
            (2, false) => image::ImageBuffer::from_raw(w, 1, src.to_vec()).map(DynamicImage::ImageLumaA8),
            (3, false) => image::ImageBuffer::from_raw(w, 1, src.to_vec()).map(DynamicImage::ImageRgb8),
            (_, false) => image::ImageBuffer::from_raw(w, 1, src.to_vec()).map(DynamicImage::ImageRgba8),
            (1, true) => image::ImageBuffer::from_raw(w, 1, wide_samples()).map(DynamicImage::ImageLuma16),
            (2, true) => image::ImageBuffer::from_raw(w, 1, wide_samples()).map(DynamicImage::ImageLumaA16),
            (3, true) => image::ImageBuffer::from_raw(w, 1, wide_samples()).map(DynamicImage::ImageRgb16),
            (_, true) => image::ImageBuffer::from_raw(w, 1, wide_samples()).map(DynamicImage::ImageRgba16),
        };
        if let Some(row) = row {
            dst.copy_from_slice(bytemuck::cast_slice(row.to_rgba32f().as_raw()));
        }
    } else {
        for (d, px) in dst.chunks_exact_mut(4).zip(pixels) {
            for (c, v) in d.iter_mut().zip(rgba(px)) {
                *c = if wide { ((v as u32 + 128) / 257) as u8 } else { v as u8 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_rows_equal_the_whole_decode_of_the_image_crate_for_every_colour_type() {
        let (w, h) = (19u32, 11u32);
        let rgba16 = image::ImageBuffer::from_fn(w, h, |x, y| {
            image::Rgba([(x * 3000) as u16, (y * 5000) as u16, ((x + y) * 1234) as u16, (x * y * 700) as u16])
        });
        let base = DynamicImage::ImageRgba16(rgba16);
        for img in [
            DynamicImage::ImageLuma8(base.to_luma8()),
            DynamicImage::ImageLumaA8(base.to_luma_alpha8()),
            DynamicImage::ImageRgb8(base.to_rgb8()),
            DynamicImage::ImageRgba8(base.to_rgba8()),
            DynamicImage::ImageLuma16(base.to_luma16()),
            DynamicImage::ImageRgb16(base.to_rgb16()),
            base.clone(),
        ] {
            let mut bytes = Vec::new();
            img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
            for format in [PixelFormat::RGBA8, PixelFormat::RGBA32F] {
                let src =
                    ImageSource::from_bytes(bytes.clone(), Path::new("t.png"), &SourceOptions::default()).unwrap();
                assert!(matches!(src.state, State::Png { .. }), "{:?} streams", img.color());
                let streamed = src.read_frame(format).unwrap();
                let whole = frame_from_image(img.clone(), format);
                let rows = |f: &Frame| f.rows().flat_map(|r| r.to_vec()).collect::<Vec<u8>>();
                let (a, b) = (rows(&streamed), rows(&whole));
                let first = a.iter().zip(&b).position(|(x, y)| x != y);
                assert!(
                    first.is_none(),
                    "{:?} as {format}: byte {first:?}: {:?} vs {:?}",
                    img.color(),
                    first.map(|i| &a[i / 16 * 16..i / 16 * 16 + 16]),
                    first.map(|i| &b[i / 16 * 16..i / 16 * 16 + 16])
                );
                assert_eq!(streamed.is_opaque(), whole.is_opaque());
            }
        }
    }

    #[test]
    fn limits_are_checked_from_the_header_before_decoding() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::new(300, 200));
        for format in [ImageFormat::Png, ImageFormat::Tiff] {
            let mut bytes = Vec::new();
            img.write_to(&mut Cursor::new(&mut bytes), format).unwrap();
            let limits = ImageLimits { max_width: 299, ..Default::default() };
            let e = ImageSource::from_bytes(bytes, Path::new("big"), &SourceOptions { limits, frame: None }).err();
            assert!(matches!(e, Some(ImageError::Limits { .. })), "{format:?}: {e:?}");
            if format == ImageFormat::Png {
                let e = e.unwrap().to_string();
                assert!(e.contains("300x200 exceeds the size limit of 299x131072"), "{e}");
            }
        }
    }
}
