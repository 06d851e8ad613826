// An imported model's quantized tensors against onnxruntime-web running the source ONNX file, tensor
// by tensor: onnxruntime returns each named tensor as an extra graph output (its own uint8 / int8
// integers), edgeq runs one copy of the imported model per tensor ending at it (the runtime
// dequantizes it; requantized exactly here with the tensor's scale and zero point).
import { Session } from '../../src/runtime/session.js';
import { writeEdgeq } from '../../src/format/writer.js';
import type { QModel } from '../../src/format/qmodel.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';

/** Per tensor: the largest |edgeq - onnxruntime| in LSBs, how many elements differ, of how many. */
export interface TensorDiff { worst: number; differing: number; total: number }

/**
 * Runs `inputs` through both engines and compares the quantized tensors `names` (ONNX names, which
 * the importer gives the edgeq tensors) in LSBs. `signed`: the file's activations are int8 (edgeq
 * stores them + 128).
 */
export async function compareQuantizedTensors(onnx: Uint8Array, model: QModel, names: readonly string[], inputs: readonly Float32Array[], signed: boolean): Promise<Map<string, TensorDiff>> {
  const md = readOnnx(onnx);
  for (const n of names) md.graph.outputs.push({ name: n, dataType: signed ? 'int8' : 'uint8', dims: [], unknownRank: true });
  const ref = await ReferenceSession.create(md);
  const tensors = names.map((n) => {
    const i = model.tensors.findIndex((t) => t.name === n);
    if (i < 0) throw new Error(`the imported model has no tensor "${n}" (has ${model.tensors.map((t) => t.name).join(', ')})`);
    return i;
  });
  const sessions = await Promise.all(tensors.map((i) => Session.create(writeEdgeq({ ...model, outputs: [{ name: 'o', tensor: i }] }))));
  const diffs = new Map<string, TensorDiff>(names.map((n) => [n, { worst: 0, differing: 0, total: 0 }]));
  try {
    for (const x of inputs) {
      const r = (await ref.run({ input: x })).outputs;
      for (let j = 0; j < names.length; j++) {
        const t = model.tensors[tensors[j]!]!, d = r[names[j]!]!.data, y = await sessions[j]!.run(x), diff = diffs.get(names[j]!)!;
        if (y.length !== d.length) throw new Error(`tensor "${names[j]}": edgeq has ${y.length} elements, onnxruntime ${d.length}`);
        for (let i = 0; i < y.length; i++) {
          const e = Math.abs(Math.round(y[i]! / t.scale) + t.zeroPoint - (d[i]! + (signed ? 128 : 0)));
          diff.worst = Math.max(diff.worst, e);
          if (e !== 0) diff.differing++;
          diff.total++;
        }
      }
    }
  } finally {
    await ref.release();
    for (const s of sessions) s.release();
  }
  return diffs;
}
