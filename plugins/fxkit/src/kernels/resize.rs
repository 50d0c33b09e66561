//! The two passes of resampling opaque 8-bit frames (`geometry.resize`): the vertical pass in
//! 16-bit fixed point with positive and negative weights in separate accumulators, the
//! horizontal pass in `f32` lanes with a fixed tap count.

use fxchain_plugin_api::prelude::Rgba8;

use super::kernel;

#[inline(always)]
fn mulhi(a: u16, b: u16) -> u16 {
    ((a as u32 * b as u32) >> 16) as u16
}

/// The fixed-point terms of one output row of the vertical pass: `(row, |w|)` for single rows
/// and `(row, row, |w|)` for two rows sharing a weight (`|w|` in units of 2^-16), split by the
/// sign of the weight, and the bias added back at the end (in the lane units).
#[derive(Clone, Debug, Default)]
pub struct Terms {
    /// Positive single-row terms.
    pub pos: Vec<(usize, u16)>,
    /// Negative single-row terms.
    pub neg: Vec<(usize, u16)>,
    /// Positive pairs of rows.
    pub pos2: Vec<(usize, usize, u16)>,
    /// Negative pairs of rows.
    pub neg2: Vec<(usize, usize, u16)>,
    /// Added before scaling.
    pub bias: f32,
    /// The scale from lane units to channel units.
    pub scale: f32,
}

/// The reference of [`vertical`], lane by lane.
pub fn vertical_scalar(t: &Terms, rows: &[&[u16]], out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        let sum = |single: &[(usize, u16)], pairs: &[(usize, usize, u16)]| {
            let a = single.iter().fold(0u16, |a, &(r, w)| a.wrapping_add(mulhi(rows[r][j], w)));
            pairs.iter().fold(a, |a, &(p, q, w)| a.wrapping_add(mulhi(rows[p][j].wrapping_add(rows[q][j]), w)))
        };
        *o = (sum(&t.pos, &t.pos2) as f32 - sum(&t.neg, &t.neg2) as f32 + t.bias) * t.scale;
    }
}

#[inline(always)]
fn mac<const V: usize, const R: usize>(acc: &mut [[u16; V]; R], src: &[u16], w: u16) {
    for (a, s) in acc.iter_mut().zip(src.chunks_exact(V)) {
        for l in 0..V {
            a[l] = a[l].wrapping_add(mulhi(s[l], w));
        }
    }
}

#[inline(always)]
fn mac2<const V: usize, const R: usize>(acc: &mut [[u16; V]; R], x: &[u16], y: &[u16], w: u16) {
    for ((a, s), t) in acc.iter_mut().zip(x.chunks_exact(V)).zip(y.chunks_exact(V)) {
        for l in 0..V {
            a[l] = a[l].wrapping_add(mulhi(s[l].wrapping_add(t[l]), w));
        }
    }
}

#[inline(always)]
fn vertical_blocks<const V: usize, const R: usize>(t: &Terms, rows: &[&[u16]], out: &mut [f32]) {
    let n = out.len();
    let lanes = V * R;
    let mut i = 0;
    while i + lanes <= n {
        let block = |r: usize| &rows[r][i..i + lanes];
        let mut pos = [[0u16; V]; R];
        let mut neg = [[0u16; V]; R];
        for &(r, w) in &t.pos {
            mac(&mut pos, block(r), w);
        }
        for &(a, b, w) in &t.pos2 {
            mac2(&mut pos, block(a), block(b), w);
        }
        for &(r, w) in &t.neg {
            mac(&mut neg, block(r), w);
        }
        for &(a, b, w) in &t.neg2 {
            mac2(&mut neg, block(a), block(b), w);
        }
        for ((o, p), q) in out[i..i + lanes].chunks_exact_mut(V).zip(&pos).zip(&neg) {
            for l in 0..V {
                o[l] = (p[l] as f32 - q[l] as f32 + t.bias) * t.scale;
            }
        }
        i += lanes;
    }
    if i < n {
        let tail: Vec<&[u16]> = rows.iter().map(|r| &r[i..n]).collect();
        vertical_scalar(t, &tail, &mut out[i..]);
    }
}

