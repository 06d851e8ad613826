// Writes the prepared float graph (BatchNorm folded, activations fused) back to fp32 ONNX, so tests
// can prove that preparation preserves the model's outputs and a user can bisect numeric drift, and
// so calibration can run an equalized graph (cle.ts). Each op kind's nodes are written by its module in ops/.
import type { FloatGraph } from './prepare.js';
import { moduleOf } from './ops/registry.js';
import type { NodeDef, TensorValue, ValueInfo } from '../onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/model.js';
import { writeOnnx } from '../onnx/writer.js';

export function exportFolded(g: FloatGraph): Uint8Array {
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  for (const op of g.ops) moduleOf(op).exportFolded(op, { nodes, inits, pre: `${op.name}/pre` });
  // The outputs keep their ONNX names and shapes, as in the QDQ export, so the folded model can stand
  // in for the source (calibration of an equalized graph, reports).
  return writeOnnx(makeModel(makeGraph({
    name: 'edgeq-folded', nodes, initializers: inits,
    inputs: [makeValueInfo(g.input.name, 'float32', [...g.input.nchw])],
    outputs: connectOutputs(g, nodes),
  }), { opset: 13, producerName: 'edgeq-quantize' }));
}

/**
 * Gives each graph output its ONNX name and shape in an export's `nodes`: a Flatten for an [N, C]
 * output (after a flatten in the source; a tensor of that name is renamed `<name>/nchw` everywhere,
 * its readers included), an Identity where the int8 graph's tensor has another name. Returns the
 * graph's output value infos, in g.outputs order.
 */
export function connectOutputs(g: FloatGraph, nodes: NodeDef[]): ValueInfo[] {
  for (const o of g.outputs) {
    let last = o.tensor;
    const node = g.outputs.length === 1 ? 'output' : `output/${o.name}`;
    if (o.shape.length === 2) {
      if (last === o.name) {
        for (const n of nodes) {
          n.inputs = n.inputs.map((t) => (t === last ? `${last}/nchw` : t));
          n.outputs = n.outputs.map((t) => (t === last ? `${last}/nchw` : t));
        }
        last = `${last}/nchw`;
      }
      nodes.push(makeNode('Flatten', [last], [o.name], { axis: attr.int(1) }, `${node}/Flatten`));
    } else if (last !== o.name) {
      nodes.push(makeNode('Identity', [last], [o.name], {}, `${node}/Identity`));
    }
  }
  return g.outputs.map((o) => makeValueInfo(o.name, 'float32', o.shape));
}
