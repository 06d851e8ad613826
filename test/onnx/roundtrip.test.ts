// read -> write -> read of the real models keeps every initializer bit-exact and every node equal.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferShapes, readOnnx, writeOnnx, type ModelDef, type TensorValue } from '../../tools/onnx/index.js';
import { HAS_SHARED, SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';

warnSkip(HAS_SHARED, SHARED_SKIP);

function bytesOf(t: TensorValue): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function expectSameModel(a: ModelDef, b: ModelDef): void {
  const { graph: ga, ...restA } = a;
  const { graph: gb, ...restB } = b;
  expect(restB).toEqual(restA);
  expect(gb.name).toBe(ga.name);
  expect(gb.nodes).toEqual(ga.nodes);
  expect(gb.inputs).toEqual(ga.inputs);
  expect(gb.outputs).toEqual(ga.outputs);
  expect(gb.valueInfo).toEqual(ga.valueInfo);
  expect([...gb.initializers.keys()]).toEqual([...ga.initializers.keys()]);
  for (const [name, ta] of ga.initializers) {
    const tb = gb.initializers.get(name)!;
    expect(tb.dataType, name).toBe(ta.dataType);
    expect(tb.dims, name).toEqual(ta.dims);
    expect(tb.data.constructor, name).toBe(ta.data.constructor);
    // Compare bytes, not values, so NaN payloads and -0 count too.
    expect(Buffer.from(bytesOf(tb)).equals(Buffer.from(bytesOf(ta))), `${name} bytes`).toBe(true);
  }
}

describe.skipIf(!HAS_SHARED)('round trip of the shared models', () => {
  for (const [name, inputDims, outputDims] of [
    ['darknet-tiny', [1, 3, 224, 224], [1, 1000]],
    ['resnet50-trunk', [1, 3, 224, 224], [1, 512, 28, 28]],
  ] as const) {
    it(`${name}: read -> write -> read is lossless`, () => {
      const path = join(SHARED, 'models', name, 'model.onnx');
      const first = readOnnx(readFileSync(path), { fileName: path });
      expect(first.graph.nodes.length).toBeGreaterThan(10);
      expect(first.graph.initializers.size).toBeGreaterThan(10);
      const second = readOnnx(writeOnnx(first), { fileName: `${name} (rewritten)` });
      expectSameModel(first, second);
      // Writing again gives identical bytes: the writer is deterministic.
      expect(Buffer.from(writeOnnx(second)).equals(Buffer.from(writeOnnx(first)))).toBe(true);

      const input = first.graph.inputs[0]!;
      const fixed = input.dims.map((d) => (typeof d === 'number' ? d : 1));
      const shapes = inferShapes(first, { [input.name]: fixed });
      expect(shapes.get(input.name)).toEqual(inputDims);
      expect(shapes.get(first.graph.outputs[0]!.name)).toEqual(outputDims);
    });
  }
});
