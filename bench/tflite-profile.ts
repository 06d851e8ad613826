// Where a TFLite model's time goes in edgeq at one thread: the .tflite is imported exactly
// (importTflite), run with { profile: true }, and printed per op (time, MACs, GMAC/s of each conv),
// per op kind, and the fixed per-run overhead: run() minus the sum of its ops (input quantization
// float NCHW -> uint8 NHWC, output dequantization, dispatch).
//
//   node bench/dist/tflite-profile.js --model ../shared/models/tflite-coral/mobilenet_v1_0.25_128_quant.tflite
//        [--backend auto|simd|relaxed] [--runs 200] [--ab ../base/dist/index.js] [--save m.edgeq]
//
// With --ab, a second build of the runtime (another checkout's built entry) runs the same .edgeq and
// inputs in this process, interleaved with this one (A = --ab, B = this checkout): outputs compared
// byte for byte, run() medians and min-max of each. Also run() with the input as float32 NCHW
// against the uint8 input tensor's integers (NHWC, copied in), interleaved. Relaxed SIMD in Node 20 needs
// `node --experimental-wasm-relaxed-simd`.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Session, formatProfile, type ProfileRow } from 'edgeq';
import type { QModel } from 'edgeq/format';
import { dwconvRelaxedEligible, gemmC4Eligible, gemmC4Preferred, planConv2d, relaxedEligible, wideRelaxedBlocks } from 'edgeq/kernels';
import { convShape } from 'edgeq/ops';
import { importTflite } from 'edgeq-tools/import';
import { stats } from 'edgeq-tools/bench/timing';

interface RuntimeSession { run(x: Float32Array): Promise<Float32Array>; release(): void; readonly backend: string }
interface Runtime { Session: { create(bytes: Uint8Array, options?: object): Promise<RuntimeSession> } }

function args(argv: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i]!.startsWith('--') || argv[i + 1] === undefined) throw new Error(`usage: see the header of bench/tflite-profile.ts (at ${argv[i]})`);
    o[argv[i]!.slice(2)] = argv[i + 1]!;
  }
  return o;
}

/** Multiply-accumulates of conv op i (a depthwise conv: one per output element and tap). */
function convMacs(model: QModel, i: number): number {
  const op = model.ops[i]!;
  if (op.op !== 'conv') return 0;
  const [, oh, ow] = model.tensors[op.output]!.shape;
  return oh! * ow! * op.outChannels * op.kernel[0] * op.kernel[1] * (op.inChannels / op.group);
}

/** Float NCHW images whose quantization is the integers u (x = (u - z) * s, u in 0..255 pseudo-random). */
function inputs(model: QModel, count: number): Float32Array[] {
  const [, c, h, w] = model.input.nchw;
  const t = model.tensors[model.input.tensor]!;
  let seed = 7;
  return Array.from({ length: count }, () => Float32Array.from({ length: c * h * w }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return ((seed >>> 8) % 256 - t.zeroPoint) * t.scale;
  }));
}

