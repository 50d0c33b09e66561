//! Separable convolution of opaque 8-bit frames in 16-bit fixed point.
//!
//! The float path ([`crate::conv`]) converts every pixel to premultiplied `[f32; 4]`. For opaque
//! `Rgba8` frames premultiplying is a no-op, so this path works on the channel bytes directly:
//! channels become `u16` in units of 1/256 of a level, each tap is one 16×16→high-16 multiply
//! (`pmulhuw`: 8, 16 or 32 lanes per instruction at the SSE2, AVX2 and AVX-512 levels of
//! [`crate::kernels::conv`], picked at run time) and one add, and the accumulators of a block
//! of pixels stay in registers across the taps. The vertical pass runs first, straight from the input
//! rows, so nothing but one row of intermediates is kept per output row.
//!
//! Precision: every product is truncated (at most one unit, 1/256 level, per tap; a bias adds
//! back the average loss) and weights are rounded to 1/65536, so results stay within about 0.1
//! level of the float path before rounding for kernels of a few dozen taps. The error of the
//! bias grows with the number of taps (and with how many taps are only a few units), so long
//! kernels whose two passes would move a flat area off its level are refused
//! ([`FixedKernel::new`] returns `None`) and run on the float path instead.

use fxchain_plugin_api::prelude::*;

use crate::kernels;

/// Channel lanes per block of the row passes that finish a convolution ([`blocks`]; the
/// convolution kernels themselves work on blocks of their level's width).
pub const LANES: usize = 32;
/// Pixels per block.
pub const BLOCK: usize = LANES / 4;

/// A 1-D kernel in 16-bit fixed point: weights sum to 65536.
#[derive(Clone, Debug)]
pub struct FixedKernel {
    /// The weights in units of 2^-16.
    pub(crate) weights: Vec<u16>,
    pub(crate) bias: u16,
}

impl FixedKernel {
    /// The fixed-point form of a normalized, non-negative kernel of odd length, for use on both
    /// axes; `None` when a weight does not fit (a kernel that is nearly a single tap, or one with
    /// negative lobes), or when applying it on both axes would change a flat area of some level
    /// (long kernels of small taps, whose truncation the bias no longer balances).
    pub fn new(k: &[f32]) -> Option<Self> {
        Self::quantize(k).filter(FixedKernel::keeps_flat_levels)
    }

    /// The weights rounded to 1/65536, the rounding remainder on the centre tap.
    fn quantize(k: &[f32]) -> Option<Self> {
        if k.len().is_multiple_of(2) || k.iter().any(|v| v.is_nan() || *v < 0.0) {
            return None;
        }
        let mut w: Vec<i64> = k.iter().map(|&v| (v as f64 * 65536.0).round() as i64).collect();
        // Make the weights sum to exactly 1 so flat areas stay flat.
        let c = w.len() / 2;
        w[c] += 65536 - w.iter().sum::<i64>();
        if w.iter().any(|&v| !(0..=65535).contains(&v)) {
            return None;
        }
        // Each truncated product loses half a unit on average; the bias adds that back.
        let bias = (w.len() / 2) as u16;
        Some(FixedKernel { weights: w.into_iter().map(|v| v as u16).collect(), bias })
    }

    /// Half the kernel length.
    pub fn radius(&self) -> usize {
        self.weights.len() / 2
    }

    /// One pass over a flat area of `v` (units of 1/256 level), as [`vertical`] and
    /// [`horizontal`] compute each lane.
    fn flat_pass(&self, v: u16) -> u16 {
        self.weights.iter().fold(self.bias, |a, &w| a.wrapping_add(mulhi(v, w)))
    }

    /// Whether every flat area keeps its level through both passes (so the kernel sum is exact
    /// after truncation: no loss of DC gain).
    fn keeps_flat_levels(&self) -> bool {
        (0..=255u8).all(|c| round8(self.flat_pass(self.flat_pass((c as u16) << 8))) == c)
    }
}

#[inline(always)]
fn mulhi(a: u16, b: u16) -> u16 {
    ((a as u32 * b as u32) >> 16) as u16
}

/// A blurred value (units of 1/256 level) rounded to 8 bits.
#[inline(always)]
pub fn round8(v: u16) -> u8 {
    ((v as u32 + 128) >> 8).min(255) as u8
}

