//! Box blurs with running sums, and the three-box approximation of a Gaussian.

use fxchain_plugin_api::prelude::*;

use fxkit::fixed::bytes4;
use fxkit::rows::{load_premul, store_premul};
use fxkit::Border;

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
    let opaque = input.is_opaque();
    let rows = out.rows();
    let (y_lo, y_hi) = (rows.start as i64 - total as i64, rows.end as i64 + total as i64);
    let n_rows = (y_hi - y_lo) as usize;

    // Horizontal passes on every needed row.
    let ext = w + 2 * total;
    let mut a = vec![[0f32; 4]; ext];
    let mut b = vec![[0f32; 4]; ext];
    let mut hbuf = vec![[0f32; 4]; n_rows * w];
    for (j, y) in (y_lo..y_hi).enumerate() {
        let Some(sy) = border.index(y, input.height()) else { continue };
        let src = input.row(sy as u32);
        load_premul(src, &mut a[total..total + w], opaque);
        for i in 0..total {
            a[i] = border.index(i as i64 - total as i64, w as u32).map_or([0.0; 4], |x| a[total + x]);
            a[total + w + i] = border.index((w + i) as i64, w as u32).map_or([0.0; 4], |x| a[total + x]);
        }
        let mut len = ext;
        for &r in &radii {
            box_pass(&a[..len], &mut b[..len - 2 * r], r);
            len -= 2 * r;
            std::mem::swap(&mut a, &mut b);
        }
        hbuf[j * w..(j + 1) * w].copy_from_slice(&a[..w]);
    }

    let cur = vertical_boxes(hbuf, n_rows, w, &radii);
    for (y, row) in out.rows_mut() {
        let j = (y - rows.start) as usize;
        store_premul(&cur[j * w..(j + 1) * w], row, opaque);
    }
}

/// Applies the box cascade `radii` to `n` rows of `w` pixels stored in `rows` (the first and last
/// `sum(radii)` rows are context) and returns the `n - 2·sum` centre rows.
fn vertical_boxes(mut cur: Vec<[f32; 4]>, mut n: usize, w: usize, radii: &[usize]) -> Vec<[f32; 4]> {
    for &r in radii {
        let out_rows = n - 2 * r;
        let mut next = vec![[0f32; 4]; out_rows * w];
        let inv = 1.0 / (2 * r + 1) as f32;
        let mut acc = vec![[0f32; 4]; w];
        for k in 0..2 * r {
            for (s, p) in acc.iter_mut().zip(&cur[k * w..(k + 1) * w]) {
                for c in 0..4 {
                    s[c] += p[c];
                }
            }
        }
        for i in 0..out_rows {
            for (s, p) in acc.iter_mut().zip(&cur[(i + 2 * r) * w..(i + 2 * r + 1) * w]) {
                for c in 0..4 {
                    s[c] += p[c];
                }
            }
            for (d, s) in next[i * w..(i + 1) * w].iter_mut().zip(&acc) {
                *d = [s[0] * inv, s[1] * inv, s[2] * inv, s[3] * inv];
            }
            for (s, p) in acc.iter_mut().zip(&cur[i * w..(i + 1) * w]) {
                for c in 0..4 {
                    s[c] -= p[c];
                }
            }
        }
        cur = next;
        n = out_rows;
    }
    cur
}

/// Parameters of the half-resolution approximation used by the fast Gaussian.
pub struct HalfRes {
    radii: [usize; 3],
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
    let radii = box_radii(s);
    Some(HalfRes { radii, total: radii.iter().sum() })
}

impl HalfRes {
    /// Full-resolution input rows needed for output rows `out`.
    pub fn rows_needed(&self, out: Rows, height: u32, border: Border) -> Rows {
        let (lo, hi) = self.half_rows(out);
        let (lo, hi) = (2 * (lo - self.total as i64), 2 * (hi + self.total as i64));
        if border == Border::Wrap && (lo < 0 || hi > height as i64) {
            return Rows::new(0, height);
        }
        Rows::new(lo.clamp(0, height as i64) as u32, hi.clamp(0, height as i64) as u32)
    }

    /// Half-resolution rows `lo..hi` whose blurred values the output rows interpolate.
    fn half_rows(&self, out: Rows) -> (i64, i64) {
        let lo = ((out.start as f32 + 0.5) / 2.0 - 0.5).floor() as i64;
        let hi = ((out.end as f32 - 0.5) / 2.0 - 0.5).floor() as i64 + 2;
        (lo, hi)
    }