kernel! {
    /// The vertical pass of one output row: `(Σ pos − Σ neg + bias) · scale` per lane, each sum
    /// of 16×16→high-16 products in wrapping `u16` arithmetic.
    pub fn vertical(t: &Terms, rows: &[&[u16]], out: &mut [f32]);
    scalar = vertical_scalar;
    sse2 = vertical_blocks::<8, 4>;
    avx2 = vertical_avx2;
    avx512 = vertical_avx512;
}

/// Horizontal taps: `n` for every output pixel, starting at input pixel `starts[x]`, weights
/// `weights[x * n + k]` repeated in the four lanes of a pixel.
#[derive(Clone, Debug, Default)]
pub struct Horizontal {
    /// Taps per output pixel.
    pub n: usize,
    /// The first input pixel of each output pixel.
    pub starts: Vec<usize>,
    /// `n` weights per output pixel.
    pub weights: Vec<[f32; 4]>,
}

/// `Σ_k w_k · p_k` over the pixels of a window, in order of `k` (four lanes each).
#[inline(always)]
fn dot(p: &[f32], w: &[[f32; 4]]) -> [f32; 4] {
    let mut acc = [0f32; 4];
    for (p, w) in p.chunks_exact(4).zip(w) {
        for l in 0..4 {
            acc[l] += p[l] * w[l];
        }
    }
    acc
}

/// The reference of [`horizontal`]: one output pixel at a time.
pub fn horizontal_scalar(t: &Horizontal, v: &[f32], out: &mut [f32]) {
    let n = t.n;
    for ((d, &s), w) in out.chunks_exact_mut(4).zip(&t.starts).zip(t.weights.chunks_exact(n)) {
        d.copy_from_slice(&dot(&v[4 * s..4 * (s + n)], w));
    }
}

/// `G` output pixels at a time with a constant tap count `N`, so the compiler unrolls the taps
/// and keeps `G` independent chains of additions in flight.
#[inline(always)]
fn horizontal_n<const N: usize, const G: usize>(t: &Horizontal, v: &[f32], out: &mut [f32]) {
    let mut outs = out.chunks_exact_mut(4 * G);
    let mut starts = t.starts.chunks_exact(G);
    let mut weights = t.weights.chunks_exact(G * N);
    for ((d, s), w) in (&mut outs).zip(&mut starts).zip(&mut weights) {
        let mut acc = [[0f32; 4]; G];
        for k in 0..N {
            for g in 0..G {
                let p = &v[4 * (s[g] + k)..4 * (s[g] + k) + 4];
                let wk = &w[g * N + k];
                for l in 0..4 {
                    acc[g][l] += p[l] * wk[l];
                }
            }
        }
        for (o, a) in d.chunks_exact_mut(4).zip(&acc) {
            o.copy_from_slice(a);
        }
    }
    for ((d, &s), w) in
        outs.into_remainder().chunks_exact_mut(4).zip(starts.remainder()).zip(weights.remainder().chunks_exact(N))
    {
        d.copy_from_slice(&dot(&v[4 * s..4 * (s + N)], w));
    }
}

#[inline(always)]
fn horizontal_g<const G: usize>(t: &Horizontal, v: &[f32], out: &mut [f32]) {
    match t.n {
        2 => horizontal_n::<2, G>(t, v, out),
        3 => horizontal_n::<3, G>(t, v, out),
        4 => horizontal_n::<4, G>(t, v, out),
        6 => horizontal_n::<6, G>(t, v, out),
        7 => horizontal_n::<7, G>(t, v, out),
        8 => horizontal_n::<8, G>(t, v, out),
        12 => horizontal_n::<12, G>(t, v, out),
        13 => horizontal_n::<13, G>(t, v, out),
        _ => horizontal_scalar(t, v, out),
    }
}

