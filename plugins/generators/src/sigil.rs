//! Sigils: seeded geometric symbols (rings, polygons, stars, strokes), drawn with antialiased
//! strokes. Rendering is row by row: each primitive gives the x-interval it can touch on a row,
//! so the cost follows the inked area, not the image size times the primitive count.

use std::f32::consts::TAU;

use fxchain_plugin_api::prelude::*;
use fxkit::noise::Rng;

/// A stroke primitive, in pixels.
#[derive(Clone, Debug)]
pub enum Shape {
    /// Circle outline: centre, radius.
    Ring { cx: f32, cy: f32, r: f32 },
    /// Filled disc: centre, radius.
    Dot { cx: f32, cy: f32, r: f32 },
    /// Line segment.
    Line { ax: f32, ay: f32, bx: f32, by: f32 },
}

/// Parameters of `generate.sigil`.
#[derive(Params)]
pub struct SigilParams {
    /// Size of the symbol as a fraction of the shorter side.
    #[param(default = 0.8, range = 0.05..=1.0)]
    pub scale: f32,
    /// Stroke width in pixels (0 picks 1/90 of the symbol's diameter).
    #[param(default = 0.0, range = 0.0..=200.0, unit = "px")]
    pub stroke: f32,
    /// How many elements are drawn (1 sparse … 5 dense).
    #[param(default = 3, range = 1..=5)]
    pub complexity: u32,
    /// Stroke colour.
    #[param(default = "#2b1608")]
    pub ink: Color,
    /// Background colour (transparent by default, for compositing).
    #[param(default = "#00000000")]
    pub background: Color,
}

/// Builds the primitives of the sigil for `seed` in an image of `size`.
pub fn sigil_shapes(p: &SigilParams, size: Size, seed: u64) -> (Vec<Shape>, f32) {
    let mut rng = Rng::new(seed);
    let (cx, cy) = (size.width as f32 / 2.0, size.height as f32 / 2.0);
    let r = p.scale * 0.5 * size.width.min(size.height) as f32;
    let stroke = if p.stroke > 0.0 { p.stroke } else { (2.0 * r / 90.0).max(1.0) };
    let mut shapes = vec![Shape::Ring { cx, cy, r: r - stroke }];
    let k = p.complexity as i64;
    if rng.unit() < 0.6 {
        shapes.push(Shape::Ring { cx, cy, r: r * rng.range(0.82, 0.9) });
    }
    // A regular polygon with dots at its corners.
    let n = rng.int(3, 8) as usize;
    let pr = r * rng.range(0.55, 0.78);
    let rot = rng.range(0.0, TAU);
    let corner = |i: usize, rad: f32, n: usize, rot: f32| {
        let a = rot + TAU * i as f32 / n as f32;
        (cx + rad * a.cos(), cy + rad * a.sin())
    };
    for i in 0..n {
        let (ax, ay) = corner(i, pr, n, rot);
        let (bx, by) = corner(i + 1, pr, n, rot);
        shapes.push(Shape::Line { ax, ay, bx, by });
        if k >= 2 {
            shapes.push(Shape::Dot { cx: ax, cy: ay, r: stroke * 1.8 });
        }
    }
    // A star polygon {m/s}.
    if k >= 2 {
        let m = rng.int(5, 9) as usize;
        let step = rng.int(2, ((m - 1) / 2) as i64).max(2) as usize;
        let sr = r * rng.range(0.4, 0.7);
        let srot = rng.range(0.0, TAU);
        for i in 0..m {
            let (ax, ay) = corner(i, sr, m, srot);
            let (bx, by) = corner(i + step, sr, m, srot);
            shapes.push(Shape::Line { ax, ay, bx, by });
        }
    }
    // Spokes, symmetric with the polygon, some ending in small rings.
    let spokes = if rng.unit() < 0.5 { n } else { 2 * n };
    let (r0, r1) = (r * rng.range(0.12, 0.25), r * rng.range(0.8, 0.97));
    let ringed = rng.unit() < 0.6;
    let offset = if spokes == n { TAU / (2 * n) as f32 } else { 0.0 };
    for i in 0..spokes.min(4 + 2 * k as usize) {
        let a = rot + offset + TAU * i as f32 / spokes as f32;
        let (ax, ay, bx, by) = (cx + r0 * a.cos(), cy + r0 * a.sin(), cx + r1 * a.cos(), cy + r1 * a.sin());
        shapes.push(Shape::Line { ax, ay, bx, by });
        if ringed && i % 2 == 0 {
            shapes.push(Shape::Ring { cx: bx, cy: by, r: stroke * 3.0 });
        }
    }
    // Mirrored chords on dense sigils.
    for _ in 0..(k - 3).max(0) {
        let a = rng.range(0.0, std::f32::consts::FRAC_PI_2);
        let cr = r * rng.range(0.5, 0.85);
        let (x0, y0) = (cr * a.cos(), cr * a.sin());
        shapes.push(Shape::Line { ax: cx - x0, ay: cy + y0, bx: cx + x0, by: cy + y0 });
        shapes.push(Shape::Line { ax: cx - x0, ay: cy - y0, bx: cx + x0, by: cy - y0 });
    }
    // The centre.
    shapes.push(Shape::Ring { cx, cy, r: r * rng.range(0.1, 0.2) });
    shapes.push(Shape::Dot { cx, cy, r: stroke * 2.2 });
    (shapes, stroke)
}

