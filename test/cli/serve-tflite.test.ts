// `edgeq serve model.tflite`: the TFLite file is imported on the fly (importTflite's defaults and its
// pass-through preprocessing) and the page is served that .edgeq, with a content version.
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warnSkip } from '../helpers.js';
import { readEdgeq } from '../../src/format/reader.js';
import { startServer, type RunningServer } from '../../tools/cli/serve.js';
import { importTflite, tfliteInput, tflitePreprocess } from '../../tools/tflite/index.js';
import { readTflite } from '../../tools/tflite/reader.js';
import { buildTflite, seBlockLike } from '../../tools/tflite/build.js';
import { BUILD_SKIP, HAS_BUILD } from '../env/fixture.js';

warnSkip(HAS_BUILD, BUILD_SKIP);

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(!HAS_BUILD)('edgeq serve model.tflite', () => {
  let tmp: string;
  let server: RunningServer | undefined;
  const bytes = buildTflite(seBlockLike('int8'));

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'edgeq-serve-tflite-'));
    writeFileSync(join(tmp, 'se.tflite'), bytes);
    server = await startServer({ model: join(tmp, 'se.tflite'), port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the imported .edgeq: its ops, softmax included, and the pass-through preprocessing', async () => {
    const r = await get(server!.url, '/model.edgeq');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    const model = readEdgeq(new Uint8Array(r.body));
    expect(model.ops.map((o) => o.op)).toEqual(['conv', 'conv', 'conv', 'concat', 'gap', 'conv', 'conv', 'mul', 'add', 'maxpool', 'gap', 'conv', 'conv', 'softmax']);
    expect(model.preprocess).toEqual(tflitePreprocess(tfliteInput(readTflite(bytes))));
    const path = join(tmp, 'se.tflite');
    expect(new Uint8Array(r.body)).toEqual(importTflite(bytes, { preprocess: model.preprocess, fileName: path }).edgeq);
  });

  it('config.json names it with a version the model request answers 304 to', async () => {
    const config = JSON.parse((await get(server!.url, '/config.json')).body.toString()) as { model: string; version: string; bytes: number; name: string };
    expect(config).toMatchObject({ model: '/model.edgeq', name: 'se.tflite' });
    const r = await get(server!.url, '/model.edgeq');
    expect(config.bytes).toBe(r.body.length);
    expect(r.headers.etag).toBe(`"${config.version}"`);
    expect((await get(server!.url, '/model.edgeq', { 'If-None-Match': `"${config.version}"` })).status).toBe(304);
  });

  it('a .tflite that does not import fails at start with the importer\'s typed error', async () => {
    const bad = join(tmp, 'bad.tflite');
    writeFileSync(bad, bytes.slice(0, 200));
    await expect(startServer({ model: bad, port: 0 })).rejects.toMatchObject({ code: 'BAD_MODEL' });
  });
});