#[inline(always)]
fn horizontal_blocks<const V: usize, const R: usize>(t: &Horizontal, v: &[f32], out: &mut [f32]) {
    // Two pixels per step (two 128-bit registers of accumulators).
    horizontal_g::<2>(t, v, out)
}

/// The horizontal pass at the AVX levels: the SSE2 loop (wider registers did not make this
/// pass faster; four lanes per pixel keep one pixel per 128-bit register either way).
///
/// # Safety
/// None beyond the SSE2 baseline; `unsafe` only to fit the dispatch of [`kernel!`].
#[cfg(target_arch = "x86_64")]
unsafe fn horizontal_sse2_in_avx2(t: &Horizontal, v: &[f32], out: &mut [f32]) {
    horizontal_blocks::<8, 4>(t, v, out)
}

/// The vertical pass with the AVX2 multiply-accumulate kernel, then the same float conversion.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn vertical_avx2(t: &Terms, rows: &[&[u16]], out: &mut [f32]) {
    vertical_mac::<{ super::avx2::LANES }>(t, rows, out, |t, rows, i, p, q| super::avx2::mac_rows(t, rows, i, p, q))
}

/// The vertical pass with the AVX-512 multiply-accumulate kernel.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn vertical_avx512(t: &Terms, rows: &[&[u16]], out: &mut [f32]) {
    vertical_mac::<{ super::avx512::LANES }>(t, rows, out, |t, rows, i, p, q| super::avx512::mac_rows(t, rows, i, p, q))
}

/// Blocks of `L` lanes: `mac(terms, rows, i, pos, neg)` sums the positive and negative terms of
/// lanes `i..i + L`; the float conversion is that of [`vertical_scalar`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::type_complexity)]
fn vertical_mac<const L: usize>(
    t: &Terms,
    rows: &[&[u16]],
    out: &mut [f32],
    mac: impl Fn(&Terms, &[&[u16]], usize, &mut [u16; L], &mut [u16; L]),
) {
    let n = out.len();
    let mut i = 0;
    let (mut pos, mut neg) = ([0u16; L], [0u16; L]);
    while i + L <= n {
        mac(t, rows, i, &mut pos, &mut neg);
        for ((o, &p), &q) in out[i..i + L].iter_mut().zip(&pos).zip(&neg) {
            *o = (p as f32 - q as f32 + t.bias) * t.scale;
        }
        i += L;
    }
    if i < n {
        let tail: Vec<&[u16]> = rows.iter().map(|r| &r[i..n]).collect();
        vertical_scalar(t, &tail, &mut out[i..]);
    }
}

kernel! {
    /// The horizontal pass of one row: output pixel `x` is `Σ_k weights[x n + k] · v[starts[x] + k]`
    /// (four lanes per pixel, summed in order of `k`).
    pub fn horizontal(t: &Horizontal, v: &[f32], out: &mut [f32]);
    scalar = horizontal_scalar;
    sse2 = horizontal_blocks::<8, 4>;
    avx2 = horizontal_sse2_in_avx2;
    avx512 = horizontal_sse2_in_avx2;
}

/// Lane units of the 2:1 kernels: channel values shifted left by this (1/32 of a level).
const HALVE_SHIFT: u32 = 5;

/// A symmetric 2:1 kernel of six taps for opaque 8-bit frames (`geometry.resize.fast`): output
/// pixel `x` of a row (or output row `x`) reads input pixels `2x − 2 ..= 2x + 3`, the pair at
/// ½ input pixel from the output centre with `w[0]`, at 1½ with `w[1]`, at 2½ with `w[2]`. Lanes
/// are `i16` channel values in units of 1/32 level; each product is a signed 16×16→high-16
/// multiply (`pmulhw`), truncated; `bias` adds back the average loss of each pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Halve {
    /// Pair weights in units of 2^-16 (each below ½ in magnitude).
    pub w: [i16; 3],
    /// Added to the vertical and to the horizontal sums, in lane units.
    pub bias: [i16; 2],
}

