//! The pixel loops of composable point effects: per-channel 8-bit tables and affine colour
//! transforms. The export glue renders [`Curve`](crate::Curve) and
//! [`ColorMatrix`](crate::ColorMatrix) effects with these, and the host runs composed runs of
//! them with the same functions, so a composed pass gives exactly the pixels of the steps run one
//! after the other.

use crate::pixel::{f32_to_u8, u8_to_f32, Pixel, Rgba8, RgbaF32};

#[cfg(target_arch = "x86_64")]
mod avx512;

/// The instruction set the composed pass runs with: `"avx512"` where [`crate::simd::level`] is
/// AVX-512 and the processor has VBMI, else `"scalar"` (both give the same bytes). Forced with
/// `FXCHAIN_SIMD` like every kernel (`scalar`, `sse2` and `avx2` run the portable loop here).
pub fn simd_level() -> &'static str {
    static LEVEL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::level() == crate::simd::Level::Avx512 && avx512::available() {
            return "avx512";
        }
        "scalar"
    })
}

/// Four 256-entry tables (R, G, B, A), one after the other.
pub type Table = [u8; 1024];

/// The identity table.
pub fn identity_table() -> Table {
    std::array::from_fn(|i| (i % 256) as u8)
}

/// The table of a curve `f` applied to R, G and B (alpha kept): entry `i` is
/// `round(clamp(f(i / 255)) * 255)`, with `i / 255` divided in `f32`.
pub fn curve_table(f: impl Fn(f32) -> f32) -> Table {
    let mut t = identity_table();
    for i in 0..256 {
        let v = f32_to_u8(f(i as f32 / 255.0));
        t[i] = v;
        t[256 + i] = v;
        t[512 + i] = v;
    }
    t
}

/// The table of `first` followed by `then`.
pub fn compose_tables(first: &Table, then: &Table) -> Table {
    std::array::from_fn(|i| {
        let channel = i / 256 * 256;
        then[channel + first[i] as usize]
    })
}

/// Whether `t` maps every channel to itself.
pub fn is_identity(t: &Table) -> bool {
    t.iter().enumerate().all(|(i, &v)| v as usize == i % 256)
}

/// Applies `t` to every pixel of `row`.
#[inline]
pub fn apply_table(row: &mut [Rgba8], t: &Table) {
    let (tr, rest) = t.split_at(256);
    let (tg, rest) = rest.split_at(256);
    let (tb, ta) = rest.split_at(256);
    for p in row {
        p.r = tr[p.r as usize];
        p.g = tg[p.g as usize];
        p.b = tb[p.b as usize];
        p.a = ta[p.a as usize];
    }
}

/// Applies the curve `f` to R, G and B of every float pixel of `row`.
#[inline]
pub fn apply_curve_f32(row: &mut [RgbaF32], f: impl Fn(f32) -> f32) {
    for p in row {
        *p = p.map_rgb(&f);
    }
}

/// `m · (r, g, b, 1)` for one pixel.
#[inline(always)]
fn transform(m: &[[f32; 4]; 3], r: f32, g: f32, b: f32) -> [f32; 3] {
    [
        m[0][0] * r + m[0][1] * g + m[0][2] * b + m[0][3],
        m[1][0] * r + m[1][1] * g + m[1][2] * b + m[1][3],
        m[2][0] * r + m[2][1] * g + m[2][2] * b + m[2][3],
    ]
}

/// Applies the affine colour transform `m` to every pixel of an 8-bit `row` (alpha kept), each
/// result rounded as [`f32_to_u8`] rounds.
#[inline]
pub fn apply_matrix8(row: &mut [Rgba8], m: &[[f32; 4]; 3]) {
    // Blocks of pixels as separate channel arrays, so the compiler keeps each channel of a block
    // in the lanes of a vector; the arithmetic is the same as for one pixel.
    const N: usize = 16;
    let mut blocks = row.chunks_exact_mut(N);
    for block in &mut blocks {
        let mut c = [[0f32; N]; 3];
        for (i, p) in block.iter().enumerate() {
            c[0][i] = u8_to_f32(p.r);
            c[1][i] = u8_to_f32(p.g);
            c[2][i] = u8_to_f32(p.b);
        }
        let mut o = [[0u8; N]; 3];
        for (k, out) in o.iter_mut().enumerate() {
            let m = m[k];
            for i in 0..N {
                out[i] = f32_to_u8(m[0] * c[0][i] + m[1] * c[1][i] + m[2] * c[2][i] + m[3]);
            }
        }
        for (i, p) in block.iter_mut().enumerate() {
            p.r = o[0][i];
            p.g = o[1][i];
            p.b = o[2][i];
        }
    }
    for p in blocks.into_remainder() {
        let [r, g, b] = transform(m, u8_to_f32(p.r), u8_to_f32(p.g), u8_to_f32(p.b));
        p.r = f32_to_u8(r);
        p.g = f32_to_u8(g);
        p.b = f32_to_u8(b);
    }
}

