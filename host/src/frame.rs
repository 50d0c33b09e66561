//! Frame buffers: 64-byte aligned rows, `Rgba8` or `Rgba32F`, and conversions between them.
//!
//! A frame normally owns pooled host memory. It may instead read memory it did not allocate (an
//! array of an embedding program, see [`Frame::from_external`]) when that memory already has the
//! host's layout; such a frame is read in place and copied into pooled memory the first time
//! anything writes to it, so the caller's pixels are never changed.

use fxchain_plugin_api::abi::{FrameMut, FrameRef};
use fxchain_plugin_api::{f32_to_u8, u8_to_f32, PixelFormat, Rows, Size};
use rayon::prelude::*;

use crate::pool::{BufferPool, PooledBuf};

use std::sync::Arc;

/// Largest side of any frame an effect may produce.
pub const MAX_SIDE: u32 = 1 << 17;
/// Largest pixel count of any frame an effect may produce.
pub const MAX_PIXELS: u64 = 1 << 29;
/// Most pixels of an image, or of a step's output, in a job that renders whole frames (a
/// streamed job may have up to [`MAX_PIXELS`]).
pub const WHOLE_FRAME_PIXELS: u64 = 1 << 28;

/// Pixel memory owned by someone else (an embedding program's array), read in place by a frame.
///
/// The implementation keeps the memory alive and unchanged for as long as it exists.
pub trait ExternalPixels: Send + Sync {
    /// The bytes: rows `stride` apart, the first 64-byte aligned.
    fn bytes(&self) -> &[u8];
}

enum Pixels {
    Pooled(PooledBuf),
    External(Arc<dyn ExternalPixels>),
}

impl Pixels {
    fn bytes(&self) -> &[u8] {
        match self {
            Pixels::Pooled(b) => b.bytes(),
            Pixels::External(e) => e.bytes(),
        }
    }
}

/// Alignment of every row, in bytes.
pub const ROW_ALIGN: usize = crate::pool::ALIGN;

/// Bytes between rows for `width` pixels of `format`.
pub fn stride_for(width: u32, format: PixelFormat) -> usize {
    (width as usize * format.bytes_per_pixel()).div_ceil(ROW_ALIGN) * ROW_ALIGN
}

/// An image in host memory.
pub struct Frame {
    buf: Pixels,
    size: Size,
    stride: usize,
    format: PixelFormat,
    opaque: bool,
}

impl Frame {
    /// A zeroed (transparent black) frame from the global pool.
    pub fn new(size: Size, format: PixelFormat) -> Self {
        Self::alloc(size, format, true)
    }

    /// A frame whose pixels are unspecified (recycled memory): for outputs that are written
    /// completely.
    pub fn new_uninit(size: Size, format: PixelFormat) -> Self {
        Self::alloc(size, format, false)
    }

    fn alloc(size: Size, format: PixelFormat, zeroed: bool) -> Self {
        let stride = stride_for(size.width, format);
        let buf = BufferPool::global().take(stride * size.height as usize, zeroed);
        Frame { buf: Pixels::Pooled(buf), size, stride, format, opaque: false }
    }

    /// A frame reading `pixels` in place: rows `stride` bytes apart, `stride` a multiple of
    /// [`ROW_ALIGN`], the first byte [`ROW_ALIGN`]-aligned, and at least `stride × (height - 1)`
    /// plus one row of bytes. Fails (saying why) when the memory does not have that layout; the
    /// caller then copies it into a frame of its own.
    pub fn from_external(
        size: Size,
        format: PixelFormat,
        stride: usize,
        pixels: Arc<dyn ExternalPixels>,
    ) -> Result<Frame, String> {
        if format != PixelFormat::RGBA8 && format != PixelFormat::RGBA32F {
            return Err(format!("frames are RGBA8 or RGBA32F, not {format}"));
        }
        let row = size.width as usize * format.bytes_per_pixel();
        let bytes = pixels.bytes();
        if !stride.is_multiple_of(ROW_ALIGN) || stride < row {
            return Err(format!(
                "rows are {stride} bytes apart; the host needs a multiple of {ROW_ALIGN} of at least {row}"
            ));
        }
        if !(bytes.as_ptr() as usize).is_multiple_of(ROW_ALIGN) {
            return Err(format!("the pixels do not start on a {ROW_ALIGN}-byte boundary"));
        }
        let need = if size.height == 0 { 0 } else { stride * (size.height as usize - 1) + row };
        if bytes.len() < need {
            return Err(format!(
                "{} bytes hold fewer than the {need} a {}x{} frame needs",
                bytes.len(),
                size.width,
                size.height
            ));
        }
        let mut f = Frame { buf: Pixels::External(pixels), size, stride, format, opaque: false };
        f.detect_opaque();
        Ok(f)
    }

