//! Every JSON output against its documented shape (docs/json.md).

use serde_json::Value;

use crate::support::{fxchain, plugin_dir, root, stderr, stdout};

/// The type a field must have.
#[derive(Clone, Copy, Debug)]
enum T {
    Str,
    Int,
    Num,
    Bool,
    Arr,
    Obj,
    StrOrNull,
    IntOrNull,
    NumOrNull,
    ArrOrNull,
    ObjOrNull,
    Null,
}

fn is(t: T, v: &Value) -> bool {
    match t {
        T::Str => v.is_string(),
        T::Int => v.is_i64() || v.is_u64(),
        T::Num => v.is_number(),
        T::Bool => v.is_boolean(),
        T::Arr => v.is_array(),
        T::Obj => v.is_object(),
        T::StrOrNull => v.is_string() || v.is_null(),
        T::IntOrNull => v.is_i64() || v.is_u64() || v.is_null(),
        T::NumOrNull => v.is_number() || v.is_null(),
        T::ArrOrNull => v.is_array() || v.is_null(),
        T::ObjOrNull => v.is_object() || v.is_null(),
        T::Null => v.is_null(),
    }
}

/// Checks that `v` is an object with exactly these keys, of these types.
fn shape(what: &str, v: &Value, fields: &[(&str, T)]) {
    let obj = v.as_object().unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    for (k, t) in fields {
        let x = obj.get(*k).unwrap_or_else(|| panic!("{what}: no `{k}` in {v}"));
        assert!(is(*t, x), "{what}: `{k}` should be {t:?}, is {x}");
    }
    for k in obj.keys() {
        assert!(fields.iter().any(|(f, _)| f == k), "{what}: undocumented field `{k}`");
    }
}

fn doc(what: &str, args: &[&str], cwd: &std::path::Path) -> Value {
    let o = fxchain(args, &[plugin_dir()], cwd);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{what}: {e}: {}", stderr(&o)));
    assert_eq!(v["schema_version"], 1, "{what}");
    v
}

fn check_param(p: &Value) {
    shape(
        "param",
        p,
        &[
            ("id", T::Str),
            ("type", T::Str),
            ("default", T::Obj),
            ("min", T::NumOrNull),
            ("max", T::NumOrNull),
            ("unit", T::Str),
            ("choices", T::Arr),
            ("doc", T::Str),
        ]
        .map(|(k, t)| if k == "default" { (k, default_type(p)) } else { (k, t) }),
    );
    if p["type"] == "int" {
        for b in ["min", "max"] {
            assert!(p[b].is_null() || p[b].is_i64() || p[b].is_u64(), "int bound {b} not an integer: {p}");
        }
    }
    if p["type"] == "float" {
        // Printed as the f32 the plugin declared: no 0.05000000074505806.
        let text = p["default"].to_string();
        assert!(text.len() < 12, "float default printed as f64: {p}");
    }
}

fn default_type(p: &Value) -> T {
    match p["type"].as_str().unwrap_or_default() {
        "float" => T::Num,
        "int" => T::Int,
        "bool" => T::Bool,
        _ => T::Str,
    }
}

fn check_measured(m: &Value) {
    if m.is_null() {
        return;
    }
    let ok = m["error"].is_null();
    let t = |num: T| if ok { num } else { T::Null };
    shape(
        "measured",
        m,
        &[
            ("probe", if ok { T::Arr } else { T::Null }),
            ("speedup", t(T::Num)),
            ("psnr_db", if ok { T::NumOrNull } else { T::Null }),
            ("identical", if ok { T::Bool } else { T::Null }),
            ("error", if ok { T::Null } else { T::Str }),
            ("reference_ms", t(T::Num)),
            ("variant_ms", t(T::Num)),
            ("image", t(T::Str)),
            ("psnr_channels", t(T::Str)),
            ("cached", if ok { T::Bool } else { T::Null }),
        ],
    );
    if ok {
        assert_eq!(m["psnr_db"].is_null(), m["identical"] == true, "{m}");
    }
}

const EFFECT: &[(&str, T)] = &[
    ("id", T::Str),
    ("kind", T::Str),
    ("access", T::Str),
    ("tier", T::Str),
    ("variant_of", T::StrOrNull),
    ("inputs", T::Arr),
    ("deterministic", T::Bool),
    ("formats", T::Obj),
    ("summary", T::Str),
    ("doc", T::Str),
    ("library", T::Obj),
    ("params", T::Arr),
];

