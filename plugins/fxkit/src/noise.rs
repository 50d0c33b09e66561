//! Deterministic hashing and lattice noise. Every value depends only on its coordinates and the
//! seed, so generators give the same pixels for any band split or thread count.
//!
//! The per-pixel functions ([`value`], [`perlin`], [`Fbm::sample`]) are the reference. The row
//! functions ([`Lattice::row`], [`Fbm::sample_row`]) give the same bits for a whole row of
//! samples at one `y`: they hash each lattice corner the row touches once (not four hashes per
//! pixel and octave) and interpolate the pixels with the runtime-dispatched loops of
//! [`crate::kernels::noise`].

use crate::kernels::{self, Level};

/// A 64-bit hash of `(x, y, seed)` (SplitMix64-style finalizer).
#[inline]
pub fn hash2(x: i64, y: i64, seed: u64) -> u64 {
    let mut h = seed ^ (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 30;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// A uniform float in 0..1 from `(x, y, seed)`.
#[inline]
pub fn rand2(x: i64, y: i64, seed: u64) -> f32 {
    (hash2(x, y, seed) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// A seeded sequence of uniform numbers, for effects that draw a few random parameters.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        hash2(self.0 as i64, 0, 0x1234_5678)
    }
    /// A float in 0..1.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
    /// A float in `lo..hi`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    /// An integer in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1).max(1) as u64) as i64
    }
    /// A standard normal number (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// `x.floor()`, inlined: without SSE4.1 the standard `floor` is a call into libm, which costs more
/// than the rest of a noise lookup. Same result for every input (integers from 2^23 up, and NaN,
/// are returned as they are).
#[inline(always)]
pub(crate) fn floor(x: f32) -> f32 {
    if x.abs() < 8_388_608.0 {
        let t = x as i32 as f32;
        if t > x {
            t - 1.0
        } else {
            t
        }
    } else {
        x
    }
}

#[inline(always)]
pub(crate) fn smooth(t: f32) -> f32 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

#[inline(always)]
pub(crate) fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Value noise in 0..1 at `(x, y)` in lattice units.
#[inline]
pub fn value(x: f32, y: f32, seed: u64) -> f32 {
    let (xf, yf) = (floor(x), floor(y));
    let (xi, yi) = (xf as i64, yf as i64);
    let (tx, ty) = (smooth(x - xf), smooth(y - yf));
    // Wrapping: a huge or infinite coordinate saturates to the last cell.
    let (xj, yj) = (xi.wrapping_add(1), yi.wrapping_add(1));
    let a = rand2(xi, yi, seed);
    let b = rand2(xj, yi, seed);
    let c = rand2(xi, yj, seed);
    let d = rand2(xj, yj, seed);
    lerp(lerp(a, b, tx), lerp(c, d, tx), ty)
}

/// [`value`] along one lattice row `y` for `x` in `0..cells`: the corners hashed once, each
/// sample interpolated from them with the same operations, so the same bits as [`value`].
/// Samples outside the table (or NaN) are computed by [`value`].
#[derive(Clone, Debug)]
pub struct ValueLine {
    y: f32,
    seed: u64,
    ty: f32,
    top: Vec<f32>,
    bot: Vec<f32>,
}

impl ValueLine {
    /// The line `y` of the lattice of `seed`, for `x` in `0..cells`.
    pub fn new(cells: u32, y: f32, seed: u64) -> Self {
        let yf = floor(y);
        let yi = yf as i64;
        let row = |r: i64| (0..=cells as i64).map(|x| rand2(x, yi.wrapping_add(r), seed)).collect();
        ValueLine { y, seed, ty: smooth(y - yf), top: row(0), bot: row(1) }
    }

    /// `value(x, y, seed)`.
    #[inline]
    pub fn at(&self, x: f32) -> f32 {
        let xf = floor(x);
        let i = xf as i64;
        if i < 0 || i >= self.top.len() as i64 - 1 || !(x - xf).is_finite() {
            return value(x, self.y, self.seed);
        }
        let (i, tx) = (i as usize, smooth(x - xf));
        lerp(lerp(self.top[i], self.top[i + 1], tx), lerp(self.bot[i], self.bot[i + 1], tx), self.ty)
    }
}

/// The gradient of a lattice corner whose hash is `h` (eight directions, by `h & 7`), dotted with
/// the offset `(dx, dy)` from the corner.
#[inline(always)]
fn gradient(h: u64, dx: f32, dy: f32) -> f32 {
    match h & 7 {
        0 => dx + dy,
        1 => dx - dy,
        2 => -dx + dy,
        3 => -dx - dy,
        4 => dx * std::f32::consts::SQRT_2,
        5 => -dx * std::f32::consts::SQRT_2,
        6 => dy * std::f32::consts::SQRT_2,
        _ => -dy * std::f32::consts::SQRT_2,
    }
}

/// Perlin gradient noise in about -1..1 (most values within ±0.5) at `(x, y)` in lattice units.
#[inline]
pub fn perlin(x: f32, y: f32, seed: u64) -> f32 {
    let (xf, yf) = (floor(x), floor(y));
    let (xi, yi) = (xf as i64, yf as i64);
    let (fx, fy) = (x - xf, y - yf);
    let grad = |ix: i64, iy: i64, dx: f32, dy: f32| gradient(hash2(ix, iy, seed), dx, dy);
    let (u, v) = (smooth(fx), smooth(fy));
    let n00 = grad(xi, yi, fx, fy);
    let n10 = grad(xi + 1, yi, fx - 1.0, fy);
    let n01 = grad(xi, yi + 1, fx, fy - 1.0);
    let n11 = grad(xi + 1, yi + 1, fx - 1.0, fy - 1.0);
    lerp(lerp(n00, n10, u), lerp(n01, n11, u), v)
}

/// [`value`] that keeps the corner values of the last cell it was asked about: the same bits,
/// one hash instead of four per sample while successive samples stay in a cell (a row across a
/// rotated or stretched lattice).
#[derive(Clone, Debug)]
pub struct ValueCached {
    seed: u64,
    cell: Option<(i64, i64)>,
    corners: [f32; 4],
}

impl ValueCached {
    /// Value noise for `seed`.
    pub fn new(seed: u64) -> Self {
        ValueCached { seed, cell: None, corners: [0.0; 4] }
    }

    /// `value(x, y, seed)`.
    #[inline]
    pub fn at(&mut self, x: f32, y: f32) -> f32 {
        let (xf, yf) = (floor(x), floor(y));
        let (xi, yi) = (xf as i64, yf as i64);
        if self.cell != Some((xi, yi)) {
            let s = self.seed;
            self.cell = Some((xi, yi));
            self.corners = [rand2(xi, yi, s), rand2(xi + 1, yi, s), rand2(xi, yi + 1, s), rand2(xi + 1, yi + 1, s)];
        }
        let (tx, ty) = (smooth(x - xf), smooth(y - yf));
        let [a, b, c, d] = self.corners;
        lerp(lerp(a, b, tx), lerp(c, d, tx), ty)
    }
}

/// The row form of gradient `h & 7` of [`perlin`] on a row whose corner offset in y is `dy`:
/// `(p, c)` with `p * dx + c` giving the same bits as the gradient term for every `dx`, while
/// `dy` is not zero (`x + -0.0` is `x`; `±0 * dx + c` is `c` for `c` not zero).
fn gradient_row(h: u64, dy: f32) -> (f32, f32) {
    const S: f32 = std::f32::consts::SQRT_2;
    match h & 7 {
        0 => (1.0, dy),
        1 => (1.0, -dy),
        2 => (-1.0, dy),
        3 => (-1.0, -dy),
        4 => (S, -0.0),
        5 => (-S, -0.0),
        6 => (0.0, dy * S),
        _ => (0.0, -dy * S),
    }
}

/// A base lattice noise, for the row functions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lattice {
    /// [`value`] noise, in 0..1.
    Value,
    /// [`perlin`] gradient noise, in about -1..1.
    Perlin,
}

impl Lattice {
    /// The noise at `(x, y)`: [`value`] or [`perlin`].
    #[inline]
    pub fn at(self, x: f32, y: f32, seed: u64) -> f32 {
        match self {
            Lattice::Value => value(x, y, seed),
            Lattice::Perlin => perlin(x, y, seed),
        }
    }

    /// `out[i] = self.at(xs[i] * mul, y, seed)` for every `i` (up to the shorter length), bit for
    /// bit, at any `level`. Each lattice corner between the smallest and the largest cell is
    /// hashed once; rows that would need far more corners than pixels, cells from 2^22 up
    /// and Perlin rows on a lattice line in y are computed per pixel.
    pub fn row(self, level: Level, xs: &[f32], mul: f32, y: f32, seed: u64, out: &mut [f32]) {
        self.row_with(&mut RowScratch::default(), level, xs, mul, y, seed, out)
    }

    /// [`Lattice::row`] with buffers kept in `scratch` between calls; the corners' hashes are
    /// kept too and reused while the next row (of the same seed) lies on the same lattice rows.
    #[allow(clippy::too_many_arguments)]
    pub fn row_with(
        self,
        scratch: &mut RowScratch,
        level: Level,
        xs: &[f32],
        mul: f32,
        y: f32,
        seed: u64,
        out: &mut [f32],
    ) {
        let n = xs.len().min(out.len());
        let (xs, out) = (&xs[..n], &mut out[..n]);
        if n == 0 {
            return;
        }
        let RowScratch { xf, key, hashes, tab } = scratch;
        xf.resize(n, 0.0);
        let mut range = (0.0, 0.0, false);
        kernels::noise::floors(level, xs, mul, xf, &mut range);
        let (lo, hi, ok) = range;
        let (yf, fy) = (floor(y), y - floor(y));
        let yi = yf as i64;
        let per_pixel =
            !ok || hi - lo > (2 * n + 64) as f32 || (self == Lattice::Perlin && (fy == 0.0 || fy - 1.0 == 0.0));
        if per_pixel {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = self.at(x * mul, y, seed);
            }
            return;
        }
        // Corners `lo ..= hi + 1` on the lattice rows `yi` and `yi + 1`, and room for the
        // kernels to read a few corners past the end.
        let corners = (hi - lo) as usize + 2;
        let x0 = lo as i64;
        if *key != Some((self, seed, yi, x0, corners)) {
            *key = Some((self, seed, yi, x0, corners));
            hashes.clear();
            for r in 0..2 {
                hashes.extend((0..corners as i64).map(|j| hash2(x0 + j, yi + r, seed)));
            }
        }
        let (top, bot) = hashes.split_at(corners);
        for t in tab.iter_mut() {
            t.clear();
        }
        match self {
            Lattice::Value => {
                // As `rand2`.
                let unit = |h: u64| (h >> 40) as f32 * (1.0 / (1u64 << 24) as f32);
                tab[0].extend(top.iter().map(|&h| unit(h)));
                tab[1].extend(bot.iter().map(|&h| unit(h)));
            }
            Lattice::Perlin => {
                for (r, (hs, dy)) in [(top, fy), (bot, fy - 1.0)].into_iter().enumerate() {
                    for &h in hs {
                        let (p, c) = gradient_row(h, dy);
                        tab[2 * r].push(p);
                        tab[2 * r + 1].push(c);
                    }
                }
            }
        }
        tab.iter_mut().for_each(|t| t.resize(corners + 8, 0.0));
        let [a, b, c, d] = &*tab;
        let k = kernels::noise::Corners { lo, tables: [a, b, c, d] };
        match self {
            Lattice::Value => kernels::noise::value_pixels(level, xs, mul, xf, &k, smooth(fy), out),
            Lattice::Perlin => kernels::noise::perlin_pixels(level, xs, mul, xf, &k, smooth(fy), out),
        }
    }
}

