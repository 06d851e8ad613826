// Patched copies of a .tflite file, for running a TFLite runtime on what edgeq computes:
// - cutTflite: the graph output moved to another tensor of the same graph (the logits a final
//   SOFTMAX reads, or any intermediate activation), so that the runtime returns that tensor's
//   integers. The subgraph's one-entry `outputs` vector gets the new tensor index and no other byte
//   changes; every operator still runs. With `truncate`, the operators vector's length is also cut
//   to the operators up to the one that writes the tensor (a prefix graph, which importers that
//   refuse dead operators take too). The result is read back and checked (the graph output is the
//   asked tensor, the kept operators' inputs and outputs unchanged).
//
//   import { cutTflite, softmaxInput } from 'edgeq-tools/tflite/cut';
//   const logits = cutTflite(bytes, softmaxInput(readTflite(bytes)));
import { ByteBuffer } from 'flatbuffers';
import { EdgeqError } from 'edgeq';
import { BUILTIN, readTflite, type TfliteModel } from './reader.js';

/** Model.subgraphs, SubGraph.outputs and SubGraph.operators: field slots 2, 2 and 3 (schema.fbs), vtable entry 4 + 2 * slot. */
const MODEL_SUBGRAPHS = 8, SUBGRAPH_OUTPUTS = 8, SUBGRAPH_OPERATORS = 10;

/**
 * The tensor the graph's final SOFTMAX reads (the logits): the softmax must produce the graph's one
 * output. EdgeqError UNSUPPORTED_OP otherwise.
 */
export function softmaxInput(model: TfliteModel): number {
  const g = model.subgraphs[0];
  if (model.subgraphs.length !== 1 || !g || g.outputs.length !== 1) {
    throw new EdgeqError('UNSUPPORTED_OP', `softmaxInput takes one subgraph with one output (${model.subgraphs.length} subgraphs, ${g?.outputs.length ?? 0} outputs)`);
  }
  const op = g.operators.find((o) => o.outputs.includes(g.outputs[0]!));
  if (!op || op.builtin !== BUILTIN.SOFTMAX) {
    throw new EdgeqError('UNSUPPORTED_OP', `the graph output tensor ${g.outputs[0]} "${g.tensors[g.outputs[0]!]?.name}" is made by ${op ? `operator ${op.index} (${op.opName})` : 'no operator'}, not a SOFTMAX`);
  }
  return op.inputs[0]!;
}

/** The index of the tensor named `name` in subgraph 0; EdgeqError BAD_OPTION naming it when absent. */
export function tensorIndex(model: TfliteModel, name: string): number {
  const t = model.subgraphs[0]?.tensors.find((x) => x.name === name);
  if (!t) throw new EdgeqError('BAD_OPTION', `no tensor named "${name}" in subgraph 0`);
  return t.index;
}

/**
 * The bytes of `bytes` with subgraph 0's output replaced by tensor `tensor` (an activation an
 * operator computes); with `truncate`, only the operators up to the one that writes it (TFLite
 * stores operators in execution order, so they compute it). Errors are EdgeqError: BAD_MODEL (the file does not read), BAD_OPTION (no such
 * tensor, or a constant / a tensor no operator writes), UNSUPPORTED_OP (more than one subgraph or
 * graph output, or an outputs vector the writer shared with an operator's, which the patch would change too).
 */
export function cutTflite(bytes: Uint8Array, tensor: number, options: { truncate?: boolean } = {}): Uint8Array {
  const model = readTflite(bytes);
  const g = model.subgraphs[0]!;
  if (model.subgraphs.length !== 1 || g.outputs.length !== 1) {
    throw new EdgeqError('UNSUPPORTED_OP', `cutTflite rewrites one subgraph's one-entry outputs vector in place; this file has ${model.subgraphs.length} subgraphs, ${g.outputs.length} outputs`);
  }
  const t = g.tensors[tensor];
  if (!Number.isInteger(tensor) || !t) throw new EdgeqError('BAD_OPTION', `tensor ${tensor} is not in 0..${g.tensors.length - 1}`);
  if (t.data) throw new EdgeqError('BAD_OPTION', `tensor ${tensor} "${t.name}" is a constant, not an activation`);
  const writer = g.operators.findIndex((o) => o.outputs.includes(tensor));
  if (writer < 0) throw new EdgeqError('BAD_OPTION', `tensor ${tensor} "${t.name}" is written by no operator`);
  const kept = options.truncate ? writer + 1 : g.operators.length;

  const out = bytes.slice();
  const bb = new ByteBuffer(out);
  const root = bb.readUint32(0);
  const subgraph = bb.__indirect(bb.__vector(root + bb.__offset(root, MODEL_SUBGRAPHS)));
  bb.writeInt32(bb.__vector(subgraph + bb.__offset(subgraph, SUBGRAPH_OUTPUTS)), tensor);
  // A vector's uint32 length sits just before its first element.
  if (options.truncate) bb.writeInt32(bb.__vector(subgraph + bb.__offset(subgraph, SUBGRAPH_OPERATORS)) - 4, kept);

  const cut = readTflite(out).subgraphs[0]!;
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  const changed = cut.operators.find((o, i) => !same(o.inputs, g.operators[i]!.inputs) || !same(o.outputs, g.operators[i]!.outputs));
  if (cut.outputs[0] !== tensor || cut.operators.length !== kept || changed || !same(cut.inputs, g.inputs)) {
    throw new EdgeqError('UNSUPPORTED_OP', `the subgraph's outputs vector is shared with ${changed ? `operator ${changed.index}'s` : 'another vector'}; it cannot be patched in place`);
  }
  return out;
}
