// `--activations auto`: 12 bits only for the tensors where a sensitivity analysis says they pay.
//   1. For each candidate tensor t (activation-bits.ts: a quantized op output, not a max pool output,
//      not a residual branch fused away), N_t = the output noise energy when only t is quantized at
//      8 bits: onnxruntime-web runs the QDQ export with every weight and every other tensor fp32
//      (report.ts tensorSensitivity) on a few calibration inputs.
//   2. Noise of separate tensors adds roughly, so the all-8-bit activation noise is about sum N_t, and
//      12 bits (a 16x finer step) divide a tensor's share by 256.
//   3. Largest N_t first, tensors get 12 bits until the predicted remaining noise (N_t of the 8-bit
//      ones + N_t / 256 of the 12-bit ones) is at most a quarter of the all-8-bit total (6 dB better),
//      or half of the candidates have 12 bits (12-bit tensors cost twice the activation memory).
// Cost: one onnxruntime-web session and `inputs` runs per candidate (ResNet-50: ~53 candidates).
import type { FloatGraph } from './prepare.js';
import { buildQModel } from './quantize.js';
import { chooseRanges } from './calibrate.js';
import type { ActivationHistogram, CalibrationMethod } from './histogram.js';
import { bitsCandidates } from './activation-bits.js';
import { tensorSensitivity, type SensitivityOptions, type TensorSensitivity } from './report.js';

/** Share of the all-8-bit noise the 12-bit choice aims to leave. */
export const AUTO_NOISE_TARGET = 1 / 4;
/** At most this share of the candidates gets 12 bits. */
export const AUTO_MAX_SHARE = 1 / 2;
/** Default number of calibration inputs the analysis runs. */
export const AUTO_SENSITIVITY_INPUTS = 8;
/** Noise power ratio of 8 to 12 bits (step 16x finer). */
const WIDE_GAIN = 256;

/** The rule (steps 2-3 above): the tensors to widen, most noise first. */
export function pickWideTensors(entries: readonly Pick<TensorSensitivity, 'tensor' | 'noise'>[]): string[] {
  const sorted = [...entries].sort((a, b) => b.noise - a.noise);
  const total = sorted.reduce((s, e) => s + e.noise, 0);
  const cap = Math.floor(entries.length * AUTO_MAX_SHARE);
  let remaining = total;
  const wide: string[] = [];
  for (const e of sorted) {
    if (remaining <= total * AUTO_NOISE_TARGET || wide.length >= cap || !(e.noise > 0)) break;
    wide.push(e.tensor);
    remaining -= e.noise * (1 - 1 / WIDE_GAIN);
  }
  return wide;
}

export interface AutoBitsResult {
  /** Tensors to give 12 bits (QuantizeOptions.wideTensors). */
  wide: Set<string>;
  /** Per candidate tensor, its 8-bit sensitivity, most noise first. */
  sensitivity: TensorSensitivity[];
}

/** Steps 1-3 on calibrated statistics; `inputs` should be a few calibration inputs. */
export async function chooseWideTensors(
  onnxBytes: Uint8Array,
  calibrated: { graph: FloatGraph; histograms: Map<string, ActivationHistogram> },
  options: SensitivityOptions & { inputs: Float32Array[]; method: CalibrationMethod; percentile?: number; fuseResidual?: boolean },
): Promise<AutoBitsResult> {
  const { graph } = calibrated;
  // The 8-bit parameters of every tensor (weights do not matter: the analysis keeps them fp32).
  const ranges = chooseRanges(calibrated.histograms, { method: options.method, percentile: options.percentile });
  const q = buildQModel(graph, { ranges, fuseResidual: options.fuseResidual ?? true });
  const floats = new Set([...q.tensorParams].filter(([, t]) => t.dtype === 'float32').map(([name]) => name));
  const fusedAway = new Set(graph.ops.filter((op) => q.fusedConvs.has(op.name)).map((op) => op.output));
  const candidates = bitsCandidates(graph, floats, fusedAway);
  const sensitivity = await tensorSensitivity(onnxBytes, graph, q, options.inputs, candidates, options);
  sensitivity.sort((a, b) => b.noise - a.noise);
  return { wide: new Set(pickWideTensors(sensitivity)), sensitivity };
}
