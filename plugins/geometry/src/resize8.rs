//! Resampling of opaque 8-bit frames.
//!
//! Premultiplying is a no-op on opaque frames, so this path skips the per-pixel conversion to
//! premultiplied `[f32; 4]` of the general one and works on channel values 0..255 in plain `f32`
//! lanes. It also runs the vertical pass first, on each input row converted once and kept in a
//! small ring, so a band never holds more than a kernel's worth of rows: when shrinking, the
//! second (horizontal) pass then runs on already reduced rows.

use fxchain_plugin_api::prelude::*;
use fxkit::fixed::store_lanes;

use crate::resize::Taps;

/// Lanes per block of the vertical pass: 32 `u16`, four SSE registers per accumulator.
const LANES: usize = 32;

/// The taps of a resize laid out for the 8-bit path.
pub struct Taps8 {
    xs: HorizontalTaps,
    /// `None` for rows whose weights do not fit the fixed-point form (a weight above 1, as at the
    /// edges of some enlargements): those rows are filtered in floats.
    ys: Vec<Option<VerticalFixed>>,
    /// Most input rows one output row reads.
    max_rows: usize,
}

impl Taps8 {
    /// The layout of `xs` and `ys`.
    pub fn new(xs: &[Taps], ys: &[Taps], width: usize) -> Self {
        let max_rows = ys.iter().map(|t| t.weights.len()).max().unwrap_or(1);
        let ys = ys.iter().map(|t| VerticalFixed::new(&t.weights)).collect();
        Taps8 { xs: HorizontalTaps::new(xs, width), ys, max_rows }
    }
}

/// Horizontal taps: the same number `n` for every output pixel (windows at the edges are moved
/// inwards and padded with zero weights), each weight repeated in the four lanes of a pixel.
struct HorizontalTaps {
    n: usize,
    starts: Vec<usize>,
    weights: Vec<[f32; 4]>,
}

impl HorizontalTaps {
    fn new(xs: &[Taps], width: usize) -> Self {
        let n = xs.iter().map(|t| t.weights.len()).max().unwrap_or(1).min(width);
        let mut starts = Vec::with_capacity(xs.len());
        let mut weights = vec![[0f32; 4]; n * xs.len()];
        for (t, w) in xs.iter().zip(weights.chunks_exact_mut(n)) {
            let start = t.start.min(width - n);
            starts.push(start);
            for (k, &v) in t.weights.iter().enumerate() {
                w[t.start - start + k] = [v; 4];
            }
        }
        HorizontalTaps { n, starts, weights }
    }
}

/// Largest lane value: channels are held as `c << 7` (units of 1/128 level), so that two of them
/// add up without overflowing `u16`.
const PMAX: u16 = 255 << 7;

/// One input row as lanes of `c << 7`.
fn widen(src: &[Rgba8], dst: &mut [u16]) {
    fxkit::fixed::widen(src, dst, |b| (b as u16) << 7);
}

/// The vertical taps of one output row in fixed point. Every product is a 16×16→high-16 multiply
/// (`pmulhuw`, eight lanes per instruction) of non-negative numbers: positive and negative
/// weights go to separate accumulators, and a symmetric kernel adds the two rows that share a
/// weight before multiplying. Each kind of term has its own loop, so the accumulators stay in
/// registers.
struct VerticalFixed {
    /// `(row, |w|)` with `|w|` in units of 2^-16, for positive and negative weights.
    pos: Vec<(usize, u16)>,
    neg: Vec<(usize, u16)>,
    /// `(row, row, |w|)`: pairs of rows sharing a weight.
    pos2: Vec<(usize, usize, u16)>,
    neg2: Vec<(usize, usize, u16)>,
    /// Added back at the end: the average truncation loss, half a unit per product.
    bias: f32,
}

