// The first runs after Session.create, with and without warm-up: what a user's first image costs.
// Run each form in a fresh process (the engine keeps optimized code per process):
//   node bench/dist/first-run.js --model m.edgeq [--warmup] [--threads 1] [--runs 5]
import { readFileSync } from 'node:fs';
import { Session } from 'edgeq';

const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const model = arg('--model');
if (!model) throw new Error('usage: node bench/dist/first-run.js --model m.edgeq [--warmup] [--threads 1] [--runs 5]');
const warmup = process.argv.includes('--warmup');
const threads = Number(arg('--threads') ?? 1), runs = Number(arg('--runs') ?? 5);
const t0 = performance.now();
const session = await Session.create(new Uint8Array(readFileSync(model)), { threads, warmup });
const createMs = performance.now() - t0;
const [, c, h, w] = session.model.input.nchw;
const x = new Float32Array(c * h * w).fill(0.3);
const times: string[] = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  await session.run(x);
  times.push((performance.now() - t).toFixed(1));
}
session.release();
console.log(`warmup ${warmup}, ${threads} thread(s): create ${createMs.toFixed(0)} ms; runs ${times.join(' ')} ms`);
