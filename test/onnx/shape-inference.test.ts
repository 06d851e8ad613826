// Shape inference details the conformance data covers thinly: window geometry (checked against
// onnxruntime-web on seeded random configurations), Reshape/MatMul/Gemm rules, constant
// folding, dynamic dims, error messages, and the attribute helpers the quantizer uses.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { EdgeqError, type EdgeqErrorCode } from '../../src/errors.js';
import { mulberry32 } from '../../tools/synth/random.js';
import {
  attr, attributeDefaults, getIntAt, inferShapes, inferShapesAndConstants, readClipBounds, makeFloatTensor, makeGraph, makeModel, makeNode, makeTensor,
  makeValueInfo, readConvAttributes, readGemmAttributes, resolveConvGeometry, writeOnnx,
  type AttributeValue, type ModelDef, type NodeDef, type TensorValue,
} from '../../tools/onnx/index.js';

ort.env.wasm.numThreads = 1;
// onnxruntime's own (older) shape inference warns where its kernels apply the ceil_mode rule.
ort.env.logLevel = 'error';

function model(nodes: NodeDef[], inputs: [string, (number | string)[]][], initializers: TensorValue[] = [], opset = 13): ModelDef {
  const produced = new Set(nodes.flatMap((n) => n.inputs));
  const outputs = nodes.flatMap((n) => n.outputs).filter((o) => !produced.has(o));
  return makeModel(makeGraph({
    nodes,
    inputs: inputs.map(([name, dims]) => makeValueInfo(name, 'float32', dims)),
    outputs: outputs.map((name) => ({ name, dataType: 'float32', dims: [], unknownRank: true })),
    initializers,
  }), { opset });
}

function expectError(fn: () => unknown, code: EdgeqErrorCode, ...fragments: string[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(EdgeqError);
  expect((error as EdgeqError).code, (error as EdgeqError).message).toBe(code);
  for (const f of fragments) expect((error as EdgeqError).message).toContain(f);
}

const random = mulberry32;

describe('window geometry agrees with onnxruntime-web', () => {
  it('Conv, MaxPool and AveragePool on seeded random configurations', async () => {
    const next = random(7);
    const pick = <T,>(options: readonly T[]): T => options[Math.floor(next() * options.length)]!;
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const op = pick(['Conv', 'MaxPool', 'AveragePool'] as const);
      const autoPad = pick(['NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'] as const);
      const kernel = [pick([1, 2, 3, 5]), pick([1, 2, 3])];
      const strides = [pick([1, 2, 3]), pick([1, 2])];
      // onnxruntime rejects dilated SAME convolutions and sizes dilated SAME pools with the
      // undilated kernel (the spec uses the dilated one); AveragePool dilations need opset 19.
      const undilated = op === 'AveragePool' || autoPad.startsWith('SAME');
      const dilations = undilated ? [1, 1] : [pick([1, 1, 2]), pick([1, 2])];
      const pads = kernel.flatMap((k) => [Math.floor(next() * k), Math.floor(next() * k)]);
      const spatial = [pick([5, 7, 8, 13]), pick([6, 9, 11])];
      const ceil = op !== 'Conv' && autoPad === 'NOTSET' && next() < 0.5;
      const attributes: Record<string, AttributeValue> = {
        kernel_shape: attr.ints(kernel), strides: attr.ints(strides), auto_pad: attr.string(autoPad),
      };
      if (autoPad === 'NOTSET') attributes.pads = attr.ints([pads[0]!, pads[2]!, pads[1]!, pads[3]!]);
      if (op !== 'AveragePool') attributes.dilations = attr.ints(dilations);
      if (ceil) attributes.ceil_mode = attr.int(1);
      const inits = op === 'Conv' ? [makeFloatTensor('W', [4, 2, ...kernel])] : [];
      const m = model([makeNode(op, op === 'Conv' ? ['x', 'W'] : ['x'], ['y'], attributes)], [['x', [1, 2, ...spatial]]], inits);
      let ours: number[] | undefined;
      try {
        ours = inferShapes(m).get('y');
      } catch (error) {
        if (!(error instanceof EdgeqError && error.code === 'BAD_SHAPE')) throw error;
        continue; // window larger than the input: nothing to compare
      }
      const session = await ort.InferenceSession.create(writeOnnx(m), { executionProviders: ['wasm'], logSeverityLevel: 3 });
      const x = new ort.Tensor('float32', new Float32Array(2 * spatial[0]! * spatial[1]!), [1, 2, ...spatial]);
      let y: ort.Tensor | undefined;
      try {
        ({ y } = await session.run({ x }));
      } catch {
        // onnxruntime refuses SAME windows with a stride above the kernel (negative pads);
        // edgeq clamps those pads to 0 as the output size ceil(in / stride) implies.
        expect(autoPad.startsWith('SAME')).toBe(true);
        await session.release();
        continue;
      }
      expect(ours, JSON.stringify({ op, autoPad, kernel, strides, dilations, pads, spatial, ceil })).toEqual(y!.dims);
      await session.release();
      checked++;
    }
    console.log(`[geometry] ${checked} configurations compared with onnxruntime-web`);
    expect(checked).toBeGreaterThan(35);
  });

  it('ceil_mode drops a last window that would start in the end padding', () => {
    const node = makeNode('MaxPool', ['x'], ['y'], {
      kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), ceil_mode: attr.int(1),
    });
    expect(inferShapes(model([node], [['x', [1, 1, 5, 6]]])).get('y')).toEqual([1, 1, 3, 4]);
  });

  it('resolveConvGeometry gives concrete SAME pads (the larger half at the end for SAME_UPPER)', () => {
    const conv = (autoPad: string): NodeDef => makeNode('Conv', ['x', 'W'], ['y'], { auto_pad: attr.string(autoPad), strides: attr.ints([2, 2]) });
    // 7 / stride 2 -> 4 outputs; total pad (4 - 1) * 2 + 4 - 7 = 3.
    const upper = resolveConvGeometry(conv('SAME_UPPER'), [1, 3, 7, 7], [16, 3, 4, 4], 13);
    expect(upper).toMatchObject({ padsBegin: [1, 1], padsEnd: [2, 2], outputSpatial: [4, 4], outputDims: [1, 16, 4, 4], group: 1 });
    const lower = resolveConvGeometry(conv('SAME_LOWER'), [1, 3, 7, 7], [16, 3, 4, 4], 13);
    expect(lower).toMatchObject({ padsBegin: [2, 2], padsEnd: [1, 1] });
  });
});

