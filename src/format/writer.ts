// Serializes a QModel into the .edgeq binary format (docs/format.md).
import { crc32 } from './crc32.js';
import type { QModel } from './qmodel.js';

export const MAGIC = new Uint8Array([0x45, 0x44, 0x47, 0x51, 0x0d, 0x0a, 0x1a, 0x0a]);
export const FORMAT_VERSION = 1;
export const FIXED_SIZE = 32;
export const SECTION_ENTRY_SIZE = 16;
export const ALIGN = 64;

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * The JSON header: the model without its binary blobs (typed arrays become plain arrays). One output
 * is stored as `"output": {...}` in the place of `outputs` (the form every reader reads, so a
 * single-output file is the same bytes as before multi-output models), several as `"outputs": [...]`.
 */
export function headerOf(model: QModel): object {
  const { blobs: _blobs, ...rest } = model;
  const fields = Object.entries(rest).map(([k, v]) => (k === 'outputs' && Array.isArray(v) && v.length === 1 ? ['output', v[0]] : [k, v]));
  return JSON.parse(JSON.stringify(Object.fromEntries(fields), (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)));
}

export function writeEdgeq(model: QModel): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify(headerOf(model)));
  const n = model.blobs.length;
  const headerOffset = FIXED_SIZE + SECTION_ENTRY_SIZE * n;
  const offsets: number[] = [];
  let pos = alignUp(headerOffset + header.length, ALIGN);
  for (const blob of model.blobs) {
    offsets.push(pos);
    pos = alignUp(pos + blob.length, ALIGN);
  }
  const fileLength = pos + 4; // trailing CRC
  if (fileLength > 0xffffffff) throw new RangeError(`model too large for format v${FORMAT_VERSION}: ${fileLength} bytes`);

  const out = new Uint8Array(fileLength);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, 0, true);
  view.setUint32(16, fileLength, true);
  view.setUint32(20, headerOffset, true);
  view.setUint32(24, header.length, true);
  view.setUint32(28, n, true);
  model.blobs.forEach((blob, i) => {
    const e = FIXED_SIZE + SECTION_ENTRY_SIZE * i;
    view.setUint32(e, offsets[i], true);
    view.setUint32(e + 4, blob.length, true);
    view.setUint32(e + 8, crc32(blob), true);
    view.setUint32(e + 12, 0, true);
    out.set(blob, offsets[i]);
  });
  out.set(header, headerOffset);
  // The trailing CRC covers the fixed part, the table and the header; sections carry their own.
  view.setUint32(fileLength - 4, crc32(out, 0, headerOffset + header.length), true);
  return out;
}