/// Applies the affine colour transform `m` to every float pixel of `row` (alpha kept).
#[inline]
pub fn apply_matrix_f32(row: &mut [RgbaF32], m: &[[f32; 4]; 3]) {
    for p in row {
        let [r, g, b] = transform(m, p.r, p.g, p.b);
        p.r = r;
        p.g = g;
        p.b = b;
    }
}

/// One stage of a composed run of point effects.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// A per-channel table.
    Table(Box<Table>),
    /// An affine colour transform.
    Matrix([[f32; 4]; 3]),
}

/// A run of tables and colour matrices applied in one pass over 8-bit pixels: each pixel goes
/// through every stage while it is in registers, with exactly the rounding of the stages applied
/// one after the other by [`apply_table`] and [`apply_matrix8`].
#[derive(Default)]
pub struct Program {
    stages: Vec<Stage>,
    /// Per stage: how many channels its table changes (3, or 4 when it changes alpha).
    channels: Vec<usize>,
    /// The stages prepared for the AVX-512 kernel, where it runs.
    #[cfg(target_arch = "x86_64")]
    simd: Option<Vec<avx512::Prepared>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("stages", &self.stages).finish()
    }
}

/// Pixels per block of the composed pass.
const BLOCK: usize = 32;

impl Program {
    /// A program of `stages`, consecutive tables composed into one.
    pub fn new(stages: impl IntoIterator<Item = Stage>) -> Program {
        let mut out: Vec<Stage> = Vec::new();
        for s in stages {
            match (s, out.last_mut()) {
                (Stage::Table(t), Some(Stage::Table(prev))) => **prev = compose_tables(prev, &t),
                (Stage::Table(t), _) if is_identity(&t) => {}
                (s, _) => out.push(s),
            }
        }
        let channels = out
            .iter()
            .map(|s| match s {
                Stage::Table(t) if !(768..1024).all(|i| t[i] as usize == i - 768) => 4,
                _ => 3,
            })
            .collect();
        Program {
            #[cfg(target_arch = "x86_64")]
            simd: (simd_level() == "avx512").then(|| avx512::prepare(&out)),
            stages: out,
            channels,
        }
    }

    /// The same program on the portable loop only (for comparisons).
    pub fn scalar(self) -> Program {
        Program {
            #[cfg(target_arch = "x86_64")]
            simd: None,
            ..self
        }
    }

    /// Runs the vector kernel on the longest prefix of whole vectors; returns how many pixels it
    /// did.
    #[inline]
    fn run_simd(&self, src: Option<&[Rgba8]>, dst: &mut [Rgba8], stream: bool) -> usize {
        #[cfg(target_arch = "x86_64")]
        if let Some(stages) = &self.simd {
            // SAFETY: `simd` is only set when `avx512::available()` said the processor has the
            // features the kernel is compiled for.
            unsafe { avx512::run(stages, src, dst, stream) };
            return dst.len() / 16 * 16;
        }
        let _ = (src, dst, stream);
        0
    }

    /// The stages after composition.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Whether an opaque input stays opaque (every table maps alpha 255 to 255; matrices keep
    /// alpha).
    pub fn keeps_opaque(&self) -> bool {
        self.stages.iter().all(|s| match s {
            Stage::Table(t) => t[768 + 255] == 255,
            Stage::Matrix(_) => true,
        })
    }

    /// Runs the program on `row` in place.
    pub fn run_in_place(&self, row: &mut [Rgba8]) {
        let done = self.run_simd(None, row, false);
        for block in row[done..].chunks_mut(BLOCK) {
            let mut c = load(block);
            self.run_block(&mut c, block.len());
            store(&c, block);
        }
    }

    /// Runs the program on `src`, writing `dst` (of the same length).
    pub fn run(&self, src: &[Rgba8], dst: &mut [Rgba8]) {
        self.run_into(src, dst, false)
    }

    /// [`Program::run`] for an output nothing reads soon (a large frame's last pass): where the
    /// processor allows, the output bypasses the cache. The pixels are the same.
    pub fn run_streaming(&self, src: &[Rgba8], dst: &mut [Rgba8]) {
        self.run_into(src, dst, true)
    }