    /// Renders the band.
    pub fn render<P: Pixel>(&self, input: &Image<'_, P>, out: &mut Band<'_, P>, border: Border) {
        let (w, h) = (input.width() as i64, input.height());
        let hw = ((w + 1) / 2) as usize;
        let opaque = input.is_opaque();
        let t = self.total;
        let (lo, hi) = self.half_rows(out.rows());
        let (jlo, jhi) = (lo - t as i64, hi + t as i64);
        let n = (jhi - jlo) as usize;
        let ext = hw + 2 * t;
        let mut full = vec![[0f32; 4]; w as usize];
        let mut a = vec![[0f32; 4]; ext];
        let mut b = vec![[0f32; 4]; ext];
        let mut hbuf = vec![[0f32; 4]; n * hw];
        for (k, j) in (jlo..jhi).enumerate() {
            // Half row j is the mean of full rows 2j and 2j+1 (read through the border), pairwise.
            let line = &mut a[t..t + hw];
            line.iter_mut().for_each(|p| *p = [0.0; 4]);
            for fy in [2 * j, 2 * j + 1] {
                let Some(sy) = border.index(fy, h) else { continue };
                load_premul(input.row(sy as u32), &mut full, opaque);
                for (i, d) in line.iter_mut().enumerate() {
                    let (p, q) = (full[2 * i], full[(2 * i + 1).min(w as usize - 1)]);
                    for c in 0..4 {
                        d[c] += (p[c] + q[c]) * 0.25;
                    }
                }
            }
            for i in 0..t {
                a[i] = border.index(i as i64 - t as i64, hw as u32).map_or([0.0; 4], |x| a[t + x]);
                a[t + hw + i] = border.index((hw + i) as i64, hw as u32).map_or([0.0; 4], |x| a[t + x]);
            }
            let mut len = ext;
            for &r in self.radii.iter().filter(|&&r| r > 0) {
                box_pass(&a[..len], &mut b[..len - 2 * r], r);
                len -= 2 * r;
                std::mem::swap(&mut a, &mut b);
            }
            hbuf[k * hw..(k + 1) * hw].copy_from_slice(&a[..hw]);
        }
        let radii: Vec<usize> = self.radii.iter().copied().filter(|&r| r > 0).collect();
        let blurred = vertical_boxes(hbuf, n, hw, &radii);
        // Bilinear upsampling from half resolution (rows `lo..hi` of `blurred`).
        let sample_x: Vec<(usize, usize, f32)> = (0..w as usize)
            .map(|x| {
                let fx = ((x as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (hw - 1) as f32);
                let x0 = fx.floor() as usize;
                (x0, (x0 + 1).min(hw - 1), fx - x0 as f32)
            })
            .collect();
        let mut line = vec![[0f32; 4]; w as usize];
        for (y, row) in out.rows_mut() {
            let fy = (y as f32 + 0.5) / 2.0 - 0.5;
            let y0 = fy.floor() as i64;
            let ty = fy - y0 as f32;
            let r0 = &blurred[(y0 - lo) as usize * hw..][..hw];
            let r1 = &blurred[(y0 + 1 - lo) as usize * hw..][..hw];
            for (d, &(x0, x1, tx)) in line.iter_mut().zip(&sample_x) {
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

/// Opaque 8-bit rows as float lanes (0..255), four pixels at a time through byte arrays so the
/// conversion vectorizes.
fn widen(src: &[Rgba8], dst: &mut [f32]) {
    let mut blocks = dst.chunks_exact_mut(16);
    let mut pixels = src.chunks_exact(4);
    for (d, p) in (&mut blocks).zip(&mut pixels) {
        for (x, &b) in d.iter_mut().zip(&bytes4(p.try_into().expect("four pixels"))) {
            *x = b as f32;
        }
    }
    for (d, p) in blocks.into_remainder().chunks_exact_mut(4).zip(pixels.remainder()) {
        d.copy_from_slice(&[p.r as f32, p.g as f32, p.b as f32, p.a as f32]);
    }
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
        let t = self.total;
        let (lo, hi) = self.half_rows(out.rows());
        let (jlo, jhi) = (lo - t as i64, hi + t as i64);
        let n = (jhi - jlo) as usize;
        let ext = hw + 2 * t;
        let mut full = [vec![0f32; 4 * w], vec![0f32; 4 * w]];
        let mut a = vec![[0f32; 4]; ext];
        let mut b = vec![[0f32; 4]; ext];
        let mut hbuf = vec![[0f32; 4]; n * hw];
        for (k, j) in (jlo..jhi).enumerate() {
            // Half row j: the mean of each 2×2 block of full rows 2j and 2j+1 (through the border).
            for (f, fy) in full.iter_mut().zip([2 * j, 2 * j + 1]) {
                let sy = border.index(fy, h).expect("not transparent") as u32;
                widen(P::as_rgba8(input.row(sy)).expect("8-bit frame"), f);
            }
            let line = &mut a[t..t + hw];
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
            for i in 0..t {
                a[i] = a[t + border.index(i as i64 - t as i64, hw as u32).expect("not transparent")];
                a[t + hw + i] = a[t + border.index((hw + i) as i64, hw as u32).expect("not transparent")];
            }
            let mut len = ext;
            for &r in self.radii.iter().filter(|&&r| r > 0) {
                box_pass(&a[..len], &mut b[..len - 2 * r], r);
                len -= 2 * r;
                std::mem::swap(&mut a, &mut b);
            }
            hbuf[k * hw..(k + 1) * hw].copy_from_slice(&a[..hw]);
        }
        let radii: Vec<usize> = self.radii.iter().copied().filter(|&r| r > 0).collect();
        let blurred = vertical_boxes(hbuf, n, hw, &radii);
        // Bilinear upsampling from half resolution: output pixel x sits at (x + 0.5) / 2 - 0.5.
        let sample_x: Vec<(usize, usize, f32)> = (0..w)
            .map(|x| {
                let fx = ((x as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (hw - 1) as f32);
                let x0 = fx.floor() as usize;
                (x0, (x0 + 1).min(hw - 1), fx - x0 as f32)
            })
            .collect();
        let mut column = vec![[0f32; 4]; hw];
        let mut line = vec![0f32; 4 * w];
        for (y, row) in out.rows_mut() {
            let fy = (y as f32 + 0.5) / 2.0 - 0.5;
            let y0 = fy.floor() as i64;
            let ty = fy - y0 as f32;
            let r0 = &blurred[(y0 - lo) as usize * hw..][..hw];
            let r1 = &blurred[(y0 + 1 - lo) as usize * hw..][..hw];
            // Vertical first (one lerp per half-resolution pixel), then horizontal.
            for ((d, p), q) in column.iter_mut().zip(r0).zip(r1) {
                for c in 0..4 {
                    d[c] = p[c] + (q[c] - p[c]) * ty;
                }
            }
            for (d, &(x0, x1, tx)) in line.chunks_exact_mut(4).zip(&sample_x) {
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
