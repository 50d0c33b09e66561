//! Box blurs with running sums, and the three-box approximation of a Gaussian.

use fxchain_plugin_api::prelude::*;
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

    // Vertical passes, row-wise running sums over the band's rows.
    let mut cur = hbuf;
    let mut cur_rows = n_rows;
    for &r in &radii {
        let out_rows = cur_rows - 2 * r;
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
        cur_rows = out_rows;
    }
    for (y, row) in out.rows_mut() {
        let j = (y - rows.start) as usize;
        store_premul(&cur[j * w..(j + 1) * w], row, opaque);
    }
}
