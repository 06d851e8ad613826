// Non-square and 1-channel inputs, and several outputs, end to end through the command line
// (`edgeq quantize` then `edgeq run`, parsed by the real program): a 1x3x96x160 RGB model calibrated on
// a folder of PNG images, a 1x1x28x28 grey model calibrated on --calib-synthetic, a two-output model.
// The preprocessing each stores follows the model's input (96x160: short side 183 = 256 * 160 / 224,
// centre crop 96x160; 28x28 grey with unit: the luma of the centre square resized to 28); `edgeq run --json` gives, per image, the
// top classes of onnxruntime-web running the --qdq export on the same preprocessed input (indices
// equal, scores within 1e-4). The geometry itself: a 96x160 centre crop is the middle rows of the
// 160x160 one (nested centre crops, 160 - 96 even), and 'gray' is 0.299 R + 0.587 G + 0.114 B of the
// RGB planes. A model without a stored spec preprocesses an image with ImageNet's at its own H x W.
// Bad input: a --crop that is not the model's size, an unknown --output, typed errors.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { readImage } from '../../src/image/decode-node.js';
import { preprocess } from '../../src/image/preprocess.js';
import { IMAGENET, UNIT, type PreprocessSpec } from '../../src/image/spec.js';
import { softmax } from '../../src/runtime/postprocess.js';
import { Session } from '../../src/runtime/session.js';
import { buildProgram } from '../../tools/cli/index.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import { attr, makeGraph, makeModel, makeValueInfo } from '../../tools/onnx/model.js';
import { makeFloatTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { Rng } from '../../tools/synth/random.js';
import { syntheticImage } from '../../tools/synth/images.js';
import { writePngFile } from '../cli/fixtures.js';

const CLASSES = 5;

/** conv 3x3/2 + relu -> conv 3x3 + relu ("feat") -> GAP -> Flatten -> Gemm ("logits"); outputs logits (and feat). */
function model(channels: number, h: number, w: number, withFeat = false): Uint8Array {
  const g = new PatternGraph(new Rng(h * 1000 + w + channels), h, channels);
  const c1 = g.node('Conv', ['input', ...convInit(g, 'c1', channels, 8)], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) })[0]!;
  const feat = g.link(g.conv(g.link(c1, 'Relu'), 8, 12), 'Relu');
  const logits = g.head(feat, 12, CLASSES);
  const oh = Math.ceil(h / 2), ow = Math.ceil(w / 2);
  const outputs = [makeValueInfo(logits, 'float32', [1, CLASSES]), ...(withFeat ? [makeValueInfo(feat, 'float32', [1, 12, oh, ow])] : [])];
  return writeOnnx(makeModel(makeGraph({
    name: 'shapes', nodes: g.nodes, initializers: g.inits,
    inputs: [makeValueInfo('input', 'float32', [1, channels, h, w])], outputs,
  }), { opset: 13 }));
}

function convInit(g: PatternGraph, name: string, cin: number, cout: number): [string, string] {
  const per = cin * 9;
  g.inits.push(makeFloatTensor(`${name}_w`, [cout, cin, 3, 3], Float32Array.from({ length: cout * per }, () => Math.sqrt(2 / per) * g.rng.normal())));
  g.inits.push(makeFloatTensor(`${name}_b`, [cout], Float32Array.from({ length: cout }, () => g.rng.uniform(-0.1, 0.1))));
  return [`${name}_w`, `${name}_b`];
}

let dir: string, images: string, pngs: string[];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeq-shapes-'));
  images = join(dir, 'images');
  mkdirSync(images);
  // Landscape, portrait and square images, none of the models' sizes.
  const sizes: [number, number][] = [[200, 150], [120, 260], [90, 90], [300, 170]];
  pngs = sizes.map(([w, h], i) => join(images, `img${i}.png`));
  pngs.forEach((p, i) => writePngFile(p, 40 + i, sizes[i]![0], sizes[i]![1]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `edgeq <args>` in this process; stdout lines and what it threw. */
async function edgeq(...args: string[]): Promise<{ lines: string[]; err?: EdgeqError }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const info = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const err = await buildProgram().exitOverride().parseAsync(['node', 'edgeq', ...args]).then(() => undefined, (e: unknown) => e as EdgeqError);
    return { lines: log.mock.calls.map((c) => String(c[0])), err };
  } finally {
    log.mockRestore();
    info.mockRestore();
  }
}

