// TensorFlow Lite's own runtime (tfjs-tflite: TFLite compiled to WASM with the XNNPACK delegate)
// and edgeq, in one headless Chromium page, on the same uint8 pixels: the Node side of
// bench/tflite-web.ts and test/env/tflite-web.test.ts.
//
// prepareModel imports the .tflite with importTflite (the file's own integers, keepLogits: edgeq
// returns the logits) and cuts a copy whose graph output is the softmax's input, so TFLite returns
// its uint8 logits. preprocessImages decodes
// and preprocesses each image once (edgeq's image code, the model's own preprocessing:
// tflitePreprocess) into one buffer of NHWC pixels. openTfliteWeb serves the page (bench/tflite-web/
// index.html + page.js, the tfjs files from node_modules, edgeq's browser build as `edgeq serve` does:
// startServer, cross-origin isolated) and drives it.
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readImage } from 'edgeq/decode';
import { preprocessPixels, type PreprocessSpec } from 'edgeq/image';
import { startServer, type RunningServer } from 'edgeq-tools/cli/serve';
import { importTflite, tflitePreprocess } from 'edgeq-tools/tflite/index';
import { cutTflite, softmaxInput } from 'edgeq-tools/tflite/cut';
import { BUILTIN, readTflite } from 'edgeq-tools/tflite/reader';
import { topK } from 'edgeq-tools/quantize/report';

/** Flags of the headless browser: no GPU, no network chatter, no sandbox (root in CI). */
/** One thread count's timed runs in the page (TfliteWebPage.time). */
export interface TimedRuns { tflite: number[]; edgeq: number[]; edgeqSleeps?: { main: number; workers: number[] } }

export const BROWSER_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'];

export interface PreparedModel {
  /** The .tflite file as given. */
  tflite: Uint8Array;
  /** Its copy whose graph output is the softmax's input (the uint8 logits); the file itself when it ends otherwise. */
  cut: Uint8Array;
  edgeq: Uint8Array;
  /** Weight values whose w - zw leaves int8 (kept as int16 weights by the import: exact). */
  wideValues: number;
  /** The uint8 NHWC input tensor: [1, H, W, 3], scale, zero point. */
  input: { shape: number[]; scale: number; zeroPoint: number };
  /** The compared tensor (the softmax's input, else the graph output): index, NHWC shape, scale, zero point. */
  logits: { index: number; shape: number[]; scale: number; zeroPoint: number };
  /** The model's own preprocessing (tflitePreprocess of the input tensor). */
  spec: PreprocessSpec;
}

export function prepareModel(bytes: Uint8Array, fileName: string): PreparedModel {
  const imported = importTflite(bytes, { fileName, keepLogits: true });
  const model = readTflite(bytes, { fileName });
  const g = model.subgraphs[0]!;
  const softmax = g.operators.find((o) => o.outputs.includes(g.outputs[0]!))?.builtin === BUILTIN.SOFTMAX;
  const index = softmax ? softmaxInput(model) : g.outputs[0]!;
  const cut = (file: Uint8Array) => softmax ? cutTflite(file, index) : file;
  const q = g.tensors[index]!.quantization!;
  const input = { shape: imported.input.shape, scale: imported.input.scale, zeroPoint: imported.input.zeroPoint };
  return {
    tflite: bytes, cut: cut(bytes), edgeq: imported.edgeq,
    wideValues: imported.wideWeights.reduce((a, w) => a + w.count, 0),
    input, logits: { index, shape: g.tensors[index]!.shape, scale: q.scale[0]!, zeroPoint: q.zeroPoint[0]! }, spec: tflitePreprocess(input),
  };
}

/** The images decoded and preprocessed once, concatenated: image i at i * H * W * 3. */
export function preprocessImages(paths: readonly string[], spec: PreprocessSpec, onImage?: (n: number) => void): Uint8Array {
  const per = spec.crop * spec.crop * 3;
  const out = new Uint8Array(paths.length * per);
  paths.forEach((p, i) => {
    out.set(preprocessPixels(readImage(p), spec).data, i * per);
    onImage?.(i + 1);
  });
  return out;
}

export interface ImageResult {
  /** TFLite's logits (the cut file's output): uint8, or int8 for an int8 file. */
  tflite: Int32Array;
  /** TFLite's softmax output (the file's own output), uint8 or int8. */
  softmax: Int32Array;
  /** edgeq's logits re-quantized with the logits tensor's scale and zero point: round(x / s) + z (NHWC order, as TFLite's). */
  edgeq: Int32Array;
  /** The largest |x / s + z - round(x / s + z)| of this image (0 up to float rounding: edgeq's output is dequantized integers). */
  residual: number;
}