    /// Whether the frame reads memory it does not own (see [`Frame::from_external`]).
    pub fn is_external(&self) -> bool {
        matches!(self.buf, Pixels::External(_))
    }

    /// Moves the pixels of an external frame into pooled memory (nothing to do for others).
    pub fn make_owned(&mut self) {
        if self.is_external() {
            let mut owned = Frame::new_uninit(self.size, self.format);
            owned.copy_from(self);
            self.buf = owned.buf;
        }
    }

    /// A frame holding tightly packed 8-bit RGBA pixels.
    pub fn from_rgba8(size: Size, pixels: &[u8]) -> Self {
        let mut f = Frame::new(size, PixelFormat::RGBA8);
        let w = size.width as usize * 4;
        if w > 0 {
            for (dst, src) in f.rows_mut().zip(pixels.chunks_exact(w)) {
                dst.copy_from_slice(src);
            }
        }
        f.opaque = pixels.chunks_exact(4).all(|p| p[3] == 255);
        f
    }

    /// A frame holding tightly packed float RGBA pixels.
    pub fn from_rgba32f(size: Size, pixels: &[f32]) -> Self {
        let mut f = Frame::new(size, PixelFormat::RGBA32F);
        let w = size.width as usize * 4;
        if w > 0 {
            for (dst, src) in f.rows_mut().zip(pixels.chunks_exact(w)) {
                dst.copy_from_slice(bytemuck::cast_slice(src));
            }
        }
        f.opaque = pixels.chunks_exact(4).all(|p| p[3] >= 1.0);
        f
    }