fn check_effect(e: &Value, extra: &[(&str, T)]) {
    let fields: Vec<(&str, T)> = EFFECT.iter().chain(extra).copied().collect();
    shape("effect", e, &fields);
    shape(
        "library",
        &e["library"],
        &[("name", T::Str), ("version", T::Str), ("path", T::Str), ("generation", T::Int), ("hash", T::Str)],
    );
    shape("formats", &e["formats"], &[("rgba8", T::Bool), ("rgba32f", T::Bool)]);
    assert!(e["inputs"].as_array().unwrap().iter().all(Value::is_u64), "{e}");
    for p in e["params"].as_array().unwrap() {
        check_param(p);
    }
}

#[test]
fn plugins_json_outputs_have_their_documented_shape() {
    let d = tempfile::tempdir().unwrap();
    let list = doc("plugins list", &["plugins", "list", "--json", "--probe-size", "32"], d.path());
    shape(
        "plugins list",
        &list,
        &[("schema_version", T::Int), ("effects", T::Arr), ("libraries", T::Int), ("searched", T::Arr)],
    );
    let effects = list["effects"].as_array().unwrap();
    assert!(effects.len() > 20);
    for e in effects {
        check_effect(e, &[("measured", T::ObjOrNull)]);
        check_measured(&e["measured"]);
        assert_eq!(e["variant_of"].is_null(), e["measured"].is_null(), "only variants are measured: {e}");
    }
    let noise = effects.iter().find(|e| e["id"] == "glitch.noise").unwrap();
    assert_eq!(noise["params"][0]["default"], serde_json::json!(0.05));
    let resize = effects.iter().find(|e| e["id"] == "geometry.resize").unwrap();
    let width = resize["params"].as_array().unwrap().iter().find(|p| p["id"] == "width").unwrap();
    assert_eq!(width["max"], serde_json::json!(65536));
    assert!(width["default"].is_i64());

    let desc = doc("describe", &["plugins", "describe", "blur.gaussian", "--json", "--probe-size", "32"], d.path());
    let fields = [("schema_version", T::Int), ("variants", T::Arr)];
    check_effect(&desc, &fields);
    for v in desc["variants"].as_array().unwrap() {
        shape("variant", v, &[("id", T::Str), ("tier", T::Str), ("measured", T::ObjOrNull)]);
        check_measured(&v["measured"]);
    }

    let test = doc("plugins test", &["plugins", "test", "color.invert", "--json"], d.path());
    shape(
        "plugins test",
        &test,
        &[("schema_version", T::Int), ("cases", T::Arr), ("passed", T::Int), ("failed", T::Int)],
    );
    for c in test["cases"].as_array().unwrap() {
        shape(
            "case",
            c,
            &[("effect", T::Str), ("case", T::Str), ("passed", T::Bool), ("detail", T::Str), ("hash", T::StrOrNull)],
        );
    }
    assert_eq!(test["passed"].as_u64().unwrap() as usize, test["cases"].as_array().unwrap().len());
}

