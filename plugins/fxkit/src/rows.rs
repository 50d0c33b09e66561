//! Loading rows as premultiplied `[f32; 4]` and storing them back, the working form of every
//! filter that averages pixels (so transparent pixels never bleed their colour), and reading
//! single pixels through the border.

use fxchain_plugin_api::prelude::*;

/// Whether a filter reading `input` through `border` may treat every pixel it reads as opaque
/// (and so skip premultiplying): the input is opaque and the border does not read transparent
/// black.
#[inline]
pub fn reads_opaque<P: Pixel>(input: &Image<'_, P>, border: Border) -> bool {
    input.is_opaque() && border != Border::Transparent
}

/// Appends row `src` to `dst` as floats, premultiplied by alpha unless `opaque`.
#[inline]
pub fn load_premul<P: Pixel>(src: &[P], dst: &mut [[f32; 4]], opaque: bool) {
    if let Some(src8) = P::as_rgba8(src) {
        const S: f32 = 1.0 / 255.0;
        for (d, s) in dst.iter_mut().zip(src8) {
            if opaque {
                *d = [s.r as f32 * S, s.g as f32 * S, s.b as f32 * S, s.a as f32 * S];
            } else {
                let a = s.a as f32 * S;
                *d = [s.r as f32 * S * a, s.g as f32 * S * a, s.b as f32 * S * a, a];
            }
        }
        return;
    }
    for (d, s) in dst.iter_mut().zip(src) {
        let p = s.to_f32();
        *d = if opaque { p.to_array() } else { [p.r * p.a, p.g * p.a, p.b * p.a, p.a] };
    }
}

/// Writes premultiplied floats back as pixels (dividing by alpha unless `opaque`).
#[inline]
pub fn store_premul<P: Pixel>(src: &[[f32; 4]], dst: &mut [P], opaque: bool) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = store(*s, opaque);
    }
}

/// One premultiplied pixel back to straight alpha.
#[inline]
pub fn unpremul(s: [f32; 4], opaque: bool) -> RgbaF32 {
    if opaque {
        return RgbaF32::from_array(s);
    }
    let a = s[3];
    if a <= 1e-7 {
        RgbaF32::new(0.0, 0.0, 0.0, 0.0)
    } else {
        let inv = 1.0 / a;
        RgbaF32::new(s[0] * inv, s[1] * inv, s[2] * inv, a)
    }
}

/// One premultiplied pixel as a pixel of the frame's format.
#[inline]
pub fn store<P: Pixel>(s: [f32; 4], opaque: bool) -> P {
    P::from_f32(unpremul(s, opaque))
}

/// Fills the `pad` pixels on each side of `line` (a row of `line.len() - 2 * pad` pixels in the
/// middle) as `border` reads them: copies of pixels of the row, or transparent black.
#[inline]
pub fn pad_line(line: &mut [[f32; 4]], pad: usize, border: Border) {
    let w = line.len() - 2 * pad;
    for i in 0..pad {
        line[i] = border.index(i as i64 - pad as i64, w as u32).map_or([0.0; 4], |x| line[pad + x]);
        line[pad + w + i] = border.index((w + i) as i64, w as u32).map_or([0.0; 4], |x| line[pad + x]);
    }
}

/// The premultiplied pixel at `(x, y)`, read through `border` (the row, once mapped into the
/// image, is clamped into the rows the footprint asked for).
#[inline]
pub fn sample<P: Pixel>(input: &Image<'_, P>, x: i64, y: i64, border: Border, opaque: bool) -> [f32; 4] {
    let (Some(sx), Some(sy)) = (border.index(x, input.width()), border.index(y, input.height())) else {
        return [0.0; 4];
    };
    let mut px = [[0f32; 4]; 1];
    load_premul(&input.row_clamped(sy as i64)[sx..sx + 1], &mut px, opaque);
    px[0]
}

/// The premultiplied value at `(fx, fy)` interpolated bilinearly between the four pixels around
/// it (pixel centres at integer coordinates), read through `border`.
#[inline]
pub fn sample_bilinear<P: Pixel>(input: &Image<'_, P>, fx: f32, fy: f32, border: Border, opaque: bool) -> [f32; 4] {
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let s00 = sample(input, x0, y0, border, opaque);
    let s10 = sample(input, x0 + 1, y0, border, opaque);
    let s01 = sample(input, x0, y0 + 1, border, opaque);
    let s11 = sample(input, x0 + 1, y0 + 1, border, opaque);
    std::array::from_fn(|c| {
        let top = s00[c] + (s10[c] - s00[c]) * tx;
        let bot = s01[c] + (s11[c] - s01[c]) * tx;
        top + (bot - top) * ty
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_follows_the_border() {
        let row = |b| {
            let mut l: Vec<[f32; 4]> = [0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 0.0].iter().map(|&v| [v; 4]).collect();
            pad_line(&mut l, 2, b);
            l.iter().map(|p| p[0]).collect::<Vec<_>>()
        };
        assert_eq!(row(Border::Clamp), [1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0]);
        assert_eq!(row(Border::Mirror), [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]);
        assert_eq!(row(Border::Wrap), [2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 2.0]);
        assert_eq!(row(Border::Transparent), [0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 0.0]);
    }

    #[test]
    fn samples_are_premultiplied_and_interpolated() {
        // 2×1: opaque red, half-transparent white.
        let px = [Rgba8::new(255, 0, 0, 255), Rgba8::new(255, 255, 255, 128)];
        let img = Image::new(&px, 2, 1, 2).unwrap();
        let a = 128.0 / 255.0;
        assert_eq!(sample(&img, 1, 0, Border::Clamp, false), [a, a, a, a]);
        assert_eq!(sample(&img, 5, -3, Border::Clamp, false), [a, a, a, a]);
        assert_eq!(sample(&img, -1, 0, Border::Transparent, false), [0.0; 4]);
        let mid = sample_bilinear(&img, 0.25, 0.0, Border::Clamp, false);
        let want = [0.75 + 0.25 * a, 0.25 * a, 0.25 * a, 0.75 + 0.25 * a];
        assert!(mid.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{mid:?}");
        // Straight alpha again when stored.
        let back: Rgba8 = store(sample(&img, 1, 0, Border::Clamp, false), false);
        assert_eq!(back, px[1]);
    }
}
