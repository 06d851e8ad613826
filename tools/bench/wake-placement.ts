// Where the OS runs a thread that another thread wakes (Linux, Node): on the waker's own CPU or
// on another. A kernel that knows no shared cache between CPUs (some VMs expose no cache topology)
// places a woken thread on the waker's CPU, so after idle a pool's worker and its caller share one
// CPU and a multi-thread run turns into time slicing: figures of the scheduler, not of the engine
// (docs/tuning-log.md, "Workers woken onto the caller's vCPU"). The probe is a bare worker_threads
// pair, not edgeq's pool.
import { readFileSync } from 'node:fs';

export interface WakePlacement {
  /** Idle before each wake, ms (a timer, so the CPUs may halt). */
  idleMs: number;
  trials: number;
  /** Trials in which the worker woke on the CPU the main thread woke it from. */
  stacked: number;
  /** Wake-up latency (notify to the worker running), µs: median and 90th percentile. */
  wakeUs: { median: number; p90: number };
  /** Notify to both threads done with workUs of arithmetic each, µs (about workUs side by side, 2x stacked). */
  bothDoneUs: { median: number; p90: number };
}

export interface WakePlacementOptions {
  /** Idle before each wake, ms, one result per entry (default [1]). */
  idleMs?: readonly number[];
  /** Wakes per idle (default 50). */
  trials?: number;
  /** Arithmetic each thread does after the wake, µs (default 100). */
  workUs?: number;
}

/** Linux only (reads /proc/thread-self/stat): undefined elsewhere or when the probe cannot run. */
export async function probeWakePlacement(options: WakePlacementOptions = {}): Promise<WakePlacement[] | undefined> {
  if (process.platform !== 'linux') return undefined;
  const { idleMs = [1], trials = 50, workUs = 100 } = options;
  let cpuNow: () => number;
  try {
    cpuNow = () => Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[36]);
    if (!Number.isInteger(cpuNow())) return undefined;
  } catch {
    return undefined;
  }
  const { Worker } = await import('node:worker_threads');
  // ctl: [0] generation (the worker waits on it; -1 stops it), [1] the generation it finished, [2] its CPU.
  const ctl = new Int32Array(new SharedArrayBuffer(64));
  const wokeAt = new Float64Array(new SharedArrayBuffer(8));
  const worker = new Worker(WORKER, { eval: true, workerData: { ctl: ctl.buffer, wokeAt: wokeAt.buffer, workUs } });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const pct = (v: number[], p: number) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };
  const out: WakePlacement[] = [];
  let gen = 0, sink = 0;
  try {
    await sleep(20);
    for (const idle of idleMs) {
      let stacked = 0;
      const wake: number[] = [], both: number[] = [];
      for (let t = 0; t < trials; t++) {
        await sleep(idle);
        const mine = cpuNow();
        const t0 = performance.timeOrigin + performance.now();
        Atomics.store(ctl, 0, ++gen);
        Atomics.notify(ctl, 0);
        const end = performance.now() + workUs / 1000;
        while (performance.now() < end) sink += Math.sqrt(sink + 1);
        while (Atomics.load(ctl, 1) !== gen) Atomics.wait(ctl, 1, ctl[1]!, 100);
        const t1 = performance.timeOrigin + performance.now();
        if (ctl[2] === mine) stacked++;
        wake.push((wokeAt[0]! - t0) * 1000);
        both.push((t1 - t0) * 1000);
      }
      out.push({ idleMs: idle, trials, stacked, wakeUs: { median: pct(wake, 0.5), p90: pct(wake, 0.9) }, bothDoneUs: { median: pct(both, 0.5), p90: pct(both, 0.9) } });
    }
  } finally {
    Atomics.store(ctl, 0, -1);
    Atomics.notify(ctl, 0);
    await worker.terminate();
  }
  void sink;
  return out;
}

/** One line for a benchmark report: the share of wakes stacked on the waker's CPU, and what it means. */
export function describeWakePlacement(p: WakePlacement): string {
  const share = p.stacked / p.trials;
  const verdict = share > 0.5
    ? 'this kernel stacks a woken worker on its caller\'s CPU, so multi-thread rows of short runs measure its scheduler'
    : 'woken workers mostly run beside their caller';
  return `wake placement: after ${p.idleMs} ms idle a woken worker ran on the waker's CPU in ${p.stacked} of ${p.trials} wakes ` +
    `(wake-up ${p.wakeUs.median.toFixed(0)} µs median): ${verdict}`;
}

const WORKER = `
const { workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const ctl = new Int32Array(workerData.ctl), wokeAt = new Float64Array(workerData.wokeAt), workUs = workerData.workUs;
const cpuNow = () => Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')[36]);
let seen = 0, sink = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  wokeAt[0] = performance.timeOrigin + performance.now();
  ctl[2] = cpuNow();
  const end = performance.now() + workUs / 1000;
  while (performance.now() < end) sink += Math.sqrt(sink + 1);
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}
`;
