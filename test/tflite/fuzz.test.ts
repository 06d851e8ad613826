// A seeded campaign of TFLite mutants (tools/fuzz/tflite-fuzz.ts): every mutant is imported and run,
// or rejected with an EdgeqError.
import { describe, expect, it } from 'vitest';
import { tfliteCampaign, tfliteSeeds } from '../../tools/fuzz/tflite-fuzz.js';

describe('the TFLite importer on mutated files', () => {
  it('300 mutants: imported and run, or a typed EdgeqError, never a crash', async () => {
    const seeds = tfliteSeeds();
    expect(seeds.map((s) => s.name)).toContain('mobilenet-v2-like-int8.tflite');
    expect(seeds.map((s) => s.name)).toContain('tiny-labelled.tflite');
    const r = await tfliteCampaign(seeds, 300, 2026);
    console.log(`TFLite fuzz, 300 cases: accepted ${r.accepted}, rejected ${JSON.stringify(r.rejected)}, failures ${r.failures.length}`);
    expect(r.failures).toEqual([]);
    expect(Object.values(r.rejected).reduce((a, n) => a + n, 0)).toBeGreaterThan(100);
  }, 300_000);
});
