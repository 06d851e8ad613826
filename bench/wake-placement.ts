// Where the OS runs a worker that the main thread wakes, on this machine (Linux only): the same
// logical CPU as the main thread (the two then share it until the scheduler moves one) or another.
// Two threads stacked on one CPU turn a pool's split of an op into time slicing, so 2-thread
// figures of short models from such a machine say little about the pool (docs/tuning-log.md,
// "Workers woken onto the caller's vCPU").
//   node bench/dist/wake-placement.js [--trials 200] [--work 200] [--idle 0,1,5]
// Per trial: the main thread idles --idle ms (a timer: its CPU may halt), notes its CPU, wakes the
// worker (Atomics.notify), then both run --work µs of arithmetic; the worker notes its CPU when it
// wakes. Per idle: the share of trials with both on one CPU, the wake-up latency, and the time until
// both finished (about --work when they ran side by side, about twice it when stacked).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const TRIALS = Number(arg('--trials') ?? 200), WORK_US = Number(arg('--work') ?? 200);
const idles = (arg('--idle') ?? '0,1,5').split(',').map(Number);

/** The CPU this thread last ran on: field 39 of /proc/thread-self/stat. */
const cpuNow = (): number => Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')[36]);

if (process.platform !== 'linux') {
  console.log(`wake-placement reads /proc/thread-self/stat and runs on Linux only (this is ${process.platform})`);
  process.exit(0);
}

// ctl: [0] generation (the worker waits on it), [1] the generation the worker finished, [2] the worker's CPU.
const ctl = new Int32Array(new SharedArrayBuffer(64));
const wokeAt = new Float64Array(new SharedArrayBuffer(8));

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

const worker = new Worker(WORKER, { eval: true, workerData: { ctl: ctl.buffer, wokeAt: wokeAt.buffer, workUs: WORK_US } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (v: number[], p: number) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };

console.log(`CPU: ${cpus()[0]?.model.trim()} (${cpus().length} logical), Node ${process.versions.node}; ${TRIALS} trials per idle, ${WORK_US} µs of work on each thread`);
await sleep(50);
let gen = 0, sink = 0;
for (const idle of idles) {
  let same = 0;
  const wake: number[] = [], both: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    await sleep(idle);
    const mine = cpuNow();
    const t0 = performance.timeOrigin + performance.now();
    Atomics.store(ctl, 0, ++gen);
    Atomics.notify(ctl, 0);
    const end = performance.now() + WORK_US / 1000;
    while (performance.now() < end) sink += Math.sqrt(sink + 1);
    while (Atomics.load(ctl, 1) !== gen) Atomics.wait(ctl, 1, ctl[1]!, 100);
    const t1 = performance.timeOrigin + performance.now();
    if (ctl[2] === mine) same++;
    wake.push((wokeAt[0]! - t0) * 1000);
    both.push((t1 - t0) * 1000);
  }
  console.log(`idle ${idle} ms: worker woken on the main thread's CPU in ${same} of ${TRIALS} (${((100 * same) / TRIALS).toFixed(0)}%); ` +
    `wake-up ${pct(wake, 0.5).toFixed(0)} µs median (p90 ${pct(wake, 0.9).toFixed(0)}); both done after ${pct(both, 0.5).toFixed(0)} µs median (p90 ${pct(both, 0.9).toFixed(0)}; ${WORK_US} side by side)`);
}
Atomics.store(ctl, 0, -1);
Atomics.notify(ctl, 0);
await worker.terminate();
if (sink === -1) console.log(sink);
