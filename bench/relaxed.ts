// Relaxed-SIMD kernels against the i16 kernels, in an engine whose relaxed dot is exact (Deno on
// x64 with AVX-VNNI, see probeRelaxedDot()). Both from the one relaxed build (its i16 kernels are
// edgeq-simd.wasm's code), interleaved per layer:
//  1. GMAC/s of qu8_[i]gemm / qu8_conv_im2col (2x4c8, i32x4.dot_i16x8_s) vs their relaxed 2x4c16
//     forms and, for 1x1 GEMMs and im2col stems, the relaxed 4x8c4 ones (qu8_gemm_relaxed_4x8c4,
//     qu8_conv_im2col_relaxed_4x8c4) on ResNet-50's layer shapes, a MobileNetV2 stem and MobileNet
//     v1 0.25/128's layers (batch 1, one thread; outputs compared byte for byte);
//  2. with --model m.edgeq (or --onnx m.onnx, quantized here on synthetic calibration): whole-model
//     latency of Session backend 'relaxed' vs 'simd' in one process, interleaved, same logits.
//   deno run -A --sloppy-imports --import-map=test/deno-import-map.json bench/relaxed.ts [--time 300] [--onnx ../shared/models/darknet-tiny/model.onnx] [--runs 20]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  conv2dCalls, gemmC4Eligible, instantiateKernels, packGemmRelaxed4x8c4, packConvWeights, packWinogradFromDirect, planConv2d, planWinograd, probeRelaxedDot, relaxedEligible,
  repackedRelaxedCopy, runCalls, winogradEligible, type Conv2dShape, type KernelCall,
} from 'edgeq/kernels';
import { Session } from 'edgeq';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const opt = (name: string, def?: string): string | undefined => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : def; };
const timeMs = Number(opt('time', '300'));

// ResNet-50 v1.5 layer shapes [name, count, inHW, cin, cout, k, s] (bench/kernels.ts' list, less the fc),
// MobileNetV2's 3x3 RGB stem and MobileNet v1 0.25/128's stem and 1x1 layers (count 0: not in the
// sum). The stems run as im2col + GEMM.
const LAYERS: [string, number, number, number, number, number, number][] = [
  ['stem 7x7/2 3->64 @224', 1, 224, 3, 64, 7, 2], ['mv2 stem 3x3/2 3->32 @224', 0, 224, 3, 32, 3, 2],
  ['l1 1x1 64->64 @56', 1, 56, 64, 64, 1, 1], ['l1 3x3 64->64 @56', 3, 56, 64, 64, 3, 1], ['l1 1x1 64->256 @56', 4, 56, 64, 256, 1, 1],
  ['l1 1x1 256->64 @56', 2, 56, 256, 64, 1, 1], ['l2 1x1 256->128 @56', 1, 56, 256, 128, 1, 1], ['l2 3x3/2 128->128 @56', 1, 56, 128, 128, 3, 2],
  ['l2 1x1/2 256->512 @56', 1, 56, 256, 512, 1, 2], ['l2 1x1 128->512 @28', 4, 28, 128, 512, 1, 1], ['l2 1x1 512->128 @28', 3, 28, 512, 128, 1, 1],
  ['l2 3x3 128->128 @28', 3, 28, 128, 128, 3, 1], ['l3 1x1 512->256 @28', 1, 28, 512, 256, 1, 1], ['l3 3x3/2 256->256 @28', 1, 28, 256, 256, 3, 2],
  ['l3 1x1/2 512->1024 @28', 1, 28, 512, 1024, 1, 2], ['l3 1x1 256->1024 @14', 6, 14, 256, 1024, 1, 1], ['l3 1x1 1024->256 @14', 5, 14, 1024, 256, 1, 1],
  ['l3 3x3 256->256 @14', 5, 14, 256, 256, 3, 1], ['l4 1x1 1024->512 @14', 1, 14, 1024, 512, 1, 1], ['l4 3x3/2 512->512 @14', 1, 14, 512, 512, 3, 2],
  ['l4 1x1/2 1024->2048 @14', 1, 14, 1024, 2048, 1, 2], ['l4 1x1 512->2048 @7', 3, 7, 512, 2048, 1, 1], ['l4 1x1 2048->512 @7', 2, 7, 2048, 512, 1, 1],
  ['l4 3x3 512->512 @7', 2, 7, 512, 512, 3, 1],
  ['mv1 stem 3x3/2 3->8 @128', 0, 128, 3, 8, 3, 2], ['mv1 1x1 8->16 @64', 0, 64, 8, 16, 1, 1], ['mv1 1x1 16->32 @32', 0, 32, 16, 32, 1, 1],
  ['mv1 1x1 32->32 @32', 0, 32, 32, 32, 1, 1], ['mv1 1x1 64->64 @16', 0, 16, 64, 64, 1, 1], ['mv1 1x1 128->128 @8', 0, 8, 128, 128, 1, 1],
  ['mv1 1x1 256->256 @4', 0, 4, 256, 256, 1, 1],
];

