// Kernel benchmark: GMAC/s of the qu8 convolution kernels on ResNet-50's layer shapes, beside
// the peak of a bare i32x4.dot_i16x8_s loop (register-resident data) measured in the same run,
// and the conv+fc time of a whole ResNet-50 (batch 1) summed from its distinct layer shapes; then
// MobileNetV2's depthwise 3x3 shapes through qu8_dwconv_c16 beside the grouped IGEMM path; and
// MobileNetV2's pointwise shapes with int8 weights beside int16 ones (the -w16 packings).
// Relaxed depthwise rows: deno run -A bench/dist/kernels.js --depthwise --wasm build/edgeq-relaxed.wasm
//   npm run build:wasm && npm run build:ts && node bench/dist/kernels.js [--time 400] [--scalar] [--batch 1] [--json out.json] [--all] [--depthwise] [--wide] [--wasm file]
// --depthwise: only the peak and the depthwise rows. --wide: only the peak and the int8 / int16 weight rows.
// --wasm: measure another SIMD build (A/B).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import {
  PACKING_DWCONV, PACKING_GEMM, conv2dCalls, dwconvRelaxedEligible, packDwconvRelaxed, probeRelaxedDot, expandWideWeights, instantiateKernels, packConv, packConvWeights, packGeometry, packWinogradFromDirect, planConv2d, planWinograd, prepareConv2d,
  runCalls, winogradEligible, winogradPreferred, type Conv2dShape, type Kernels,
} from 'edgeq/kernels';
import { defaultWinogradBudget, withinWinogradBudget } from 'edgeq/runtime';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface KernelSuiteOptions {
  /** tinybench time budget per task, ms (default 400). */
  timeMs?: number;
  batch?: number;
  scalar?: boolean;
  /** Print every layer shape, not only the featured ones. */
  all?: boolean;
  json?: string;
  /** Only the peak and MobileNetV2's depthwise rows. */
  depthwiseOnly?: boolean;
  /** Only the peak and the int8 vs int16 (-w16) weight rows. */
  wideOnly?: boolean;
  /** The SIMD kernel module to measure (default build/edgeq-simd.wasm): an A/B of two builds. */
  wasm?: string;
  log?: (line: string) => void;
}

interface Layer {
  name: string;
  /** occurrences in ResNet-50 */
  count: number;
  featured: boolean;
  inHW: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  f32out?: boolean;
}

const L = (name: string, count: number, inHW: number, cin: number, cout: number, k: number, s: number, featured = false, f32out = false): Layer =>
  ({ name, count, featured, inHW, cin, cout, k, s, f32out });

// ResNet-50 v1.5 (stride in the 3x3), every conv by distinct shape, with its count.
const layers: Layer[] = [
  L('stem 7x7/2 3->64 @224', 1, 224, 3, 64, 7, 2, true),
  L('l1 1x1 64->64 @56', 1, 56, 64, 64, 1, 1, true),
  L('l1 3x3 64->64 @56', 3, 56, 64, 64, 3, 1, true),
  L('l1 1x1 64->256 @56', 4, 56, 64, 256, 1, 1, true), // 3 expansions + the downsample
  L('l1 1x1 256->64 @56', 2, 56, 256, 64, 1, 1),
  L('l2 1x1 256->128 @56', 1, 56, 256, 128, 1, 1),
  L('l2 3x3/2 128->128 @56', 1, 56, 128, 128, 3, 2, true),
  L('l2 1x1/2 256->512 @56', 1, 56, 256, 512, 1, 2),
  L('l2 1x1 128->512 @28', 4, 28, 128, 512, 1, 1),
  L('l2 1x1 512->128 @28', 3, 28, 512, 128, 1, 1),
  L('l2 3x3 128->128 @28', 3, 28, 128, 128, 3, 1),
  L('l3 1x1 512->256 @28', 1, 28, 512, 256, 1, 1),
  L('l3 3x3/2 256->256 @28', 1, 28, 256, 256, 3, 2),
  L('l3 1x1/2 512->1024 @28', 1, 28, 512, 1024, 1, 2),
  L('l3 1x1 256->1024 @14', 6, 14, 256, 1024, 1, 1),
  L('l3 1x1 1024->256 @14', 5, 14, 1024, 256, 1, 1),
  L('l3 3x3 256->256 @14', 5, 14, 256, 256, 3, 1, true),
  L('l4 1x1 1024->512 @14', 1, 14, 1024, 512, 1, 1),
  L('l4 3x3/2 512->512 @14', 1, 14, 512, 512, 3, 2),
  L('l4 1x1/2 1024->2048 @14', 1, 14, 1024, 2048, 1, 2),
  L('l4 1x1 512->2048 @7', 3, 7, 512, 2048, 1, 1),
  L('l4 1x1 2048->512 @7', 2, 7, 2048, 512, 1, 1, true),
  L('l4 3x3 512->512 @7', 2, 7, 512, 512, 3, 1),
  L('fc 2048->1000 (f32 out)', 1, 1, 2048, 1000, 1, 1, true, true),
];

