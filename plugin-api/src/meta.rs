//! What an effect says about itself, written once per effect as a `const META: Meta`.

use crate::abi::{Access, ExpectKind, FormatSet, PixelFormat, Size, Tier};

/// The metadata block of an effect: id, docs, variant, tier, formats, determinism, access,
/// inputs and test cases. Built with `const` methods:
///
/// ```
/// # use fxchain_plugin_api::prelude::*;
/// const META: Meta = Meta::new("blur.box.fast")
///     .summary("Mean of a square, approximated.")
///     .variant_of("blur.box", Tier::FAST)
///     .tests(&[Test::new("r=3").params(r#"{"radius": 3}"#).psnr("blur.box", 40.0)]);
/// ```
#[derive(Copy, Clone, Debug)]
pub struct Meta {
    pub(crate) id: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) doc: &'static str,
    pub(crate) variant_of: &'static str,
    pub(crate) tier: Tier,
    pub(crate) deterministic: bool,
    pub(crate) formats: FormatSet,
    pub(crate) access: Option<Access>,
    pub(crate) inputs: (u32, u32),
    pub(crate) tests: &'static [Test],
}

impl Meta {
    /// An effect with a unique id, dotted by family (`blur.gaussian`).
    pub const fn new(id: &'static str) -> Meta {
        Meta {
            id,
            summary: "",
            doc: "",
            variant_of: "",
            tier: Tier::QUALITY,
            deterministic: true,
            formats: FormatSet::ALL,
            access: None,
            inputs: (2, 2),
            tests: &[],
        }
    }
    /// One-line summary.
    pub const fn summary(mut self, summary: &'static str) -> Meta {
        self.summary = summary;
        self
    }
    /// Longer documentation.
    pub const fn doc(mut self, doc: &'static str) -> Meta {
        self.doc = doc;
        self
    }
    /// A fast path or compromise: a variant of effect `reference` (which has the same parameter
    /// schema), chosen by the quality profile at `tier`.
    pub const fn variant_of(mut self, reference: &'static str, tier: Tier) -> Meta {
        self.variant_of = reference;
        self.tier = tier;
        self
    }
    /// The output depends on something besides inputs, parameters and seed: never cached.
    pub const fn nondeterministic(mut self) -> Meta {
        self.deterministic = false;
        self
    }
    /// Renders only these formats (both by default).
    pub const fn formats(mut self, formats: FormatSet) -> Meta {
        self.formats = formats;
        self
    }
    /// The access pattern shown to users and used by the optimizer, when it is not the kind's
    /// usual one (filters read an area, compositors the same pixels): [`Access::GLOBAL`] for
    /// geometry and global statistics.
    pub const fn access(mut self, access: Access) -> Meta {
        self.access = Some(access);
        self
    }
    /// For compositors: the fewest and most inputs (2 and 2 by default).
    pub const fn inputs(mut self, min: u32, max: u32) -> Meta {
        self.inputs = (min, max);
        self
    }
    /// Test cases the host runs in `fxchain plugins test` and before a hot reload.
    pub const fn tests(mut self, tests: &'static [Test]) -> Meta {
        self.tests = tests;
        self
    }
    /// The id.
    pub const fn id(&self) -> &'static str {
        self.id
    }
}

/// A test case in the plugin contract: parameters, an input (generated from a seed, or a small
/// embedded image) and what the output must be.
///
/// Generated inputs are the host's test pattern (gradients, edges, noise and a semi-transparent
/// corner) of the given size; `fxchain plugins test ID` prints the hash a case actually gives.
#[derive(Copy, Clone, Debug)]
pub struct Test {
    pub(crate) name: &'static str,
    pub(crate) params: &'static str,
    pub(crate) size: Size,
    pub(crate) seed: u64,
    pub(crate) format: PixelFormat,
    pub(crate) input: &'static [u8],
    pub(crate) expect: ExpectKind,
    pub(crate) hash: &'static str,
    pub(crate) reference: &'static str,
    pub(crate) min_db: f64,
}

impl Test {
    /// A case named `name`: default parameters, a generated 64×48 input, seed 1, 8-bit.
    pub const fn new(name: &'static str) -> Test {
        Test {
            name,
            params: "{}",
            size: Size::new(64, 48),
            seed: 1,
            format: PixelFormat::RGBA8,
            input: &[],
            expect: ExpectKind::HASH,
            hash: "",
            reference: "",
            min_db: 0.0,
        }
    }
    /// Parameters as a RON map, as in a chain: `r#"{"sigma": 3.0}"#`.
    pub const fn params(mut self, ron: &'static str) -> Test {
        self.params = ron;
        self
    }
    /// Size of the generated inputs (a generator's output size).
    pub const fn size(mut self, width: u32, height: u32) -> Test {
        self.size = Size::new(width, height);
        self
    }
    /// Seed of the generated inputs and of the step.
    pub const fn seed(mut self, seed: u64) -> Test {
        self.seed = seed;
        self
    }
    /// Render in `Rgba32F` (the output is converted to 8 bits before it is checked).
    pub const fn f32(mut self) -> Test {
        self.format = PixelFormat::RGBA32F;
        self
    }
    /// An embedded input: `size` pixels of tightly packed 8-bit RGBA.
    pub const fn input(mut self, width: u32, height: u32, rgba: &'static [u8]) -> Test {
        self.size = Size::new(width, height);
        self.input = rgba;
        self
    }
    /// The output's hash must start with `hex`.
    pub const fn hash(mut self, hex: &'static str) -> Test {
        self.expect = ExpectKind::HASH;
        self.hash = hex;
        self
    }
    /// The output must be within `min_db` PSNR of effect `reference` on the same case.
    pub const fn psnr(mut self, reference: &'static str, min_db: f64) -> Test {
        self.expect = ExpectKind::PSNR;
        self.reference = reference;
        self.min_db = min_db;
        self
    }
}
