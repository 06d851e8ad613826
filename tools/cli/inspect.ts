// `edgeq inspect`: what is inside an .edgeq, .onnx or .tflite file. For ONNX, also whether the quantizer
// would take it (tools/quantize/check.ts): the nodes it cannot map, each with the reason; with
// `check`, a model it would reject is an UNSUPPORTED_OP error (exit status 1). A graph with a cycle
// is BAD_ONNX whatever the options. For TFLite: its graph, its metadata's labels, and whether
// `edgeq import` takes it (with `check`, an error when it does not).
import { EdgeqError } from 'edgeq';
import { readEdgeq } from 'edgeq/format';
import { readOnnx } from '../onnx/reader.js';
import { checkQuantizable } from '../quantize/check.js';
import { checkImportable } from '../import/index.js';
import { describeQOp } from '../quantize/ops/registry.js';
import { readInput } from './index.js';
import { isTflite, readTflite, tfliteMetadataLabels, importTfliteForRun } from '../tflite/index.js';
import { TENSOR_TYPES } from '../tflite/reader.js';

export async function inspectCommand(path: string, o: { json?: boolean; check?: boolean }): Promise<void> {
  const bytes = readInput(path, 'model');
  if (path.endsWith('.onnx')) {
    const m = readOnnx(bytes, { fileName: path });
    const ops = new Map<string, number>();
    for (const n of m.graph.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
    let params = 0;
    for (const t of m.graph.initializers.values()) params += t.data.length;
    const quantizer = checkQuantizable(m);
    // An int8 file (QOperator or QDQ): whether `edgeq import` takes it with its own integers, and why not.
    const importer = checkImportable(m);
    const summary = {
      file: path, bytes: bytes.length, irVersion: m.irVersion, opsets: m.opsetImports, producer: m.producerName,
      inputs: m.graph.inputs, outputs: m.graph.outputs, nodes: m.graph.nodes.length, ops: Object.fromEntries(ops), parameters: params,
      quantizer, importer,
    };
    console.log(o.json ? JSON.stringify(summary, null, 2) : [
      `${path}: ONNX IR ${m.irVersion}, opset ${m.opsetImports.map((x) => `${x.domain || 'ai.onnx'} ${x.version}`).join(', ')}, producer "${m.producerName}"`,
      `inputs: ${m.graph.inputs.map((i) => `${i.name} ${i.dataType} [${i.dims}]`).join(', ')}`,
      `outputs: ${m.graph.outputs.map((i) => `${i.name} ${i.dataType} [${i.dims}]`).join(', ')}`,
      `${m.graph.nodes.length} nodes: ${[...ops].map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `${params.toLocaleString('en')} parameters in ${m.graph.initializers.size} initializers`,
      quantizer.ok ? `quantizer: maps every node (${quantizer.ops} int8 ops)`
        : `quantizer: cannot quantize this model (docs/ops.md lists what it maps):\n${quantizer.problems.map((p) => `  ${p.node !== undefined ? `node "${p.node}" (${p.opType})` : 'graph'}: ${p.why} [${p.code}]`).join('\n')}`,
      ...(!importer.quantized ? [] : importer.ok ? [`import: an int8 ${importer.form === 'qoperator' ? 'QOperator' : 'QDQ'} model; \`edgeq import\` takes it with its own integers (${importer.ops} int8 ops)`]
        : [`import: an int8 model that \`edgeq import\` cannot take exactly (docs/import.md): ${importer.why} [${importer.code}]`]),
    ].join('\n'));
    if (o.check && !quantizer.ok) {
      const first = quantizer.problems[0];
      throw new EdgeqError('UNSUPPORTED_OP', `${path}: the quantizer would reject ${quantizer.problems.length === 1 ? 'this model' : `${quantizer.problems.length} nodes`}, first ${first.node !== undefined ? `node "${first.node}" (${first.opType})` : 'the graph'}: ${first.why}`);
    }
    return;
  }
  if (isTflite(bytes)) return inspectTflite(path, bytes, o);
  const m = readEdgeq(bytes, { fileName: path });
  const packed = m.blobs.reduce((a, b) => a + b.length, 0);
  if (o.json) {
    const { blobs: _b, ...header } = m;
    console.log(JSON.stringify({ file: path, bytes: bytes.length, sections: m.blobs.length, packedBytes: packed, ...header }, null, 2));
    return;
  }
  const t = (i: number) => {
    const x = m.tensors[i];
    return `${x.name} [${x.shape}] ${x.dtype === 'float32' ? 'f32' : `${x.dtype === 'uint12' ? 'u12' : 'u8'} s=${x.scale.toExponential(3)} z=${x.zeroPoint}`}`;
  };
  console.log(`${path}: edgeq v1, ${bytes.length.toLocaleString('en')} bytes, producer "${m.producer}"${m.sourceHash ? `, source sha256 ${m.sourceHash.slice(0, 16)}…` : ''}`);
  const outputs = m.outputs.map((o) => `"${o.name}" (${t(o.tensor)})`).join(', ');
  console.log(`input "${m.input.name}" NCHW [${m.input.nchw}], output${m.outputs.length > 1 ? `s ${outputs}` : ` ${outputs}`}; ${m.ops.length} ops, ${m.tensors.length} tensors, ${m.blobs.length} weight sections (${(packed / 1e6).toFixed(2)} MB packed)`);
  if (m.preprocess) console.log(`preprocess: ${JSON.stringify(m.preprocess)}`);
  if (m.labels) console.log(`labels: ${m.labels.length} (${m.labels.slice(0, 3).join(', ')}, …)`);
  if (m.meta) console.log(`meta: ${JSON.stringify(m.meta)}`);
  const wide = m.tensors.filter((x) => x.dtype === 'uint12').length;
  if (wide > 0) console.log(`activations: ${wide} of ${m.tensors.length} tensors uint12 (12 bits in 16-bit lanes), the rest uint8/f32`);
  for (const op of m.ops) console.log(`  ${describeQOp(op, t)}`);
}

