//! Separable convolution over bands, with border handling. The horizontal pass runs over the
//! input rows a band needs, the vertical pass produces the band's rows.

use fxchain_plugin_api::prelude::*;

use crate::fixed::{convolve_rgba8_rows, store_row, FixedKernel};
use crate::rows::{load_premul, pad_line, reads_opaque, store_premul};

/// A normalized 1-D Gaussian kernel of standard deviation `sigma`, covering ±ceil(3σ).
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let sigma = sigma.max(1e-3) as f64;
    let radius = (3.0 * sigma).ceil().max(1.0) as i64;
    let mut k: Vec<f64> = (-radius..=radius).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k.into_iter().map(|v| v as f32).collect()
}

/// The kernel of a Gaussian blur of `sigma`: [`gaussian_kernel`], or the single tap `[1.0]` (the
/// identity) for σ = 0.
pub fn gaussian_or_identity(sigma: f32) -> Vec<f32> {
    if sigma > 0.0 {
        gaussian_kernel(sigma)
    } else {
        vec![1.0]
    }
}

/// Applies the separable kernels `kx` (horizontal) and `ky` (vertical), both of odd length, to the
/// band, reading `input` with `border` (the footprint is `border.footprint(ky.len() / 2)`). Works
/// on premultiplied floats, or in fixed point on opaque 8-bit frames (see [`crate::fixed`]).
pub fn convolve_band<P: Pixel>(input: &Image<'_, P>, out: &mut Band<'_, P>, kx: &[f32], ky: &[f32], border: Border) {
    let opaque = reads_opaque(input, border);
    if opaque {
        if let (Some(fx), Some(fy)) = (FixedKernel::new(kx), FixedKernel::new(ky)) {
            let level = crate::kernels::level();
            if convolve_rgba8_rows(input, out, &fx, &fy, border, |_, dst, line| store_row(level, line, dst)) {
                return;
            }
        }
    }
    let w = input.width() as usize;
    let (rx, ry) = (kx.len() / 2, (ky.len() / 2) as i64);
    let rows = out.rows();
    let avail = input.rows();
    // Horizontal pass over the rows this band needs (rows outside the image are handled by border).
    let y_lo = rows.start as i64 - ry;
    let y_hi = rows.end as i64 + ry;
    let n_rows = (y_hi - y_lo) as usize;
    let mut line = vec![[0f32; 4]; w + 2 * rx];
    let mut hbuf = vec![[0f32; 4]; n_rows * w];
    for (j, y) in (y_lo..y_hi).enumerate() {
        let dst = &mut hbuf[j * w..(j + 1) * w];
        let Some(sy) = border.index(y, input.height()) else { continue };
        let sy = (sy as u32).clamp(avail.start, avail.end.saturating_sub(1));
        // Extended line with border pixels on both sides.
        load_premul(input.row(sy), &mut line[rx..rx + w], opaque);
        pad_line(&mut line, rx, border);
        for (x, d) in dst.iter_mut().enumerate() {
            let mut acc = [0f32; 4];
            for (k, &wgt) in kx.iter().enumerate() {
                let p = line[x + k];
                acc[0] += p[0] * wgt;
                acc[1] += p[1] * wgt;
                acc[2] += p[2] * wgt;
                acc[3] += p[3] * wgt;
            }
            *d = acc;
        }
    }
    // Vertical pass.
    let mut acc = vec![[0f32; 4]; w];
    for (y, row) in out.rows_mut() {
        acc.iter_mut().for_each(|a| *a = [0.0; 4]);
        let base = (y as i64 - ry - y_lo) as usize;
        for (k, &wgt) in ky.iter().enumerate() {
            let src = &hbuf[(base + k) * w..(base + k + 1) * w];
            for (a, p) in acc.iter_mut().zip(src) {
                a[0] += p[0] * wgt;
                a[1] += p[1] * wgt;
                a[2] += p[2] * wgt;
                a[3] += p[3] * wgt;
            }
        }
        store_premul(&acc, row, opaque);
    }
}
