// Activations (Relu, LeakyRelu, Clip / Relu6 with any bounds) are fused into the op that produces
// their input: a conv's requantization clamps, an add's epilogue applies them. A chain of them folds
// into one (LeakyRelu after a clamp at min >= 0 is that clamp, a clamp at min >= 0 after
// LeakyRelu(a >= 0) is the clamp; LeakyRelu(b) after LeakyRelu(a >= 0) is LeakyRelu(a * b);
// Relu and Clip compose into the Clip of the intersected bounds), and
// Identity/Dropout nodes between them are skipped. Clip(min, max) is the output clamp at
// [Q(min), Q(max)] (exact: QuantizeLinear(Clip(x)), src/ops/activation.ts); storedActivation()
// writes the simpler Relu / none when the quantized range already implies a bound. HardSwish,
// HardSigmoid, Sigmoid and the gated forms x * HardSigmoid(x) (alpha 1/6, beta 1/2: HardSwish as torch
// exports it before opset 14) and x * Sigmoid(x) (SiLU) are computed in fp32 in the conv kernels'
// epilogue: they fuse into a Conv, Gemm or MatMul only (the first activation of its chain). There is
// no standalone activation op: one that follows no Conv, Gemm, MatMul (or Add, for the clamps and
// LeakyRelu), or whose input has other readers, is UNSUPPORTED_OP.
import { quantMax, type Activation } from 'edgeq/format';
import { outputClamp, type QuantParams } from 'edgeq/ops';
import type { NodeDef, TensorValue } from '../../onnx/model.js';
import { makeFloatTensor } from '../../onnx/tensor.js';
import { makeNode, attr } from '../../onnx/model.js';
import { getFloatAt, readClipBounds } from '../../onnx/ops.js';
import type { OnnxPattern } from './op-module.js';
import { fail, soleConsumer, type PrepareContext } from './prepare-context.js';
import { isDataFree } from './pass-through.js';

/** The largest |alpha| / |beta| the .edgeq format takes (src/format/reader.ts). */
const MAX_PARAM = 65536;

/** HardSigmoid's alpha and beta (ONNX defaults 0.2, 0.5) as f32, or UNSUPPORTED_OP naming the node. */
function hardSigmoidParams(ctx: PrepareContext, node: NodeDef): { alpha: number; beta: number } {
  const alpha = getFloatAt(node, 'alpha', ctx.opset), beta = getFloatAt(node, 'beta', ctx.opset);
  if (!(Math.abs(alpha) <= MAX_PARAM) || !(Math.abs(beta) <= MAX_PARAM)) fail(node, `HardSigmoid alpha ${alpha}, beta ${beta} must be finite, |value| <= 2^16`);
  return { alpha: Math.fround(alpha), beta: Math.fround(beta) };
}

/**
 * The activation `node` applies, or undefined when it is not one the quantizer can fuse; `nonlinear`:
 * the producer is a conv (HardSwish, HardSigmoid and Sigmoid are conv epilogues only).
 */
function activationOf(ctx: PrepareContext, node: NodeDef, nonlinear: boolean): Activation | undefined {
  if (node.opType === 'Relu') return { kind: 'relu' };
  if (node.opType === 'LeakyRelu') return { kind: 'leakyrelu', alpha: getFloatAt(node, 'alpha', ctx.opset) };
  if (node.opType === 'Clip') {
    const { min, max } = readClipBounds(node, ctx.opset, ctx.constants);
    if (Number.isNaN(min) || Number.isNaN(max)) fail(node, `Clip bounds ${min}, ${max} must be numbers`);
    if (min > max) fail(node, `Clip min ${min} > max ${max}`);
    return clipActivation(min, max);
  }
  if (!nonlinear) return undefined;
  if (node.opType === 'HardSwish') return { kind: 'hardswish' };
  if (node.opType === 'HardSigmoid') return { kind: 'hardsigmoid', ...hardSigmoidParams(ctx, node) };
  if (node.opType === 'Sigmoid') return { kind: 'sigmoid' };
  return undefined;
}

/** HardSigmoid's parameters in x * HardSigmoid(x) == HardSwish (torch: alpha = f32(1/6), beta = 0.5). */
const isHardSwishGate = (p: { alpha: number; beta: number }) => Math.abs(p.alpha - 1 / 6) <= 1e-6 && p.beta === 0.5;

/**
 * The gated activation on tensor t: t read by exactly a gate g (HardSigmoid with isHardSwishGate
 * parameters, or Sigmoid) and a Mul(t, g(t)) (either order) that alone reads g's output; returns
 * HardSwish or SiLU, the two nodes and the Mul's output, or undefined.
 */
