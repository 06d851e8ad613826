// Run by test/kernels/relaxed.test.ts under Deno (deno run -A --sloppy-imports --import-map ...):
// the relaxed sweep with full-range uint8 activations through the relaxed build, in this engine's
// exact lowering (skipped, reported, where the probe says 'none'). Prints one JSON line.
import { loadHarness, loadRelaxed } from './harness.js';
import { runConvCase, describe } from './conv-case.js';
import { relaxedCases } from './relaxed-cases.js';

const h = await loadRelaxed(await loadHarness());
const verdict = h.relaxedDot ?? 'none';
let cases = 0, relaxedRuns = 0;
try {
  if (verdict !== 'none') {
    for (const act7 of [false, true]) {
      for (const c of relaxedCases(verdict, act7)) {
        const { runs } = runConvCase(h, c);
        cases++;
        if (runs.includes('relaxed build')) relaxedRuns++;
        else throw new Error(`${describe(c)}: the relaxed build did not run`);
      }
    }
  }
  console.log(JSON.stringify({ verdict, cases, relaxedRuns }));
} catch (err) {
  console.log(JSON.stringify({ verdict, cases, relaxedRuns, error: (err as Error).message }));
}
