#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod abi;
mod export;
mod image;
mod params;
mod pixel;
mod traits;

pub use abi::{
    Access, EffectKind, ErrorKind, FormatSet, ParamKind, ParamValue, PixelFormat, PluginError, PluginModuleRef, Rows,
    Size, Tier,
};
pub use fxchain_plugin_api_macros::{ParamEnum, Params};
pub use image::{Band, Image};
pub use params::{Color, ParamDef, ParamEnum, ParamField, Params};
pub use pixel::{f32_to_u8, u8_to_f32, Pixel, Rgba8, RgbaF32};
pub use traits::{Compositor, Filter, Generator, PointFilter};

/// Everything an effect author needs: `use fxchain_plugin_api::prelude::*;`.
pub mod prelude {
    pub use crate::{
        export_plugin, f32_to_u8, u8_to_f32, Access, Band, Color, Compositor, Filter, FormatSet, Generator, Image,
        ParamEnum, Params, Pixel, PluginError, PointFilter, Rgba8, RgbaF32, Rows, Size, Tier,
    };
}

/// Items used by the code the macros expand to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{
        describe, guard, library_info, module, prepare, BoxedEffect, ErasedEffect, ViaCompositor, ViaFilter,
        ViaGenerator, ViaPoint, Wrap,
    };
    pub use crate::params::{default_from_str, field};
    pub use abi_stable::library::{__call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult};
    pub use abi_stable::std_types::{RResult, RVec};
    pub use std::sync::OnceLock;
}

/// Exports the listed effects as this library's plugin. Write it once per plugin crate, listing
/// every effect type; each must implement one of [`PointFilter`], [`Filter`], [`Generator`] or
/// [`Compositor`].
///
/// The crate must be built as a `cdylib` with `panic = "unwind"` (the default); the host refuses
/// libraries built with `panic = "abort"` because a panic could not be contained.
#[macro_export]
macro_rules! export_plugin {
    ($($effect:ty),+ $(,)?) => {
        #[doc(hidden)]
        fn __fxchain_effects() -> &'static [$crate::__private::BoxedEffect] {
            #[allow(unused_imports)]
            use $crate::__private::{ViaCompositor as _, ViaFilter as _, ViaGenerator as _, ViaPoint as _};
            static EFFECTS: $crate::__private::OnceLock<::std::vec::Vec<$crate::__private::BoxedEffect>> =
                $crate::__private::OnceLock::new();
            EFFECTS.get_or_init(|| ::std::vec![$((&&&&$crate::__private::Wrap::<$effect>::new()).erase()),+])
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
        ) -> $crate::__private::RResult<$crate::abi::PreparedOpBox, $crate::PluginError> {
            $crate::__private::prepare(__fxchain_effects, index, params, inputs, info)
        }

        #[doc(hidden)]
        fn __fxchain_module() -> $crate::PluginModuleRef {
            $crate::__private::module(__fxchain_library, __fxchain_describe, __fxchain_prepare)
        }

        /// The `abi_stable` library header: the one symbol the host looks up.
        #[doc(hidden)]
        #[no_mangle]
        #[allow(non_upper_case_globals, unsafe_code)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::__private::LibHeader = {
            extern "C" fn __fxchain_loader() -> $crate::__private::RootModuleResult {
                $crate::__private::__call_root_module_loader(__fxchain_module)
            }
            // SAFETY: `__fxchain_loader` returns the module built by `__fxchain_module`, whose type
            // is the `PluginModuleRef` named here, as `from_constructor` requires.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::PluginModuleRef>(
                    __fxchain_loader,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}