function gatedActivation(ctx: PrepareContext, t: string): { activation: Activation; nodes: NodeDef[]; output: string } | undefined {
  const readers = ctx.consumers.get(t) ?? [];
  if (readers.length !== 2 || ctx.model.graph.outputs.some((o) => o.name === t)) return undefined;
  const gate = readers.find((n) => n.opType === 'HardSigmoid' || n.opType === 'Sigmoid');
  const mul = readers.find((n) => n.opType === 'Mul');
  if (!gate || !mul || soleConsumer(ctx, gate.outputs[0]) !== mul) return undefined;
  const [a, b] = mul.inputs, g = gate.outputs[0];
  if (!((a === t && b === g) || (a === g && b === t))) return undefined;
  if (gate.opType === 'HardSigmoid' && !isHardSwishGate(hardSigmoidParams(ctx, gate))) return undefined;
  return { activation: { kind: gate.opType === 'Sigmoid' ? 'silu' : 'hardswish' }, nodes: [gate, mul], output: mul.outputs[0] };
}

/** Largest finite float32: an absent Clip bound (the stored bounds are finite). */
export const F32_MAX = 3.4028234663852886e38;

/** Clip(min, max) as an activation: none (unbounded), Relu (min 0, no max), else clip with finite bounds. */
function clipActivation(min: number, max: number): Activation {
  if (min === -Infinity && max === Infinity) return { kind: 'none' };
  if (min === 0 && max === Infinity) return { kind: 'relu' };
  return { kind: 'clip', min: Math.max(min, -F32_MAX), max: Math.min(max, F32_MAX) };
}

/** The interval of an activation that is a clamp (none, Relu, Clip), or undefined (LeakyRelu). */
function boundsOf(a: Activation): [number, number] | undefined {
  return a.kind === 'none' ? [-Infinity, Infinity] : a.kind === 'relu' ? [0, Infinity] : a.kind === 'clip' ? [a.min, a.max] : undefined;
}

/** `next` applied after `first` as one activation, or undefined when no single activation is both. */
function compose(first: Activation, next: Activation): Activation | undefined {
  if (first.kind === 'none') return next;
  const a = boundsOf(first), b = boundsOf(next);
  // A clamp at min >= 0 (Relu, Relu6) then LeakyRelu: x >= 0, which LeakyRelu leaves as is.
  if (a && a[0] >= 0 && next.kind === 'leakyrelu') return first;
  // LeakyRelu(alpha >= 0) keeps the sign, so a clamp at min >= 0 after it equals the clamp alone.
  if (first.kind === 'leakyrelu' && first.alpha >= 0 && b && b[0] >= 0) return next;
  if (a && b) {
    // Two clamps are the clamp of the intersection when it is not empty (otherwise a constant: not fused).
    const lo = Math.max(a[0], b[0]), hi = Math.min(a[1], b[1]);
    return lo <= hi ? clipActivation(lo, hi) : undefined;
  }
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
 * one, Identity/Dropout links skipped) into its producer. `nonlinear`: the producer is a conv, which
 * also takes HardSwish, HardSigmoid, Sigmoid and the gated x * HardSigmoid(x), x * Sigmoid(x) as the
 * chain's first activation.
 */
export function fuseActivation(ctx: PrepareContext, tensor: string, nonlinear = false): FusedActivation {
  let activation: Activation = { kind: 'none' };
  let output = tensor;
  const nodes: string[] = [];
  let pending: NodeDef[] = []; // data-free nodes after `output`, absorbed only if an activation follows
  let t = tensor;
  for (;;) {
    const gated: ReturnType<typeof gatedActivation> = nonlinear && activation.kind === 'none' ? gatedActivation(ctx, t) : undefined;
    if (gated) {
      for (const n of [...pending, ...gated.nodes]) { ctx.consume(n); nodes.push(n.name); }
      pending = [];
      activation = gated.activation;
      output = t = gated.output;
      continue;
    }
    const next = soleConsumer(ctx, t);
    if (!next) break;
    if (isDataFree(ctx, next)) { pending.push(next); t = next.outputs[0]; continue; }
    const act = activationOf(ctx, next, nonlinear);
    const combined: Activation | undefined = act && compose(activation, act);
    if (!combined) break;
    for (const n of [...pending, next]) { ctx.consume(n); nodes.push(n.name); }
    pending = [];
    activation = combined;
    output = t = next.outputs[0];
  }
  return { activation, output, nodes };
}

const standalone = (opType: string, condition: string, producers = 'a Conv, Gemm, MatMul or Add'): OnnxPattern => ({
  opType, condition, becomes: 'fused',
  prepare: (ctx, node) => {
    if (node.opType === 'HardSigmoid') hardSigmoidParams(ctx, node);
    fail(node, `a standalone ${node.opType} (not the sole reader of ${producers} output) is not supported`);
  },
});
const CONV_ONLY = 'a Conv, Gemm or MatMul';

