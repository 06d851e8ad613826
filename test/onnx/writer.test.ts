import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { attr, makeFloatTensor, makeGraph, makeModel, makeNode, makeValueInfo, writeOnnx } from '../../tools/onnx/index.js';

ort.env.wasm.numThreads = 1;

/** x[1,2,5,5] -> Conv 3x3 pad 1 (weights 1, bias 0.5) -> Relu -> y[1,3,5,5]. */
function tinyConvModel(): Uint8Array {
  const weight = makeFloatTensor('W', [3, 2, 3, 3], new Array(3 * 2 * 9).fill(1));
  const bias = makeFloatTensor('B', [3], [0.5, 0.5, 0.5]);
  const graph = makeGraph({
    name: 'tiny_conv',
    nodes: [
      makeNode('Conv', ['x', 'W', 'B'], ['c'], {
        kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([1, 1]),
        auto_pad: attr.string('NOTSET'),
      }),
      makeNode('LeakyRelu', ['c'], ['y'], { alpha: attr.float(0.25) }),
    ],
    inputs: [makeValueInfo('x', 'float32', ['N', 2, 5, 5])],
    outputs: [makeValueInfo('y', 'float32', ['N', 3, 5, 5])],
    initializers: [weight, bias],
  });
  return writeOnnx(makeModel(graph, { opset: 13, metadata: { author: 'edgeq-test' } }));
}

describe('writeOnnx', () => {
  it('writes a Conv model that onnxruntime-web loads and runs', async () => {
    const session = await ort.InferenceSession.create(tinyConvModel(), { executionProviders: ['wasm'] });
    const x = new ort.Tensor('float32', new Float32Array(2 * 25).fill(1), [1, 2, 5, 5]);
    const { y } = await session.run({ x });
    expect(y!.dims).toEqual([1, 3, 5, 5]);
    const data = y!.data as Float32Array;
    expect(data[0]).toBeCloseTo(8 + 0.5);     // corner: 2x2 window x 2 channels
    expect(data[2 * 5 + 2]).toBeCloseTo(18.5); // centre: 3x3 x 2 channels
    await session.release();
  });
});
