//! Safe views of frames for effect authors.

use crate::abi::{FrameMut, FrameRef, PluginError, Rows, Size};
use crate::pixel::Pixel;

/// Checks that `len` pixels, rows `stride` apart, hold `rows` of a `size` frame.
fn check_view(what: &str, len: usize, size: Size, stride: usize, rows: Rows) -> Result<(), PluginError> {
    let needed = if rows.is_empty() { 0 } else { (rows.len() as usize - 1) * stride + size.width as usize };
    if stride < size.width as usize || len < needed || rows.end > size.height {
        return Err(PluginError::failed(format!(
            "{what} of {len} pixels cannot hold rows {}..{} of a {}x{} frame",
            rows.start, rows.end, size.width, size.height
        )));
    }
    Ok(())
}

/// The size, rows and opaque flag of a view, the same for [`Image`] and [`Band`].
macro_rules! view_facts {
    ($rows_doc:literal, $opaque_doc:literal) => {
        /// Width of the full image.
        pub fn width(&self) -> u32 {
            self.width
        }
        /// Height of the full image.
        pub fn height(&self) -> u32 {
            self.height
        }
        /// Size of the full image.
        pub fn size(&self) -> Size {
            Size::new(self.width, self.height)
        }
        #[doc = $rows_doc]
        pub fn rows(&self) -> Rows {
            self.rows
        }
        #[doc = $opaque_doc]
        pub fn is_opaque(&self) -> bool {
            self.opaque
        }
    };
}

/// Read-only rows of an input image.
#[derive(Copy, Clone)]
pub struct Image<'a, P> {
    data: &'a [P],
    width: u32,
    height: u32,
    stride: usize,
    rows: Rows,
    opaque: bool,
}

impl<'a, P: Pixel> Image<'a, P> {
    /// An image over `data` (rows of `width` pixels, `stride` pixels apart), holding every row.
    /// Useful in tests and reference implementations.
    pub fn new(data: &'a [P], width: u32, height: u32, stride: usize) -> Result<Self, PluginError> {
        Self::with_rows(data, Size::new(width, height), stride, Rows::new(0, height), false)
    }

    fn with_rows(data: &'a [P], size: Size, stride: usize, rows: Rows, opaque: bool) -> Result<Self, PluginError> {
        check_view("input view", data.len(), size, stride, rows)?;
        Ok(Image { data, width: size.width, height: size.height, stride, rows, opaque })
    }

    pub(crate) fn from_frame(frame: &FrameRef<'a>) -> Result<Self, PluginError> {
        if frame.format != P::FORMAT {
            return Err(PluginError::unsupported(format!("input frame is {}, expected {}", frame.format, P::FORMAT)));
        }
        let data: &[P] = bytemuck::try_cast_slice(frame.data.as_slice())
            .map_err(|e| PluginError::failed(format!("input frame is not aligned for {}: {e}", P::FORMAT)))?;
        let bpp = std::mem::size_of::<P>();
        Self::with_rows(
            data,
            Size::new(frame.width, frame.height),
            frame.stride as usize / bpp,
            frame.rows,
            frame.opaque,
        )
    }

    view_facts!(
        "The rows this view holds (those the effect's footprint names).",
        "Whether every alpha is 1, so premultiplying can be skipped."
    );
    /// Row `y` (absolute). Panics when the view does not hold it; the panic is reported as an
    /// error of this effect.
    #[inline]
    pub fn row(&self, y: u32) -> &'a [P] {
        assert!(
            y >= self.rows.start && y < self.rows.end,
            "row {y} is outside the input rows {}..{} this band asked for",
            self.rows.start,
            self.rows.end
        );
        let start = (y - self.rows.start) as usize * self.stride;
        &self.data[start..start + self.width as usize]
    }
    /// Row `y` clamped into the rows this view holds (edge extension).
    #[inline]
    pub fn row_clamped(&self, y: i64) -> &'a [P] {
        let y = y.clamp(self.rows.start as i64, self.rows.end as i64 - 1);
        self.row(y as u32)
    }
    /// The pixel at `(x, y)`.
    #[inline]
    pub fn get(&self, x: u32, y: u32) -> P {
        self.row(y)[x as usize]
    }
    /// The pixel at `(x, y)`, which may lie outside the image: read as `border` says, `None`
    /// for a transparent border outside. `y` must map to a row this view holds (the effect's
    /// footprint makes sure of that).
    #[inline]
    pub fn sample(&self, x: i64, y: i64, border: crate::Border) -> Option<P> {
        let y = border.index(y, self.height)?;
        let x = border.index(x, self.width)?;
        Some(self.row(y as u32)[x])
    }
}

