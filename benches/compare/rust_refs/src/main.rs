//! Reference timings of the Rust peers for the comparison harness, one JSON object per line:
//! fast_image_resize's resize ½ (Lanczos3, 1 and 2 threads) at each size, and the basic chain
//! (resize ½ Lanczos3 → brightness/contrast table → unsharp σ 1, 0.3 with `image`'s blur) over
//! a batch of 64 × 512², one image per worker thread.
//!
//! Usage: rust_refs --sizes 1024,4096 [--quick]

use std::time::Instant;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

fn photo_like(size: u32, seed: u32) -> Vec<u8> {
    let mut s = 0x9e37_79b9u32 ^ seed.wrapping_mul(0x85eb_ca6b);
    let mut out = Vec::with_capacity((size * size * 4) as usize);
    for y in 0..size {
        for x in 0..size {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let n = (s % 24) as i32 - 12;
            let (fx, fy) = (x as f32 / size as f32, y as f32 / size as f32);
            let r = 128.0 + 100.0 * (6.0 * fx + 3.0 * fy).sin();
            let g = 128.0 + 90.0 * (5.0 * fy - 2.0 * fx * fx).cos();
            let b = if (fx - 0.5).powi(2) + (fy - 0.5).powi(2) < 0.1 { 220.0 } else { 40.0 };
            for c in [r, g, b] {
                out.push((c as i32 + n).clamp(0, 255) as u8);
            }
            out.push(255);
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn resize_half(resizer: &mut Resizer, src: &Image<'_>, threads: usize) -> Image<'static> {
    let mut dst = Image::new(src.width() / 2, src.height() / 2, PixelType::U8x4);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if threads == 1 {
        resizer.resize(src, &mut dst, &opts).expect("resize");
    } else {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
        pool.install(|| resizer.resize(src, &mut dst, &opts).expect("resize"));
    }
    dst
}

fn chain(resizer: &mut Resizer, src: &Image<'_>, lut: &[u8; 256]) -> Vec<u8> {
    let half = resize_half(resizer, src, 1);
    let (w, h) = (half.width(), half.height());
    let mut px = half.into_vec();
    for p in px.chunks_exact_mut(4) {
        for c in &mut p[..3] {
            *c = lut[*c as usize];
        }
    }
    let img = image::RgbaImage::from_raw(w, h, px).expect("image");
    let blur = image::imageops::blur(&img, 1.0);
    let mut out = img.into_raw();
    for (o, b) in out.iter_mut().zip(blur.as_raw()) {
        *o = (*o as f32 * 1.3 - *b as f32 * 0.3).round().clamp(0.0, 255.0) as u8;
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: Vec<u32> = args
        .iter()
        .position(|a| a == "--sizes")
        .map(|i| args[i + 1].split(',').map(|s| s.parse().expect("size")).collect())
        .unwrap_or_else(|| vec![1024, 4096]);
    let threads: usize = std::env::var("FXCHAIN_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
    let runs = if quick { 5 } else { 15 };
    let mut resizer = Resizer::new();
    for &size in &sizes {
        let src = Image::from_vec_u8(size, size, photo_like(size, 1), PixelType::U8x4).expect("image");
        for t in [1, threads] {
            resize_half(&mut resizer, &src, t);
            let times: Vec<f64> = (0..runs)
                .map(|_| {
                    let t0 = Instant::now();
                    std::hint::black_box(resize_half(&mut resizer, &src, t));
                    t0.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let min = times.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "{}",
                serde_json::json!({"lib": "fast_image_resize", "op": "resize_half", "size": size, "threads": t,
                    "median_ms": median(times), "min_ms": min, "runs": runs})
            );
        }
    }
    // The batch: 64 × 512², `threads` workers.
    let lut: [u8; 256] =
        std::array::from_fn(|i| ((i as f32 * 1.1 - 128.0) * 1.2 + 128.0).round().clamp(0.0, 255.0) as u8);
    let images: Vec<Vec<u8>> = (0..64).map(|i| photo_like(512, i)).collect();
    let mut ips = Vec::new();
    for _ in 0..if quick { 2 } else { 5 } {
        let t0 = Instant::now();
        std::thread::scope(|s| {
            for part in 0..threads {
                let (images, lut) = (&images, &lut);
                s.spawn(move || {
                    let mut resizer = Resizer::new();
                    for px in images.iter().skip(part).step_by(threads) {
                        let src = Image::from_vec_u8(512, 512, px.clone(), PixelType::U8x4).expect("image");
                        std::hint::black_box(chain(&mut resizer, &src, lut));
                    }
                });
            }
        });
        ips.push(64.0 / t0.elapsed().as_secs_f64());
    }
    println!(
        "{}",
        serde_json::json!({"lib": "image+fast_image_resize", "op": "batch_basic_chain", "size": 512, "batch": 64,
            "workers": threads, "images_per_second": median(ips)})
    );
}
