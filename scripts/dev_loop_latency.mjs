#!/usr/bin/env node
// Measures the dev loop of `fxchain watch --serve` (release build, headless Chromium):
//
//   1. a rebuilt plugin library renamed into the watched folder → the new 1024² output file
//      written, and → the new image shown in the page;
//   2. a slider change on the page → the new preview shown (fast mode, 1024² chain);
//   3. an idle watch with the page open while another process runs `fxchain run` on the same
//      plugin folder every second: renders, reloads, resident memory and shadow copies.
//
//   cargo build --release --workspace && (cd tests/browser && npm ci)
//   node scripts/dev_loop_latency.mjs [--runs 7] [--idle-seconds 600]
//
// Cargo's build time is excluded (both builds of the test plugin are made first).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg("--runs", 7);
const idleSeconds = arg("--idle-seconds", 600);

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
process.env.FXCHAIN_BIN ||= path.join(root, "target/release/fxchain");
process.env.FXCHAIN_PLUGIN_DIR ||= path.join(root, "target/release");
const t = await import(path.join(root, "tests/browser/run.mjs"));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (v) =>
  `median ${median(v).toFixed(0)} ms, min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)} (${v.length} runs)`;

/// First pixel of a PNG file (every PNG filter leaves the first pixel of the first row as is).
function firstPixel(file) {
  const data = fs.readFileSync(file);
  const idat = [];
  for (let pos = 8; pos < data.length; ) {
    const n = data.readUInt32BE(pos);
    if (data.toString("latin1", pos + 4, pos + 8) === "IDAT") idat.push(data.subarray(pos + 8, pos + 8 + n));
    pos += 12 + n;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  return [...raw.subarray(1, 5)];
}

const same = (a, b) => a && a.every((x, i) => x === b[i]);

function rssKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(s.match(/VmRSS:\s+(\d+)/)[1]);
}

function shadowCopies(dir, pid) {
  const folder = path.join(dir, ".cache/fxchain/plugins");
  return fs.existsSync(folder) ? fs.readdirSync(folder).filter((n) => n.includes(`-p${pid}.`)).length : 0;
}

console.log("building two versions of the reload test plugin (release)...");
const build = (variant, color) => t.buildFixture(variant, color, "release");
const v1 = build(1, t.V1);
const v2 = build(2, t.V2);
const browser = await t.launch();

// 1. Rebuild → output written → shown.
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fxchain-latency-"));
  const plugins = path.join(dir, "plugins");
  fs.mkdirSync(plugins);
  t.install(v1, plugins);
  fs.writeFileSync(
    path.join(dir, "chain.ron"),
    '(size: (1024, 1024), steps: [(effect: "generate.solid"), (effect: "blur.gaussian", params: {"sigma": 2.0}), ' +
      '(effect: "reload.keep"), (effect: "reload.fill")])',
  );
  const server = await t.startServer(dir, "chain.ron", [plugins], ["--debounce-ms", "50"]);
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(server.url);
  await t.waitShown(page, 0, "full");
  const out = path.join(dir, "out.png");
  const written = [], full = [];
  for (let i = 0; i < runs; i++) {
    const [lib, want] = i % 2 === 0 ? [v2, t.V2] : [v1, t.V1];
    const seq = (await t.lastShown(page)).seq;
    const before = fs.statSync(out).ino;
    const t0 = Date.now();
    t.install(lib, plugins);
    // The output is renamed into place: a new inode is a new output (its pixel is checked next).
    await t.waitFor("the new output", () => {
      try {
        return fs.statSync(out).ino !== before;
      } catch {
        return false;
      }
    });
    written.push(Date.now() - t0);
    if (!same(firstPixel(out), want)) throw new Error(`the output has ${firstPixel(out)}, expected ${want}`);
    const shownFull = await t.waitShown(page, seq, "full");
    full.push(shownFull.at - t0);
    const px = t.pixelAt(await t.shownPixels(page), 0, 0);
    if (!same(px, want)) {
      const shown = await page.evaluate(() => JSON.stringify(window.fxchain.shown.slice(-6)));
      throw new Error(`the page shows ${px}, expected ${want} (after seq ${seq}: ${shown})\n${server.log()}`);
    }
    await sleep(200);
  }
  console.log(`library renamed into the folder → new 1024² output written: ${fmt(written)}`);
  // A rebuild renders at full size directly (only page changes get a quick preview first).
  console.log(`library renamed into the folder → new image shown in the page: ${fmt(full)}`);
  await page.close();
  server.child.kill();
}

