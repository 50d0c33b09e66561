//! Writing images: [`ImageSink`] takes rows in order and writes them to a file (atomically) or
//! to standard output, with the settings of [`EncodeOptions`] and the [`Metadata`] the format
//! can carry.
//!
//! PNG is encoded as the rows arrive (the `png` crate's streaming writer: memory stays at a few
//! rows); JPEG, WebP and TIFF keep the rows until [`ImageSink::finish`] and encode them then.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use fxchain_plugin_api::{f32_to_u8, PixelFormat, Size};

use super::{set_output_permissions, temp_in, Metadata, OutputFormat, MAX_WEBP_SIDE, PNG_XMP_KEYWORD};
use crate::error::ImageError;
use crate::frame::Frame;

/// Where an encoded image goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A file, replaced atomically when the image is complete.
    File(PathBuf),
    /// Standard output.
    Stdout,
}

impl Target {
    /// `-` is standard output, anything else a file.
    pub fn from_path(path: &Path) -> Target {
        if path == Path::new("-") {
            Target::Stdout
        } else {
            Target::File(path.to_path_buf())
        }
    }

    /// The name used in messages.
    pub fn name(&self) -> PathBuf {
        match self {
            Target::File(p) => p.clone(),
            Target::Stdout => PathBuf::from("<stdout>"),
        }
    }
}

/// JPEG chroma subsampling.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Subsampling {
    /// 4:2:0 below quality 90, 4:4:4 from 90 on (as libvips does).
    #[default]
    Auto,
    /// No subsampling.
    S444,
    /// Half horizontal chroma resolution.
    S422,
    /// Half horizontal and vertical chroma resolution.
    S420,
}

/// TIFF compression.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum TiffCompression {
    /// Uncompressed (the libvips default).
    #[default]
    None,
    /// LZW.
    Lzw,
    /// Deflate (zlib).
    Deflate,
}

/// Encoder settings for every format; each format reads its own. The defaults follow libvips.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// PNG zlib level 0..=9 (0 stores the rows uncompressed). Default 6.
    pub png_compression: u8,
    /// PNG: the fastest encoder (fdeflate, one fixed filter) instead of zlib at `png_compression`.
    pub png_fast: bool,
    /// JPEG: progressive instead of baseline.
    pub jpeg_progressive: bool,
    /// JPEG chroma subsampling.
    pub jpeg_subsampling: Subsampling,
    /// WebP: lossy at this quality (1..=100) instead of lossless.
    pub webp_lossy: Option<u8>,
    /// TIFF compression.
    pub tiff_compression: TiffCompression,
    /// Bits per channel for PNG and TIFF (8 or 16); JPEG and WebP always write 8.
    pub depth: u8,
    /// Flatten transparency onto this colour and write without alpha. Without it, an image with
    /// transparency written to JPEG is flattened on white with a warning.
    pub background: Option<[u8; 3]>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            png_compression: 6,
            png_fast: false,
            jpeg_progressive: false,
            jpeg_subsampling: Subsampling::Auto,
            webp_lossy: None,
            tiff_compression: TiffCompression::None,
            depth: 8,
            background: None,
        }
    }
}

/// The channels and depth written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    pub channels: u8,
    /// 8 or 16 bits per channel.
    pub depth: u8,
}

impl Layout {
    /// The smallest layout holding `frame` exactly in `format`: no alpha when every pixel is
    /// opaque (or a background flattens it), grey when every pixel is grey (and so is the
    /// background), 16 bits when `options.depth` asks for it and the format has it.
    pub fn for_frame(frame: &Frame, format: OutputFormat, options: &EncodeOptions) -> Layout {
        let (opaque, grey) =
            scan(frame.bytes(), frame.stride(), frame.size().height, frame.size().width, frame.format());
        Layout::choose(opaque, grey, format, options)
    }

    /// The layout for an image known to be `opaque` and/or `grey`, in `format`.
    pub fn choose(opaque: bool, grey: bool, format: OutputFormat, options: &EncodeOptions) -> Layout {
        let alpha = !opaque && options.background.is_none() && !matches!(format, OutputFormat::Jpeg(_));
        let bg_grey = options.background.is_none_or(|b| b[0] == b[1] && b[1] == b[2]);
        let grey = grey && (opaque || bg_grey) && format != OutputFormat::Webp;
        let channels = match (grey, alpha) {
            (true, false) => 1,
            // The TIFF encoder has no grey+alpha.
            (true, true) if format == OutputFormat::Tiff => 4,
            (true, true) => 2,
            (false, false) => 3,
            (false, true) => 4,
        };
        let depth =
            if options.depth == 16 && matches!(format, OutputFormat::Png | OutputFormat::Tiff) { 16 } else { 8 };
        Layout { channels, depth }
    }

