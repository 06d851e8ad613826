// loadImage(): every source a user has gives the pixels the Node decoder gives for the same file,
// and a missing or undecodable source is a typed error naming it. (The browser path, through
// createImageBitmap and an OffscreenCanvas, runs in test/env/web.test.ts.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { decodeImage, readImage } from '../../src/image/decode-node.js';
import { loadImage } from '../../src/image/load.js';
import { encodePng } from '../hardening/image-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const png = encodePng({ width: 5, height: 3, colorType: 2, bitDepth: 8, samples: Array.from({ length: 45 }, (_, i) => (i * 37) % 256) });
const file = join(dir, 'image.png');
writeFileSync(file, png);

async function code(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(EdgeqError);
  return (err as EdgeqError).code;
}

describe('loadImage', () => {
  it('a path, a file: URL, encoded bytes, an ArrayBuffer and a Blob give the decoder\'s pixels', async () => {
    const ref = readImage(file);
    const sources = [file, pathToFileURL(file), pathToFileURL(file).href, png, png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength), new Blob([new Uint8Array(png)])];
    for (const s of sources) {
      const img = await loadImage(s as never);
      expect([img.width, img.height], String(s)).toEqual([5, 3]);
      expect(Buffer.from(img.data).equals(Buffer.from(ref.data)), String(s)).toBe(true);
    }
    // Decoded pixels pass through (checked).
    const raw = decodeImage(png);
    expect(await loadImage(raw)).toEqual(raw);
  });

  it('names a missing file (NOT_FOUND), undecodable bytes and unknown sources (BAD_IMAGE)', async () => {
    const missing = join(dir, 'nope.jpg');
    expect(await code(loadImage(missing))).toBe('NOT_FOUND');
    expect(() => readImage(missing)).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: `image ${missing} does not exist` }));
    await expect(loadImage(missing)).rejects.toThrow(missing);
    expect(await code(loadImage(new Uint8Array([1, 2, 3])))).toBe('BAD_IMAGE');
    expect(await code(loadImage({ nope: 1 } as never))).toBe('BAD_IMAGE');
    expect(await code(loadImage({ width: 2, height: 2, data: new Uint8Array(3) }))).toBe('BAD_IMAGE');
  });
});
