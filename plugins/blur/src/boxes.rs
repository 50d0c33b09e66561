//! Box blurs with running sums, and the three-box approximation of a Gaussian.

use fxchain_plugin_api::prelude::*;

use fxkit::fixed::widen;
use fxkit::rows::{load_premul, pad_line, reads_opaque, store_premul};

/// Radii of three box filters whose cascade approximates a Gaussian of `sigma`.
pub fn box_radii(sigma: f32) -> [usize; 3] {
    if sigma <= 0.0 {
        return [0; 3];
    }
    let n = 3.0f64;
    let s = sigma as f64;
    let w_ideal = (12.0 * s * s / n + 1.0).sqrt();
    let mut wl = w_ideal.floor() as i64;
    if wl % 2 == 0 {
        wl -= 1;
    }
    let wl = wl.max(1);
    let wu = wl + 2;
    let m = ((12.0 * s * s - n * (wl * wl) as f64 - 4.0 * n * wl as f64 - 3.0 * n) / (-4.0 * wl as f64 - 4.0)).round()
        as i64;
    let mut r = [0usize; 3];
    for (i, slot) in r.iter_mut().enumerate() {
        let w = if (i as i64) < m { wl } else { wu };
        *slot = ((w - 1) / 2) as usize;
    }
    r
}

/// One box pass of radius `r` over `src` (length `n + 2r`), writing `n` means into `dst`.
#[inline]
fn box_pass(src: &[[f32; 4]], dst: &mut [[f32; 4]], r: usize) {
    let n = dst.len();
    let inv = 1.0 / (2 * r + 1) as f32;
    let mut acc = [0f32; 4];
    for p in &src[..2 * r] {
        for c in 0..4 {
            acc[c] += p[c];
        }
    }
    for i in 0..n {
        let add = src[i + 2 * r];
        for c in 0..4 {
            acc[c] += add[c];
        }
        dst[i] = [acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv];
        let sub = src[i];
        for c in 0..4 {
            acc[c] -= sub[c];
        }
    }
}

/// Blurs the band with a cascade of box filters of radii `radii` on both axes.
pub fn box_blur_band<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>, radii: &[usize], border: Border) {
    let radii: Vec<usize> = radii.iter().copied().filter(|&r| r > 0).collect();
    let total: usize = radii.iter().sum();
    let w = input.width() as usize;
    let opaque = reads_opaque(input, border);
    let rows = out.rows();
    let (y_lo, y_hi) = (rows.start as i64 - total as i64, rows.end as i64 + total as i64);
    let n_rows = (y_hi - y_lo) as usize;

    // Horizontal passes on every needed row.
    let mut a = vec![[0f32; 4]; w + 2 * total];
    let mut b = a.clone();
    let mut hbuf = vec![[0f32; 4]; n_rows * w];
    for (j, y) in (y_lo..y_hi).enumerate() {
        let Some(sy) = border.index(y, input.height()) else { continue };
        load_premul(input.row(sy as u32), &mut a[total..total + w], opaque);
        pad_line(&mut a, total, border);
        horizontal_boxes(&mut a, &mut b, &radii);
        hbuf[j * w..(j + 1) * w].copy_from_slice(&a[..w]);
    }

    let cur = vertical_boxes(hbuf, n_rows, w, &radii);
    for (y, row) in out.rows_mut() {
        let j = (y - rows.start) as usize;
        store_premul(&cur[j * w..(j + 1) * w], row, opaque);
    }
}

/// Applies the box cascade `radii` to the line in `a` (its first `a.len() - 2·sum(radii)`
/// pixels hold the result afterwards; `b` is scratch of the same length).
fn horizontal_boxes(a: &mut Vec<[f32; 4]>, b: &mut Vec<[f32; 4]>, radii: &[usize]) {
    let mut len = a.len();
    for &r in radii {
        box_pass(&a[..len], &mut b[..len - 2 * r], r);
        len -= 2 * r;
        std::mem::swap(a, b);
    }
}

/// Units per channel unit of the vertical running sums.
const FIXED_ONE: f64 = (1u64 << 24) as f64;

