// The web example (examples/web, served by `edgeq serve`) in headless Chromium: a user picks an
// image, the page shows the top-5; the shown top-1 and the logits equal Node's. The first load
// downloads the model into the Cache API, the second reads it from there (time to first result,
// cold and warm). Keeps a screenshot under the cache folder's env/artifacts/ (EDGEQ_UPDATE_SCREENSHOT=1
// also writes docs/web-demo.png, the README's).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { readImage } from '../../src/image/decode-node.js';
import { Session } from '../../src/runtime/session.js';
import { startServer, type RunningServer } from '../../tools/cli/serve.js';
import {
  BUILD_SKIP, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP, HAS_BUILD, HAS_CHROMIUM, argmax, crosswordPng, envFixture, maxAbsDiff, nodeLogits, type EnvFixture,
} from './fixture.js';

warnSkip(HAS_BUILD, BUILD_SKIP);
warnSkip(HAS_CHROMIUM, CHROMIUM_SKIP);

interface PageResult {
  state: string;
  message: string;
  shownTop1: string;
  ready: { backend: string; threads: number; modelSource: string; modelMs: number; modelBytes: number };
  timings: { ready: number; firstResult: number };
  result: { top: { index: number; label: string; score: number }[]; logits: number[]; ms: number; backend: string; threads: number };
  isolated: boolean;
}

