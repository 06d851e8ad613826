// What the command line checks user inputs against before long work: an fp32 ONNX model's graph
// input (NCHW; numbers where the file gives them) and the number of class scores a model outputs.
import { EdgeqError, type QModel } from 'edgeq';
import type { GraphDef } from '../onnx/model.js';

export interface InputShape {
  name: string;
  channels?: number;
  height?: number;
  width?: number;
}

const known = (d: number | string | undefined): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

/** The first graph input, read as [N, C, H, W]. */
export function onnxInputShape(graph: GraphDef): InputShape {
  const input = graph.inputs[0];
  if (!input) throw new EdgeqError('BAD_ONNX', 'the model has no graph input');
  return { name: input.name, channels: known(input.dims[1]), height: known(input.dims[2]), width: known(input.dims[3]) };
}

/** Values per image of the first graph output (all dims after the batch), or undefined when not all are numbers. */
export function onnxOutputCount(graph: GraphDef): number | undefined {
  const dims = graph.outputs[0]?.dims.slice(1);
  if (!dims || dims.length === 0 || dims.some((d) => known(d) === undefined)) return undefined;
  return (dims as number[]).reduce((a, b) => a * b, 1);
}

/** Values per image of an .edgeq model's first output (the one its labels name). */
export function qmodelOutputCount(model: QModel): number {
  return model.tensors[model.outputs[0]!.tensor].shape.slice(1).reduce((a, b) => a * b, 1);
}

/** Class names must name every output (BAD_OPTION naming where they came from, `source`). */
export function checkLabelCount(labels: readonly string[], outputs: number, source: string): void {
  if (labels.length !== outputs) {
    throw new EdgeqError('BAD_OPTION', `${source} has ${labels.length} class name${labels.length === 1 ? '' : 's'} but the model outputs ${outputs} scores: give one name per output`);
  }
}
