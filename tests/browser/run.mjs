// Browser tests of the `fxchain watch --serve` page, in the system's Chromium (headless, driven by
// playwright-core; nothing downloads a browser). Run from the repository after
// `cargo build --workspace`:
//
//   cd tests/browser && npm ci && node run.mjs
//
// Environment: FXCHAIN_BIN (default target/debug/fxchain), FXCHAIN_PLUGIN_DIR (default
// target/debug), CHROMIUM (default /usr/bin/chromium). `node run.mjs --docs-screenshot FILE`
// instead serves examples/chains/demo.ron and saves a screenshot of the page to FILE.
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
const bin = process.env.FXCHAIN_BIN || path.join(root, "target/debug/fxchain");
const pluginDir = process.env.FXCHAIN_PLUGIN_DIR || path.join(root, "target/debug");
const browserPath =
  process.env.CHROMIUM || ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));

export const V1 = [10, 20, 30, 255];
export const V2 = [200, 100, 50, 255];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what, check, timeout = 30000) {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/// Builds the hot-reload fixture plugin painting `color` (a copy of tests/fixtures/reload) with
/// cargo's `profile` (dev or release).
export function buildFixture(variant, color, profile = "dev") {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `fxchain-browser-${variant}-`));
  const src = path.join(root, "tests/fixtures/reload");
  const dst = path.join(work, "crate");
  fs.cpSync(src, dst, { recursive: true, filter: (p) => !p.includes(`${path.sep}target`) });
  const manifest = path.join(dst, "Cargo.toml");
  let m = fs.readFileSync(manifest, "utf8");
  m = m.replace(/path = "([^"]+)"/g, (_, p) => `path = "${path.resolve(src, p)}"`);
  // A version per variant, so cargo never reuses one variant's build for the other.
  m = m.replace('version = "0.1.0"', `version = "0.2.${variant}"`);
  fs.writeFileSync(manifest, m);
  fs.copyFileSync(path.join(root, "Cargo.lock"), path.join(dst, "Cargo.lock"));
  const lib = path.join(dst, "src/lib.rs");
  fs.writeFileSync(
    lib,
    fs.readFileSync(lib, "utf8").replace("[10, 20, 30, 255]; // VERSION", `[${color.join(", ")}]; // VERSION`),
  );
  const target = path.join(root, "target/browser-fixtures");
  execFileSync("cargo", ["build", "--offline", "--profile", profile, "--target-dir", target, "--manifest-path", manifest], {
    cwd: dst,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const out = path.join(work, "libfxchain_fixture_reload.so");
  fs.copyFileSync(path.join(target, profile === "dev" ? "debug" : profile, "libfxchain_fixture_reload.so"), out);
  return out;
}

/// Puts a library into a folder the way cargo does: a new file renamed over the old one.
export function install(lib, dir) {
  const target = path.join(dir, path.basename(lib));
  const tmp = path.join(dir, ".installing.partial");
  fs.copyFileSync(lib, tmp);
  fs.renameSync(tmp, target);
  return target;
}

/// Starts `fxchain watch --serve` on `chain` in `dir`; resolves with the page address.
export async function startServer(dir, chain, extraPluginDirs = [], args = []) {
  const argv = ["--no-default-plugins", "--plugin-dir", pluginDir];
  for (const d of extraPluginDirs) argv.push("--plugin-dir", d);
  argv.push("watch", chain, "-o", "out.png", "--serve", "127.0.0.1:0", ...args);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, ".cache") };
  delete env.FXCHAIN_PLUGIN_PATH;
  const child = spawn(bin, argv, { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const url = await waitFor("the preview address", () => (log.match(/preview page: (http:\/\/\S+\/)\n/) || [])[1], 20000);
  return { child, url, log: () => log };
}

export async function launch() {
  if (!browserPath) throw new Error("no Chromium found: install Debian's chromium or set CHROMIUM");
  return chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox"] });
}

/// The pixels of the image the page shows.
export async function shownPixels(page) {
  return page.evaluate(() => {
    const img = document.getElementById("view");
    const c = document.createElement("canvas");
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let hash = 0;
    for (let i = 0; i < d.length; i++) hash = (Math.imul(hash, 31) + d[i]) >>> 0;
    return { width: c.width, height: c.height, hash, data: Array.from(d.slice(0, 4 * c.width * 8)) };
  });
}

export function pixelAt(p, x, y) {
  const i = 4 * (y * p.width + x);
  return p.data.slice(i, i + 4);
}

export const lastShown = (page) => page.evaluate(() => window.fxchain.shown.at(-1) || { seq: 0 });

/// Waits until the page shows an image newer than `seq` rendered in `mode`.
export async function waitShown(page, seq, mode = "full", timeout = 30000) {
  await page.waitForFunction(
    ([seq, mode]) => window.fxchain.shown.some((s) => s.seq > seq && (!mode || s.mode === mode)),
    [seq, mode],
    { timeout, polling: 10 },
  );
  return lastShown(page);
}

const near = (a, b, tol = 3) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= tol);

