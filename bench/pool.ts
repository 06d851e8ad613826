// The thread pool's own costs, behind the planner's per-op thread sizing (edgeq/runtime: opThreads,
// NS_PER_EXTRA_THREAD, MACS_PER_NS, DWCONV_MACS_PER_NS, BYTES_PER_NS; docs/tuning-log.md, "Threads per op"):
//   node bench/dist/pool.js [--threads 1,2,4,8,16] [--ops 200] [--runs 20] [--part 32768] [--model m.edgeq]
// 1. Per op of a pool of T threads, each op T parts of equal work (a qu8_vadd of --part elements,
//    each part on its own bytes): an op ideally costs one part's time; what it costs beyond that
//    is the pool's (wake-up, barrier, part taking). Three forms: every op on all T threads ('all'),
//    every op on the main thread alone ('main': the idle threads must cost nothing, so T parts of
//    work at one thread), and ops alternating between both ('alternate': a wide op after one
//    the workers skipped pays their wake-up).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { readEdgeq } from 'edgeq/format';
import { instantiateKernels, invokeKernelCall, kernelCall, vaddArgs, type KernelCall } from 'edgeq/kernels';
import { buildPlan, createPool, kernelModule, NS_PER_EXTRA_THREAD, opCost, opThreads, threadedKernelModule } from 'edgeq/runtime';

const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const threadList = (arg('--threads') ?? '1,2,4,8,16').split(',').map(Number);
const OPS = Number(arg('--ops') ?? 200), RUNS = Number(arg('--runs') ?? 20), PART = Number(arg('--part') ?? 32768);
const model = arg('--model');

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const q = { scale: 0.05, zeroPoint: 10, dtype: 'uint8' as const };

console.log(`CPU: ${cpus()[0]?.model.trim()} (${cpus().length} logical cores), Node ${process.versions.node}`);
console.log(`1. per op of ${OPS}, T parts of ${PART} elements each: µs per op, median of ${RUNS} runs [min-max]; overhead = 'all' minus one part's time`);
const module = await threadedKernelModule();
let partUs = 0, lastOverhead = NaN, lastT = 1;
for (const T of threadList) {
  const pool = T > 1 ? await createPool(T, true, undefined, module) : undefined;
  const pages = Math.ceil((4 * PART * (T + 1)) / 65536) + 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const k = await instantiateKernels(module, memory);
  // Part p reads two shared inputs and writes its own 64-byte aligned range.
  const part = (p: number): KernelCall => kernelCall('qu8_vadd', vaddArgs(PART, 64, 64 + PART, 64 + (2 + p) * PART, q, q, q));
  const ops = Array.from({ length: OPS }, () => Array.from({ length: T }, (_, p) => part(p)));
  const row: string[] = [];
  for (const [name, active] of [['all', () => T], ['main', () => 1], ['alternate', (i: number) => (i % 2 ? T : 1)]] as const) {
    if (T === 1 && name !== 'all') continue;
    const times: number[] = [];
    let shares = '';
    if (pool) {
      const plan = await pool.addPlan(memory, ops, ops.map((_, i) => active(i)));
      const before = pool.partCounts();
      for (let r = 0; r < RUNS + 3; r++) {
        const t0 = performance.now();
        await pool.run(plan, k, () => undefined, () => undefined);
        if (r >= 3) times.push(((performance.now() - t0) * 1000) / OPS);
      }
      const took = pool.partCounts().map((c, t) => c - before[t]), all = took.reduce((x, y) => x + y, 0);
      if (name !== 'main') shares = `, parts taken by the main thread ${((100 * took[T - 1]) / all).toFixed(0)}%`;
      pool.dropPlan(plan);
    } else {
      for (let r = 0; r < RUNS + 3; r++) {
        const t0 = performance.now();
        for (const parts of ops) for (const c of parts) invokeKernelCall(k.exports, c);
        if (r >= 3) times.push(((performance.now() - t0) * 1000) / OPS);
      }
    }
    const m = median(times);
    if (T === 1) partUs = m;
    if (name === 'all' && T > 1) { lastOverhead = m - partUs; lastT = T; }
    const extra = name === 'all' ? ` (overhead ${(m - partUs).toFixed(2)})` : name === 'alternate' ? ` (wide op's overhead ${(2 * m - T * partUs - partUs).toFixed(2)})` : '';
    row.push(`${name} ${m.toFixed(2)}${extra} [${Math.min(...times).toFixed(2)}-${Math.max(...times).toFixed(2)}]${shares}`);
  }
  console.log(`  ${String(T).padStart(2)} thread(s): ${row.join('; ')}`);
  pool?.release();
}
if (lastT > 1) {
  console.log(`  NS_PER_EXTRA_THREAD now ${NS_PER_EXTRA_THREAD} ns; the ${lastT}-thread overhead per extra thread: ${Math.round((lastOverhead * 1000) / (lastT - 1))} ns (docs/tuning-log.md, "Threads per op")`);
}

if (model) {
  const m = readEdgeq(new Uint8Array(readFileSync(model)));
  const plan = await buildPlan(m, await kernelModule('simd'), 1);
  const ctx = { model: m, batch: 1, parts: 1 };
  for (const s of plan.steps) s(); // warm
  console.log(`2. ${model}: each op on one thread (median of ${RUNS}), its modelled cost, and the threads a pool of 16 gives it`);
  const convRate: number[] = [], dwRate: number[] = [], byteRate: number[] = [];
  m.ops.forEach((op, i) => {
    const times: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      plan.steps[i]();
      times.push((performance.now() - t0) * 1e6);
    }
    const ns = median(times), c = opCost(op, ctx);
    if (c.macs > 0) (c.macsPerNs ? dwRate : convRate).push(c.macs / ns); else byteRate.push(c.bytes / ns);
    console.log(`  op ${i} ${op.op} "${op.name}": ${(ns / 1000).toFixed(1)} µs, ${(c.macs / 1e6).toFixed(2)} M MACs, ${(c.bytes / 1024).toFixed(0)} KiB -> ${opThreads(c, 16)} of 16 threads`);
  });
  const rate = (r: number[]) => r.length ? median(r).toFixed(1) : '-';
  console.log(`  rates: conv ops ${rate(convRate)} MACs/ns (median of ${convRate.length}), depthwise ${rate(dwRate)} MACs/ns (median of ${dwRate.length}), others ${byteRate.length ? median(byteRate).toFixed(2) : '-'} bytes/ns (median of ${byteRate.length})`);
}
