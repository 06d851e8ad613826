// Exports the quantized model as a standard ONNX QDQ model that onnxruntime-web runs, with exactly
// the integer weights, biases, scales and zero points of the .edgeq file, so both engines can be
// compared on the same int8 numbers.
//
// Pattern per op (the one ORT's QDQ transformers fuse into QLinearConv / QLinearAdd on WASM: uint8
// activations, int8 per-channel weights, int32 bias):
//   x(uint8 via DQ) -> Conv(DQ(W int8, axis 0), DQ(b int32)) [-> LeakyRelu] -> Q -> DQ -> ...
// A fused ReLU needs no node: its output zero point is 0, so QuantizeLinear's saturation is the ReLU.
// Where onnxruntime has no integer kernel for what the .edgeq computes (a conv with a fused residual
// or a uint12 input or output, an add on uint12 tensors) the op is written in an exact form instead:
// float32 ops on the stored integers, rounding where the kernels round (ops/conv.ts and ops/add.ts,
// exportExact; requantized() below; docs/quantization.md, "The QDQ export").
// Float32 tensors (the classifier head) have no Q/DQ pair after them.
// A uint12 tensor is Clip(scale*(0-zp), scale*(4095-zp)) -> QuantizeLinear to uint16 -> DequantizeLinear,
// so onnxruntime-web computes exactly the 12-bit grid (QuantizeLinear alone would saturate at 65535).
// uint16 Q/DQ needs opset 21 (onnxruntime-web 1.30 also runs com.microsoft's, but the standard ops are
// portable); a model with only 8-bit tensors keeps opset 13, so its export is unchanged.
// Each op kind's nodes are written by its module in ops/ (ops/registry.ts).
import type { FloatGraph } from './prepare.js';
import { quantMax } from 'edgeq/format';
import type { QuantizeResult, TensorParams } from './quantize.js';
import type { NodeDef, TensorValue } from '../onnx/model.js';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/model.js';
import { connectOutputs } from './export-folded.js';
import { moduleOf } from './ops/registry.js';
import type { QdqContext } from './ops/qdq-context.js';
import { makeTensor } from '../onnx/tensor.js';
import { writeOnnx } from '../onnx/writer.js';

export const QDQ_OPSET = 13;
/** The opset of an export with 12-bit tensors: the first whose QuantizeLinear takes uint16. */
export const QDQ_OPSET_WIDE = 21;

export interface QdqExportOptions {
  /**
   * Default true: a fused residual conv is written as edgeq computes it, exactly (ops/conv.ts,
   * exportExact: the branch and the residual added in float32 in the output's units, rounded once).
   * false: the standard Conv -> Q -> DQ -> Add -> Q pattern every QDQ consumer fuses, which rounds
   * the branch to uint8 on its own: not the .edgeq's integers.
   */
  fused?: boolean;
  /**
   * Quantize only this op (its input, weights and output); every other op stays fp32. The
   * sensitivity report uses it to show where the error comes from.
   */
  only?: string;
  /**
   * Quantize only this tensor (a Q/DQ pair after it, with its parameters); every weight and every
   * other tensor stays fp32. The 'auto' activation-bits analysis (auto-bits.ts) uses it.
   */
  onlyTensor?: string;
}