// MobileNetV2's depthwise 3x3 convolutions (input size, channels, stride), pads k / 2; cin = cout = group.
const depthwiseLayers: Layer[] = [
  L('mv2 dw3x3 32 @112', 1, 112, 32, 32, 3, 1, true),
  L('mv2 dw3x3/2 96 @112', 1, 112, 96, 96, 3, 2, true),
  L('mv2 dw3x3 144 @56', 1, 56, 144, 144, 3, 1, true),
  L('mv2 dw3x3 192 @28', 1, 28, 192, 192, 3, 1, true),
  L('mv2 dw3x3 384 @14', 1, 14, 384, 384, 3, 1, true),
  L('mv2 dw3x3 576 @14', 1, 14, 576, 576, 3, 1, true),
  L('mv2 dw3x3 960 @7', 1, 7, 960, 960, 3, 1, true),
  // MobileNetV3-Small's: 5x5 (25 taps), and channel counts with an 8-channel tail (72, 120).
  L('mv3s dw3x3/2 72 @56', 1, 56, 72, 72, 3, 2, true),
  L('mv3s dw5x5/2 96 @28', 1, 28, 96, 96, 5, 2, true),
  L('mv3s dw5x5 240 @14', 1, 14, 240, 240, 5, 1, true),
  L('mv3s dw5x5 120 @14', 1, 14, 120, 120, 5, 1, true),
];

// MobileNetV2 1.0 224 pointwise (1x1) convolutions, run with int8 weights and with int16 (-w16) ones.
const wideLayers: Layer[] = [
  L('mv2 1x1 16->96 @112', 1, 112, 16, 96, 1, 1, true),
  L('mv2 1x1 24->144 @56', 1, 56, 24, 144, 1, 1, true),
  L('mv2 1x1 144->24 @56', 1, 56, 144, 24, 1, 1, true),
  L('mv2 1x1 192->32 @28', 1, 28, 192, 32, 1, 1, true),
  L('mv2 1x1 96->576 @14', 1, 14, 96, 576, 1, 1, true),
  L('mv2 1x1 576->96 @14', 1, 14, 576, 96, 1, 1, true),
  L('mv2 1x1 320->1280 @7', 1, 7, 320, 1280, 1, 1, true),
];

/**
 * The layers the runtime's Winograd 'auto' takes for ResNet-50: the eligible and preferred ones,
 * through the runtime's own budget rule (src/runtime/plan.ts, withinWinogradBudget).
 */
function autoWinogradLayers(batch: number, scalar: boolean): Set<Layer> {
  const chosen = new Set<Layer>();
  if (scalar) return chosen;
  const blobBytes = (l: Layer) => packGeometry({ outChannels: l.cout, inChannels: l.cin, kernel: [l.k, l.k], group: 1 }).bytes;
  const weightBytes = layers.reduce((n, l) => n + l.count * blobBytes(l), 0);
  const candidates = layers.filter((l) => !l.f32out && winogradEligible(shapeOf(l, batch)) && winogradPreferred(shapeOf(l, batch)))
    .map((l) => ({ l, growth: l.count * (32 * l.cout * l.cin - blobBytes(l)) }));
  for (const { l } of withinWinogradBudget(candidates, defaultWinogradBudget(weightBytes))) chosen.add(l);
  return chosen;
}

