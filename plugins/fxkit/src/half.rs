//! A Gaussian blur of opaque 8-bit frames at half resolution, in 16-bit fixed point: each 2×2
//! block is averaged into one pixel, the quarter-size image is blurred with the narrower Gaussian
//! that leaves the same total spread, and the result is interpolated back bilinearly.
//!
//! The three stages add their variances (per axis, in full-resolution pixels): the 2×2 mean
//! 1/4, the half-resolution Gaussian `4σ_h²`, the bilinear interpolation from a grid of spacing 2
//! (a triangle of half-width 2) 2/3. So `σ_h = √(σ² − 1/4 − 2/3) / 2`. On a natural photo the
//! result is 48 dB (σ = 1.5) to 56 dB (σ = 3) and more from the exact Gaussian (RGB PSNR).
//!
//! Every value stays in the units of [`crate::fixed`] (1/256 of a level in `u16` lanes): the 2×2
//! sums are exact, the blur passes are [`crate::kernels::conv`] at the dispatched level, and the
//! interpolation weights ¾ and ¼ are two rounding averages (`pavgw`) per axis. Each output row
//! depends only on the input, so bands give the pixels of a whole-frame render.

use fxchain_plugin_api::prelude::*;

use crate::conv::gaussian_kernel;
use crate::fixed::{bytes4, FixedKernel, LANES};
use crate::kernels;

/// The smallest σ the half-resolution path can give: the 2×2 mean and the interpolation alone
/// spread by √(1/4 + 2/3) ≈ 0.96 pixels.
pub const MIN_SIGMA: f32 = 1.0;

/// The plan of a half-resolution Gaussian: the kernel of the quarter-size blur (none where that
/// blur would be less than a fraction of a half pixel).
#[derive(Clone, Debug)]
pub struct HalfGaussian {
    kernel: Option<FixedKernel>,
}

impl HalfGaussian {
    /// The plan for `sigma` (full-resolution pixels), or `None` below [`MIN_SIGMA`].
    pub fn new(sigma: f32) -> Option<Self> {
        if sigma.is_nan() || sigma < MIN_SIGMA || sigma.is_infinite() {
            return None;
        }
        let sh = ((sigma * sigma - 0.25 - 2.0 / 3.0).max(0.0)).sqrt() / 2.0;
        // A kernel nearly one tap wide has no fixed-point form: the quarter-size image is used
        // as it is.
        let kernel = if sh > 0.0 { FixedKernel::new(&gaussian_kernel(sh)) } else { None };
        Some(HalfGaussian { kernel })
    }

    /// Rows and columns read beyond an output pixel: the interpolation reaches one half pixel
    /// on, the kernel radius more, each two full pixels, and a 2×2 block one more.
    pub fn radius(&self) -> u32 {
        2 * (self.kernel_radius() as u32 + 1) + 2
    }

    fn kernel_radius(&self) -> usize {
        self.kernel.as_ref().map_or(0, FixedKernel::radius)
    }

