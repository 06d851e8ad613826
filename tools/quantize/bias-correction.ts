// Empirical bias correction: quantized weights and inputs shift each output channel's mean a little.
// Measure that shift on calibration images — the fp32 model's conv output against the QDQ model's
// (same ONNX tensor names: the QDQ export calls a conv's raw float output "<conv>/out") — and move
// it out of the int32 bias, in accumulator units.
import { ReferenceSession } from '../../src/reference/ort-runner.js';
import type { FConv, FloatGraph } from './prepare.js';

/** Per conv (by op name): the mean error of each output channel, in real units (quantized - fp32). */
export type ChannelErrors = Map<string, Float64Array>;

function channelMeans(data: Float32Array, dims: number[], into: Float64Array): void {
  const C = dims[1];
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  const N = dims[0];
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      const base = (n * C + c) * inner;
      for (let i = 0; i < inner; i++) s += data[base + i];
      into[c] += s / inner;
    }
  }
}

export async function measureChannelErrors(
  fp32Onnx: Uint8Array,
  qdqOnnx: Uint8Array,
  g: FloatGraph,
  inputs: Iterable<Float32Array>,
  options: { threads?: number } = {},
): Promise<ChannelErrors> {
  const convs = g.ops.filter((o): o is FConv => o.op === 'conv');
  const refNames = convs.map((c) => c.preActivation).filter((t) => t !== g.outputName);
  const qdqNames = convs.map((c) => `${c.name}/out`);
  const ref = await ReferenceSession.create(fp32Onnx, { threads: options.threads ?? 1, extraOutputs: refNames });
  const qdq = await ReferenceSession.create(qdqOnnx, { threads: options.threads ?? 1, extraOutputs: qdqNames });
  const sumRef = convs.map((c) => new Float64Array(c.outChannels));
  const sumQ = convs.map((c) => new Float64Array(c.outChannels));
  let n = 0;
  try {
    for (const x of inputs) {
      const feed = { [g.input.name]: { dims: g.input.nchw, data: x } };
      const r = (await ref.run(feed)).outputs;
      const q = (await qdq.run(feed)).outputs;
      convs.forEach((c, i) => {
        const rt = r[c.preActivation] ?? r[g.outputName];
        const qt = q[`${c.name}/out`];
        channelMeans(rt.data, rt.dims, sumRef[i]);
        channelMeans(qt.data, qt.dims, sumQ[i]);
      });
      n++;
    }
  } finally {
    await ref.release();
    await qdq.release();
  }
  const errors: ChannelErrors = new Map();
  convs.forEach((c, i) => errors.set(c.name, Float64Array.from(sumQ[i], (v, k) => (v - sumRef[i][k]) / Math.max(1, n))));
  return errors;
}