impl VerticalFixed {
    fn new(w: &[f32]) -> Option<Self> {
        let n = w.len();
        let symmetric = (0..n / 2).all(|k| w[k] == w[n - 1 - k]);
        if w.iter().any(|v| v.abs() as f64 * 65536.0 > 65535.0) {
            return None;
        }
        let fixed = |v: f32| (v.abs() as f64 * 65536.0).round() as u16;
        let mut f = VerticalFixed { pos: vec![], neg: vec![], pos2: vec![], neg2: vec![], bias: 0.0 };
        let mut sums = [0f64; 2];
        let terms = if symmetric { n.div_ceil(2) } else { n };
        for (k, &v) in w.iter().enumerate().take(terms) {
            let (neg, wk) = (v < 0.0, fixed(v));
            if symmetric && k != n - 1 - k {
                if neg { &mut f.neg2 } else { &mut f.pos2 }.push((k, n - 1 - k, wk));
                sums[neg as usize] += 2.0 * wk as f64;
            } else {
                if neg { &mut f.neg } else { &mut f.pos }.push((k, wk));
                sums[neg as usize] += wk as f64;
            }
        }
        let products = f.pos.len() + f.neg.len() + f.pos2.len() + f.neg2.len();
        // Each accumulator must stay below 2^16.
        if sums.iter().any(|&s| s / 65536.0 * PMAX as f64 > 65000.0) {
            return None;
        }
        f.bias = products as f32 / 2.0;
        Some(f)
    }

    /// `out = Σ w_k · rows[k]` in channel units (0..255, floats for the horizontal pass).
    fn apply(&self, rows: &[&[u16]], out: &mut [f32]) {
        let n = out.len();
        let mut i = 0;
        let block = |r: usize, i: usize| -> &[u16; LANES] { rows[r][i..i + LANES].try_into().expect("block") };
        while i + LANES <= n {
            let mut pos = [[0u16; 8]; LANES / 8];
            let mut neg = [[0u16; 8]; LANES / 8];
            for &(r, w) in &self.pos {
                mac(&mut pos, block(r, i), w);
            }
            for &(a, b, w) in &self.pos2 {
                mac2(&mut pos, block(a, i), block(b, i), w);
            }
            for &(r, w) in &self.neg {
                mac(&mut neg, block(r, i), w);
            }
            for &(a, b, w) in &self.neg2 {
                mac2(&mut neg, block(a, i), block(b, i), w);
            }
            for ((o, p), q) in out[i..i + LANES].chunks_exact_mut(8).zip(&pos).zip(&neg) {
                for l in 0..8 {
                    o[l] = (p[l] as f32 - q[l] as f32 + self.bias) * (1.0 / 128.0);
                }
            }
            i += LANES;
        }
        for (j, o) in out.iter_mut().enumerate().skip(i) {
            let sum = |single: &[(usize, u16)], pairs: &[(usize, usize, u16)]| {
                let s = single.iter().map(|&(r, w)| mulhi(rows[r][j], w) as f32).sum::<f32>();
                s + pairs.iter().map(|&(a, b, w)| mulhi(rows[a][j] + rows[b][j], w) as f32).sum::<f32>()
            };
            *o = (sum(&self.pos, &self.pos2) - sum(&self.neg, &self.neg2) + self.bias) * (1.0 / 128.0);
        }
    }
}

/// The vertical pass in floats, for the rows [`VerticalFixed`] cannot take.
fn vertical_f32(rows: &[&[u16]], w: &[f32], out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = rows.iter().zip(w).fold(0.0, |a, (row, &wk)| a + row[j] as f32 * wk) * (1.0 / 128.0);
    }
}

#[inline(always)]
fn mulhi(a: u16, b: u16) -> u16 {
    ((a as u32 * b as u32) >> 16) as u16
}

/// `acc += mulhi(src, w)` over a block of lanes, eight per register.
#[inline(always)]
fn mac(acc: &mut [[u16; 8]; LANES / 8], src: &[u16; LANES], w: u16) {
    for (a, s) in acc.iter_mut().zip(src.chunks_exact(8)) {
        for l in 0..8 {
            a[l] = a[l].wrapping_add(mulhi(s[l], w));
        }
    }
}

/// `acc += mulhi(x + y, w)`: two rows that share a weight.
#[inline(always)]
fn mac2(acc: &mut [[u16; 8]; LANES / 8], x: &[u16; LANES], y: &[u16; LANES], w: u16) {
    for ((a, s), t) in acc.iter_mut().zip(x.chunks_exact(8)).zip(y.chunks_exact(8)) {
        for l in 0..8 {
            a[l] = a[l].wrapping_add(mulhi(s[l] + t[l], w));
        }
    }
}

