// The quantizer's op registry: every ONNX op type graph preparation maps (ONNX_PATTERNS, with the
// condition under which it maps) and every float op kind's module (OP_MODULES). It is the one list
// of what the quantizer supports: the UNSUPPORTED_OP message, `edgeq inspect` and docs/ops.md
// (ops-doc.ts; test/quantize/ops-doc.test.ts checks it) are derived from it.
import { EdgeqError } from 'edgeq';
import type { QOp } from 'edgeq/format';
import type { FloatGraph } from '../prepare.js';
import { ACTIVATION_PATTERNS } from './activation.js';
import { ADD, ADD_PATTERNS, type FAdd } from './add.js';
import { AVG_POOL, AVG_POOL_PATTERNS, type FAvgPool } from './avg-pool.js';
import { BATCH_NORM_PATTERNS } from './batch-norm.js';
import { CONCAT, CONCAT_PATTERNS, type FConcat } from './concat.js';
import { CONV, CONV_PATTERNS, type FConv } from './conv.js';
import { FULLY_CONNECTED_PATTERNS } from './fully-connected.js';
import { GLOBAL_AVG_POOL, GLOBAL_AVG_POOL_PATTERNS, type FGlobalAvgPool } from './global-avg-pool.js';
import { MAXPOOL, MAXPOOL_PATTERNS, type FMaxPool } from './maxpool.js';
import { MUL, MUL_PATTERNS, type FMul } from './mul.js';
import type { OnnxPattern, OpModule } from './op-module.js';
import { PASS_THROUGH_PATTERNS } from './pass-through.js';
import { PAD_PATTERNS } from './pad.js';
import { SOFTMAX, SOFTMAX_PATTERNS, type FSoftmax } from './softmax.js';

/** ONNX op type -> how graph preparation maps it, in the order docs/ops.md lists them. */
export const ONNX_PATTERNS: ReadonlyMap<string, OnnxPattern> = new Map([
  ...CONV_PATTERNS, ...BATCH_NORM_PATTERNS, ...ACTIVATION_PATTERNS, ...ADD_PATTERNS, ...MAXPOOL_PATTERNS,
  ...GLOBAL_AVG_POOL_PATTERNS, ...FULLY_CONNECTED_PATTERNS, ...PASS_THROUGH_PATTERNS, ...SOFTMAX_PATTERNS, ...PAD_PATTERNS,
  ...MUL_PATTERNS, ...CONCAT_PATTERNS, ...AVG_POOL_PATTERNS,
].map((p) => [p.opType, p]));

/** A float op of the prepared graph: one kind per module below. */
export type FOp = FConv | FAdd | FMaxPool | FGlobalAvgPool | FMul | FConcat | FAvgPool | FSoftmax;

type ModuleTable = { [K in FOp['op']]: OpModule<Extract<FOp, { op: K }>> };
export const OP_MODULES: ModuleTable = {
  conv: CONV, add: ADD, maxpool: MAXPOOL, gap: GLOBAL_AVG_POOL,
  mul: MUL, concat: CONCAT, avgpool: AVG_POOL, softmax: SOFTMAX,
};

/** The module of a float op. */
export function moduleOf<F extends FOp>(op: F): OpModule<F> {
  const m = (OP_MODULES as unknown as Record<string, OpModule<F>>)[op.op];
  if (!m) throw new EdgeqError('INTERNAL', `no quantizer module for op kind "${op.op}" (op "${op.name}")`);
  return m;
}

/** One line about a QOp of an .edgeq file, by the module of its kind (INTERNAL for a kind without one). */
export function describeQOp(q: QOp, tensor: (i: number) => string): string {
  const m = (OP_MODULES as unknown as Record<string, OpModule>)[q.op];
  if (!m) throw new EdgeqError('INTERNAL', `no quantizer module for op kind "${q.op}" (op "${q.name}")`);
  return (m.describe as (q: QOp, t: (i: number) => string) => string)(q, tensor);
}

/** The pattern for a node's op type, or undefined when the quantizer does not map it (other domains included). */
export function patternOf(node: { opType: string; domain?: string }): OnnxPattern | undefined {
  if (node.domain && node.domain !== 'ai.onnx') return undefined;
  return ONNX_PATTERNS.get(node.opType);
}

/** "Conv, BatchNormalization, ..." for messages. */
export function supportedOpList(): string {
  return [...ONNX_PATTERNS.keys()].join(', ');
}

/** How many ops read each tensor. */
export function readerCounts(g: FloatGraph): Map<string, number> {
  const readers = new Map<string, number>();
  for (const op of g.ops) for (const t of moduleOf(op).reads(op)) readers.set(t, (readers.get(t) ?? 0) + 1);
  return readers;
}
