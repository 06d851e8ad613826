// The .edgeq reader/writer: exact round trip, and each kind of damage rejected with its own error.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { writeEdgeq, ALIGN } from '../../src/format/writer.js';
import { crc32 } from '../../src/format/crc32.js';
import type { QModel } from '../../src/format/qmodel.js';
import { IMAGENET } from '../../src/image/spec.js';

function tinyModel(): QModel {
  const blob = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
  return {
    input: { name: 'input', tensor: 0, nchw: [1, 3, 8, 8] },
    outputs: [{ name: 'logits', tensor: 4 }],
    tensors: [
      { name: 'input', shape: [1, 8, 8, 3], dtype: 'uint8', scale: 0.02, zeroPoint: 120 },
      { name: 'c1', shape: [1, 4, 4, 16], dtype: 'uint8', scale: 0.05, zeroPoint: 0 },
      { name: 'p1', shape: [1, 2, 2, 16], dtype: 'uint8', scale: 0.05, zeroPoint: 0 },
      { name: 'c2', shape: [1, 2, 2, 10], dtype: 'float32', scale: 1, zeroPoint: 0 },
      { name: 'logits', shape: [1, 1, 1, 10], dtype: 'float32', scale: 1, zeroPoint: 0 },
    ],
    ops: [
      { op: 'conv', name: 'conv1', input: 0, output: 1, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], dilation: [1, 1], group: 1,
        inChannels: 3, outChannels: 16, activation: { kind: 'relu' }, weights: 0, packing: 'test', weightScales: new Float32Array(16).fill(0.01) },
      { op: 'maxpool', name: 'pool', input: 1, output: 2, kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
      { op: 'conv', name: 'head', input: 2, output: 3, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1,
        inChannels: 16, outChannels: 10, activation: { kind: 'none' }, weights: 1, packing: 'test' },
      { op: 'gap', name: 'gap', input: 3, output: 4 },
    ],
    blobs: [blob(1000, 1), blob(333, 2)],
    preprocess: IMAGENET,
    labels: Array.from({ length: 10 }, (_, i) => `class ${i}`),
    producer: 'test',
    sourceHash: 'ab'.repeat(32),
    meta: { calibrationMethod: 'minmax' },
  };
}

/**
 * The tiny model with 12-bit activations where they are allowed: conv1's output and the pool
 * (uint12, stored as uint16), a uint12 add and a quantized global average pool.
 */
function tinyModel12(): QModel {
  const m = tinyModel();
  m.tensors[1] = { ...m.tensors[1], dtype: 'uint12', scale: 0.003, zeroPoint: 4000 };
  m.tensors[2] = { ...m.tensors[2], dtype: 'uint12', scale: 0.003, zeroPoint: 4000 };
  m.tensors.push({ name: 'sum', shape: [1, 2, 2, 16], dtype: 'uint12', scale: 0.004, zeroPoint: 0 });
  m.tensors.push({ name: 'pooled', shape: [1, 1, 1, 16], dtype: 'uint8', scale: 0.05, zeroPoint: 3 });
  m.ops.push({ op: 'add', name: 'add', a: 2, b: 2, output: 5, activation: { kind: 'relu' } });
  m.ops.push({ op: 'gap', name: 'gap2', input: 5, output: 6 });
  return m;
}

function expectBad(bytes: Uint8Array, ...fragments: string[]): void {
  let err: unknown;
  try { readEdgeq(bytes, { fileName: 'm.edgeq' }); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code).toBe('BAD_MODEL');
  for (const f of fragments) expect((err as Error).message).toContain(f);
}

/** Rewrites the header JSON of a valid file (and fixes its checksums), to test semantic validation. */
function withHeader(model: QModel, edit: (h: any) => void): Uint8Array {
  const m = structuredClone({ ...model, blobs: [] }) as any;
  edit(m);
  return writeEdgeq({ ...m, blobs: model.blobs });
}