/// Waits until no new image has been shown for `quiet` ms, so that a test starts from a
/// page with no render in flight.
async function settle(page, quiet = 400, timeout = 10000) {
  const end = Date.now() + timeout;
  let last = (await lastShown(page)).seq;
  let since = Date.now();
  while (Date.now() < end && Date.now() - since < quiet) {
    await sleep(50);
    const now = (await lastShown(page)).seq;
    if (now !== last) [last, since] = [now, Date.now()];
  }
}

/// Waits for full renders newer than `seq` until one shows `want` at (x, y). A render that
/// was already on its way (for example the one caused by the page's own write to the chain
/// file) may arrive first; it is skipped. Fails with the last pixel seen.
async function waitPixel(page, seq, x, y, want, tol = 3, timeout = 30000) {
  const end = Date.now() + timeout;
  let px = null;
  while (Date.now() < end) {
    let shown;
    try {
      shown = await waitShown(page, seq, "full", Math.max(1, end - Date.now()));
    } catch {
      break;
    }
    seq = shown.seq;
    px = pixelAt(await shownPixels(page), x, y);
    if (near(px, want, tol)) return px;
  }
  throw new Error(`pixel (${x}, ${y}) is ${px}, expected ${want}`);
}

const CHAIN = `// Checkerboard, softened; the last step paints the fixture plugin's colour when enabled.
(
    size: (160, 120),
    steps: [
        (effect: "generate.checker", params: {"cell": 32, "a": "#336699", "b": "#f0f0f0"}),
        (id: "soft", effect: "blur.gaussian", params: {"sigma": 1.0}),
        (id: "fill", effect: "reload.fill", enabled: false),
    ],
)
`;

