//! Deterministic hashing and lattice noise. Every value depends only on its coordinates and the
//! seed, so generators give the same pixels for any band split or thread count.

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
fn floor(x: f32) -> f32 {
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

#[inline]
fn smooth(t: f32) -> f32 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

#[inline]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Value noise in 0..1 at `(x, y)` in lattice units.
#[inline]
pub fn value(x: f32, y: f32, seed: u64) -> f32 {
    let (xf, yf) = (floor(x), floor(y));
    let (xi, yi) = (xf as i64, yf as i64);
    let (tx, ty) = (smooth(x - xf), smooth(y - yf));
    let a = rand2(xi, yi, seed);
    let b = rand2(xi + 1, yi, seed);
    let c = rand2(xi, yi + 1, seed);
    let d = rand2(xi + 1, yi + 1, seed);
    lerp(lerp(a, b, tx), lerp(c, d, tx), ty)
}

/// Perlin gradient noise in about -1..1 (most values within ±0.5) at `(x, y)` in lattice units.
#[inline]
pub fn perlin(x: f32, y: f32, seed: u64) -> f32 {
    let (xf, yf) = (floor(x), floor(y));
    let (xi, yi) = (xf as i64, yf as i64);
    let (fx, fy) = (x - xf, y - yf);
    let grad = |ix: i64, iy: i64, dx: f32, dy: f32| -> f32 {
        // Eight gradient directions.
        match hash2(ix, iy, seed) & 7 {
            0 => dx + dy,
            1 => dx - dy,
            2 => -dx + dy,
            3 => -dx - dy,
            4 => dx * std::f32::consts::SQRT_2,
            5 => -dx * std::f32::consts::SQRT_2,
            6 => dy * std::f32::consts::SQRT_2,
            _ => -dy * std::f32::consts::SQRT_2,
        }
    };
    let (u, v) = (smooth(fx), smooth(fy));
    let n00 = grad(xi, yi, fx, fy);
    let n10 = grad(xi + 1, yi, fx - 1.0, fy);
    let n01 = grad(xi, yi + 1, fx, fy - 1.0);
    let n11 = grad(xi + 1, yi + 1, fx - 1.0, fy - 1.0);
    lerp(lerp(n00, n10, u), lerp(n01, n11, u), v)
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
}