/** Median ms per call of `f`, over rounds of at least `ms`. */
function timeIt(f: () => void, ms: number): number {
  let n = 1;
  for (let t0 = performance.now(); performance.now() - t0 < 20; n++) f();
  const per: number[] = [];
  const t1 = performance.now();
  while (performance.now() - t1 < ms || per.length < 5) {
    const t = performance.now(); f(); per.push(performance.now() - t);
  }
  per.sort((a, b) => a - b);
  return per[per.length >> 1]!;
}

async function kernels(): Promise<void> {
  const verdict = probeRelaxedDot();
  if (verdict === 'none') { console.log('relaxed dot not exact in this engine (probe: none): nothing to measure'); return; }
  const memory = new WebAssembly.Memory({ initial: 2048 });
  const k = await instantiateKernels(readFileSync(join(root, 'build', 'edgeq-relaxed.wasm')), memory);
  const u8 = new Uint8Array(memory.buffer);
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 255;
  console.log(`probe: ${verdict}; batch 1, 1 thread, median ms per layer (interleaved, ${timeMs} ms per variant per round, best of 3 rounds)`);
  console.log('| layer | x | ms i16 | ms relaxed 2x4c16 | ms relaxed 4x8c4 | GMAC/s i16 | GMAC/s 2x4c16 | GMAC/s 4x8c4 | best relaxed vs i16 | ms Winograd (i16) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  let tot16 = 0, totR = 0, totC4 = 0;
  for (const [name, count, hw, cin, cout, kk, s] of LAYERS) {
    let top = 4096;
    const alloc = (n: number): number => { const at = top; top = Math.ceil((at + n + 64) / 64) * 64; return at; };
    const p = kk >> 1;
    const shape: Conv2dShape = { batch: 1, inH: hw, inW: hw, inChannels: cin, outChannels: cout, kernel: [kk, kk], stride: [s, s], pads: [p, p, p, p] };
    const plan = planConv2d(shape);
    if (!relaxedEligible(plan, 'uint8')) continue;
    const input = alloc(hw * hw * cin);
    for (let i = 0; i < hw * hw * cin; i++) u8[input + i] = rnd();
    const w = Int8Array.from({ length: cout * kk * kk * cin }, () => Math.max(-127, rnd() - 128));
    const blob = packConvWeights({ outChannels: cout, inChannels: cin, kernel: [kk, kk], group: 1, weights: w, multipliers: new Float32Array(cout).fill(1 / (64 * Math.sqrt(kk * kk * cin))), inputZeroPoint: 3 });
    const w16 = alloc(blob.length), wR = alloc(blob.length);
    u8.set(blob, w16); u8.set(repackedRelaxedCopy(blob, plan, verdict), wR);
    const o16 = alloc(plan.outputElements), oR = alloc(plan.outputElements);
    const ind = plan.indirectionBytes ? alloc(plan.indirectionBytes) : undefined;
    const zero = plan.zeroBytes ? alloc(plan.zeroBytes) : undefined;
    const scratch = plan.scratchBytes ? alloc(plan.scratchBytes) : undefined;
    const common = { shape, inputZeroPoint: 3, outputZeroPoint: 128 };
    const c16: KernelCall[] = conv2dCalls(k, { ...common, buffers: { input, weights: w16, output: o16, indirection: ind, zero, scratch } });
    const cR: KernelCall[] = conv2dCalls(k, { ...common, relaxed: verdict, buffers: { input, weights: wR, output: oR, indirection: ind, zero, scratch } });
    // Stride-1 3x3: the exact Winograd F(2x2, 3x3) kernel too (the i16 path's fast variant).
    let cW: KernelCall[] | undefined, oW = 0;
    if (winogradEligible(shape)) {
      const wblob = packWinogradFromDirect(blob, cout, cin);
      const ww = alloc(wblob.length);
      u8.set(wblob, ww);
      oW = alloc(plan.outputElements);
      cW = conv2dCalls(k, { ...common, winograd: { weights: ww }, buffers: { input, weights: w16, output: oW, scratch: alloc(planWinograd(shape, plan.outH, plan.outW).scratchBytes) } });
    }
    // 1x1 GEMMs and flattened im2col layers: the 4x8c4 kernels on their own layout.
    let cC4: KernelCall[] | undefined, oC4 = 0;
    const c4 = gemmC4Eligible(plan, 'uint8', 'uint8', false) ? packGemmRelaxed4x8c4(blob, plan, verdict) : undefined;
    if (c4) {
      const wc = alloc(c4.bytes.length);
      u8.set(c4.bytes, wc);
      oC4 = alloc(plan.outputElements);
      cC4 = conv2dCalls(k, { ...common, relaxed: verdict, gemmC4: { weights: wc, rowSums: c4.rowSums }, buffers: { input, weights: -1, output: oC4, indirection: ind, zero, scratch } });
    }
    let b16 = Infinity, bR = Infinity, bW = Infinity, bC4 = Infinity;
    for (let round = 0; round < 3; round++) {
      b16 = Math.min(b16, timeIt(() => runCalls(k, c16), timeMs));
      bR = Math.min(bR, timeIt(() => runCalls(k, cR), timeMs));
      if (cW) bW = Math.min(bW, timeIt(() => runCalls(k, cW), timeMs));
      if (cC4) bC4 = Math.min(bC4, timeIt(() => runCalls(k, cC4), timeMs));
    }
    if (cC4) for (let i = 0; i < plan.outputElements; i++) if (u8[o16 + i] !== u8[oC4 + i]) throw new Error(`${name}: 4x8c4 output differs at ${i}`);
    if (cW) for (let i = 0; i < plan.outputElements; i++) if (u8[o16 + i] !== u8[oW + i]) throw new Error(`${name}: Winograd output differs at ${i}`);
    for (let i = 0; i < plan.outputElements; i++) if (u8[o16 + i] !== u8[oR + i]) throw new Error(`${name}: outputs differ at ${i}`);
    const macs = plan.M * cout * kk * kk * cin;
    tot16 += count * b16; totR += count * bR; totC4 += count * Math.min(bR, bC4);
    console.log(`| ${name} | ${count} | ${b16.toFixed(3)} | ${bR.toFixed(3)} | ${cC4 ? bC4.toFixed(3) : '-'} | ${(macs / b16 / 1e6).toFixed(1)} | ${(macs / bR / 1e6).toFixed(1)} | ${cC4 ? (macs / bC4 / 1e6).toFixed(1) : '-'} | ${(b16 / Math.min(bR, bC4)).toFixed(2)}x | ${cW ? bW.toFixed(3) : '-'} |`);
  }
  console.log(`sum over ResNet-50's eligible layers (x count): i16 ${tot16.toFixed(1)} ms, relaxed 2x4c16 ${totR.toFixed(1)} ms (${(tot16 / totR).toFixed(2)}x), the faster relaxed kernel per layer ${totC4.toFixed(1)} ms (${(tot16 / totC4).toFixed(2)}x); outputs identical`);
}

async function model(): Promise<void> {
  let bytes: Uint8Array | undefined;
  const m = opt('model'), onnx = opt('onnx');
  let size = 224;
  if (m) bytes = new Uint8Array(readFileSync(m));
  else if (onnx) {
    const { quantizeModel } = await import('edgeq-tools/quantize');
    const calib = Array.from({ length: 4 }, (_, j) => Float32Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i * 0.001 + j) * 0.5 + 0.5));
    bytes = (await quantizeModel(new Uint8Array(readFileSync(onnx)), { calibration: calib, calibrationCount: calib.length })).edgeq;
  } else return;
  const runs = Number(opt('runs', '20'));
  const winograd = (opt('winograd', 'auto')) as 'auto' | 'off' | 'all';
  const rel = await Session.create(bytes, { backend: 'relaxed', threads: 1, winograd });
  const simd = await Session.create(bytes, { backend: 'simd', threads: 1, winograd });
  size = rel.inputShape[2]!;
  const x = Float32Array.from({ length: rel.inputShape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i * 0.003) * 0.5 + 0.5);
  const a0 = await rel.run(x), b0 = await simd.run(x);
  const same = a0.length === b0.length && a0.every((v, i) => Object.is(v, b0[i]));
  for (let i = 0; i < 3; i++) { await rel.run(x); await simd.run(x); }
  const tr: number[] = [], ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now(); await rel.run(x); tr.push(performance.now() - t);
    t = performance.now(); await simd.run(x); ts.push(performance.now() - t);
  }
  const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
  console.log(`model ${m ?? onnx} (winograd ${winograd}): relaxed ${med(tr).toFixed(2)} ms, simd ${med(ts).toFixed(2)} ms (median of ${runs}, interleaved; ${(med(ts) / med(tr)).toFixed(2)}x); logits identical: ${same}; backends ${rel.backend}/${simd.backend}`);
  rel.release(); simd.release();
}

if (!argv.includes('--no-kernels')) await kernels();
await model();
