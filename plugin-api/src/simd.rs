//! The instruction-set level the pixel kernels run with, detected once per process.
//!
//! Kernels (the composed point pass here, the convolution and resampling kernels of `fxkit`)
//! are compiled for several levels and pick one at run time with [`level`]. The environment
//! variable `FXCHAIN_SIMD=scalar|sse2|avx2|avx512` forces a level (a level the processor lacks
//! falls back to the best one it has below it); every level gives the same pixels as `scalar`
//! (bit for bit for integer kernels).

/// An instruction-set level, from the portable loops up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Plain loops, one lane at a time: the reference every other level is tested against.
    Scalar,
    /// 128-bit vectors (the x86-64 baseline; blocks of lanes the compiler vectorizes).
    Sse2,
    /// 256-bit vectors: AVX2 and FMA.
    Avx2,
    /// 512-bit vectors: AVX-512 F, BW and VL (the point pass also needs VBMI, see
    /// [`has_avx512_vbmi`]).
    Avx512,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 4] = [Level::Scalar, Level::Sse2, Level::Avx2, Level::Avx512];

    /// The name `FXCHAIN_SIMD` takes and reports print.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Sse2 => "sse2",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// The level called `name` (case-insensitive).
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether this processor can run code compiled for the level.
    pub fn available(self) -> bool {
        match self {
            Level::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Level::Sse2 => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The levels this processor can run, lowest first (what the kernel tests go through).
    pub fn available_levels() -> Vec<Level> {
        Level::ALL.into_iter().filter(|l| l.available()).collect()
    }

    /// The best level the processor has.
    pub fn best() -> Level {
        Level::ALL.into_iter().rev().find(|l| l.available()).unwrap_or(Level::Scalar)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The level for `forced` (the value of `FXCHAIN_SIMD`, if set): that level, or the best one
/// below it that the processor has; the best level when unset or not a level name.
pub fn choose(forced: Option<&str>) -> Level {
    match forced.and_then(Level::parse) {
        Some(want) => Level::ALL.into_iter().rev().find(|l| *l <= want && l.available()).unwrap_or(Level::Scalar),
        None => Level::best(),
    }
}

/// The level the kernels of this process run with: [`choose`] of `FXCHAIN_SIMD`, decided on
/// the first call.
pub fn level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| choose(std::env::var("FXCHAIN_SIMD").ok().as_deref()))
}

/// Whether the processor has AVX-512 VBMI (byte permutes), which the point pass's kernel needs
/// beside [`Level::Avx512`].
pub fn has_avx512_vbmi() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the processor has AVX-512 VNNI (reported by `bench --json`; no kernel needs it yet).
pub fn has_avx512_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_forcing_never_goes_above_the_processor() {
        for l in Level::ALL {
            assert_eq!(Level::parse(l.name()), Some(l));
            assert_eq!(Level::parse(&l.name().to_uppercase()), Some(l));
        }
        assert_eq!(Level::parse("neon"), None);
        assert_eq!(choose(Some("scalar")), Level::Scalar);
        assert_eq!(choose(None), Level::best());
        assert_eq!(choose(Some("bogus")), Level::best());
        for l in Level::ALL {
            let got = choose(Some(l.name()));
            assert!(got <= l && got.available(), "{l} → {got}");
            if l.available() {
                assert_eq!(got, l);
            }
        }
        assert!(Level::available_levels().contains(&Level::Scalar));
    }
}