    /// Width and height.
    pub fn size(&self) -> Size {
        self.size
    }
    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }
    /// Bytes between rows.
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// Whether every alpha is known to be 1.
    pub fn is_opaque(&self) -> bool {
        self.opaque
    }
    /// Marks the frame as opaque or not.
    pub fn set_opaque(&mut self, opaque: bool) {
        self.opaque = opaque;
    }
    /// All bytes, rows `stride` apart.
    pub fn bytes(&self) -> &[u8] {
        self.buf.bytes()
    }
    /// All bytes, mutably (an external frame is first copied into pooled memory).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.make_owned();
        match &mut self.buf {
            Pixels::Pooled(b) => b.bytes_mut(),
            Pixels::External(_) => unreachable!("make_owned replaces external pixels"),
        }
    }
    fn row_bytes(&self) -> usize {
        self.size.width as usize * self.format.bytes_per_pixel()
    }
    /// Row `y` without padding.
    pub fn row(&self, y: u32) -> &[u8] {
        let s = y as usize * self.stride;
        &self.bytes()[s..s + self.row_bytes()]
    }
    /// Rows without padding.
    pub fn rows(&self) -> impl Iterator<Item = &[u8]> {
        let rb = self.row_bytes();
        self.bytes().chunks(self.stride.max(1)).take(self.size.height as usize).map(move |r| &r[..rb])
    }
    /// Rows without padding, mutably.
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut [u8]> {
        let rb = self.row_bytes();
        let (stride, h) = (self.stride.max(1), self.size.height as usize);
        self.bytes_mut().chunks_mut(stride).take(h).map(move |r| &mut r[..rb])
    }

    /// Tightly packed 8-bit RGBA (converting from float if needed).
    pub fn to_rgba8_vec(&self) -> Vec<u8> {
        match self.format {
            PixelFormat::RGBA32F => self.convert(PixelFormat::RGBA8).to_rgba8_vec(),
            _ => self.rows().flat_map(|r| r.iter().copied()).collect(),
        }
    }

    /// Tightly packed float RGBA (converting from 8 bits if needed).
    pub fn to_rgba32f_vec(&self) -> Vec<f32> {
        match self.format {
            PixelFormat::RGBA8 => self.convert(PixelFormat::RGBA32F).to_rgba32f_vec(),
            _ => self.rows().flat_map(|r| bytemuck::cast_slice::<u8, f32>(r).iter().copied()).collect(),
        }
    }

    /// Tightly packed 16-bit RGBA: `v × 257` from 8 bits, `round(clamp(v, 0, 1) × 65535)` from
    /// float.
    pub fn to_rgba16_vec(&self) -> Vec<u16> {
        match self.format {
            PixelFormat::RGBA32F => self
                .rows()
                .flat_map(|r| {
                    bytemuck::cast_slice::<u8, f32>(r).iter().map(|v| (v.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16)
                })
                .collect(),
            _ => self.rows().flat_map(|r| r.iter().map(|&v| v as u16 * 257)).collect(),
        }
    }

    /// A read view of rows `rows` for a plugin.
    pub fn view(&self, rows: Rows) -> FrameRef<'_> {
        let rows = Rows::new(rows.start.min(self.size.height), rows.end.min(self.size.height));
        let start = rows.start as usize * self.stride;
        let end = if rows.is_empty() { start } else { (rows.end as usize - 1) * self.stride + self.row_bytes() };
        FrameRef {
            data: self.bytes()[start..end].into(),
            width: self.size.width,
            height: self.size.height,
            stride: self.stride as u32,
            rows,
            format: self.format,
            opaque: self.opaque,
        }
    }

    /// Splits the frame into bands of `band_rows` rows, each a writable plugin view.
    pub fn bands_mut(&mut self, band_rows: u32) -> Vec<FrameMut<'_>> {
        let (size, stride, format, opaque) = (self.size, self.stride, self.format, self.opaque);
        let band_rows = band_rows.max(1);
        if stride == 0 || size.height == 0 {
            return Vec::new();
        }
        self.bytes_mut()
            .chunks_mut(stride * band_rows as usize)
            .enumerate()
            .map(|(i, chunk)| {
                let start = i as u32 * band_rows;
                FrameMut {
                    data: chunk.into(),
                    width: size.width,
                    height: size.height,
                    stride: stride as u32,
                    rows: Rows::new(start, (start + band_rows).min(size.height)),
                    format,
                    opaque,
                }
            })
            .collect()
    }

    /// A copy in `format` (`round(clamp(v, 0, 1) * 255)` towards 8 bits, `v / 255` towards float).
    pub fn convert(&self, format: PixelFormat) -> Frame {
        let mut out = Frame::new_uninit(self.size, format);
        out.opaque = self.opaque;
        let w = self.size.width as usize;
        let (src_stride, dst_stride) = (self.stride.max(1), out.stride.max(1));
        let src = self.bytes();
        match (self.format, format) {
            (a, b) if a == b => out.copy_from(self),
            (PixelFormat::RGBA8, PixelFormat::RGBA32F) => {
                out.bytes_mut().par_chunks_mut(dst_stride).zip(src.par_chunks(src_stride)).for_each(|(d, s)| {
                    let d: &mut [f32] = bytemuck::cast_slice_mut(&mut d[..w * 16]);
                    for (d, s) in d.iter_mut().zip(&s[..w * 4]) {
                        *d = u8_to_f32(*s);
                    }
                })
            }
            (PixelFormat::RGBA32F, PixelFormat::RGBA8) => {
                out.bytes_mut().par_chunks_mut(dst_stride).zip(src.par_chunks(src_stride)).for_each(|(d, s)| {
                    let s: &[f32] = bytemuck::cast_slice(&s[..w * 16]);
                    for (d, s) in d[..w * 4].iter_mut().zip(s) {
                        *d = f32_to_u8(*s);
                    }
                })
            }
            _ => {}
        }
        out
    }

    /// Copies the pixels of `other` (same size and format) into this frame.
    pub fn copy_from(&mut self, other: &Frame) {
        if self.stride == other.stride && self.bytes().len() == other.bytes().len() {
            self.bytes_mut().copy_from_slice(other.bytes());
        } else {
            // An external frame may end without the last row's padding.
            let rb = self.row_bytes();
            let stride = self.stride.max(1);
            self.bytes_mut().par_chunks_mut(stride).zip(other.rows().collect::<Vec<_>>()).for_each(|(d, s)| {
                d[..rb].copy_from_slice(s);
            });
        }
        self.opaque = other.opaque;
    }

    /// A content hash of the pixels (BLAKE3 over size, format and rows), for cache keys.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&self.size.width.to_le_bytes());
        h.update(&self.size.height.to_le_bytes());
        h.update(&[self.format.0]);
        for r in self.rows() {
            h.update(r);
        }
        *h.finalize().as_bytes()
    }

    /// Bytes of pixel memory held.
    pub fn byte_len(&self) -> usize {
        self.buf.bytes().len()
    }

    /// Recomputes the opaque flag from the pixels.
    pub fn detect_opaque(&mut self) {
        let (stride, rb, h, format) = (self.stride.max(1), self.row_bytes(), self.size.height as usize, self.format);
        // Parallel over rows: on a large frame a serial pass costs as much as a cheap effect.
        let opaque = self.bytes().par_chunks(stride).take(h).all(|r| match format {
            // The pixels of a block ANDed together as words (a loop the compiler vectorizes; a
            // test per pixel costs about a millisecond per megapixel), stopping at the first
            // block with a translucent pixel.
            PixelFormat::RGBA8 => r[..rb].chunks(1024).all(|block| {
                let and = block.chunks_exact(4).fold(!0u32, |a, p| a & u32::from_le_bytes([p[0], p[1], p[2], p[3]]));
                and >> 24 == 255
            }),
            _ => bytemuck::cast_slice::<u8, f32>(&r[..rb]).chunks_exact(4).all(|p| p[3] >= 1.0),
        });
        self.opaque = opaque;
    }
}

