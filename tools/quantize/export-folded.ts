// Writes the prepared float graph (BatchNorm folded, activations fused) back to fp32 ONNX, so tests
// can prove that preparation preserves the model's outputs and a user can bisect numeric drift, and
// so calibration can run an equalized graph (cle.ts).
import type { FloatGraph } from './prepare.js';
import type { Activation } from 'edgeq/format';
import { activation, convNodes, floatWeights } from './export-qdq.js';
import type { NodeDef, TensorValue } from '../onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/model.js';
import { writeOnnx } from '../onnx/writer.js';

export function exportFolded(g: FloatGraph): Uint8Array {
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const act = (a: Activation, pre: string, out: string) => {
    nodes.push(makeNode('Identity', [activation(nodes, a, pre, out, true)], [out], {}, `${out}/Identity`));
  };
  for (const op of g.ops) {
    const pre = `${op.name}/pre`;
    switch (op.op) {
      case 'conv': {
        floatWeights(inits, op);
        act(op.activation, convNodes(nodes, inits, op, op.input, pre), op.output);
        break;
      }
      case 'add':
        nodes.push(makeNode('Add', [op.a, op.b], [pre], {}, op.name));
        act(op.activation, pre, op.output);
        break;
      case 'maxpool':
        nodes.push(makeNode('MaxPool', [op.input], [op.output], { kernel_shape: attr.ints(op.kernel), strides: attr.ints(op.stride), pads: attr.ints(op.pads) }, op.name));
        break;
      case 'gap':
        nodes.push(makeNode('GlobalAveragePool', [op.input], [op.output], {}, op.name));
        break;
    }
  }
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
