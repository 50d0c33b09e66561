//! The per-pixel loops of lattice noise evaluated a row at a time ([`crate::noise::Lattice::row`]).
//!
//! Along one row of one octave the lattice corners only change at cell boundaries, so
//! [`crate::noise`] hashes each corner once into a small table and these loops interpolate every
//! pixel from it: the same float operations in the same order as the per-pixel reference
//! ([`crate::noise::value`], [`crate::noise::perlin`]), so the same bits at every level. The loops
//! are one generic body on blocks of 8 lanes, compiled for the baseline and, as a
//! `#[target_feature]` function, for AVX2 (where the compiler vectorizes a block into one
//! register). A block's lanes pick their corners from the few cells it covers with selects, not
//! gathers. The AVX-512 level runs the AVX2 loops (AVX-512 F implies AVX2 and FMA): blocks of
//! 16 lanes cover more cells and were slower on the Xeon this was measured on, and so were the
//! same blocks of 8 compiled for AVX-512.

use fxchain_plugin_api::Rgba8;

use super::kernel;
use crate::fixed::round_u8;
use crate::noise::{lerp, smooth};

/// 2^23: from here up every `f32` is an integer.
const BIG: f32 = 8_388_608.0;

/// `crate::noise::floor` without a conversion to integers, so it vectorizes: below 2^23 in
/// magnitude, adding and subtracting 2^23 rounds to the nearest integer (the sum's unit in the
/// last place is 1), which is then stepped down where it is above `x`. The same value and the
/// same zero sign (`+0.0` for `-0.0`, as the reference) for every input.
#[inline(always)]
pub(crate) fn floor(x: f32) -> f32 {
    let r = if x >= 0.0 { (x + BIG) - BIG } else { (x - BIG) + BIG };
    let r = if r > x { r - 1.0 } else { r };
    if x.abs() < BIG {
        r
    } else {
        x
    }
}

/// 1.5 × 2^23: for an integer `v` below 2^22 in magnitude, the bits of `v + KEY` are
/// `0x4B40_0000 + v`, so cells compare as integers (integer minimum and maximum vectorize; the
/// float ones do not without fast-math).
const KEY: f32 = 12_582_912.0;

/// The integer key of a cell `v` below 2^22 in magnitude (`v` is `key - 0x4B40_0000`).
#[inline(always)]
fn key(v: f32) -> i32 {
    (v + KEY).to_bits() as i32
}

/// `xf[i] = floor(xs[i] * mul)`; returns the smallest and largest `xf` and whether every `xf` is
/// below 2^22 in magnitude (false for NaN).
#[inline(always)]
fn floors_body(xs: &[f32], mul: f32, xf: &mut [f32]) -> (f32, f32, bool) {
    let (mut lo, mut hi, mut good) = (i32::MAX, i32::MIN, 1u32);
    for (f, &x) in xf.iter_mut().zip(xs) {
        let v = floor(x * mul);
        *f = v;
        let k = key(v);
        lo = lo.min(k);
        hi = hi.max(k);
        good &= (v.abs() < KEY / 3.0) as u32;
    }
    let cell = |k: i32| (k - KEY.to_bits() as i32) as f32;
    (cell(lo), cell(hi), good == 1 && !xs.is_empty())
}

/// Cells a block of lanes may span and still be interpolated from corners picked per lane.
const SPAN: usize = 4;

/// The corner tables of one row, for corners `lo ..`: for value noise the lattice values on the
/// rows below and above the sample row; for Perlin noise `p` and `c` of the gradient term
/// `p * dx + c` on each of the two rows. Each table has at least `SPAN + 1` entries past the
/// last cell's right corner (any value).
pub struct Corners<'a> {
    /// The cell of the first corner.
    pub lo: f32,
    /// The four tables (value noise uses the first two).
    pub tables: [&'a [f32]; 4],
}