describe('.edgeq format', () => {
  it('round-trips a model exactly', () => {
    const m = tinyModel();
    const bytes = writeEdgeq(m);
    const back = readEdgeq(bytes);
    expect(back.blobs.map((b) => Array.from(b))).toEqual(m.blobs.map((b) => Array.from(b)));
    expect(back.tensors).toEqual(m.tensors);
    expect(back.preprocess).toEqual(m.preprocess);
    expect(back.labels).toEqual(m.labels);
    expect((back.ops[0] as any).weightScales).toEqual(Array.from(m.ops[0].op === 'conv' ? m.ops[0].weightScales! : []));
    expect(writeEdgeq(back)).toEqual(bytes); // re-writing what was read gives the same bytes
  });

  it('round-trips uint12 tensors and the ops that read and write them', () => {
    const m = tinyModel12();
    const bytes = writeEdgeq(m);
    const back = readEdgeq(bytes);
    expect(back.tensors).toEqual(m.tensors);
    expect(back.ops).toEqual(JSON.parse(JSON.stringify(m.ops, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v))));
    expect(writeEdgeq(back)).toEqual(bytes);
  });

  it('rejects uint12 where the kernels cannot take it, naming the op or tensor', () => {
    const m = tinyModel12();
    expectBad(withHeader(m, (h) => { h.tensors[1].zeroPoint = 4096; }), 'tensor 1', 'zero point 4096', '0..4095');
    expectBad(withHeader(m, (h) => { h.tensors[1].zeroPoint = 1.5; }), 'tensor 1', 'zero point');
    expectBad(withHeader(m, (h) => { h.tensors[1].dtype = 'uint16'; }), 'tensor 1', 'dtype "uint16"');
    expectBad(withHeader(m, (h) => { h.tensors[1].dtype = ['uint12']; }), 'tensor 1', 'dtype');
    // A uint8 zero point above 255 is still rejected.
    expectBad(withHeader(tinyModel(), (h) => { h.tensors[1].zeroPoint = 256; }), 'tensor 1', '0..255');
    // uint12 elements take two bytes in the size limit: 2^30 elements is too many.
    expectBad(withHeader(m, (h) => { h.tensors[1].shape = [1, 32768, 32768, 1]; }), 'tensor 1', '2^31');
    expect(() => readEdgeq(withHeader(tinyModel(), (h) => { h.tensors[1].shape = [1, 4, 4, 16]; }))).not.toThrow();
    // The model input is quantized (uint8, or uint12 with --activations 12), never float.
    expect(() => readEdgeq(withHeader(m, (h) => { h.tensors[0].dtype = 'uint12'; }))).not.toThrow();
    expectBad(withHeader(m, (h) => { h.tensors[0].dtype = 'float32'; }), 'input', 'must be uint8 or uint12');
    // im2col gathers either element size.
    expect(() => readEdgeq(withHeader(m, (h) => { h.ops[2].packing = 'qu8-gemm-2x4c8-im2col'; }))).not.toThrow();
    expect(() => readEdgeq(withHeader(m, (h) => { h.ops[0].packing = 'qu8-gemm-2x4c8-im2col'; }))).not.toThrow();
    // Max pool keeps its input's dtype and parameters.
    expectBad(withHeader(m, (h) => { h.tensors[2].dtype = 'uint8'; h.tensors[2].zeroPoint = 0; }), 'op 1 ("pool", "maxpool")', 'same dtype');
    expectBad(withHeader(m, (h) => { h.tensors[2].zeroPoint = 3999; }), 'op 1 ("pool", "maxpool")', 'scale and zero point');
    // Global average pool: quantized -> quantized (any mix) or float -> float.
    expectBad(withHeader(m, (h) => { h.tensors[6].dtype = 'float32'; }), 'op 5 ("gap2", "gap")', 'both be quantized or both float32');
    // Add: inputs any mix of uint8/uint12, never float; a float32 output (a network's last Add) is fine.
    expect(() => readEdgeq(withHeader(m, (h) => { h.tensors[5].dtype = 'uint8'; h.tensors[5].zeroPoint = 0; }))).not.toThrow();
    const lastAdd = (readFloat: boolean) => withHeader(m, (h) => {
      h.tensors[5].dtype = 'float32'; h.ops.pop(); h.ops.pop();
      h.ops.push({ op: 'add', name: 'add', a: 2, b: 2, output: 5, activation: { kind: 'none' } });
      h.outputs[0]!.tensor = 5;
      delete h.labels; // a feature-map output has no class names
      if (readFloat) {
        h.tensors.push({ ...h.tensors[2], name: 'sum2' });
        h.ops.push({ op: 'add', name: 'add2', a: 5, b: 2, output: h.tensors.length - 1, activation: { kind: 'none' } });
        h.outputs[0]!.tensor = h.tensors.length - 1;
      }
    });
    expect(() => readEdgeq(lastAdd(false))).not.toThrow();
    expectBad(lastAdd(true), '"add2"', 'uint8/uint12');
    // A fused residual: uint8/uint12 residual and a quantized output.
    const fused = (edit: (h: any) => void) => withHeader(m, (h) => {
      h.tensors.push({ name: 'c3', shape: [1, 2, 2, 16], dtype: 'uint12', scale: 0.01, zeroPoint: 0 });
      h.ops.push({ ...h.ops[2], name: 'res', input: 2, output: 7, outChannels: 16, weights: 1, residual: 5 });
      edit(h);
    });
    expect(() => readEdgeq(fused(() => {}))).not.toThrow();
    expect(() => readEdgeq(fused((h) => { h.tensors[7].dtype = 'float32'; }))).not.toThrow(); // the sum in real units
    expectBad(fused((h) => { h.tensors.push({ name: 'f', shape: [1, 2, 2, 16], dtype: 'float32', scale: 1, zeroPoint: 0 });
      h.ops.splice(5, 0, { ...h.ops[2], name: 'fres', input: 2, output: 8, outChannels: 16, weights: 1 }); h.ops[7].residual = 8; }), 'residual', 'float32');
  });

  it('aligns every section to 64 bytes', () => {
    const bytes = writeEdgeq(tinyModel());
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 2; i++) expect(view.getUint32(32 + 16 * i, true) % ALIGN).toBe(0);
  });

  it('rejects truncated files at every cut', () => {
    const bytes = writeEdgeq(tinyModel());
    for (const cut of [0, 5, 20, 40, 100, bytes.length - 300, bytes.length - 1]) {
      expectBad(bytes.subarray(0, cut), 'm.edgeq');
    }
    expectBad(bytes.subarray(0, bytes.length - 1), 'truncated');
  });

  it('rejects bad magic, version, flags', () => {
    const bytes = writeEdgeq(tinyModel());
    const magic = bytes.slice(); magic[0] = 0x50;
    expectBad(magic, 'magic');
    const version = bytes.slice(); new DataView(version.buffer).setUint32(8, 2, true);
    expectBad(version, 'version 2');
    const flags = bytes.slice(); new DataView(flags.buffer).setUint32(12, 4, true);
    expectBad(flags, 'flags');
  });

  it('detects a flipped bit in the header and in each section, naming the section and offset', () => {
    const bytes = writeEdgeq(tinyModel());
    const view = new DataView(bytes.buffer);
    const headerOffset = view.getUint32(20, true);
    const h = bytes.slice(); h[headerOffset + 10] ^= 0x04;
    expectBad(h, 'header checksum mismatch');
    for (let s = 0; s < 2; s++) {
      const off = view.getUint32(32 + 16 * s, true);
      const b = bytes.slice(); b[off + 7] ^= 0x80;
      expectBad(b, `section ${s} at offset ${off}`, 'corrupt');
    }
  });

  it('rejects oversized and overlapping section offsets', () => {
    const bytes = writeEdgeq(tinyModel());
    const headerEnd = new DataView(bytes.buffer).getUint32(20, true) + new DataView(bytes.buffer).getUint32(24, true);
    const patch = (entry: number, field: number, value: number) => {
      const b = bytes.slice();
      const v = new DataView(b.buffer);
      v.setUint32(32 + 16 * entry + field, value, true);
      v.setUint32(b.length - 4, crc32(b, 0, headerEnd), true); // a consistent header checksum: the range check must catch it
      return b;
    };
    expectBad(patch(1, 0, 0xffffffc0), 'section 1', 'runs past');
    expectBad(patch(1, 4, 0x7fffffff), 'section 1', 'runs past');
    expectBad(patch(1, 0, 64), 'section 1', 'overlaps');
    expectBad(patch(0, 0, 100), 'not 64-byte aligned');
  });

  it('validates the header semantically', () => {
    const m = tinyModel();
    expectBad(withHeader(m, (h) => { h.tensors[1].scale = -1; }), 'tensor 1', 'scale');
    expectBad(withHeader(m, (h) => { h.tensors[1].scale = null; }), 'tensor 1', 'scale');
    expectBad(withHeader(m, (h) => { h.tensors[1].zeroPoint = 300; }), 'zero point');
    expectBad(withHeader(m, (h) => { h.tensors[1].shape = [1, 65536, 65536, 16]; }), '2^31');
    expectBad(withHeader(m, (h) => { h.ops[0].input = 9; }), 'tensor index 9');
    expectBad(withHeader(m, (h) => { h.ops[0].weights = 5; }), 'weights section 5');
    expectBad(withHeader(m, (h) => { h.ops[0].stride = [1, 1]; }), 'output shape');
    expectBad(withHeader(m, (h) => { h.ops.reverse(); }), 'before any op writes it');
    expectBad(withHeader(m, (h) => { h.ops[1].op = 'tanh'; }), 'unknown op type');
    expectBad(withHeader(m, (h) => { h.labels = [1, 2]; }), 'labels');
    // One label per output value (the model has 10 outputs): a 1-line labels file is rejected at load.
    expectBad(withHeader(m, (h) => { h.labels = ['hello, I am not an image']; }), '1 label for 10 output values per image: one label per output (quantize again with a labels file of 10 lines)');
    expectBad(withHeader(m, (h) => { h.preprocess.std = [0, 1, 1]; }), 'preprocess');
    // Clip bounds: finite, min <= max, the error naming the op.
    const name = JSON.stringify(m.ops[0]!.name);
    expectBad(withHeader(m, (h) => { h.ops[0].activation = { kind: 'clip', min: 2, max: 1 }; }), `op 0 (${name}, "conv"): clip min 2 > max 1`);
    expectBad(withHeader(m, (h) => { h.ops[0].activation = { kind: 'clip', min: 0 }; }), name, 'clip bounds');
    expect(readEdgeq(withHeader(m, (h) => { h.ops[0].activation = { kind: 'clip', min: -1, max: 6 }; })).ops[0]).toMatchObject({ activation: { kind: 'clip', min: -1, max: 6 } });
  });
});

