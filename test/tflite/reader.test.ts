// The .tflite reader and importer on small generated files (test/tflite/build.ts): what they read,
// the import run by edgeq against the reference interpreter, and malformed files (truncations, bit
// flips, offsets past the end, vtables out of range, bad quantization), each a typed EdgeqError.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/index.js';
import { importTflite } from '../../tools/tflite/index.js';
import { readTflite } from '../../tools/tflite/reader.js';
import { runTfliteReference } from '../../tools/tflite/reference.js';
import { buildTflite, rng, tinyModel } from '../../tools/tflite/build.js';

function typed(f: () => unknown, code?: string, text?: string): EdgeqError {
  try { f(); } catch (err) {
    expect(err).toBeInstanceOf(EdgeqError);
    if (code) expect((err as EdgeqError).code).toBe(code);
    if (text) expect((err as EdgeqError).message).toContain(text);
    return err as EdgeqError;
  }
  throw new Error('expected an EdgeqError, nothing was thrown');
}

/** readTflite then importTflite: either both succeed or an EdgeqError; anything else fails the test. */
function readOrTyped(bytes: Uint8Array): 'ok' | 'error' {
  try {
    importTflite(bytes);
    return 'ok';
  } catch (err) {
    if (!(err instanceof EdgeqError)) throw new Error(`not an EdgeqError: ${String(err)}`);
    return 'error';
  }
}