/// Buffers of [`Lattice::row_with`] kept between rows, with the hashes of the last row's
/// lattice corners.
#[derive(Clone, Debug, Default)]
pub struct RowScratch {
    xf: Vec<f32>,
    key: Option<(Lattice, u64, i64, i64, usize)>,
    hashes: Vec<u64>,
    tab: [Vec<f32>; 4],
}

/// Buffers of [`Fbm::sample_row_with`] kept between rows: one [`RowScratch`] per octave.
#[derive(Clone, Debug, Default)]
pub struct FbmScratch {
    octave: Vec<f32>,
    rows: Vec<RowScratch>,
}

/// Fractal Brownian motion: a sum of octaves of a base noise.
#[derive(Copy, Clone, Debug)]
pub struct Fbm {
    /// Number of layers.
    pub octaves: u32,
    /// Amplitude ratio between successive octaves.
    pub gain: f32,
    /// Frequency ratio between successive octaves.
    pub lacunarity: f32,
}

impl Fbm {
    /// The fractal sum of `base` at `(x, y)`, normalized to 0..1 (`signed` bases in -1..1 are
    /// mapped to 0..1 first).
    #[inline]
    pub fn sample(&self, x: f32, y: f32, seed: u64, base: fn(f32, f32, u64) -> f32, signed: bool) -> f32 {
        let (mut sum, mut amp, mut freq, mut norm) = (0.0, 1.0, 1.0, 0.0);
        for o in 0..self.octaves.max(1) {
            let s = seed.wrapping_add(o as u64 * 0x9E37_79B9);
            let n = base(x * freq, y * freq, s);
            sum += amp * if signed { n * 0.5 + 0.5 } else { n };
            norm += amp;
            amp *= self.gain;
            freq *= self.lacunarity;
        }
        sum / norm
    }

