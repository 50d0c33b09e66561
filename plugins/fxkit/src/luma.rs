//! Rec. 709 luma of sRGB-encoded values (the convention of Pillow's `L` with 709 weights): the
//! grey that colour and compositing effects measure brightness by.

use fxchain_plugin_api::prelude::*;

/// The weights of R, G and B: `0.2126 R + 0.7152 G + 0.0722 B`.
pub const WEIGHTS: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// Luma of a float pixel, in `f32` (the working precision of the colour effects).
#[inline]
pub fn luma(p: RgbaF32) -> f32 {
    WEIGHTS[0] * p.r + WEIGHTS[1] * p.g + WEIGHTS[2] * p.b
}

/// Luma × alpha: how much of a mask pixel lets through (0..1 for pixels in range).
#[inline]
pub fn coverage(p: RgbaF32) -> f32 {
    luma(p) * p.a
}

/// Luma of an 8-bit pixel, exactly: the weights have four decimals, so
/// `2126 R + 7152 G + 722 B` is the luma in units of `1 / (255 · 10 000)`.
#[inline]
pub fn luma8_units(p: Rgba8) -> u32 {
    2126 * p.r as u32 + 7152 * p.g as u32 + 722 * p.b as u32
}

/// Luma for comparisons against an `f32` level: computed in `f64` (exactly for 8-bit pixels) and
/// rounded to `f32` once. A pixel whose luma equals a level written as a decimal (0.3) then
/// compares equal to that level's `f32` value, where the `f32` sum of [`luma`] can land one step
/// below it (0.29999998).
#[inline]
pub fn luma_for_compare<P: Pixel>(p: P) -> f32 {
    match P::as_rgba8(std::slice::from_ref(&p)) {
        Some([p8]) => (luma8_units(*p8) as f64 / 2_550_000.0) as f32,
        _ => {
            let c = p.to_f32();
            let [wr, wg, wb] = WEIGHTS_F64;
            (wr * c.r as f64 + wg * c.g as f64 + wb * c.b as f64) as f32
        }
    }
}

/// [`WEIGHTS`] in `f64`.
const WEIGHTS_F64: [f64; 3] = [0.2126, 0.7152, 0.0722];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_luma_agrees_with_the_float_one_and_keeps_ties() {
        // 2126·174 + 7152·51 + 722·42 = 765 000: luma exactly 0.3.
        let p = Rgba8::new(174, 51, 42, 255);
        assert_eq!(luma8_units(p), 765_000);
        assert_eq!(luma_for_compare(p), 0.3f32);
        assert!(luma(p.to_f32()) < 0.3f32, "the f32 sum is one step low, which is why the exact form exists");
        // Away from ties both forms agree to float precision, also for float pixels.
        for v in [0u8, 1, 77, 128, 200, 255] {
            let q = Rgba8::new(v, 255 - v, v / 3, 255);
            assert!((luma_for_compare(q) - luma(q.to_f32())).abs() < 1e-6);
            assert!((luma_for_compare(q.to_f32()) - luma(q.to_f32())).abs() < 1e-6);
        }
        assert_eq!(luma_for_compare(Rgba8::new(255, 255, 255, 0)), 1.0);
        assert!((coverage(RgbaF32::new(1.0, 1.0, 1.0, 0.5)) - 0.5).abs() < 1e-6);
    }
}
