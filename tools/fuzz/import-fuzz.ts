// Fuzzing the importer of quantized ONNX files (tools/import): seeds are int8 models (the QDQ
// export of the synthetic models, and the model zoo's MobileNetV2 int8 when ../shared has it);
// mutants are the ONNX byte mutations every reader gets (mutateOnnx: truncations, bit flips, field
// edits) and mutations of the quantization parameters themselves (zero points of the wrong type,
// scales 0 / NaN / Infinity / denormal / negative, per-channel counts that do not match, missing
// initializers, weights outside what their zero point allows). Every mutant must be imported (and
// then run, through checkEdgeq) or rejected with an EdgeqError; anything else is a failure.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeqError } from 'edgeq';
import { importOnnx } from '../import/index.js';
import type { ModelDef, TensorValue } from '../onnx/model.js';
import { readOnnx } from '../onnx/reader.js';
import { makeTensor } from '../onnx/tensor.js';
import { writeOnnx } from '../onnx/writer.js';
import { quantizeModel } from '../quantize/pipeline.js';
import { mixSeed, Rng } from '../synth/random.js';
import { checkEdgeq, type Outcome } from './harness.js';
import { mutateOnnx, type Mutant } from './mutate.js';
import { synthInput, synthOnnx } from './seeds.js';
import { SHARED_DIR } from './targets.js';

export const ZOO_INT8_ONNX = join(SHARED_DIR, 'models', 'mobilenetv2-zoo-int8', 'model.onnx');

export interface ImportSeed { name: string; bytes: Uint8Array }

/** The QDQ exports of `count` synthetic models (quantized on 2 synthetic inputs), and the zoo file when present. */
export async function importSeeds(count = 2): Promise<ImportSeed[]> {
  const seeds: ImportSeed[] = [];
  for (let n = 0; n < count; n++) {
    const model = synthOnnx(n);
    const dims = model.graph.inputs[0]!.dims.map((d) => (typeof d === 'number' ? d : 1));
    const calibration = [synthInput(1, dims), synthInput(2, dims)];
    // Residual adds unfused: a fused one is exported in the exact form, which the importer does not read.
    seeds.push({ name: `synth-${n}.qdq.onnx`, bytes: (await quantizeModel(writeOnnx(model), { calibration, calibrationCount: 2, fuseResidual: false })).qdq });
  }
  if (existsSync(ZOO_INT8_ONNX)) seeds.push({ name: 'mobilenetv2-zoo-int8.onnx', bytes: new Uint8Array(readFileSync(ZOO_INT8_ONNX)) });
  return seeds;
}

const BAD_SCALES = [0, Number.NaN, Number.POSITIVE_INFINITY, -0.5, 1e-40, 2 ** -149];

/** A mutation of one quantization parameter, weight or initializer of a quantized model. */
export function mutateQuantParams(base: Uint8Array, rng: Rng): Mutant {
  const model = readOnnx(base);
  const inits = [...model.graph.initializers.values()];
  const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)]!;
  const scales = inits.filter((t) => /scale/i.test(t.name) && t.dataType === 'float32');
  const zeros = inits.filter((t) => /zero_point/i.test(t.name));
  const weights = inits.filter((t) => (t.dataType === 'int8' || t.dataType === 'uint8') && t.data.length > 1);
  const replace = (t: TensorValue, next: TensorValue, what: string): Mutant => {
    model.graph.initializers.set(t.name, { ...next, name: t.name });
    return { bytes: writeOnnx(model), mutation: `quant: ${what}` };
  };
  switch (rng.int(7)) {
    case 0: { // a bad scale value
      const t = pick(scales), v = pick(BAD_SCALES), i = rng.int(t.data.length);
      const data = Float32Array.from(t.data as Float32Array);
      data[i] = v;
      return replace(t, { ...t, data }, `${t.name}[${i}] = ${v}`);
    }
    case 1: { // a zero point of another type
      const t = pick(zeros), type = pick(['int32', 'uint16', 'float32', 'int16'] as const);
      return replace(t, makeTensor(t.name, type, t.dims, Array.from(t.data as ArrayLike<number>, Number)), `${t.name} as ${type}`);
    }
    case 2: { // a per-channel count that does not match
      const t = pick([...scales, ...zeros].filter((x) => x.data.length > 1).concat(scales.slice(0, 1)));
      const n = Math.max(1, t.data.length + pick([-1, 1, 2]));
      const values = Array.from({ length: n }, (_, i) => Number(t.data[i % t.data.length]));
      return replace(t, makeTensor(t.name, t.dataType, [n], values), `${t.name} has ${n} values`);
    }
    case 3: { // a missing initializer
      const t = pick(inits);
      model.graph.initializers.delete(t.name);
      return { bytes: writeOnnx(model), mutation: `quant: initializer ${t.name} removed` };
    }
    case 4: { // weights that w - zw cannot keep in int8 (uint8 weights with a far zero point)
      const t = pick(weights);
      const data = Uint8Array.from(t.data as ArrayLike<number>, (v) => (Number(v) + 128) & 255);
      return replace(t, { ...t, dataType: 'uint8', data }, `${t.name} as uint8 (+128)`);
    }
    case 5: { // a zero point out of its activation's usual range, signed where it was unsigned
      const t = pick(zeros);
      return replace(t, makeTensor(t.name, t.dataType === 'uint8' ? 'int8' : 'uint8', t.dims, Array.from(t.data as ArrayLike<number>, (v) => Number(v) & 127)), `${t.name} flips its signedness`);
    }
    default: { // a scale tensor of another type
      const t = pick(scales);
      return replace(t, makeTensor(t.name, 'float64', t.dims, Array.from(t.data as ArrayLike<number>, Number)), `${t.name} as float64`);
    }
  }
}