#[test]
fn chain_json_outputs_have_their_documented_shape() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("bad.ron"),
        "(\n    steps: [\n        (effect: \"blur.gausian\"),\n        (effect: \"color.invert\", params: {\"nope\": 1}),\n    ],\n)\n",
    )
    .unwrap();
    let check_fields = [
        ("schema_version", T::Int),
        ("file", T::Str),
        ("ok", T::Bool),
        ("steps", T::IntOrNull),
        ("outputs", T::IntOrNull),
        ("inputs", T::ArrOrNull),
        ("diagnostics", T::Arr),
    ];
    let o = fxchain(&["chain", "check", "bad.ron", "--json"], &[plugin_dir()], d.path());
    assert_eq!(o.status.code(), Some(2));
    let bad: Value = serde_json::from_str(&stdout(&o)).unwrap();
    shape("chain check", &bad, &check_fields);
    let diags = bad["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 2, "{bad}");
    for x in diags {
        shape(
            "diagnostic",
            x,
            &[
                ("file", T::Str),
                ("line", T::IntOrNull),
                ("column", T::IntOrNull),
                ("message", T::Str),
                ("help", T::StrOrNull),
            ],
        );
    }
    assert_eq!((diags[0]["line"].as_u64(), diags[0]["column"].as_u64()), (Some(3), Some(18)));
    assert_eq!(diags[0]["message"], "unknown effect `blur.gausian`");
    assert!(diags[0]["help"].as_str().unwrap().starts_with("did you mean `blur.gaussian`?"));
    assert_eq!(diags[1]["line"], 4);

    let chain = root().join("examples/chains/photo.ron");
    let ok = doc("chain check", &["chain", "check", chain.to_str().unwrap(), "--json"], d.path());
    shape("chain check", &ok, &check_fields);
    assert_eq!((ok["ok"].as_bool(), ok["steps"].as_u64()), (Some(true), Some(4)));

    let ex = doc("chain explain", &["chain", "explain", chain.to_str().unwrap(), "--json"], d.path());
    shape(
        "chain explain",
        &ex,
        &[
            ("schema_version", T::Int),
            ("file", T::Str),
            ("quality", T::Str),
            ("precision", T::Str),
            ("optimize", T::Bool),
            ("steps", T::Arr),
        ],
    );
    for r in ex["steps"].as_array().unwrap() {
        shape(
            "explain row",
            r,
            &[
                ("step", T::Str),
                ("effect", T::Str),
                ("runs", T::Str),
                ("tier", T::Str),
                ("library", T::Str),
                ("access", T::Str),
                ("format", T::Str),
                ("size", T::Arr),
                ("inputs", T::Arr),
                ("fused_with_next", T::Bool),
                ("composed", T::StrOrNull),
                ("level", T::Int),
                ("cache_key", T::StrOrNull),
                ("skipped", T::StrOrNull),
            ],
        );
    }
}

#[test]
fn metrics_and_bench_json_have_their_documented_shape() {
    let d = tempfile::tempdir().unwrap();
    let sample = root().join("examples/images/sample.png");
    let o = fxchain(
        &["apply", "color.invert", "-i", sample.to_str().unwrap(), "-o", "o.png", "--metrics-json", "m.json"],
        &[plugin_dir()],
        d.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(d.path().join("m.json")).unwrap()).unwrap();
    assert_eq!(m["schema_version"], 1);
    shape(
        "metrics",
        &m,
        &[
            ("schema_version", T::Int),
            ("wall_ms", T::Num),
            ("streamed", T::Bool),
            ("effects", T::Arr),
            ("pool", T::Obj),
        ],
    );
    for f in m["effects"].as_array().unwrap() {
        shape(
            "figures",
            f,
            &[
                ("effect", T::Str),
                ("calls", T::Int),
                ("pixels", T::Int),
                ("total_ms", T::NumOrNull),
                ("p50_ms", T::NumOrNull),
                ("p95_ms", T::NumOrNull),
                ("p99_ms", T::NumOrNull),
                ("ns_per_pixel", T::NumOrNull),
                ("cache_hits", T::Int),
                ("cache_misses", T::Int),
                ("fused", T::Int),
            ],
        );
    }
    let pool = [
        ("hits", T::Int),
        ("misses", T::Int),
        ("bytes", T::Int),
        ("peak_bytes", T::Int),
        ("pooled_bytes", T::Int),
        ("released", T::Int),
    ];
    shape("pool", &m["pool"], &pool);

    std::fs::write(d.path().join("c.ron"), r#"(steps: [(effect: "color.invert")])"#).unwrap();
    let o = fxchain(&["bench", "c.ron", "--size", "32", "--iterations", "1", "--json"], &[plugin_dir()], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    for line in stdout(&o).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["schema_version"], 1);
        shape(
            "bench",
            &v,
            &[
                ("schema_version", T::Int),
                ("chain", T::Str),
                ("width", T::Int),
                ("height", T::Int),
                ("threads", T::Int),
                ("iterations", T::Int),
                ("median_ms", T::Num),
                ("min_ms", T::Num),
                ("steady_state_allocations", T::Int),
                ("pool_peak_bytes", T::Int),
                ("output_blake3", T::StrOrNull),
                ("steps", T::Arr),
                ("batch", T::IntOrNull),
                ("images_per_second", T::NumOrNull),
                ("simd", T::Str),
            ],
        );
    }
}