impl Halve {
    /// The kernel with pair weights `w` (one side of a normalized kernel: they sum to ½), with
    /// the bias that keeps every flat level exact through both passes; `None` when a weight
    /// does not fit or no bias keeps flat areas flat.
    pub fn new(w: [f64; 3]) -> Option<Halve> {
        if w.iter().any(|v| !v.is_finite() || v.abs() > 0.5) {
            return None;
        }
        let q = w.map(|v| (v * 65536.0).round().clamp(-32767.0, 32767.0) as i16);
        // Each truncated product loses half a unit on average: three per pass.
        let candidates = [[1, 2], [2, 1], [1, 1], [2, 2], [0, 2], [2, 0], [0, 1], [1, 0], [0, 0], [1, 3], [3, 1]];
        candidates.into_iter().map(|bias| Halve { w: q, bias }).find(Halve::keeps_flat_levels)
    }

    /// Whether a flat area of every level keeps its level through both passes.
    fn keeps_flat_levels(&self) -> bool {
        (0..=255u8).all(|c| {
            let lane = (c as i16) << HALVE_SHIFT;
            let v = self.sum(lane, lane, lane, lane, lane, lane, self.bias[0]);
            round_lane(self.sum(v, v, v, v, v, v, self.bias[1])) == c
        })
    }

    /// One output lane from the six inputs `a..f` in order (`a` and `f` 2½ pixels out).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn sum(&self, a: i16, b: i16, c: i16, d: i16, e: i16, f: i16, bias: i16) -> i16 {
        let [w0, w1, w2] = self.w;
        mulhi_i16(c.wrapping_add(d), w0)
            .wrapping_add(mulhi_i16(b.wrapping_add(e), w1))
            .wrapping_add(mulhi_i16(a.wrapping_add(f), w2))
            .wrapping_add(bias)
    }
}

#[inline(always)]
fn mulhi_i16(a: i16, b: i16) -> i16 {
    ((a as i32 * b as i32) >> 16) as i16
}

/// A lane rounded to a channel value, clamped to 0..=255.
#[inline(always)]
fn round_lane(v: i16) -> u8 {
    (v.wrapping_add(1 << (HALVE_SHIFT - 1)) >> HALVE_SHIFT).clamp(0, 255) as u8
}

/// Lanes one row of `width` pixels takes in [`halve_widen`]: four per pixel, with two pixels
/// more on the left and three on the right.
pub fn halve_lanes(width: usize) -> usize {
    4 * (width + 5)
}

/// Lanes the output of [`halve_vertical`] for rows of `width` pixels takes (it also holds the
/// sums before they are split into even and odd pixels).
pub fn halve_vertical_lanes(width: usize) -> usize {
    2 * halve_lanes(width)
}

/// One input row as the lanes of [`halve_vertical`] and [`halve_horizontal`]: pixels
/// −2 ..= width + 2, four lanes each, the pixels outside the row repeating its edge pixels.
pub fn halve_widen(src: &[Rgba8], dst: &mut [i16]) {
    let n = src.len();
    let dst = &mut dst[..halve_lanes(n)];
    crate::fixed::widen(src, &mut dst[8..8 + 4 * n], |b| (b as i16) << HALVE_SHIFT);
    for (x, p) in [(0, 0), (1, 0), (n + 2, n - 1), (n + 3, n - 1), (n + 4, n - 1)] {
        let q = src[p];
        dst[4 * x..4 * x + 4].copy_from_slice(&[q.r, q.g, q.b, q.a].map(|c| (c as i16) << HALVE_SHIFT));
    }
}