    /// Blurs the opaque 8-bit `input` into the rows of `out`, reading outside the image with
    /// `border` (not [`Border::Transparent`]). `finish` is called as by
    /// [`crate::fixed::convolve_rgba8_rows`]: `finish(input_row, output_row, line)` with the
    /// row's blurred values in units of 1/256 level, padded to whole blocks. Returns `false`,
    /// doing nothing, when the frames are not `Rgba8` or the border is transparent.
    pub fn render_rgba8_rows<P: Pixel>(
        &self,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
        border: Border,
        mut finish: impl FnMut(&[Rgba8], &mut [Rgba8], &[u16]),
    ) -> bool {
        if P::as_rgba8(&[]).is_none() || border == Border::Transparent {
            return false;
        }
        let (w, h) = (input.width() as usize, input.height());
        let (hw, hh) = (w.div_ceil(2), h.div_ceil(2));
        let rows = out.rows();
        let avail = input.rows();
        let r = self.kernel_radius();
        let taps = 2 * r + 1;
        // Output row y interpolates half rows y/2 (weight ¾) and the one on the side of y.
        let pair = |y: u32| {
            let near = (y / 2) as i64;
            // Half row −1 or hh is blurred from rows read through the border, as any other.
            (near, if y.is_multiple_of(2) { near - 1 } else { near + 1 })
        };
        let lo = pair(rows.start).1.min(pair(rows.start).0);
        let full_row = |fy: u32| {
            let fy = fy.min(h - 1).clamp(avail.start, avail.end.saturating_sub(1));
            P::as_rgba8(input.row(fy)).expect("8-bit frame")
        };
        // Rings, filled in order as the output rows need them: the 2×2 sums of the last `taps`
        // half rows (through the border, at half resolution), and the last three blurred half
        // rows interpolated across to full width (output row y reads two of them).
        let mut summed = vec![vec![0u16; 4 * hw]; taps];
        let mut next_summed = lo - r as i64;
        let mut across = [vec![0u16; 4 * w + LANES], vec![0u16; 4 * w + LANES], vec![0u16; 4 * w + LANES]];
        let mut next_across = lo;
        let level = kernels::level();
        // A half row with `rp` pixels of border on each side: the horizontal pass gives half
        // pixels −1..=hw, the one of context on each side that the interpolation reads.
        let rp = r + 1;
        let mut ext = vec![0u16; 4 * (hw + 2 * rp) + LANES];
        let mut blurred = vec![0u16; 4 * (hw + 2)];
        let left: Vec<usize> =
            (0..rp).map(|i| border.index(i as i64 - rp as i64, hw as u32).expect("not transparent")).collect();
        let right: Vec<usize> =
            (0..rp).map(|i| border.index((hw + i) as i64, hw as u32).expect("not transparent")).collect();
        let pad = |ext: &mut [u16]| {
            for (n, (&a, &b)) in left.iter().zip(&right).enumerate() {
                ext.copy_within(4 * (rp + a)..4 * (rp + a) + 4, 4 * n);
                ext.copy_within(4 * (rp + b)..4 * (rp + b) + 4, 4 * (rp + hw + n));
            }
        };
        let mut line = vec![0u16; 4 * w + LANES];
        for (y, row) in out.rows_mut() {
            let (near, far) = pair(y);
            while next_across <= near.max(far) {
                let j = next_across;
                while next_summed <= j + r as i64 {
                    let sj = border.index(next_summed, hh).expect("not transparent") as u32;
                    let slot = &mut summed[next_summed.rem_euclid(taps as i64) as usize];
                    sum_2x2(level, full_row(2 * sj), full_row(2 * sj + 1), slot);
                    next_summed += 1;
                }
                let full = &mut across[j.rem_euclid(3) as usize][..4 * w];
                let centre = &mut ext[4 * rp..4 * (rp + hw)];
                if let Some(k) = &self.kernel {
                    let window: Vec<&[u16]> = (j - r as i64..=j + r as i64)
                        .map(|t| summed[t.rem_euclid(taps as i64) as usize].as_slice())
                        .collect();
                    kernels::conv::vertical(level, &window, &k.weights, k.bias, centre);
                    pad(&mut ext);
                    kernels::conv::horizontal(level, &ext, &k.weights, k.bias, &mut blurred);
                    upsample_row(level, &blurred, full);
                } else {
                    centre.copy_from_slice(&summed[j.rem_euclid(taps as i64) as usize]);
                    pad(&mut ext);
                    upsample_row(level, &ext[..4 * (hw + 2)], full);
                }
                next_across += 1;
            }
            // ¾ of the nearer interpolated half row, ¼ of the other.
            let (n, f) = (&across[near.rem_euclid(3) as usize], &across[far.rem_euclid(3) as usize]);
            lerp_quarter(level, n, f, &mut line);
            finish(full_row(y), P::as_rgba8_mut(row).expect("8-bit frame"), &line);
        }
        true
    }
}

/// Rounding average, as `pavgw`.
#[inline(always)]
fn avg(a: u16, b: u16) -> u16 {
    ((a as u32 + b as u32 + 1) >> 1) as u16
}

/// `¾·near + ¼·far` per lane, as two rounding averages (at most ¾ unit above the exact value).
#[inline(always)]
fn quarter(near: u16, far: u16) -> u16 {
    avg(near, avg(near, far))
}