/// The horizontal pass over one vertically filtered row, into float lanes.
fn horizontal(v: &[f32], t: &HorizontalTaps, out: &mut [f32]) {
    // A constant tap count lets the compiler unroll the taps; two pixels at a time keep two
    // independent chains of additions in flight.
    match t.n {
        2 => horizontal_n::<2>(v, t, out),
        4 => horizontal_n::<4>(v, t, out),
        6 => horizontal_n::<6>(v, t, out),
        8 => horizontal_n::<8>(v, t, out),
        12 => horizontal_n::<12>(v, t, out),
        n => {
            for ((d, &s), w) in out.chunks_exact_mut(4).zip(&t.starts).zip(t.weights.chunks_exact(n)) {
                d.copy_from_slice(&dot(&v[4 * s..4 * (s + n)], w));
            }
        }
    }
}

fn horizontal_n<const N: usize>(v: &[f32], t: &HorizontalTaps, out: &mut [f32]) {
    let mut outs = out.chunks_exact_mut(8);
    let mut starts = t.starts.chunks_exact(2);
    let mut weights = t.weights.chunks_exact(2 * N);
    for ((d, s), w) in (&mut outs).zip(&mut starts).zip(&mut weights) {
        let (w0, w1) = w.split_at(N);
        let a = dot(&v[4 * s[0]..4 * (s[0] + N)], w0);
        let b = dot(&v[4 * s[1]..4 * (s[1] + N)], w1);
        d[..4].copy_from_slice(&a);
        d[4..].copy_from_slice(&b);
    }
    for ((d, &s), w) in
        outs.into_remainder().chunks_exact_mut(4).zip(starts.remainder()).zip(weights.remainder().chunks_exact(N))
    {
        d.copy_from_slice(&dot(&v[4 * s..4 * (s + N)], w));
    }
}

/// `Σ_k w_k · p_k` over the pixels of a window (four lanes each).
#[inline(always)]
fn dot(p: &[f32], w: &[[f32; 4]]) -> [f32; 4] {
    let mut acc = [0f32; 4];
    for (p, w) in p.chunks_exact(4).zip(w) {
        for l in 0..4 {
            acc[l] += p[l] * w[l];
        }
    }
    acc
}

/// Input rows converted to lanes, each once: row `y` lives in slot `y % len`.
struct RowRing {
    rows: Vec<Vec<u16>>,
    held: Vec<Option<u32>>,
}

impl RowRing {
    fn new(slots: usize, lanes: usize) -> Self {
        RowRing { rows: vec![vec![0u16; lanes]; slots], held: vec![None; slots] }
    }

    /// Rows `first..first + n` (n at most the number of slots), converting those not held yet.
    fn window<'r>(&mut self, first: u32, n: usize, row: impl Fn(u32) -> &'r [Rgba8]) -> Vec<&[u16]> {
        let slots = self.rows.len();
        for y in first..first + n as u32 {
            let s = y as usize % slots;
            if self.held[s] != Some(y) {
                widen(row(y), &mut self.rows[s]);
                self.held[s] = Some(y);
            }
        }
        (first..first + n as u32).map(|y| self.rows[y as usize % slots].as_slice()).collect()
    }
}

/// Renders the band of an opaque 8-bit frame; `false` (nothing done) when the frames are not
/// `Rgba8`.
pub fn render<P: Pixel>(ys: &[Taps], taps: &Taps8, input: &Image<'_, P>, out: &mut Band<'_, P>) -> bool {
    if P::as_rgba8(&[]).is_none() {
        return false;
    }
    let (iw, ow) = (input.width() as usize, out.width() as usize);
    let mut ring = RowRing::new(taps.max_rows, 4 * iw);
    let mut v = vec![0f32; 4 * iw];
    let mut h = vec![0f32; 4 * ow];
    let input = *input;
    for (y, row) in out.rows_mut() {
        let t = &ys[y as usize];
        let window =
            ring.window(t.start as u32, t.weights.len(), |sy| P::as_rgba8(input.row(sy)).expect("8-bit frame"));
        match &taps.ys[y as usize] {
            Some(f) => f.apply(&window, &mut v),
            None => vertical_f32(&window, &t.weights, &mut v),
        }
        horizontal(&v, &taps.xs, &mut h);
        store_lanes(&h, P::as_rgba8_mut(row).expect("8-bit frame"));
    }
    true
}