/// Where [`halve_vertical`] puts lane `j` of its input rows (of `lanes` lanes): the even
/// pixels of the padded row (pixels −2, 0, 2, …) first, then the odd ones, `m + 2` each.
#[inline(always)]
fn deinterleaved(j: usize, lanes: usize) -> usize {
    let (pixel, l) = (j / 4, j % 4);
    let half = 4 * (lanes / 8);
    (pixel % 2) * half + 4 * (pixel / 2) + l
}

/// The reference of [`halve_vertical`], one lane at a time.
pub fn halve_vertical_scalar(k: &Halve, rows: &[&[i16]; 6], out: &mut [i16]) {
    let lanes = 8 * (rows[0].len() / 8);
    for j in 0..lanes {
        let r = |i: usize| rows[i][j];
        out[deinterleaved(j, lanes)] = k.sum(r(0), r(1), r(2), r(3), r(4), r(5), k.bias[0]);
    }
}

#[inline(always)]
fn halve_vertical_blocks(k: &Halve, rows: &[&[i16]; 6], out: &mut [i16]) {
    let half = 4 * (rows[0].len() / 8);
    // The sums in the order of the input lanes, in the upper part of `out`…
    let (e, rest) = out.split_at_mut(half);
    let (o, sums) = rest.split_at_mut(half);
    let n = sums.len().min(2 * half);
    let sums = &mut sums[..n];
    let [a, b, c, d, f, g] = rows.map(|r| &r[..n]);
    let [w0, w1, w2] = k.w;
    for (j, s) in sums.iter_mut().enumerate() {
        *s = mulhi_i16(c[j].wrapping_add(d[j]), w0)
            .wrapping_add(mulhi_i16(b[j].wrapping_add(f[j]), w1))
            .wrapping_add(mulhi_i16(a[j].wrapping_add(g[j]), w2))
            .wrapping_add(k.bias[0]);
    }
    // …then split into even and odd pixels.
    for (p, (de, d_o)) in sums.chunks_exact(8).zip(e.chunks_exact_mut(4).zip(o.chunks_exact_mut(4))) {
        de.copy_from_slice(&p[..4]);
        d_o.copy_from_slice(&p[4..]);
    }
}

/// The reference of [`halve_horizontal`], one lane at a time.
pub fn halve_horizontal_scalar(k: &Halve, v: &[i16], out: &mut [u8]) {
    let half = out.len() + 8;
    let (e, o) = v.split_at(half);
    for (i, d) in out.iter_mut().enumerate() {
        // Pixels 2x − 2 ..= 2x + 3 of output pixel x are E[x], O[x], …, E[x + 2], O[x + 2].
        *d = round_lane(k.sum(e[i], o[i], e[i + 4], o[i + 4], e[i + 8], o[i + 8], k.bias[1]));
    }
}

#[inline(always)]
fn halve_horizontal_blocks(k: &Halve, v: &[i16], out: &mut [u8]) {
    let (n, half) = (out.len(), out.len() + 8);
    let (e, o) = v.split_at(half);
    let (e0, o0, e1, o1, e2, o2) = (&e[..n], &o[..n], &e[4..4 + n], &o[4..4 + n], &e[8..8 + n], &o[8..8 + n]);
    let [w0, w1, w2] = k.w;
    for (i, d) in out.iter_mut().enumerate() {
        let s = mulhi_i16(e1[i].wrapping_add(o1[i]), w0)
            .wrapping_add(mulhi_i16(o0[i].wrapping_add(e2[i]), w1))
            .wrapping_add(mulhi_i16(e0[i].wrapping_add(o2[i]), w2))
            .wrapping_add(k.bias[1]);
        *d = (s.wrapping_add(1 << (HALVE_SHIFT - 1)) >> HALVE_SHIFT).clamp(0, 255) as u8;
    }
}

/// The vertical pass of [`halve_vertical_scalar`] for the pixel pairs `q0..` (one lane at a time).
#[cfg(target_arch = "x86_64")]
fn halve_vertical_pairs(k: &Halve, rows: &[&[i16]; 6], out: &mut [i16], q0: usize) {
    let lanes = 8 * (rows[0].len() / 8);
    for j in 8 * q0..lanes {
        let r = |i: usize| rows[i][j];
        out[deinterleaved(j, lanes)] = k.sum(r(0), r(1), r(2), r(3), r(4), r(5), k.bias[0]);
    }
}

