//! NumPy arrays to host frames and back.
//!
//! Inputs: a row-contiguous `uint8`, `uint16` or `float32` array of H×W, H×W×3 or H×W×4 values.
//! An H×W×4 array whose element type is the chain's frame format (`uint8` for 8-bit chains,
//! `float32` for float chains), whose first pixel is 64-byte aligned and whose rows are a multiple
//! of 64 bytes apart is read in place (the host's frame layout); every other accepted array is
//! converted once into a host frame by the same conversion the host applies to decoded files.
//!
//! Outputs: an array in the requested dtype, H×W×4. When the frame's format is that dtype
//! (`uint8` from an 8-bit frame, `float32` from a float frame) the array is a view of the host's
//! frame memory, owned through its `.base` (a `FrameBuffer`); `uint16` outputs are converted.

use std::sync::Arc;

use fxchain_host::api::{PixelFormat, Size};
use fxchain_host::frame::{ExternalPixels, Frame, ROW_ALIGN};
use image::{DynamicImage, ImageBuffer};
use numpy::ndarray::{ArrayView3, ShapeBuilder};
use numpy::{dtype, Element, PyArray3, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// Element types of arrays in and out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// 0..255.
    U8,
    /// 0..65535.
    U16,
    /// 0..1 (not clamped).
    F32,
}

impl Dtype {
    /// From a NumPy dtype name.
    pub fn from_name(name: &str) -> PyResult<Dtype> {
        match name {
            "uint8" => Ok(Dtype::U8),
            "uint16" => Ok(Dtype::U16),
            "float32" => Ok(Dtype::F32),
            other => Err(PyTypeError::new_err(format!(
                "dtype {other} is not supported: use uint8, uint16 or float32 (e.g. a.astype(numpy.float32))"
            ))),
        }
    }
    fn size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::U16 => 2,
            Dtype::F32 => 4,
        }
    }
    /// The frame format matching the element type, if any.
    fn format(self) -> Option<PixelFormat> {
        match self {
            Dtype::U8 => Some(PixelFormat::RGBA8),
            Dtype::F32 => Some(PixelFormat::RGBA32F),
            Dtype::U16 => None,
        }
    }
}

/// The dtype named by a NumPy dtype-like object (`numpy.uint8`, `"float32"`, a dtype).
pub fn dtype_of(obj: &Bound<'_, PyAny>) -> PyResult<Dtype> {
    let np = obj.py().import("numpy")?;
    let name: String = np.getattr("dtype")?.call1((obj,))?.getattr("name")?.extract()?;
    Dtype::from_name(&name)
}

/// An accepted array: read in place, or to be converted (by whichever thread renders it).
pub struct Input {
    /// The array's element type.
    pub dtype: Dtype,
    source: Source,
}

enum Source {
    InPlace(Frame),
    Convert(Arc<ArrayPixels>, Layout),
}

impl Input {
    /// The frame for a chain whose frames are `format` (the same as given to
    /// [`array_to_frame`]); converting needs no GIL, the array being held alive.
    pub fn into_frame(self, format: PixelFormat) -> Frame {
        match self.source {
            Source::InPlace(f) => f,
            Source::Convert(pixels, l) => fxchain_host::io::frame_from_image(to_image(&l, pixels.bytes()), format),
        }
    }
}

