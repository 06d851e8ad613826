// What an op module (op-module.ts) sees while buildQModel (quantize.ts) lays out the int8 graph.
import type { QOp, QTensor } from 'edgeq/format';
import type { BitsPlan, ActivationMode } from '../activation-bits.js';
import type { FloatGraph } from '../prepare.js';
import type { ConvAccumulator, QuantizeOptions } from '../quantize.js';
import type { FAdd } from './add.js';
import type { QuantizedConvWeights } from './conv-weights.js';

export interface QuantizeContext {
  graph: FloatGraph;
  options: QuantizeOptions;
  mode: ActivationMode;
  bits: BitsPlan;
  /** How many ops read each tensor. */
  readers: ReadonlyMap<string, number>;
  /** Tensors that stay float32. */
  floats: ReadonlySet<string>;
  /** The index in graph.ops of the op writing each tensor. */
  position: ReadonlyMap<string, number>;
  /** The .edgeq tensors laid out so far, and their indices by name. */
  tensors: QTensor[];
  index: Map<string, number>;
  ops: QOp[];
  blobs: Uint8Array[];
  /** A quantized tensor's scale and zero point (from its calibrated range at its bits). */
  paramsOf(name: string): { scale: number; zeroPoint: number };
  /** Lays out the tensor `name` (its dtype decided by floats and bits) and returns its index. */
  addTensor(name: string, forceParams?: { scale: number; zeroPoint: number }): number;
  /** The index of a tensor already laid out; INTERNAL if it is not. */
  get(name: string): number;
  /** Per conv (by op name): its integer weights. */
  convWeights: Map<string, QuantizedConvWeights>;
  /** Per conv (by op name): the proven bound on its int32 accumulator. */
  accumulators: Map<string, ConvAccumulator>;
  /** 'auto': tensors picked for 12 bits but kept at 8 (a conv reading them could overflow at 12). */
  narrowed: string[];
  /** Per conv with a 12-bit input proven safe (by op name): the weights the proof used. */
  provenWide: Map<string, QuantizedConvWeights>;
  /** Per conv (by op name) whose residual Add is fused into its epilogue: the Add and its shortcut input. */
  residualFusions: Map<string, { add: FAdd; residual: string }>;
  /** Names of the Adds fused into a conv (they emit no QOp). */
  fusedAdds: Set<string>;
}
