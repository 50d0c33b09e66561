//! `fxchain plugins …`.

use clap::Subcommand;
use fxchain_host::api::Size;
use fxchain_host::api::{ParamKind, ParamValue};
use fxchain_host::loader::{EffectInfo, ParamInfo};
use fxchain_host::probe::{self, VariantReport};
use serde_json::json;

use super::{exit, report, Global};

/// Plugin commands.
#[derive(Subcommand, Debug)]
pub enum PluginsCommand {
    /// List every effect with its kind, variants and library. Fast variants are measured against
    /// their reference on a probe image (speed-up and PSNR).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Side of the square probe image used to measure variants (0 skips the measurement).
        #[arg(long, default_value_t = 512)]
        probe_size: u32,
    },
    /// Show an effect's parameter schema and variants.
    Describe {
        /// Effect id, e.g. blur.gaussian.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Side of the square probe image used to measure variants (0 skips the measurement).
        #[arg(long, default_value_t = 1024)]
        probe_size: u32,
    },
    /// Run the test cases effects declare, and print a table. Exit status 1 when a case fails.
    Test {
        /// Effect ids, or plugin library files or names (`libfxchain_color.so`, `fxchain-color`);
        /// every loaded effect when none is given.
        targets: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Whether `target` names `e`: its id, its library's crate name, or its library's file.
fn names_effect(target: &str, e: &EffectInfo) -> bool {
    let lib = &e.library;
    let file = lib.path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    target == e.id
        || target == lib.name
        || target == file
        || std::path::Path::new(target).canonicalize().ok() == lib.path.canonicalize().ok()
}

fn test_cases(registry: &fxchain_host::Registry, targets: &[String], json: bool) -> i32 {
    let chosen: Vec<_> =
        registry.all().filter(|e| targets.is_empty() || targets.iter().any(|t| names_effect(t, e))).collect();
    if let Some(t) = targets.iter().find(|t| !registry.all().any(|e| names_effect(t, e))) {
        eprintln!("error: `{t}` is neither a loaded effect nor a loaded plugin library");
        return exit::USAGE;
    }
    let reports: Vec<_> = chosen.iter().flat_map(|e| fxchain_host::contract::run_effect(registry, e)).collect();
    let failed = reports.iter().filter(|r| !r.passed).count();
    if json {
        let doc = report::json_doc(json!({"cases": reports, "passed": reports.len() - failed, "failed": failed}));
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
    } else {
        println!("{:<28} {:<22} {:<6} {:<17} detail", "effect", "case", "result", "hash");
        for r in &reports {
            println!(
                "{:<28} {:<22} {:<6} {:<17} {}",
                r.effect,
                r.case,
                if r.passed { "ok" } else { "FAILED" },
                r.hash.as_deref().unwrap_or("-"),
                r.detail
            );
        }
        println!("{} passed, {failed} failed", reports.len() - failed);
    }
    if failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    }
}

fn measure(registry: &fxchain_host::Registry, e: &EffectInfo, size: u32) -> Option<Result<VariantReport, String>> {
    if size == 0 {
        return None;
    }
    probe::measure_cached(registry, e, Size::new(size, size), 3, &probe::default_measure_dir())
        .map(|r| r.map_err(|e| e.to_string()))
}

fn measure_text(m: &Option<Result<VariantReport, String>>) -> String {
    match m {
        Some(Ok(r)) => format!(
            "{:.1}x faster, PSNR {:.1} dB on the {}{}",
            r.speedup(),
            r.psnr,
            r.image,
            if r.cached { " (cached for these libraries)" } else { "" }
        ),
        Some(Err(e)) => format!("not measured: {e}"),
        None => String::new(),
    }
}

fn measure_json(m: &Option<Result<VariantReport, String>>) -> serde_json::Value {
    match m {
        Some(Ok(r)) => {
            json!({"probe": [r.size.width, r.size.height], "speedup": report::json_f64(r.speedup()),
            // Identical outputs have an infinite PSNR: null, with `identical` saying so.
            "psnr_db": report::json_f64(r.psnr), "identical": r.psnr.is_infinite(), "error": null,
            "reference_ms": r.reference_time.as_secs_f64() * 1e3, "variant_ms": r.variant_time.as_secs_f64() * 1e3,
            "image": r.image, "psnr_channels": "rgb", "cached": r.cached})
        }
        Some(Err(e)) => json!({"probe": null, "speedup": null, "psnr_db": null, "identical": null, "error": e,
            "reference_ms": null, "variant_ms": null, "image": null, "psnr_channels": null, "cached": null}),
        None => serde_json::Value::Null,
    }
}