describe('op rules', () => {
  it('Conv takes kernel_shape from the weight and checks channels, groups and bias', () => {
    const depthwise = makeNode('Conv', ['x', 'W', 'B'], ['y'], { group: attr.int(8), pads: attr.ints([1, 1, 1, 1]) }, 'dw');
    const ok = model([depthwise], [['x', [2, 8, 10, 10]]], [makeFloatTensor('W', [8, 1, 3, 3]), makeFloatTensor('B', [8])]);
    expect(inferShapes(ok).get('y')).toEqual([2, 8, 10, 10]);
    const badChannels = model([depthwise], [['x', [2, 6, 10, 10]]], [makeFloatTensor('W', [8, 1, 3, 3]), makeFloatTensor('B', [8])]);
    expectError(() => inferShapes(badChannels), 'BAD_SHAPE', 'node "dw" (Conv)', '[2, 6, 10, 10]', '[8, 1, 3, 3]', 'group 8');
    const badBias = model([depthwise], [['x', [2, 8, 10, 10]]], [makeFloatTensor('W', [8, 1, 3, 3]), makeFloatTensor('B', [4])]);
    expectError(() => inferShapes(badBias), 'BAD_SHAPE', 'bias [4] should be [8]');
    const badKernel = makeNode('Conv', ['x', 'W'], ['y'], { kernel_shape: attr.ints([5, 5]) }, 'k');
    expectError(() => inferShapes(model([badKernel], [['x', [1, 8, 9, 9]]], [makeFloatTensor('W', [4, 8, 3, 3])])),
      'BAD_SHAPE', 'kernel_shape [5, 5] differs from the weight');
  });

  it('Add broadcasts like numpy and reports incompatible shapes', () => {
    const add = makeNode('Add', ['a', 'b'], ['y'], {}, 'add0');
    expect(inferShapes(model([add], [['a', [2, 1, 4]], ['b', [3, 1]]])).get('y')).toEqual([2, 3, 4]);
    expectError(() => inferShapes(model([add], [['a', [2, 3]], ['b', [4]]])), 'BAD_SHAPE', 'node "add0" (Add)', '[2, 3]', '[4]');
  });

  it('Reshape handles 0, -1 and allowzero, with the shape from an initializer, Constant or Shape', () => {
    const reshape = (shapeInput: string, extra: NodeDef[] = [], allowzero?: number): NodeDef[] => [
      ...extra, makeNode('Reshape', ['x', shapeInput], ['y'], allowzero === undefined ? {} : { allowzero: attr.int(allowzero) }, 'rs'),
    ];
    const shape = (values: number[]): TensorValue => makeTensor('s', 'int64', [values.length], values);
    expect(inferShapes(model(reshape('s'), [['x', [2, 3, 4]]], [shape([0, -1])]), {}).get('y')).toEqual([2, 12]);
    expect(inferShapes(model(reshape('s', [], 1), [['x', [0, 3]]], [shape([3, 0])])).get('y')).toEqual([3, 0]);
    const constant = makeNode('Constant', [], ['c'], { value_ints: attr.ints([-1, 6]) });
    expect(inferShapes(model(reshape('c', [constant]), [['x', [2, 3, 4]]])).get('y')).toEqual([4, 6]);
    const shapeOf = makeNode('Shape', ['z'], ['zs']);
    expect(inferShapes(model(reshape('zs', [shapeOf]), [['x', [2, 3, 4]], ['z', [6, 4]]])).get('y')).toEqual([6, 4]);
    expectError(() => inferShapes(model(reshape('s'), [['x', [2, 3, 4]]], [shape([5, -1])])), 'BAD_SHAPE', 'node "rs" (Reshape)', '[2, 3, 4]', '[5, -1]');
    expectError(() => inferShapes(model(reshape('s'), [['x', [2, 3]], ['s', [2]]])), 'BAD_SHAPE', 'shape input "s" must be a constant');
    expectError(() => inferShapes(model(reshape('s', [], 1), [['x', [2, 3]]], [shape([0, -1])])), 'BAD_SHAPE', 'allowzero');
  });

  it('Flatten accepts negative axes', () => {
    const flatten = (axis: number): NodeDef[] => [makeNode('Flatten', ['x'], ['y'], { axis: attr.int(axis) }, 'fl')];
    expect(inferShapes(model(flatten(-1), [['x', [2, 3, 4, 5]]])).get('y')).toEqual([24, 5]);
    expect(inferShapes(model(flatten(0), [['x', [2, 3, 4, 5]]])).get('y')).toEqual([1, 120]);
    expectError(() => inferShapes(model(flatten(5), [['x', [2, 3, 4, 5]]])), 'BAD_SHAPE', 'axis 5 is out of range');
  });

  it('Gemm honours transA/transB and checks K', () => {
    const gemm = makeNode('Gemm', ['a', 'b', 'c'], ['y'], { transA: attr.int(1), transB: attr.int(1) }, 'fc');
    expect(inferShapes(model([gemm], [['a', [4, 3]], ['b', [5, 4]], ['c', [5]]])).get('y')).toEqual([3, 5]);
    expectError(() => inferShapes(model([gemm], [['a', [4, 3]], ['b', [5, 6]], ['c', [5]]])), 'BAD_SHAPE', 'node "fc" (Gemm)', 'K (4 vs 6)');
  });

  it('MatMul broadcasts batch dims and promotes 1-D operands', () => {
    const mm = makeNode('MatMul', ['a', 'b'], ['y'], {}, 'mm');
    const infer = (a: number[], b: number[]): number[] | undefined => inferShapes(model([mm], [['a', a], ['b', b]])).get('y');
    expect(infer([2, 1, 3, 4], [5, 4, 6])).toEqual([2, 5, 3, 6]);
    expect(infer([4], [2, 4, 6])).toEqual([2, 6]);
    expect(infer([3, 4], [4])).toEqual([3]);
    expect(infer([4], [4])).toEqual([]);
    expectError(() => infer([3, 4], [5, 6]), 'BAD_SHAPE', 'node "mm" (MatMul)', 'inner dim (4 vs 5)');
  });

  it('BatchNormalization checks per-channel parameters', () => {
    const params = ['s', 'b', 'm', 'v'].map((n) => makeFloatTensor(n, [3]));
    const bn = makeNode('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], {}, 'bn');
    expect(inferShapes(model([bn], [['x', [1, 3, 5, 5]]], params)).get('y')).toEqual([1, 3, 5, 5]);
    expectError(() => inferShapes(model([bn], [['x', [1, 4, 5, 5]]], params)), 'BAD_SHAPE', 'node "bn" (BatchNormalization)', 'scale [3]', '[1, 4, 5, 5]');
  });

  it('QuantizeLinear/DequantizeLinear keep the shape and check per-axis scales', () => {
    const q = makeNode('QuantizeLinear', ['x', 's', 'z'], ['q'], { axis: attr.int(1) }, 'q');
    const dq = makeNode('DequantizeLinear', ['q', 's', 'z'], ['y'], { axis: attr.int(1) }, 'dq');
    const scale = makeFloatTensor('s', [4], [1, 2, 3, 4]);
    const zero = makeTensor('z', 'int8', [4]);
    expect(inferShapes(model([q, dq], [['x', [1, 4, 2, 2]]], [scale, zero])).get('y')).toEqual([1, 4, 2, 2]);
    expectError(() => inferShapes(model([q, dq], [['x', [1, 3, 2, 2]]], [scale, zero])), 'BAD_SHAPE', 'node "q" (QuantizeLinear)', 'axis 1');
  });

  it('Dropout gives its optional mask the input shape', () => {
    const dropout = makeNode('Dropout', ['x'], ['y', 'mask']);
    const shapes = inferShapes(model([dropout], [['x', [2, 7]]]));
    expect(shapes.get('y')).toEqual([2, 7]);
    expect(shapes.get('mask')).toEqual([2, 7]);
  });

  it('nodes listed out of order are visited producers first', () => {
    const nodes = [makeNode('Relu', ['a'], ['b']), makeNode('Relu', ['x'], ['a'])];
    expect(inferShapes(model(nodes, [['x', [3]]])).get('b')).toEqual([3]);
  });
});

describe('graph inputs', () => {
  const relu = [makeNode('Relu', ['x'], ['y'])];

  it('a dynamic dim needs inputShapes, and the error names the input and dim', () => {
    expectError(() => inferShapes(model(relu, [['x', ['N', 3, 224, 224]]])), 'BAD_SHAPE', 'graph input "x" dim 0 ("N")', 'inputShapes');
    expect(inferShapes(model(relu, [['x', ['N', 3, 224, 224]]]), { x: [4, 3, 224, 224] }).get('y')).toEqual([4, 3, 224, 224]);
  });

  it('inputShapes must agree with declared dims and name real inputs', () => {
    expectError(() => inferShapes(model(relu, [['x', ['N', 3]]]), { x: [1, 4] }), 'BAD_SHAPE', 'inputShapes["x"] = [1, 4]', '[N, 3]');
    expectError(() => inferShapes(model(relu, [['x', [1, 3]]]), { image: [1, 3] }), 'BAD_OPTION', '"image"');
  });

  it('declared output dims must match the inferred ones', () => {
    const m = model(relu, [['x', [2, 3]]]);
    m.graph.outputs = [makeValueInfo('y', 'float32', ['N', 4])];
    expectError(() => inferShapes(m), 'BAD_SHAPE', 'graph output "y" is declared [N, 4] but the graph computes [2, 3]');
  });
});

describe('attribute helpers', () => {
  it('defaults depend on the opset', () => {
    const softmax = makeNode('Softmax', ['x'], ['y']);
    expect(getIntAt(softmax, 'axis', 11)).toBe(1);
    expect(getIntAt(softmax, 'axis', 13)).toBe(-1);
    expect(attributeDefaults('MaxPool', 9)).not.toHaveProperty('ceil_mode');
    expect(attributeDefaults('MaxPool', 12)).toMatchObject({ ceil_mode: { type: 'int', value: 0 } });
  });

  it('readClipBounds reads attributes (opset < 11) or constant inputs', () => {
    const legacy = makeNode('Clip', ['x'], ['y'], { min: attr.float(0), max: attr.float(6) });
    expect(readClipBounds(legacy, 6, new Map())).toEqual({ min: 0, max: 6 });
    const clip = makeNode('Clip', ['x', 'lo', ''], ['y'], {}, 'clip');
    const m = model([makeNode('Constant', [], ['lo'], { value_float: attr.float(0) }), clip], [['x', [2]]]);
    const { constants } = inferShapesAndConstants(m);
    expect(readClipBounds(clip, 13, constants)).toEqual({ min: 0, max: Infinity });
    expectError(() => readClipBounds(clip, 13, new Map()), 'UNSUPPORTED_OP', 'node "clip" (Clip): min input "lo" is not a constant');
  });

  it('readConvAttributes and readGemmAttributes fill per-axis defaults', () => {
    const conv = makeNode('Conv', ['x', 'W'], ['y'], { strides: attr.ints([2, 2]) });
    expect(readConvAttributes(conv, 2, 13)).toEqual({
      autoPad: 'NOTSET', kernelShape: undefined, strides: [2, 2], dilations: [1, 1], pads: [0, 0, 0, 0], ceilMode: false, group: 1,
    });
    const gemm = makeNode('Gemm', ['a', 'b'], ['y'], { transB: attr.int(1), alpha: attr.float(0.5) });
    expect(readGemmAttributes(gemm, 13)).toEqual({ alpha: 0.5, beta: 1, transA: false, transB: true });
    const wrong = makeNode('Conv', ['x', 'W'], ['y'], { strides: attr.int(2) }, 'c');
    expectError(() => readConvAttributes(wrong, 2, 13), 'BAD_ONNX', 'node "c" (Conv): attribute "strides" should be a list of ints but is int');
  });
});
