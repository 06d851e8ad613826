// Writes the prepared float graph (BatchNorm folded, activations fused) back to fp32 ONNX, so tests
// can prove that preparation preserves the model's outputs and a user can bisect numeric drift, and
// so calibration can run an equalized graph (cle.ts). Each op kind's nodes are written by its module in ops/.
import type { FloatGraph } from './prepare.js';
import { moduleOf } from './ops/registry.js';
import type { NodeDef, TensorValue } from '../onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/model.js';
import { writeOnnx } from '../onnx/writer.js';

export function exportFolded(g: FloatGraph): Uint8Array {
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  for (const op of g.ops) moduleOf(op).exportFolded(op, { nodes, inits, pre: `${op.name}/pre` });
  // The output keeps its ONNX name and shape ([N, C] after a flatten), as in the QDQ export, so the
  // folded model can stand in for the source (calibration of an equalized graph, reports).
  let last = g.output;
  if (g.outputShape.length === 2) {
    if (last === g.outputName) {
      for (const n of nodes) {
        n.inputs = n.inputs.map((t) => (t === last ? `${last}/nchw` : t));
        n.outputs = n.outputs.map((t) => (t === last ? `${last}/nchw` : t));
      }
      last = `${last}/nchw`;
    }
    nodes.push(makeNode('Flatten', [last], [g.outputName], { axis: attr.int(1) }, 'output/Flatten'));
  } else if (last !== g.outputName) {
    nodes.push(makeNode('Identity', [last], [g.outputName], {}, 'output/Identity'));
  }
  const out = g.outputName;
  return writeOnnx(makeModel(makeGraph({
    name: 'edgeq-folded', nodes, initializers: inits,
    inputs: [makeValueInfo(g.input.name, 'float32', [...g.input.nchw])],
    outputs: [makeValueInfo(out, 'float32', g.outputShape)],
  }), { opset: 13, producerName: 'edgeq-quantize' }));
}
