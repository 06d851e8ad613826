import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { ReferenceSession, addGraphOutputs, referenceThreads, timeRuns } from '../../tools/reference/ort-runner.js';
import { runInChildProcess } from '../../tools/reference/ort-process-node.js';
import { HAS_SHARED, SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';

const MODEL = join(SHARED, 'models', 'darknet-tiny', 'model.onnx');
warnSkip(HAS_SHARED, SHARED_SKIP);

describe.skipIf(!HAS_SHARED)('ReferenceSession on darknet-tiny', () => {
  let bytes: Uint8Array;
  let firstLeaky: string;
  let firstConv: string;
  let session: ReferenceSession;
  const input = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < input.length; i++) input[i] = ((i * 7919) % 256) / 255;

  beforeAll(async () => {
    bytes = readFileSync(MODEL);
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    const nodes = model.graph!.node!;
    firstLeaky = nodes.find((n) => n.opType === 'LeakyRelu')!.output![0]!;
    firstConv = nodes.find((n) => n.opType === 'Conv')!.output![0]!;
    session = await ReferenceSession.create(bytes, { extraOutputs: [firstLeaky, firstConv] });
  });
  afterAll(async () => { await session?.release(); });

  it('runs with extra intermediate outputs of the right shapes', async () => {
    expect(session.outputNames).toEqual(['logits', firstLeaky, firstConv]);
    const { outputs, ms } = await session.run({ input });
    expect(ms).toBeGreaterThan(0);
    expect(outputs.logits!.dims).toEqual([1, 1000]);
    expect(outputs[firstLeaky]!.dims).toEqual([1, 16, 224, 224]);
    expect(outputs[firstConv]!.dims).toEqual([1, 16, 224, 224]);
    // LeakyRelu(0.1) of the BN output: negatives are scaled, so min >= 0.1 * min(pre-activation) roughly.
    const leaky = outputs[firstLeaky]!.data;
    expect(leaky.some((v) => v < 0)).toBe(true);
    expect(outputs.logits!.data.every(Number.isFinite)).toBe(true);
  });

  it('gives the same logits with and without extra outputs', async () => {
    const plain = await ReferenceSession.create(bytes);
    const a = (await plain.run({ input: { dims: [1, 3, 224, 224], data: input } })).outputs.logits!.data;
    const b = (await session.run({ input })).outputs.logits!.data;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-4);
    expect((await timeRuns(plain, { input }, { runs: 2, warmup: 0 })).length).toBe(2);
    await plain.release();
    await expect(plain.run({ input })).rejects.toThrow(/released/);
  });

  it('rejects unknown extra outputs, bad feeds and a second thread count', async () => {
    expect(() => addGraphOutputs(bytes, ['no_such_tensor'])).toThrow(EdgeqError);
    await expect(session.run({})).rejects.toThrow(/missing input/);
    expect(referenceThreads()).toBe(1);
    await expect(ReferenceSession.create(bytes, { threads: 2 })).rejects.toThrow(/per process/);
  });

  it('runs in a child process with 2 threads and matches the in-process logits', async () => {
    const child = await runInChildProcess({
      model: MODEL, threads: 2, runs: 2, warmup: 1, returnOutputs: true,
      inputs: { input: { dims: [1, 3, 224, 224], data: input } },
    });
    expect(child.latencies.length).toBe(2);
    const here = (await session.run({ input })).outputs.logits!.data;
    const there = child.outputs!.logits!.data;
    let diff = 0;
    for (let i = 0; i < here.length; i++) diff = Math.max(diff, Math.abs(here[i]! - there[i]!));
    expect(diff).toBeLessThan(1e-3);
  });
});