/// Adds the antialiased coverage of `shape` on row `y` to `cov` (maximum blend).
pub fn cover_row(shape: &Shape, y: f32, half: f32, cov: &mut [f32]) {
    let w = cov.len() as f32;
    let fy = y + 0.5;
    let mut span = |x0: f32, x1: f32, dist: &dyn Fn(f32) -> f32| {
        let (a, b) = ((x0.floor().max(0.0)) as usize, (x1.ceil().min(w)) as usize);
        for (x, c) in cov.iter_mut().enumerate().take(b).skip(a) {
            let d = dist(x as f32 + 0.5);
            let v = (half - d + 0.5).clamp(0.0, 1.0);
            if v > *c {
                *c = v;
            }
        }
    };
    match *shape {
        Shape::Ring { cx, cy, r } => {
            let dy = fy - cy;
            let ro = r + half + 1.0;
            if dy.abs() > ro {
                return;
            }
            let outer = (ro * ro - dy * dy).sqrt();
            let ri = (r - half - 1.0).max(0.0);
            let dist = |x: f32| ((x - cx).hypot(dy) - r).abs();
            if dy.abs() < ri {
                let inner = (ri * ri - dy * dy).sqrt();
                span(cx - outer, cx - inner, &dist);
                span(cx + inner, cx + outer, &dist);
            } else {
                span(cx - outer, cx + outer, &dist);
            }
        }
        Shape::Dot { cx, cy, r } => {
            let dy = fy - cy;
            let ro = r + 1.0;
            if dy.abs() > ro {
                return;
            }
            let e = (ro * ro - dy * dy).sqrt();
            // A filled disc: distance to the disc, offset so the edge lands at `half`.
            span(cx - e, cx + e, &|x: f32| ((x - cx).hypot(dy) - r).max(0.0) + half - 0.5 * half.min(0.5));
        }
        Shape::Line { ax, ay, bx, by } => {
            let reach = half + 1.0;
            if fy < ay.min(by) - reach || fy > ay.max(by) + reach {
                return;
            }
            let (dx, dyl) = (bx - ax, by - ay);
            let len2 = (dx * dx + dyl * dyl).max(1e-6);
            let dist = |x: f32| {
                let t = (((x - ax) * dx + (fy - ay) * dyl) / len2).clamp(0.0, 1.0);
                (x - (ax + t * dx)).hypot(fy - (ay + t * dyl))
            };
            let (lo, hi) = if dyl.abs() > 1e-3 {
                // Where the infinite thick line crosses this row, widened by the slope.
                let xc = ax + (fy - ay) * dx / dyl;
                let half_span = reach * len2.sqrt() / dyl.abs();
                (xc - half_span, xc + half_span)
            } else {
                (ax.min(bx) - reach, ax.max(bx) + reach)
            };
            span(lo.max(ax.min(bx) - reach), hi.min(ax.max(bx) + reach), &dist);
        }
    }
}

/// A seeded sigil; its state is the primitives and the stroke width.
#[derive(Default)]
pub struct Sigil {
    shapes: Vec<Shape>,
    stroke: f32,
}
impl Generator for Sigil {
    const META: Meta = Meta::new("generate.sigil")
        .summary("A seeded geometric symbol: rings, a polygon, a star, spokes and chords.")
        .doc(concat!(
            "Change the chain seed (or the step id) for another symbol. ",
            "Transparent background by default, to composite over parchment."
        ))
        .tests(&[
            Test::new("dense, on white")
                .size(96, 96)
                .params(r##"{"complexity": 5, "background": "#ffffff"}"##)
                .hash("d7fe030cb6103888"),
            Test::new("seed 3, thick stroke")
                .seed(3)
                .params(r#"{"stroke": 3.0, "complexity": 2}"#)
                .hash("c0f2b8656132fb7b"),
        ]);
    type Params = SigilParams;
    fn setup(&mut self, p: &SigilParams, size: Size, seed: u64) -> Result<(), PluginError> {
        (self.shapes, self.stroke) = sigil_shapes(p, size, seed);
        Ok(())
    }
    fn render<P: Pixel>(&self, p: &SigilParams, out: &mut Band<'_, P>) {
        let mut cov = vec![0f32; out.width() as usize];
        let half = self.stroke * 0.5;
        for (y, row) in out.rows_mut() {
            cov.iter_mut().for_each(|c| *c = 0.0);
            for s in &self.shapes {
                cover_row(s, y as f32, half, &mut cov);
            }
            for (px, &c) in row.iter_mut().zip(&cov) {
                *px = P::from_f32(over(p.ink, p.background, c));
            }
        }
    }
}

/// `ink` with coverage `c` over `bg` (straight alpha).
#[inline]
pub fn over(ink: Color, bg: Color, c: f32) -> RgbaF32 {
    let a_top = ink.a * c;
    let a = a_top + bg.a * (1.0 - a_top);
    if a <= 1e-7 {
        return RgbaF32::default();
    }
    let ch = |i: f32, b: f32| (i * a_top + b * bg.a * (1.0 - a_top)) / a;
    RgbaF32::new(ch(ink.r, bg.r), ch(ink.g, bg.g), ch(ink.b, bg.b), a)
}