/** The JSON header of an .edgeq file, as stored. */
function storedHeader(bytes: Uint8Array): Record<string, unknown> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = view.getUint32(20, true), length = view.getUint32(24, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(at, at + length)));
}

/** The tiny model with a second output: "pooled" (tensor 2, the max pool that the head conv reads). */
function twoOutputModel(): QModel {
  const m = tinyModel();
  m.outputs = [{ name: 'logits', tensor: 4 }, { name: 'pooled', tensor: 2 }];
  return m;
}

describe('.edgeq outputs', () => {
  it('stores one output as "output", in its place, as files always have', () => {
    const bytes = writeEdgeq(tinyModel());
    const h = storedHeader(bytes);
    expect(Object.keys(h).slice(0, 3)).toEqual(['input', 'output', 'tensors']);
    expect(h.output).toEqual({ name: 'logits', tensor: 4 });
    expect('outputs' in h).toBe(false);
    expect(readEdgeq(bytes).outputs).toEqual([{ name: 'logits', tensor: 4 }]);
  });

  it('round-trips several outputs exactly, as an "outputs" list', () => {
    const m = twoOutputModel();
    const bytes = writeEdgeq(m);
    const h = storedHeader(bytes);
    expect(Object.keys(h).slice(0, 3)).toEqual(['input', 'outputs', 'tensors']);
    expect('output' in h).toBe(false); // a reader that wants "output" rejects the file (BAD_MODEL 'header: missing "output"')
    const back = readEdgeq(bytes);
    expect(back.outputs).toEqual(m.outputs);
    expect(back.tensors).toEqual(m.tensors);
    expect(writeEdgeq(back)).toEqual(bytes);
  });

  it('rejects malformed outputs, naming the output', () => {
    const m = twoOutputModel();
    expectBad(withHeader(m, (h) => { h.outputs[1].name = 'logits'; }), 'output 1', 'name "logits" is given to two outputs');
    expectBad(withHeader(m, (h) => { h.outputs[1].tensor = 4; }), 'output 1 ("pooled")', 'tensor 4 is already output 0');
    expectBad(withHeader(m, (h) => { h.outputs[1].tensor = 99; }), 'output 1', 'tensor index 99');
    expectBad(withHeader(m, (h) => { h.outputs[1].name = 3; }), 'output 1', 'name 3 must be a string');
    expectBad(withHeader(m, (h) => { h.outputs = []; }), 'missing "output"');
    expectBad(withHeader(m, (h) => { h.output = h.outputs[0]; }), 'both "output" and "outputs"');
    // An output no op writes.
    expectBad(withHeader(m, (h) => { h.tensors.push({ ...h.tensors[2], name: 'unused' }); h.outputs[1].tensor = 5; }), 'output "pooled"', 'never written');
    // Labels name the first output's values.
    expectBad(withHeader(m, (h) => { h.outputs.reverse(); }), 'of the first output "pooled"');
  });
});
