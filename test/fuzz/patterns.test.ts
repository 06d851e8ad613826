// The pattern fuzzer (tools/fuzz/pattern-campaign.ts): seeded valid ONNX graphs built from the node
// patterns graph preparation must handle (activation chains with Identity/Dropout links, fan-out,
// unread outputs, dead branches). Every case must quantize and run, or be rejected with a typed
// EdgeqError; an INTERNAL error is a failure. EDGEQ_PATTERN_SEED / EDGEQ_PATTERN_CASES change the run.
import { describe, expect, it } from 'vitest';
import { runPatternCampaign } from '../../tools/fuzz/pattern-campaign.js';

const SEED = Number(process.env.EDGEQ_PATTERN_SEED ?? 17);
const CASES = Number(process.env.EDGEQ_PATTERN_CASES ?? 150);

describe('pattern fuzzer', () => {
  it(`${CASES} generated pattern graphs (seed ${SEED}): none fails, most run`, async () => {
    const results = await runPatternCampaign(CASES, SEED);
    const failures = results.filter((r) => r.outcome === 'failure');
    const ran = results.filter((r) => r.outcome === 'ran').length;
    const rejected = results.filter((r) => r.outcome === 'rejected');
    console.log(`pattern fuzz seed ${SEED}: ${results.length} cases, ${ran} ran, ${rejected.length} rejected, ${failures.length} failed`);
    for (const r of rejected.slice(0, 5)) console.log(`  rejected ${r.caseSeed} [${r.patterns.join(' ')}]: ${r.detail}`);
    expect(failures.map((f) => `${f.caseSeed} [${f.patterns.join(' ')}]: ${f.detail}`)).toEqual([]);
    // Every generated pattern is one the quantizer maps: rejections would mean lost coverage.
    expect(rejected.map((r) => `${r.caseSeed} [${r.patterns.join(' ')}]: ${r.detail}`)).toEqual([]);
    const seen = new Set(results.flatMap((r) => r.patterns.map((p) => p.replace(/\(.*\)|\+relu/g, ''))));
    for (const p of ['chain', 'fan-out', 'maxpool', 'dead-Conv', 'dead-Sigmoid', 'identity-conv', 'head', 'identity-output']) expect(seen).toContain(p);
  }, 120_000);
});
