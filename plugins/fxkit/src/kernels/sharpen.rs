//! The unsharp-mask formula `o + amount·(o − blur)` on opaque 8-bit rows in integer lanes, a
//! row at a time for every level: the original pixels, the blurred row from the fixed-point
//! convolution (units of 1/256 level, four lanes per pixel, padded to whole blocks) and the
//! output row. The same integer operations at every level, so the same bytes.

use fxchain_plugin_api::Rgba8;

use super::kernel;
use crate::fixed::{BLOCK, LANES};

/// The formula in fixed point: `amount` as `A / 2^shift` per lane (0 for alpha, which is kept)
/// and the threshold in whole levels.
#[derive(Clone, Debug)]
pub struct SharpenFixed {
    amount: [i16; LANES],
    shift: u32,
    threshold: i16,
}

impl SharpenFixed {
    /// The formula for `amount` (0..=10) and `threshold` (0..=1, a fraction of 255 levels).
    pub fn new(amount: f32, threshold: f32) -> Self {
        // The finest scale whose products still fit: A < 2^15 and o·2^(7+shift) + A·d < 2^31.
        let shift = (0..=14).rev().find(|&s| amount * (1 << s) as f32 <= 32767.0).unwrap_or(0);
        let a = (amount * (1 << shift) as f32).round() as i16;
        SharpenFixed {
            amount: std::array::from_fn(|i| if i % 4 == 3 { 0 } else { a }),
            shift,
            // The reference compares whole-level differences with `threshold·255`.
            threshold: (threshold * 255.0).ceil() as i16,
        }
    }

    /// `out = o + amount·(o − blur)` for a block: `o` the original pixels, `blur` the
    /// fixed-point blur (units of 1/256 level, used unrounded). Integer lanes throughout: the
    /// i16×i16→i32 products vectorize as `pmullw`/`pmulhw`, and the clamp as saturating packs.
    #[inline(always)]
    fn block<const THRESHOLD: bool>(&self, o: &[Rgba8; BLOCK], blur: &[u16; LANES], out: &mut [Rgba8; BLOCK]) {
        let mut ol = [0i16; LANES];
        for (l, p) in ol.chunks_exact_mut(4).zip(o) {
            l.copy_from_slice(&[p.r as i16, p.g as i16, p.b as i16, p.a as i16]);
        }
        let s = self.shift;
        let mut res = [0u8; LANES];
        for i in 0..LANES {
            // Both in units of 1/128 level, so the difference fits i16.
            let d = (ol[i] << 7) - (blur[i] >> 1) as i16;
            // The threshold applies to the difference from the rounded blur, as in the reference.
            let whole = ol[i] - ((blur[i] + 128) >> 8) as i16;
            let a = if THRESHOLD && whole.max(-whole) < self.threshold { 0 } else { self.amount[i] };
            let r = ((ol[i] as i32) << (7 + s)) + d as i32 * a as i32 + (1 << (6 + s));
            res[i] = (r >> (7 + s)).clamp(0, 255) as u8;
        }
        for (d, c) in out.iter_mut().zip(res.chunks_exact(4)) {
            *d = Rgba8::new(c[0], c[1], c[2], c[3]);
        }
    }

    /// Sharpens pixels `x0..x0 + n` of `orig` into `dst` against `blur` (one block).
    #[inline(always)]
    pub fn span(&self, orig: &[Rgba8], dst: &mut [Rgba8], x0: usize, blur: &[u16; LANES], n: usize) {
        in_blocks(self, orig, dst, x0, n, blur);
    }
}

/// The formula for `amount < 1` without a threshold, in 16-bit lanes throughout:
/// `o + amount·(o − blur)` in units of 1/64 level with `amount` in units of 2^-15 (one signed
/// high multiply, `pmulhw`). Within one level of [`SharpenFixed`].
#[derive(Clone, Debug)]
pub struct SharpenQ15 {
    amount: [i16; LANES],
}

impl SharpenQ15 {
    /// The formula for `amount`, or `None` where it does not apply (a threshold, or
    /// `amount` ≥ 1).
    pub fn new(amount: f32, threshold: f32) -> Option<Self> {
        let a = (amount * 32768.0).round();
        (threshold <= 0.0 && (0.0..32768.0).contains(&a))
            .then(|| SharpenQ15 { amount: std::array::from_fn(|i| if i % 4 == 3 { 0 } else { a as i16 }) })
    }

    #[inline(always)]
    fn block(&self, o: &[Rgba8; BLOCK], blur: &[u16; LANES], out: &mut [Rgba8; BLOCK]) {
        let mut ob = [0u8; LANES];
        for (l, p) in ob.chunks_exact_mut(4).zip(o) {
            l.copy_from_slice(&[p.r, p.g, p.b, p.a]);
        }
        let mut res = [0u8; LANES];
        for i in 0..LANES {
            // In units of 1/64 level: |o − blur| < 2^14, so 2·(o − blur) fits i16 and the
            // product's high half (`pmulhw`) is amount·(o − blur), truncated.
            let o16 = (ob[i] as i16) << 6;
            let d2 = (o16 - (blur[i] >> 2) as i16) << 1;
            let t = ((d2 as i32 * self.amount[i] as i32) >> 16) as i16;
            res[i] = ((o16 + t + 32) >> 6).clamp(0, 255) as u8;
        }
        for (d, c) in out.iter_mut().zip(res.chunks_exact(4)) {
            *d = Rgba8::new(c[0], c[1], c[2], c[3]);
        }
    }

    /// Sharpens pixels `x0..x0 + n` of `orig` into `dst` against `blur` (one block).
    #[inline(always)]
    pub fn span(&self, orig: &[Rgba8], dst: &mut [Rgba8], x0: usize, blur: &[u16; LANES], n: usize) {
        in_blocks(self, orig, dst, x0, n, blur);
    }
}

