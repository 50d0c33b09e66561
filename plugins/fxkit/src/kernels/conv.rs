//! Separable convolution in 16-bit fixed point (the passes of [`crate::fixed`]): each tap is one
//! 16×16→high-16 multiply and one wrapping add, on lanes in units of 1/256 level.

use super::kernel;

#[inline(always)]
fn mulhi(a: u16, b: u16) -> u16 {
    ((a as u32 * b as u32) >> 16) as u16
}

/// The reference of [`vertical`]: `out[i] = bias + Σ_k mulhi(rows[k][i], w[k])`, lane by lane.
pub fn vertical_scalar(rows: &[&[u16]], w: &[u16], bias: u16, out: &mut [u16]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = rows.iter().zip(w).fold(bias, |a, (row, &wk)| a.wrapping_add(mulhi(row[i], wk)));
    }
}

/// [`vertical_scalar`] on blocks of `V × R` lanes whose accumulators stay in registers.
#[inline(always)]
fn vertical_blocks<const V: usize, const R: usize>(rows: &[&[u16]], w: &[u16], bias: u16, out: &mut [u16]) {
    let n = out.len();
    let lanes = V * R;
    let mut i = 0;
    while i + lanes <= n {
        let mut acc = [[bias; V]; R];
        for (row, &wk) in rows.iter().zip(w) {
            let src = &row[i..i + lanes];
            for (a, s) in acc.iter_mut().zip(src.chunks_exact(V)) {
                for l in 0..V {
                    a[l] = a[l].wrapping_add(mulhi(s[l], wk));
                }
            }
        }
        for (o, a) in out[i..i + lanes].chunks_exact_mut(V).zip(&acc) {
            o.copy_from_slice(a);
        }
        i += lanes;
    }
    if i < n {
        let tail: Vec<&[u16]> = rows.iter().map(|r| &r[i..n]).collect();
        vertical_scalar(&tail, w, bias, &mut out[i..]);
    }
}

kernel! {
    /// The vertical pass: `out[i] = bias + Σ_k mulhi(rows[k][i], w[k])` (wrapping), every row at
    /// least `out.len()` lanes long.
    pub fn vertical(rows: &[&[u16]], w: &[u16], bias: u16, out: &mut [u16]);
    scalar = vertical_scalar;
    sse2 = vertical_blocks::<8, 4>;
    avx2 = super::avx2::vertical;
    avx512 = super::avx512::vertical;
}

/// The reference of [`horizontal`]: `out[i] = bias + Σ_t mulhi(ext[i + 4t], w[t])`.
pub fn horizontal_scalar(ext: &[u16], w: &[u16], bias: u16, out: &mut [u16]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = w.iter().enumerate().fold(bias, |a, (t, &wt)| a.wrapping_add(mulhi(ext[i + 4 * t], wt)));
    }
}

#[inline(always)]
fn horizontal_blocks<const V: usize, const R: usize>(ext: &[u16], w: &[u16], bias: u16, out: &mut [u16]) {
    let n = out.len();
    let lanes = V * R;
    let mut i = 0;
    while i + lanes <= n {
        let mut acc = [[bias; V]; R];
        for (t, &wt) in w.iter().enumerate() {
            let src = &ext[i + 4 * t..i + 4 * t + lanes];
            for (a, s) in acc.iter_mut().zip(src.chunks_exact(V)) {
                for l in 0..V {
                    a[l] = a[l].wrapping_add(mulhi(s[l], wt));
                }
            }
        }
        for (o, a) in out[i..i + lanes].chunks_exact_mut(V).zip(&acc) {
            o.copy_from_slice(a);
        }
        i += lanes;
    }
    if i < n {
        horizontal_scalar(&ext[i..], w, bias, &mut out[i..]);
    }
}

kernel! {
    /// The horizontal pass over interleaved pixels (four lanes each):
    /// `out[i] = bias + Σ_t mulhi(ext[i + 4t], w[t])` (wrapping), with
    /// `ext.len() ≥ out.len() + 4 (w.len() - 1)`.
    pub fn horizontal(ext: &[u16], w: &[u16], bias: u16, out: &mut [u16]);
    scalar = horizontal_scalar;
    sse2 = horizontal_blocks::<8, 4>;
    avx2 = super::avx2::horizontal;
    avx512 = super::avx512::horizontal;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{Level, Rng};

    fn random_case(rng: &mut Rng, n: usize) -> (Vec<Vec<u16>>, Vec<u16>, u16) {
        let taps = 1 + 2 * rng.below(12);
        let rows = (0..taps).map(|_| (0..n + 4 * taps).map(|_| rng.next() as u16).collect()).collect();
        let w = (0..taps).map(|_| rng.next() as u16).collect();
        (rows, w, rng.below(64) as u16)
    }

    /// Lane counts: 1×1 (4 lanes), odd widths, widths around the vector lengths of every level.
    fn widths(rng: &mut Rng) -> Vec<usize> {
        let mut px: Vec<usize> = vec![1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 127, 129];
        px.extend((0..12).map(|_| 1 + rng.below(700)));
        px.into_iter().map(|p| 4 * p).collect()
    }

    #[test]
    fn every_level_gives_the_bits_of_the_scalar_passes() {
        let mut rng = Rng::new(3);
        for n in widths(&mut rng) {
            let (rows, w, bias) = random_case(&mut rng, n);
            let refs: Vec<&[u16]> = rows.iter().map(|r| r.as_slice()).collect();
            let mut want_v = vec![0u16; n];
            vertical_scalar(&refs, &w, bias, &mut want_v);
            let mut want_h = vec![0u16; n];
            horizontal_scalar(&rows[0], &w, bias, &mut want_h);
            for level in Level::available_levels() {
                let mut got = vec![1u16; n];
                vertical(level, &refs, &w, bias, &mut got);
                assert_eq!(got, want_v, "vertical, {n} lanes, {} taps, {level}", w.len());
                let mut got = vec![1u16; n];
                horizontal(level, &rows[0], &w, bias, &mut got);
                assert_eq!(got, want_h, "horizontal, {n} lanes, {} taps, {level}", w.len());
            }
        }
    }

    #[test]
    fn the_reference_is_the_fixed_point_sum() {
        // 0x8000 × 0x8000 >> 16 = 0x4000; wrapping past 2^16.
        let a = [0x8000u16, 0xffff];
        let b = [0x8000u16, 0xffff];
        let mut out = [0u16; 2];
        vertical_scalar(&[&a, &b], &[0x8000, 0xffff], 3, &mut out);
        assert_eq!(out, [3 + 0x4000 + 0x7fff, 3u16.wrapping_add(0x7fff).wrapping_add(0xfffe)]);
        let ext = [1000u16, 0, 0, 0, 2000, 0, 0, 0];
        let mut out = [0u16; 1];
        horizontal_scalar(&ext, &[0x8000, 0x4000], 0, &mut out);
        assert_eq!(out, [500 + 500]);
    }
}