export interface PageInfo {
  isolated: boolean;
  images: number;
  edgeq: { asked: number; threads: number; threadsUsed?: number; backend: string }[];
  tfliteInput: { shape: number[]; type: string };
  edgeqInput: number[];
  userAgent: string;
  browser: string;
}

export interface TfliteWebPage {
  info: PageInfo;
  /** Images first..first+count-1 through both engines at `threads` (one of the loaded counts). */
  classify(first: number, count: number, threads: number): Promise<ImageResult[]>;
  /**
   * Interleaved run times (ms) of both engines on one image, per thread count; `warmup` untimed
   * rounds first. edgeqSleeps: with threads, the op barriers edgeq's threads slept at per timed run.
   */
  time(image: number, runs: number, warmup: number, idleMs?: number): Promise<Record<number, TimedRuns>>;
  close(): Promise<void>;
}

/** bench/tflite-web/ (its page files), from the source file or the compiled one in bench/dist/tflite-web/. */
function pageDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.split(/[\\/]/).includes('dist') ? join(here, '..', '..', 'tflite-web') : here;
}

/** The served folder: the page, the tfjs scripts and TFLite's wasm builds (links into node_modules), the models and pixels. */
function pageFolder(m: PreparedModel, pixels: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-tflite-web-'));
  const require = createRequire(import.meta.url);
  const pkg = (name: string) => dirname(require.resolve(`${name}/package.json`));
  const links: [string, string][] = [
    [join(pageDir(), 'index.html'), 'index.html'], [join(pageDir(), 'page.js'), 'page.js'],
    [join(pkg('@tensorflow/tfjs-core'), 'dist', 'tf-core.min.js'), 'tf-core.min.js'],
    [join(pkg('@tensorflow/tfjs-backend-cpu'), 'dist', 'tf-backend-cpu.min.js'), 'tf-backend-cpu.min.js'],
    [join(pkg('@tensorflow/tfjs-tflite'), 'dist', 'tf-tflite.min.js'), 'tf-tflite.min.js'],
  ];
  const wasm = join(pkg('@tensorflow/tfjs-tflite'), 'wasm');
  for (const f of readdirSync(wasm)) links.push([join(wasm, f), f]);
  for (const [from, to] of links) symlinkSync(from, join(dir, to));
  writeFileSync(join(dir, 'full.tflite'), m.tflite);
  writeFileSync(join(dir, 'cut.tflite'), m.cut);
  writeFileSync(join(dir, 'model.edgeq'), m.edgeq);
  writeFileSync(join(dir, 'inputs.bin'), pixels);
  return dir;
}

/**
 * Serves and opens the page, loads TFLite (the file, and its cut copy unless `cut: false`) and an
 * edgeq Session at each of `threads`, all in one page. Rejects with the page's error if a load fails.
 * For latency, load one thread count a page, so that each TFLite interpreter's thread pool is alone in it.
 */
