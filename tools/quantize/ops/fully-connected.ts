// Fully connected layers: Gemm, and MatMul (+ an Add of a constant: its bias), over an [N, K]
// input become 1x1 convs over a 1x1 map (conv.ts quantizes and exports them).
import type { NodeDef } from '../../onnx/model.js';
import { readGemmAttributes } from '../../onnx/ops.js';
import { tensorToFloat32 } from '../../onnx/tensor.js';
import { fuseActivation } from './activation.js';
import type { FConv } from './conv.js';
import type { OnnxPattern } from './op-module.js';
import { fail, soleConsumer, type PrepareContext } from './prepare-context.js';

/** Gemm (alpha=beta=1 or any constant alpha/beta) and MatMul(+Add) as a 1x1 conv over [N, C, 1, 1]. */
function fcOp(ctx: PrepareContext, node: NodeDef): FConv {
  const inShape = ctx.shapes.get(node.inputs[0])!;
  if (inShape.length !== 2) fail(node, `fully connected input must be [N, K], got [${inShape}]`);
  const wT = ctx.constants.get(node.inputs[1]);
  if (!wT) fail(node, `weight "${node.inputs[1]}" is not a constant initializer`);
  const raw = tensorToFloat32(wT!);
  let K: number, N: number, transposed: boolean;
  let alpha = 1, beta = 1;
  if (node.opType === 'Gemm') {
    const gemm = readGemmAttributes(node, ctx.opset);
    if (gemm.transA) fail(node, 'transA=1 is not supported');
    transposed = gemm.transB;
    ({ alpha, beta } = gemm);
  } else {
    transposed = false;
  }
  if (transposed) [N, K] = wT!.dims; else [K, N] = wT!.dims;
  if (K !== inShape[1]) fail(node, `weight [${wT!.dims}] does not match input [${inShape}]`);
  const weights = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) weights[n * K + k] = alpha * (transposed ? raw[n * K + k] : raw[k * N + n]);
  const bias = new Float32Array(N);
  const nodes = [node.name];
  let out = node.outputs[0];
  let biasName = node.opType === 'Gemm' ? node.inputs[2] : undefined;
  if (node.opType === 'MatMul') {
    const add = soleConsumer(ctx, out);
    if (add?.opType === 'Add') {
      const other = add.inputs[0] === out ? add.inputs[1] : add.inputs[0];
      if (ctx.constants.get(other)) {
        biasName = other;
        ctx.consume(add);
        nodes.push(add.name);
        out = add.outputs[0];
      }
    }
  }
  if (biasName) {
    const b = ctx.constants.get(biasName);
    if (!b) fail(node, `bias "${biasName}" is not a constant initializer`);
    const bv = tensorToFloat32(b!);
    if (bv.length !== N && bv.length !== 1) fail(node, `bias has ${bv.length} values for ${N} outputs`);
    for (let n = 0; n < N; n++) bias[n] = beta * (bv.length === 1 ? bv[0] : bv[n]);
  }
  const act = fuseActivation(ctx, out, true);
  return {
    op: 'conv', name: node.name, input: ctx.resolve(node.inputs[0]), output: act.output, preActivation: out, weights, bias,
    kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], dilation: [1, 1], group: 1,
    inChannels: K, outChannels: N, activation: act.activation, fullyConnected: true,
    nodes: [...nodes, ...act.nodes],
  };
}

export const FULLY_CONNECTED_PATTERNS: OnnxPattern[] = [
  { opType: 'Gemm', becomes: 'conv', condition: 'input [N, K], constant weights and bias, transA = 0 (a 1x1 conv)', prepare: (ctx, node) => ctx.emit(fcOp(ctx, node)) },
  { opType: 'MatMul', becomes: 'conv', condition: 'input [N, K], constant weights; an Add of a constant that alone reads it is its bias (a 1x1 conv)', prepare: (ctx, node) => ctx.emit(fcOp(ctx, node)) },
];
