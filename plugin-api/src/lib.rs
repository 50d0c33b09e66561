#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// The derives expand to `::fxchain_plugin_api` paths, also inside this crate.
extern crate self as fxchain_plugin_api;

pub mod abi;
mod border;
mod export;
mod image;
mod meta;
mod params;
mod pixel;
pub mod point;
pub mod simd;
mod traits;

pub use abi::{
    Access, EffectKind, ErrorKind, Footprint, FormatSet, ParamKind, ParamValue, PixelFormat, PluginError,
    PluginModuleRef, Rows, Size, Tier,
};
pub use border::{Border, BorderParams};
pub use fxchain_plugin_api_macros::{ParamEnum, Params};
pub use image::{Band, Image};
pub use meta::{Meta, Test};
pub use params::{Color, ParamDef, ParamEnum, ParamField, Params};
pub use pixel::{f32_to_u8, u8_to_f32, Pixel, Rgba8, RgbaF32};
pub use traits::{ColorMatrix, Compositor, Curve, Filter, Generator, PointFilter};

/// The symbol under which every plugin library exports its library header (abi_stable's
/// root-module loader name); the host looks for it in a library's dynamic symbol table.
pub const ROOT_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Everything an effect author needs: `use fxchain_plugin_api::prelude::*;`.
pub mod prelude {
    pub use crate::{
        export_plugin, f32_to_u8, u8_to_f32, Access, Band, Border, BorderParams, Color, ColorMatrix, Compositor, Curve,
        Filter, Footprint, FormatSet, Generator, Image, Meta, ParamEnum, Params, Pixel, PluginError, PointFilter,
        Rgba8, RgbaF32, Rows, Size, Test, Tier,
    };
}

/// Items used by the code the macros expand to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{
        describe, guard, header, library_info, load_root, module, prepare, BoxedEffect, ErasedEffect, ViaColorMatrix,
        ViaCompositor, ViaCurve, ViaFilter, ViaGenerator, ViaPoint, Wrap,
    };
    pub use crate::params::{default_from_str, field};
    pub use abi_stable::library::{LibHeader, RootModuleResult};
    pub use abi_stable::std_types::{RResult, RVec};
    pub use std::sync::OnceLock;
}

/// Exports the listed effects as this library's plugin. Write it once per plugin crate, listing
/// every effect type; each must implement one of [`PointFilter`], [`Curve`], [`ColorMatrix`],
/// [`Filter`], [`Generator`] or [`Compositor`].
///
/// The crate must be built as a `cdylib` with `panic = "unwind"` (the default); the host refuses
/// libraries built with `panic = "abort"` because a panic could not be contained. The macro
/// writes no `unsafe` of its own in the plugin crate, so plugins may use
/// `#![forbid(unsafe_code)]`.
#[macro_export]
macro_rules! export_plugin {
    ($($effect:ty),+ $(,)?) => {
        #[doc(hidden)]
        fn __fxchain_effects() -> &'static [$crate::__private::BoxedEffect] {
            #[allow(unused_imports)]
            use $crate::__private::{
                ViaColorMatrix as _, ViaCompositor as _, ViaCurve as _, ViaFilter as _, ViaGenerator as _, ViaPoint as _,
            };
            static EFFECTS: $crate::__private::OnceLock<::std::vec::Vec<$crate::__private::BoxedEffect>> =
                $crate::__private::OnceLock::new();
            EFFECTS.get_or_init(|| ::std::vec![$((&&&&&$crate::__private::Wrap::<$effect>::new()).erase()),+])
        }

        #[doc(hidden)]
        extern "C" fn __fxchain_library() -> $crate::abi::LibraryInfo {
            $crate::__private::library_info(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), cfg!(panic = "unwind"))
        }

        #[doc(hidden)]
        extern "C" fn __fxchain_describe(
        ) -> $crate::__private::RResult<$crate::__private::RVec<$crate::abi::EffectDescriptorRef>, $crate::PluginError> {
            $crate::__private::describe(__fxchain_effects)
        }

        #[doc(hidden)]
        extern "C" fn __fxchain_prepare(
            index: u32,
            params: $crate::__private::RVec<$crate::abi::ParamValueNE>,
            inputs: $crate::__private::RVec<$crate::Size>,
            info: &$crate::abi::PrepareInfo,
        ) -> $crate::__private::RResult<$crate::abi::Prepared, $crate::PluginError> {
            $crate::__private::prepare(__fxchain_effects, index, params, inputs, info)
        }

        #[doc(hidden)]
        fn __fxchain_module() -> $crate::PluginModuleRef {
            $crate::__private::module(__fxchain_library, __fxchain_describe, __fxchain_prepare)
        }

        #[doc(hidden)]
        extern "C" fn __fxchain_loader() -> $crate::__private::RootModuleResult {
            $crate::__private::load_root(__fxchain_module)
        }

        /// The library header: the one symbol the host looks up (its name is
        /// `fxchain_plugin_api::ROOT_SYMBOL`).
        #[doc(hidden)]
        #[no_mangle]
        #[allow(non_upper_case_globals)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::__private::LibHeader =
            // SAFETY: `__fxchain_loader` returns the module built by `load_root`.
            unsafe { $crate::__private::header(__fxchain_loader) };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_root_symbol_is_abi_stables() {
        assert_eq!(super::ROOT_SYMBOL, abi_stable::library::ROOT_MODULE_LOADER_NAME);
    }
}