    fn row_bytes(self, width: u32) -> usize {
        width as usize * self.channels as usize * (self.depth as usize / 8)
    }
}

/// Whether every pixel of `n` rows of `format` (`RGBA8` or `RGBA32F`, `width` pixels,
/// `stride` bytes apart in `data`) is opaque, and whether every one is grey.
pub fn scan(data: &[u8], stride: usize, n: u32, width: u32, format: PixelFormat) -> (bool, bool) {
    let (mut opaque, mut grey) = (true, true);
    let row = width as usize * format.bytes_per_pixel();
    for r in (0..n as usize).map(|i| &data[i * stride..i * stride + row]) {
        match format {
            PixelFormat::RGBA32F => {
                for p in bytemuck::cast_slice::<u8, f32>(r).chunks_exact(4) {
                    opaque &= p[3] >= 1.0;
                    grey &= p[0] == p[1] && p[1] == p[2];
                }
            }
            _ => {
                for p in r.chunks_exact(4) {
                    opaque &= p[3] == 255;
                    grey &= p[0] == p[1] && p[1] == p[2];
                }
            }
        }
    }
    (opaque, grey)
}

type Out = BufWriter<Box<dyn Write + Send>>;

enum Encoder {
    Png(Box<png::StreamWriter<'static, Out>>),
    /// Rows kept for an encoder that needs them all.
    Buffered(Out, Vec<u8>),
    Done,
}

/// An image being written: rows in order, then [`ImageSink::finish`]. Dropping an unfinished
/// sink (or a failure) leaves no partial file: a file target is only renamed into place by
/// `finish`. `Send`, so a write-behind thread can own it.
pub struct ImageSink {
    target: Target,
    temp: Option<tempfile::NamedTempFile>,
    size: Size,
    format: OutputFormat,
    layout: Layout,
    options: EncodeOptions,
    metadata: Metadata,
    encoder: Encoder,
    rows: u32,
    row: Vec<u8>,
    warned: bool,
}

impl ImageSink {
    /// Starts an image of `size` in `format` and `layout` for `target`, embedding `metadata`
    /// where the format carries it (PNG: iCCP, eXIf, iTXt; JPEG: APP1 EXIF and XMP, APP2 ICC;
    /// WebP: ICCP, EXIF, XMP chunks; TIFF: ICC and XMP tags).
    pub fn create(
        target: Target,
        size: Size,
        format: OutputFormat,
        layout: Layout,
        options: &EncodeOptions,
        metadata: &Metadata,
    ) -> Result<ImageSink, ImageError> {
        let name = target.name();
        let write_err = |reason: String| ImageError::Write { path: name.clone(), reason };
        if size.width == 0 || size.height == 0 {
            return Err(write_err(format!("{}x{} is an empty image", size.width, size.height)));
        }
        if format == OutputFormat::Webp && size.width.max(size.height) > MAX_WEBP_SIDE {
            return Err(write_err(format!(
                "{}x{} is too large for WebP (at most {MAX_WEBP_SIDE} pixels per side); write png or tiff instead",
                size.width, size.height
            )));
        }
        if matches!(format, OutputFormat::Jpeg(_)) && size.width.max(size.height) > u16::MAX as u32 {
            return Err(write_err(format!(
                "{}x{} is too large for JPEG (at most 65535 pixels per side); write png or tiff instead",
                size.width, size.height
            )));
        }
        if !(1..=4).contains(&layout.channels) || !matches!(layout.depth, 8 | 16) {
            return Err(write_err(format!("internal: {} channels of {} bits", layout.channels, layout.depth)));
        }
        let (temp, out): (Option<tempfile::NamedTempFile>, Box<dyn Write + Send>) = match &target {
            Target::File(path) => {
                let dir = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let tmp = temp_in(&dir)
                    .map_err(|e| write_err(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
                let file = tmp.as_file().try_clone().map_err(|e| write_err(e.to_string()))?;
                (Some(tmp), Box::new(file))
            }
            Target::Stdout => (None, Box::new(std::io::stdout())),
        };
        let out = BufWriter::with_capacity(1 << 16, out);
        let encoder = match format {
            OutputFormat::Png => {
                Encoder::Png(Box::new(png_writer(out, size, layout, options, metadata).map_err(write_err)?))
            }
            _ => Encoder::Buffered(out, Vec::with_capacity(layout.row_bytes(size.width) * size.height as usize)),
        };
        Ok(ImageSink {
            target,
            temp,
            size,
            format,
            layout,
            options: options.clone(),
            metadata: metadata.clone(),
            encoder,
            rows: 0,
            row: vec![0; layout.row_bytes(size.width)],
            warned: false,
        })
    }

    /// The size being written.
    pub fn size(&self) -> Size {
        self.size
    }

    /// The layout being written.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Rows taken so far.
    pub fn rows_written(&self) -> u32 {
        self.rows
    }

    fn write_err(&self, reason: String) -> ImageError {
        ImageError::Write { path: self.target.name(), reason }
    }

    /// Takes the next `n` rows of `format` (`RGBA8` or `RGBA32F`), `stride` bytes apart in
    /// `data`.
    pub fn push_rows(&mut self, data: &[u8], stride: usize, format: PixelFormat, n: u32) -> Result<(), ImageError> {
        let src_row = self.size.width as usize * format.bytes_per_pixel();
        if self.rows + n > self.size.height {
            return Err(self.write_err(format!(
                "internal: {} rows pushed into an image of {} rows",
                self.rows + n,
                self.size.height
            )));
        }
        if n > 0 && (stride < src_row || data.len() < stride * (n as usize - 1) + src_row) {
            return Err(self.write_err("internal: the row buffer is too short".into()));
        }
        let background = self.options.background.unwrap_or([255; 3]);
        let mut row = std::mem::take(&mut self.row);
        for i in 0..n as usize {
            let src = &data[i * stride..i * stride + src_row];
            let flattened = convert_row(src, format, self.layout, background, &mut row);
            if flattened && self.options.background.is_none() && !self.warned {
                self.warned = true;
                tracing::warn!(
                    "{}: the image has transparency, which {} cannot hold: flattened on white (choose the colour with --background)",
                    self.target.name().display(),
                    self.format.name()
                );
            }
            let r = match &mut self.encoder {
                Encoder::Png(w) => w.write_all(&row).map_err(|e| e.to_string()),
                Encoder::Buffered(_, buf) => {
                    buf.extend_from_slice(&row);
                    Ok(())
                }
                Encoder::Done => Err("internal: the sink is finished".to_string()),
            };
            if let Err(e) = r {
                self.encoder = Encoder::Done;
                self.row = row;
                return Err(self.write_err(e));
            }
        }
        self.row = row;
        self.rows += n;
        Ok(())
    }

    /// Takes every row of `frame` (the rest of the image, when rows were pushed before).
    pub fn push_frame(&mut self, frame: &Frame) -> Result<(), ImageError> {
        let rows = frame.size().height.min(self.size.height - self.rows);
        self.push_rows(frame.bytes(), frame.stride(), frame.format(), rows)
    }

    /// Completes the image: encodes what is buffered, flushes, and moves a file into place.
    pub fn finish(self) -> Result<(), ImageError> {
        self.finish_with_text(&[])
    }

    /// Completes the image like [`ImageSink::finish`], adding `text` records (keyword, text)
    /// after the pixels: `iTXt` chunks before the end of a PNG file, which is how a record
    /// computed from the pixels (a hash) is written while the pixels stream. Other formats
    /// and standard output take text records only through the metadata given to `create`.
    pub fn finish_with_text(mut self, text: &[(String, String)]) -> Result<(), ImageError> {
        if self.rows != self.size.height {
            return Err(self.write_err(format!("internal: {} of {} rows were written", self.rows, self.size.height)));
        }
        let png_file = self.format == OutputFormat::Png && self.temp.is_some();
        if !text.is_empty() && !png_file {
            return Err(self.write_err("internal: text after the pixels needs a PNG file".into()));
        }
        let encoder = std::mem::replace(&mut self.encoder, Encoder::Done);
        let mut out = match encoder {
            Encoder::Png(w) => w.finish().map_err(|e| e.to_string()).map(|_| None),
            Encoder::Buffered(mut out, pixels) => {
                encode_buffered(&mut out, &pixels, self.size, self.format, self.layout, &self.options, &self.metadata)
                    .map(|_| Some(out))
            }
            Encoder::Done => Err("internal: the sink is finished".into()),
        }
        .map_err(|e| self.write_err(e))?;
        if let Some(out) = &mut out {
            out.flush().map_err(|e| self.write_err(e.to_string()))?;
        }
        drop(out);
        if let (Target::File(path), Some(tmp)) = (&self.target, self.temp.take()) {
            if png_file {
                // The encoder flushes its last bytes when it is dropped, without reporting an
                // error: the file must end in the IEND chunk it wrote.
                png_trailer(tmp.as_file(), text).map_err(|e| self.write_err(e))?;
            }
            tmp.as_file().sync_all().map_err(|e| self.write_err(e.to_string()))?;
            set_output_permissions(tmp.as_file(), path);
            tmp.persist(path).map_err(|e| self.write_err(e.error.to_string()))?;
        }
        Ok(())
    }
}

/// The IEND chunk every PNG ends with.
const PNG_IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// Checks that the PNG in `file` is complete (it ends in IEND) and inserts `text` as `iTXt`
/// chunks before its IEND.
fn png_trailer(mut file: &std::fs::File, text: &[(String, String)]) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |e: std::io::Error| e.to_string();
    let mut tail = [0u8; 12];
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    if len < 12 {
        return Err("the image was not completely written".into());
    }
    file.seek(SeekFrom::End(-12)).map_err(io)?;
    file.read_exact(&mut tail).map_err(io)?;
    if tail != PNG_IEND {
        return Err("the image was not completely written".into());
    }
    if text.is_empty() {
        return Ok(());
    }
    file.seek(SeekFrom::End(-12)).map_err(io)?;
    let mut w = BufWriter::new(file);
    for (k, v) in text {
        let chunk = img_parts::png::PngChunk::new(*b"iTXt", crate::meta::itxt(k, v).into());
        chunk.encoder().write_to(&mut w).map_err(io)?;
    }
    w.write_all(&PNG_IEND).map_err(io)?;
    w.flush().map_err(io)
}

fn png_writer(
    out: Out,
    size: Size,
    layout: Layout,
    options: &EncodeOptions,
    metadata: &Metadata,
) -> Result<png::StreamWriter<'static, Out>, String> {
    let mut info = png::Info::with_size(size.width, size.height);
    info.color_type = match layout.channels {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        _ => png::ColorType::Rgba,
    };
    info.bit_depth = if layout.depth == 16 { png::BitDepth::Sixteen } else { png::BitDepth::Eight };
    info.icc_profile = metadata.icc.clone().map(Into::into);
    info.exif_metadata = metadata.exif.clone().map(Into::into);
    let mut enc = png::Encoder::with_info(out, info).map_err(|e| e.to_string())?;
    if options.png_fast {
        enc.set_compression(png::Compression::Fastest);
    } else if options.png_compression == 0 {
        enc.set_deflate_compression(png::DeflateCompression::NoCompression);
    } else {
        enc.set_deflate_compression(png::DeflateCompression::Level(options.png_compression.min(9)));
        enc.set_filter(png::Filter::Adaptive);
    }
    if let Some(xmp) = &metadata.xmp {
        enc.add_itxt_chunk(PNG_XMP_KEYWORD.into(), String::from_utf8_lossy(xmp).into_owned())
            .map_err(|e| e.to_string())?;
    }
    for (k, v) in &metadata.text {
        enc.add_itxt_chunk(k.clone(), v.clone()).map_err(|e| e.to_string())?;
    }
    let writer = enc.write_header().map_err(|e| e.to_string())?;
    // A buffer of a few rows between the filter and zlib.
    let buf = (layout.row_bytes(size.width) + 1) * 4;
    writer.into_stream_writer_with_size(buf.max(1 << 15)).map_err(|e| e.to_string())
}

/// Converts one RGBA8/RGBA32F row to `layout`, flattening alpha onto `background` when the
/// layout has none. Returns whether some pixel was not opaque and got flattened.
fn convert_row(src: &[u8], format: PixelFormat, layout: Layout, background: [u8; 3], dst: &mut [u8]) -> bool {
    let alpha = layout.channels.is_multiple_of(2);
    let grey = layout.channels <= 2;
    let mut flattened = false;
    let bg = background.map(|b| b as f32 / 255.0);
    let mut put = {
        let mut i = 0usize;
        let wide = layout.depth == 16;
        move |dst: &mut [u8], v: f32, v8: Option<u8>| {
            if wide {
                let x = match v8 {
                    Some(b) => b as u16 * 257,
                    None => (v.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16,
                };
                dst[i..i + 2].copy_from_slice(&x.to_be_bytes());
                i += 2;
            } else {
                dst[i] = v8.unwrap_or_else(|| f32_to_u8(v));
                i += 1;
            }
        }
    };
    let mut pixel = |dst: &mut [u8], rgba: [f32; 4], exact: Option<[u8; 4]>| {
        let opaque = rgba[3] >= 1.0;
        let (c, e): ([f32; 3], Option<[u8; 4]>) = if alpha || opaque {
            ([rgba[0], rgba[1], rgba[2]], exact)
        } else {
            flattened = true;
            let a = rgba[3].clamp(0.0, 1.0);
            ([0, 1, 2].map(|k| rgba[k].clamp(0.0, 1.0) * a + bg[k] * (1.0 - a)), None)
        };
        let chans: &[usize] = if grey { &[0] } else { &[0, 1, 2] };
        for &k in chans {
            put(dst, c[k], e.map(|e| e[k]));
        }
        if alpha {
            put(dst, rgba[3], exact.map(|e| e[3]));
        }
    };
    match format {
        PixelFormat::RGBA32F => {
            for p in bytemuck::cast_slice::<u8, f32>(src).chunks_exact(4) {
                pixel(dst, [p[0], p[1], p[2], p[3]], None);
            }
        }
        _ => {
            for p in src.chunks_exact(4) {
                let f = [p[0], p[1], p[2], p[3]].map(|v| v as f32 / 255.0);
                pixel(dst, f, Some([p[0], p[1], p[2], p[3]]));
            }
        }
    }
    flattened
}

fn encode_buffered(
    out: &mut Out,
    pixels: &[u8],
    size: Size,
    format: OutputFormat,
    layout: Layout,
    options: &EncodeOptions,
    metadata: &Metadata,
) -> Result<(), String> {
    let (w, h) = (size.width, size.height);
    match format {
        OutputFormat::Png => unreachable!("PNG streams"),
        OutputFormat::Jpeg(q) => {
            let mut enc = jpeg_encoder::Encoder::new(&mut *out, q.clamp(1, 100));
            enc.set_progressive(options.jpeg_progressive);
            enc.set_sampling_factor(match options.jpeg_subsampling {
                Subsampling::Auto if q >= 90 => jpeg_encoder::SamplingFactor::R_4_4_4,
                Subsampling::Auto | Subsampling::S420 => jpeg_encoder::SamplingFactor::R_4_2_0,
                Subsampling::S422 => jpeg_encoder::SamplingFactor::R_4_2_2,
                Subsampling::S444 => jpeg_encoder::SamplingFactor::R_4_4_4,
            });
            if let Some(exif) = &metadata.exif {
                let seg = [b"Exif\0\0".as_slice(), exif].concat();
                enc.add_app_segment(1, &seg).map_err(|e| format!("EXIF: {e}"))?;
            }
            if let Some(xmp) = &metadata.xmp {
                let seg = [b"http://ns.adobe.com/xap/1.0/\0".as_slice(), xmp].concat();
                enc.add_app_segment(1, &seg).map_err(|e| format!("XMP: {e}"))?;
            }
            if let Some(icc) = &metadata.icc {
                enc.add_icc_profile(icc).map_err(|e| format!("ICC profile: {e}"))?;
            }
            let ct = if layout.channels == 1 { jpeg_encoder::ColorType::Luma } else { jpeg_encoder::ColorType::Rgb };
            enc.encode(pixels, w as u16, h as u16, ct).map_err(|e| e.to_string())
        }
        OutputFormat::Webp => {
            let layout_px = if layout.channels == 4 { webp::PixelLayout::Rgba } else { webp::PixelLayout::Rgb };
            let mut config = webp::WebPConfig::new().map_err(|_| "libwebp: no encoder configuration".to_string())?;
            match options.webp_lossy {
                Some(q) => {
                    config.lossless = 0;
                    config.quality = q.clamp(1, 100) as f32;
                    config.alpha_compression = 1;
                }
                None => {
                    // libwebp's defaults otherwise (quality 75 is the lossless effort, method 4),
                    // as libvips uses them.
                    config.lossless = 1;
                    config.exact = 1;
                }
            }
            let encoded = webp::Encoder::new(pixels, layout_px, w, h)
                .encode_advanced(&config)
                .map_err(|e| format!("libwebp: {e:?}"))?;
            let bytes = webp_with_metadata(&encoded, w, h, layout.channels == 4, metadata)?;
            out.write_all(&bytes).map_err(|e| e.to_string())
        }
        OutputFormat::Tiff => {
            let mut cursor = std::io::Cursor::new(Vec::with_capacity(pixels.len() / 2));
            write_tiff(&mut cursor, pixels, size, layout, options, metadata).map_err(|e| e.to_string())?;
            out.write_all(cursor.get_ref()).map_err(|e| e.to_string())
        }
    }
}

/// A WebP file with `metadata` added: libwebp's image chunks in an extended (`VP8X`) container
/// with `ICCP`, `EXIF` and `XMP ` chunks, or the file unchanged when there is none.
fn webp_with_metadata(file: &[u8], w: u32, h: u32, alpha: bool, metadata: &Metadata) -> Result<Vec<u8>, String> {
    if metadata.icc.is_none() && metadata.exif.is_none() && metadata.xmp.is_none() {
        return Ok(file.to_vec());
    }
    if file.len() < 12 || &file[0..4] != b"RIFF" || &file[8..12] != b"WEBP" {
        return Err("libwebp wrote no RIFF/WEBP container".into());
    }
    // The image chunks (VP8/VP8L, and ALPH for lossy alpha), without libwebp's own VP8X.
    let mut image = Vec::new();
    let mut i = 12;
    while i + 8 <= file.len() {
        let len = u32::from_le_bytes(file[i + 4..i + 8].try_into().expect("4 bytes")) as usize;
        let end = (i + 8 + len + (len & 1)).min(file.len());
        if &file[i..i + 4] != b"VP8X" {
            image.extend_from_slice(&file[i..end]);
        }
        i = end;
    }
    let chunk = |out: &mut Vec<u8>, tag: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(tag);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
    };
    let mut flags = 0u8;
    if metadata.icc.is_some() {
        flags |= 0x20;
    }
    if alpha {
        flags |= 0x10;
    }
    if metadata.exif.is_some() {
        flags |= 0x08;
    }
    if metadata.xmp.is_some() {
        flags |= 0x04;
    }
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    chunk(&mut body, b"VP8X", &vp8x);
    if let Some(icc) = &metadata.icc {
        chunk(&mut body, b"ICCP", icc);
    }
    body.extend_from_slice(&image);
    if let Some(exif) = &metadata.exif {
        chunk(&mut body, b"EXIF", exif);
    }
    if let Some(xmp) = &metadata.xmp {
        chunk(&mut body, b"XMP ", xmp);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

fn write_tiff(
    w: &mut std::io::Cursor<Vec<u8>>,
    pixels: &[u8],
    size: Size,
    layout: Layout,
    options: &EncodeOptions,
    metadata: &Metadata,
) -> tiff::TiffResult<()> {
    use tiff::encoder::{colortype, Compression, DeflateLevel, TiffEncoder};
    use tiff::tags::Tag;
    let compression = match options.tiff_compression {
        TiffCompression::None => Compression::Uncompressed,
        TiffCompression::Lzw => Compression::Lzw,
        TiffCompression::Deflate => Compression::Deflate(DeflateLevel::Balanced),
    };
    let mut enc = TiffEncoder::new(w)?.with_compression(compression);
    let wide: Vec<u16> = if layout.depth == 16 {
        pixels.chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect()
    } else {
        Vec::new()
    };
    macro_rules! image {
        ($ct:ty, $data:expr) => {{
            let mut img = enc.new_image::<$ct>(size.width, size.height)?;
            if let Some(icc) = &metadata.icc {
                img.encoder().write_tag(Tag::Unknown(34675), &icc[..])?;
            }
            if let Some(xmp) = &metadata.xmp {
                img.encoder().write_tag(Tag::Unknown(700), &xmp[..])?;
            }
            img.write_data($data)
        }};
    }
    match (layout.channels, layout.depth) {
        (1, 8) => image!(colortype::Gray8, pixels),
        (3, 8) => image!(colortype::RGB8, pixels),
        (4, 8) => image!(colortype::RGBA8, pixels),
        (1, _) => image!(colortype::Gray16, &wide),
        (3, _) => image!(colortype::RGB16, &wide),
        _ => image!(colortype::RGBA16, &wide),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_convert_to_grey_rgb_and_sixteen_bits_and_flatten_on_the_background() {
        let px = [10u8, 20, 30, 255, 100, 100, 100, 0];
        let mut out = vec![0; 6];
        let l = Layout { channels: 3, depth: 8 };
        // The transparent second pixel becomes the background.
        assert!(convert_row(&px, PixelFormat::RGBA8, l, [1, 2, 3], &mut out));
        assert_eq!(out, [10, 20, 30, 1, 2, 3]);
        let mut out = vec![0; 4];
        assert!(!convert_row(&px, PixelFormat::RGBA8, Layout { channels: 2, depth: 8 }, [0; 3], &mut out));
        assert_eq!(out, [10, 255, 100, 0]);
        let f: Vec<f32> = vec![0.5, 0.5, 0.5, 1.0];
        let mut out = vec![0; 2];
        convert_row(
            bytemuck::cast_slice(&f),
            PixelFormat::RGBA32F,
            Layout { channels: 1, depth: 16 },
            [0; 3],
            &mut out,
        );
        assert_eq!(u16::from_be_bytes([out[0], out[1]]), 32768);
        // Half transparent red on white: pink.
        let f: Vec<f32> = vec![1.0, 0.0, 0.0, 0.5];
        let mut out = vec![0; 3];
        convert_row(bytemuck::cast_slice(&f), PixelFormat::RGBA32F, l, [255; 3], &mut out);
        assert_eq!(out, [255, 128, 128]);
    }

    #[test]
    fn layouts_drop_alpha_and_colour_only_where_nothing_is_lost() {
        let o = EncodeOptions::default();
        assert_eq!(Layout::choose(true, true, OutputFormat::Png, &o), Layout { channels: 1, depth: 8 });
        assert_eq!(Layout::choose(false, true, OutputFormat::Png, &o), Layout { channels: 2, depth: 8 });
        assert_eq!(Layout::choose(true, false, OutputFormat::Png, &o), Layout { channels: 3, depth: 8 });
        assert_eq!(Layout::choose(false, false, OutputFormat::Jpeg(90), &o), Layout { channels: 3, depth: 8 });
        assert_eq!(Layout::choose(true, true, OutputFormat::Webp, &o), Layout { channels: 3, depth: 8 });
        let red = EncodeOptions { background: Some([255, 0, 0]), depth: 16, ..o.clone() };
        // A grey image with transparency flattened on red is no longer grey.
        assert_eq!(Layout::choose(false, true, OutputFormat::Png, &red), Layout { channels: 3, depth: 16 });
        assert_eq!(Layout::choose(true, false, OutputFormat::Webp, &red), Layout { channels: 3, depth: 8 });
    }
}

#[cfg(test)]
mod roundtrip {
    use super::*;
    use crate::io::{ImageSource, SourceOptions};

    fn gradient16(w: u32, h: u32) -> image::ImageBuffer<image::Rgba<u16>, Vec<u16>> {
        image::ImageBuffer::from_fn(w, h, |x, y| {
            image::Rgba([(x * 1031 + y) as u16, (y * 977) as u16, (x * y * 13) as u16, 65535 - (x as u16 & 1)])
        })
    }

    fn meta() -> Metadata {
        Metadata {
            icc: Some(b"not a real profile, but bytes to keep".to_vec()),
            exif: Some(b"MM\0\x2a\0\0\0\x08\0\0".to_vec()),
            xmp: Some(b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>".to_vec()),
            text: vec![("fxchain".into(), "{\"v\":1}".into())],
        }
    }

    #[test]
    fn sixteen_bit_png_streams_through_source_and_sink_unchanged_with_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let src_path = dir.path().join("in.png");
        let img = gradient16(37, 23);
        let mut bytes = Vec::new();
        {
            let mut info = png::Info::with_size(37, 23);
            info.color_type = png::ColorType::Rgba;
            info.bit_depth = png::BitDepth::Sixteen;
            let mut enc = png::Encoder::with_info(&mut bytes, info).unwrap();
            enc.add_itxt_chunk(PNG_XMP_KEYWORD.into(), "<xmp/>".into()).unwrap();
            let mut w = enc.write_header().unwrap();
            let be: Vec<u8> = img.as_raw().iter().flat_map(|v| v.to_be_bytes()).collect();
            w.write_image_data(&be).unwrap();
        }
        std::fs::write(&src_path, &bytes).unwrap();
        let mut src = ImageSource::open(&src_path, &SourceOptions::default()).unwrap();
        let h = src.header().clone();
        assert_eq!((h.size, h.channels, h.bit_depth, h.frames), (Size::new(37, 23), 4, 16, 1));
        assert_eq!(h.metadata.xmp.as_deref(), Some(b"<xmp/>".as_slice()));
        let out = dir.path().join("out.png");
        let opts = EncodeOptions { depth: 16, ..Default::default() };
        let layout = Layout::choose(false, false, OutputFormat::Png, &opts);
        let mut sink =
            ImageSink::create(Target::File(out.clone()), h.size, OutputFormat::Png, layout, &opts, &meta()).unwrap();
        // Five rows at a time, through a float buffer.
        let stride = 37 * 16;
        let mut buf = vec![0u8; stride * 5];
        loop {
            let n = src.read_rows(PixelFormat::RGBA32F, &mut buf, stride, 5).unwrap();
            if n == 0 {
                break;
            }
            sink.push_rows(&buf, stride, PixelFormat::RGBA32F, n).unwrap();
        }
        sink.finish().unwrap();
        let back = image::open(&out).unwrap();
        assert_eq!(back.color(), image::ColorType::Rgba16);
        assert_eq!(back.into_rgba16().as_raw(), img.as_raw());
        let again = ImageSource::open(&out, &SourceOptions::default()).unwrap();
        assert_eq!(again.header().metadata, meta());
    }

    #[test]
    fn jpeg_webp_and_tiff_carry_the_metadata_their_readers_report() {
        let dir = tempfile::tempdir().unwrap();
        let rgba = image::RgbaImage::from_fn(40, 30, |x, y| image::Rgba([(x * 6) as u8, (y * 8) as u8, 90, 255]));
        let frame = Frame::from_rgba8(Size::new(40, 30), rgba.as_raw());
        for (fmt, keeps) in [
            (OutputFormat::Jpeg(92), [true, true, true]),
            (OutputFormat::Webp, [true, true, true]),
            (OutputFormat::Tiff, [true, false, true]),
        ] {
            let path = dir.path().join(format!("m.{}", fmt.extension()));
            crate::io::save_image_with(&frame, &Target::File(path.clone()), fmt, &EncodeOptions::default(), &meta())
                .unwrap();
            let src = ImageSource::open(&path, &SourceOptions::default()).unwrap();
            let m = &src.header().metadata;
            assert_eq!(m.icc.is_some() && m.icc == meta().icc, keeps[0], "{fmt:?} icc {:?}", m.icc);
            assert_eq!(m.exif.is_some() && m.exif == meta().exif, keeps[1], "{fmt:?} exif {:?}", m.exif);
            assert_eq!(m.xmp.is_some() && m.xmp == meta().xmp, keeps[2], "{fmt:?} xmp {:?}", m.xmp);
            assert_eq!(src.header().channels, 3, "{fmt:?}: an opaque image is written without alpha");
        }
    }

    #[test]
    fn an_unfinished_sink_leaves_no_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("half.png");
        let o = EncodeOptions::default();
        let mut sink = ImageSink::create(
            Target::File(out.clone()),
            Size::new(8, 8),
            OutputFormat::Png,
            Layout { channels: 4, depth: 8 },
            &o,
            &Metadata::default(),
        )
        .unwrap();
        sink.push_rows(&[7u8; 32 * 4], 32, PixelFormat::RGBA8, 4).unwrap();
        // Too many rows is an error, and finishing early is one too.
        assert!(sink.push_rows(&[7u8; 32 * 5], 32, PixelFormat::RGBA8, 5).is_err());
        assert!(sink.finish().unwrap_err().to_string().contains("4 of 8 rows"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn multi_frame_files_are_refused_with_their_count_unless_a_frame_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anim.gif");
        {
            let f = std::fs::File::create(&path).unwrap();
            let mut enc = image::codecs::gif::GifEncoder::new(f);
            for v in [10u8, 120, 250] {
                let buf = image::RgbaImage::from_pixel(6, 4, image::Rgba([v, 0, 255 - v, 255]));
                enc.encode_frame(image::Frame::new(buf)).unwrap();
            }
        }
        let e = crate::io::load_image(&path, PixelFormat::RGBA8, ImageLimits::default()).unwrap_err().to_string();
        assert!(e.contains("holds 3 frames") && e.contains("--frame N (0 to 2)"), "{e}");
        let e = ImageSource::open(&path, &SourceOptions { frame: Some(3), ..Default::default() }).err().unwrap();
        assert!(e.to_string().contains("--frame 3: the file holds 3 frame(s)"), "{e}");
        let src = ImageSource::open(&path, &SourceOptions { frame: Some(1), ..Default::default() }).unwrap();
        assert_eq!(src.header().frames, 3);
        let f = src.read_frame(PixelFormat::RGBA8).unwrap();
        let px = &f.row(2)[8..12];
        // GIF quantises: within a few levels of the second frame's colour.
        assert!((px[0] as i32 - 120).abs() <= 4 && (px[2] as i32 - 135).abs() <= 4, "{px:?}");
    }

    use crate::io::ImageLimits;
}