/// The memory of a NumPy array, kept alive by a reference to the array.
struct ArrayPixels {
    _owner: Py<PyAny>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: the pointer is into the array's data, which the held reference keeps alive and in
// place (NumPy never moves the data of a live array that has other references); it is only read.
unsafe impl Send for ArrayPixels {}
// SAFETY: as above; shared reads from several threads are fine.
unsafe impl Sync for ArrayPixels {}

impl ExternalPixels for ArrayPixels {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr..ptr + len` is the extent of the array's rows, checked when it was made.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Shape and layout of an accepted array.
struct Layout {
    height: usize,
    width: usize,
    channels: usize,
    dtype: Dtype,
    /// Bytes between rows.
    row_stride: usize,
    /// Address of the first pixel.
    data: usize,
}

impl Layout {
    fn row_bytes(&self) -> usize {
        self.width * self.channels * self.dtype.size()
    }
    fn extent(&self) -> usize {
        if self.height == 0 {
            0
        } else {
            self.row_stride * (self.height - 1) + self.row_bytes()
        }
    }
}

fn layout(array: &Bound<'_, PyUntypedArray>) -> PyResult<Layout> {
    let py = array.py();
    let descr = array.dtype();
    let dtype = if descr.is_equiv_to(&dtype::<u8>(py)) {
        Dtype::U8
    } else if descr.is_equiv_to(&dtype::<u16>(py)) {
        Dtype::U16
    } else if descr.is_equiv_to(&dtype::<f32>(py)) {
        Dtype::F32
    } else {
        let name: String = descr.getattr("name")?.extract()?;
        return Err(PyTypeError::new_err(format!(
            "arrays of {name} are not supported: use uint8, uint16 or float32 (e.g. a.astype(numpy.float32))"
        )));
    };
    let shape = array.shape().to_vec();
    let strides = array.strides().to_vec();
    let (height, width, channels) = match shape.as_slice() {
        [h, w] => (*h, *w, 1),
        [h, w, c] if matches!(c, 1 | 3 | 4) => (*h, *w, *c),
        _ => {
            return Err(PyValueError::new_err(format!(
                "an image array is H×W, H×W×3 or H×W×4; this one has shape {shape:?}"
            )))
        }
    };
    if height == 0 || width == 0 {
        return Err(PyValueError::new_err(format!("the image is empty (shape {shape:?})")));
    }
    let max = fxchain_host::plan::MAX_SIDE as usize;
    if height > max || width > max {
        return Err(PyValueError::new_err(format!("each side must be at most {max} pixels (shape {shape:?})")));
    }
    let item = dtype.size() as isize;
    // Pixels of a row must be contiguous; rows may be further apart (fxchain's own outputs).
    let inner_ok = match shape.len() {
        2 => strides[1] == item || width == 1,
        _ => (strides[2] == item || channels == 1) && (strides[1] == item * channels as isize || width == 1),
    };
    let row_bytes = width * channels * dtype.size();
    let row_ok = strides[0] >= row_bytes as isize || height == 1;
    if !inner_ok || !row_ok {
        return Err(PyValueError::new_err(format!(
            "the array is not C-contiguous (shape {shape:?}, strides {strides:?} bytes): pass numpy.ascontiguousarray(a)"
        )));
    }
    let row_stride = if height == 1 { row_bytes } else { strides[0] as usize };
    // SAFETY: reading the data pointer field of a live array object.
    let data = unsafe { (*array.as_array_ptr()).fields.data as usize };
    Ok(Layout { height, width, channels, dtype, row_stride, data })
}

/// Reads `obj` (a NumPy array, or anything `numpy.asarray` accepts such as a `PIL.Image`) into a
/// frame for a chain whose frames are `format`.
pub fn array_to_frame(obj: &Bound<'_, PyAny>, format: PixelFormat) -> PyResult<Input> {
    let py = obj.py();
    let array = match obj.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => {
            if !obj.hasattr("__array_interface__")? && !obj.hasattr("__array__")? {
                return Err(PyTypeError::new_err(format!(
                    "expected a NumPy array, a PIL.Image or a path, got {}",
                    obj.get_type().name()?
                )));
            }
            py.import("numpy")?.getattr("asarray")?.call1((obj,))?.cast_into::<PyUntypedArray>()?
        }
    };
    let l = layout(&array)?;
    let size = Size::new(l.width as u32, l.height as u32);
    let pixels = Arc::new(ArrayPixels { _owner: array.into_any().unbind(), ptr: l.data as *const u8, len: l.extent() });
    if l.channels == 4 && l.dtype.format() == Some(format) {
        if let Ok(frame) = Frame::from_external(size, format, l.row_stride, pixels.clone()) {
            return Ok(Input { dtype: l.dtype, source: Source::InPlace(frame) });
        }
    }
    Ok(Input { dtype: l.dtype, source: Source::Convert(pixels, l) })
}

/// Packs the rows of `bytes` (laid out as `l`) into a decoded image.
fn to_image(l: &Layout, bytes: &[u8]) -> DynamicImage {
    let mut packed = Vec::with_capacity(l.row_bytes() * l.height);
    for y in 0..l.height {
        packed.extend_from_slice(&bytes[y * l.row_stride..y * l.row_stride + l.row_bytes()]);
    }
    let (w, h) = (l.width as u32, l.height as u32);
    const PACKED: &str = "the packed rows hold exactly width × height pixels";
    // The packed bytes may be unaligned for the element type: collect copies them.
    fn cast<T: bytemuck::Pod>(b: &[u8]) -> Vec<T> {
        bytemuck::pod_collect_to_vec(b)
    }
    match (l.dtype, l.channels) {
        (Dtype::U8, 1) => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, packed).expect(PACKED)),
        (Dtype::U8, 3) => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, packed).expect(PACKED)),
        (Dtype::U8, _) => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, packed).expect(PACKED)),
        (Dtype::U16, 1) => DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, cast(&packed)).expect(PACKED)),
        (Dtype::U16, 3) => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, cast(&packed)).expect(PACKED)),
        (Dtype::U16, _) => DynamicImage::ImageRgba16(ImageBuffer::from_raw(w, h, cast(&packed)).expect(PACKED)),
        (Dtype::F32, 1) => {
            // No gray float image type: spread the value over R, G and B.
            let v: Vec<f32> = cast(&packed);
            let rgb: Vec<f32> = v.iter().flat_map(|&x| [x, x, x]).collect();
            DynamicImage::ImageRgb32F(ImageBuffer::from_raw(w, h, rgb).expect(PACKED))
        }
        (Dtype::F32, 3) => DynamicImage::ImageRgb32F(ImageBuffer::from_raw(w, h, cast(&packed)).expect(PACKED)),
        (Dtype::F32, _) => DynamicImage::ImageRgba32F(ImageBuffer::from_raw(w, h, cast(&packed)).expect(PACKED)),
    }
}

/// Host memory handed to NumPy: the `.base` of every output array that views a frame.
#[pyclass(module = "fxchain", frozen)]
pub struct FrameBuffer {
    frame: Frame,
    ptr: usize,
}

#[pymethods]
impl FrameBuffer {
    /// Address of the first pixel (the output array's data pointer).
    #[getter]
    fn address(&self) -> usize {
        self.ptr
    }
    /// Bytes of host memory held.
    #[getter]
    fn nbytes(&self) -> usize {
        self.frame.byte_len()
    }
    fn __repr__(&self) -> String {
        let s = self.frame.size();
        format!("<fxchain.FrameBuffer {}x{} {} at {:#x}>", s.width, s.height, self.frame.format(), self.ptr)
    }
}

/// Hands `frame` to NumPy as an H×W×4 array of `dtype`, without a copy when the frame's format is
/// that dtype.
pub fn frame_to_array<'py>(py: Python<'py>, frame: Arc<Frame>, dtype: Dtype) -> PyResult<Bound<'py, PyAny>> {
    let size = frame.size();
    let (h, w) = (size.height as usize, size.width as usize);
    match (dtype, dtype.format()) {
        (Dtype::U16, _) | (_, None) => {
            let v = py.detach(move || frame.to_rgba16_vec());
            let a = numpy::PyArray1::from_vec(py, v);
            Ok(a.reshape([h, w, 4])?.into_any())
        }
        (_, Some(format)) => {
            let mut frame = py.detach(move || {
                let frame = Arc::try_unwrap(frame).unwrap_or_else(|shared| (*shared).clone());
                let mut frame = if frame.format() == format { frame } else { frame.convert(format) };
                frame.make_owned();
                frame
            });
            let ptr = frame.bytes_mut().as_mut_ptr() as usize;
            let stride = frame.stride();
            let owner = Bound::new(py, FrameBuffer { frame, ptr })?;
            match dtype {
                Dtype::U8 => view::<u8>(owner, h, w, stride),
                _ => view::<f32>(owner, h, w, stride / 4),
            }
        }
    }
}

fn view<'py, T: Element>(
    owner: Bound<'py, FrameBuffer>,
    h: usize,
    w: usize,
    stride: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let ptr = owner.get().ptr as *const T;
    debug_assert_eq!(ptr as usize % ROW_ALIGN, 0);
    // SAFETY: the frame owned by `owner` holds `h` rows of `w` RGBA pixels of `T`, `stride`
    // elements apart, from `ptr`; its memory never moves or shrinks while `owner` lives, and
    // `owner` becomes the array's base, so it lives as long as the array.
    let array: ArrayView3<'_, T> = unsafe { ArrayView3::from_shape_ptr((h, w, 4).strides((stride, 4, 1)), ptr) };
    // SAFETY: as above; `owner` is the container keeping the memory alive.
    let out = unsafe { PyArray3::borrow_from_array(&array, owner.into_any()) };
    Ok(out.into_any())
}

/// A new H×W×4 array of `dtype` in host frame memory (64-byte aligned rows), filled with zeros.
pub fn empty<'py>(py: Python<'py>, height: usize, width: usize, dtype: Dtype) -> PyResult<Bound<'py, PyAny>> {
    let format = dtype.format().ok_or_else(|| {
        PyTypeError::new_err("frame memory holds uint8 or float32 pixels; use numpy.empty for uint16")
    })?;
    if height == 0 || width == 0 || height > 1 << 16 || width > 1 << 16 {
        return Err(PyValueError::new_err(format!("each side must be in 1..=65536, not {width}x{height}")));
    }
    let frame = Frame::new(Size::new(width as u32, height as u32), format);
    frame_to_array(py, Arc::new(frame), dtype)
}

/// Whether an array's data lies in host frame memory laid out for reading in place.
pub fn is_host_layout(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let array = obj.cast::<PyUntypedArray>()?;
    let l = layout(array)?;
    Ok(l.channels == 4
        && l.data.is_multiple_of(ROW_ALIGN)
        && l.row_stride.is_multiple_of(ROW_ALIGN)
        && l.dtype != Dtype::U16)
}