async function main() {
  const results = [];
  const test = async (name, f) => {
    const t = Date.now();
    try {
      await f();
      results.push([name, true]);
      console.log(`ok   ${name} (${Date.now() - t} ms)`);
    } catch (e) {
      results.push([name, false]);
      console.log(`FAIL ${name}: ${e.stack || e}`);
    }
  };
  console.log("building the fixture plugin (two versions)...");
  const v1 = buildFixture(1, V1);
  const v2 = buildFixture(2, V2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fxchain-browser-"));
  const plugins = path.join(dir, "plugins");
  fs.mkdirSync(plugins);
  install(v1, plugins);
  const chainFile = path.join(dir, "chain.ron");
  fs.writeFileSync(chainFile, CHAIN);
  const server = await startServer(dir, "chain.ron", [plugins]);
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  try {
    await page.goto(server.url);
    await waitShown(page, 0, "full");

    await test("a slider change produces a different image", async () => {
      const before = await shownPixels(page);
      const seq = (await lastShown(page)).seq;
      const slider = page.locator('.step[data-step="1"] .param[data-param="sigma"] input[type=range]');
      await slider.evaluate((el) => {
        el.value = "6";
        el.dispatchEvent(new Event("input", { bubbles: true }));
      });
      // The quick preview is published first, then the full render. The page may skip
      // showing the quick image when the full one arrives before it loaded.
      await waitShown(page, seq, "full");
      const received = await page.evaluate((seq) => window.fxchain.received.filter((r) => r.seq > seq), seq);
      const fast = received.findIndex((r) => r.mode === "fast");
      const full = received.findIndex((r) => r.mode === "full");
      if (fast < 0 || fast > full) throw new Error(`renders received: ${JSON.stringify(received)}`);
      const after = await shownPixels(page);
      if (after.hash === before.hash) throw new Error("the image did not change");
      const label = await page.locator('.step[data-step="1"] .param[data-param="sigma"] .val').textContent();
      if (!label.startsWith("6")) throw new Error(`slider label: ${label}`);
    });

    await test("write to chain saves the change and keeps the comments", async () => {
      await page.click("#write");
      const text = await waitFor("the chain file to change", () => {
        const t = fs.readFileSync(chainFile, "utf8");
        return t.includes('"sigma": 6') && t;
      });
      if (!text.startsWith("// Checkerboard, softened")) throw new Error(`comment lost:\n${text}`);
      if (text.replace(/"sigma": 6(\.0)?/, '"sigma": 1.0') !== CHAIN) throw new Error(`layout changed:\n${text}`);
      const state = await (await fetch(`${server.url}api/state`)).json();
      if (state.overrides.length) throw new Error(`overrides left: ${JSON.stringify(state.overrides)}`);
    });

    await test("a chain edit on disk updates the page", async () => {
      const seq = (await lastShown(page)).seq;
      fs.writeFileSync(chainFile, fs.readFileSync(chainFile, "utf8").replace("#336699", "#cc3300"));
      await waitPixel(page, seq, 2, 2, [204, 51, 0, 255]);
    });

    await test("enabling a step on the page and a plugin rebuild update the page", async () => {
      let seq = (await lastShown(page)).seq;
      await page.locator('.step[data-step="2"] input.enable').click();
      await waitFor("the step enabled in the file", () => fs.readFileSync(chainFile, "utf8").includes("enabled: true"));
      await waitPixel(page, seq, 2, 2, V1, 0);
      seq = (await lastShown(page)).seq;
      install(v2, plugins);
      await waitPixel(page, seq, 2, 2, V2, 0);
      await page.waitForFunction(() => document.getElementById("log").textContent.includes("reloaded"));
      const plugin = await page.locator("#plugins").textContent();
      if (!plugin.includes("fxchain-fixture-reload")) throw new Error(`plugins: ${plugin}`);
    });

    await test("a bad chain shows its error with line:col and the last good image stays", async () => {
      await settle(page);
      const good = await shownPixels(page);
      const seq = (await lastShown(page)).seq;
      const text = fs.readFileSync(chainFile, "utf8");
      fs.writeFileSync(chainFile, text.replace('"reload.fill"', '"reload.fil"'));
      await page.locator("#error").waitFor({ state: "visible" });
      const shown = await page.locator("#error-text").textContent();
      if (!shown.includes("chain.ron:7:") || !shown.includes("unknown effect `reload.fil`") || !shown.includes("here"))
        throw new Error(`error text:\n${shown}`);
      const line = shown.match(/chain\.ron:(\d+):(\d+)/);
      if (line[1] !== "7" || line[2] !== String(text.split("\n")[6].indexOf('"reload.fill"') + 1))
        throw new Error(`position ${line[0]}`);
      await sleep(300);
      if ((await lastShown(page)).seq !== seq) throw new Error("a new image was shown for a bad chain");
      if ((await shownPixels(page)).hash !== good.hash) throw new Error("the last good image was replaced");
      fs.writeFileSync(chainFile, text);
      await waitShown(page, seq, "full");
      if (await page.locator("#error").isVisible()) throw new Error("the error stayed after the fix");
    });

    await test("a screenshot of the page is written under target/", async () => {
      const out = path.join(root, "target/browser/preview.png");
      fs.mkdirSync(path.dirname(out), { recursive: true });
      await page.screenshot({ path: out });
      const b = fs.readFileSync(out);
      if (b.length < 10000 || b.toString("latin1", 1, 4) !== "PNG") throw new Error(`${out}: ${b.length} bytes`);
      console.log(`     screenshot: ${path.relative(root, out)}`);
    });
  } finally {
    await browser.close();
    server.child.kill();
  }
  const passed = results.filter((r) => r[1]).length;
  const failed = results.length - passed;
  console.log(`browser tests: ${passed} passed, ${failed} failed`);
  if (failed) {
    console.log("server log:\n" + server.log());
    process.exit(1);
  }
}

/// A screenshot of the page on the demo chain, for the documentation.
async function docsScreenshot(out) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fxchain-docs-"));
  fs.copyFileSync(path.join(root, "examples/chains/demo.ron"), path.join(dir, "demo.ron"));
  const server = await startServer(dir, "demo.ron");
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
  try {
    await page.goto(server.url);
    await waitShown(page, 0, "full");
    const seq = (await lastShown(page)).seq;
    const slider = page.locator('.step[data-step="2"] .param[data-param="amount"] input[type=range]');
    await slider.evaluate((el) => {
      el.value = "0.6";
      el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    await waitShown(page, seq, "full");
    await sleep(300);
    await page.screenshot({ path: out });
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
    server.child.kill();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--docs-screenshot");
  (i > 0 ? docsScreenshot(path.resolve(process.argv[i + 1])) : main()).catch((e) => {
    console.log(`FAIL ${e.stack || e}`);
    console.log("browser tests: 0 passed, 1 failed");
    process.exit(1);
  });
}
