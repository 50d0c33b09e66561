//! Host-owned frame buffers: 64-byte aligned rows, `Rgba8` or `Rgba32F`, and conversions between
//! them.

use fxchain_plugin_api::abi::{FrameMut, FrameRef};
use fxchain_plugin_api::{f32_to_u8, u8_to_f32, PixelFormat, Rows, Size};
use rayon::prelude::*;

use crate::pool::{BufferPool, PooledBuf};

/// Alignment of every row, in bytes.
pub const ROW_ALIGN: usize = crate::pool::ALIGN;

/// Bytes between rows for `width` pixels of `format`.
pub fn stride_for(width: u32, format: PixelFormat) -> usize {
    (width as usize * format.bytes_per_pixel()).div_ceil(ROW_ALIGN) * ROW_ALIGN
}

/// An image in host memory.
pub struct Frame {
    buf: PooledBuf,
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
        Frame { buf, size, stride, format, opaque: false }
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
    /// All bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.buf.bytes_mut()
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
        self.buf
            .bytes_mut()
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
            (a, b) if a == b => out.bytes_mut().copy_from_slice(src),
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
        self.bytes_mut().copy_from_slice(other.bytes());
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
            PixelFormat::RGBA8 => r[..rb].chunks_exact(4).all(|p| p[3] == 255),
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