/// A formula on one whole block (a trait rather than closures, so that everything inlines
/// into the `#[target_feature]` row functions).
trait Formula {
    fn run(&self, o: &[Rgba8; BLOCK], blur: &[u16; LANES], out: &mut [Rgba8; BLOCK]);
}

impl Formula for SharpenFixed {
    #[inline(always)]
    fn run(&self, o: &[Rgba8; BLOCK], blur: &[u16; LANES], out: &mut [Rgba8; BLOCK]) {
        if self.threshold > 0 {
            self.block::<true>(o, blur, out)
        } else {
            self.block::<false>(o, blur, out)
        }
    }
}

impl Formula for SharpenQ15 {
    #[inline(always)]
    fn run(&self, o: &[Rgba8; BLOCK], blur: &[u16; LANES], out: &mut [Rgba8; BLOCK]) {
        self.block(o, blur, out)
    }
}

/// Runs `f` on pixels `x0..x0 + n` (`n` ≤ [`BLOCK`]), through copies for a partial block.
#[inline(always)]
fn in_blocks<F: Formula>(f: &F, orig: &[Rgba8], dst: &mut [Rgba8], x0: usize, n: usize, blur: &[u16; LANES]) {
    if n == BLOCK {
        let o = orig[x0..x0 + BLOCK].try_into().expect("block of pixels");
        f.run(o, blur, (&mut dst[x0..x0 + BLOCK]).try_into().expect("block of pixels"));
    } else {
        let mut o = [Rgba8::default(); BLOCK];
        o[..n].copy_from_slice(&orig[x0..x0 + n]);
        let mut d = [Rgba8::default(); BLOCK];
        f.run(&o, blur, &mut d);
        dst[x0..x0 + n].copy_from_slice(&d[..n]);
    }
}

/// A whole row, block by block: `blur` holds the row's lanes padded to whole blocks.
#[inline(always)]
fn row_body<F: Formula>(f: &F, orig: &[Rgba8], blur: &[u16], dst: &mut [Rgba8]) {
    let w = dst.len().min(orig.len());
    for (x0, block, n) in crate::fixed::blocks(blur, w) {
        in_blocks(f, orig, dst, x0, n, block);
    }
}

macro_rules! level {
    ($modname:ident $(, $feature:literal)?) => {
        mod $modname {
            use fxchain_plugin_api::Rgba8;
            use super::{SharpenFixed, SharpenQ15};
            $(#[target_feature(enable = $feature)])?
            pub fn fixed(s: &SharpenFixed, orig: &[Rgba8], blur: &[u16], dst: &mut [Rgba8]) {
                super::row_body(s, orig, blur, dst)
            }
            $(#[target_feature(enable = $feature)])?
            pub fn q15(s: &SharpenQ15, orig: &[Rgba8], blur: &[u16], dst: &mut [Rgba8]) {
                super::row_body(s, orig, blur, dst)
            }
        }
    };
}

level!(base);
#[cfg(target_arch = "x86_64")]
level!(avx2, "avx2,fma");
#[cfg(target_arch = "x86_64")]
level!(avx512, "avx512f,avx512bw,avx512vl");

kernel! {
    /// [`SharpenFixed`] on a row: `dst[x]` from `orig[x]` and the blurred lanes `blur[4x..4x + 4]`
    /// (`blur` padded to a whole number of blocks).
    pub fn fixed_row(s: &SharpenFixed, orig: &[Rgba8], blur: &[u16], dst: &mut [Rgba8]);
    scalar = base::fixed; sse2 = base::fixed; avx2 = avx2::fixed; avx512 = avx512::fixed;
}

kernel! {
    /// [`SharpenQ15`] on a row, as [`fixed_row`].
    pub fn q15_row(s: &SharpenQ15, orig: &[Rgba8], blur: &[u16], dst: &mut [Rgba8]);
    scalar = base::q15; sse2 = base::q15; avx2 = avx2::q15; avx512 = avx512::q15;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{Level, Rng};

    #[test]
    fn every_level_sharpens_as_the_scalar_reference() {
        let mut r = Rng::new(31);
        for w in [1usize, 3, 7, 8, 9, 33, 100, 1001] {
            let orig: Vec<Rgba8> = (0..w)
                .map(|_| {
                    let v = r.next();
                    Rgba8::new(v as u8, (v >> 8) as u8, (v >> 16) as u8, 255)
                })
                .collect();
            // Blurred values of 8-bit pixels: at most 255 levels in units of 1/256.
            let blur: Vec<u16> = (0..4 * w + LANES).map(|_| ((r.next() >> 32) % 65281) as u16).collect();
            for (amount, threshold) in [(0.3f32, 0.0f32), (0.5, 0.0), (1.5, 0.0), (0.8, 0.05), (10.0, 0.2)] {
                let fixed = SharpenFixed::new(amount, threshold);
                let q15 = SharpenQ15::new(amount, threshold);
                let run = |level| {
                    let mut a = vec![Rgba8::default(); w];
                    fixed_row(level, &fixed, &orig, &blur, &mut a);
                    let mut b = vec![Rgba8::default(); w];
                    if let Some(q) = &q15 {
                        q15_row(level, q, &orig, &blur, &mut b);
                    }
                    (a, b)
                };
                let want = run(Level::Scalar);
                // The alpha channel is kept.
                assert!(want.0.iter().zip(&orig).all(|(a, o)| a.a == o.a));
                for level in Level::available_levels() {
                    assert!(run(level) == want, "{level:?}, width {w}, amount {amount}");
                }
            }
        }
    }
}