export async function openTfliteWeb(m: PreparedModel, pixels: Uint8Array, threads: number[],
  options: { executablePath: string; args?: string[]; cut?: boolean }): Promise<TfliteWebPage> {
  const dir = pageFolder(m, pixels);
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startServer({ dir, port: 0, model: join(dir, 'model.edgeq') });
    browser = await chromium.launch({ executablePath: options.executablePath, args: options.args ?? BROWSER_ARGS, headless: true, timeout: 60_000 });
    const page: Page = await browser.newPage();
    page.setDefaultTimeout(0);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.body.dataset.state === 'ready', undefined, { timeout: 60_000 })
      .catch((err: Error) => { throw new Error(`the page did not start: ${errors.join('; ') || err.message}`); });
    // Strings, not functions: the page's globals are not Node's, and vitest would rewrite a function.
    const info = { ...await page.evaluate(`tfliteWeb.load(${JSON.stringify({ threads, input: m.input, cut: options.cut ?? true })})`) as PageInfo, browser: browser.version() };
    const { scale: s, zeroPoint: z, shape } = m.logits;
    // edgeq's output of a [1, H, W, C] tensor is NCHW: element (c, p) at c * H * W + p.
    const [hw, ch] = shape.length === 4 ? [shape[1]! * shape[2]!, shape[3]!] : [1, shape[shape.length - 1]!];
    const nhwc = (x: number[]) => hw === 1 ? x : Array.from({ length: x.length }, (_, i) => x[(i % ch) * hw + Math.floor(i / ch)]!);
    const b = browser, srv = server;
    return {
      info,
      async classify(first, count, t) {
        const raw = await page.evaluate(`tfliteWeb.classify(${JSON.stringify({ first, count, threads: t })})`) as { tflite: number[]; softmax: number[]; edgeq: number[] }[];
        return raw.map((r) => {
          let residual = 0;
          const q = Int32Array.from(nhwc(r.edgeq), (x) => {
            const v = x / s + z, n = Math.round(v);
            residual = Math.max(residual, Math.abs(v - n));
            return n;
          });
          return { tflite: Int32Array.from(r.tflite), softmax: Int32Array.from(r.softmax), edgeq: q, residual };
        });
      },
      async time(image, runs, warmup, idleMs = 5) {
        return await page.evaluate(`tfliteWeb.time(${JSON.stringify({ image, runs, warmup, threads, idle: idleMs })})`) as Record<number, TimedRuns>;
      },
      async close() {
        await b.close().catch(() => {});
        await srv.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await browser?.close().catch(() => {});
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Index of the largest value (the lowest index among equals) and how many share it. */
export function top1(v: ArrayLike<number>): { index: number; ties: number } {
  let index = 0, ties = 1;
  for (let i = 1; i < v.length; i++) {
    if (v[i]! > v[index]!) { index = i; ties = 1; } else if (v[i] === v[index]) ties++;
  }
  return { index, ties };
}

export interface Comparison {
  images: number;
  /** Correct counts against labels (class = label + 1: index 0 is the background class). */
  tflite: { top1: number; top5: number };
  edgeq: { top1: number; top5: number };
  /** TFLite's own output (the softmax): top-1 correct with the lowest index among ties, and images whose top value ties. */
  softmax: { top1: number; ties: number };
  /** Top-1 of the logits equal (lowest index among ties); `agreeWithinTies`: one's top-1 is among the other's tied maxima. */
  agree: number;
  agreeWithinTies: number;
  /** Images whose largest logit ties, per engine. */
  ties: { tflite: number; edgeq: number };
  /** Logit vectors equal in every integer. */
  identical: number;
  /** Count of logit values by |edgeq - TFLite| in LSB: index d for d < 8, the last entry for 8 and more. */
  histogram: number[];
  worstLsb: number;
  /** Largest re-quantization residual seen (should be ~1e-6: edgeq's outputs are dequantized integers). */
  residual: number;
}

/** Adds one image's |a - b| per value to `into`: the histogram, the worst, an identical vector. */
function countDiffs(into: { identical: number; histogram: number[]; worstLsb: number }, a: ArrayLike<number>, b: ArrayLike<number>): void {
  let same = true;
  for (let j = 0; j < b.length; j++) {
    const d = Math.abs(a[j]! - b[j]!);
    if (d) same = false;
    into.histogram[Math.min(d, 8)]!++;
    into.worstLsb = Math.max(into.worstLsb, d);
  }
  if (same) into.identical++;
}

export function compare(results: readonly ImageResult[], labels: readonly (number | undefined)[]): Comparison {
  const c: Comparison = {
    images: results.length, tflite: { top1: 0, top5: 0 }, edgeq: { top1: 0, top5: 0 }, softmax: { top1: 0, ties: 0 },
    agree: 0, agreeWithinTies: 0, ties: { tflite: 0, edgeq: 0 }, identical: 0, histogram: new Array<number>(9).fill(0), worstLsb: 0, residual: 0,
  };
  results.forEach((r, i) => {
    const cls = labels[i] === undefined ? -1 : labels[i]! + 1;
    const t = top1(r.tflite), e = top1(r.edgeq), s = top1(r.softmax);
    if (t.index === cls) c.tflite.top1++;
    if (e.index === cls) c.edgeq.top1++;
    if (s.index === cls) c.softmax.top1++;
    if (topK(r.tflite, 5).includes(cls)) c.tflite.top5++;
    if (topK(r.edgeq, 5).includes(cls)) c.edgeq.top5++;
    if (t.ties > 1) c.ties.tflite++;
    if (e.ties > 1) c.ties.edgeq++;
    if (s.ties > 1) c.softmax.ties++;
    if (t.index === e.index) c.agree++;
    if (r.tflite[e.index] === r.tflite[t.index] || r.edgeq[t.index] === r.edgeq[e.index]) c.agreeWithinTies++;
    countDiffs(c, r.edgeq, r.tflite);
    c.residual = Math.max(c.residual, r.residual);
  });
  return c;
}

/** Median, min and max of run times (ms). */
export function spread(ms: readonly number[]): { median: number; min: number; max: number; runs: number } {
  const s = [...ms].sort((a, b) => a - b);
  const n = s.length;
  return { median: n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2, min: s[0]!, max: s[n - 1]!, runs: n };
}