/// The vertical pass with AVX2: 16 lanes (four pixels) per register, eight pixel pairs per
/// step, split into even and odd pixels with 64-bit unpacks and a lane permute.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn halve_vertical_avx2(k: &Halve, rows: &[&[i16]; 6], out: &mut [i16]) {
    use std::arch::x86_64::*;
    let half = 4 * (rows[0].len() / 8);
    let pairs = half / 4;
    let (e, rest) = out.split_at_mut(half);
    let o = &mut rest[..half];
    let [w0, w1, w2] = k.w.map(|w| _mm256_set1_epi16(w));
    let bias = _mm256_set1_epi16(k.bias[0]);
    let steps = pairs / 4;
    // Every step reads lanes 32 s .. 32 s + 32 of each row and writes 16 of `e` and `o`.
    let r: [*const i16; 6] = rows.map(|r| r[..32 * steps].as_ptr());
    let (ep, op) = (e[..16 * steps].as_mut_ptr(), o[..16 * steps].as_mut_ptr());
    for st in 0..steps {
        // SAFETY: lanes 32 st .. 32 st + 32 of each row and 16 st .. 16 st + 16 of `e` and `o`
        // lie within the slices taken above; the loads and stores are unaligned.
        unsafe {
            let ld = |k: usize, off: usize| _mm256_loadu_si256(r[k].add(32 * st + off) as *const __m256i);
            let sum = |off: usize| {
                let t0 = _mm256_mulhi_epi16(_mm256_add_epi16(ld(2, off), ld(3, off)), w0);
                let t1 = _mm256_mulhi_epi16(_mm256_add_epi16(ld(1, off), ld(4, off)), w1);
                let t2 = _mm256_mulhi_epi16(_mm256_add_epi16(ld(0, off), ld(5, off)), w2);
                _mm256_add_epi16(_mm256_add_epi16(t0, t1), _mm256_add_epi16(t2, bias))
            };
            // Pixels 8 st … 8 st + 7 of the padded row: a = (E, O, E, O), b the next four.
            let (a, b) = (sum(0), sum(16));
            let even = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_unpacklo_epi64(a, b));
            let odd = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_unpackhi_epi64(a, b));
            _mm256_storeu_si256(ep.add(16 * st) as *mut __m256i, even);
            _mm256_storeu_si256(op.add(16 * st) as *mut __m256i, odd);
        }
    }
    let q = 4 * steps;
    halve_vertical_pairs(k, rows, out, q);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn halve_horizontal_avx2(k: &Halve, v: &[i16], out: &mut [u8]) {
    halve_horizontal_blocks(k, v, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn halve_horizontal_avx512(k: &Halve, v: &[i16], out: &mut [u8]) {
    halve_horizontal_blocks(k, v, out)
}

kernel! {
    /// The vertical pass of a 2:1 kernel: each lane from the same lane of the six input rows
    /// `2y − 2 ..= 2y + 3` (rows of [`halve_widen`] lanes), the pixels written even ones first,
    /// then odd ones (`m + 2` each, m = ⌈width / 2⌉), as [`halve_horizontal`] reads them; `out`
    /// has [`halve_vertical_lanes`] lanes.
    pub fn halve_vertical(k: &Halve, rows: &[&[i16]; 6], out: &mut [i16]);
    scalar = halve_vertical_scalar;
    sse2 = halve_vertical_blocks;
    avx2 = halve_vertical_avx2;
    // AVX-512 F implies AVX2 and FMA.
    avx512 = halve_vertical_avx2;
}

kernel! {
    /// The horizontal pass of a 2:1 kernel on one row from [`halve_vertical`] (`v`): the channel
    /// bytes of the `out.len() / 4` output pixels, rounded and clamped.
    pub fn halve_horizontal(k: &Halve, v: &[i16], out: &mut [u8]);
    scalar = halve_horizontal_scalar;
    sse2 = halve_horizontal_blocks;
    avx2 = halve_horizontal_avx2;
    avx512 = halve_horizontal_avx512;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{Level, Rng};

    fn unit(rng: &mut Rng) -> f32 {
        (rng.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    #[test]
    fn every_level_gives_the_bits_of_the_scalar_passes() {
        let mut rng = Rng::new(11);
        let mut pixels: Vec<usize> = vec![1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 129];
        pixels.extend((0..10).map(|_| 1 + rng.below(600)));
        for w in pixels {
            let n = 4 * w;
            // Vertical: random terms over up to 13 rows.
            let nrows = 1 + rng.below(13);
            let rows: Vec<Vec<u16>> = (0..nrows).map(|_| (0..n).map(|_| (rng.next() as u16) >> 2).collect()).collect();
            let refs: Vec<&[u16]> = rows.iter().map(|r| r.as_slice()).collect();
            let mut t = Terms { bias: unit(&mut rng) * 4.0, scale: 1.0 / 128.0, ..Terms::default() };
            for _ in 0..1 + rng.below(6) {
                let (a, b, wk) = (rng.below(nrows), rng.below(nrows), rng.next() as u16);
                match rng.below(4) {
                    0 => t.pos.push((a, wk)),
                    1 => t.neg.push((a, wk)),
                    2 => t.pos2.push((a, b, wk)),
                    _ => t.neg2.push((a, b, wk)),
                }
            }
            let mut want = vec![0f32; n];
            vertical_scalar(&t, &refs, &mut want);
            // Horizontal: every tap count the kernel specializes, and one it does not.
            let taps = [2, 3, 4, 6, 7, 8, 12, 13, 5][rng.below(9)].min(w);
            let out_w = 1 + rng.below(2 * w);
            let h = Horizontal {
                n: taps,
                starts: (0..out_w).map(|_| rng.below(w - taps + 1)).collect(),
                weights: (0..out_w * taps).map(|_| [unit(&mut rng) - 0.2; 4]).collect(),
            };
            let v: Vec<f32> = (0..n).map(|_| unit(&mut rng) * 255.0).collect();
            let mut want_h = vec![0f32; 4 * out_w];
            horizontal_scalar(&h, &v, &mut want_h);
            for level in Level::available_levels() {
                let mut got = vec![-1f32; n];
                vertical(level, &t, &refs, &mut got);
                assert!(got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "vertical, {w} px, {level}");
                let mut got = vec![-1f32; 4 * out_w];
                horizontal(level, &h, &v, &mut got);
                let same = got.iter().zip(&want_h).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "horizontal, {w} → {out_w} px, {taps} taps, {level}");
            }
        }
    }

    #[test]
    fn every_level_gives_the_bits_of_the_scalar_halving_passes() {
        let mut rng = Rng::new(5);
        let lanczos = Halve::new([0.4332, 0.1315, -0.0647]).unwrap();
        let cubic = Halve::new([0.4237, 0.1107, -0.0344]).unwrap();
        let mut widths: Vec<usize> = vec![1, 2, 3, 4, 5, 7, 9, 16, 17, 31, 33, 63, 65, 129];
        widths.extend((0..10).map(|_| 1 + rng.below(700)));
        for (i, w) in widths.into_iter().enumerate() {
            let k = if i % 2 == 0 { lanczos } else { cubic };
            let rows: Vec<Vec<Rgba8>> = (0..6)
                .map(|_| {
                    (0..w)
                        .map(|_| {
                            let v = rng.next();
                            Rgba8::new(v as u8, (v >> 8) as u8, (v >> 16) as u8, (v >> 24) as u8)
                        })
                        .collect()
                })
                .collect();
            let lanes: Vec<Vec<i16>> = rows
                .iter()
                .map(|r| {
                    let mut l = vec![0i16; halve_lanes(w)];
                    halve_widen(r, &mut l);
                    l
                })
                .collect();
            let refs: [&[i16]; 6] = std::array::from_fn(|r| lanes[r].as_slice());
            let mut v = vec![0i16; halve_vertical_lanes(w)];
            halve_vertical_scalar(&k, &refs, &mut v);
            let mut want = vec![0u8; 4 * w.div_ceil(2)];
            halve_horizontal_scalar(&k, &v, &mut want);
            for level in Level::available_levels() {
                let mut got_v = vec![-1i16; halve_vertical_lanes(w)];
                halve_vertical(level, &k, &refs, &mut got_v);
                // The lanes written: the even and the odd pixels of the padded row.
                let written = 8 * (w.div_ceil(2) + 2);
                assert_eq!(got_v[..written], v[..written], "halving vertical, {w} px, {level}");
                let mut got = vec![7u8; 4 * w.div_ceil(2)];
                halve_horizontal(level, &k, &v, &mut got);
                assert_eq!(got, want, "halving horizontal, {w} px, {level}");
            }
        }
    }

    #[test]
    fn halving_repeats_edge_pixels_and_keeps_flat_levels() {
        let row: Vec<Rgba8> = (1..6).map(|i| Rgba8::new(10 * i, 1, 2, 255)).collect();
        let mut l = vec![0i16; halve_lanes(5)];
        halve_widen(&row, &mut l);
        // Pixels −2 ..= 7, the edges repeated.
        let red: Vec<i16> = l.chunks_exact(4).map(|p| p[0] >> HALVE_SHIFT).collect();
        assert_eq!(red, [10, 10, 10, 20, 30, 40, 50, 50, 50, 50]);
        // The box kernel is the rounded mean of the 2×2 block; flat areas keep their level.
        let b = Halve::new([0.5, 0.0, 0.0]).unwrap();
        for (c, d) in [(0u8, 0u8), (255, 255), (100, 101), (7, 200)] {
            let lanes = |x: u8| {
                let mut l = vec![0i16; halve_lanes(2)];
                halve_widen(&[Rgba8::new(x, x, x, x), Rgba8::new(x, x, x, x)], &mut l);
                l
            };
            let (p, q) = (lanes(c), lanes(d));
            let mut v = vec![0i16; halve_vertical_lanes(2)];
            halve_vertical_scalar(&b, &[&p, &p, &p, &q, &q, &q], &mut v);
            let mut out = [0u8; 4];
            halve_horizontal_scalar(&b, &v, &mut out);
            let mean = ((c as u32 + d as u32) as f64 / 2.0).round() as u8;
            assert!(out.iter().all(|&o| o.abs_diff(mean) <= (c != d) as u8), "{c}, {d}: {out:?} vs {mean}");
        }
    }

    #[test]
    fn the_reference_sums_positive_minus_negative_terms() {
        let a = [1u16 << 14; 4];
        let b = [1u16 << 13; 4];
        let t = Terms { pos: vec![(0, 0x8000)], neg2: vec![(0, 1, 0x4000)], bias: 2.0, scale: 0.5, ..Terms::default() };
        let mut out = [0f32; 4];
        vertical_scalar(&t, &[&a, &b], &mut out);
        // pos = 2^13, neg = (2^14 + 2^13) / 4 = 6144: (8192 − 6144 + 2) / 2.
        assert_eq!(out, [1025.0; 4]);
        let h = Horizontal { n: 2, starts: vec![1], weights: vec![[0.5; 4], [0.25; 4]] };
        let v = [0.0, 0.0, 0.0, 0.0, 4.0, 8.0, 12.0, 16.0, 8.0, 8.0, 8.0, 8.0];
        let mut out = [0f32; 4];
        horizontal_scalar(&h, &v, &mut out);
        assert_eq!(out, [4.0, 6.0, 8.0, 10.0]);
    }
}