/// Formats a parameter value the way chain files write it.
pub fn value_text(p: &ParamInfo, v: &ParamValue) -> String {
    match v {
        // Float parameters are f32 in plugins: print the f32 (0.05, not 0.05000000074505806).
        ParamValue::Float(x) => format!("{:?}", *x as f32),
        ParamValue::Int(i) => i.to_string(),
        ParamValue::Bool(b) => b.to_string(),
        ParamValue::Color(c) => {
            let b = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
            if c[3] >= 1.0 {
                format!("\"#{:02x}{:02x}{:02x}\"", b(c[0]), b(c[1]), b(c[2]))
            } else {
                format!("\"#{:02x}{:02x}{:02x}{:02x}\"", b(c[0]), b(c[1]), b(c[2]), b(c[3]))
            }
        }
        ParamValue::Enum(i) => format!("{:?}", p.choices.get(*i as usize).map(String::as_str).unwrap_or("?")),
        ParamValue::Text(s) => format!("{:?}", s.as_str()),
        _ => "?".into(),
    }
}

fn range_text(p: &ParamInfo) -> String {
    match p.kind {
        ParamKind::FLOAT | ParamKind::INT if p.min.is_finite() || p.max.is_finite() => {
            format!("{}..={}", bound_text(p, p.min), bound_text(p, p.max))
        }
        ParamKind::ENUM => p.choices.join(" | "),
        _ => String::new(),
    }
}

/// A range bound as the parameter's type prints it: integers for int parameters, f32 for float
/// ones, `inf` for no bound.
fn bound_text(p: &ParamInfo, x: f64) -> String {
    if !x.is_finite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    match p.kind {
        ParamKind::INT => format!("{}", x as i64),
        _ => format!("{}", x as f32),
    }
}

/// A parameter value as typed JSON: numbers for float and int, booleans, strings for enums,
/// text and colours (`"#rrggbb"` or `"#rrggbbaa"`).
fn value_json(p: &ParamInfo, v: &ParamValue) -> serde_json::Value {
    match v {
        ParamValue::Float(x) => report::json_f32(*x),
        ParamValue::Int(i) => json!(i),
        ParamValue::Bool(b) => json!(b),
        ParamValue::Color(_) | ParamValue::Enum(_) | ParamValue::Text(_) => {
            json!(value_text(p, v).trim_matches('"'))
        }
        _ => serde_json::Value::Null,
    }
}

/// A bound as typed JSON: an integer for int parameters, the f32 for float ones, null when
/// unbounded or for other kinds.
fn bound_json(p: &ParamInfo, x: f64) -> serde_json::Value {
    match p.kind {
        _ if !x.is_finite() => serde_json::Value::Null,
        ParamKind::INT => json!(x as i64),
        ParamKind::FLOAT => report::json_f32(x),
        _ => serde_json::Value::Null,
    }
}

fn param_json(p: &ParamInfo) -> serde_json::Value {
    json!({
        "id": p.id, "type": p.kind.to_string(), "default": value_json(p, &p.default),
        "min": bound_json(p, p.min), "max": bound_json(p, p.max),
        "unit": p.unit, "choices": p.choices, "doc": p.doc,
    })
}

fn effect_json(e: &EffectInfo) -> serde_json::Value {
    json!({
        "id": e.id, "kind": e.kind.to_string(), "access": e.access.to_string(), "tier": e.tier.to_string(),
        "variant_of": e.variant_of, "inputs": [e.min_inputs, e.max_inputs], "deterministic": e.deterministic,
        "formats": { "rgba8": e.formats.contains(fxchain_host::api::PixelFormat::RGBA8), "rgba32f": e.formats.contains(fxchain_host::api::PixelFormat::RGBA32F) },
        "summary": e.summary, "doc": e.doc,
        "library": { "name": e.library.name, "version": e.library.version, "path": e.library.path, "generation": e.library.generation, "hash": e.library.content_hash },
        "params": e.params.iter().map(param_json).collect::<Vec<_>>(),
    })
}