/// The corner `lo + k + d + right` of table `t` for a lane's cell offset `d` from `k`, in a
/// block that spans `S` cells (1, 2 or [`SPAN`]).
#[inline(always)]
fn pick<const S: usize>(t: &[f32; SPAN + 1], d: f32, right: usize) -> f32 {
    if S == 1 || d < 0.5 {
        t[right]
    } else if S == 2 || d < 1.5 {
        t[1 + right]
    } else if d < 2.5 {
        t[2 + right]
    } else {
        t[3 + right]
    }
}

/// The noise of `L` lanes whose cells start at corner `k` (offsets `d`, below `S`): value
/// noise when `PERLIN` is false (tables: top, bottom), else Perlin (tp, tc, bp, bc).
#[inline(always)]
fn lanes<const L: usize, const S: usize, const PERLIN: bool>(
    x: &[f32; L],
    f: &[f32; L],
    d: &[f32; L],
    t: [&[f32; SPAN + 1]; 4],
    ty: f32,
    out: &mut [f32; L],
) {
    for l in 0..L {
        let fx = x[l] - f[l];
        let p = |t: &[f32; SPAN + 1], right: usize| pick::<S>(t, d[l], right);
        out[l] = if PERLIN {
            let dx1 = fx - 1.0;
            let u = smooth(fx);
            let n00 = p(t[0], 0) * fx + p(t[1], 0);
            let n10 = p(t[0], 1) * dx1 + p(t[1], 1);
            let n01 = p(t[2], 0) * fx + p(t[3], 0);
            let n11 = p(t[2], 1) * dx1 + p(t[3], 1);
            lerp(lerp(n00, n10, u), lerp(n01, n11, u), ty)
        } else {
            let tx = smooth(fx);
            lerp(lerp(p(t[0], 0), p(t[0], 1), tx), lerp(p(t[1], 0), p(t[1], 1), tx), ty)
        };
    }
}

/// Interpolates every pixel from the row's corner tables, `L` lanes at a time: the lanes of a
/// block take their corners from the (at most `SPAN`) cells the block covers; a block that
/// covers more cells reads the tables lane by lane.
#[inline(always)]
fn pixels_body<const L: usize, const PERLIN: bool>(
    xs: &[f32],
    mul: f32,
    xf: &[f32],
    c: &Corners<'_>,
    ty: f32,
    out: &mut [f32],
) {
    let n = out.len().min(xs.len()).min(xf.len());
    let len = c.tables.iter().map(|t| t.len()).min().unwrap_or(0);
    let mut i = 0;
    while i < n {
        let m = L.min(n - i);
        // A block of lanes, the last one padded with the last pixel.
        let (mut x, mut f) = ([0.0f32; L], [0.0f32; L]);
        if m == L {
            x.copy_from_slice(&xs[i..i + L]);
            f.copy_from_slice(&xf[i..i + L]);
        } else {
            for l in 0..L {
                x[l] = xs[i + l.min(m - 1)];
                f[l] = xf[i + l.min(m - 1)];
            }
        }
        for v in &mut x {
            *v *= mul;
        }
        let (mut lo, mut hi) = (i32::MAX, i32::MIN);
        for &v in &f {
            lo = lo.min(key(v));
            hi = hi.max(key(v));
        }
        let (lo, hi) = ((lo - KEY.to_bits() as i32) as f32, (hi - KEY.to_bits() as i32) as f32);
        let k = (lo - c.lo) as usize;
        let mut res = [0.0f32; L];
        if hi - lo < SPAN as f32 && k + SPAN < len {
            let mut d = [0.0f32; L];
            for l in 0..L {
                d[l] = f[l] - lo;
            }
            let t = c.tables.map(|t| <&[f32; SPAN + 1]>::try_from(&t[k..k + SPAN + 1]).unwrap());
            if hi == lo {
                lanes::<L, 1, PERLIN>(&x, &f, &d, t, ty, &mut res)
            } else if hi - lo == 1.0 {
                lanes::<L, 2, PERLIN>(&x, &f, &d, t, ty, &mut res)
            } else {
                lanes::<L, SPAN, PERLIN>(&x, &f, &d, t, ty, &mut res)
            }
        } else {
            for l in 0..m {
                let k = ((f[l] - c.lo) as usize).min(len.saturating_sub(2));
                let t = c.tables.map(|t| {
                    let mut a = [0.0f32; SPAN + 1];
                    a[..2].copy_from_slice(&t[k..k + 2]);
                    a
                });
                let mut one = [0.0f32; 1];
                lanes::<1, 1, PERLIN>(&[x[l]], &[f[l]], &[0.0], [&t[0], &t[1], &t[2], &t[3]], ty, &mut one);
                res[l] = one[0];
            }
        }
        // A whole block as one fixed-size copy (registers, not a call to `memcpy`).
        if m == L {
            out[i..i + L].copy_from_slice(&res);
        } else {
            out[i..i + m].copy_from_slice(&res[..m]);
        }
        i += m;
    }
}