export function exportQdq(g: FloatGraph, q: QuantizeResult, options: QdqExportOptions = {}): Uint8Array {
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const tensorOf = q.tensorParams;

  let wide = false; // any uint12 Q/DQ pair: opset 21
  /** A Q -> DQ pair with `t`'s parameters from float tensor `raw` to `out`, named after `name`. */
  const qdqPair = (raw: string, name: string, out: string, t: TensorParams) => {
    inits.push(makeTensor(`${name}/scale`, 'float32', [], [t.scale]));
    inits.push(makeTensor(`${name}/zero_point`, t.dtype === 'uint12' ? 'uint16' : 'uint8', [], [t.zeroPoint]));
    if (t.dtype === 'uint12') {
      wide = true;
      // The 12-bit grid's ends in real units (float32, as ORT computes them).
      inits.push(makeTensor(`${name}/min`, 'float32', [], [Math.fround(t.scale * (0 - t.zeroPoint))]));
      inits.push(makeTensor(`${name}/max`, 'float32', [], [Math.fround(t.scale * (quantMax('uint12') - t.zeroPoint))]));
      nodes.push(makeNode('Clip', [raw, `${name}/min`, `${name}/max`], [`${name}/clip`], {}, `${name}/Clip`));
      raw = `${name}/clip`;
    }
    nodes.push(makeNode('QuantizeLinear', [raw, `${name}/scale`, `${name}/zero_point`], [`${name}/q`], {}, `${name}/QuantizeLinear`));
    nodes.push(makeNode('DequantizeLinear', [`${name}/q`, `${name}/scale`, `${name}/zero_point`], [out], {}, `${name}/DequantizeLinear`));
  };
  /**
   * Rounds `units` (a float tensor in the output's units: real / scale, before the zero point) as the
   * kernels do: Clip to [outMin - zp, outMax - zp], QuantizeLinear with scale 1 (round half to even,
   * + zp), then DequantizeLinear with the tensor's own scale to `name`.
   */
  const requantized = (units: string, name: string, outMin: number, outMax: number) => {
    const t = tensorOf.get(name)!;
    if (t.dtype === 'uint12') wide = true;
    const zpType = t.dtype === 'uint12' ? 'uint16' : 'uint8';
    inits.push(makeTensor(`${name}/scale`, 'float32', [], [t.scale]), makeTensor(`${name}/zero_point`, zpType, [], [t.zeroPoint]));
    inits.push(makeTensor(`${name}/one`, 'float32', [], [1]));
    inits.push(makeTensor(`${name}/units_min`, 'float32', [], [outMin - t.zeroPoint]), makeTensor(`${name}/units_max`, 'float32', [], [outMax - t.zeroPoint]));
    nodes.push(makeNode('Clip', [units, `${name}/units_min`, `${name}/units_max`], [`${name}/units_clip`], {}, `${name}/Clip`));
    nodes.push(makeNode('QuantizeLinear', [`${name}/units_clip`, `${name}/one`, `${name}/zero_point`], [`${name}/q`], {}, `${name}/QuantizeLinear`));
    nodes.push(makeNode('DequantizeLinear', [`${name}/q`, `${name}/scale`, `${name}/zero_point`], [name], {}, `${name}/DequantizeLinear`));
  };
  const onlyOutput = options.only === undefined ? undefined : g.ops.find((o) => o.name === options.only)?.output;
  /** Whether tensor `name` gets its Q/DQ pair in this export. */
  const quantized = (name: string) => (options.onlyTensor !== undefined ? name === options.onlyTensor
    : options.only === undefined || onlyOutput === name);

  /** Adds Q -> DQ after a float tensor `raw`, naming the DQ output `name` (the ONNX tensor's own name). */
  const qdq = (raw: string, name: string) => {
    const t = tensorOf.get(name)!;
    if (t.dtype === 'float32' || !quantized(name)) {
      if (raw !== name) nodes.push(makeNode('Identity', [raw], [name], {}, `${name}/identity`));
      return;
    }
    qdqPair(raw, name, name, t);
  };

  /** In `only` mode, the quantized op reads its inputs through a Q/DQ pair of its own. */
  const input = (op: { name: string }, name: string): string => {
    if (options.only !== op.name) return name;
    const t = tensorOf.get(name)!;
    if (t.dtype === 'float32') return name;
    const n = `${op.name}/in/${name}`;
    qdqPair(name, n, n, t);
    return n;
  };
  const floatOnly = (op: { name: string }) => options.onlyTensor !== undefined || (options.only !== undefined && options.only !== op.name);

  const inputRaw = `${g.input.name}/float`;
  qdq(inputRaw, g.input.name);
  const ctx: QdqContext = { nodes, inits, result: q, options, tensorOf, qdq, input, floatOnly, requantized, written: new Set() };
  for (const op of g.ops) moduleOf(op).exportQdq(op, ctx);
  // The model's outputs keep their ONNX names and shapes ([N, C] after a flatten).
  const outputs = connectOutputs(g, nodes);
  const graph = makeGraph({
    name: 'edgeq-qdq',
    nodes,
    inputs: [makeValueInfo(inputRaw, 'float32', [...g.input.nchw])],
    outputs,
    initializers: inits,
  });
  // The graph input is named after the original input; the internal float tensor is renamed instead.
  rename(graph.nodes, g.input.name, `${g.input.name}/dq`);
  rename(graph.nodes, inputRaw, g.input.name);
  graph.inputs[0].name = g.input.name;
  return writeOnnx(makeModel(graph, { opset: wide ? QDQ_OPSET_WIDE : QDQ_OPSET, producerName: 'edgeq-quantize', docString: 'QDQ export of an edgeq model' }));
}

function rename(nodes: NodeDef[], from: string, to: string): void {
  for (const n of nodes) {
    n.inputs = n.inputs.map((t) => (t === from ? to : t));
    n.outputs = n.outputs.map((t) => (t === from ? to : t));
  }
}