/** `edgeq run --json` against onnxruntime-web on the QDQ export: same top-3 indices, scores within 1e-4. */
async function runMatchesQdq(edgeqPath: string, qdqPath: string, extra: string[] = []): Promise<{ outputs?: Record<string, { dims: number[] }> }[]> {
  const r = await edgeq('run', edgeqPath, images, '--json', '-k', '3', '--threads', '1', ...extra);
  expect(r.err).toBeUndefined();
  const results = JSON.parse(r.lines.at(-1)!) as { image: string; top: { index: number; score: number }[]; outputs?: Record<string, { dims: number[] }> }[];
  expect(results.map((x) => x.image)).toEqual(pngs);
  const spec = readEdgeq(new Uint8Array(readFileSync(edgeqPath))).preprocess!;
  const ref = await ReferenceSession.create(new Uint8Array(readFileSync(qdqPath)));
  try {
    for (const [i, res] of results.entries()) {
      const x = preprocess(readImage(pngs[i]!), spec);
      const logits = (await ref.run({ input: x })).outputs[ref.outputNames[0]!]!.data as Float32Array;
      const p = softmax(logits);
      const order = Array.from(logits, (_, k) => k).sort((a, b) => logits[b]! - logits[a]!).slice(0, 3);
      expect(res.top.map((c) => c.index)).toEqual(order);
      res.top.forEach((c) => expect(Math.abs(c.score - p[c.index]!)).toBeLessThan(1e-4));
    }
  } finally {
    await ref.release();
  }
  return results;
}

describe('non-square and grey inputs through edgeq quantize and edgeq run', () => {
  it('a 1x3x96x160 model: calibrated on a folder of images, run on images of other shapes', async () => {
    const onnx = join(dir, 'wide.onnx'), out = join(dir, 'wide.edgeq'), qdq = join(dir, 'wide.qdq.onnx');
    writeFileSync(onnx, model(3, 96, 160));
    const q = await edgeq('quantize', onnx, '-o', out, '--qdq', qdq, '--calib', images, '--calib-count', '4', '--preprocess', 'imagenet', '--no-gptq');
    expect(q.err).toBeUndefined();
    expect(q.lines[0]).toContain('short side 183, centre crop 96x160');
    const spec = readEdgeq(new Uint8Array(readFileSync(out))).preprocess!;
    expect(spec).toEqual({ ...IMAGENET, resize: 183, crop: 160, size: [96, 160] });
    await runMatchesQdq(out, qdq);
  }, 120_000);

  it('a 1x1x28x28 grey model: calibrated on --calib-synthetic, run on colour images (their luma)', async () => {
    const onnx = join(dir, 'grey.onnx'), out = join(dir, 'grey.edgeq'), qdq = join(dir, 'grey.qdq.onnx');
    writeFileSync(onnx, model(1, 28, 28));
    const q = await edgeq('quantize', onnx, '-o', out, '--qdq', qdq, '--calib-synthetic', '6', '--preprocess', 'unit', '--no-gptq');
    expect(q.err).toBeUndefined();
    const spec = readEdgeq(new Uint8Array(readFileSync(out))).preprocess!;
    expect(spec).toEqual({ ...UNIT, resize: 28, crop: 28, channels: 'gray' });
    await runMatchesQdq(out, qdq);
    // The session's image path makes the same one-plane input.
    const s = await Session.create(new Uint8Array(readFileSync(out)), { threads: 1 });
    try {
      const logits = await s.run(preprocess(readImage(pngs[1]!), spec));
      expect((await s.classify(readImage(pngs[1]!), { topK: 1 }))[0]!.index).toBe(Array.from(logits).indexOf(Math.max(...logits)));
      expect(await s.run(readImage(pngs[1]!))).toEqual(logits);
    } finally {
      s.release();
    }
  }, 120_000);

  it('a two-output model: run prints a summary of each output; --output picks the classified one', async () => {
    const onnx = join(dir, 'two.onnx'), out = join(dir, 'two.edgeq'), qdq = join(dir, 'two.qdq.onnx');
    writeFileSync(onnx, model(3, 32, 48, true));
    const q = await edgeq('quantize', onnx, '-o', out, '--qdq', qdq, '--calib-synthetic', '6', '--preprocess', 'imagenet', '--no-gptq');
    expect(q.err).toBeUndefined();
    const m = readEdgeq(new Uint8Array(readFileSync(out)));
    expect(m.outputs).toHaveLength(2);
    const results = await runMatchesQdq(out, qdq); // the classes are the first output's
    const names = m.outputs.map((o) => o.name);
    expect(Object.keys(results[0]!.outputs!)).toEqual(names);
    expect(results[0]!.outputs![names[1]!]!.dims).toEqual([1, 12, 16, 24]);
    const text = await edgeq('run', out, pngs[0]!, '--threads', '1');
    expect(text.lines.filter((l) => l.startsWith('  output "')).map((l) => l.replace(/ \[.*$/, ''))).toEqual(names.map((n) => `  output "${n}"`));
    const picked = await edgeq('run', out, pngs[0]!, '--threads', '1', '--output', names[1]!, '--json');
    expect(picked.err).toBeUndefined();
    const inspect = await edgeq('inspect', out);
    expect(inspect.lines[1]).toContain(`outputs "${names[0]}"`);
    expect(inspect.lines[1]).toContain(`"${names[1]}"`);
  }, 120_000);

  it('bad input: a --crop other than the model\'s size, an --output the model lacks', async () => {
    const onnx = join(dir, 'wide.onnx');
    const crop = await edgeq('quantize', onnx, '-o', join(dir, 'x.edgeq'), '--calib-synthetic', '2', '--preprocess', 'imagenet', '--crop', '160x96');
    expect(crop.err).toMatchObject({ code: 'BAD_SHAPE', message: '--crop 160x96 does not match the model input "input", 96x160' });
    const out = await edgeq('run', join(dir, 'two.edgeq'), pngs[0]!, '--output', 'nope');
    expect(out.err).toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining('--output "nope"') });
  });
});