/// `out[i]` is the colour `lo + d * ns[i]` (the fraction clamped to 0..1) in 8 bits, each
/// channel rounded as [`fxchain_plugin_api::f32_to_u8`]: the same operations per channel as mixing two colours and
/// converting the mix, in a loop the compiler vectorizes.
///
/// Pixels go in blocks through a buffer of words, one channel a byte, so each channel is one
/// vector operation across the block's pixels with its `lo` and `d` broadcast. The conversion
/// is [`crate::fixed::round_u8`] (the compiler does not vectorize a saturating `as`), NaN
/// selected to 0 first as `f32_to_u8` makes it.
#[inline(always)]
fn ramp_body(lo: &[f32; 4], d: &[f32; 4], ns: &[f32], out: &mut [Rgba8]) {
    const BLOCK: usize = 64;
    let mut words = [0u32; BLOCK];
    for (o, ns) in out.chunks_mut(BLOCK).zip(ns.chunks(BLOCK)) {
        for (w, &n) in words.iter_mut().zip(ns) {
            let t = n.clamp(0.0, 1.0);
            let c = |k: usize| {
                let v = (lo[k] + d[k] * t).clamp(0.0, 1.0) * 255.0;
                round_u8(if v >= 0.0 { v } else { 0.0 }) as u32
            };
            *w = c(0) | (c(1) << 8) | (c(2) << 16) | (c(3) << 24);
        }
        for (px, w) in o.iter_mut().zip(words) {
            let [r, g, b, a] = w.to_le_bytes();
            *px = Rgba8::new(r, g, b, a);
        }
    }
}

