//! Pixel types. Authors write effects generic over [`Pixel`] so one implementation serves both
//! frame formats; the set of pixel types is sealed because the host allocates and lays out frames.

use crate::abi::PixelFormat;
use bytemuck::{Pod, Zeroable};

/// An 8-bit sRGB pixel with straight alpha.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct Rgba8 {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha (straight, not premultiplied).
    pub a: u8,
}

impl Rgba8 {
    /// A pixel from its four channels.
    pub const fn new(r: u8, g: u8, b: u8, a: u8) -> Self {
        Rgba8 { r, g, b, a }
    }
    /// Applies `f` to R, G and B, keeping alpha.
    #[inline]
    pub fn map_rgb(self, mut f: impl FnMut(u8) -> u8) -> Self {
        Rgba8 { r: f(self.r), g: f(self.g), b: f(self.b), a: self.a }
    }
}

/// A floating-point sRGB pixel with straight alpha; values are nominally 0..1 but not clamped.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct RgbaF32 {
    /// Red.
    pub r: f32,
    /// Green.
    pub g: f32,
    /// Blue.
    pub b: f32,
    /// Alpha (straight, not premultiplied).
    pub a: f32,
}

impl RgbaF32 {
    /// A pixel from its four channels.
    pub const fn new(r: f32, g: f32, b: f32, a: f32) -> Self {
        RgbaF32 { r, g, b, a }
    }
    /// Applies `f` to R, G and B, keeping alpha.
    #[inline]
    pub fn map_rgb(self, mut f: impl FnMut(f32) -> f32) -> Self {
        RgbaF32 { r: f(self.r), g: f(self.g), b: f(self.b), a: self.a }
    }
    /// The channels as an array `[r, g, b, a]`.
    #[inline]
    pub fn to_array(self) -> [f32; 4] {
        [self.r, self.g, self.b, self.a]
    }
    /// A pixel from `[r, g, b, a]`.
    #[inline]
    pub fn from_array(v: [f32; 4]) -> Self {
        RgbaF32 { r: v[0], g: v[1], b: v[2], a: v[3] }
    }
    /// Rec. 709 luma of the sRGB-encoded values, `0.2126 r + 0.7152 g + 0.0722 b` (Pillow's `L`
    /// with 709 weights).
    #[inline]
    pub fn luma(self) -> f32 {
        0.2126 * self.r + 0.7152 * self.g + 0.0722 * self.b
    }
    /// `self + (other - self) * t`, channel by channel (alpha too).
    #[inline]
    pub fn lerp(self, other: RgbaF32, t: f32) -> Self {
        let m = |a: f32, b: f32| a + (b - a) * t;
        RgbaF32::new(m(self.r, other.r), m(self.g, other.g), m(self.b, other.b), m(self.a, other.a))
    }
}

/// Converts a float channel to 8 bits: `round(clamp(v, 0, 1) * 255)`.
#[inline]
pub fn f32_to_u8(v: f32) -> u8 {
    // `as` saturates and maps NaN to 0, so no input can misbehave here.
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// Converts an 8-bit channel to float: `v / 255`.
#[inline]
pub fn u8_to_f32(v: u8) -> f32 {
    v as f32 * (1.0 / 255.0)
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Rgba8 {}
    impl Sealed for super::RgbaF32 {}
}

/// A pixel type a frame can hold: [`Rgba8`] or [`RgbaF32`]. Sealed.
pub trait Pixel: sealed::Sealed + Pod + Copy + Send + Sync + Default + 'static {
    /// The frame format holding this pixel type.
    const FORMAT: PixelFormat;
    /// The pixel as floats in 0..1 (for `Rgba8`) or as stored (for `RgbaF32`).
    fn to_f32(self) -> RgbaF32;
    /// The pixel from floats; `Rgba8` rounds and clamps.
    fn from_f32(v: RgbaF32) -> Self;
    /// The row as `Rgba8` when this is the 8-bit type, for effects with an 8-bit fast path.
    fn as_rgba8(row: &[Self]) -> Option<&[Rgba8]>;
    /// Mutable form of [`Pixel::as_rgba8`].
    fn as_rgba8_mut(row: &mut [Self]) -> Option<&mut [Rgba8]>;
}

impl Pixel for Rgba8 {
    const FORMAT: PixelFormat = PixelFormat::RGBA8;
    #[inline]
    fn to_f32(self) -> RgbaF32 {
        RgbaF32::new(u8_to_f32(self.r), u8_to_f32(self.g), u8_to_f32(self.b), u8_to_f32(self.a))
    }
    #[inline]
    fn from_f32(v: RgbaF32) -> Self {
        Rgba8::new(f32_to_u8(v.r), f32_to_u8(v.g), f32_to_u8(v.b), f32_to_u8(v.a))
    }
    fn as_rgba8(row: &[Self]) -> Option<&[Rgba8]> {
        Some(row)
    }
    fn as_rgba8_mut(row: &mut [Self]) -> Option<&mut [Rgba8]> {
        Some(row)
    }
}

impl Pixel for RgbaF32 {
    const FORMAT: PixelFormat = PixelFormat::RGBA32F;
    #[inline]
    fn to_f32(self) -> RgbaF32 {
        self
    }
    #[inline]
    fn from_f32(v: RgbaF32) -> Self {
        v
    }
    fn as_rgba8(_: &[Self]) -> Option<&[Rgba8]> {
        None
    }
    fn as_rgba8_mut(_: &mut [Self]) -> Option<&mut [Rgba8]> {
        None
    }
}
