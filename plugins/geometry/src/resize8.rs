//! Resampling of opaque 8-bit frames.
//!
//! Premultiplying is a no-op on opaque frames, so this path skips the per-pixel conversion to
//! premultiplied `[f32; 4]` of the general one and works on channel values 0..255 in plain `f32`
//! lanes. It also runs the vertical pass first, on each input row converted once and kept in a
//! small ring, so a band never holds more than a kernel's worth of rows: when shrinking, the
//! second (horizontal) pass then runs on already reduced rows.

use fxchain_plugin_api::prelude::*;
use fxkit::fixed::store_lanes;
use fxkit::kernels::{self, resize::Horizontal, resize::Terms};

use crate::resize::Taps;

/// The taps of a resize laid out for the 8-bit path.
pub struct Taps8 {
    xs: Horizontal,
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
        Taps8 { xs: horizontal_taps(xs, width), ys, max_rows }
    }
}

/// Horizontal taps: the same number `n` for every output pixel (windows at the edges are moved
/// inwards and padded with zero weights), each weight repeated in the four lanes of a pixel.
fn horizontal_taps(xs: &[Taps], width: usize) -> Horizontal {
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
    Horizontal { n, starts, weights }
}

/// Largest lane value: channels are held as `c << 7` (units of 1/128 level), so that two of them
/// add up without overflowing `u16`.
const PMAX: u16 = 255 << 7;

/// One input row as lanes of `c << 7`.
fn widen(src: &[Rgba8], dst: &mut [u16]) {
    fxkit::fixed::widen(src, dst, |b| (b as u16) << 7);
}

/// The vertical taps of one output row in fixed point ([`kernels::resize::Terms`]). Every
/// product is a 16×16→high-16 multiply (`pmulhuw`) of non-negative numbers: positive and
/// negative weights go to separate accumulators, and a symmetric kernel adds the two rows that
/// share a weight before multiplying.
struct VerticalFixed(Terms);

impl VerticalFixed {
    fn new(w: &[f32]) -> Option<Self> {
        let n = w.len();
        let symmetric = (0..n / 2).all(|k| w[k] == w[n - 1 - k]);
        if w.iter().any(|v| v.abs() as f64 * 65536.0 > 65535.0) {
            return None;
        }
        let fixed = |v: f32| (v.abs() as f64 * 65536.0).round() as u16;
        let mut f = Terms { scale: 1.0 / 128.0, ..Terms::default() };
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
        Some(VerticalFixed(f))
    }
}

/// The vertical pass in floats, for the rows [`VerticalFixed`] cannot take.
fn vertical_f32(rows: &[&[u16]], w: &[f32], out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = rows.iter().zip(w).fold(0.0, |a, (row, &wk)| a + row[j] as f32 * wk) * (1.0 / 128.0);
    }
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
    let input = *input;
    render_rows(ys, taps, input.width() as usize, |sy| P::as_rgba8(input.row(sy)).expect("8-bit frame"), out);
    true
}

/// Renders the band of an 8-bit frame from input rows of `iw` pixels that `row(y)` gives.
pub fn render_rows<'r, P: Pixel>(
    ys: &[Taps],
    taps: &Taps8,
    iw: usize,
    row: impl Fn(u32) -> &'r [Rgba8],
    out: &mut Band<'_, P>,
) {
    let ow = out.width() as usize;
    let mut ring = RowRing::new(taps.max_rows, 4 * iw);
    let mut v = vec![0f32; 4 * iw];
    let mut h = vec![0f32; 4 * ow];
    let level = kernels::level();
    for (y, orow) in out.rows_mut() {
        let t = &ys[y as usize];
        let window = ring.window(t.start as u32, t.weights.len(), &row);
        match &taps.ys[y as usize] {
            Some(f) => kernels::resize::vertical(level, &f.0, &window, &mut v),
            None => vertical_f32(&window, &t.weights, &mut v),
        }
        kernels::resize::horizontal(level, &taps.xs, &v, &mut h);
        store_lanes(&h, P::as_rgba8_mut(orow).expect("8-bit frame"));
    }
}
