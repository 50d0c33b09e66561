//! The per-pixel loops of lattice noise evaluated a row at a time ([`crate::noise::Lattice::row`]).
//!
//! Along one row of one octave the lattice corners only change at cell boundaries, so
//! [`crate::noise`] hashes each corner once into a small table and these loops interpolate every
//! pixel from it: the same float operations in the same order as the per-pixel reference
//! ([`crate::noise::value`], [`crate::noise::perlin`]), so the same bits at every level. The loops
//! are one generic body compiled for the baseline and, as `#[target_feature]` functions, for AVX2
//! and AVX-512, where the compiler vectorizes them at that width (the table reads become
//! gathers).

use super::kernel;
use crate::noise::{floor, lerp, smooth};

/// `xf[i] = floor(xs[i] * mul)`.
#[inline(always)]
fn floors_body(xs: &[f32], mul: f32, xf: &mut [f32]) {
    for (f, &x) in xf.iter_mut().zip(xs) {
        *f = floor(x * mul);
    }
}

/// Value noise from corner tables: `top[k]`, `bot[k]` are the lattice values at corner
/// `lo + k` on the rows below and above the sample row, `ty` the smoothed fraction in y.
#[inline(always)]
fn value_body(xs: &[f32], mul: f32, xf: &[f32], lo: f32, top: &[f32], bot: &[f32], ty: f32, out: &mut [f32]) {
    let m = top.len().min(bot.len()).saturating_sub(2);
    let (top, bot) = (&top[..m + 2], &bot[..m + 2]);
    for ((o, &x), &f) in out.iter_mut().zip(xs).zip(xf) {
        let k = ((f - lo) as u32 as usize).min(m);
        let tx = smooth(x * mul - f);
        *o = lerp(lerp(top[k], top[k + 1], tx), lerp(bot[k], bot[k + 1], tx), ty);
    }
}

/// Perlin noise from corner tables: the gradient term at corner `lo + k` is
/// `p[k] * dx + c[k]` (`c` holds the row's constant `dy` part), for the rows below (`tp`, `tc`)
/// and above (`bp`, `bc`) the sample row; `v` is the smoothed fraction in y.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn perlin_body(xs: &[f32], mul: f32, xf: &[f32], lo: f32, tab: [&[f32]; 4], v: f32, out: &mut [f32]) {
    let m = tab.iter().map(|t| t.len()).min().unwrap_or(0).saturating_sub(2);
    let [tp, tc, bp, bc] = tab.map(|t| &t[..m + 2]);
    for ((o, &x), &f) in out.iter_mut().zip(xs).zip(xf) {
        let k = ((f - lo) as u32 as usize).min(m);
        let fx = x * mul - f;
        let dx1 = fx - 1.0;
        let u = smooth(fx);
        let n00 = tp[k] * fx + tc[k];
        let n10 = tp[k + 1] * dx1 + tc[k + 1];
        let n01 = bp[k] * fx + bc[k];
        let n11 = bp[k + 1] * dx1 + bc[k + 1];
        *o = lerp(lerp(n00, n10, u), lerp(n01, n11, u), v);
    }
}

/// Defines the three loops for one level: plain functions for the baseline, or
/// `#[target_feature]` functions.
macro_rules! level {
    ($modname:ident $(, $feature:literal)?) => {
        pub(crate) mod $modname {
            $(#[target_feature(enable = $feature)])?
            pub fn floors(xs: &[f32], mul: f32, xf: &mut [f32]) {
                super::floors_body(xs, mul, xf)
            }
            #[allow(clippy::too_many_arguments)]
            $(#[target_feature(enable = $feature)])?
            pub fn value(xs: &[f32], mul: f32, xf: &[f32], lo: f32, top: &[f32], bot: &[f32], ty: f32, out: &mut [f32]) {
                super::value_body(xs, mul, xf, lo, top, bot, ty, out)
            }
            #[allow(clippy::too_many_arguments)]
            $(#[target_feature(enable = $feature)])?
            pub fn perlin(xs: &[f32], mul: f32, xf: &[f32], lo: f32, tab: [&[f32]; 4], v: f32, out: &mut [f32]) {
                super::perlin_body(xs, mul, xf, lo, tab, v, out)
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
    /// `xf[i] = floor(xs[i] * mul)` for every `i` (the cells of a row).
    pub fn floors(xs: &[f32], mul: f32, xf: &mut [f32]);
    scalar = base::floors; sse2 = base::floors; avx2 = avx2::floors; avx512 = avx512::floors;
}

kernel! {
    /// Value noise at `(xs[i] * mul, y)` from the row's corner tables (see [`crate::noise`]).
    pub fn value_pixels(xs: &[f32], mul: f32, xf: &[f32], lo: f32, top: &[f32], bot: &[f32], ty: f32, out: &mut [f32]);
    scalar = base::value; sse2 = base::value; avx2 = avx2::value; avx512 = avx512::value;
}

kernel! {
    /// Perlin noise at `(xs[i] * mul, y)` from the row's corner tables (see [`crate::noise`]).
    pub fn perlin_pixels(xs: &[f32], mul: f32, xf: &[f32], lo: f32, tab: [&[f32]; 4], v: f32, out: &mut [f32]);
    scalar = base::perlin; sse2 = base::perlin; avx2 = avx2::perlin; avx512 = avx512::perlin;
}
