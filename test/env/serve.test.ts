// `edgeq serve`: the static server of the web example. Loopback only, the cross-origin isolation
// headers, the runtime at the package's own paths, the model with a content version, nothing else.
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warnSkip } from '../helpers.js';
import { startServer, type RunningServer } from '../../tools/cli/serve.js';
import { BUILD_SKIP, HAS_BUILD } from './fixture.js';

warnSkip(HAS_BUILD, BUILD_SKIP);

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!HAS_BUILD)('edgeq serve', () => {
  let tmp: string;
  let server: RunningServer | undefined;
  const model = Buffer.from('not really a model, but served as one');

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'edgeq-serve-'));
    writeFileSync(join(tmp, 'm.edgeq'), model);
    server = await startServer({ model: join(tmp, 'm.edgeq'), port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the page with COOP/COEP/CORP', async () => {
    expect(server!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await get(server!.url, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(r.body.toString()).toContain('"edgeq": "/dist/index.js"');
  });

  it('serves the runtime and the kernels at the package paths, with their types', async () => {
    const js = await get(server!.url, '/dist/index.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    const wasm = await get(server!.url, '/build/edgeq-simd.wasm');
    expect(wasm.status).toBe(200);
    expect(wasm.headers['content-type']).toBe('application/wasm'); // streaming compilation
    expect(wasm.body.subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  });

  it('describes the model by a content version; ETag revalidation', async () => {
    const config = JSON.parse((await get(server!.url, '/config.json')).body.toString());
    expect(config).toMatchObject({ model: '/model.edgeq', bytes: model.length, name: 'm.edgeq' });
    expect(config.version).toMatch(/^[0-9a-f]{16}$/);
    const first = await get(server!.url, '/model.edgeq');
    expect(first.body).toEqual(model);
    expect(first.headers.etag).toBe(`"${config.version}"`);
    expect((await get(server!.url, '/model.edgeq', { 'If-None-Match': `"${config.version}"` })).status).toBe(304);
  });

  it('serves nothing else', async () => {
    for (const path of ['/package.json', '/dist/../../package.json', '/%2e%2e/package.json', '/dist/index.d.ts',
      '/dist/tools/quantize/index.js', '/src/index.ts', '/node_modules/jpeg-js/package.json', '/build/edgeq-simd.wat']) {
      expect((await get(server!.url, path)).status, path).toBeGreaterThanOrEqual(400);
    }
    expect((await get(server!.url, '/', {}, 'POST')).status).toBe(405);
    // DNS rebinding: a foreign Host header is refused.
    expect((await get(server!.url, '/', { Host: 'attacker.example' })).status).toBe(403);
  });

  it('listens on loopback addresses only; --no-isolate drops the headers', async () => {
    await expect(startServer({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/loopback/);
    const plain = await startServer({ port: 0, isolate: false });
    try {
      const r = await get(plain.url, '/config.json');
      expect(r.headers['cross-origin-embedder-policy']).toBeUndefined();
      expect(JSON.parse(r.body.toString()).model).toBeNull();
    } finally {
      await plain.close();
    }
  });
});
