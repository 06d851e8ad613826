// Where the OS runs a worker that the main thread wakes, on this machine (Linux only): on the main
// thread's CPU (the two then share it until the scheduler moves one) or on another. Two threads
// stacked on one CPU turn a pool's split of an op into time slicing, so 2-thread figures of short
// models from such a machine say little about the pool (docs/tuning-log.md, "Workers woken onto
// the caller's vCPU"). The probe: edgeq-tools/bench/wake-placement (a bare worker_threads pair).
//   node bench/dist/wake-placement.js [--trials 200] [--work 200] [--idle 0,1,5]
// Per trial: the main thread idles --idle ms (a timer: its CPU may halt), wakes the worker
// (Atomics.notify), then both run --work µs of arithmetic. Per idle: the share of wakes on the main
// thread's CPU, the wake-up latency, and the time until both finished (about --work side by side,
// about twice it stacked).
import { cpus } from 'node:os';
import { probeWakePlacement } from 'edgeq-tools/bench/wake-placement';

const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const trials = Number(arg('--trials') ?? 200), workUs = Number(arg('--work') ?? 200);
const idleMs = (arg('--idle') ?? '0,1,5').split(',').map(Number);
if (!(trials >= 1) || !(workUs > 0) || idleMs.some((v) => !(v >= 0))) {
  console.error('--trials takes a count >= 1, --work µs > 0, --idle a list of ms >= 0 (e.g. 0,1,5)');
  process.exit(2);
}

console.log(`CPU: ${cpus()[0]?.model.trim()} (${cpus().length} logical), Node ${process.versions.node}; ${trials} trials per idle, ${workUs} µs of work on each thread`);
const results = await probeWakePlacement({ idleMs, trials, workUs });
if (!results) {
  console.log(`wake-placement reads /proc/thread-self/stat and runs on Linux only (this is ${process.platform})`);
  process.exit(0);
}
for (const r of results) {
  console.log(`idle ${r.idleMs} ms: worker woken on the main thread's CPU in ${r.stacked} of ${r.trials} (${((100 * r.stacked) / r.trials).toFixed(0)}%); ` +
    `wake-up ${r.wakeUs.median.toFixed(0)} µs median (p90 ${r.wakeUs.p90.toFixed(0)}); both done after ${r.bothDoneUs.median.toFixed(0)} µs median ` +
    `(p90 ${r.bothDoneUs.p90.toFixed(0)}; ${workUs} side by side)`);
}