/** `edgeq inspect model.tflite`: the first subgraph's inputs, outputs and ops, the metadata's labels, and the import's verdict. */
function inspectTflite(path: string, bytes: Uint8Array, o: { json?: boolean; check?: boolean }): void {
  const m = readTflite(bytes, { fileName: path });
  const g = m.subgraphs[0]!;
  const ops = new Map<string, number>();
  for (const op of g.operators) ops.set(op.opName, (ops.get(op.opName) ?? 0) + 1);
  const tensor = (k: number) => {
    const t = g.tensors[k]!, q = t.quantization;
    return { name: t.name, type: TENSOR_TYPES[t.type]?.name ?? `type ${t.type}`, shape: t.shape, ...(q && q.scale.length === 1 ? { scale: q.scale[0], zeroPoint: q.zeroPoint[0] } : {}) };
  };
  const labels = tfliteMetadataLabels(m, bytes, `${path}: `);
  let importer: { ok: true; ops: number; labels?: number } | { ok: false; why: string; code: string };
  try {
    const r = importTfliteForRun(bytes, path);
    importer = { ok: true, ops: r.model.ops.length, ...(r.model.labels ? { labels: r.model.labels.length } : {}) };
  } catch (err) {
    if (!(err instanceof EdgeqError)) throw err;
    importer = { ok: false, why: err.message, code: err.code };
  }
  const summary = {
    file: path, bytes: bytes.length, version: m.version, subgraphs: m.subgraphs.length, description: m.description,
    inputs: g.inputs.map(tensor), outputs: g.outputs.map(tensor), operators: g.operators.length, ops: Object.fromEntries(ops),
    metadata: m.metadata.map((e) => e.name), labels: { file: labels.file, count: labels.labels?.length, note: labels.note }, importer,
  };
  const fmt = (t: ReturnType<typeof tensor>) => `${t.name} ${t.type} [${t.shape}]${t.scale !== undefined ? ` s=${t.scale.toExponential(3)} z=${t.zeroPoint}` : ''}`;
  console.log(o.json ? JSON.stringify(summary, null, 2) : [
    `${path}: TFLite schema ${m.version}, ${m.subgraphs.length} subgraph${m.subgraphs.length > 1 ? 's' : ''}${m.description ? `, "${m.description}"` : ''}`,
    `inputs: ${summary.inputs.map(fmt).join(', ')}`,
    `outputs: ${summary.outputs.map(fmt).join(', ')}`,
    `${g.operators.length} operators: ${[...ops].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    labels.labels ? `labels: ${labels.labels.length} in "${labels.file}" (${labels.labels.slice(0, 3).map((l) => JSON.stringify(l)).join(', ')}, …)` : `labels: ${labels.note ?? 'none in the metadata'}`,
    importer.ok ? `import: \`edgeq import\` takes it with its own integers (${importer.ops} .edgeq ops)`
      : `import: \`edgeq import\` cannot take it (docs/tflite.md): ${importer.why} [${importer.code}]`,
  ].join('\n'));
  if (o.check && !importer.ok) throw new EdgeqError(importer.code as ConstructorParameters<typeof EdgeqError>[0], importer.why);
}
