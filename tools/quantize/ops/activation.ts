// Activations (Relu, LeakyRelu, Clip(0, ...)) are fused into the op that produces their input: a
// conv's requantization clamps, an add's epilogue applies them. A chain of them folds into one
// (Relu after Relu, LeakyRelu or Clip(0, ...) is Relu; LeakyRelu(b) after LeakyRelu(a >= 0) is
// LeakyRelu(a * b)), and Identity/Dropout nodes between them are skipped. There is no standalone
// activation op: one that follows no Conv, Gemm, MatMul or Add (or whose input has other readers) is
// UNSUPPORTED_OP.
import type { Activation } from 'edgeq/format';
import type { NodeDef } from '../../onnx/model.js';
import { makeNode, attr } from '../../onnx/model.js';
import { getFloatAt, readClipBounds } from '../../onnx/ops.js';
import type { OnnxPattern } from './op-module.js';
import { fail, soleConsumer, type PrepareContext } from './prepare-context.js';
import { isDataFree } from './pass-through.js';

/** The activation `node` applies, or undefined when it is not one the quantizer can fuse. */
function activationOf(ctx: PrepareContext, node: NodeDef): Activation | undefined {
  if (node.opType === 'Relu') return { kind: 'relu' };
  if (node.opType === 'LeakyRelu') return { kind: 'leakyrelu', alpha: getFloatAt(node, 'alpha', ctx.opset) };
  // Clip(0, max) behaves as ReLU followed by the output clamp the calibrated range gives.
  if (node.opType === 'Clip' && readClipBounds(node, ctx.opset, ctx.constants).min === 0) return { kind: 'relu' };
  return undefined;
}

/** `next` applied after `first` as one activation, or undefined when no single activation is both. */
function compose(first: Activation, next: Activation): Activation | undefined {
  if (first.kind === 'none') return next;
  if (first.kind === 'relu') return first; // x >= 0: Relu, LeakyRelu and Clip(0, ...) leave it as is
  if (first.kind === 'leakyrelu' && first.alpha >= 0) {
    if (next.kind === 'relu') return next;
    if (next.kind === 'leakyrelu') return { kind: 'leakyrelu', alpha: Math.fround(first.alpha * next.alpha) };
  }
  return undefined;
}

export interface FusedActivation {
  activation: Activation;
  /** The ONNX tensor the activation chain writes (`tensor` itself when there is none). */
  output: string;
  /** The nodes absorbed (activations and the Identity/Dropout between them). */
  nodes: string[];
}

/**
 * Absorbs the activation chain that follows `tensor` (each link the sole reader of the previous
 * one, Identity/Dropout links skipped) into its producer.
 */
export function fuseActivation(ctx: PrepareContext, tensor: string): FusedActivation {
  let activation: Activation = { kind: 'none' };
  let output = tensor;
  const nodes: string[] = [];
  let pending: NodeDef[] = []; // data-free nodes after `output`, absorbed only if an activation follows
  let t = tensor;
  for (;;) {
    const next = soleConsumer(ctx, t);
    if (!next) break;
    if (isDataFree(ctx, next)) { pending.push(next); t = next.outputs[0]; continue; }
    const act = activationOf(ctx, next);
    const combined: Activation | undefined = act && compose(activation, act);
    if (!combined) break;
    for (const n of [...pending, next]) { ctx.consume(n); nodes.push(n.name); }
    pending = [];
    activation = combined;
    output = t = next.outputs[0];
  }
  return { activation, output, nodes };
}

const standalone = (opType: string, condition: string): OnnxPattern => ({
  opType, condition, becomes: 'fused',
  prepare: (_ctx, node) => fail(node, `a standalone ${node.opType} (not the sole reader of a Conv, Gemm, MatMul or Add output) is not supported`),
});

export const ACTIVATION_PATTERNS: OnnxPattern[] = [
  standalone('Relu', 'fused into the Conv, Gemm, MatMul or Add whose output it alone reads; chains fold into one'),
  standalone('LeakyRelu', 'as Relu; LeakyRelu(b) after LeakyRelu(a >= 0) folds into LeakyRelu(a*b)'),
  standalone('Clip', 'min = 0 (a ReLU; the max is left to the calibrated range), fused as Relu'),
];

/** Writes `act` after `pre` (ONNX), returning the tensor holding the activated value. */
export function writeActivation(nodes: NodeDef[], act: Activation, pre: string, out: string, isFloat: boolean): string {
  if (act.kind === 'leakyrelu') {
    nodes.push(makeNode('LeakyRelu', [pre], [`${out}/act`], { alpha: attr.float(act.alpha) }, `${out}/LeakyRelu`));
    return `${out}/act`;
  }
  if (act.kind === 'relu' && isFloat) {
    // Only a float32 output needs an explicit ReLU; a uint8 one gets it from its zero point 0.
    nodes.push(makeNode('Relu', [pre], [`${out}/act`], {}, `${out}/Relu`));
    return `${out}/act`;
  }
  return pre;
}
