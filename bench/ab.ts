// Two builds of the runtime in one process: are their outputs bit-identical, and is either faster?
// For refactors of the runtime (kernels, planner, Session): point --a at another checkout's built
// entry (e.g. a `git worktree` of the previous commit) and --b at this one.
//
//   node bench/dist/ab.js --a ../base/dist/src/index.js --b dist/index.js --model m.edgeq
//        [--images DIR --count 20 | --synthetic 5] [--runs 30] [--threads 1] [--backend auto] [--block 1]
//
// Prints per build the sha256 of all logits (float32 little-endian, inputs in order) and the
// latency of one input, interleaved (A, B, A, B, ...) after a warm-up: median, min, max, and the
// median of the per-pair ratios B/A. --block N: each build runs 3 untimed and N timed runs in a row
// before the other takes its turn (the order alternating), so that neither build's run starts with
// the other's weights in the caches (medians of blocks of 10 were steadier than pairs for models of
// a few MB on a 2-core machine); the ratio is then of the medians.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readImage } from 'edgeq/decode';
import { IMAGENET, type RawImage } from 'edgeq/image';
import { syntheticInputs } from 'edgeq-tools/cli/inputs';
import { stats } from 'edgeq-tools/bench/timing';

interface RuntimeSession {
  run(input: Float32Array | RawImage): Promise<Float32Array>;
  release(): void;
  readonly model: { preprocess?: typeof IMAGENET };
  readonly backend: string;
}
interface Runtime { Session: { create(bytes: Uint8Array, options?: object): Promise<RuntimeSession> } }

function args(argv: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`usage: see the header of bench/ab.ts (at ${argv[i]})`);
    o[argv[i].slice(2)] = argv[i + 1];
  }
  return o;
}

const median = (v: number[]) => stats(v).median;

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  if (!o.a || !o.b || !o.model) throw new Error('--a, --b and --model are required');
  const bytes = new Uint8Array(readFileSync(o.model));
  const threads = Number(o.threads ?? 1), runs = Number(o.runs ?? 30), block = Number(o.block ?? 1);
  const builds = await Promise.all([o.a, o.b].map(async (entry) => (await import(pathToFileURL(resolve(entry)).href)) as Runtime));
  const sessions = await Promise.all(builds.map((r) => r.Session.create(bytes, { threads, backend: o.backend ?? 'auto' })));
  let inputs: (Float32Array | RawImage)[];
  if (o.images) {
    const files = readdirSync(o.images).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, Number(o.count ?? 20));
    inputs = files.map((f) => readImage(join(o.images, f)));
  } else {
    inputs = [...syntheticInputs(7, Number(o.synthetic ?? 5), sessions[0].model.preprocess ?? IMAGENET)];
  }
  const hashes: string[] = [];
  for (const s of sessions) {
    const h = createHash('sha256');
    for (const x of inputs) {
      const y = await s.run(x);
      h.update(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
    }
    hashes.push(h.digest('hex'));
  }
  const x = inputs[0];
  for (let i = 0; i < 5; i++) for (const s of sessions) await s.run(x);
  const t: number[][] = [[], []];
  for (let r = 0; r < Math.ceil(runs / block); r++) {
    for (let k = 0; k < 2; k++) {
      const i = (r + k) % 2; // alternate which build goes first
      if (block > 1) for (let w = 0; w < 3; w++) await sessions[i].run(x);
      for (let b = 0; b < block; b++) {
        const t0 = performance.now();
        await sessions[i].run(x);
        t[i].push(performance.now() - t0);
      }
    }
  }
  const ratios = block > 1 ? [median(t[1]) / median(t[0])] : t[0].map((a, i) => t[1][i] / a);
  console.log(`model ${o.model}, ${inputs.length} inputs (${o.images ? `images from ${o.images}` : 'synthetic, seed 7'}), ${threads} thread(s), backend ${sessions[1].backend}`);
  ['A', 'B'].forEach((name, i) => {
    const s = stats(t[i]);
    console.log(`  ${name} ${[o.a, o.b][i]}: logits sha256 ${hashes[i].slice(0, 16)}; ${runs} interleaved runs: median ${s.median.toFixed(2)} ms (min ${s.min.toFixed(2)}, max ${Math.max(...t[i]).toFixed(2)})`);
  });
  console.log(`  outputs ${hashes[0] === hashes[1] ? 'bit-identical' : 'DIFFER'}; B/A ${block > 1 ? 'of the medians' : 'per pair'}: median ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`);
  for (const s of sessions) s.release();
  if (hashes[0] !== hashes[1]) process.exitCode = 1;
}

await main();
