// Replays every fuzz case that once failed (test/fuzz/regressions.json): each must now end in a
// correct model or a typed EdgeqError. Cases of targets not available here (darknet-tiny without
// ../shared, ResNet-50 without EDGEQ_FUZZ_RESNET=1) are listed as skipped.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { replayCase, type FuzzTarget } from '../../tools/fuzz/campaign.js';
import { allTestTargets } from './targets.js';

interface Regression { target: string; caseSeed: number; mutation: string; error: string }
const { cases } = JSON.parse(readFileSync(new URL('./regressions.json', import.meta.url), 'utf8')) as { cases: Regression[] };

let targets: Map<string, FuzzTarget>;
beforeAll(async () => {
  targets = new Map((await allTestTargets({ only: new Set(cases.map((c) => c.target)) })).map((t) => [t.name, t]));
});

describe('fuzz regressions', () => {
  it(`replays ${cases.length} saved cases without a failure`, async () => {
    const skipped: string[] = [];
    for (const c of cases) {
      const target = targets.get(c.target);
      if (!target) { skipped.push(`${c.target}:${c.caseSeed}`); continue; }
      for (const backend of ['simd', 'scalar'] as const) {
        const { mutant, outcome } = await replayCase({ ...target, backends: [backend] }, c.caseSeed);
        expect(mutant.mutation, `${c.target}:${c.caseSeed} no longer builds the same mutant`).toBe(c.mutation);
        expect(outcome.kind === 'failure' ? `${outcome.stage}: ${outcome.error}` : 'ok', `${c.target}:${c.caseSeed} ${c.mutation} (${backend})`).toBe('ok');
      }
    }
    if (skipped.length) console.warn(`[skip] fuzz regressions without their target here: ${skipped.join(', ')}`);
  });
});
