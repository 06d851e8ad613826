// quantize(), the quantizer's library entry: the same bytes as the pipeline it wraps, a report on
// held-back inputs, progress events, and every option checked before any work.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { Session } from '../../src/runtime/session.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantize, quantizeModel, type QuantizeProgress } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from './tiny-cnn.js';

const onnx = writeOnnx(tinyCnn());

describe('quantize() (edgeq-tools/quantize)', () => {
  it('writes the bytes quantizeModel writes, runs in edgeq, and reports on held-back inputs', async () => {
    const calibration = tinyInputs(1, 8);
    const events: QuantizeProgress[] = [];
    const out = await quantize(onnx, { calibration, report: { inputs: tinyInputs(2, 3) }, onProgress: (e) => events.push(e) });
    const ref = await quantizeModel(onnx, { calibration, calibrationCount: 8 });
    expect(Buffer.from(out.edgeq).equals(Buffer.from(ref.edgeq))).toBe(true);
    expect(Buffer.from(out.qdq).equals(Buffer.from(ref.qdq))).toBe(true);
    expect(readEdgeq(out.edgeq).ops.length).toBe(out.model.ops.length);
    expect(out.report!.model.inputs).toBe(3);
    expect(out.report!.layers.length).toBeGreaterThan(0);
    expect(out.report!.model.meanCosine).toBeGreaterThan(0.9);
    expect(events.filter((e) => e.step === 'calibrate').at(-1)).toEqual({ step: 'calibrate', done: 8, total: 8 });
    expect(events.at(-1)).toEqual({ step: 'report', done: 3, total: 3 });
    const s = await Session.create(out.edgeq, { threads: 1 });
    expect((await s.run(calibration[0])).length).toBe(10);
    s.release();
  });

  it('rejects bad options with a typed one-line error, before calibrating', async () => {
    const never: Iterable<Float32Array> = { [Symbol.iterator]: () => { throw new Error('calibration was read'); } };
    const cases: [object, RegExp][] = [
      [{ calibration: tinyInputs(1, 2), calibrationCount: 2, gtpq: false }, /unknown quantize option "gtpq" \(valid: calibration, /],
      [{ calibration: never }, /calibrationCount is required/],
      [{ calibration: 5 }, /calibration must be an array or iterable/],
      [{ calibration: never, calibrationCount: 2, method: 'best' }, /method must be one of minmax, percentile, mse, entropy, got "best"/],
      [{ calibration: never, calibrationCount: 2, activations: 16 }, /activations/],
      [{ calibration: never, calibrationCount: 2, threads: 0 }, /threads must be an integer from 1 to 64/],
      [{ calibration: never, calibrationCount: 2, gptq: 'no' }, /gptq must be true or false/],
      [{ calibration: never, calibrationCount: 2, report: { inputs: 3 } }, /report must be/],
    ];
    for (const [options, message] of cases) {
      const err = await quantize(onnx, options as never).then(() => undefined, (e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(EdgeqError);
      expect((err as EdgeqError).code).toBe('BAD_OPTION');
      expect((err as EdgeqError).message).toMatch(message);
      expect((err as EdgeqError).message).not.toContain('\n');
    }
    await expect(quantize('model.onnx' as never, { calibration: [] })).rejects.toThrow(/ONNX file's bytes/);
  });
});
