//! Any bytes as an image file, decoded the way every command decodes inputs, under tight limits
//! (a decompression bomb must be refused, not allocated): never a panic.
#![no_main]

use std::path::Path;

use fxchain_host::api::PixelFormat;
use fxchain_host::io::{decode_image, ImageLimits};
use libfuzzer_sys::fuzz_target;

const LIMITS: ImageLimits = ImageLimits { max_width: 4096, max_height: 4096, max_pixels: 1 << 20, max_bytes: 32 << 20 };

fuzz_target!(|data: &[u8]| {
    for format in [PixelFormat::RGBA8, PixelFormat::RGBA32F] {
        if let Ok(f) = decode_image(data, Path::new("fuzz.img"), format, LIMITS) {
            let s = f.size();
            assert!(s.width as u64 * s.height as u64 <= LIMITS.max_pixels);
        }
    }
});
