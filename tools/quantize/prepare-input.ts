// NHWC graph inputs (tf2onnx exports): an image input [N, H, W, C] whose only reader is
// Transpose(perm [0, 3, 1, 2]) is folded away: the model is rewritten to take that Transpose's output
// (NCHW [N, C, H, W], under the Transpose's output name) as its input. Calibration, the .edgeq
// (input.nchw = [1, C, H, W]) and the QDQ export all see the NCHW model; the runtime is fed NCHW like
// every other model (Session.run's Float32Array, preprocess()), so NHWC data must be transposed by
// the caller. Any other input stays as it is (prepareGraph reads it as NCHW).
import { getInts } from '../onnx/ops.js';
import { readOnnx } from '../onnx/reader.js';
import { writeOnnx } from '../onnx/writer.js';
import type { ModelDef } from '../onnx/model.js';

/** The model with an NHWC input's Transpose folded into an NCHW input, or undefined when there is none. */
export function foldInputTranspose(model: ModelDef): ModelDef | undefined {
  const g = model.graph;
  const inputs = g.inputs.filter((i) => !g.initializers.has(i.name));
  if (inputs.length !== 1 || inputs[0].dims.length !== 4) return undefined;
  const input = inputs[0];
  const readers = g.nodes.filter((n) => n.inputs.includes(input.name));
  const t = readers[0];
  if (readers.length !== 1 || t.opType !== 'Transpose' || (t.domain && t.domain !== 'ai.onnx') || t.inputs[0] !== input.name) return undefined;
  if (getInts(t, 'perm', []).join() !== '0,3,1,2' || g.outputs.some((o) => o.name === input.name || o.name === t.outputs[0])) return undefined;
  const [n, h, w, c] = input.dims;
  const nchw = { ...input, name: t.outputs[0], dims: [n, c, h, w] };
  return { ...model, graph: { ...g, nodes: g.nodes.filter((x) => x !== t), inputs: g.inputs.map((i) => (i === input ? nchw : i)) } };
}

/** The ONNX bytes with foldInputTranspose applied (the same array when there is nothing to fold). */
export function withNchwInput(onnxBytes: Uint8Array): Uint8Array {
  const folded = foldInputTranspose(readOnnx(onnxBytes));
  return folded ? writeOnnx(folded) : onnxBytes;
}