// 2. Slider → new fast preview (the chain of examples/chains/demo.ron at 1024²).
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fxchain-slider-"));
  const demo = fs.readFileSync(path.join(root, "examples/chains/demo.ron"), "utf8").replace("(640, 400)", "(1024, 1024)");
  fs.writeFileSync(path.join(dir, "demo.ron"), demo);
  const server = await t.startServer(dir, "demo.ron");
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(server.url);
  await t.waitShown(page, 0, "full");
  const times = [];
  for (let i = 0; i < runs; i++) {
    const ms = await page.evaluate(async (value) => {
      const el = document.querySelector('.step[data-step="3"] .param[data-param="sigma"] input');
      const n = window.fxchain.shown.length;
      const t0 = Date.now();
      el.value = String(value);
      el.dispatchEvent(new Event("input", { bubbles: true }));
      const s = await new Promise((resolve) => {
        const iv = setInterval(() => {
          const s = window.fxchain.shown.slice(n).find((s) => s.mode === "fast");
          if (s) {
            clearInterval(iv);
            resolve(s);
          }
        }, 1);
      });
      return s.at - t0;
    }, 2 + i);
    times.push(ms);
    // Let the full render that follows finish before the next change.
    await t.waitShown(page, (await t.lastShown(page)).seq - 1, "full");
    await sleep(300);
  }
  console.log(`slider change → new fast preview shown (1024² chain, 300 px preview): ${fmt(times)}`);
  await page.close();
  server.child.kill();
}

// 3. Idle watch with the page open, another process using the plugin folder every second.
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fxchain-idle-"));
  const plugins = path.join(dir, "plugins");
  fs.mkdirSync(plugins);
  t.install(v1, plugins);
  const chain = '(size: (512, 512), steps: [(effect: "generate.solid"), (effect: "blur.gaussian"), (effect: "reload.fill")])';
  fs.writeFileSync(path.join(dir, "chain.ron"), chain);
  const server = await t.startServer(dir, "chain.ron", [plugins]);
  const page = await browser.newPage();
  await page.goto(server.url);
  await t.waitShown(page, 0, "full");
  await sleep(1000);
  const pid = server.child.pid;
  const rendersBefore = (server.log().match(/^rendered /gm) || []).length;
  const shownBefore = await page.evaluate(() => window.fxchain.shown.length);
  const [rss0, copies0] = [rssKiB(pid), shadowCopies(dir, pid)];
  const other = path.join(dir, "other");
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, "chain.ron"), chain);
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, ".cache") };
  const start = Date.now();
  let readers = 0;
  while (Date.now() - start < idleSeconds * 1000) {
    const t1 = Date.now();
    execFileSync(
      process.env.FXCHAIN_BIN,
      ["--no-default-plugins", "--plugin-dir", process.env.FXCHAIN_PLUGIN_DIR, "--plugin-dir", plugins, "-q", "run", "chain.ron", "-o", "out.png"],
      { cwd: other, env, stdio: "ignore" },
    );
    readers++;
    await sleep(Math.max(0, 1000 - (Date.now() - t1)));
  }
  await sleep(500);
  const renders = (server.log().match(/^rendered /gm) || []).length - rendersBefore;
  const reloads = (server.log().match(/^(loaded|reloaded|kept|retired) /gm) || []).length;
  const shown = (await page.evaluate(() => window.fxchain.shown.length)) - shownBefore;
  const [rss1, copies1] = [rssKiB(pid), shadowCopies(dir, pid)];
  console.log(
    `idle watch --serve for ${idleSeconds} s with the page open, ${readers} \`fxchain run\` on the same folder: ` +
      `${renders} renders, ${shown} images pushed, ${reloads} reloads; resident ${(rss0 / 1024).toFixed(1)} → ` +
      `${(rss1 / 1024).toFixed(1)} MiB; shadow copies ${copies0} → ${copies1}`,
  );
  await page.close();
  server.child.kill();
}
await browser.close();
