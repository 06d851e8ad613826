// The full soak: memory over 10,000 consecutive runs on one session, over 1,000 create/release
// cycles (and threaded cycles: worker threads must not accumulate), and 8 sessions of different
// models used concurrently against their solo results. Prints the figures of README "Reliability".
//   npm run soak -- [--runs 10000] [--cycles 1000] [--threaded-cycles 100] [--model synth|darknet] [--rounds 20]
// Samples are taken after a full collection (gc is exposed through v8 flags at run time: a process
// started with --expose-gc cannot spawn the worker threads of a threaded session).
import { writeEdgeq } from 'edgeq/format';
import { Session } from 'edgeq/runtime';
import { synthInput, synthQModel } from 'edgeq-tools/fuzz/seeds';
import { concurrentSessions, createReleaseSoak, fmtMB, runSoak, type MemorySample } from 'edgeq-tools/fuzz/soak';
import { darknetTargets } from 'edgeq-tools/fuzz/targets';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const runs = Number(opt('runs', '10000'));
const cycles = Number(opt('cycles', '1000'));
const threadedCycles = Number(opt('threaded-cycles', '100'));
const rounds = Number(opt('rounds', '20'));
const which = opt('model', 'synth');

const synth = (n: number, fuseResidual = false) => {
  const m = synthQModel(n, { fuseResidual });
  return { name: `synth${fuseResidual ? '-fused' : ''}-${n}`, bytes: writeEdgeq(m), input: synthInput(1, m.input.nchw) };
};
/** darknet-tiny quantized on 4 synthetic images (quantizing runs onnxruntime-web: loaded only when used). */
const loadDarknet = async () => {
  const t = (await darknetTargets()).find((x) => x.kind === 'edgeq');
  return t ? { name: 'darknet-tiny', bytes: t.bytes, input: synthInput(1, [1, 3, 224, 224]) } : undefined;
};
const darknetModel = which === 'darknet' ? await loadDarknet() : undefined;
if (which === 'darknet' && !darknetModel) { console.error('darknet-tiny not found in ../shared'); process.exit(2); }
const main = darknetModel ?? synth(0);

const line = (s: MemorySample, base: MemorySample) =>
  `rss ${fmtMB(s.rss)} (${sign(s.rss - base.rss)}), heap ${fmtMB(s.heapUsed)} (${sign(s.heapUsed - base.heapUsed)}), external ${fmtMB(s.external)} (${sign(s.external - base.external)})${s.threads !== undefined ? `, OS threads ${s.threads}` : ''}`;
const sign = (b: number) => `${b >= 0 ? '+' : '-'}${fmtMB(Math.abs(b))}`;

console.log(`soak: ${main.name} (${main.bytes.length} bytes), node ${process.version}, gc ${typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'exposed' : 'via v8 flags'}`);

// 1. Consecutive runs on one session.
if (runs > 0) {
  const s = await Session.create(main.bytes, { threads: 1 });
  const checkpoints = [1000, 10000, runs].filter((c, i, a) => c <= runs && a.indexOf(c) === i);
  const r = await runSoak(s, main.input, runs, checkpoints);
  s.release();
  const base = r.samples[0]!;
  console.log(`\n${runs} runs on one session (${r.msPerRun.toFixed(3)} ms/run, outputs ${r.identical ? 'bit-identical' : 'DIFFER'}):`);
  console.log(`  after warm-up   ${line(base, base)}, wasm ${r.wasmBytes[0]} bytes`);
  r.samples.slice(1).forEach((smp, i) => console.log(`  after ${String(smp.at).padStart(6)}    ${line(smp, base)}, wasm ${r.wasmBytes[i + 1]} bytes`));
  const [, k1, k10] = r.samples;
  if (k1 && k10) console.log(`  from ${k1.at} to ${k10.at} runs: rss ${sign(k10.rss - k1.rss)}, heap ${sign(k10.heapUsed - k1.heapUsed)}, external ${sign(k10.external - k1.external)}`);
}

// 2. Create/release cycles, single-threaded then with a worker pool.
for (const [count, threads] of [[cycles, 1], [threadedCycles, 2]] as const) {
  if (count <= 0) continue;
  const checkpoints = [100, 500, 1000, count].filter((c, i, a) => c <= count && a.indexOf(c) === i);
  const r = await createReleaseSoak(main.bytes, main.input, count, checkpoints, { threads }, threads === 1 ? 300 : 5);
  const base = r.samples[0]!;
  console.log(`\n${count} create/run/release cycles, ${threads} thread(s) (${r.msPerCycle.toFixed(2)} ms/cycle; baseline after ${threads === 1 ? 300 : 5} warm-up cycles):`);
  console.log(`  baseline        ${line(base, base)}`);
  for (const smp of r.samples.slice(1)) console.log(`  after ${String(smp.at).padStart(6)}    ${line(smp, base)}`);
}

// 3. Concurrent sessions of different models.
{
  const models = [synth(0), synth(1), synth(2), synth(3), synth(4), synth(0, true), synth(1, true), darknetModel ?? await loadDarknet() ?? synth(5)];
  for (const threads of [1, 2]) {
    const r = await concurrentSessions(models, rounds, { threads });
    console.log(`\n8 concurrent sessions (${models.map((m) => m.name).join(', ')}), ${threads} thread(s) each, ${r.runsPerModel} interleaved runs per model:`);
    console.log(`  ${r.agree.filter(Boolean).length}/8 agree bit for bit with their solo results${r.agree.every(Boolean) ? '' : ` (differ: ${models.filter((_, i) => !r.agree[i]).map((m) => m.name).join(', ')})`}`);
  }
}