/// Applies the box cascade `radii` to `n` rows of `w` pixels stored in `rows` (the first and last
/// `sum(radii)` rows are context) and returns the `n - 2·sum` centre rows.
///
/// The running sums are integers (channel values in units of 2^-24): a float sum started at a
/// band's first row rounds differently from one started elsewhere, so a pixel would depend on
/// where its band begins. Integer sums are exact, and every row's mean is the same for any split.
fn vertical_boxes(cur: Vec<[f32; 4]>, mut n: usize, w: usize, radii: &[usize]) -> Vec<[f32; 4]> {
    if radii.is_empty() {
        return cur;
    }
    // Truncating conversions (`as`) saturate and are the same for any split; wrapping sums keep
    // absurd float inputs from overflowing.
    let mut cur: Vec<[i64; 4]> = cur.iter().map(|p| p.map(|v| (v as f64 * FIXED_ONE) as i64)).collect();
    let add = |acc: &mut [[i64; 4]], row: &[[i64; 4]], sign: i64| {
        for (s, p) in acc.iter_mut().zip(row) {
            for c in 0..4 {
                s[c] = s[c].wrapping_add(sign.wrapping_mul(p[c]));
            }
        }
    };
    for &r in radii {
        let out_rows = n - 2 * r;
        let mut next = vec![[0i64; 4]; out_rows * w];
        let inv = 1.0 / (2 * r + 1) as f64;
        let mut acc = vec![[0i64; 4]; w];
        for k in 0..2 * r {
            add(&mut acc, &cur[k * w..(k + 1) * w], 1);
        }
        for i in 0..out_rows {
            add(&mut acc, &cur[(i + 2 * r) * w..(i + 2 * r + 1) * w], 1);
            for (d, s) in next[i * w..(i + 1) * w].iter_mut().zip(&acc) {
                *d = s.map(|v| (v as f64 * inv) as i64);
            }
            add(&mut acc, &cur[i * w..(i + 1) * w], -1);
        }
        cur = next;
        n = out_rows;
    }
    cur.iter().map(|p| p.map(|v| (v as f64 / FIXED_ONE) as f32)).collect()
}

/// Parameters of the half-resolution approximation used by the fast Gaussian.
pub struct HalfRes {
    /// The non-zero box radii.
    radii: Vec<usize>,
    total: usize,
}

/// Plans the fast Gaussian: below σ = 1 a full-resolution box cascade, from there the cascade on
/// a half-resolution copy (a quarter of the pixels), upsampled bilinearly.
pub fn half_res_plan(sigma: f32) -> Option<HalfRes> {
    if sigma < 1.0 {
        return None;
    }
    // The 2×2 average and the bilinear upsampling blur too; take their variance off σ².
    let s = ((sigma * sigma - 0.5).max(0.25)).sqrt() / 2.0;
    let radii: Vec<usize> = box_radii(s).into_iter().filter(|&r| r > 0).collect();
    Some(HalfRes { total: radii.iter().sum(), radii })
}

impl HalfRes {
    /// Rows read above and below an output row: half row `j` averages full rows `2j` and
    /// `2j + 1`, the cascade reaches `total` half rows, and the interpolation one more.
    pub fn radius(&self) -> u32 {
        2 * self.total as u32 + 2
    }

    /// Half-resolution rows `lo..hi` whose blurred values the output rows interpolate.
    fn half_rows(&self, out: Rows) -> (i64, i64) {
        let lo = ((out.start as f32 + 0.5) / 2.0 - 0.5).floor() as i64;
        let hi = ((out.end as f32 - 0.5) / 2.0 - 0.5).floor() as i64 + 2;
        (lo, hi)
    }

    /// The box cascade over the half-resolution rows that output rows `out` interpolate:
    /// `half_row(j, line)` writes half row `j` (of `hw` pixels) into `line`. Returns the first
    /// half row and the blurred rows from there.
    fn blur_half_rows(
        &self,
        out: Rows,
        hw: usize,
        border: Border,
        mut half_row: impl FnMut(i64, &mut [[f32; 4]]),
    ) -> (i64, Vec<[f32; 4]>) {
        let t = self.total;
        let (lo, hi) = self.half_rows(out);
        let n = (hi - lo) as usize + 2 * t;
        let mut a = vec![[0f32; 4]; hw + 2 * t];
        let mut b = a.clone();
        let mut hbuf = vec![[0f32; 4]; n * hw];
        for (k, j) in (lo - t as i64..hi + t as i64).enumerate() {
            half_row(j, &mut a[t..t + hw]);
            pad_line(&mut a, t, border);
            horizontal_boxes(&mut a, &mut b, &self.radii);
            hbuf[k * hw..(k + 1) * hw].copy_from_slice(&a[..hw]);
        }
        (lo, vertical_boxes(hbuf, n, hw, &self.radii))
    }

    /// Renders the band.
    pub fn render<P: Pixel>(&self, input: &Image<'_, P>, out: &mut Band<'_, P>, border: Border) {
        let (w, h) = (input.width() as usize, input.height());
        let hw = w.div_ceil(2);
        let opaque = reads_opaque(input, border);
        let mut full = vec![[0f32; 4]; w];
        let (lo, blurred) = self.blur_half_rows(out.rows(), hw, border, |j, line| {
            // Half row j is the mean of full rows 2j and 2j+1 (read through the border), pairwise.
            line.iter_mut().for_each(|p| *p = [0.0; 4]);
            for fy in [2 * j, 2 * j + 1] {
                let Some(sy) = border.index(fy, h) else { continue };
                load_premul(input.row(sy as u32), &mut full, opaque);
                for (i, d) in line.iter_mut().enumerate() {
                    let (p, q) = (full[2 * i], full[(2 * i + 1).min(w - 1)]);
                    for c in 0..4 {
                        d[c] += (p[c] + q[c]) * 0.25;
                    }
                }
            }
        });
        // Bilinear upsampling from half resolution.
        let taps = upsampling_taps(w, hw);
        let mut line = vec![[0f32; 4]; w];
        for (y, row) in out.rows_mut() {
            let (r0, r1, ty) = half_row_pair(&blurred, lo, hw, y);
            for (d, &(x0, x1, tx)) in line.iter_mut().zip(&taps) {
                for c in 0..4 {
                    let top = r0[x0][c] + (r0[x1][c] - r0[x0][c]) * tx;
                    let bot = r1[x0][c] + (r1[x1][c] - r1[x0][c]) * tx;
                    d[c] = top + (bot - top) * ty;
                }
            }
            store_premul(&line, row, opaque);
        }
    }
}

