// Conformance against the ONNX backend test data (Debian's libonnx-testdata): for every case
// built only from ops edgeq supports, the inferred output dims must equal those of the
// reference outputs. Cases are found by listing the folders, not by a hand-written list.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { inferShapes, isKnownOp, readOnnx, readTensorProto, type ModelDef, type TensorValue } from '../../tools/onnx/index.js';
import { HAS_ONNX_TESTDATA, ONNX_TESTDATA, warnSkip } from '../helpers.js';

warnSkip(HAS_ONNX_TESTDATA, `${ONNX_TESTDATA} is absent (apt install libonnx-testdata); ONNX conformance tests skipped`);

const FOLDERS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

/** Case names of the ops in scope; each must be compared or listed in EXCLUDED with a reason. */
const IN_SCOPE = [
  /^node\/test_conv_/, /^node\/test_batchnorm_/, /^node\/test_relu$/, /^node\/test_leakyrelu/, /^node\/test_clip/,
  /^node\/test_maxpool_/, /^node\/test_averagepool_/, /^node\/test_globalaveragepool/, /^node\/test_add/,
  /^node\/test_flatten_/, /^node\/test_reshape_/, /^node\/test_gemm_/, /^node\/test_matmul_/, /^node\/test_softmax_/,
  /^node\/test_identity/, /^node\/test_dropout_/, /^node\/test_constant$/, /^node\/test_shape/,
  /^node\/test_(de)?quantizelinear/, /^pytorch-converted\/test_Conv2d/,
];

/** In-scope cases that are not compared, and why. */
const EXCLUDED: Record<string, string> = {
  'node/test_identity_opt': 'an optional-typed value (Optional op semantics), not a tensor',
  'node/test_identity_sequence': 'a sequence-typed value, not a tensor',
  ...Object.fromEntries(
    ['axis_0', 'axis_1', 'axis_2', 'default_axis', 'example', 'large_number', 'negative_axis'].map((s) => [
      `node/test_softmax_${s}_expanded`,
      'function-expanded Softmax body (ReduceMax, Sub, Exp, ReduceSum, Div) uses ops outside the supported list',
    ]),
  ),
};

interface Case { id: string; dir: string }

function listCases(): Case[] {
  if (!HAS_ONNX_TESTDATA) return [];
  return FOLDERS.filter((f) => existsSync(join(ONNX_TESTDATA, f))).flatMap((folder) =>
    readdirSync(join(ONNX_TESTDATA, folder))
      .filter((name) => existsSync(join(ONNX_TESTDATA, folder, name, 'model.onnx')))
      .sort()
      .map((name) => ({ id: `${folder}/${name}`, dir: join(ONNX_TESTDATA, folder, name) })));
}

const inScope = (id: string): boolean => IN_SCOPE.some((re) => re.test(id));

/** Reads a case's model; undefined (with a reason) when it is outside what edgeq handles. */
function classify(c: Case): { model?: ModelDef; reason?: string } {
  let model: ModelDef;
  try {
    model = readOnnx(readFileSync(join(c.dir, 'model.onnx')), { fileName: c.id });
  } catch (error) {
    if (error instanceof EdgeqError) return { reason: `read: ${error.code}` };
    throw error;
  }
  const unsupported = [...new Set(model.graph.nodes.filter((n) => !isKnownOp(n)).map((n) => n.opType))];
  if (unsupported.length > 0) return { reason: `ops ${unsupported.join(', ')}` };
  return { model };
}

function readDataSets(dir: string): { inputs: TensorValue[]; outputs: TensorValue[] }[] {
  const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  return sets.map((set) => {
    const files = readdirSync(join(dir, set));
    const read = (prefix: string): TensorValue[] => files
      .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
      .sort((a, b) => parseInt(a.slice(prefix.length), 10) - parseInt(b.slice(prefix.length), 10))
      .map((f) => readTensorProto(readFileSync(join(dir, set, f)), { fileName: f }));
    return { inputs: read('input_'), outputs: read('output_') };
  });
}

/**
 * Feeds the test inputs: their dims become inputShapes, and an input used as a Reshape target or Pad pads
 * (a runtime value in these tests) becomes an initializer, as a converter would fold it.
 */
function bindInputs(model: ModelDef, inputs: TensorValue[]): { model: ModelDef; inputShapes: Record<string, number[]> } {
  const shapeSlots = new Set(model.graph.nodes.filter((n) => n.opType === 'Reshape' || n.opType === 'Pad').map((n) => n.inputs[1]));
  const initializers = new Map(model.graph.initializers);
  const inputShapes: Record<string, number[]> = {};
  const graphInputs = model.graph.inputs;
  inputs.forEach((tensor, i) => {
    const target = graphInputs.find((g) => g.name === tensor.name) ?? graphInputs[i];
    if (!target) throw new Error(`test input ${i} (${tensor.name}) matches no graph input`);
    if (shapeSlots.has(target.name)) initializers.set(target.name, { ...tensor, name: target.name });
    else inputShapes[target.name] = tensor.dims;
  });
  const graph = { ...model.graph, initializers, inputs: graphInputs.filter((g) => !initializers.has(g.name)) };
  return { model: { ...model, graph }, inputShapes };
}

const cases = listCases();
const classified = cases.map((c) => ({ ...c, ...classify(c) }));
const compared = classified.filter((c) => c.model);
const excludedInScope = classified.filter((c) => !c.model && inScope(c.id));
let outputsCompared = 0;

describe.skipIf(!HAS_ONNX_TESTDATA)('ONNX backend test data: shape inference', () => {
  afterAll(() => {
    console.log(`[onnx conformance] ${cases.length} cases listed, ${compared.length} compared `
      + `(${compared.filter((c) => inScope(c.id)).length} from the in-scope op globs), ${outputsCompared} outputs matched, `
      + `${excludedInScope.length} in-scope cases excluded, ${classified.length - compared.length - excludedInScope.length} other cases use ops outside scope`);
  });

  it('finds the in-scope cases and excludes only the documented ones', () => {
    expect(compared.filter((c) => inScope(c.id)).length).toBeGreaterThan(100);
    const undocumented = excludedInScope.filter((c) => !(c.id in EXCLUDED)).map((c) => `${c.id} (${c.reason})`);
    expect(undocumented).toEqual([]);
    // Every documented exclusion still exists and still needs excluding.
    expect(excludedInScope.map((c) => c.id).sort()).toEqual(Object.keys(EXCLUDED).sort());
  });

  it.each(compared.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const dataSets = readDataSets(c.dir);
    expect(dataSets.length).toBeGreaterThan(0);
    for (const set of dataSets) {
      const bound = bindInputs(c.model!, set.inputs);
      const shapes = inferShapes(bound.model, bound.inputShapes);
      expect(set.outputs.length).toBeLessThanOrEqual(c.model!.graph.outputs.length);
      set.outputs.forEach((expected, i) => {
        const name = c.model!.graph.outputs[i]!.name;
        expect(shapes.get(name), `output ${name}`).toEqual(expected.dims);
        outputsCompared++;
      });
    }
  });
});
