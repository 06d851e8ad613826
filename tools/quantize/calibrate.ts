// Calibration: runs the fp32 model in onnxruntime-web on calibration inputs with every tensor the
// int8 graph quantizes exposed as an extra output, and collects one ActivationHistogram per tensor.
import { ReferenceSession } from '../reference/ort-runner.js';
import { ActivationHistogram, chooseRange, type Range, type RangeOptions } from './histogram.js';
import type { FloatGraph } from './prepare.js';

export interface CalibrationProgress {
  done: number;
  total: number;
}

/** The tensors whose ranges the quantizer needs: the input and every op's output. */
export function calibrationTensors(g: FloatGraph): string[] {
  return [...new Set([g.input.name, ...g.ops.map((op) => op.output)])];
}

export async function collectHistograms(
  onnxBytes: Uint8Array,
  g: FloatGraph,
  inputs: AsyncIterable<Float32Array> | Iterable<Float32Array>,
  options: {
    count: number; threads?: number; onProgress?: (p: CalibrationProgress) => void;
    /**
     * Filled with one small histogram per channel of these tensors (activation smoothing's statistics,
     * smoothing.ts), in CHANNEL_FOLDS folds: calibration input i goes to fold i % CHANNEL_FOLDS.
     */
    channelHistograms?: Map<string, ChannelFolds>;
    /** Shown every input's tensors (by name, the graph input included) after they are counted: GPTQ's statistics (gptq.ts). */
    observe?: (tensor: (name: string) => Float32Array) => Promise<void>;
  },
): Promise<Map<string, ActivationHistogram>> {
  const names = calibrationTensors(g);
  const byTensor = new Map(g.outputs.map((o) => [o.tensor, o.name]));
  const outputNames = new Set(g.outputs.map((o) => o.name));
  const extra = names.filter((n) => n !== g.input.name && !outputNames.has(n));
  const session = await ReferenceSession.create(onnxBytes, { threads: options.threads ?? 1, extraOutputs: extra });
  const hists = new Map(names.map((n) => [n, new ActivationHistogram()]));
  let done = 0;
  try {
    for await (const x of inputs) {
      const { outputs } = await session.run({ [g.input.name]: { dims: g.input.nchw, data: x } });
      const hin = hists.get(g.input.name)!;
      hin.add(x);
      hin.addChannels(x, g.input.nchw);
      for (const n of names) {
        if (n === g.input.name) continue;
        const t = outputs[n] ?? (byTensor.has(n) ? outputs[byTensor.get(n)!] : undefined);
        if (!t) continue;
        const h = hists.get(n)!;
        h.add(t.data);
        h.addChannels(t.data, t.dims);
        const perChannel = options.channelHistograms?.get(n);
        if (perChannel) addPerChannel(foldOf(perChannel, done), t.data, t.dims);
      }
      await options.observe?.((n) => {
        const t = n === g.input.name ? x : outputs[n]?.data;
        if (!t) throw new Error(`calibration: no tensor "${n}"`);
        return t;
      });
      done++;
      options.onProgress?.({ done, total: options.count });
    }
  } finally {
    await session.release();
  }
  return hists;
}

/** Per-channel histograms of one tensor, per fold of the calibration inputs: [fold][channel]. */
export type ChannelFolds = ActivationHistogram[][];

/**
 * Folds of the per-channel statistics: a choice made from some calibration inputs is judged on the
 * others (smoothing.ts), so that it generalizes instead of fitting the calibration set.
 */
export const CHANNEL_FOLDS = 2;

function foldOf(folds: ChannelFolds, input: number): ActivationHistogram[] {
  while (folds.length < CHANNEL_FOLDS) folds.push([]);
  return folds[input % CHANNEL_FOLDS];
}

/** Bins of a per-channel histogram: enough for a range search, small enough for thousands of channels. */
export const CHANNEL_HISTOGRAM_BINS = 256;

/** Adds an NCHW (or [N, C]) tensor to per-channel histograms (created on first use). */
function addPerChannel(hists: ActivationHistogram[], data: Float32Array, dims: readonly number[]): void {
  const [n, c] = dims;
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  for (let ch = hists.length; ch < c; ch++) hists.push(new ActivationHistogram(CHANNEL_HISTOGRAM_BINS));
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) hists[ch].add(data.subarray((b * c + ch) * inner, (b * c + ch + 1) * inner));
}

export function chooseRanges(hists: Map<string, ActivationHistogram>, options: RangeOptions): Map<string, Range> {
  const ranges = new Map<string, Range>();
  for (const [name, h] of hists) ranges.set(name, chooseRange(h, options));
  return ranges;
}