/// Defines the loops for one level with `L` lanes per block: plain functions for the baseline,
/// or `#[target_feature]` functions.
macro_rules! level {
    ($modname:ident, $lanes:literal $(, $feature:literal)?) => {
        pub(crate) mod $modname {
            use super::Corners;
            $(#[target_feature(enable = $feature)])?
            pub fn floors(xs: &[f32], mul: f32, xf: &mut [f32], range: &mut (f32, f32, bool)) {
                *range = super::floors_body(xs, mul, xf)
            }
            $(#[target_feature(enable = $feature)])?
            pub fn value(xs: &[f32], mul: f32, xf: &[f32], c: &Corners<'_>, ty: f32, out: &mut [f32]) {
                super::pixels_body::<$lanes, false>(xs, mul, xf, c, ty, out)
            }
            $(#[target_feature(enable = $feature)])?
            pub fn ramp(lo: &[f32; 4], d: &[f32; 4], ns: &[f32], out: &mut [fxchain_plugin_api::Rgba8]) {
                super::ramp_body(lo, d, ns, out)
            }
            $(#[target_feature(enable = $feature)])?
            pub fn perlin(xs: &[f32], mul: f32, xf: &[f32], c: &Corners<'_>, ty: f32, out: &mut [f32]) {
                super::pixels_body::<$lanes, true>(xs, mul, xf, c, ty, out)
            }
        }
    };
}

level!(base, 8);
#[cfg(target_arch = "x86_64")]
level!(avx2, 8, "avx2,fma");

kernel! {
    /// `xf[i] = floor(xs[i] * mul)` for every `i` (the cells of a row); `range` receives the
    /// smallest and largest cell and whether all are below 2^23 in magnitude.
    pub fn floors(xs: &[f32], mul: f32, xf: &mut [f32], range: &mut (f32, f32, bool));
    scalar = base::floors; sse2 = base::floors; avx2 = avx2::floors; avx512 = avx2::floors;
}

kernel! {
    /// Value noise at `(xs[i] * mul, y)` from the row's cells `xf` and corner tables (top,
    /// bottom); `ty` is the smoothed fraction of `y`.
    pub fn value_pixels(xs: &[f32], mul: f32, xf: &[f32], c: &Corners<'_>, ty: f32, out: &mut [f32]);
    scalar = base::value; sse2 = base::value; avx2 = avx2::value; avx512 = avx2::value;
}

kernel! {
    /// Perlin noise at `(xs[i] * mul, y)` from the row's cells `xf` and corner tables
    /// (`p`, `c` below, `p`, `c` above); `ty` is the smoothed fraction of `y`.
    pub fn perlin_pixels(xs: &[f32], mul: f32, xf: &[f32], c: &Corners<'_>, ty: f32, out: &mut [f32]);
    scalar = base::perlin; sse2 = base::perlin; avx2 = avx2::perlin; avx512 = avx2::perlin;
}

kernel! {
    /// 8-bit colours of a row of fractions: `out[i] = lo + d * clamp(ns[i], 0, 1)` per channel,
    /// rounded and clamped as `f32_to_u8` (a two-colour ramp, `d` = high - low).
    pub fn ramp_rgba8(lo: &[f32; 4], d: &[f32; 4], ns: &[f32], out: &mut [Rgba8]);
    scalar = base::ramp; sse2 = base::ramp; avx2 = avx2::ramp; avx512 = avx2::ramp;
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_level_ramps_as_the_per_pixel_mix() {
        use fxchain_plugin_api::{f32_to_u8, Rgba8};
        let mut r = super::super::Rng::new(11);
        let mut f = || (r.next() >> 40) as f32 / (1u64 << 24) as f32;
        for w in [1usize, 3, 7, 8, 9, 31, 64, 1000] {
            let lo = [f(), f(), f(), 1.0];
            let hi = [f(), f(), f(), f()];
            let d = [0, 1, 2, 3].map(|k| hi[k] - lo[k]);
            let mut ns: Vec<f32> = (0..w).map(|_| f() * 1.4 - 0.2).collect();
            ns[0] = f32::NAN;
            let want: Vec<Rgba8> = ns
                .iter()
                .map(|&n| {
                    let t = n.clamp(0.0, 1.0);
                    let c = |k: usize| f32_to_u8(lo[k] + (hi[k] - lo[k]) * t);
                    Rgba8::new(c(0), c(1), c(2), c(3))
                })
                .collect();
            for level in super::super::Level::ALL.into_iter().filter(|l| l.available()) {
                let mut got = vec![Rgba8::default(); w];
                super::ramp_rgba8(level, &lo, &d, &ns, &mut got);
                assert_eq!(got, want, "{level:?}, width {w}");
            }
        }
    }

    #[test]
    fn the_vector_floor_is_the_reference_floor() {
        let mut r = super::super::Rng::new(3);
        let mut xs = vec![0.0f32, -0.0, 0.5, -0.5, 0.49999997, -0.49999997, 1.0, -1.0, 8_388_607.5, -8_388_607.5];
        xs.extend([8_388_608.0f32, -8_388_608.0, 1e30, -1e30, f32::INFINITY, f32::NEG_INFINITY, 1e-40, -1e-40]);
        for _ in 0..100_000 {
            let bits = r.next() as u32;
            xs.push(f32::from_bits(bits));
            xs.push(f32::from_bits(bits) % 3000.0);
        }
        for x in xs.into_iter().filter(|x| !x.is_nan()) {
            assert_eq!(super::floor(x).to_bits(), crate::noise::floor(x).to_bits(), "floor({x:e})");
        }
    }
}
