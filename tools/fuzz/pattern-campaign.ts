// The pattern fuzzer: seeded pattern graphs (graph-patterns.ts) through the whole quantizer path
// that needs no calibration: readOnnx -> prepareGraph -> buildQModel (every tensor given the range
// [-4, 4]) -> writeEdgeq -> the .edgeq checks of harness.ts (Session.create, run twice, finite
// output). A case passes when the model runs or is rejected with a typed EdgeqError other than
// INTERNAL; an INTERNAL error or any other exception is a failure.
import { EdgeqError } from 'edgeq';
import { writeEdgeq } from 'edgeq/format';
import { readOnnx } from '../onnx/reader.js';
import { writeOnnx } from '../onnx/writer.js';
import { prepareGraph } from '../quantize/prepare.js';
import { buildQModel } from '../quantize/quantize.js';
import { mixSeed } from '../synth/random.js';
import { patternModel } from './graph-patterns.js';
import { checkEdgeq } from './harness.js';

export interface PatternCaseResult {
  caseSeed: number;
  patterns: string[];
  outcome: 'ran' | 'rejected' | 'failure';
  /** The rejection's code and message, or the failure. */
  detail?: string;
}

/** Quantizes pattern graph `caseSeed` with fixed ranges and runs the .edgeq. */
export async function checkPatternCase(caseSeed: number): Promise<PatternCaseResult> {
  const { model, patterns } = patternModel(caseSeed);
  const verdict = (e: unknown): PatternCaseResult => (e instanceof EdgeqError && e.code !== 'INTERNAL'
    ? { caseSeed, patterns, outcome: 'rejected', detail: `${e.code}: ${e.message}` }
    : { caseSeed, patterns, outcome: 'failure', detail: e instanceof Error ? e.stack ?? e.message : String(e) });
  let edgeq: Uint8Array;
  try {
    const g = prepareGraph(readOnnx(writeOnnx(model), { fileName: `pattern-${caseSeed}.onnx` }));
    const ranges = new Map([g.input.name, ...g.shapes.keys()].map((t) => [t, { lo: -4, hi: 4 }]));
    edgeq = writeEdgeq(buildQModel(g, { ranges }).model);
  } catch (e) {
    return verdict(e);
  }
  const o = await checkEdgeq(edgeq, { twice: true });
  if (o.kind === 'accepted') return { caseSeed, patterns, outcome: 'ran' };
  if (o.kind === 'rejected') return o.code === 'INTERNAL' ? { caseSeed, patterns, outcome: 'failure', detail: `${o.stage}: INTERNAL ${o.message}` } : { caseSeed, patterns, outcome: 'rejected', detail: `${o.code}: ${o.message}` };
  return { caseSeed, patterns, outcome: 'failure', detail: `${o.stage}: ${o.error}` };
}

export async function runPatternCampaign(cases: number, seed: number): Promise<PatternCaseResult[]> {
  const results: PatternCaseResult[] = [];
  for (let i = 0; i < cases; i++) results.push(await checkPatternCase(mixSeed(seed, i)));
  return results;
}