function shapeOf(l: Layer, batch: number): Conv2dShape {
  const p = l.k >> 1;
  return {
    batch, inH: l.inHW, inW: l.inHW, inChannels: l.cin, outChannels: l.cout, kernel: [l.k, l.k],
    stride: [l.s, l.s], pads: [p, p, p, p],
  };
}

export async function runKernelSuite(o: KernelSuiteOptions = {}): Promise<void> {
  const timeMs = o.timeMs ?? 400, batch = o.batch ?? 1, scalar = o.scalar ?? false, showAll = o.all ?? false, jsonOut = o.json ?? '';
  const log = o.log ?? ((line: string) => console.log(line));
  const wasmPath = o.wasm && !scalar ? o.wasm : join(root, 'build', scalar ? 'edgeq-scalar.wasm' : 'edgeq-simd.wasm');
  const memory = new WebAssembly.Memory({ initial: 4096 }); // 256 MiB
  const k: Kernels = await instantiateKernels(readFileSync(wasmPath), memory);
  const u8 = new Uint8Array(memory.buffer);
  let top = 4096;
  const alloc = (n: number): number => {
    const at = top;
    top = Math.ceil((at + n + 64) / 64) * 64;
    if (top > u8.length) throw new Error('bench memory exhausted');
    return at;
  };
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 255;

  const bench = new Bench({ time: timeMs, warmupTime: 100, iterations: 5 });
  // Peak: bare dot loop, 12 independent chains per iteration, from the benchmark probe module
  // (assembly/bench/peak.ts; not part of the shipped kernel builds).
  const probePath = join(root, 'build', scalar ? 'edgeq-bench-scalar.wasm' : 'edgeq-bench-simd.wasm');
  const probe = (await WebAssembly.instantiate(readFileSync(probePath), {
    env: { abort: () => { throw new Error('benchmark probe aborted'); } },
  })).instance.exports as unknown as { peak_dot(n: number, seed: number): number };
  const peakIters = 2_000_000;
  bench.add('peak: bare i32x4.dot_i16x8_s loop', () => { probe.peak_dot(peakIters, 3); });

  // `chosen`: the variant the runtime runs for this layer (counted in the whole-network total).
  const runs: { layer: Layer; macs: number; strategy: string; winograd?: boolean; chosen: boolean }[] = [];
  const winoChosen = autoWinogradLayers(batch, scalar);
  for (const l of o.depthwiseOnly || o.wideOnly ? [] : layers) {
    const shape = shapeOf(l, batch);
    const plan = planConv2d(shape);
    const input = alloc(batch * l.inHW * l.inHW * l.cin);
    for (let i = 0; i < batch * l.inHW * l.inHW * l.cin; i++) u8[input + i] = rnd();
    const w = new Int8Array(l.cout * l.k * l.k * l.cin);
    for (let i = 0; i < w.length; i++) w[i] = Math.max(-127, rnd() - 128);
    const mult = new Float32Array(l.cout).fill(1 / (64 * Math.sqrt(l.k * l.k * l.cin)));
    const blob = packConvWeights({ outChannels: l.cout, inChannels: l.cin, kernel: [l.k, l.k], group: 1, weights: w, multipliers: mult, inputZeroPoint: 3 });
    const weights = alloc(blob.length);
    u8.set(blob, weights);
    const run = prepareConv2d(k, {
      shape, inputZeroPoint: 3, outputZeroPoint: 128, outputType: l.f32out ? 'float32' : 'uint8',
      buffers: {
        input, weights, output: alloc(plan.outputElements * (l.f32out ? 4 : 1)),
        indirection: plan.indirectionBytes ? alloc(plan.indirectionBytes) : undefined,
        zero: plan.zeroBytes ? alloc(plan.zeroBytes) : undefined,
        scratch: plan.scratchBytes ? alloc(plan.scratchBytes) : undefined,
      },
    });
    const macs = plan.M * l.cout * l.k * l.k * l.cin;
    const wino = winoChosen.has(l);
    runs.push({ layer: l, macs, strategy: plan.strategy, chosen: !wino });
    bench.add(l.name, run);
    if (l.featured && !l.f32out && l.cin % 8 === 0) {
      // The same layer with 12-bit activations in and out (16-bit lanes; never Winograd).
      const shape12: Conv2dShape = { ...shape, inputType: 'uint12' };
      const plan12 = planConv2d(shape12);
      const input12 = alloc(2 * batch * l.inHW * l.inHW * l.cin);
      const x16 = new Uint16Array(memory.buffer, input12, batch * l.inHW * l.inHW * l.cin);
      for (let i = 0; i < x16.length; i++) x16[i] = (rnd() << 4) | (rnd() & 15);
      const run12 = prepareConv2d(k, {
        shape: shape12, inputZeroPoint: 3, outputZeroPoint: 2048, outputType: 'uint12',
        buffers: {
          input: input12, weights, output: alloc(plan12.outputElements * 2),
          indirection: plan12.indirectionBytes ? alloc(plan12.indirectionBytes) : undefined,
          zero: plan12.zeroBytes ? alloc(plan12.zeroBytes) : undefined,
        },
      });
      runs.push({ layer: { ...l, name: `${l.name} a12` }, macs, strategy: `${plan12.strategy}`, chosen: false });
      bench.add(`${l.name} a12`, run12);
    }
    if (!scalar && !l.f32out && winogradEligible(shape)) {
      // The same layer as exact Winograd F(2x2, 3x3) (same weights; direct-equivalent MACs counted).
      const wp = planWinograd(shape, plan.outH, plan.outW);
      const wblob = packWinogradFromDirect(blob, l.cout, l.cin);
      const ww = alloc(wblob.length);
      u8.set(wblob, ww);
      const calls = conv2dCalls(k, {
        shape, inputZeroPoint: 3, outputZeroPoint: 128, winograd: { weights: ww },
        buffers: { input, weights, output: alloc(plan.outputElements), scratch: alloc(wp.scratchBytes) },
      });
      runs.push({ layer: { ...l, name: `${l.name} wino` }, macs, strategy: wino ? 'wino*' : 'wino', winograd: true, chosen: wino });
      bench.add(`${l.name} wino`, () => runCalls(k, calls));
    }
  }

  // Depthwise: the same weights packed qu8-dwconv-c16 (qu8_dwconv_c16) and qu8-gemm-2x4c8 (grouped IGEMM),
  // and with a relaxed build (--wasm build/edgeq-relaxed.wasm) in an engine whose relaxed dot the
  // probe classifies, through qu8_dwconv_relaxed_c16x4.
  const relaxedVerdict = k.relaxed ? probeRelaxedDot() : 'none';
  const relaxedMode = relaxedVerdict === 'none' ? undefined : relaxedVerdict;
  for (const l of o.wideOnly ? [] : depthwiseLayers) {
    const C = l.cin;
    const shape: Conv2dShape = { ...shapeOf(l, batch), group: C };
    const input = alloc(batch * l.inHW * l.inHW * C);
    for (let i = 0; i < batch * l.inHW * l.inHW * C; i++) u8[input + i] = rnd();
    const taps = l.k * l.k;
    const w = new Int8Array(C * taps);
    for (let i = 0; i < w.length; i++) w[i] = Math.max(-127, rnd() - 128);
    const mult = new Float32Array(C).fill(1 / (64 * l.k));
    for (const packing of [PACKING_DWCONV, PACKING_GEMM]) {
      const plan = planConv2d(shape, packing);
      const blob = packConvWeights({ outChannels: C, inChannels: C, kernel: [l.k, l.k], group: C, weights: w, multipliers: mult, inputZeroPoint: 3, packing });
      const weights = alloc(blob.length);
      u8.set(blob, weights);
      const run = prepareConv2d(k, {
        shape, packing, inputZeroPoint: 3, outputZeroPoint: 128, outMin: 128,
        buffers: {
          input, weights, output: alloc(plan.outputElements),
          indirection: alloc(plan.indirectionBytes), zero: plan.zeroBytes ? alloc(plan.zeroBytes) : undefined,
        },
      });
      runs.push({ layer: { ...l, name: packing === PACKING_GEMM ? `${l.name} grouped` : l.name }, macs: plan.M * C * taps, strategy: plan.strategy, chosen: false });
      bench.add(`${l.name} ${packing}`, run);
      if (packing === PACKING_DWCONV && relaxedMode && dwconvRelaxedEligible(plan, 'uint8')) {
        // The same layer on qu8_dwconv_relaxed_c16x4 (its c16x4 form beside the blob).
        const rblob = packDwconvRelaxed(blob, taps, relaxedMode);
        const wr = alloc(rblob.length);
        u8.set(rblob, wr);
        const runRelaxed = prepareConv2d(k, {
          shape, packing, inputZeroPoint: 3, outputZeroPoint: 128, outMin: 128, relaxed: relaxedMode, dwconvRelaxed: { weights: wr },
          buffers: {
            input, weights, output: alloc(plan.outputElements),
            indirection: alloc(plan.indirectionBytes), zero: plan.zeroBytes ? alloc(plan.zeroBytes) : undefined,
          },
        });
        runs.push({ layer: { ...l, name: `${l.name} relaxed` }, macs: plan.M * C * taps, strategy: 'dwconv-r', chosen: false });
        bench.add(`${l.name} relaxed`, runRelaxed);
      }
    }
  }

  // The same pointwise layer with int8 weights (qu8-gemm-2x4c8) and int16 ones in [-255, 255]
  // (qu8-gemm-2x4c8-w16, expanded to the kernels' int16 blocks as the conv op does at load).
  for (const l of o.depthwiseOnly ? [] : wideLayers) {
    const shape = shapeOf(l, batch);
    const input = alloc(batch * l.inHW * l.inHW * l.cin);
    for (let i = 0; i < batch * l.inHW * l.inHW * l.cin; i++) u8[input + i] = rnd();
    const n = l.cout * l.cin;
    const w8 = Int8Array.from({ length: n }, () => Math.max(-127, rnd() - 128));
    const w16 = Int16Array.from({ length: n }, () => rnd() - rnd());
    w16[0] = 255; // at least one weight outside int8: the -w16 packing
    const mult = new Float32Array(l.cout).fill(1 / (128 * Math.sqrt(l.cin)));
    for (const weightsOf of [w8, w16]) {
      const packed = packConv({ outChannels: l.cout, inChannels: l.cin, kernel: [1, 1], group: 1, weights: weightsOf, multipliers: mult, inputZeroPoint: 3 });
      const plan = planConv2d(shape, packed.packing);
      const blob = plan.wide ? expandWideWeights(packed.blob, plan) : packed.blob;
      const weights = alloc(blob.length);
      u8.set(blob, weights);
      const run = prepareConv2d(k, {
        shape, packing: packed.packing, inputZeroPoint: 3, outputZeroPoint: 128,
        buffers: { input, weights, output: alloc(plan.outputElements) },
      });
      const tag = plan.wide ? 'w16' : 'w8';
      runs.push({ layer: { ...l, name: `${l.name} ${tag}` }, macs: plan.M * l.cout * l.cin, strategy: plan.strategy, chosen: false });
      bench.add(`${l.name} ${tag}`, run);
    }
  }

  await bench.run();

  const results: Record<string, unknown>[] = [];
  const peakTask = bench.tasks[0]!;
  const peakStats = 'latency' in peakTask.result ? peakTask.result.latency : undefined;
  // SIMD: 12 dots x 8 MAC per iteration; the scalar build's loop does 12 i32 multiply-adds.
  const peakMacs = peakIters * 12 * (k.simd ? 8 : 1);
  const peakMed = peakStats ? peakMacs / peakStats.p50 / 1e6 : NaN;
  const peakBest = peakStats ? peakMacs / peakStats.min / 1e6 : NaN;
  log(`edgeq kernels (${scalar ? 'scalar' : 'SIMD'} build${o.wasm && !scalar ? ` ${o.wasm}` : ''}), batch ${batch}, tinybench time ${timeMs} ms per task, node ${process.version}`);
  log(`peak (bare dot loop): ${peakMed.toFixed(1)} GMAC/s median, ${peakBest.toFixed(1)} best`);
  log('');
  log('layer'.padEnd(28) + 'strategy'.padEnd(9) + 'MMAC'.padStart(8) + 'ms p50'.padStart(9) + 'ms min'.padStart(9) +
    'GMAC/s p50'.padStart(12) + 'GMAC/s best'.padStart(13) + '  best/peak' + '  x count');
  let totalMed = 0, totalBest = 0, totalMacs = 0;
  for (const [i, r] of runs.entries()) {
    const task = bench.tasks[i + 1]!;
    if (!('latency' in task.result)) throw new Error(`${r.layer.name}: ${task.result.state}`);
    const st = task.result.latency;
    const gm = r.macs / st.p50 / 1e6, gb = r.macs / st.min / 1e6;
    if (r.chosen) {
      totalMed += st.p50 * r.layer.count;
      totalBest += st.min * r.layer.count;
      totalMacs += r.macs * r.layer.count;
    }
    results.push({ layer: r.layer.name, strategy: r.strategy, macs: r.macs, msP50: st.p50, msMin: st.min, gmacsP50: gm, gmacsBest: gb, count: r.layer.count, samples: st.samplesCount });
    if (!showAll && !r.layer.featured) continue;
    log(r.layer.name.padEnd(28) + r.strategy.padEnd(9) + (r.macs / 1e6).toFixed(1).padStart(8) +
      st.p50.toFixed(3).padStart(9) + st.min.toFixed(3).padStart(9) + gm.toFixed(2).padStart(12) + gb.toFixed(2).padStart(13) +
      `${((100 * gb) / peakBest).toFixed(0).padStart(10)}%` + `  x${r.layer.count}`);
  }
  log('');
  log('(dwconv: MobileNetV2 / MobileNetV3-Small depthwise through qu8_dwconv_c16; "grouped": the same layer through the grouped IGEMM, useful MACs counted;');
  log(` dwconv-r: the same layer through qu8_dwconv_relaxed_c16x4 (relaxed build and an exact relaxed dot only; this engine: ${relaxedVerdict});`);
  log(' neither is in the ResNet-50 total)');
  log('(wino: exact Winograd F(2x2, 3x3) of the layer above, GMAC/s in direct-convolution MACs; wino* = what the runtime picks;');
  log(' a12: the layer with 12-bit activations in and out, 16-bit lanes, direct kernels only;');
  log(' w8 / w16: a MobileNetV2 pointwise layer with int8 weights (qu8-gemm-2x4c8) and int16 ones (qu8-gemm-2x4c8-w16), not in the total)');
  if (totalMacs > 0) log(`ResNet-50 convs + fc, the runtime's choice per layer (${(totalMacs / 1e9).toFixed(2)} GMAC at batch ${batch}): ` +
    `${totalMed.toFixed(1)} ms from medians (${(totalMacs / totalMed / 1e6).toFixed(2)} GMAC/s), ` +
    `${totalBest.toFixed(1)} ms from bests (${(totalMacs / totalBest / 1e6).toFixed(2)} GMAC/s)`);
  if (jsonOut) {
    writeFileSync(jsonOut, JSON.stringify({ node: process.version, build: scalar ? 'scalar' : 'simd', batch, peakGmacsP50: peakMed, peakGmacsBest: peakBest, totalMsP50: totalMed, totalMsBest: totalBest, totalMacs, layers: results }, null, 2));
  }
}

// Run as a script: node bench/dist/kernels.js [--time 400] [--scalar] [--batch 1] [--json out.json] [--all]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1]! : dflt;
  };
  runKernelSuite({
    timeMs: Number(opt('time', '400')), batch: Number(opt('batch', '1')), scalar: args.includes('--scalar'),
    all: args.includes('--all'), json: opt('json', ''), depthwiseOnly: args.includes('--depthwise'), wideOnly: args.includes('--wide'), wasm: opt('wasm', '') || undefined,
  }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
