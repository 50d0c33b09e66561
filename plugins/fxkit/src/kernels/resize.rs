//! The two passes of resampling opaque 8-bit frames (`geometry.resize`): the vertical pass in
//! 16-bit fixed point with positive and negative weights in separate accumulators, the
//! horizontal pass in `f32` lanes with a fixed tap count.

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
