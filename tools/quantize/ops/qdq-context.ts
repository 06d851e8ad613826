// What an op module (op-module.ts) sees while exportQdq (export-qdq.ts) writes the QDQ ONNX model.
import type { NodeDef, TensorValue } from '../../onnx/model.js';
import type { QdqExportOptions } from '../export-qdq.js';
import type { QuantizeResult, TensorParams } from '../quantize.js';

export interface QdqContext {
  nodes: NodeDef[];
  inits: TensorValue[];
  result: QuantizeResult;
  options: QdqExportOptions;
  /** Every float-graph tensor's quantization. */
  tensorOf: ReadonlyMap<string, TensorParams>;
  /** Adds Q -> DQ after float tensor `raw`, naming the DQ output `name` (an Identity when `name` stays float). */
  qdq(raw: string, name: string): void;
  /** The tensor `op` reads for `name` (in `only` mode, through a Q/DQ pair of the op's own). */
  input(op: { name: string }, name: string): string;
  /**
   * Rounds float tensor `units` (output units: real / scale) to tensor `name` as the kernels do: Clip to
   * [outMin - zp, outMax - zp], QuantizeLinear with scale 1, DequantizeLinear with `name`'s parameters.
   */
  requantized(units: string, name: string, outMin: number, outMax: number): void;
  /** Float-graph tensors another op's nodes already produce (a fused residual Add's output, written by its conv). */
  written: Set<string>;
  /** True when `op` is written in fp32 in this export (another op's `only` export, or `onlyTensor`). */
  floatOnly(op: { name: string }): boolean;
}