/// The channel bytes of four pixels. Loops over such byte arrays vectorize; loops that read or
/// write the fields of each pixel one by one do not.
#[inline(always)]
pub fn bytes4(p: &[Rgba8; 4]) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (d, q) in b.chunks_exact_mut(4).zip(p) {
        d.copy_from_slice(&[q.r, q.g, q.b, q.a]);
    }
    b
}

/// Four pixels from their channel bytes (the inverse of [`bytes4`]).
#[inline(always)]
pub fn pixels4(b: &[u8; 16]) -> [Rgba8; 4] {
    std::array::from_fn(|i| Rgba8::new(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]))
}

/// Float lanes (channel values 0..255, four per pixel) rounded into pixels.
pub fn store_lanes(lanes: &[f32], out: &mut [Rgba8]) {
    let mut pixels = out.chunks_exact_mut(4);
    let mut blocks = lanes.chunks_exact(16);
    for (d, l) in (&mut pixels).zip(&mut blocks) {
        let mut bytes = [0u8; 16];
        for (b, &v) in bytes.iter_mut().zip(l) {
            *b = round_u8(v);
        }
        d.copy_from_slice(&pixels4(&bytes));
    }
    for (d, l) in pixels.into_remainder().iter_mut().zip(blocks.remainder().chunks_exact(4)) {
        *d = Rgba8::new(round_u8(l[0]), round_u8(l[1]), round_u8(l[2]), round_u8(l[3]));
    }
}

/// A row's channel bytes as lanes (four per pixel), each through `f`: four pixels at a time
/// through a byte array, so the conversion vectorizes (reading the fields of each pixel straight
/// into lanes does not).
#[inline(always)]
pub fn widen<T>(src: &[Rgba8], dst: &mut [T], f: impl Fn(u8) -> T) {
    let mut blocks = dst.chunks_exact_mut(16);
    let mut pixels = src.chunks_exact(4);
    for (d, p) in (&mut blocks).zip(&mut pixels) {
        let bytes = bytes4(p.try_into().expect("four pixels"));
        for (x, &b) in d.iter_mut().zip(&bytes) {
            *x = f(b);
        }
    }
    for (d, p) in blocks.into_remainder().chunks_exact_mut(4).zip(pixels.remainder()) {
        for (x, b) in d.iter_mut().zip([p.r, p.g, p.b, p.a]) {
            *x = f(b);
        }
    }
}

