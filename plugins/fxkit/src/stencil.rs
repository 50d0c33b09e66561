//! 3×3 neighbourhood effects on one value per pixel (edge detectors, emboss): the value (luma,
//! say) of every pixel a band reads is computed once, and a formula over each pixel's 3×3
//! window gives the output grey.

use fxchain_plugin_api::prelude::*;

/// The values around one pixel: `w[1 + dy][1 + dx]` is the value at offset `(dx, dy)`.
pub type Window = [[f32; 3]; 3];

/// Renders grey `f(window)` with the source pixel's alpha for every pixel of `out`, where the
/// window holds `value` of the 3×3 neighbourhood read through `border` (transparent reads 0).
/// The footprint is `border.footprint(1)`.
pub fn stencil3<P: Pixel>(
    input: &Image<'_, P>,
    out: &mut Band<'_, P>,
    border: Border,
    value: impl Fn(RgbaF32) -> f32,
    f: impl Fn(&Window) -> f32,
) {
    let (w, h) = (input.width(), input.height());
    let rows = out.rows();
    // Values of rows `start - 1 ..= end`, each with one border pixel on either side.
    let lines: Vec<Vec<f32>> = (rows.start as i64 - 1..=rows.end as i64)
        .map(|y| {
            let src = border.index(y, h).map(|sy| input.row(sy as u32));
            (-1..=w as i64)
                .map(|x| match (src, border.index(x, w)) {
                    (Some(src), Some(sx)) => value(src[sx].to_f32()),
                    _ => 0.0,
                })
                .collect()
        })
        .collect();
    for (y, row) in out.rows_mut() {
        let j = (y - rows.start) as usize;
        let (a, b, c) = (&lines[j], &lines[j + 1], &lines[j + 2]);
        for ((x, d), s) in row.iter_mut().enumerate().zip(input.row(y)) {
            let v = f(&[[a[x], a[x + 1], a[x + 2]], [b[x], b[x + 1], b[x + 2]], [c[x], c[x + 1], c[x + 2]]]);
            *d = P::from_f32(RgbaF32::new(v, v, v, s.to_f32().a));
        }
    }
}

/// The Sobel gradient `(gx, gy)` of a window (x to the right, y down), unnormalized: a ramp
/// rising by 1 per pixel gives 8.
#[inline]
pub fn sobel(w: &Window) -> (f32, f32) {
    let [a, b, c] = w;
    let gx = (a[2] + 2.0 * b[2] + c[2]) - (a[0] + 2.0 * b[0] + c[0]);
    let gy = (c[0] + 2.0 * c[1] + c[2]) - (a[0] + 2.0 * a[1] + a[2]);
    (gx, gy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 5×4 image whose red channel is `x / 10 + y / 100` (so a window tells where it is).
    fn image() -> Vec<RgbaF32> {
        (0..20).map(|i| RgbaF32::new((i % 5) as f32 / 10.0 + (i / 5) as f32 / 100.0, 0.0, 0.0, 0.5)).collect()
    }

    fn render(border: Border, rows: Rows, f: impl Fn(&Window) -> f32) -> Vec<f32> {
        let px = image();
        let input = Image::new(&px, 5, 4, 5).unwrap();
        let mut out = vec![RgbaF32::default(); 5 * rows.len() as usize];
        let mut band = Band::new(&mut out, Size::new(5, 4), 5, rows).unwrap();
        stencil3(&input, &mut band, border, |c| c.r, f);
        assert!(out.iter().all(|p| p.a == 0.5 && p.r == p.g && p.g == p.b), "grey with the source alpha");
        out.iter().map(|p| p.r).collect()
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn windows_hold_the_neighbourhood_through_the_border() {
        let v = |x: i64, y: i64| x as f32 / 10.0 + y as f32 / 100.0;
        // The centre is the pixel itself, in every band.
        let centre = render(Border::Clamp, Rows::new(1, 3), |w| w[1][1]);
        assert!((0..10).all(|i| close(centre[i], v(i as i64 % 5, 1 + i as i64 / 5))));
        // The top-left neighbour of (0, 0), and the bottom-right one of (4, 3), by border mode.
        let corner = |b, rows: Rows, pick: fn(&Window) -> f32, i: usize| render(b, rows, pick)[i];
        let tl: fn(&Window) -> f32 = |w| w[0][0];
        let br: fn(&Window) -> f32 = |w| w[2][2];
        assert!(close(corner(Border::Clamp, Rows::new(0, 1), tl, 0), v(0, 0)));
        assert!(close(corner(Border::Mirror, Rows::new(0, 1), tl, 0), v(1, 1)));
        assert!(close(corner(Border::Wrap, Rows::new(0, 1), tl, 0), v(4, 3)));
        assert_eq!(corner(Border::Transparent, Rows::new(0, 1), tl, 0), 0.0);
        assert!(close(corner(Border::Wrap, Rows::new(3, 4), br, 4), v(0, 0)));
        assert!(close(corner(Border::Mirror, Rows::new(2, 4), br, 9), v(3, 2)));
        // Interior: the window of (2, 1) is the pixels around it.
        let sum = render(Border::Clamp, Rows::new(0, 4), |w| w.iter().flatten().sum());
        let want: f32 = (1..=3).flat_map(|x| (0..=2).map(move |y| v(x, y))).sum();
        assert!(close(sum[5 + 2], want));
    }

    #[test]
    fn sobel_measures_ramps() {
        let ramp_x: Window = std::array::from_fn(|_| [0.0, 1.0, 2.0]);
        assert_eq!(sobel(&ramp_x), (8.0, 0.0));
        let ramp_y: Window = [[0.0; 3], [1.0; 3], [2.0; 3]];
        assert_eq!(sobel(&ramp_y), (0.0, 8.0));
        assert_eq!(sobel(&[[0.3; 3]; 3]), (0.0, 0.0));
    }
}