/// Runs a plugins subcommand.
pub fn run(g: &Global, cmd: PluginsCommand) -> i32 {
    let registry = match g.registry_with_effects() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match cmd {
        PluginsCommand::Test { targets, json } => test_cases(&registry, &targets, json),
        PluginsCommand::List { json, probe_size } => {
            if json {
                let list: Vec<_> = registry
                    .all()
                    .map(|e| {
                        let mut v = effect_json(e);
                        // References are not measured: null, as for a variant with --probe-size 0.
                        v["measured"] = match e.variant_of {
                            Some(_) => measure_json(&measure(&registry, e, probe_size)),
                            None => serde_json::Value::Null,
                        };
                        v
                    })
                    .collect();
                let doc = report::json_doc(json!({
                    "effects": list,
                    "libraries": registry.libraries().len(),
                    "searched": registry.dirs(),
                }));
                println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
                return exit::OK;
            }
            let refs: Vec<_> = registry.references().collect();
            let mut t = report::table(&["effect", "kind", "access", "variants", "library", "summary"], &[]);
            for e in &refs {
                let variants: Vec<String> =
                    registry.variants_of(&e.id).iter().skip(1).map(|v| format!("{} ({})", v.tier, v.id)).collect();
                t.add_row(vec![
                    e.id.clone(),
                    e.kind.to_string(),
                    e.access.to_string(),
                    if variants.is_empty() { "-".to_string() } else { variants.join(", ") },
                    format!("{} {}", e.library.name, e.library.version),
                    e.summary.clone(),
                ]);
            }
            for l in report::table_lines(&t, "") {
                println!("{l}");
            }
            let variants: Vec<_> = registry.all().filter(|e| e.variant_of.is_some()).collect();
            if !variants.is_empty() {
                println!("\nvariants (measured on a {probe_size}x{probe_size} probe, default parameters):");
                let mut t = report::table(&["variant", "tier", "of", "measured"], &[]);
                for v in variants {
                    let m = measure(&registry, v, probe_size);
                    t.add_row(vec![v.id.clone(), v.tier.to_string(), v.reference_id().to_string(), measure_text(&m)]);
                }
                for l in report::table_lines(&t, "  ") {
                    println!("{l}");
                }
            }
            println!(
                "\n{} effects ({} variants) from {} libraries",
                refs.len(),
                registry.all().count() - refs.len(),
                registry.libraries().len()
            );
            if refs.is_empty() {
                return exit::ENV;
            }
            exit::OK
        }
        PluginsCommand::Describe { id, json, probe_size } => {
            let Some(e) = registry.effect(&id) else {
                eprintln!(
                    "error: no effect `{id}`{}",
                    fxchain_host::chain::suggest_effect(&registry, &id)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default()
                );
                return exit::USAGE;
            };
            let variants = registry.variants_of(e.reference_id());
            if json {
                let mut v = report::json_doc(effect_json(e));
                v["variants"] = variants
                    .iter()
                    .map(|x| json!({"id": x.id, "tier": x.tier.to_string(), "measured": measure_json(&measure(&registry, x, probe_size))}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
                return exit::OK;
            }
            println!("{}  ({}, {} access)", e.id, e.kind, e.access);
            println!("  {}", e.summary);
            if !e.doc.is_empty() {
                println!("  {}", e.doc);
            }
            println!(
                "  library: {} {}  ({}, generation {})",
                e.library.name,
                e.library.version,
                e.library.path.display(),
                e.library.generation
            );
            if let Some(r) = &e.variant_of {
                println!("  variant of: {r} (tier {})", e.tier);
            }
            if variants.len() > 1 {
                println!("  variants:");
                for v in variants {
                    let m = measure(&registry, v, probe_size);
                    let text = if v.variant_of.is_some() {
                        format!("  {} (probe {probe_size}x{probe_size})", measure_text(&m))
                    } else {
                        String::new()
                    };
                    println!("    {:<28} {:<9}{text}", v.id, v.tier.to_string());
                }
            }
            if e.params.is_empty() {
                println!("  parameters: none");
            } else {
                println!("  parameters:");
                let mut t = report::table(&["id", "type", "default", "range", "doc"], &[]);
                for p in &e.params {
                    t.add_row(vec![
                        p.id.clone(),
                        p.kind.to_string(),
                        value_text(p, &p.default),
                        range_text(p),
                        format!(
                            "{}{}",
                            if p.unit.is_empty() { String::new() } else { format!("[{}] ", p.unit) },
                            p.doc
                        ),
                    ]);
                }
                for l in report::table_lines(&t, "    ") {
                    println!("{l}");
                }
            }
            exit::OK
        }
    }
}
