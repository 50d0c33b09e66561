//! Loading rows as premultiplied `[f32; 4]` and storing them back, the working form of every
//! filter that averages pixels (so transparent pixels never bleed their colour).

use fxchain_plugin_api::prelude::*;

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
        *d = P::from_f32(unpremul(*s, opaque));
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