describe('a model that stores no preprocessing', () => {
  it('run(image) and classify(image) use ImageNet\'s at the model\'s own H x W (96x160: resize 183)', async () => {
    const bytes = model(3, 96, 160);
    const calib = Array.from({ length: 4 }, (_, i) => preprocess(syntheticImage(60 + i, 200, 150), { ...IMAGENET, resize: 183, crop: 160, size: [96, 160] }));
    const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, threads: 1, gptq: false });
    expect(readEdgeq(q.edgeq).preprocess).toBeUndefined();
    const s = await Session.create(q.edgeq, { threads: 1 });
    try {
      const img = readImage(pngs[1]!);
      const want = await s.run(preprocess(img, { ...IMAGENET, resize: 183, crop: 160, size: [96, 160] }));
      expect(await s.run(img)).toEqual(want);
      expect((await s.classify(img, { topK: 1 }))[0]!.index).toBe(Array.from(want).indexOf(Math.max(...want)));
    } finally {
      s.release();
    }
  }, 60_000);
});

describe('preprocessing geometry', () => {
  const raw = syntheticImage(7, 230, 170);
  it('a short-side H x W crop is the centre rows / columns of the square crop of its larger side', () => {
    for (const [size, rows] of [[[96, 160], true], [[160, 96], false]] as const) {
      const spec: PreprocessSpec = { ...IMAGENET, resize: 183, crop: 160, size: [size[0], size[1]] };
      const got = preprocess(raw, spec), square = preprocess(raw, { ...IMAGENET, resize: 183, crop: 160 });
      const [h, w] = size;
      const want = new Float32Array(3 * h * w);
      for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const sy = rows ? y + (160 - h) / 2 : y, sx = rows ? x : x + (160 - w) / 2;
        want[(c * h + y) * w + x] = square[(c * 160 + sy) * 160 + sx]!;
      }
      expect(got).toEqual(want);
    }
  });

  it("'gray' is the BT.601 luma of the RGB planes", () => {
    for (const base of [UNIT, { ...IMAGENET, mean: [0.45, 0.45, 0.45], std: [0.25, 0.25, 0.25] } as PreprocessSpec]) {
      const spec: PreprocessSpec = { ...base, resize: 32, crop: 28 };
      const rgb = preprocess(raw, spec), grey = preprocess(raw, { ...spec, channels: 'gray' });
      const plane = 28 * 28;
      expect(grey.length).toBe(plane);
      // (L / s - m) / d = 0.299 (R / s - m) / d + 0.587 (G ...) + 0.114 (B ...) since the weights sum to 1.
      for (let p = 0; p < plane; p++) expect(grey[p]).toBeCloseTo(0.299 * rgb[p]! + 0.587 * rgb[plane + p]! + 0.114 * rgb[2 * plane + p]!, 4);
    }
  });

  it('square-crop mode takes the largest centred window of the H x W aspect', () => {
    // UNIT (square-crop) at 28 x 56: the window of a 230x170 image is 230 x 115 (aspect 2:1, rows 27..141),
    // resized to 56 x 28: the same as that band given as the image (whose largest 2:1 window is all of it).
    const spec: PreprocessSpec = { ...UNIT, resize: 56, crop: 56, size: [28, 56] };
    const got = preprocess(raw, spec);
    expect(got.length).toBe(3 * 28 * 56);
    const band = { width: 230, height: 115, channels: 3 as const, data: raw.data.subarray(27 * 230 * 3, (27 + 115) * 230 * 3) };
    expect(got).toEqual(preprocess(band, spec));
    // A square spec is unchanged: the largest centred square.
    const square = { width: 170, height: 170, channels: 3 as const, data: raw.data.filter((_, i) => { const x = Math.floor(i / 3) % 230; return x >= 30 && x < 200; }) };
    expect(preprocess(raw, { ...UNIT, resize: 28, crop: 28 })).toEqual(preprocess(square, { ...UNIT, resize: 28, crop: 28 }));
  });
});
