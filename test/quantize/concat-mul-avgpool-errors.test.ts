// Bad input for Mul, Concat and the pools: graph preparation rejects each with a typed
// UNSUPPORTED_OP naming the node, before any calibration input is read.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import { attr, type ModelDef } from '../../tools/onnx/model.js';
import { makeFloatTensor } from '../../tools/onnx/tensor.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { Rng } from '../../tools/synth/random.js';

/** A calibration source that fails the test when read: errors must come first. */
const untouched: Iterable<Float32Array> = { [Symbol.iterator]: () => { throw new Error('calibration was read'); } };

async function rejects(model: ModelDef, node: RegExp, why: RegExp): Promise<void> {
  const err = await quantizeModel(writeOnnx(model), { calibration: untouched, calibrationCount: 1 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code).toBe('UNSUPPORTED_OP');
  expect((err as Error).message).toMatch(node);
  expect((err as Error).message).toMatch(why);
}

const graph = () => new PatternGraph(new Rng(1), 8);

describe('Mul, Concat and pool attributes are validated before calibration', () => {
  it('Concat on a non-channel axis', async () => {
    const g = graph();
    const a = g.conv('input', 3, 4), b = g.conv('input', 3, 4);
    const y = g.node('Concat', [a, b], { axis: attr.int(2) })[0];
    await rejects(g.model(y, [1, 4, 16, 8]), /node "concat_\d+" \(Concat\)/, /axis 2 is not supported/);
  });

  it('Concat of a constant', async () => {
    const g = graph();
    const a = g.conv('input', 3, 4);
    g.inits.push(makeFloatTensor('k', [1, 2, 8, 8]));
    const y = g.node('Concat', [a, 'k'], { axis: attr.int(1) })[0];
    await rejects(g.model(y, [1, 6, 8, 8]), /node "concat_\d+"/, /Concat of a constant \("k"\)/);
  });

  it('Mul whose operands are neither equal nor [N,C,1,1] against [N,C,H,W]', async () => {
    const g = graph();
    const a = g.conv('input', 3, 4);
    const row = g.node('MaxPool', [a], { kernel_shape: attr.ints([1, 8]), strides: attr.ints([1, 8]) })[0]; // [1,4,8,1]
    const y = g.node('Mul', [a, row])[0];
    await rejects(g.model(y, [1, 4, 8, 8]), /node "mul_\d+" \(Mul\)/, /\[1,4,8,8\] and \[1,4,8,1\]/);
  });

  it('Mul by a constant (per channel or scalar)', async () => {
    for (const dims of [[1, 4, 1, 1], []]) {
      const g = graph();
      const a = g.conv('input', 3, 4);
      g.inits.push(makeFloatTensor('s', dims, dims.length ? [1, 2, 3, 4] : [2]));
      const y = g.node('Mul', [a, 's'])[0];
      await rejects(g.model(y, [1, 4, 8, 8]), /node "mul_\d+"/, /Mul by a constant is not supported/);
    }
  });

  it('AveragePool and MaxPool pads past the kernel', async () => {
    for (const op of ['AveragePool', 'MaxPool']) {
      const g = graph();
      const a = g.conv('input', 3, 4);
      const y = g.node(op, [a], { kernel_shape: attr.ints([2, 2]), pads: attr.ints([2, 0, 0, 0]) })[0];
      await rejects(g.model(y, [1, 4, 9, 7]), new RegExp(`node "${op.toLowerCase()}_\\d+" \\(${op}\\)`), /pads \[2,0,0,0\] must be smaller than the kernel/);
    }
  });

  it('AveragePool count_include_pad=1 with a ceil-mode overhang (onnxruntime\'s QDQ and fp32 disagree there)', async () => {
    const g = graph();
    const a = g.conv('input', 3, 4);
    const y = g.node('AveragePool', [g.node('MaxPool', [a], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([1, 1]) })[0]],
      { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1), count_include_pad: attr.int(1) })[0];
    await rejects(g.model(y, [1, 4, 4, 4]), /node "averagepool_\d+"/, /count_include_pad=1 with ceil_mode=1/);
  });
});
