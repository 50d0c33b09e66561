//! The hot loops of the standard effects, compiled for every [`Level`] and picked at run time.
//!
//! Each kernel has a scalar reference (`Level::Scalar`: one lane at a time) and vector versions
//! with the same integer operations in the same order: SSE2 as portable blocks of lanes the
//! compiler vectorizes for the x86-64 baseline, AVX2 and AVX-512 as `#[target_feature]`
//! functions written with `std::arch` intrinsics (16 and 32 lanes of 16 bits per register; the
//! compiler does not vectorize the portable blocks well at those widths). Integer kernels give
//! the same bits at every level, and so does the float kernel (same operations per lane, no
//! fused multiply-add). The tests run every level the processor has against the reference.
//!
//! Std::arch is used directly rather than a crate (multiversion, pulp): the kernels are a few
//! 16-bit multiply-adds, and the safe `#[target_feature]` functions of Rust 1.87+ leave `unsafe`
//! to the dispatch (after [`Level::available`]) and the unaligned loads and stores.

pub mod conv;
pub mod noise;
pub mod resize;
pub mod sharpen;

pub use fxchain_plugin_api::simd::{level, Level};

/// Defines `pub fn $name(level, args…)`: `$scalar(args)` for `Scalar`, `$sse2(args)` for SSE2
/// (portable blocks the compiler vectorizes for the baseline), and the `#[target_feature]`
/// functions `$avx2` / `$avx512` where the processor has them. A level the processor lacks runs
/// the best one below it.
macro_rules! kernel {
    ($(#[$doc:meta])* pub fn $name:ident($($a:ident: $t:ty),* $(,)?);
     scalar = $scalar:path; sse2 = $sse2:path; avx2 = $avx2:path; avx512 = $avx512:path;) => {
        $(#[$doc])*
        pub fn $name(level: $crate::kernels::Level, $($a: $t),*) {
            use $crate::kernels::Level;
            #[cfg(target_arch = "x86_64")]
            match level {
                Level::Scalar => $scalar($($a),*),
                // SAFETY: `Level::available` found AVX-512 F, BW and VL on this processor.
                Level::Avx512 if Level::Avx512.available() => unsafe { $avx512($($a),*) },
                // SAFETY: `Level::available` found AVX2 and FMA on this processor.
                Level::Avx2 | Level::Avx512 if Level::Avx2.available() => unsafe { $avx2($($a),*) },
                _ => $sse2($($a),*),
            }
            #[cfg(not(target_arch = "x86_64"))]
            match level {
                Level::Scalar => $scalar($($a),*),
                _ => $sse2($($a),*),
            }
        }
    };
}
pub(crate) use kernel;

/// Defines, for one x86 level, the 16-bit multiply-accumulate kernels on whole registers:
/// `$vertical(rows, w, bias, out)` and `$horizontal(ext, w, bias, out)` of [`conv`], and
/// `$mac_rows(terms, rows, pos, neg, i)` for [`resize`] (four registers of accumulators per block).
#[cfg(target_arch = "x86_64")]
macro_rules! mac16 {
    ($feature:literal, $reg:ty, $lanes:expr, $load:ident, $store:ident, $set1:ident, $mulhi:ident, $add:ident,
     $vertical:ident, $horizontal:ident, $mac_rows:ident) => {
        /// Lanes per block: four registers.
        const BLOCK_LANES: usize = 4 * $lanes;

        #[inline(always)]
        fn load(src: &[u16], r: usize) -> $reg {
            let s = &src[r * $lanes..(r + 1) * $lanes];
            // SAFETY: `s` holds exactly one register of lanes (checked by the slice above); the
            // load is unaligned.
            unsafe { $load(s.as_ptr() as *const _) }
        }

        #[inline(always)]
        fn store(dst: &mut [u16], r: usize, v: $reg) {
            let d = &mut dst[r * $lanes..(r + 1) * $lanes];
            // SAFETY: `d` holds exactly one register of lanes; the store is unaligned.
            unsafe { $store(d.as_mut_ptr() as *mut _, v) }
        }

        #[target_feature(enable = $feature)]
        pub fn $vertical(rows: &[&[u16]], w: &[u16], bias: u16, out: &mut [u16]) {
            let n = out.len();
            let mut i = 0;
            while i + BLOCK_LANES <= n {
                let mut acc = [$set1(bias as i16); 4];
                for (row, &wk) in rows.iter().zip(w) {
                    let src = &row[i..i + BLOCK_LANES];
                    let wv = $set1(wk as i16);
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = $add(*a, $mulhi(load(src, r), wv));
                    }
                }
                for (r, a) in acc.into_iter().enumerate() {
                    store(&mut out[i..i + BLOCK_LANES], r, a);
                }
                i += BLOCK_LANES;
            }
            if i < n {
                let tail: Vec<&[u16]> = rows.iter().map(|r| &r[i..n]).collect();
                super::conv::vertical_scalar(&tail, w, bias, &mut out[i..]);
            }
        }

        #[target_feature(enable = $feature)]
        pub fn $horizontal(ext: &[u16], w: &[u16], bias: u16, out: &mut [u16]) {
            let n = out.len();
            let mut i = 0;
            while i + BLOCK_LANES <= n {
                let mut acc = [$set1(bias as i16); 4];
                for (t, &wt) in w.iter().enumerate() {
                    let src = &ext[i + 4 * t..i + 4 * t + BLOCK_LANES];
                    let wv = $set1(wt as i16);
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = $add(*a, $mulhi(load(src, r), wv));
                    }
                }
                for (r, a) in acc.into_iter().enumerate() {
                    store(&mut out[i..i + BLOCK_LANES], r, a);
                }
                i += BLOCK_LANES;
            }
            if i < n {
                super::conv::horizontal_scalar(&ext[i..], w, bias, &mut out[i..]);
            }
        }

        /// The positive and negative sums of [`super::resize::Terms`] for lanes `i..i + BLOCK_LANES`.
        #[target_feature(enable = $feature)]
        pub fn $mac_rows(
            t: &super::resize::Terms,
            rows: &[&[u16]],
            i: usize,
            pos: &mut [u16; BLOCK_LANES],
            neg: &mut [u16; BLOCK_LANES],
        ) {
            let block = |r: usize| &rows[r][i..i + BLOCK_LANES];
            for (single, pairs, out) in [(&t.pos, &t.pos2, &mut pos[..]), (&t.neg, &t.neg2, &mut neg[..])] {
                let mut acc = [$set1(0); 4];
                for &(r, wk) in single {
                    let (src, wv) = (block(r), $set1(wk as i16));
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = $add(*a, $mulhi(load(src, k), wv));
                    }
                }
                for &(p, q, wk) in pairs {
                    let (x, y, wv) = (block(p), block(q), $set1(wk as i16));
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = $add(*a, $mulhi($add(load(x, k), load(y, k)), wv));
                    }
                }
                for (k, a) in acc.into_iter().enumerate() {
                    store(out, k, a);
                }
            }
        }
    };
}

/// The AVX2 kernels: 16 lanes per register.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;
    mac16!(
        "avx2,fma",
        __m256i,
        16,
        _mm256_loadu_si256,
        _mm256_storeu_si256,
        _mm256_set1_epi16,
        _mm256_mulhi_epu16,
        _mm256_add_epi16,
        vertical,
        horizontal,
        mac_rows
    );
    pub(crate) const LANES: usize = BLOCK_LANES;
}

/// The AVX-512 (BW) kernels: 32 lanes per register.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;
    mac16!(
        "avx512f,avx512bw,avx512vl",
        __m512i,
        32,
        _mm512_loadu_si512,
        _mm512_storeu_si512,
        _mm512_set1_epi16,
        _mm512_mulhi_epu16,
        _mm512_add_epi16,
        vertical,
        horizontal,
        mac_rows
    );
    pub(crate) const LANES: usize = BLOCK_LANES;
}

/// Deterministic pseudo-random numbers for the kernel tests.
#[cfg(test)]
pub(crate) struct Rng(u64);

#[cfg(test)]
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