function sha(ys: Float32Array[]): string {
  const h = createHash('sha256');
  for (const y of ys) h.update(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
  return h.digest('hex').slice(0, 16);
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  if (!o.model) throw new Error('--model is required');
  const runs = Number(o.runs ?? 200), backend = o.backend ?? 'auto';
  const { edgeq, model, wideWeights } = importTflite(new Uint8Array(readFileSync(o.model)));
  if (o.save) writeFileSync(o.save, edgeq);
  const session = await Session.create(edgeq, { threads: 1, backend: backend as 'auto', profile: true });
  const xs = inputs(model, 4);
  for (let i = 0; i < 20; i++) await session.run(xs[0]!);
  session.profile({ reset: true });
  // Per run: run()'s time and each op's (the profile read and cleared after every run), so that the
  // figures are medians (a loaded machine's outliers would dominate means).
  const total: number[] = [];
  const perOp: number[][] = model.ops.map(() => []);
  let names: ProfileRow[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await session.run(xs[0]!);
    total.push(performance.now() - t0);
    names = session.profile({ reset: true });
    for (const row of names) perOp[row.op]!.push(row.totalMs);
  }
  const opsPerRun = total.map((_, r) => perOp.reduce((a, v) => a + (v[r] ?? 0), 0));
  const overhead = total.map((t, r) => t - opsPerRun[r]!);
  const rows: ProfileRow[] = names.map((row) => ({ ...row, calls: runs, meanMs: stats(perOp[row.op]!).median, totalMs: stats(perOp[row.op]!).median * runs }));
  const st = stats(total), so = stats(opsPerRun), sv = stats(overhead);
  const mm = (s: ReturnType<typeof stats>, v: number[]) => `median ${s.median.toFixed(3)} ms (min ${s.min.toFixed(3)}, max ${Math.max(...v).toFixed(3)})`;
  console.log(`${o.model}: backend ${session.backend} (asked ${backend}), 1 thread, ${runs} runs; ${wideWeights.length} wide-weight (-w16) tensors`);
  console.log(`run():          ${mm(st, total)}`);
  console.log(`sum of ops:     ${mm(so, opsPerRun)}`);
  console.log(`fixed overhead: ${mm(sv, overhead)} (run() - ops: input quantization, output dequantization, dispatch)`);
  console.log('per op kind and per op: medians over the runs');
  console.log(formatProfile(rows));
  console.log('per op (median ms, MACs, GMAC/s, packing):');
  for (const r of rows) {
    const op = model.ops[r.op]!;
    const macs = convMacs(model, r.op);
    const g = macs ? `${(macs / 1e6).toFixed(2).padStart(7)} M ${(macs / r.meanMs / 1e6).toFixed(2).padStart(6)} GMAC/s` : ''.padEnd(25);
    let pk = op.op === 'conv' ? op.packing : '';
    if (op.op === 'conv' && session.backend === 'relaxed') {
      // A -w16 layer the relaxed backend runs split: its blocks with an outlier stay on the i16 kernels.
      const plan = planConv2d(convShape(op, model.tensors[op.input]!, 1), op.packing);
      const c4 = gemmC4Eligible(plan, model.tensors[op.input]!.dtype, model.tensors[op.output]!.dtype, op.residual !== undefined) && gemmC4Preferred(plan);
      const wide = plan.wide ? wideRelaxedBlocks(plan, model.tensors[op.input]!.dtype, model.blobs[op.weights]!) : undefined;
      if (c4) pk += ` relaxed (${plan.im2col ? 'qu8_conv_im2col_relaxed_4x8c4' : 'qu8_gemm_relaxed_4x8c4'} unless a channel spans 255 values)`;
      else if (wide) pk += ` split: ${wide.length} of ${plan.nBlocks} blocks i16, the rest relaxed`;
      else if (relaxedEligible(plan, model.tensors[op.input]!.dtype, model.blobs[op.weights]!)) pk += ' relaxed';
      else if (dwconvRelaxedEligible(plan, model.tensors[op.input]!.dtype)) pk += ' relaxed (qu8_dwconv_relaxed_c16x4)';
    }
    console.log(`  #${String(r.op).padEnd(3)} ${r.kind.padEnd(30)} ${r.meanMs.toFixed(4).padStart(8)} ms ${g} ${pk}`);
  }
  // The same image as the uint8 input tensor's integers (NHWC, copied in): run() interleaved with the float32 input.
  const [, c, h, w] = model.input.nchw;
  const inT = model.tensors[model.input.tensor]!;
  const q = new Uint8Array(c * h * w);
  for (let p = 0; p < h * w; p++) for (let ch = 0; ch < c; ch++) q[p * c + ch] = Math.round(xs[0]![ch * h * w + p]! / inT.scale) + inT.zeroPoint;
  const plain = await Session.create(edgeq, { threads: 1, backend: backend as 'auto' });
  const same = sha([await plain.run(q)]) === sha([await plain.run(xs[0]!)]);
  const tin: number[][] = [[], []];
  for (let i = 0; i < 20; i++) { await plain.run(q); await plain.run(xs[0]!); }
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < 2; k++) {
      const i = (r + k) % 2;
      const t0 = performance.now();
      await plain.run(i === 0 ? xs[0]! : q);
      tin[i]!.push(performance.now() - t0);
    }
  }
  console.log(`run() by input, no profiling, ${runs} interleaved runs: float32 NCHW ${mm(stats(tin[0]!), tin[0]!)}; uint8 NHWC ${mm(stats(tin[1]!), tin[1]!)}; outputs ${same ? 'bit-identical' : 'DIFFER'}`);
  if (!same) process.exitCode = 1;
  plain.release();
  session.release();

  if (!o.ab) return;
  const builds = await Promise.all([o.ab, resolve('dist/index.js')].map(async (e) => (await import(pathToFileURL(resolve(e)).href)) as Runtime));
  const ss = await Promise.all(builds.map((b) => b.Session.create(edgeq, { threads: 1, backend })));
  const hashes: string[] = [];
  for (const s of ss) { const ys: Float32Array[] = []; for (const x of xs) ys.push(await s.run(x)); hashes.push(sha(ys)); }
  for (let i = 0; i < 20; i++) for (const s of ss) await s.run(xs[0]!);
  const t: number[][] = [[], []];
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < 2; k++) {
      const i = (r + k) % 2;
      const t0 = performance.now();
      await ss[i]!.run(xs[0]!);
      t[i]!.push(performance.now() - t0);
    }
  }
  const ratios = t[0]!.map((a, i) => t[1]![i]! / a);
  ['A ' + o.ab, 'B this checkout'].forEach((name, i) => {
    const s = stats(t[i]!);
    console.log(`${name} (${ss[i]!.backend}): outputs ${hashes[i]}; ${runs} interleaved runs: median ${s.median.toFixed(3)} ms (min ${s.min.toFixed(3)}, max ${Math.max(...t[i]!).toFixed(3)})`);
  });
  console.log(`outputs ${hashes[0] === hashes[1] ? 'bit-identical' : 'DIFFER'}; B/A per pair: median ${stats(ratios).median.toFixed(3)}`);
  for (const s of ss) s.release();
  if (hashes[0] !== hashes[1]) process.exitCode = 1;
}

await main();