/// Half pixels of two full rows: the sum of each 2×2 block, times 64 (units of 1/256 level);
/// an odd last column counts twice.
#[inline(always)]
fn sum_2x2_body(top: &[Rgba8], bottom: &[Rgba8], out: &mut [u16]) {
    let (t4, b4) = (top.chunks_exact(4), bottom.chunks_exact(4));
    let (whole, rest) = out.split_at_mut(8 * (top.len() / 4));
    for ((o, t), b) in whole.chunks_exact_mut(8).zip(t4.clone()).zip(b4.clone()) {
        let (t, b) = (bytes4(t.try_into().expect("four pixels")), bytes4(b.try_into().expect("four pixels")));
        for (k, v) in o.iter_mut().enumerate() {
            // Lane k: half pixel k / 4, channel k % 4, from full pixels 2 (k / 4) and the next.
            let i = 8 * (k / 4) + k % 4;
            *v = (t[i] as u16 + t[i + 4] as u16 + b[i] as u16 + b[i + 4] as u16) << 6;
        }
    }
    // The last one to three pixels.
    let (t, b) = (t4.remainder(), b4.remainder());
    for (k, o) in rest.chunks_exact_mut(4).enumerate() {
        let (p, q) = (2 * k, (2 * k + 1).min(t.len() - 1));
        let ch = |x: Rgba8| [x.r as u16, x.g as u16, x.b as u16, x.a as u16];
        let (a, b2, c, d) = (ch(t[p]), ch(t[q]), ch(b[p]), ch(b[q]));
        for (i, v) in o.iter_mut().enumerate() {
            *v = (a[i] + b2[i] + c[i] + d[i]) << 6;
        }
    }
}

/// Bilinear interpolation of a half-resolution row to full width: `half` holds half pixels
/// −1..=hw (`4·(hw + 2)` lanes), `out` the `4·w` lanes of the full row (`w` = 2·hw or
/// 2·hw − 1). Full pixel `2i` is ¾ of half pixel `i` and ¼ of `i − 1`, pixel `2i + 1` ¾ of `i`
/// and ¼ of `i + 1`.
#[inline(always)]
fn upsample_row_body(half: &[u16], out: &mut [u16]) {
    let hw = half.len() / 4 - 2;
    let (prev, cur, next) = (&half[..4 * hw], &half[4..4 * hw + 4], &half[8..4 * hw + 8]);
    // The even and the odd pixels as whole-row lane operations (these vectorize), then
    // interleaved pixel by pixel.
    let mut even = [0u16; 256];
    let mut odd = [0u16; 256];
    let (mut done, len) = (0, out.len());
    for ((p, c), n) in prev.chunks(256).zip(cur.chunks(256)).zip(next.chunks(256)) {
        let m = c.len();
        lerp_quarter_body(c, p, &mut even[..m]);
        lerp_quarter_body(c, n, &mut odd[..m]);
        let dst = &mut out[2 * done..(2 * (done + m)).min(len)];
        let mut pairs = dst.chunks_exact_mut(8);
        for ((o, e), d) in (&mut pairs).zip(even[..m].chunks_exact(4)).zip(odd[..m].chunks_exact(4)) {
            o[..4].copy_from_slice(e);
            o[4..].copy_from_slice(d);
        }
        // An odd width: the last pixel is an even one.
        let rest = pairs.into_remainder();
        let k = rest.len();
        rest.copy_from_slice(&even[m - 4..m - 4 + k]);
        done += m;
    }
}

/// `out = ¾·near + ¼·far`, lane by lane.
#[inline(always)]
fn lerp_quarter_body(near: &[u16], far: &[u16], out: &mut [u16]) {
    for ((o, &n), &f) in out.iter_mut().zip(near).zip(far) {
        *o = quarter(n, f);
    }
}