describe('TFLite reader', () => {
  const bytes = buildTflite(tinyModel());

  it('reads the tables it needs', () => {
    const m = readTflite(bytes);
    const g = m.subgraphs[0]!;
    expect(g.operators.map((o) => o.opName)).toEqual(['CONV_2D', 'DEPTHWISE_CONV_2D', 'ADD', 'AVERAGE_POOL_2D', 'FULLY_CONNECTED', 'RESHAPE', 'SOFTMAX']);
    expect(g.operators[0]!.options).toEqual({ padding: 'SAME', strideW: 2, strideH: 2, activation: 'RELU6', dilationW: 1, dilationH: 1 });
    expect(g.tensors[1]!.shape).toEqual([4, 3, 3, 3]);
    expect(g.tensors[1]!.quantization!.zeroPoint).toEqual([130]);
    expect(Math.fround(g.tensors[0]!.quantization!.scale[0]!)).toBe(1 / 128);
    expect(g.tensors[2]!.data!.length).toBe(16);
  });

  /** tinyModel with w - zw outside int8 in the conv (-130), the depthwise conv (128) and the fully connected layer (155, zero point 100). */
  const wide = () => {
    const m = tinyModel();
    m.tensors[1]!.data!.fill(0, 0, 6);
    m.tensors[4]!.data![1] = 255;
    m.tensors[9]!.data![1] = 255;
    m.tensors[9]!.zeroPoint = [100];
    return buildTflite(m);
  };

  for (const [label, file] of [['plain', bytes], ['weights outside int8', wide()]] as const) it(`imports and runs (${label}): edgeq within 1 LSB of the reference interpreter on random inputs`, async () => {
    const r = importTflite(file, { keepLogits: true });
    expect(r.droppedSoftmax).toBe(true);
    expect(r.model.ops.map((o) => o.op)).toEqual(['conv', 'conv', 'add', 'gap', 'conv']);
    if (file !== bytes) {
      // The planted values are each tensor's extreme (the generator draws conv/w 10..250, dw/w 20..240, fc/w 5..250).
      expect(r.wideWeights.map((w) => [w.operator, w.tensor])).toEqual([[0, 'conv/w'], [1, 'dw/w'], [4, 'fc/w']]);
      expect([r.wideWeights[0]!.min, r.wideWeights[1]!.max, r.wideWeights[2]!.max]).toEqual([-130, 128, 155]);
      expect(r.model.ops.map((o) => (o.op === 'conv' ? o.packing : o.op))).toEqual(['qu8-gemm-2x4c8-im2col-w16', 'qu8-dwconv-c16-w8', 'add', 'gap', 'qu8-gemm-2x4c8-w16']);
    }
    const session = await Session.create(r.edgeq, { threads: 1 });
    const out = session.model.tensors[session.model.outputs[0]!.tensor]!;
    const next = rng(5);
    let worst = 0;
    try {
      for (let n = 0; n < 20; n++) {
        const px = Uint8Array.from({ length: 243 }, () => next(256));
        const x = new Float32Array(243);
        for (let p = 0; p < 81; p++) for (let c = 0; c < 3; c++) x[c * 81 + p] = (px[p * 3 + c]! - 128) / 128;
        const y = await session.run(x);
        const ref = runTfliteReference(readTflite(file), px);
        for (let i = 0; i < 5; i++) worst = Math.max(worst, Math.abs(Math.round(y[i]! / out.scale) + out.zeroPoint - ref.data[i]!));
      }
    } finally {
      session.release();
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('a float32 input with QUANTIZE and a final DEQUANTIZE import as the same integer graph', async () => {
    const m = tinyModel();
    m.tensors.push({ name: 'input_f', shape: [1, 9, 9, 3], type: 0 }, { name: 'out_f', shape: [1, 5], type: 0 });
    m.ops.unshift({ code: 114, inputs: [14], outputs: [0] });
    m.ops[m.ops.length - 1] = { code: 6, inputs: [12], outputs: [15] };
    m.inputs = [14];
    m.outputs = [15];
    const plain = importTflite(bytes, { keepLogits: true }), ends = importTflite(buildTflite(m));
    expect(ends.droppedSoftmax).toBe(false);
    // The same ops but for their names (which carry the operator index, one later after QUANTIZE).
    const unnamed = (ops: typeof plain.model.ops) => ops.map(({ name: _name, ...op }) => op);
    expect(unnamed(ends.model.ops)).toEqual(unnamed(plain.model.ops));
    expect(ends.model.blobs).toEqual(plain.model.blobs);
    expect(ends.model.tensors.map((t) => [t.scale, t.zeroPoint])).toEqual(plain.model.tensors.map((t) => [t.scale, t.zeroPoint]));
  });

  it('rejects a file without the TFL3 identifier', () => {
    const b = bytes.slice(); b[4] = 0x58;
    typed(() => readTflite(b), 'BAD_MODEL', 'TFL3');
  });

  it('every truncation is a typed error', () => {
    for (let n = 0; n < bytes.length; n += 1) {
      const r = readOrTyped(bytes.slice(0, n));
      expect(r, `truncated to ${n} of ${bytes.length} bytes`).toBe('error');
    }
  });

  it('an offset past the end and a vtable out of range name the offset', () => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(0, b.length + 100, true);
    typed(() => readTflite(b), 'BAD_MODEL', 'outside the file');
    const c = bytes.slice();
    const root = new DataView(c.buffer).getUint32(0, true);
    new DataView(c.buffer).setInt32(root, -0x7fff0000, true);
    typed(() => readTflite(c), 'BAD_MODEL', 'vtable');
    const d = bytes.slice();
    new DataView(d.buffer).setUint32(0, 2, true); // points backward into the header
    typed(() => readTflite(d), 'BAD_MODEL', 'does not point forward');
  });

  it('single bit flips are read or rejected with an EdgeqError, never a crash', () => {
    const next = rng(11);
    let errors = 0;
    for (let n = 0; n < 1500; n++) {
      const b = bytes.slice();
      b[next(b.length)]! ^= 1 << next(8);
      if (readOrTyped(b) === 'error') errors++;
    }
    expect(errors).toBeGreaterThan(0);
  });

  it('bad quantization parameters: zero, NaN and negative scales, mismatched counts', () => {
    typed(() => readTflite(buildTflite(tinyModel(1, { convScale: [0] }))), 'BAD_MODEL', 'tensor 1 "conv/w": scale[0] = 0');
    typed(() => readTflite(buildTflite(tinyModel(1, { convScale: [NaN] }))), 'BAD_MODEL', 'scale[0] = NaN');
    typed(() => readTflite(buildTflite(tinyModel(1, { convScale: [-0.5] }))), 'BAD_MODEL', 'scale[0] = -0.5');
    typed(() => readTflite(buildTflite(tinyModel(1, { convScale: [0.1, 0.1, 0.1], convZero: [1, 2, 3] }))), 'BAD_MODEL', '3 per-channel scales for dimension 0 of shape [4,3,3,3]');
    typed(() => readTflite(buildTflite(tinyModel(1, { convScale: [0.1, 0.1, 0.1, 0.1], convZero: [1, 2] }))), 'BAD_MODEL', '4 scales but 2 zero points');
  });

  it('a buffer that does not match its tensor shape is BAD_MODEL naming the tensor', () => {
    const m = tinyModel();
    m.tensors[1]!.data = m.tensors[1]!.data!.slice(0, 100);
    typed(() => readTflite(buildTflite(m)), 'BAD_MODEL', 'tensor 1 "conv/w": buffer 1 holds 100 bytes; shape [4,3,3,3] of uint8 needs 108');
  });

  it('unsupported graphs name the operator', () => {
    typed(() => importTflite(buildTflite(tinyModel(1, { depthMultiplier: 2 }))), 'UNSUPPORTED_OP', 'operator 1 (DEPTHWISE_CONV_2D): depth multiplier 2');
    const m = tinyModel();
    m.ops[2] = { ...m.ops[2]!, code: 28, options: undefined }; // TANH
    typed(() => importTflite(buildTflite(m)), 'UNSUPPORTED_OP', 'operator 2 (BUILTIN_28)');
  });
});

describe('a .tflite given to the runtime', () => {
  it('Session.create names the format and how to convert it (BAD_MODEL, one line)', async () => {
    let err: unknown;
    try { await Session.create(buildTflite(tinyModel())); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EdgeqError);
    expect((err as EdgeqError).code).toBe('BAD_MODEL');
    expect((err as Error).message).toBe('bad magic at offset 0: not an .edgeq file but a TensorFlow Lite file; convert it once with `edgeq import model.tflite -o model.edgeq` (or importTflite from edgeq-tools/import)');
  });
});