/// The output rows an effect renders in one call.
pub struct Band<'a, P> {
    data: &'a mut [P],
    width: u32,
    height: u32,
    stride: usize,
    rows: Rows,
    opaque: bool,
    seed: u64,
}

impl<'a, P: Pixel> Band<'a, P> {
    /// A band over `data` covering `rows` of a `size` image, rows `stride` pixels apart.
    pub fn new(data: &'a mut [P], size: Size, stride: usize, rows: Rows) -> Result<Self, PluginError> {
        Self::with_opaque(data, size, stride, rows, false)
    }

    fn with_opaque(
        data: &'a mut [P],
        size: Size,
        stride: usize,
        rows: Rows,
        opaque: bool,
    ) -> Result<Self, PluginError> {
        check_view("output band", data.len(), size, stride, rows)?;
        Ok(Band { data, width: size.width, height: size.height, stride, rows, opaque, seed: 0 })
    }

    pub(crate) fn from_frame(frame: FrameMut<'a>, seed: u64) -> Result<Self, PluginError> {
        if frame.format != P::FORMAT {
            return Err(PluginError::unsupported(format!("output frame is {}, expected {}", frame.format, P::FORMAT)));
        }
        let bpp = std::mem::size_of::<P>();
        let data: &mut [P] = bytemuck::try_cast_slice_mut(frame.data.into_mut_slice())
            .map_err(|e| PluginError::failed(format!("output frame is not aligned for {}: {e}", P::FORMAT)))?;
        let mut band = Self::with_opaque(
            data,
            Size::new(frame.width, frame.height),
            frame.stride as usize / bpp,
            frame.rows,
            frame.opaque,
        )?;
        band.seed = seed;
        Ok(band)
    }

    /// The step's seed (derived by the host from the chain seed and the step): effects with
    /// randomness use it, so a chain renders the same image every time.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    view_facts!(
        "The rows of the image this band covers.",
        "For point effects rendered in place: whether every alpha of the input is 1."
    );
    /// Row `y` (absolute, within [`Band::rows`]).
    #[inline]
    pub fn row_mut(&mut self, y: u32) -> &mut [P] {
        assert!(y >= self.rows.start && y < self.rows.end, "row {y} is outside the band {:?}", self.rows);
        let start = (y - self.rows.start) as usize * self.stride;
        &mut self.data[start..start + self.width as usize]
    }
    /// Sets every pixel of the band to `f(x, y)` (absolute coordinates), as generators do.
    pub fn fill_with(&mut self, f: impl Fn(u32, u32) -> crate::RgbaF32) {
        for (y, row) in self.rows_mut() {
            for (x, px) in row.iter_mut().enumerate() {
                *px = P::from_f32(f(x as u32, y));
            }
        }
    }
    /// Every row of the band with its absolute `y`.
    pub fn rows_mut(&mut self) -> impl Iterator<Item = (u32, &mut [P])> + '_ {
        let width = self.width as usize;
        let start = self.rows.start;
        let n = self.rows.len() as usize;
        self.data.chunks_mut(self.stride).take(n).enumerate().map(move |(i, row)| (start + i as u32, &mut row[..width]))
    }
}
