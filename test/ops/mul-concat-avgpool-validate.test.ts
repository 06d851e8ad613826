// The .edgeq reader validates the mul, concat and avgpool headers through their op modules: a
// corrupted field is BAD_MODEL naming the op, before any memory is planned.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import type { QModel, QOp, QTensor } from '../../src/format/qmodel.js';
import { readEdgeq } from '../../src/format/reader.js';
import { writeEdgeq } from '../../src/format/writer.js';

const t = (name: string, shape: QTensor['shape'], dtype: QTensor['dtype'] = 'uint8', scale = 0.02, zeroPoint = 3): QTensor => ({ name, shape, dtype, scale, zeroPoint });

/** input [1,6,6,4] -> avgpool 3x3/2 pads 1 -> [1,3,3,4]; mul by the gap gate [1,1,1,4]; concat with the pool -> [1,3,3,8]. */
function model(): QModel {
  const tensors = [t('x', [1, 6, 6, 4]), t('p', [1, 3, 3, 4]), t('g', [1, 1, 1, 4]), t('m', [1, 3, 3, 4]), t('y', [1, 3, 3, 8])];
  const ops: QOp[] = [
    { op: 'avgpool', name: 'pool', input: 0, output: 1, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], countIncludePad: false },
    { op: 'gap', name: 'gap', input: 1, output: 2 },
    { op: 'mul', name: 'se', a: 1, b: 2, output: 3 },
    { op: 'concat', name: 'cat', inputs: [3, 1], output: 4 },
  ];
  return { input: { name: 'x', tensor: 0, nchw: [1, 4, 6, 6] }, outputs: [{ name: 'y', tensor: 4 }], tensors, ops, blobs: [], producer: 'test' };
}

const bad = (edit: (m: QModel) => void, pattern: RegExp) => {
  const m = model();
  edit(m);
  const err = (() => { try { readEdgeq(writeEdgeq(m)); } catch (e) { return e; } return undefined; })();
  expect(err, String(pattern)).toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code).toBe('BAD_MODEL');
  expect((err as Error).message).toMatch(pattern);
};

describe('.edgeq headers of mul, concat and avgpool', () => {
  it('a valid model reads back unchanged', () => {
    expect(readEdgeq(writeEdgeq(model())).ops).toEqual(model().ops);
  });

  it('avgpool: pads past the kernel, a window outside the input, wrong output shape, countIncludePad not boolean, float32', () => {
    bad((m) => { (m.ops[0] as { pads: number[] }).pads = [3, 1, 1, 1]; }, /op 0 \("pool", "avgpool"\): pads \[3,1,1,1\] must be below the kernel/);
    bad((m) => { (m.ops[0] as { pads: number[] }).pads = [1, 1, 3, 1]; }, /op 0 \("pool", "avgpool"\).*(lies outside|should be)/);
    bad((m) => { m.tensors[1]!.shape = [1, 4, 3, 4]; m.tensors[3]!.shape = [1, 4, 3, 4]; }, /op 0 \("pool", "avgpool"\): output shape \[1,4,3,4\] should be \[1,3,3,4\]/);
    bad((m) => { (m.ops[0] as { countIncludePad: unknown }).countIncludePad = 1; }, /countIncludePad 1 must be a boolean/);
    bad((m) => { m.tensors[1]!.dtype = 'float32'; }, /op 0 \("pool", "avgpool"\): average pool reads and writes uint8\/uint12/);
  });

  it('mul: an output of another shape, the broadcast operand first, a float32 operand', () => {
    bad((m) => { m.tensors[3]!.shape = [1, 3, 3, 5]; }, /op 2 \("se", "mul"\): shapes \[1,3,3,4\] \* \[1,1,1,4\] -> \[1,3,3,5\]/);
    bad((m) => { (m.ops[2] as { a: number; b: number }).a = 2; (m.ops[2] as { b: number }).b = 1; }, /op 2 \("se", "mul"\): shapes \[1,1,1,4\] \* \[1,3,3,4\]/);
    bad((m) => { m.tensors[3]!.dtype = 'float32'; }, /op 2 \("se", "mul"\): mul reads and writes uint8\/uint12/);
  });

  it('concat: channels that do not add up, spatial mismatch, an empty input list', () => {
    bad((m) => { m.tensors[4]!.shape = [1, 3, 3, 9]; }, /op 3 \("cat", "concat"\): the inputs' 8 channels do not make the output's 9/);
    bad((m) => { m.tensors[4]!.shape = [1, 3, 4, 8]; }, /op 3 \("cat", "concat"\): input shape \[1,3,3,4\] and output shape \[1,3,4,8\] differ outside the channels/);
    bad((m) => { (m.ops[3] as { inputs: number[] }).inputs = []; }, /op 3 \("cat", "concat"\): inputs must be a list of 1..4096/);
    bad((m) => { (m.ops[3] as { inputs: number[] }).inputs = [3, 9]; }, /op 3 \("cat", "concat"\)/);
  });
});