export const ACTIVATION_PATTERNS: OnnxPattern[] = [
  standalone('Relu', 'fused into the Conv, Gemm, MatMul or Add whose output it alone reads; chains fold into one'),
  standalone('LeakyRelu', 'as Relu; LeakyRelu(b) after LeakyRelu(a >= 0) folds into LeakyRelu(a*b)'),
  standalone('Clip', 'any constant bounds, min <= max (min > max is UNSUPPORTED_OP naming the node); fused as the requantization clamp [Q(min), Q(max)]: Clip(0, inf) is Relu, Relu6 is Clip(0, 6)'),
  standalone('HardSwish', 'fused into the Conv, Gemm or MatMul whose output it alone reads (first activation after it); fp32 x * relu6(x + 3) / 6 in the epilogue', CONV_ONLY),
  standalone('HardSigmoid', 'as HardSwish, any finite alpha, beta (clamp(alpha x + beta, 0, 1)); x * HardSigmoid(x) with alpha 1/6, beta 0.5 (torch, opset 13) is HardSwish', CONV_ONLY),
  standalone('Sigmoid', 'as HardSwish (polynomial exp, max abs error 8.5e-8); x * Sigmoid(x) is SiLU', CONV_ONLY),
];

/**
 * The activation an op's quantized output stores: a Clip whose bounds the output's quantized range
 * already implies (Q(max) = qmax, Q(min) = 0) drops them, Clip(0, max) with Q(max) = qmax is Relu.
 * Both forms compute the same integers; the simpler one keeps files from before Clip's max was
 * honoured (Relu6 calibrated to [0, <= 6]) byte-identical.
 */
export function storedActivation(a: Activation, y: QuantParams): Activation {
  if (a.kind !== 'clip' || y.dtype === 'float32') return a;
  const c = outputClamp(a, y);
  if (c.outMax < quantMax(y.dtype)) return a;
  if (a.min === 0) return { kind: 'relu' };
  return c.outMin === 0 ? { kind: 'none' } : a;
}

/**
 * Writes `act` after `pre` (ONNX), returning the tensor holding the activated value. `y`: the
 * quantized output tensor (QDQ export): a Clip is written only where its stored form is a clip
 * (otherwise QuantizeLinear's saturation is the same clamp).
 */
export function writeActivation(nodes: NodeDef[], inits: TensorValue[], act: Activation, pre: string, out: string, isFloat: boolean, y?: QuantParams): string {
  if (act.kind === 'clip' && !isFloat && y && y.dtype !== 'float32') {
    const stored = storedActivation(act, y);
    if (stored.kind === 'none' || (stored.kind === 'relu' && y.zeroPoint === 0)) return pre;
    if (stored.kind === 'relu') act = { kind: 'clip', min: 0, max: act.max };
  }
  if (act.kind === 'clip') {
    // The float Clip before QuantizeLinear (exactly the clamp edgeq applies to the integers).
    inits.push(makeFloatTensor(`${out}/clip_min`, [], [act.min]), makeFloatTensor(`${out}/clip_max`, [], [act.max]));
    nodes.push(makeNode('Clip', [pre, `${out}/clip_min`, `${out}/clip_max`], [`${out}/act`], {}, `${out}/Clip`));
    return `${out}/act`;
  }
  if (act.kind === 'leakyrelu') {
    nodes.push(makeNode('LeakyRelu', [pre], [`${out}/act`], { alpha: attr.float(act.alpha) }, `${out}/LeakyRelu`));
    return `${out}/act`;
  }
  if (act.kind === 'hardswish' || act.kind === 'silu') {
    // x * gate(x): HardSigmoid(1/6, 1/2) (HardSwish itself needs opset 14; the QDQ export is opset 13) or Sigmoid.
    const gate = act.kind === 'silu' ? makeNode('Sigmoid', [pre], [`${out}/gate`], {}, `${out}/Sigmoid`)
      : makeNode('HardSigmoid', [pre], [`${out}/gate`], { alpha: attr.float(1 / 6), beta: attr.float(0.5) }, `${out}/HardSigmoid`);
    nodes.push(gate, makeNode('Mul', [pre, `${out}/gate`], [`${out}/act`], {}, `${out}/Mul`));
    return `${out}/act`;
  }
  if (act.kind === 'hardsigmoid') {
    nodes.push(makeNode('HardSigmoid', [pre], [`${out}/act`], { alpha: attr.float(act.alpha), beta: attr.float(act.beta) }, `${out}/HardSigmoid`));
    return `${out}/act`;
  }
  if (act.kind === 'sigmoid') {
    nodes.push(makeNode('Sigmoid', [pre], [`${out}/act`], {}, `${out}/Sigmoid`));
    return `${out}/act`;
  }
  if (act.kind === 'relu' && isFloat) {
    // Only a float32 output needs an explicit ReLU; a uint8 one gets it from its zero point 0.
    nodes.push(makeNode('Relu', [pre], [`${out}/act`], {}, `${out}/Relu`));
    return `${out}/act`;
  }
  return pre;
}