impl Clone for Frame {
    fn clone(&self) -> Self {
        let mut f = Frame::new_uninit(self.size, self.format);
        f.copy_from(self);
        f
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{} {})", self.size.width, self.size.height, self.format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::Block;

    /// Aligned memory owned outside the pool, filled with a pattern.
    struct Outside(Vec<Block>, usize);
    impl ExternalPixels for Outside {
        fn bytes(&self) -> &[u8] {
            &bytemuck::cast_slice(&self.0)[..self.1]
        }
    }
    fn outside(len: usize) -> Arc<Outside> {
        let mut blocks = vec![Block([0; ROW_ALIGN]); len.div_ceil(ROW_ALIGN)];
        for (i, b) in bytemuck::cast_slice_mut::<Block, u8>(&mut blocks).iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        Arc::new(Outside(blocks, len))
    }

    #[test]
    fn detect_opaque_finds_any_translucent_pixel_and_ignores_row_padding() {
        // Widths around the block of 256 pixels the check ANDs together, odd ones included.
        for w in [1u32, 3, 255, 256, 257, 700] {
            let h = 5u32;
            let opaque = Frame::from_rgba8(Size::new(w, h), &vec![255; (w * h * 4) as usize]);
            let mut f = opaque.clone();
            f.detect_opaque();
            assert!(f.is_opaque(), "{w}: all 255");
            for (x, y, alpha) in [(0, 0, 254u8), (w - 1, h - 1, 0), (w / 2, 2, 127), (w - 1, 1, 1)] {
                let mut px = opaque.to_rgba8_vec();
                px[((y * w + x) * 4 + 3) as usize] = alpha;
                // A colour byte of 0 elsewhere must not count.
                px[0] = 0;
                let mut f = Frame::from_rgba8(Size::new(w, h), &px);
                f.detect_opaque();
                assert!(!f.is_opaque(), "{w}: alpha {alpha} at ({x}, {y})");
            }
            // Bytes past the end of each row (the stride's padding) are not pixels.
            let mut f = opaque.clone();
            let (stride, rb) = (f.stride(), f.row_bytes());
            if stride > rb {
                f.bytes_mut()[rb..stride].fill(0);
            }
            f.detect_opaque();
            assert!(f.is_opaque(), "{w}: padding");
        }
        let mut f = Frame::from_rgba8(Size::new(2, 1), &[0, 0, 0, 255, 9, 9, 9, 255]);
        f.detect_opaque();
        assert!(f.is_opaque(), "black opaque pixels");
    }

