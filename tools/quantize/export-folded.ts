// Writes the prepared float graph (BatchNorm folded, activations fused) back to fp32 ONNX, so tests
// can prove that preparation preserves the model's outputs and a user can bisect numeric drift.
import type { FloatGraph } from './prepare.js';
import type { NodeDef, TensorValue } from '../../src/onnx/model.js';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../src/onnx/model.js';
import { makeTensor } from '../../src/onnx/tensor.js';
import { writeOnnx } from '../../src/onnx/writer.js';

export function exportFolded(g: FloatGraph): Uint8Array {
  const nodes: NodeDef[] = [];
  const inits: TensorValue[] = [];
  const act = (a: { kind: string; alpha?: number }, pre: string, out: string) => {
    if (a.kind === 'relu') nodes.push(makeNode('Relu', [pre], [out], {}, `${out}/Relu`));
    else if (a.kind === 'leakyrelu') nodes.push(makeNode('LeakyRelu', [pre], [out], { alpha: attr.float(a.alpha!) }, `${out}/LeakyRelu`));
    else nodes.push(makeNode('Identity', [pre], [out], {}, `${out}/Identity`));
  };
  for (const op of g.ops) {
    const pre = `${op.name}/pre`;
    switch (op.op) {
      case 'conv': {
        const I = op.inChannels / op.group;
        inits.push(makeTensor(`${op.name}/W`, 'float32', op.fullyConnected ? [op.outChannels, I] : [op.outChannels, I, ...op.kernel], op.weights));
        inits.push(makeTensor(`${op.name}/B`, 'float32', [op.outChannels], op.bias));
        if (op.fullyConnected) {
          nodes.push(makeNode('Flatten', [op.input], [`${op.name}/flat`], { axis: attr.int(1) }, `${op.name}/Flatten`));
          nodes.push(makeNode('Gemm', [`${op.name}/flat`, `${op.name}/W`, `${op.name}/B`], [`${op.name}/gemm`], { transB: attr.int(1) }, op.name));
          inits.push(makeTensor(`${op.name}/shape4`, 'int64', [4], [0, -1, 1, 1]));
          nodes.push(makeNode('Reshape', [`${op.name}/gemm`, `${op.name}/shape4`], [pre], {}, `${op.name}/Reshape`));
        } else {
          nodes.push(makeNode('Conv', [op.input, `${op.name}/W`, `${op.name}/B`], [pre], {
            kernel_shape: attr.ints(op.kernel), strides: attr.ints(op.stride), pads: attr.ints(op.pads),
            dilations: attr.ints(op.dilation), group: attr.int(op.group),
          }, op.name));
        }
        act(op.activation, pre, op.output);
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
  let out = g.output;
  if (g.outputShape.length === 2) {
    nodes.push(makeNode('Flatten', [out], [`${g.outputName}/folded`], { axis: attr.int(1) }, 'output/Flatten'));
    out = `${g.outputName}/folded`;
  }
  return writeOnnx(makeModel(makeGraph({
    name: 'edgeq-folded', nodes, initializers: inits,
    inputs: [makeValueInfo(g.input.name, 'float32', [...g.input.nchw])],
    outputs: [makeValueInfo(out, 'float32', g.outputShape)],
  }), { opset: 13, producerName: 'edgeq-quantize' }));
}
