// The bounded fuzz campaign run by `npm test` (the long one is `npm run fuzz`): seeded mutations of
// the synthetic models, the tiny CNN and darknet-tiny, as .edgeq and ONNX. Every case must end in
// a correct model (run() completes with finite output, twice alike, read-only memory untouched) or a
// typed EdgeqError. EDGEQ_FUZZ_SEED / EDGEQ_FUZZ_CASES change the seed and the number of cases.
import { beforeAll, describe, expect, it } from 'vitest';
import { runCampaign, type FuzzTarget } from '../../tools/fuzz/campaign.js';
import { HAS_SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';
import { allTestTargets } from './targets.js';

const SEED = Number(process.env.EDGEQ_FUZZ_SEED ?? 8);
const CASES = Number(process.env.EDGEQ_FUZZ_CASES ?? 2000);
warnSkip(HAS_SHARED, `${SHARED_SKIP} (darknet-tiny fuzz targets)`);

let targets: FuzzTarget[];
beforeAll(async () => {
  targets = await allTestTargets({ darknetWeight: 1 });
});

describe('fuzz campaign', () => {
  it(`${CASES} mutated model files (seed ${SEED}): no failure`, async () => {
    const r = await runCampaign(targets, { cases: CASES, seed: SEED, timeBudgetMs: 75_000 });
    const { failures, byTarget, ...summary } = r;
    console.log(`fuzz seed ${SEED}: ${JSON.stringify(summary)}`);
    for (const [name, s] of Object.entries(byTarget)) console.log(`  ${name}: ${JSON.stringify(s)}`);
    for (const f of failures) console.log(`FAILURE ${f.target}:${f.caseSeed} ${f.mutation} [${f.stage}] ${f.error}\n${f.stack ?? ''}`);
    expect(failures.map((f) => `${f.target}:${f.caseSeed} ${f.mutation} -> ${f.error}`)).toEqual([]);
    // The time budget only guards a very slow machine; normally every case runs.
    expect(r.cases).toBeGreaterThanOrEqual(Math.min(CASES, 500));
    expect(r.accepted).toBeGreaterThan(r.cases / 20); // the mutants reach the runtime, not only the checksum
  });
});