    #[test]
    fn external_frames_are_read_in_place_and_copied_on_write() {
        let size = Size::new(16, 3);
        let src = outside(64 * 3);
        let mut f = Frame::from_external(size, PixelFormat::RGBA8, 64, src.clone()).unwrap();
        assert!(f.is_external());
        assert_eq!(f.bytes().as_ptr(), src.bytes().as_ptr());
        let before = src.bytes().to_vec();
        assert_eq!(f.to_rgba8_vec(), before);
        f.bytes_mut()[0] = before[0].wrapping_add(1);
        assert!(!f.is_external());
        assert_ne!(f.bytes().as_ptr(), src.bytes().as_ptr());
        assert_eq!(src.bytes(), &before[..], "the outside memory must not change");
        assert_eq!(f.bytes()[1..], before[1..]);
    }

    #[test]
    fn external_frames_without_the_last_rows_padding_copy_and_convert() {
        // 5 pixels a row, rows 64 bytes apart, the last row ends after its 20 bytes.
        let size = Size::new(5, 3);
        let src = outside(64 * 2 + 20);
        let f = Frame::from_external(size, PixelFormat::RGBA8, 64, src.clone()).unwrap();
        let rows: Vec<u8> = (0..3).flat_map(|y| src.bytes()[y * 64..y * 64 + 20].to_vec()).collect();
        assert_eq!(f.clone().to_rgba8_vec(), rows);
        assert_eq!(f.convert(PixelFormat::RGBA8).to_rgba8_vec(), rows);
        let back = f.convert(PixelFormat::RGBA32F).convert(PixelFormat::RGBA8);
        assert_eq!(back.to_rgba8_vec(), rows);
    }

    #[test]
    fn external_memory_of_another_layout_is_refused() {
        let size = Size::new(16, 2);
        let err = |stride, len, offset: usize| {
            let src = outside(len + offset);
            struct Shifted(Arc<Outside>, usize);
            impl ExternalPixels for Shifted {
                fn bytes(&self) -> &[u8] {
                    &self.0.bytes()[self.1..]
                }
            }
            Frame::from_external(size, PixelFormat::RGBA8, stride, Arc::new(Shifted(src, offset))).unwrap_err()
        };
        assert!(err(96, 192, 0).contains("multiple of 64"), "{}", err(96, 192, 0));
        assert!(err(64, 128, 16).contains("64-byte boundary"));
        assert!(err(64, 100, 0).contains("fewer than the 128"));
        let src = outside(128);
        assert!(Frame::from_external(size, PixelFormat(9), 64, src).is_err());
    }

    #[test]
    fn sixteen_bit_rows_scale_exactly() {
        let f = Frame::from_rgba8(Size::new(2, 1), &[0, 1, 128, 255, 7, 8, 9, 10]);
        assert_eq!(f.to_rgba16_vec(), [0, 257, 128 * 257, 65535, 7 * 257, 8 * 257, 9 * 257, 10 * 257]);
        let g = Frame::from_rgba32f(Size::new(1, 1), &[-1.0, 0.5, 1.0, 2.0]);
        assert_eq!(g.to_rgba16_vec(), [0, 32768, 65535, 65535]);
    }
}