    /// `out[i] = self.sample(xs[i], y, seed, base, signed)` for every `i` (up to the shorter
    /// length), bit for bit, with the level the process runs kernels at.
    pub fn sample_row(&self, xs: &[f32], y: f32, seed: u64, base: Lattice, signed: bool, out: &mut [f32]) {
        self.sample_row_at(kernels::level(), xs, y, seed, base, signed, out)
    }

    /// [`Fbm::sample_row`] at `level`.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_row_at(
        &self,
        level: Level,
        xs: &[f32],
        y: f32,
        seed: u64,
        base: Lattice,
        signed: bool,
        out: &mut [f32],
    ) {
        self.sample_row_with(&mut FbmScratch::default(), level, xs, y, seed, base, signed, out)
    }

    /// [`Fbm::sample_row_at`] with buffers and corner hashes kept in `scratch` between rows.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_row_with(
        &self,
        scratch: &mut FbmScratch,
        level: Level,
        xs: &[f32],
        y: f32,
        seed: u64,
        base: Lattice,
        signed: bool,
        out: &mut [f32],
    ) {
        let n = xs.len().min(out.len());
        let (xs, out) = (&xs[..n], &mut out[..n]);
        out.fill(0.0);
        let octaves = self.octaves.max(1) as usize;
        let FbmScratch { octave, rows } = scratch;
        octave.resize(n, 0.0);
        if rows.len() < octaves {
            rows.resize_with(octaves, RowScratch::default);
        }
        let (mut amp, mut freq, mut norm) = (1.0f32, 1.0f32, 0.0f32);
        for (o, rs) in rows.iter_mut().enumerate().take(octaves) {
            let s = seed.wrapping_add(o as u64 * 0x9E37_79B9);
            base.row_with(rs, level, xs, freq, y * freq, s, octave);
            if signed {
                out.iter_mut().zip(&*octave).for_each(|(sum, &n)| *sum += amp * (n * 0.5 + 0.5));
            } else {
                out.iter_mut().zip(&*octave).for_each(|(sum, &n)| *sum += amp * n);
            }
            norm += amp;
            amp *= self.gain;
            freq *= self.lacunarity;
        }
        out.iter_mut().for_each(|sum| *sum /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_line_is_value_on_its_row() {
        let mut r = Rng::new(5);
        for (cells, y, seed) in [(6u32, 0.5f32, 7u64), (90, 3.0, 11), (90, -3.0, 11), (4, 1.5, 3)] {
            let line = ValueLine::new(cells, y, seed);
            let mut xs: Vec<f32> = (0..10_000).map(|_| r.range(-2.0, cells as f32 + 2.0)).collect();
            xs.extend([0.0, cells as f32, cells as f32 - 1e-6, -0.0, f32::NAN, f32::INFINITY, 1e30]);
            for x in xs {
                assert_eq!(line.at(x).to_bits(), value(x, y, seed).to_bits(), "x {x}, y {y}");
            }
        }
    }
    use crate::kernels::Rng as TestRng;

    fn unit(r: &mut TestRng) -> f32 {
        (r.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Rows of sample positions: generator-like ramps `(x0 + i + 0.5) / scale` at random scales
    /// and offsets (some negative), plus unordered positions.
    fn rows(r: &mut TestRng) -> Vec<(Vec<f32>, f32)> {
        let mut out = Vec::new();
        for case in 0..120 {
            let n = match case % 6 {
                0 => 1,
                1 => 2 + r.below(7),
                2 => 1 + 2 * r.below(300),
                _ => 1 + r.below(700),
            };
            let scale = [0.3, 1.0, 1.7, 8.0, 13.3, 64.0, 500.0][r.below(7)];
            let x0 = r.below(4000) as f32 - 1000.0;
            let xs: Vec<f32> = if case % 10 == 9 {
                (0..n).map(|_| (unit(r) - 0.5) * 40.0).collect()
            } else {
                (0..n).map(|i| (x0 + i as f32 + 0.5) / scale).collect()
            };
            // Some rows on a lattice line (the per-pixel path of Perlin rows).
            let y = if case % 7 == 3 { r.below(50) as f32 - 20.0 } else { (r.below(3000) as f32 - 900.5) / scale };
            out.push((xs, y));
        }
        out
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn rows_of_lattice_noise_give_the_bits_of_the_per_pixel_functions_at_every_level() {
        let mut r = TestRng::new(11);
        for (case, (xs, y)) in rows(&mut r).into_iter().enumerate() {
            let seed = r.next();
            let mul = [1.0, 2.0, 2.1, 0.7, 4.0][case % 5];
            for base in [Lattice::Value, Lattice::Perlin] {
                let want: Vec<f32> = xs.iter().map(|&x| base.at(x * mul, y, seed)).collect();
                for level in Level::available_levels() {
                    let mut got = vec![f32::NAN; xs.len()];
                    base.row(level, &xs, mul, y, seed, &mut got);
                    assert_eq!(bits(&got), bits(&want), "{base:?} at {level}, case {case}, y {y}, xs {:?}", &xs[..1]);
                }
            }
        }
    }

    #[test]
    fn fbm_rows_give_the_bits_of_the_per_pixel_sums_at_every_level() {
        let mut r = TestRng::new(5);
        for (case, (xs, y)) in rows(&mut r).into_iter().enumerate().step_by(3) {
            let seed = r.next();
            let fbm = Fbm {
                octaves: 1 + r.below(6) as u32,
                gain: [0.5, 0.55, 0.7][case % 3],
                lacunarity: [2.0, 2.1, 3.3][case % 3],
            };
            for (base, f, signed) in
                [(Lattice::Value, value as fn(f32, f32, u64) -> f32, false), (Lattice::Perlin, perlin, true)]
            {
                let want: Vec<f32> = xs.iter().map(|&x| fbm.sample(x, y, seed, f, signed)).collect();
                for level in Level::available_levels() {
                    let mut got = vec![f32::NAN; xs.len()];
                    fbm.sample_row_at(level, &xs, y, seed, base, signed, &mut got);
                    assert_eq!(bits(&got), bits(&want), "{base:?} {fbm:?} at {level}, case {case}");
                }
            }
        }
    }

    #[test]
    fn rows_through_one_scratch_give_the_bits_of_fresh_rows() {
        // Successive rows (most on the lattice rows of the one before), widths and seeds that
        // change between calls, at every level.
        let mut r = TestRng::new(21);
        let fbm = Fbm { octaves: 5, gain: 0.5, lacunarity: 2.0 };
        for level in Level::available_levels() {
            for base in [Lattice::Value, Lattice::Perlin] {
                let mut scratch = FbmScratch::default();
                for row in 0..200 {
                    let (w, scale, seed) = (1 + row / 40 * 37, [7.0, 64.0][row % 2], 3 + (row / 50) as u64);
                    let xs: Vec<f32> = (0..w).map(|i| (i as f32 + 0.5) / scale).collect();
                    let y = (row as f32 * 0.9 + 0.5) / scale + r.below(2) as f32 * 0.01;
                    let mut fresh = vec![0.0f32; w];
                    let mut kept = vec![0.0f32; w];
                    fbm.sample_row_at(level, &xs, y, seed, base, true, &mut fresh);
                    fbm.sample_row_with(&mut scratch, level, &xs, y, seed, base, true, &mut kept);
                    assert_eq!(bits(&kept), bits(&fresh), "{base:?} at {level}, row {row}");
                }
            }
        }
    }

    #[test]
    fn cached_value_noise_gives_the_bits_of_value_noise() {
        let mut r = TestRng::new(9);
        for _ in 0..50 {
            let seed = r.next();
            let mut v = ValueCached::new(seed);
            let (a, step) = (unit(&mut r) * 3.2, 0.1 + unit(&mut r) * 2.0);
            let (x0, y0) = ((unit(&mut r) - 0.5) * 500.0, (unit(&mut r) - 0.5) * 500.0);
            for i in 0..300 {
                // Along a rotated line, with jumps back to revisit cells.
                let t = (i % 97) as f32 * step;
                let (x, y) = (x0 + t * a.cos(), y0 + t * a.sin());
                assert_eq!(v.at(x, y).to_bits(), value(x, y, seed).to_bits(), "({x}, {y})");
            }
        }
    }

    #[test]
    fn the_row_form_of_each_gradient_matches_the_reference_for_any_dx() {
        // Including the zeros, whose sign the reference keeps.
        for h in 0..8u64 {
            for dy in [0.25f32, -0.75, 1e-30, -1.0] {
                let (p, c) = gradient_row(h, dy);
                for dx in [0.0f32, -0.0, 0.5, -0.5, 1e-38, -1.0, 0.999] {
                    // The reference's gradient for code `h`, as `perlin` computes it.
                    let want = gradient(h, dx, dy);
                    assert_eq!((p * dx + c).to_bits(), want.to_bits(), "code {h}, dx {dx}, dy {dy}");
                }
            }
        }
    }
}
