// A seeded fuzz campaign over a set of targets (valid model files). Case i uses the seed
// mixSeed(seed, i) to pick its target and its mutation, so any case is replayed from
// (target name, case seed) alone: replayCase() below, and test/fuzz/regressions.json.
import { mixSeed, Rng } from '../synth/random.js';
import { checkEdgeq, checkOnnx, type EdgeqCheckOptions, type Outcome } from './harness.js';
import { mutateEdgeq, mutateOnnx, type Mutant } from './mutate.js';

export interface FuzzTarget {
  /** Stable name, stored in regression records (e.g. "synth-3.edgeq", "darknet-tiny.onnx"). */
  name: string;
  kind: 'edgeq' | 'onnx';
  bytes: Uint8Array;
  /** Relative share of the cases (default 1). */
  weight?: number;
  /** Kernel builds to alternate between for accepted .edgeq mutants (default ['simd']). */
  backends?: ('simd' | 'scalar')[];
  /** Run accepted mutants twice to compare outputs (default true). */
  twice?: boolean;
}

export interface FuzzFailure {
  target: string;
  caseSeed: number;
  mutation: string;
  stage: string;
  error: string;
  stack?: string;
}

export interface CampaignResult {
  cases: number;
  accepted: number;
  /** Accepted mutants that also ran (not skipped for size). */
  ran: number;
  rejected: number;
  /** Rejections by EdgeqError code. */
  codes: Record<string, number>;
  byTarget: Record<string, { cases: number; accepted: number; rejected: number; failures: number }>;
  failures: FuzzFailure[];
  ms: number;
  /** The slowest case. */
  slowest: { target: string; caseSeed: number; mutation: string; ms: number } | undefined;
}

export interface CampaignOptions {
  cases: number;
  seed: number;
  /** Stop early once this much time has passed (ms); the result says how many cases ran. */
  timeBudgetMs?: number;
  check?: Omit<EdgeqCheckOptions, 'backend'>;
  /** Called after each case. */
  onCase?: (i: number, target: FuzzTarget, mutant: Mutant, outcome: Outcome) => void;
}

export function caseSeedOf(seed: number, i: number): number {
  return mixSeed(seed, i);
}

export function mutantOf(target: FuzzTarget, caseSeed: number): Mutant {
  const rng = new Rng(caseSeed);
  return target.kind === 'edgeq' ? mutateEdgeq(target.bytes, rng) : mutateOnnx(target.bytes, rng);
}

/** Builds case `caseSeed` of `target` and checks it. */
export async function replayCase(target: FuzzTarget, caseSeed: number, check: CampaignOptions['check'] = {}): Promise<{ mutant: Mutant; outcome: Outcome }> {
  const mutant = mutantOf(target, caseSeed);
  const backends = target.backends ?? ['simd'];
  const outcome = target.kind === 'edgeq'
    ? await checkEdgeq(mutant.bytes, { ...check, backend: backends[caseSeed % backends.length], twice: target.twice ?? check.twice })
    : await checkOnnx(mutant.bytes, { slowMs: check.slowMs });
  return { mutant, outcome };
}

function chooseTarget(targets: readonly FuzzTarget[], caseSeed: number): FuzzTarget {
  const total = targets.reduce((s, t) => s + (t.weight ?? 1), 0);
  let r = (mixSeed(caseSeed, 0x7a11) / 2 ** 32) * total;
  for (const t of targets) {
    r -= t.weight ?? 1;
    if (r < 0) return t;
  }
  return targets[targets.length - 1]!;
}

export async function runCampaign(targets: readonly FuzzTarget[], options: CampaignOptions): Promise<CampaignResult> {
  const t0 = performance.now();
  const result: CampaignResult = { cases: 0, accepted: 0, ran: 0, rejected: 0, codes: {}, byTarget: {}, failures: [], ms: 0, slowest: undefined };
  for (const t of targets) result.byTarget[t.name] = { cases: 0, accepted: 0, rejected: 0, failures: 0 };
  for (let i = 0; i < options.cases; i++) {
    if (options.timeBudgetMs !== undefined && performance.now() - t0 > options.timeBudgetMs) break;
    const caseSeed = caseSeedOf(options.seed, i);
    const target = chooseTarget(targets, caseSeed);
    let mutant: Mutant, outcome: Outcome;
    try {
      ({ mutant, outcome } = await replayCase(target, caseSeed, options.check));
    } catch (e) {
      // The mutator itself failed: a fuzzer bug, reported like a failure so it is not lost.
      mutant = { bytes: new Uint8Array(), mutation: '(mutator failed)' };
      outcome = { kind: 'failure', stage: 'check', error: `mutator: ${(e as Error).stack ?? String(e)}`, ms: 0 };
    }
    const bt = result.byTarget[target.name]!;
    result.cases++; bt.cases++;
    if (outcome.kind === 'accepted') { result.accepted++; bt.accepted++; if (outcome.ran) result.ran++; }
    else if (outcome.kind === 'rejected') { result.rejected++; bt.rejected++; result.codes[outcome.code] = (result.codes[outcome.code] ?? 0) + 1; }
    else {
      bt.failures++;
      result.failures.push({ target: target.name, caseSeed, mutation: mutant.mutation, stage: outcome.stage, error: outcome.error, stack: outcome.stack });
    }
    if (!result.slowest || outcome.ms > result.slowest.ms) result.slowest = { target: target.name, caseSeed, mutation: mutant.mutation, ms: outcome.ms };
    options.onCase?.(i, target, mutant, outcome);
  }
  result.ms = performance.now() - t0;
  return result;
}