    fn run_into(&self, src: &[Rgba8], dst: &mut [Rgba8], stream: bool) {
        let n = src.len().min(dst.len());
        let done = self.run_simd(Some(&src[..n]), &mut dst[..n], stream);
        for (s, d) in src[done..n].chunks(BLOCK).zip(dst[done..n].chunks_mut(BLOCK)) {
            let mut c = load(s);
            self.run_block(&mut c, s.len());
            store(&c, d);
        }
    }

    #[inline(always)]
    fn run_block(&self, c: &mut [[u8; BLOCK]; 4], n: usize) {
        for (stage, &channels) in self.stages.iter().zip(&self.channels) {
            match stage {
                Stage::Table(t) => {
                    for (ch, lane) in c.iter_mut().enumerate().take(channels) {
                        let t = &t[ch * 256..ch * 256 + 256];
                        for v in &mut lane[..n] {
                            *v = t[*v as usize];
                        }
                    }
                }
                Stage::Matrix(m) => {
                    let mut f = [[0f32; BLOCK]; 3];
                    for (fl, cl) in f.iter_mut().zip(c.iter()) {
                        for i in 0..BLOCK {
                            fl[i] = u8_to_f32(cl[i]);
                        }
                    }
                    for (k, out) in c.iter_mut().enumerate().take(3) {
                        let m = m[k];
                        for i in 0..BLOCK {
                            out[i] = f32_to_u8(m[0] * f[0][i] + m[1] * f[1][i] + m[2] * f[2][i] + m[3]);
                        }
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn load(px: &[Rgba8]) -> [[u8; BLOCK]; 4] {
    let mut c = [[0u8; BLOCK]; 4];
    for (i, p) in px.iter().enumerate() {
        c[0][i] = p.r;
        c[1][i] = p.g;
        c[2][i] = p.b;
        c[3][i] = p.a;
    }
    c
}

#[inline(always)]
fn store(c: &[[u8; BLOCK]; 4], px: &mut [Rgba8]) {
    for (i, p) in px.iter_mut().enumerate() {
        *p = Rgba8::new(c[0][i], c[1][i], c[2][i], c[3][i]);
    }
}

/// The 12 numbers of `m` in row order, as they cross the ABI.
pub fn matrix_to_vec(m: &[[f32; 4]; 3]) -> Vec<f32> {
    m.iter().flatten().copied().collect()
}

/// The matrix of 12 numbers in row order, or `None` for another length.
pub fn matrix_from_slice(v: &[f32]) -> Option<[[f32; 4]; 3]> {
    (v.len() == 12).then(|| std::array::from_fn(|i| std::array::from_fn(|j| v[i * 4 + j])))
}

/// Whether every pixel of `row` has alpha 1.
pub fn row_is_opaque<P: Pixel>(row: &[P]) -> bool {
    match P::as_rgba8(row) {
        Some(r8) => r8.iter().all(|p| p.a == 255),
        None => row.iter().all(|p| p.to_f32().a >= 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_tables_equal_tables_applied_in_turn() {
        let a = curve_table(|c| c * 1.3);
        let b = curve_table(|c| c.powf(0.8));
        let mut c = compose_tables(&a, &b);
        c[768 + 255] = 200; // alpha table too
        let px: Vec<Rgba8> = (0..=255u8).map(|v| Rgba8::new(v, 255 - v, v / 2, 255)).collect();
        let mut stepwise = px.clone();
        apply_table(&mut stepwise, &a);
        let mut b2 = b;
        b2[768 + 255] = 200;
        apply_table(&mut stepwise, &b2);
        let mut once = px;
        apply_table(&mut once, &c);
        assert_eq!(once, stepwise);
        assert!(is_identity(&identity_table()));
        assert!(!is_identity(&a));
    }

    #[test]
    fn curve_tables_round_the_formula_and_keep_alpha() {
        let t = curve_table(|c| 1.0 - c);
        assert_eq!(t[0], 255);
        assert_eq!(t[256 + 255], 0);
        assert_eq!(t[768 + 17], 17);
        let half = curve_table(|c| c * 0.5);
        assert_eq!(half[255], 128); // 127.5 rounds up
        assert_eq!(half[1], 1); // 0.5 rounds up
    }

    #[test]
    fn a_program_equals_its_stages_applied_in_turn() {
        let stages = vec![
            Stage::Table(Box::new(curve_table(|c| c * 1.2))),
            Stage::Table(Box::new(curve_table(|c| c.powf(0.7)))),
            Stage::Matrix([[0.7, 0.2, 0.1, 0.0], [0.1, 0.8, 0.1, 0.02], [0.3, 0.3, 0.4, -0.05]]),
            Stage::Table(Box::new(curve_table(|c| 1.0 - c))),
        ];
        let program = Program::new(stages.clone());
        assert_eq!(program.stages().len(), 3, "the two leading tables are composed");
        assert!(program.keeps_opaque());
        let px: Vec<Rgba8> =
            (0..777u32).map(|i| Rgba8::new((i * 7) as u8, (i * 13) as u8, (i * 29) as u8, (i * 3) as u8)).collect();
        let mut want = px.clone();
        for s in &stages {
            match s {
                Stage::Table(t) => apply_table(&mut want, t),
                Stage::Matrix(m) => apply_matrix8(&mut want, m),
            }
        }
        let mut in_place = px.clone();
        program.run_in_place(&mut in_place);
        assert_eq!(in_place, want);
        let mut out = vec![Rgba8::default(); px.len()];
        program.run(&px, &mut out);
        assert_eq!(out, want);
        let mut streamed = vec![Rgba8::default(); px.len()];
        program.run_streaming(&px, &mut streamed);
        assert_eq!(streamed, want);
        let mut fade = identity_table();
        fade[768 + 255] = 128;
        assert!(!Program::new([Stage::Table(Box::new(fade))]).keeps_opaque());
        assert!(Program::new([Stage::Table(Box::new(identity_table()))]).stages().is_empty());
    }

    #[test]
    fn the_vector_kernel_gives_the_bytes_of_the_portable_loop() {
        let mut fade = curve_table(|c| c * 0.9);
        for (i, v) in fade[768..].iter_mut().enumerate() {
            *v = (i * 3 / 4) as u8;
        }
        let mut split = identity_table();
        split[..256].copy_from_slice(&curve_table(|c| c.sqrt())[..256]);
        let stages = vec![
            Stage::Table(Box::new(curve_table(|c| c * 1.3))),
            Stage::Matrix([[0.4, 0.5, 0.1, 0.0], [-0.2, 1.3, 0.1, 0.01], [0.3, -0.4, 1.5, -0.02]]),
            Stage::Table(Box::new(fade)),
            Stage::Matrix([[1.6, 0.0, 0.0, -0.3], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.6, 0.2]]),
            Stage::Table(Box::new(split)),
        ];
        let px: Vec<Rgba8> = (0..70_001u32)
            .map(|i| {
                let h = i.wrapping_mul(2_654_435_761);
                Rgba8::new(h as u8, (h >> 8) as u8, (h >> 16) as u8, (h >> 24) as u8)
            })
            .collect();
        let fast = Program::new(stages.clone());
        let slow = Program::new(stages).scalar();
        for len in [0, 1, 15, 16, 17, 33, 70_001] {
            let (mut a, mut b) = (vec![Rgba8::default(); len], vec![Rgba8::default(); len]);
            fast.run(&px[..len], &mut a);
            slow.run(&px[..len], &mut b);
            assert_eq!(a, b, "{len} pixels at level {}", simd_level());
            let mut c = px[..len].to_vec();
            fast.run_in_place(&mut c);
            assert_eq!(c, b);
        }
    }

    #[test]
    fn the_blocked_matrix_loop_equals_the_per_pixel_formula() {
        let m = [[0.9, 0.3, -0.2, 0.01], [0.1, 1.1, 0.0, -0.02], [-0.3, 0.2, 1.2, 0.0]];
        let px: Vec<Rgba8> =
            (0..1000u32).map(|i| Rgba8::new((i * 7) as u8, (i * 13) as u8, (i * 29) as u8, i as u8)).collect();
        for len in [0, 1, 15, 16, 17, 1000] {
            let mut row = px[..len].to_vec();
            apply_matrix8(&mut row, &m);
            for (o, p) in row.iter().zip(&px) {
                let [r, g, b] = transform(&m, u8_to_f32(p.r), u8_to_f32(p.g), u8_to_f32(p.b));
                assert_eq!(*o, Rgba8::new(f32_to_u8(r), f32_to_u8(g), f32_to_u8(b), p.a));
            }
        }
    }

    #[test]
    fn matrices_round_trip_and_agree_between_formats() {
        let m = [[0.5, 0.2, 0.1, 0.05], [0.0, 1.0, 0.0, 0.0], [0.3, 0.3, 0.3, -0.1]];
        assert_eq!(matrix_from_slice(&matrix_to_vec(&m)), Some(m));
        assert_eq!(matrix_from_slice(&[1.0; 11]), None);
        let mut p8 = vec![Rgba8::new(200, 100, 50, 77)];
        let mut pf = vec![p8[0].to_f32()];
        apply_matrix8(&mut p8, &m);
        apply_matrix_f32(&mut pf, &m);
        assert_eq!(p8[0], Rgba8::from_f32(pf[0]));
        assert_eq!(p8[0].a, 77);
    }
}