/// For each of `w` output columns: the two half-resolution columns around it and the weight of
/// the second (output pixel `x` sits at `(x + 0.5) / 2 - 0.5`).
fn upsampling_taps(w: usize, hw: usize) -> Vec<(usize, usize, f32)> {
    (0..w)
        .map(|x| {
            let fx = ((x as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (hw - 1) as f32);
            let x0 = fx.floor() as usize;
            (x0, (x0 + 1).min(hw - 1), fx - x0 as f32)
        })
        .collect()
}

/// The two blurred half-resolution rows (of `hw` pixels, the first being half row `lo`) around
/// output row `y`, and the weight of the second.
fn half_row_pair(blurred: &[[f32; 4]], lo: i64, hw: usize, y: u32) -> (&[[f32; 4]], &[[f32; 4]], f32) {
    let fy = (y as f32 + 0.5) / 2.0 - 0.5;
    let y0 = fy.floor() as i64;
    let r0 = &blurred[(y0 - lo) as usize * hw..][..hw];
    let r1 = &blurred[(y0 + 1 - lo) as usize * hw..][..hw];
    (r0, r1, fy - y0 as f32)
}

impl HalfRes {
    /// [`HalfRes::render`] for opaque 8-bit frames: no premultiplying, channel values 0..255 in
    /// float lanes, and `finish(y, blurred)` receives each output row's blurred lanes (four per
    /// pixel) to turn into pixels. Returns `false`, doing nothing, when the frames are not `Rgba8`
    /// or the border is transparent.
    pub fn render_rgba8<P: Pixel>(
        &self,
        input: &Image<'_, P>,
        out: &mut Band<'_, P>,
        border: Border,
        mut finish: impl FnMut(u32, &mut [P], &[f32]),
    ) -> bool {
        if P::as_rgba8(&[]).is_none() || border == Border::Transparent {
            return false;
        }
        let (w, h) = (input.width() as usize, input.height());
        let hw = w.div_ceil(2);
        let mut full = [vec![0f32; 4 * w], vec![0f32; 4 * w]];
        let (lo, blurred) = self.blur_half_rows(out.rows(), hw, border, |j, line| {
            // Half row j: the mean of each 2×2 block of full rows 2j and 2j+1 (through the border).
            for (f, fy) in full.iter_mut().zip([2 * j, 2 * j + 1]) {
                let sy = border.index(fy, h).expect("not transparent") as u32;
                // Opaque 8-bit rows as float lanes (0..255).
                widen(P::as_rgba8(input.row(sy)).expect("8-bit frame"), f, |b| b as f32);
            }
            let (top, bottom) = (full[0].chunks_exact(8), full[1].chunks_exact(8));
            for ((d, p), q) in line.iter_mut().zip(top).zip(bottom) {
                for (c, v) in d.iter_mut().enumerate() {
                    *v = (p[c] + p[4 + c] + q[c] + q[4 + c]) * 0.25;
                }
            }
            if w % 2 == 1 {
                let (p, q) = (&full[0][4 * (w - 1)..], &full[1][4 * (w - 1)..]);
                for (c, v) in line[hw - 1].iter_mut().enumerate() {
                    *v = (p[c] + q[c]) * 0.5;
                }
            }
        });
        let taps = upsampling_taps(w, hw);
        let mut column = vec![[0f32; 4]; hw];
        let mut line = vec![0f32; 4 * w];
        for (y, row) in out.rows_mut() {
            let (r0, r1, ty) = half_row_pair(&blurred, lo, hw, y);
            // Vertical first (one lerp per half-resolution pixel), then horizontal.
            for ((d, p), q) in column.iter_mut().zip(r0).zip(r1) {
                for c in 0..4 {
                    d[c] = p[c] + (q[c] - p[c]) * ty;
                }
            }
            for (d, &(x0, x1, tx)) in line.chunks_exact_mut(4).zip(&taps) {
                let (p, q) = (column[x0], column[x1]);
                for c in 0..4 {
                    d[c] = p[c] + (q[c] - p[c]) * tx;
                }
            }
            finish(y, row, &line);
        }
        true
    }
}