/**
 * Imports a mutant (with importOnnx unless `importer` is given); an accepted one is run (checkEdgeq).
 * EdgeqError: rejected; anything else: failure.
 */
export async function checkImport(bytes: Uint8Array, importer: (bytes: Uint8Array) => Uint8Array = (b) => importOnnx(b, { fileName: 'fuzz.onnx' }).edgeq): Promise<Outcome> {
  const t0 = performance.now();
  let edgeq: Uint8Array;
  try {
    edgeq = importer(bytes);
  } catch (e) {
    const ms = performance.now() - t0;
    if (e instanceof EdgeqError && e.code !== 'INTERNAL') return { kind: 'rejected', stage: 'prepare', code: e.code, message: e.message, ms };
    return { kind: 'failure', stage: 'prepare', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), stack: e instanceof Error ? e.stack : undefined, ms };
  }
  return checkEdgeq(edgeq, { twice: false });
}

/** One case: a byte-level mutant or a quantization-parameter mutant of a seed, from (seed index, case seed). */
export function importMutant(seeds: readonly ImportSeed[], caseSeed: number): { seed: string; mutant: Mutant } {
  const rng = new Rng(caseSeed);
  const seed = seeds[rng.int(seeds.length)]!;
  const mutant = rng.int(2) === 0 ? mutateOnnx(seed.bytes, rng) : mutateQuantParams(seed.bytes, rng);
  return { seed: seed.name, mutant };
}

/** What a campaign found: accepted and rejected (by error code) mutants, and every failure. */
export interface CampaignResult {
  rejected: Record<string, number>;
  accepted: number;
  failures: { seed: string; caseSeed: number; mutation: string; error: string }[];
}

/**
 * `cases` mutants, case i drawn by `draw(mixSeed(seed, i))` (the seed it came from and the mutant)
 * and judged by `check`: counted as accepted or rejected, or kept as a failure.
 */
export async function runCampaign(cases: number, seed: number, draw: (caseSeed: number) => { seed: string; mutant: Mutant },
  check: (bytes: Uint8Array) => Promise<Outcome>): Promise<CampaignResult> {
  const result: CampaignResult = { rejected: {}, accepted: 0, failures: [] };
  for (let i = 0; i < cases; i++) {
    const caseSeed = mixSeed(seed, i);
    const { seed: name, mutant } = draw(caseSeed);
    const out = await check(mutant.bytes);
    if (out.kind === 'accepted') result.accepted++;
    else if (out.kind === 'rejected') result.rejected[out.code] = (result.rejected[out.code] ?? 0) + 1;
    else result.failures.push({ seed: name, caseSeed, mutation: mutant.mutation, error: out.error });
  }
  return result;
}

/** `cases` mutants of the ONNX seeds through importOnnx (checkImport). */
export function importCampaign(seeds: readonly ImportSeed[], cases: number, seed: number): Promise<CampaignResult> {
  return runCampaign(cases, seed, (caseSeed) => importMutant(seeds, caseSeed), (bytes) => checkImport(bytes));
}

export type { ModelDef };