describe.skipIf(!HAS_BUILD || !HAS_CHROMIUM)('web example in Chromium', () => {
  let fx: EnvFixture;
  let server: RunningServer | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let profile: string | undefined;
  const problems: string[] = [];

  beforeAll(async () => {
    fx = await envFixture();
    server = await startServer({ model: fx.model, port: 0 });
    profile = mkdtempSync(join(tmpdir(), 'edgeq-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 860, height: 560 }, timeout: 60_000,
    });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  }, 300_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Loads the page, picks `image` with the file input and waits for the shown result. */
  async function classify(image: string, reload = true): Promise<PageResult> {
    if (reload) await page.goto(server!.url, { waitUntil: 'load' });
    const before = await page.evaluate(() => (globalThis as unknown as { edgeqDemo: { results: number } }).edgeqDemo.results);
    await page.setInputFiles('#file', image);
    await page.waitForFunction((n) => {
      const demo = (globalThis as unknown as { edgeqDemo: { results: number } }).edgeqDemo;
      return document.body.dataset.state === 'error' || (document.body.dataset.state === 'done' && demo.results > n);
    }, before);
    return page.evaluate(async () => {
      const demo = (globalThis as unknown as { edgeqDemo: { ready: Promise<unknown>; timings: unknown; lastResult: unknown } }).edgeqDemo;
      return {
        state: document.body.dataset.state ?? '',
        message: document.getElementById('message')?.textContent ?? '',
        shownTop1: document.querySelector('#top li:first-child .label')?.textContent ?? '',
        ready: await demo.ready, timings: demo.timings, result: demo.lastResult, isolated: globalThis.crossOriginIsolated,
      } as PageResult;
    });
  }

  it('cold: downloads the model, shows the top-5, the same logits as Node', async () => {
    const node = await nodeLogits(fx);
    const r = await classify(fx.image);
    expect(r.state, r.message).toBe('done');
    expect(r.ready.modelSource).toBe('network');
    expect(r.isolated).toBe(true); // COOP/COEP from edgeq serve
    // 'auto' runs the relaxed kernels where Chromium's relaxed dot is exact (x64 with VNNI): same logits.
    expect(node.backend === 'simd' ? ['simd', 'relaxed'] : [node.backend]).toContain(r.result.backend);
    expect(r.result.top).toHaveLength(5);
    expect(await page.locator('#top li').count()).toBe(5);
    const label = node.labels?.[argmax(node.logits)] ?? `class ${argmax(node.logits)}`;
    expect(r.shownTop1).toBe(label);
    expect(maxAbsDiff(r.result.logits, node.logits)).toBe(0);
    console.log(`[env] Chromium page (${r.result.backend}, ${r.result.threads} thread(s), isolated ${r.isolated}): max |diff| vs Node`
      + ` ${maxAbsDiff(r.result.logits, node.logits)}; top-1 "${r.shownTop1}"; cold: model ${(r.ready.modelBytes / 1e6).toFixed(2)} MB`
      + ` downloaded in ${r.ready.modelMs.toFixed(0)} ms, first result ${r.timings.firstResult.toFixed(0)} ms after navigation start, run ${r.result.ms.toFixed(1)} ms`);
  });

  it('warm: the model comes from the Cache API; screenshot', async () => {
    const r = await classify(fx.image);
    expect(r.state, r.message).toBe('done');
    expect(r.ready.modelSource).toBe('cache');
    expect(maxAbsDiff(r.result.logits, (await nodeLogits(fx)).logits)).toBe(0);
    console.log(`[env] Chromium page warm: model from cache in ${r.ready.modelMs.toFixed(0)} ms, ready ${r.timings.ready.toFixed(0)} ms,`
      + ` first result ${r.timings.firstResult.toFixed(0)} ms after navigation start, run ${r.result.ms.toFixed(1)} ms`);
    // The screenshot shows a drawn picture (test images from ../shared stay out of the repository).
    const drawn = crosswordPng(fx.artifacts);
    const d = await classify(drawn, false);
    expect(d.state, d.message).toBe('done');
    expect(maxAbsDiff(d.result.logits, (await nodeLogits(fx, 'auto', drawn)).logits)).toBe(0);
    const shot = join(fx.artifacts, 'web-page.png');
    await page.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    if (process.env.EDGEQ_UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(REPO_ROOT, 'docs', 'web-demo.png'));
    console.log(`[env] screenshot: ${shot} (${statSync(shot).size} bytes)`);
  });

  it('the scalar kernels give the same logits as Node\'s scalar build', async () => {
    await page.selectOption('#backend-choice', 'scalar');
    await page.waitForFunction(() => {
      const demo = (globalThis as unknown as { edgeqDemo: { lastResult?: { backend: string } } }).edgeqDemo;
      return document.body.dataset.state === 'error' || (document.body.dataset.state === 'done' && demo.lastResult?.backend === 'scalar');
    });
    expect(await page.textContent('#backend')).toBe('scalar');
    const { result: r } = await classify(fx.image, false);
    expect(r.backend).toBe('scalar');
    expect(maxAbsDiff(r.logits, (await nodeLogits(fx, 'scalar')).logits)).toBe(0);
  });

  it('a JPEG: Chromium decodes it itself, the top-1 still matches', async (ctx) => {
    if (!fx.jpeg) ctx.skip();
    const r = await classify(fx.jpeg!);
    expect(r.state, r.message).toBe('done');
    const session = await Session.create(fx.model);
    const node = Array.from(await session.run(readImage(fx.jpeg!)));
    session.release();
    expect(argmax(r.result.logits)).toBe(argmax(node));
    // Not 0: Chromium's libjpeg-turbo and jpeg-js round the IDCT and chroma upsampling differently.
    console.log(`[env] JPEG in Chromium vs jpeg-js in Node: max |logit diff| ${maxAbsDiff(r.result.logits, node).toFixed(4)}, same top-1`);
  });

  it('loadImage() in the page: a Blob, an ArrayBuffer and an <img> give the pixels Node decodes', async () => {
    await page.goto(server!.url, { waitUntil: 'load' });
    const png = readFileSync(crosswordPng(fx.artifacts));
    const ref = readImage(crosswordPng(fx.artifacts));
    // A string, not a function: vitest would rewrite a function's import() for Node.
    const got = await page.evaluate(`(async (b64) => {
      const { loadImage } = await import('edgeq');
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const img = new Image();
      img.src = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
      await img.decode();
      const out = [];
      for (const source of [new Blob([bytes]), bytes.buffer, img]) {
        const p = await loadImage(source);
        const rgb = [];
        for (let i = 0; i < p.data.length; i += 4) rgb.push(p.data[i], p.data[i + 1], p.data[i + 2]);
        out.push({ width: p.width, height: p.height, rgb });
      }
      return out;
    })(${JSON.stringify(png.toString('base64'))})`) as { width: number; height: number; rgb: number[] }[];
    const refRgb: number[] = [];
    for (let i = 0; i < ref.data.length; i += ref.channels) refRgb.push(ref.data[i]!, ref.data[i + 1]!, ref.data[i + 2]!);
    for (const g of got) {
      expect([g.width, g.height]).toEqual([ref.width, ref.height]);
      expect(maxAbsDiff(g.rgb, refRgb)).toBe(0);
    }
  });

  it('no page errors, no failed requests', () => {
    expect(problems).toEqual([]);
  });
});
