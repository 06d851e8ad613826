// Op-by-op comparison of a .edgeq model with its QDQ export in onnxruntime-web: for each op of the
// model, its output tensor as edgeq computes it (the model cut after that op, run by a Session) and
// as onnxruntime-web computes it (the export's QuantizeLinear output of that tensor, or the float
// tensor itself, read as an extra graph output). The first op whose tensors differ is where the two
// engines' arithmetic parts; bench/qdq-trace.ts prints it for the real MobileNetV2.
import { Session } from 'edgeq';
import { writeEdgeq, type QModel } from 'edgeq/format';
import { readOnnx } from '../onnx/reader.js';
import { ReferenceSession } from '../reference/ort-runner.js';

/** One op's output on every input: how many elements differ and by how much (stored integers, or real values for float32). */
export interface TraceRow {
  op: number;
  name: string;
  kind: string;
  dtype: string;
  elements: number;
  /** Per input: the number of elements that differ. */
  differing: number[];
  /** Per input: the largest |difference| (integer levels; real units for a float32 tensor). */
  maxDiff: number[];
}

/**
 * Traces `model` against its QDQ export `qdq` on `inputs` (NCHW float32, one image each). Ops whose
 * output the export does not name (none in a full export) are left out.
 */
export async function traceQdq(model: QModel, qdq: Uint8Array, inputs: Float32Array[]): Promise<TraceRow[]> {
  const onnx = readOnnx(qdq);
  const produced = new Set(onnx.graph.nodes.flatMap((n) => n.outputs));
  const exported = (t: QModel['tensors'][number]) => (t.dtype === 'float32' ? t.name : `${t.name}/q`);
  const traced = model.ops.map((op, k) => ({ op, k, t: model.tensors[op.output]! })).filter(({ t }) => produced.has(exported(t)));
  for (const { t } of traced) {
    onnx.graph.valueInfo.push({ name: exported(t), dataType: t.dtype === 'uint8' ? 'uint8' : t.dtype === 'uint12' ? 'uint16' : 'float32', dims: [] });
  }
  const ref = await ReferenceSession.create(onnx, { extraOutputs: traced.map(({ t }) => exported(t)) });
  const ort: Record<string, Float32Array>[] = [];
  for (const x of inputs) {
    const r = await ref.run({ [ref.inputNames[0]!]: x });
    ort.push(Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.data])));
  }
  await ref.release();

  const rows: TraceRow[] = [];
  for (const { op, k, t } of traced) {
    // The model cut after op k, its output that op's tensor (returned dequantized, NCHW).
    const s = await Session.create(writeEdgeq({ ...model, ops: model.ops.slice(0, k + 1), outputs: [{ name: t.name, tensor: op.output }] }), { threads: 1 });
    const row: TraceRow = { op: k, name: op.name, kind: op.op, dtype: t.dtype, elements: 0, differing: [], maxDiff: [] };
    for (let i = 0; i < inputs.length; i++) {
      const e = await s.run(inputs[i]!), o = ort[i]![exported(t)]!;
      let n = 0, max = 0;
      for (let j = 0; j < e.length; j++) {
        const d = Math.abs((t.dtype === 'float32' ? e[j]! : Math.round(e[j]! / t.scale) + t.zeroPoint) - o[j]!);
        if (d > 0) n++;
        max = Math.max(max, d);
      }
      row.elements = e.length;
      row.differing.push(n);
      row.maxDiff.push(max);
    }
    s.release();
    rows.push(row);
  }
  return rows;
}
