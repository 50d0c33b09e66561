//! The composed point pass with AVX-512 (F, BW and VBMI): 16 pixels per 512-bit register,
//! 256-entry tables looked up with `vpermi2b`, colour matrices in `f32` lanes with exactly the
//! operations (and their order) of the scalar loop, so both give the same bytes.

use std::arch::x86_64::*;

use super::{Stage, Table};
use crate::pixel::Rgba8;

/// Whether this processor can run the kernel.
pub fn available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vbmi")
}

/// How far ahead (in pixels) the input is prefetched.
const PREFETCH: usize = 512;

/// Byte masks of the channels in a register of 16 RGBA pixels.
const CHANNEL: [u64; 4] = [0x1111_1111_1111_1111, 0x2222_2222_2222_2222, 0x4444_4444_4444_4444, 0x8888_8888_8888_8888];

/// A stage prepared for the kernel.
#[allow(clippy::large_enum_variant)] // a handful per program, built once per image
pub enum Prepared {
    /// Channel groups sharing one 256-entry table: the byte mask of the group and the table.
    Table(Vec<(u64, [u8; 256])>),
    /// Per-pixel lane constants of the matrix columns (R, G, B lanes; alpha lane 0).
    Matrix([[f32; 16]; 4]),
}

/// Prepares `stages` for [`run`].
pub fn prepare(stages: &[Stage]) -> Vec<Prepared> {
    stages
        .iter()
        .map(|s| match s {
            Stage::Table(t) => Prepared::Table(groups(t)),
            Stage::Matrix(m) => Prepared::Matrix(std::array::from_fn(|col| {
                std::array::from_fn(|lane| if lane % 4 == 3 { 0.0 } else { m[lane % 4][col] })
            })),
        })
        .collect()
}

/// The channels of `t` that change values, grouped by equal tables.
fn groups(t: &Table) -> Vec<(u64, [u8; 256])> {
    let mut out: Vec<(u64, [u8; 256])> = Vec::new();
    for (ch, mask) in CHANNEL.iter().enumerate() {
        let table: [u8; 256] = std::array::from_fn(|i| t[ch * 256 + i]);
        if table.iter().enumerate().all(|(i, &v)| v as usize == i) {
            continue;
        }
        match out.iter_mut().find(|(_, other)| *other == table) {
            Some(group) => group.0 |= mask,
            None => out.push((*mask, table)),
        }
    }
    out
}

/// Runs the prepared stages on the pixels of `src`, writing the whole vectors of `dst` (`src`
/// `None`: in place). With `stream`, a 64-byte aligned `dst` is written with non-temporal stores,
/// which skip reading the destination into the cache first (for large outputs nothing reads
/// soon).
///
/// # Safety
/// The processor must support AVX-512 F, BW and VBMI ([`available`]).
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub unsafe fn run(stages: &[Prepared], src: Option<&[Rgba8]>, dst: &mut [Rgba8], stream: bool) {
    let n = dst.len() / 16 * 16;
    let stream = stream && (dst.as_ptr() as usize).is_multiple_of(64);
    for i in (0..n).step_by(16) {
        let from = src.map_or(dst[i..].as_ptr(), |s| s[i..].as_ptr());
        // The loop does little work per byte: ask for the input well ahead of its use.
        _mm_prefetch::<_MM_HINT_T0>(from.wrapping_add(PREFETCH) as *const i8);
        // SAFETY: 16 pixels (64 bytes) from `i` exist in `src` (or `dst`): `i + 16 <= n`, and
        // both slices are at least `n` long; unaligned loads and stores are allowed.
        let mut v = unsafe { _mm512_loadu_si512(from as *const __m512i) };
        for stage in stages {
            v = match stage {
                Prepared::Table(groups) => table(v, groups),
                Prepared::Matrix(cols) => matrix(v, cols),
            };
        }
        let to = dst[i..].as_mut_ptr() as *mut __m512i;
        if stream {
            // SAFETY: as for the load, into `dst`; `to` is 64-byte aligned since `dst` is and `i`
            // counts whole 64-byte vectors.
            unsafe { _mm512_stream_si512(to, v) };
        } else {
            // SAFETY: as for the load, into `dst`.
            unsafe { _mm512_storeu_si512(to, v) };
        }
    }
    if stream {
        // Non-temporal stores are weakly ordered: make them visible before anyone reads `dst`.
        _mm_sfence();
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn table(v: __m512i, groups: &[(u64, [u8; 256])]) -> __m512i {
    let mut out = v;
    for (mask, t) in groups {
        // SAFETY: each load reads 64 of the 256 bytes of `t`.
        let [t0, t1, t2, t3] =
            [0, 64, 128, 192].map(|o| unsafe { _mm512_loadu_si512(t[o..].as_ptr() as *const __m512i) });
        // Entries 0..128 and 128..256, picked by bit 7 of each index.
        let lo = _mm512_permutex2var_epi8(t0, v, t1);
        let hi = _mm512_permutex2var_epi8(t2, v, t3);
        let looked_up = _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi);
        out = _mm512_mask_blend_epi8(*mask, out, looked_up);
    }
    out
}

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn matrix(v: __m512i, cols: &[[f32; 16]; 4]) -> __m512i {
    // SAFETY: each load reads the 16 floats of one column.
    let [c0, c1, c2, c3] = [0, 1, 2, 3].map(|k| unsafe { _mm512_loadu_ps(cols[k].as_ptr()) });
    let inv = _mm512_set1_ps(1.0 / 255.0);
    let (zero, one, scale, half) =
        (_mm512_setzero_ps(), _mm512_set1_ps(1.0), _mm512_set1_ps(255.0), _mm512_set1_ps(0.5));
    let quarter = |q: __m128i| -> __m128i {
        // Four pixels as 16 float lanes, `v / 255` as `u8_to_f32` computes it.
        let f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(q)), inv);
        let (r, g, b) = (_mm512_permute_ps::<0x00>(f), _mm512_permute_ps::<0x55>(f), _mm512_permute_ps::<0xAA>(f));
        // ((m0 r + m1 g) + m2 b) + m3, in the scalar loop's order, without fused multiply-adds.
        let y = _mm512_add_ps(
            _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(c0, r), _mm512_mul_ps(c1, g)), _mm512_mul_ps(c2, b)),
            c3,
        );
        // `f32_to_u8`: clamp (a NaN becomes 0 either way), scale, +0.5, truncate.
        let y = _mm512_add_ps(_mm512_mul_ps(_mm512_min_ps(_mm512_max_ps(y, zero), one), scale), half);
        _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(y))
    };
    let q0 = quarter(_mm512_castsi512_si128(v));
    let q1 = quarter(_mm512_extracti32x4_epi32::<1>(v));
    let q2 = quarter(_mm512_extracti32x4_epi32::<2>(v));
    let q3 = quarter(_mm512_extracti32x4_epi32::<3>(v));
    let mut out = _mm512_castsi128_si512(q0);
    out = _mm512_inserti32x4::<1>(out, q1);
    out = _mm512_inserti32x4::<2>(out, q2);
    out = _mm512_inserti32x4::<3>(out, q3);
    // Alpha is kept as it was.
    _mm512_mask_blend_epi8(CHANNEL[3], out, v)
}
