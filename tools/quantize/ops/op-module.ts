// The contract of a quantizer op module. Adding an op to the quantizer is one file in this folder
// (plus its line in registry.ts): the ONNX node patterns it takes during graph preparation, and for
// the float op it produces, which tensors it reads and writes, how its tensors' quantization is
// chosen, how it becomes a QOp of the .edgeq file, and how it is written to the QDQ and the folded
// fp32 ONNX exports. The pipeline files (prepare.ts, quantize.ts, export-qdq.ts, export-folded.ts)
// only dispatch through the registry.
import type { QOp } from 'edgeq/format';
import type { NodeDef, TensorValue } from '../../onnx/model.js';
import type { FloatGraph, FOp } from '../prepare.js';
import type { PrepareContext } from './prepare-context.js';
import type { QuantizeContext } from './quantize-context.js';
import type { QdqContext } from './qdq-context.js';

/** How graph preparation treats one ONNX op type. */
export interface OnnxPattern {
  /** The ONNX op type (ai.onnx domain). */
  opType: string;
  /** When the quantizer maps it, in words (docs/ops.md, the UNSUPPORTED_OP message, `edgeq inspect`). */
  condition: string;
  /** The float op kind it becomes, or how it disappears ('fused', 'folded', 'pass-through'). */
  becomes: string;
  /**
   * Maps `node` (not yet absorbed by an earlier pattern) onto float ops through `ctx` (ctx.emit,
   * ctx.alias, ctx.consume), or throws UNSUPPORTED_OP naming the node.
   */
  prepare(ctx: PrepareContext, node: NodeDef): void;
}

/** What the quantizer does with one kind of float op (FOp['op']). */
export interface OpModule<F extends FOp = FOp> {
  kind: F['op'];
  /** The tensors the op reads, in order. */
  reads(op: F): string[];
  /**
   * True when the op's output has its input's scale and zero point (an op that commutes with a
   * monotonic quantization, e.g. max pooling): bit widths are chosen for the input, not the output.
   */
  sharesInputParams?: boolean;
  /** True when op(x * s) = op(x) * s per channel for s > 0 (cross-layer equalization may scale through it, cle.ts). */
  commutesWithChannelScale?: boolean;
  /** The tensors that stay float32 when this op computes a graph output that no op reads (its output among them, or none). */
  floatOutputs(op: F, g: FloatGraph, readers: ReadonlyMap<string, number>): string[];
  /** Decisions taken over the whole graph before any tensor is laid out (overflow proofs, fusions). */
  plan?(op: F, ctx: QuantizeContext): void;
  /** Lays out the op's output tensor(s) and appends its QOp (and weight blobs). */
  quantize(op: F, ctx: QuantizeContext): void;
  /** Writes the op to the QDQ export (exactly the .edgeq's integers). */
  exportQdq(op: F, ctx: QdqContext): void;
  /** Writes the op to the folded fp32 export (`pre`: a free name for an intermediate tensor). */
  exportFolded(op: F, out: FoldedContext): void;
  /** One line about the QOp this module writes, for `edgeq inspect` (`tensor` describes a tensor by index). */
  describe(q: Extract<QOp, { op: F['op'] }>, tensor: (i: number) => string): string;
}

/** The folded fp32 export being built. */
export interface FoldedContext {
  nodes: NodeDef[];
  inits: TensorValue[];
  /** A free tensor name for this op's pre-activation value. */
  pre: string;
}
