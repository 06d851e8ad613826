// The contract of an op module (TFLite Micro style: everything is decided at prepare, eval only
// dispatches). One module per .edgeq op kind (src/ops/<kind>.ts), registered in src/ops/index.ts;
// the header validator (src/format/reader.ts) and the planner (src/runtime/plan.ts) are generic
// over this interface.
import type { RelaxedDotMode } from '../kernels/relaxed.js';
import type { Activation, QModel, QOp, QTensor } from '../format/qmodel.js';
import { elementBytes } from '../format/qmodel.js';
import type { KernelCall } from '../kernels/kernel-api.generated.js';
import type { Kernels } from '../kernels/wasm.js';

/** The header validator's helpers; every failure throws EdgeqError('BAD_MODEL'). */
export interface OpValidation {
  model: QModel;
  /** The message prefix naming the op: `op i ("name", "kind")`. */
  what: string;
  fail(msg: string): never;
  /** An integer in min..2^24. */
  isInt(v: unknown, min?: number): v is number;
  /** A tensor some earlier op (or the graph input) wrote. */
  read(idx: unknown, what: string): QTensor;
  /** A tensor no op wrote yet (each tensor is written once). */
  write(idx: unknown, what: string): QTensor;
  /** Two integers in min..2^24. */
  pair(v: unknown, what: string, min: number): [number, number];
  /** Four integers in 0..2^24. */
  quad(v: unknown, what: string): [number, number, number, number];
  activation(a: Activation, what: string): void;
  /** Output size of a window: floor((in + p0 + p1 - d * (k - 1) - 1) / s) + 1. */
  outDim(inp: number, k: number, s: number, d: number, p0: number, p1: number): number;
}

/** What the planner knows about an op before any memory exists. */
export interface OpPlanContext {
  model: QModel;
  batch: number;
  /** Parts each op may split into (threads x parts per thread; 1 single-threaded). */
  parts: number;
  /**
   * The relaxed build's exact lowering (probe verdict that passed the self-check): eligible convs
   * repack their weights in place to 2x4c16 and run the relaxed kernels. Absent: the i16 kernels.
   */
  relaxedDot?: RelaxedDotMode;
}

/** A read-only buffer of the op that prepare fills once (indirection buffer, zero row). */
export interface ConstantBuffer {
  name: string;
  size: number;
}

/** Where an op's memory goes: decided by the op module, placed by the planner. */
export interface OpLayout {
  /** Blob sections (QModel.blobs indices) the kernels read in place. */
  sections: number[];
  /** Weights derived from the blobs at load time (read-only), e.g. Winograd-transformed weights. */
  derived?: { name: string; bytes: Uint8Array };
  /** Read-only buffers after the activation arena, in this order. */
  constants: ConstantBuffer[];
  /** Scratch bytes per part (one scratch region per part, shared by every op). */
  scratchBytes: number;
  /** Whether the op runs its faster variant (OpModule.fastVariant). */
  fastVariant: boolean;
}

/** Byte offsets of everything the planner placed, for prepare. */
export interface OpPrepareContext extends OpPlanContext {
  kernels: Kernels;
  /** Byte offset of a tensor (arena). */
  tensor(t: number): number;
  /** Byte offset of a blob section read in place (OpLayout.sections). */
  section(i: number): number;
  /** Byte offset of OpLayout.derived. */
  derived?: number;
  /** Byte offset of each OpLayout.constants buffer, by name. */
  constants: Record<string, number>;
  /** Byte offset of part 0's scratch (part p: scratch + p * OpLayout.scratchBytes of the largest op). */
  scratch: number;
}

/** An op's modelled work at its batch size, from which the planner sizes its threads (src/runtime/plan.ts, opThreads). */
export interface OpCost {
  /** Multiply-accumulates the kernels execute (padded lanes included). */
  macs: number;
  /** Bytes the kernels read and write (tensors and weights). */
  bytes: number;
  /**
   * The kernels' multiply-accumulates per ns on one thread where they differ from the dot-product
   * GEMM's (the planner's MACS_PER_NS): a depthwise kernel widens and multiplies each tap alone.
   */
  macsPerNs?: number;
}

export interface OpModule<O extends QOp = QOp> {
  /** The .edgeq `op` string. */
  readonly kind: O['op'];
  /** Tensors the op's kernels read (liveness: a tensor lives until its last reader). */
  reads(op: O): number[];
  /** Tensors the op's kernels write (liveness: a tensor lives from its writer). */
  writes(op: O): number[];
  /** Checks the op's header fields (tensor indices through v.read / v.write, in that order). */
  validate(op: O, v: OpValidation): void;
  /** Checks the op's blob sections before anything touches wasm memory (EdgeqError BAD_MODEL). */
  checkWeights?(op: O, model: QModel): void;
  /**
   * A faster variant that needs `growth` more bytes of load-time transformed weights, or undefined
   * when the op has none (conv: Winograd F(2x2, 3x3)). The planner's memory budget chooses.
   */
  fastVariant?(op: O, ctx: OpPlanContext): { growth: number } | undefined;
  /**
   * The op's modelled work; absent: no MACs, and the bytes of the tensors it reads and writes
   * (elementwise ops and pools, whose time is memory traffic).
   */
  cost?(op: O, ctx: OpPlanContext): OpCost;
  /** The op's sections, derived weights, constant buffers and scratch. */
  layout(op: O, ctx: OpPlanContext, fastVariant: boolean): OpLayout;
  /**
   * Fills the op's constant buffers and returns its kernel calls, split into at most ctx.parts
   * independent parts that may run in any order or concurrently.
   */
  prepare(op: O, layout: OpLayout, ctx: OpPrepareContext): KernelCall[];
}

/** Bytes of a tensor at `batch` images (the file stores N = 1). */
export function tensorBytes(t: QTensor, batch: number): number {
  const [, h, w, c] = t.shape;
  return batch * h * w * c * elementBytes(t.dtype);
}

/** A layout with nothing but the op's tensors. */
export const TENSORS_ONLY: OpLayout = Object.freeze({ sections: [], constants: [], scratchBytes: 0, fastVariant: false });
