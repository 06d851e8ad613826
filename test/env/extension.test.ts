// The browser-extension example (Manifest V3), built by examples/browser-extension/build.js and
// loaded unpacked into headless Chromium: a page with an image, the extension classifies it the way
// its "Classify with edgeq" context-menu entry does (a context menu cannot be clicked headless, so
// the test calls the same function the menu handler calls), the panel in the page shows the top-5,
// and the logits equal Node's.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { startServer, type RunningServer } from '../../tools/cli/serve.js';
import {
  BUILD_SKIP, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP, HAS_BUILD, HAS_CHROMIUM, argmax, envFixture, maxAbsDiff, nodeLogits, type EnvFixture,
} from './fixture.js';

const run = promisify(execFile);

/** The parts of the extension API the test calls inside the service worker. */
declare const chrome: {
  tabs: { query(q: { url: string }): Promise<{ id?: number }[]> };
  contextMenus: { update(id: string, props: object, done: () => void): void };
  runtime: { lastError?: unknown };
};
warnSkip(HAS_BUILD, BUILD_SKIP);
warnSkip(HAS_CHROMIUM, CHROMIUM_SKIP);

interface ExtResult {
  top: { index: number; label: string; score: number }[];
  logits: number[];
  ms: number;
  loadMs: number;
  backend: string;
  threads: number;
  isolated: boolean;
}

describe.skipIf(!HAS_BUILD || !HAS_CHROMIUM)('browser extension in Chromium', () => {
  let fx: EnvFixture;
  let tmp: string | undefined;
  let ext: string;
  let zip: string;
  let server: RunningServer | undefined;
  let context: BrowserContext | undefined;
  let sw: Worker;
  let page: Page;

  beforeAll(async () => {
    fx = await envFixture();
    tmp = mkdtempSync(join(tmpdir(), 'edgeq-ext-'));
    ext = join(tmp, 'extension');
    zip = join(fx.artifacts, 'edgeq-extension.zip');
    await run(process.execPath, ['examples/browser-extension/build.js', '--model', fx.model, '--out', ext, '--zip', zip], { cwd: REPO_ROOT, timeout: 60_000 });
    const site = join(tmp, 'site');
    mkdirSync(site);
    copyFileSync(fx.image, join(site, 'subject.png'));
    writeFileSync(join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>a page with an image</title>'
      + '<h1>A page with an image</h1><img id="subject" src="subject.png" alt="subject">\n');
    server = await startServer({ dir: site, port: 0 });
    context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: CHROMIUM, headless: true, timeout: 60_000,
      ignoreDefaultArgs: ['--disable-extensions'],
      args: [...CHROMIUM_ARGS, `--disable-extensions-except=${ext}`, `--load-extension=${ext}`],
    });
    sw = context.serviceWorkers().find((w) => w.url().endsWith('/background.js'))
      ?? await context.waitForEvent('serviceworker', { predicate: (w) => w.url().endsWith('/background.js'), timeout: 60_000 });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(server.url, { waitUntil: 'load' });
  }, 300_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** What the context-menu handler does for the image at `src` in the test page's tab. */
  const classifyInPage = (src: string): Promise<ExtResult | { error: string }> => sw.evaluate(async ({ pageUrl, src }) => {
    const [tab] = await chrome.tabs.query({ url: pageUrl });
    if (!tab?.id) return { error: `no tab at ${pageUrl}` };
    const api = (globalThis as unknown as { edgeq: { classifyInTab(t: number, f: number, s: string, o: object): Promise<ExtResult> } }).edgeq;
    try {
      return await api.classifyInTab(tab.id, 0, src, { logits: true });
    } catch (err) {
      return { error: (err as Error).message };
    }
  }, { pageUrl: server!.url, src });

  it('ships the runtime, the kernels and the model; CSP allows wasm, no remote code', () => {
    const manifest = JSON.parse(readFileSync(join(ext, 'manifest.json'), 'utf8'));
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.content_security_policy.extension_pages).toContain("'wasm-unsafe-eval'");
    expect(manifest.content_security_policy.extension_pages).not.toMatch(/https?:/);
    const files: string[] = [];
    const walk = (d: string, rel = ''): void => {
      for (const n of readdirSync(d)) {
        if (statSync(join(d, n)).isDirectory()) walk(join(d, n), `${rel}${n}/`); else files.push(`${rel}${n}`);
      }
    };
    walk(ext);
    expect(files).toEqual(expect.arrayContaining(['model.edgeq', 'edgeq/build/edgeq-simd.wasm', 'edgeq/build/edgeq-scalar.wasm', 'edgeq/dist/index.js', 'worker.js', 'offscreen.html']));
    for (const f of files.filter((n) => n.endsWith('.js'))) {
      const text = readFileSync(join(ext, f), 'utf8');
      expect(text, f).not.toMatch(/\bimport\s*\(\s*['"]https?:|from\s*['"]https?:|importScripts\s*\(/);
    }
    const unpacked = files.reduce((a, n) => a + statSync(join(ext, n)).size, 0);
    console.log(`[env] extension (${fx.kind}): ${files.length} files, ${(unpacked / 1e6).toFixed(2)} MB unpacked, ${(statSync(zip).size / 1e6).toFixed(2)} MB packed (${zip})`);
  });

  it('registers the "Classify with edgeq" context-menu entry', async () => {
    const exists = await sw.evaluate(() => new Promise<boolean>((resolve) => {
      chrome.contextMenus.update('edgeq-classify', {}, () => resolve(!chrome.runtime.lastError));
    }));
    expect(exists).toBe(true);
  });

  it('classifies the image in the page: the panel shows the top-5, the logits equal Node\'s', async () => {
    const node = await nodeLogits(fx);
    const t0 = performance.now();
    const r = await classifyInPage(new URL('subject.png', server!.url).href);
    const ms = performance.now() - t0;
    if ('error' in r) throw new Error(r.error);
    // 'auto' runs the relaxed kernels where Chromium's relaxed dot is exact (x64 with VNNI): same logits.
    expect(node.backend === 'simd' ? ['simd', 'relaxed'] : [node.backend]).toContain(r.backend);
    expect(r.top).toHaveLength(5);
    expect(maxAbsDiff(r.logits, node.logits)).toBe(0);
    const label = node.labels?.[argmax(node.logits)] ?? `class ${argmax(node.logits)}`;
    const panel = page.locator('#edgeq-extension-result');
    await expect.poll(() => panel.getAttribute('data-state')).toBe('done');
    const shown = await panel.locator('.label').allTextContents();
    expect(shown).toHaveLength(5);
    expect(shown[0]).toBe(label);
    await page.screenshot({ path: join(fx.artifacts, 'extension-panel.png') });
    console.log(`[env] extension (${r.backend}, ${r.threads} thread(s), offscreen worker isolated ${r.isolated}): max |diff| vs Node ${maxAbsDiff(r.logits, node.logits)};`
      + ` top-1 "${shown[0]}"; first click ${ms.toFixed(0)} ms (session load ${r.loadMs.toFixed(0)} ms, run ${r.ms.toFixed(1)} ms)`);
  });

  it('shows an error in the page for an image it cannot read', async () => {
    const r = await classifyInPage(new URL('missing.png', server!.url).href);
    expect('error' in r && r.error).toMatch(/HTTP 404/);
    const panel = page.locator('#edgeq-extension-result');
    await expect.poll(() => panel.getAttribute('data-state')).toBe('error');
  });
});