/// The row loops of [`widen8_at`] and [`store_row`] for one level.
macro_rules! widen_level {
    ($modname:ident $(, $feature:literal)?) => {
        mod $modname {
            use fxchain_plugin_api::Rgba8;
            $(#[target_feature(enable = $feature)])?
            pub fn widen8(src: &[Rgba8], dst: &mut [u16]) {
                super::widen(src, dst, |b| (b as u16) << 8);
            }
            $(#[target_feature(enable = $feature)])?
            pub fn store_row(line: &[u16], dst: &mut [Rgba8]) {
                for (x0, block, n) in super::blocks(line, dst.len()) {
                    super::store_block(&[], dst, x0, block, n);
                }
            }
        }
    };
}

widen_level!(base);
#[cfg(target_arch = "x86_64")]
widen_level!(avx2, "avx2,fma");
#[cfg(target_arch = "x86_64")]
widen_level!(avx512, "avx512f,avx512bw,avx512vl");

kernels::kernel! {
    /// One input row as lanes in units of 1/256 level (`c << 8`), the form the vertical pass
    /// reads.
    pub fn widen8_at(src: &[Rgba8], dst: &mut [u16]);
    scalar = base::widen8; sse2 = base::widen8; avx2 = avx2::widen8; avx512 = avx512::widen8;
}

kernels::kernel! {
    /// [`store_block`] along a row: `dst[x]` is the rounded lanes `line[4x..4x + 4]` (`line`
    /// padded to whole blocks, as [`convolve_rgba8_rows`] gives it).
    pub fn store_row(line: &[u16], dst: &mut [Rgba8]);
    scalar = base::store_row; sse2 = base::store_row; avx2 = avx2::store_row; avx512 = avx512::store_row;
}

/// `(v.clamp(0.0, 255.0) + 0.5) as u8`, written so that it vectorizes: the compiler turns float→int
/// `as` casts into scalar code (they saturate), so the integer is read from the bits of `r + 2²³`.
#[inline(always)]
pub fn round_u8(v: f32) -> u8 {
    const M: f32 = 8_388_608.0; // 2^23: integers up to it are exact, and `x + M` rounds x to one
    let y = v.clamp(0.0, 255.0) + 0.5;
    let r = (y + M) - M; // y rounded to nearest, ties to even
    let r = if r > y { r - 1.0 } else { r }; // floor(y)
    (r + M).to_bits() as u8
}

/// The blocks of a row of `width` pixels whose lanes `line` holds, padded to whole blocks:
/// each block's first pixel, its lanes and how many of its pixels are in the row.
#[inline(always)]
pub fn blocks(line: &[u16], width: usize) -> impl Iterator<Item = (usize, &[u16; LANES], usize)> {
    (0..width).step_by(BLOCK).map(move |x0| {
        let block = line[4 * x0..4 * x0 + LANES].try_into().expect("padded line");
        (x0, block, (width - x0).min(BLOCK))
    })
}

/// Convolves the opaque 8-bit `input` with `kx` and `ky` for every row of `out`, reading outside
/// the image with `border` (not [`Border::Transparent`], which makes the result translucent).
/// `finish(input_row, output_row, line)` turns each row's blurred values (units of 1/256 level,
/// four lanes per pixel, padded to whole blocks: `4 × width + LANES` lanes) into the output row,
/// itself a row kernel ([`store_row`], the unsharp formulas of `kernels::sharpen`).
///
/// Returns `false`, doing nothing, when the frames are not `Rgba8`.
pub fn convolve_rgba8_rows<P: Pixel>(
    input: &Image<'_, P>,
    out: &mut Band<'_, P>,
    kx: &FixedKernel,
    ky: &FixedKernel,
    border: Border,
    mut finish: impl FnMut(&[Rgba8], &mut [Rgba8], &[u16]),
) -> bool {
    if P::as_rgba8(&[]).is_none() || border == Border::Transparent {
        return false;
    }
    let width = input.width() as usize;
    let (rx, ry) = (kx.radius(), ky.radius());
    let avail = input.rows();
    let rows = out.rows();
    // Every input row the band reads, through the border, clamped into the rows we were given.
    let y_lo = rows.start as i64 - ry as i64;
    let src: Vec<&[Rgba8]> = (y_lo..rows.end as i64 + ry as i64)
        .map(|y| {
            let sy = border.index(y, input.height()).expect("not transparent") as u32;
            let sy = sy.clamp(avail.start, avail.end.saturating_sub(1));
            P::as_rgba8(input.row(sy)).expect("8-bit frame")
        })
        .collect();
    // The last `taps` input rows, widened, in a ring: each input row is widened once.
    let taps = ky.weights.len();
    let level = kernels::level();
    let mut ring = vec![vec![0u16; 4 * width]; taps];
    for (slot, row) in ring.iter_mut().zip(&src).take(taps - 1) {
        widen8_at(level, row, slot);
    }
    let mut ext = vec![0u16; 4 * (width + 2 * rx) + LANES];
    // The horizontal result, padded to whole blocks.
    let mut hline = vec![0u16; 4 * width + LANES];
    // Where each of the border pixels on the left and right of the line reads from.
    let left: Vec<usize> =
        (0..rx).map(|i| border.index(i as i64 - rx as i64, width as u32).expect("not transparent")).collect();
    let right: Vec<usize> =
        (0..rx).map(|i| border.index((width + i) as i64, width as u32).expect("not transparent")).collect();
    for (y, row) in out.rows_mut() {
        let dst = P::as_rgba8_mut(row).expect("8-bit frame");
        let j = (y - rows.start) as usize;
        widen8_at(level, src[j + taps - 1], &mut ring[(j + taps - 1) % taps]);
        let window: Vec<&[u16]> = (j..j + taps).map(|r| ring[r % taps].as_slice()).collect();
        let (line, _) = ext[4 * rx..].split_at_mut(4 * width);
        kernels::conv::vertical(level, &window, &ky.weights, ky.bias, line);
        for (i, (&l, &r)) in left.iter().zip(&right).enumerate() {
            ext.copy_within(4 * (rx + l)..4 * (rx + l) + 4, 4 * i);
            ext.copy_within(4 * (rx + r)..4 * (rx + r) + 4, 4 * (rx + width + i));
        }
        let orig = src[j + ry];
        kernels::conv::horizontal(level, &ext, &kx.weights, kx.bias, &mut hline[..4 * width]);
        finish(orig, dst, &hline);
    }
    true
}

/// The plain blur: each block rounded to 8 bits.
#[inline(always)]
pub fn store_block(_orig: &[Rgba8], dst: &mut [Rgba8], x0: usize, block: &[u16; LANES], n: usize) {
    if n == BLOCK {
        // Lane by lane into bytes (one vector operation), then the bytes into pixels.
        let mut bytes = [0u8; LANES];
        for (b, &v) in bytes.iter_mut().zip(block) {
            *b = round8(v);
        }
        let dst: &mut [Rgba8; BLOCK] = (&mut dst[x0..x0 + BLOCK]).try_into().expect("block of pixels");
        for (d, c) in dst.iter_mut().zip(bytes.chunks_exact(4)) {
            *d = Rgba8::new(c[0], c[1], c[2], c[3]);
        }
    } else {
        for (d, v) in dst[x0..x0 + n].iter_mut().zip(block.chunks_exact(4)) {
            *d = Rgba8::new(round8(v[0]), round8(v[1]), round8(v[2]), round8(v[3]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_widens_and_stores_as_the_scalar_reference() {
        let mut r = kernels::Rng::new(41);
        for w in [1usize, 3, 4, 5, 17, 64, 1001] {
            let px: Vec<Rgba8> = (0..w)
                .map(|_| {
                    let v = r.next();
                    Rgba8::new(v as u8, (v >> 8) as u8, (v >> 16) as u8, (v >> 24) as u8)
                })
                .collect();
            let want: Vec<u16> = px.iter().flat_map(|p| [p.r, p.g, p.b, p.a]).map(|b| (b as u16) << 8).collect();
            let line: Vec<u16> = (0..4 * w + LANES).map(|_| ((r.next() >> 32) % 65281) as u16).collect();
            let stored: Vec<Rgba8> = line[..4 * w]
                .chunks_exact(4)
                .map(|v| Rgba8::new(round8(v[0]), round8(v[1]), round8(v[2]), round8(v[3])))
                .collect();
            for level in kernels::Level::available_levels() {
                let mut got = vec![0u16; 4 * w];
                widen8_at(level, &px, &mut got);
                assert_eq!(got, want, "{level:?}, width {w}");
                let mut out = vec![Rgba8::default(); w];
                store_row(level, &line, &mut out);
                assert_eq!(out, stored, "{level:?}, width {w}");
            }
        }
    }
    use crate::conv::{convolve_band, gaussian_kernel};

    /// Deterministic opaque test pixels: gradients, noise and a hard edge.
    fn opaque_pixels(w: u32, h: u32) -> Vec<Rgba8> {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u32
        };
        (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let n = (next() % 48) as u8;
                Rgba8::new((x * 7) as u8 ^ n, (y * 11) as u8, if x > w / 2 { 250 } else { n }, 255)
            })
            .collect()
    }

    /// Blurs `px` with `k` on both axes through the fixed-point path (`None` when it does not
    /// apply).
    fn fixed_path(px: &[Rgba8], w: u32, h: u32, k: &[f32], border: Border) -> Option<Vec<Rgba8>> {
        let input = Image::new(px, w, h, w as usize).unwrap();
        FixedKernel::new(k).map(|fk| {
            let mut out = vec![Rgba8::default(); px.len()];
            let mut band = Band::new(&mut out, Size::new(w, h), w as usize, Rows::new(0, h)).unwrap();
            let level = kernels::level();
            assert!(convolve_rgba8_rows(&input, &mut band, &fk, &fk, border, |_, d, line| store_row(level, line, d)));
            out
        })
    }

    /// Blurs `px` with `k` on both axes through the float path (`Image::new` does not claim
    /// opacity, so pixels are premultiplied).
    fn float_path(px: &[Rgba8], w: u32, h: u32, k: &[f32], border: Border) -> Vec<Rgba8> {
        let input = Image::new(px, w, h, w as usize).unwrap();
        let mut out = vec![Rgba8::default(); px.len()];
        let mut band = Band::new(&mut out, Size::new(w, h), w as usize, Rows::new(0, h)).unwrap();
        convolve_band(&input, &mut band, k, k, border);
        out
    }

    fn channels(px: &[Rgba8]) -> impl Iterator<Item = u8> + '_ {
        px.iter().flat_map(|p| [p.r, p.g, p.b, p.a])
    }

    #[test]
    fn fixed_point_matches_the_float_convolution() {
        let (w, h) = (37, 29);
        let px = opaque_pixels(w, h);
        for sigma in [0.6, 1.5, 3.0, 5.0, 9.0] {
            for border in [Border::Clamp, Border::Mirror, Border::Wrap] {
                let k = gaussian_kernel(sigma);
                let fixed = fixed_path(&px, w, h, &k, border).unwrap_or_else(|| panic!("σ={sigma}: no fixed point"));
                let float = float_path(&px, w, h, &k, border);
                let diffs: Vec<u8> = channels(&fixed).zip(channels(&float)).map(|(a, b)| a.abs_diff(b)).collect();
                let off = diffs.iter().filter(|&&d| d > 0).count();
                assert!(diffs.iter().all(|&d| d <= 1), "σ={sigma} {border:?}: more than one level off");
                // Within about 0.1 level before rounding: only values near a rounding boundary differ.
                assert!(off * 20 <= diffs.len(), "σ={sigma} {border:?}: {off} of {} values differ", diffs.len());
            }
        }
    }

    #[test]
    fn fixed_point_keeps_flat_areas_at_any_sigma() {
        // Before, σ = 250 turned (0, 255, 0, 255) into (4, 252, 4, 252) and black became 1 from
        // σ ≈ 40: the truncation of many small taps lost DC gain.
        for sigma in [1.0, 8.0, 30.0, 40.0, 80.0, 150.0, 250.0] {
            let k = gaussian_kernel(sigma);
            for c in (0..=255u8).step_by(15).chain([1, 128, 254]) {
                // The fixed-point path treats alpha as any channel; the float path premultiplies.
                let px = vec![Rgba8::new(0, 255, c, 255 - c); 5 * 4];
                if let Some(fixed) = fixed_path(&px, 5, 4, &k, Border::Clamp) {
                    assert_eq!(fixed, px, "fixed point, σ={sigma}, level {c}");
                }
            }
            // Where the kernel is refused, the float path runs: it keeps flat areas too.
            for c in [0, 1, 128, 254, 255] {
                let px = vec![Rgba8::new(c, 255 - c, 0, 255); 5 * 4];
                assert_eq!(float_path(&px, 5, 4, &k, Border::Clamp), px, "float, σ={sigma}, level {c}");
            }
        }
    }

    #[test]
    fn only_long_kernels_leave_the_fixed_point_path() {
        // The short kernels keep their fixed-point form (and their pixels).
        for sigma in [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0] {
            assert!(FixedKernel::new(&gaussian_kernel(sigma)).is_some(), "σ={sigma}");
        }
        assert!(FixedKernel::new(&gaussian_kernel(250.0)).is_none());
        // A kernel that is nearly one tap, and one with a negative lobe, never had one.
        assert!(FixedKernel::new(&gaussian_kernel(0.1)).is_none());
        assert!(FixedKernel::new(&[-0.25, 1.5, -0.25]).is_none());
    }

    #[test]
    fn rounding_helpers_round_half_up_and_saturate() {
        assert_eq!([round8(0), round8(127), round8(128), round8(65535)], [0, 0, 1, 255]);
        assert_eq!(
            [round_u8(-3.0), round_u8(1.49), round_u8(1.5), round_u8(254.5), round_u8(300.0)],
            [0, 1, 2, 255, 255]
        );
        let p = [Rgba8::new(1, 2, 3, 4), Rgba8::new(5, 6, 7, 8), Rgba8::new(9, 10, 11, 12), Rgba8::new(13, 14, 15, 16)];
        assert_eq!(pixels4(&bytes4(&p)), p);
    }
}
