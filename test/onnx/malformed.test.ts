// Broken input must end in an EdgeqError with the right code and a message naming the problem,
// never in a raw protobuf exception or a silently wrong model.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { EdgeqError, type EdgeqErrorCode } from '../../src/errors.js';
import {
  attr, inferShapes, makeFloatTensor, makeGraph, makeModel, makeNode, makeValueInfo, readOnnx, writeOnnx,
  type ModelDef, type TensorValue,
} from '../../tools/onnx/index.js';
import { HAS_SHARED, SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';
import { mulberry32 } from '../../tools/synth/random.js';

const { onnx } = onnxProto;
warnSkip(HAS_SHARED, SHARED_SKIP);

function caught(fn: () => unknown): EdgeqError {
  try {
    fn();
  } catch (error) {
    if (error instanceof EdgeqError) return error;
    throw new Error(`expected an EdgeqError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected an EdgeqError, but nothing was thrown');
}

function expectError(fn: () => unknown, code: EdgeqErrorCode, ...fragments: string[]): EdgeqError {
  const error = caught(fn);
  expect(error.code, error.message).toBe(code);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

/** x -> Conv(W, B) -> Relu -> y, no metadata, so every strict prefix of its bytes is invalid. */
function smallModel(initializers?: TensorValue[], nodes = [
  makeNode('Conv', ['x', 'W', 'B'], ['c'], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) }, 'conv0'),
  makeNode('Relu', ['c'], ['y'], {}, 'relu0'),
]): ModelDef {
  return makeModel(makeGraph({
    nodes,
    inputs: [makeValueInfo('x', 'float32', [1, 2, 4, 4])],
    outputs: [makeValueInfo('y', 'float32', [1, 3, 4, 4])],
    initializers: initializers ?? [
      makeFloatTensor('W', [3, 2, 3, 3], Array.from({ length: 54 }, (_, i) => i / 7)),
      makeFloatTensor('B', [3], [0.1, 0.2, 0.3]),
    ],
  }));
}

/** Seeded PRNG so the random inputs are the same on every run. */
const random = mulberry32;

describe('truncated and random bytes', () => {
  it('every strict prefix of a small written model is BAD_ONNX', () => {
    const bytes = writeOnnx(smallModel());
    expect(() => readOnnx(bytes)).not.toThrow();
    for (let cut = 0; cut < bytes.length; cut++) {
      expectError(() => readOnnx(bytes.subarray(0, cut), { fileName: `small.onnx[:${cut}]` }), 'BAD_ONNX', `small.onnx[:${cut}]: `);
    }
  });

  it.skipIf(!HAS_SHARED)('truncated darknet-tiny is BAD_ONNX naming the file', () => {
    const bytes = readFileSync(join(SHARED, 'models', 'darknet-tiny', 'model.onnx'));
    for (const cut of [1, 7, 100, 4096, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2), bytes.length - 1000]) {
      const error = expectError(() => readOnnx(bytes.subarray(0, cut), { fileName: 'darknet-cut.onnx' }), 'BAD_ONNX', 'darknet-cut.onnx: ');
      expect(error.message).toMatch(/protobuf decoding failed|ir_version|no graph|no nodes|no graph input, initializer or node output|produced by no node/);
    }
    // A cut inside the graph message is a decoding failure that says how many bytes it got.
    expectError(() => readOnnx(bytes.subarray(0, 100_000), { fileName: 'darknet-cut.onnx' }), 'BAD_ONNX',
      'not a valid ONNX model: protobuf decoding failed', '100000 bytes');
  });

  it('random byte strings are BAD_ONNX', () => {
    const next = random(20240607);
    const messages = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const length = 1 + Math.floor(next() * (i < 150 ? 64 : 4096));
      const bytes = Uint8Array.from({ length }, () => Math.floor(next() * 256));
      const error = expectError(() => readOnnx(bytes, { fileName: `random-${i}.bin` }), 'BAD_ONNX', `random-${i}.bin: `);
      messages.add(error.message.replace(/random-\d+\.bin: /, '').split(':')[0]!);
    }
    expect([...messages].every((m) => /not a valid ONNX model|no nodes|has no op_type|input|output|data type/.test(m))).toBe(true);
  });

  it('an empty buffer, and a ModelProto without a graph, are BAD_ONNX', () => {
    expectError(() => readOnnx(new Uint8Array(0)), 'BAD_ONNX', 'ir_version is 0');
    const noGraph = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }).finish();
    expectError(() => readOnnx(noGraph, { fileName: 'nograph.onnx' }), 'BAD_ONNX', 'nograph.onnx: not a valid ONNX model: it has no graph');
  });
});

describe('inconsistent models', () => {
  it('a graph without nodes is BAD_ONNX', () => {
    const model = smallModel(undefined, []);
    model.graph.outputs = [];
    expectError(() => readOnnx(writeOnnx(model)), 'BAD_ONNX', 'graph "graph" has no nodes');
  });

  it('an initializer whose data does not fit its dims names the tensor, dims and byte sizes', () => {
    const shortWeight: TensorValue = { name: 'W', dataType: 'float32', dims: [3, 2, 3, 3], data: new Float32Array(50) };
    const bytes = writeOnnx(smallModel([shortWeight, makeFloatTensor('B', [3])]));
    expectError(() => readOnnx(bytes, { fileName: 'short.onnx' }), 'BAD_ONNX',
      'short.onnx: ', 'initializer "W"', '[3, 2, 3, 3]', 'need 216 bytes', 'has 200 bytes');
  });

  it('a node input that refers to nothing names the node, op and input', () => {
    const model = smallModel();
    model.graph.nodes[1]!.inputs = ['conv_out_typo'];
    expectError(() => readOnnx(writeOnnx(model)), 'BAD_ONNX', 'node "relu0" (Relu)', 'input "conv_out_typo"');
    // inferShapes checks the same for models built in code.
    expectError(() => inferShapes(model), 'BAD_ONNX', 'node "relu0" (Relu)', '"conv_out_typo"');
  });

  it('a graph output that nothing produces is BAD_ONNX', () => {
    const model = smallModel();
    model.graph.outputs[0]!.name = 'nothing';
    expectError(() => readOnnx(writeOnnx(model)), 'BAD_ONNX', 'graph output "nothing" is produced by no node');
  });

  it('an unsupported op is UNSUPPORTED_OP naming node and op', () => {
    const model = smallModel();
    model.graph.nodes[1] = makeNode('Erf', ['c'], ['y'], {}, 'erf0');
    const read = readOnnx(writeOnnx(model)); // reading is op-agnostic
    expectError(() => inferShapes(read), 'UNSUPPORTED_OP', 'node "erf0" (Erf)', 'unknown to edgeq\'s ONNX reader');
    model.graph.nodes[1] = makeNode('Relu', ['c'], ['y'], {}, 'ms_relu', 'com.microsoft');
    expectError(() => inferShapes(model), 'UNSUPPORTED_OP', 'node "ms_relu" (Relu)', 'com.microsoft');
  });

  it('an opset outside 1..21 is UNSUPPORTED_OP', () => {
    const model = smallModel();
    model.opsetImports = [{ domain: '', version: 22 }];
    expectError(() => readOnnx(writeOnnx(model), { fileName: 'new.onnx' }), 'UNSUPPORTED_OP', 'new.onnx: ', 'opset 22');
  });

  it('an unsupported data type names the tensor', () => {
    const proto = onnx.ModelProto.decode(writeOnnx(smallModel()));
    proto.graph!.initializer![1]!.dataType = 16; // BFLOAT16
    expectError(() => readOnnx(onnx.ModelProto.encode(proto).finish()), 'BAD_ONNX', 'initializer "B"', 'BFLOAT16');
  });

  it('a subgraph attribute is UNSUPPORTED_OP naming the node', () => {
    const proto = onnx.ModelProto.decode(writeOnnx(smallModel()));
    proto.graph!.node![1]!.attribute = [onnx.AttributeProto.create({ name: 'body', type: 5, g: { name: 'sub' } })];
    expectError(() => readOnnx(onnx.ModelProto.encode(proto).finish()), 'UNSUPPORTED_OP', 'node "relu0" (Relu)', 'attribute "body"', 'GRAPH');
  });
});
