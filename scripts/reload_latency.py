#!/usr/bin/env python3
"""Measures hot-reload latency: from a rebuilt plugin library appearing in a watched folder to the
new output file of `fxchain watch`, for a 1024x1024 chain of 4 steps whose last step changed.
Cargo's own build time is excluded (both builds are made first).

    cargo build --release --workspace && python3 scripts/reload_latency.py [--runs 5]
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FXCHAIN = os.path.join(ROOT, "target", "release", "fxchain")


def build(version, work):
    src = os.path.join(ROOT, "tests", "fixtures", "reload")
    dst = os.path.join(work, "crate-" + version)
    shutil.copytree(src, dst)
    manifest = os.path.join(dst, "Cargo.toml")
    text = open(manifest).read().replace('path = "../../../plugin-api"', 'path = "%s"' % os.path.join(ROOT, "plugin-api"))
    open(manifest, "w").write(text)
    shutil.copy(os.path.join(ROOT, "Cargo.lock"), os.path.join(dst, "Cargo.lock"))
    lib = os.path.join(dst, "src", "lib.rs")
    if version == "v2":
        t = open(lib).read().replace("[10, 20, 30, 255]; // VERSION", "[200, 100, 50, 255]; // VERSION")
        open(lib, "w").write(t)
    target = os.path.join(ROOT, "target", "fixtures-release")
    subprocess.run(["cargo", "build", "--release", "--offline", "-q", "--target-dir", target, "--manifest-path", manifest], check=True)
    out = os.path.join(work, version + ".so")
    shutil.copy(os.path.join(target, "release", "libfxchain_fixture_reload.so"), out)
    return out


def install(lib, folder):
    tmp = os.path.join(folder, ".partial")
    shutil.copy(lib, tmp)
    os.rename(tmp, os.path.join(folder, "libfxchain_fixture_reload.so"))


def first_pixel(path):
    # The output is PNG; decode the first pixel with the fxchain-independent `zlib` path.
    import struct, zlib
    data = open(path, "rb").read()
    pos, idat = 8, b""
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompressobj().decompress(idat, 64)
    return tuple(raw[1:5])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp()
    v1, v2 = build("v1", work), build("v2", work)
    plugins = os.path.join(work, "plugins")
    os.mkdir(plugins)
    install(v1, plugins)
    chain = os.path.join(work, "chain.ron")
    open(chain, "w").write('(size: (1024, 1024), steps: [(effect: "generate.solid"), '
                           '(effect: "blur.gaussian", params: {"sigma": 2.0}), (effect: "reload.keep"), (effect: "reload.fill")])')
    out = os.path.join(work, "out.png")
    log = open(os.path.join(work, "watch.log"), "w")
    proc = subprocess.Popen([FXCHAIN, "--plugin-dir", plugins, "watch", chain, "-o", out, "--debounce-ms", "50"],
                            stderr=log, cwd=work)
    want = {"v1": (10, 20, 30, 255), "v2": (200, 100, 50, 255)}

    def wait(color, timeout=30):
        t = time.time()
        while time.time() - t < timeout:
            try:
                if os.path.exists(out) and first_pixel(out) == color:
                    return
            except Exception:
                pass
            time.sleep(0.002)
        raise SystemExit("timed out waiting for %s" % (color,))

    wait(want["v1"])
    times = []
    for i in range(args.runs):
        lib, name = (v2, "v2") if i % 2 == 0 else (v1, "v1")
        t0 = time.time()
        install(lib, plugins)
        wait(want[name])
        times.append((time.time() - t0) * 1e3)
    proc.terminate()
    proc.wait()
    times.sort()
    print("reload latency (library in folder -> new output written), 1024x1024, 4 steps, %d runs: "
          "median %.0f ms, min %.0f ms, max %.0f ms (debounce 50 ms included)" % (len(times), times[len(times) // 2], times[0], times[-1]))


if __name__ == "__main__":
    main()