/// The row loops compiled for one level: the bodies above as plain functions for the baseline,
/// or as `#[target_feature]` functions (integer lanes: the same values at every level).
macro_rules! half_level {
    ($modname:ident $(, $feature:literal)?) => {
        mod $modname {
            use fxchain_plugin_api::Rgba8;
            $(#[target_feature(enable = $feature)])?
            pub fn sum_2x2(top: &[Rgba8], bottom: &[Rgba8], out: &mut [u16]) {
                super::sum_2x2_body(top, bottom, out)
            }
            $(#[target_feature(enable = $feature)])?
            pub fn upsample_row(half: &[u16], out: &mut [u16]) {
                super::upsample_row_body(half, out)
            }
            $(#[target_feature(enable = $feature)])?
            pub fn lerp_quarter(near: &[u16], far: &[u16], out: &mut [u16]) {
                super::lerp_quarter_body(near, far, out)
            }
        }
    };
}

half_level!(base);
#[cfg(target_arch = "x86_64")]
half_level!(avx2, "avx2,fma");
#[cfg(target_arch = "x86_64")]
half_level!(avx512, "avx512f,avx512bw,avx512vl");

kernels::kernel! {
    /// Half pixels of two full rows: the sum of each 2×2 block, times 64 (units of 1/256 level);
    /// an odd last column counts twice.
    pub fn sum_2x2(top: &[Rgba8], bottom: &[Rgba8], out: &mut [u16]);
    scalar = base::sum_2x2; sse2 = base::sum_2x2; avx2 = avx2::sum_2x2; avx512 = avx512::sum_2x2;
}

kernels::kernel! {
    /// Bilinear interpolation of a half-resolution row to full width (see `upsample_row_body`).
    pub fn upsample_row(half: &[u16], out: &mut [u16]);
    scalar = base::upsample_row; sse2 = base::upsample_row; avx2 = avx2::upsample_row; avx512 = avx512::upsample_row;
}

kernels::kernel! {
    /// `out = ¾·near + ¼·far`, lane by lane.
    pub fn lerp_quarter(near: &[u16], far: &[u16], out: &mut [u16]);
    scalar = base::lerp_quarter; sse2 = base::lerp_quarter; avx2 = avx2::lerp_quarter; avx512 = avx512::lerp_quarter;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::{convolve_rgba8_rows, store_row};

    /// Stores each row of the blur as it is.
    fn store(_: &[Rgba8], dst: &mut [Rgba8], line: &[u16]) {
        store_row(kernels::level(), line, dst)
    }

    fn photo_like(w: u32, h: u32) -> Vec<Rgba8> {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        (0..w * h)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let (x, y) = (i % w, i / w);
                let n = (s >> 61) as u8;
                let edge = if (x as i64 - 20).pow(2) + (y as i64 - 15).pow(2) < 100 { 200 } else { 40 };
                Rgba8::new((x * 3) as u8 + n, edge + n, (y * 5) as u8, 255)
            })
            .collect()
    }

    fn render(
        px: &[Rgba8],
        w: u32,
        h: u32,
        rows: Rows,
        f: impl Fn(&Image<'_, Rgba8>, &mut Band<'_, Rgba8>),
    ) -> Vec<Rgba8> {
        let input = Image::new(px, w, h, w as usize).unwrap();
        let mut out = vec![Rgba8::default(); (w * rows.len()) as usize];
        let mut band = Band::new(&mut out, Size::new(w, h), w as usize, rows).unwrap();
        f(&input, &mut band);
        out
    }

    fn rgb_psnr(a: &[Rgba8], b: &[Rgba8]) -> f64 {
        let se: f64 = a
            .iter()
            .zip(b)
            .map(|(p, q)| {
                [(p.r, q.r), (p.g, q.g), (p.b, q.b)].iter().map(|&(x, y)| (x as f64 - y as f64).powi(2)).sum::<f64>()
            })
            .sum();
        10.0 * (255.0f64.powi(2) * 3.0 * a.len() as f64 / se).log10()
    }

    #[test]
    fn flat_areas_keep_their_level() {
        let g = HalfGaussian::new(3.0).unwrap();
        for c in [0u8, 1, 77, 128, 254, 255] {
            let px = vec![Rgba8::new(c, 255 - c, c / 2, 255); 13 * 9];
            let out =
                render(&px, 13, 9, Rows::new(0, 9), |i, b| assert!(g.render_rgba8_rows(i, b, Border::Clamp, store)));
            assert_eq!(out, px, "level {c}");
        }
    }

    #[test]
    fn close_to_the_exact_gaussian_and_the_same_in_any_band() {
        // Odd sizes: the last half pixel repeats the last column, so a wrapped border joins the
        // two edges half a pixel off (only even sizes are checked with it).
        let all = [Border::Clamp, Border::Mirror, Border::Wrap];
        for (w, h, borders) in [(66, 40, &all[..]), (67, 41, &all[..2])] {
            let px = photo_like(w, h);
            for sigma in [1.5f32, 2.0, 3.0, 6.0] {
                for &border in borders {
                    let g = HalfGaussian::new(sigma).unwrap();
                    let whole =
                        render(&px, w, h, Rows::new(0, h), |i, b| assert!(g.render_rgba8_rows(i, b, border, store)));
                    let k = FixedKernel::new(&gaussian_kernel(sigma)).unwrap();
                    let exact = render(&px, w, h, Rows::new(0, h), |i, b| {
                        assert!(convolve_rgba8_rows(i, b, &k, &k, border, store))
                    });
                    let db = rgb_psnr(&whole, &exact);
                    assert!(db > 40.0, "σ={sigma} {border:?} {w}×{h}: {db:.1} dB");
                    for (a, b) in [(0, 1), (1, 2), (5, 17), (17, h - 1), (h - 1, h)] {
                        let band =
                            render(
                                &px,
                                w,
                                h,
                                Rows::new(a, b),
                                |i, o| assert!(g.render_rgba8_rows(i, o, border, store)),
                            );
                        assert_eq!(
                            band,
                            whole[(a * w) as usize..(b * w) as usize],
                            "σ={sigma} {border:?} rows {a}..{b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tiny_and_odd_frames() {
        let g = HalfGaussian::new(2.0).unwrap();
        for (w, h) in [(1, 1), (1, 5), (2, 1), (3, 3), (9, 2)] {
            let px = photo_like(w, h);
            let out =
                render(&px, w, h, Rows::new(0, h), |i, b| assert!(g.render_rgba8_rows(i, b, Border::Mirror, store)));
            assert_eq!(out.len(), px.len());
            if w == 1 && h == 1 {
                assert_eq!(out, px);
            }
        }
        assert!(HalfGaussian::new(0.9).is_none());
        assert!(HalfGaussian::new(1.0).is_some_and(|g| g.kernel.is_none()));
        assert!(HalfGaussian::new(f32::NAN).is_none());
    }

    #[test]
    fn interpolation_weights() {
        assert_eq!(quarter(1000, 0), 750);
        assert_eq!(quarter(0, 1000), 250);
        // Half pixels −1, 0, 1, 2 (the first and last are the border's).
        let half = [0u16, 0, 0, 0, 400, 0, 0, 0, 800, 0, 0, 0, 1600, 0, 0, 0];
        for level in kernels::Level::available_levels() {
            let mut out = [0u16; 16];
            upsample_row(level, &half, &mut out);
            assert_eq!([out[0], out[4], out[8], out[12]], [300, 500, 700, 1000], "{level:?}");
            let mut odd = [0u16; 12];
            upsample_row(level, &half, &mut odd);
            assert_eq!([odd[0], odd[4], odd[8]], [300, 500, 700], "{level:?}");
        }
    }

    #[test]
    fn every_level_gives_the_row_loops_of_the_scalar_reference() {
        let mut r = crate::kernels::Rng::new(21);
        for w in [1usize, 2, 3, 5, 7, 8, 31, 64, 65, 257, 1000] {
            let px = |r: &mut crate::kernels::Rng| {
                (0..w)
                    .map(|_| {
                        let v = r.next();
                        Rgba8::new(v as u8, (v >> 8) as u8, (v >> 16) as u8, (v >> 24) as u8)
                    })
                    .collect::<Vec<_>>()
            };
            let (top, bottom) = (px(&mut r), px(&mut r));
            let hw = w.div_ceil(2);
            let lanes =
                |r: &mut crate::kernels::Rng, n: usize| (0..n).map(|_| (r.next() >> 48) as u16).collect::<Vec<u16>>();
            let (half, near, far) = (lanes(&mut r, 4 * (hw + 2)), lanes(&mut r, 4 * w), lanes(&mut r, 4 * w));
            let run = |level| {
                let mut sums = vec![0u16; 4 * hw];
                sum_2x2(level, &top, &bottom, &mut sums);
                let mut up = vec![0u16; 4 * w];
                upsample_row(level, &half, &mut up);
                let mut mix = vec![0u16; 4 * w];
                lerp_quarter(level, &near, &far, &mut mix);
                (sums, up, mix)
            };
            let want = run(kernels::Level::Scalar);
            for level in kernels::Level::available_levels() {
                assert!(run(level) == want, "{level:?}, width {w}");
            }
        }
    }
}
