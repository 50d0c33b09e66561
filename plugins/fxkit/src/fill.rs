//! Filling a generator's band from smooth fields sampled on a coarse grid.
//!
//! A generator's pixels must depend only on `(x, y)`, its parameters and the seed, never on how
//! the host splits the image into bands. [`Band::fill_with`] fills a band from a per-pixel
//! function of the absolute position; [`fill_smooth`] evaluates the expensive, smooth part of such
//! a function on a grid at absolute multiples of a step and interpolates it, so any split gives the
//! same pixels there too.

use fxchain_plugin_api::prelude::*;

/// Fills `band` from `N` smooth fields: `field(x, y, seed)` is evaluated at the centres of the
/// pixels whose coordinates are multiples of `step` and interpolated bilinearly in between, then
/// `shade(fields, x, y, seed)` gives each pixel (it may add per-pixel detail). With `step` 1
/// the fields are evaluated at every pixel centre, so a fast variant that interpolates and its
/// reference can share one implementation.
pub fn fill_smooth<P: Pixel, const N: usize>(
    band: &mut Band<'_, P>,
    step: u32,
    field: impl Fn(f32, f32, u64) -> [f32; N],
    shade: impl Fn([f32; N], u32, u32, u64) -> RgbaF32,
) {
    let s = step.max(1);
    let seed = band.seed();
    if s == 1 {
        return band.fill_with(|x, y| shade(field(x as f32 + 0.5, y as f32 + 0.5, seed), x, y, seed));
    }
    let rows = band.rows();
    // Grid nodes at the centres of pixels `(gx * s, gy * s)`, covering this band and one node
    // beyond it on the right and below.
    let gw = (band.width().div_ceil(s) + 1) as usize;
    let (gy0, gy1) = (rows.start / s, rows.end.div_ceil(s) + 1);
    let grid: Vec<[f32; N]> = (gy0..gy1)
        .flat_map(|gy| (0..gw as u32).map(move |gx| (gx, gy)))
        .map(|(gx, gy)| field((gx * s) as f32 + 0.5, (gy * s) as f32 + 0.5, seed))
        .collect();
    let inv = 1.0 / s as f32;
    for (y, row) in band.rows_mut() {
        let (gy, ty) = ((y / s - gy0) as usize, (y % s) as f32 * inv);
        for (x, px) in row.iter_mut().enumerate() {
            let (gx, tx) = (x / s as usize, (x as u32 % s) as f32 * inv);
            let (a, b) = (&grid[gy * gw + gx], &grid[gy * gw + gx + 1]);
            let (c, d) = (&grid[(gy + 1) * gw + gx], &grid[(gy + 1) * gw + gx + 1]);
            let v: [f32; N] = std::array::from_fn(|i| {
                let top = a[i] + (b[i] - a[i]) * tx;
                let bot = c[i] + (d[i] - c[i]) * tx;
                top + (bot - top) * ty
            });
            *px = P::from_f32(shade(v, x as u32, y, seed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders a `w`×`h` image in bands of `band_rows` rows.
    fn render(w: u32, h: u32, band_rows: u32, f: &dyn Fn(&mut Band<'_, Rgba8>)) -> Vec<Rgba8> {
        let mut px = vec![Rgba8::default(); (w * h) as usize];
        for (i, chunk) in px.chunks_mut((w * band_rows) as usize).enumerate() {
            let start = i as u32 * band_rows;
            let rows = Rows::new(start, (start + band_rows).min(h));
            let mut band = Band::new(chunk, Size::new(w, h), w as usize, rows).unwrap();
            f(&mut band);
        }
        px
    }

    fn ramp(x: f32, y: f32, _: u64) -> [f32; 2] {
        [x / 40.0, (x * 0.3 + y * 0.7).sin() * 0.5 + 0.5]
    }

    fn grey([a, b]: [f32; 2], x: u32, _: u32, _: u64) -> RgbaF32 {
        RgbaF32::new(a, b, (x % 2) as f32, 1.0)
    }

    #[test]
    fn smooth_fields_do_not_depend_on_the_band_split() {
        for step in [1, 3, 4] {
            let whole = render(37, 29, 29, &|b| fill_smooth(b, step, ramp, grey));
            for rows in [1, 2, 5, 7] {
                assert_eq!(
                    render(37, 29, rows, &|b| fill_smooth(b, step, ramp, grey)),
                    whole,
                    "step {step}, {rows} rows"
                );
            }
        }
    }

    #[test]
    fn smooth_fields_are_exact_on_grid_nodes_and_linear_between() {
        let direct = render(37, 29, 29, &|b| fill_smooth(b, 1, ramp, grey));
        let coarse = render(37, 29, 29, &|b| fill_smooth(b, 4, ramp, grey));
        let at = |v: &[Rgba8], x: u32, y: u32| v[(y * 37 + x) as usize];
        for (x, y) in [(0, 0), (4, 8), (36, 28), (16, 12)] {
            assert_eq!(at(&coarse, x, y), at(&direct, x, y), "node ({x},{y})");
        }
        // The first field is linear in x, so interpolating it is exact everywhere.
        assert!(coarse.iter().zip(&direct).all(|(c, d)| c.r.abs_diff(d.r) <= 1));
        // The per-pixel part of `shade` is applied at every pixel, not interpolated.
        assert!(coarse.iter().enumerate().all(|(i, p)| p.b == if i % 37 % 2 == 1 { 255 } else { 0 }));
    }
}
