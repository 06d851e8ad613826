// Scaled-down soak (the full one is `npm run soak`): memory stays flat over many runs and many
// create/release cycles, released sessions leave no workers or other handles behind, and sessions
// of different models used concurrently give exactly their solo results.
import { beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import { concurrentSessions, createReleaseSoak, fmtMB, MB, osThreads, runSoak } from '../../tools/fuzz/soak.js';
import { synthModel, tinyCnnModel, type TestModel } from './models.js';

let tiny: TestModel;
beforeAll(async () => {
  tiny = await tinyCnnModel();
});

/** Handles other than timers (the test runner keeps its own). */
const handles = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'Timeout' && k !== 'Immediate'));

describe('soak (scaled down)', () => {
  it('500 runs on one session: wasm memory fixed, heap and external memory flat, outputs identical', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    const r = await runSoak(s, tiny.input, 500, [250, 500]);
    s.release();
    const [first, , last] = r.samples;
    console.log(`500 runs: ${r.msPerRun.toFixed(3)} ms/run; rss ${fmtMB(first!.rss)} -> ${fmtMB(last!.rss)}, heap ${fmtMB(first!.heapUsed)} -> ${fmtMB(last!.heapUsed)}, external ${fmtMB(first!.external)} -> ${fmtMB(last!.external)}, wasm ${r.wasmBytes.join('/')}`);
    expect(r.identical).toBe(true);
    expect(new Set(r.wasmBytes).size).toBe(1);
    expect(last!.heapUsed - first!.heapUsed).toBeLessThan(1 * MB);
    expect(last!.external - first!.external).toBeLessThan(1 * MB);
    expect(last!.rss - first!.rss).toBeLessThan(16 * MB); // RSS is noisy on a shared machine; the leak signal is heap/external
  });

  it('100 create/release cycles: heap and external memory flat, no handles left', async () => {
    const r = await createReleaseSoak(tiny.bytes, tiny.input, 100, [50, 100], { threads: 1 });
    const [first, , last] = r.samples;
    console.log(`100 cycles: ${r.msPerCycle.toFixed(2)} ms/cycle; rss ${fmtMB(first!.rss)} -> ${fmtMB(last!.rss)}, heap ${fmtMB(first!.heapUsed)} -> ${fmtMB(last!.heapUsed)}, external ${fmtMB(first!.external)} -> ${fmtMB(last!.external)}`);
    expect(last!.heapUsed - first!.heapUsed).toBeLessThan(1 * MB);
    expect(last!.external - first!.external).toBeLessThan(1 * MB); // each session holds >= 64 KiB of wasm memory: 100 leaked would show
    expect(handles(last!.resources)).toEqual(handles(first!.resources));
  });

  it.skipIf(osThreads() === undefined)('create/release with a worker pool (3 threads) leaves no worker thread behind', async () => {
    const s = await Session.create(tiny.bytes, { threads: 3 });
    await s.run(tiny.input);
    const withPool = osThreads()!;
    s.release();
    const r = await createReleaseSoak(tiny.bytes, tiny.input, 10, [10], { threads: 3 }, 1);
    await new Promise((res) => setTimeout(res, 300));
    const after = osThreads()!;
    console.log(`10 threaded cycles: ${r.msPerCycle.toFixed(1)} ms/cycle; OS threads with a live pool ${withPool}, after the cycles ${after} (baseline ${r.samples[0]!.threads})`);
    expect(withPool - after).toBeGreaterThanOrEqual(s.threads - 1); // the pool's workers are gone
    expect(after).toBeLessThanOrEqual(r.samples[0]!.threads! + 1); // a leaked pool would add 2 threads per cycle
    expect(r.samples[1]!.external - r.samples[0]!.external).toBeLessThan(1 * MB);
  });

  it('8 sessions of different models used concurrently give exactly their solo results', async () => {
    const models = [tiny, await tinyCnnModel({ leaky: true, seed: 3 }), ...[0, 1, 2, 3, 4].map((n) => synthModel(n)), synthModel(1, true)];
    const single = await concurrentSessions(models, 5, { threads: 1 });
    const threaded = await concurrentSessions(models.slice(0, 4), 3, { threads: 2 });
    console.log(`concurrent: ${single.agree.filter(Boolean).length}/8 models agree over ${single.runsPerModel} runs each (1 thread); ${threaded.agree.filter(Boolean).length}/4 (2 threads)`);
    expect(single.agree).toEqual(models.map(() => true));
    expect(threaded.agree).toEqual([true, true, true, true]);
  });
});
