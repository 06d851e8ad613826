// Interleaved timing with tinybench: engines take turns in rounds, so a noisy neighbour on this
// shared machine slows all of them alike instead of whichever happened to run at that moment.
import { Bench } from 'tinybench';

export interface Engine {
  name: string;
  run: () => Promise<unknown> | unknown;
}

export interface LatencyStats {
  runs: number;
  median: number;
  p90: number;
  min: number;
  mean: number;
  samples: number[];
}

export function stats(samples: number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => {
    if (s.length === 0) return NaN;
    const i = (s.length - 1) * p;
    const lo = Math.floor(i), hi = Math.ceil(i);
    return s[lo] + (s[hi] - s[lo]) * (i - lo);
  };
  return { runs: s.length, median: q(0.5), p90: q(0.9), min: s[0], mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length), samples };
}

/**
 * Idle time before each engine's turn in a round (ms). Contract: no engine's turn starts while the
 * previous engine's pool threads still spin on after its last run (onnxruntime-web's do, for
 * milliseconds, and on a 2-core machine they hold the core the next engine's worker needs:
 * docs/tuning-log.md, "Engine turns in the bench").
 */
export const ENGINE_SETTLE_MS = 20;

/**
 * Times each engine `runs` times in total, spread over `rounds` rounds; round 0 warms every engine up
 * first (`warmup` untimed runs each). Each engine's turn starts after ENGINE_SETTLE_MS of idle and
 * one untimed run.
 * Returns per-engine latency statistics in milliseconds.
 */
export async function interleavedLatency(
  engines: Engine[],
  options: { runs: number; rounds?: number; warmup?: number; onRound?: (round: number, rounds: number) => void },
): Promise<Map<string, LatencyStats>> {
  const rounds = Math.max(1, Math.min(options.rounds ?? 5, options.runs));
  const samples = new Map<string, number[]>(engines.map((e) => [e.name, []]));
  for (let r = 0; r < rounds; r++) {
    const iterations = Math.floor(options.runs / rounds) + (r < options.runs % rounds ? 1 : 0);
    const bench = new Bench({
      iterations, time: 0, retainSamples: true,
      warmup: r === 0, warmupIterations: options.warmup ?? 2, warmupTime: 0,
      throws: true,
    });
    const settle = () => new Promise<void>((resolve) => setTimeout(resolve, ENGINE_SETTLE_MS));
    // Each turn: idle, then one untimed run (the engine's own threads awake), then the timed runs.
    for (const e of engines) bench.add(e.name, async () => { await e.run(); }, { beforeAll: async () => { await settle(); await e.run(); } });
    await bench.run();
    for (const task of bench.tasks) {
      const res = task.result as { latency?: { samples?: ArrayLike<number> } };
      const got = res.latency?.samples;
      if (got) samples.get(task.name)!.push(...Array.from(got));
    }
    options.onRound?.(r + 1, rounds);
  }
  return new Map([...samples].map(([k, v]) => [k, stats(v)]));
}
