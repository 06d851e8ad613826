// Run by test/kernels/wide-relaxed-model.test.ts under Deno: each .edgeq file named on the command
// line (TFLite imports with -w16 layers) through Session backend 'relaxed' (1 and 2 threads) and
// 'simd' in one process. Prints one JSON line: the probe verdict, per file the convs that run split between the
// relaxed and i16 kernels (wideRelaxedBlocks), the depthwise calls on qu8_dwconv_relaxed_c16x4, the
// 1x1 calls on qu8_gemm_relaxed_4x8c4 (offset weights where the -w16 ones span more than int8), and
// whether every output is bit-identical.
import { readFileSync } from 'node:fs';
import { Session } from '../../src/index.js';
import { readEdgeq } from '../../src/format/reader.js';
import { planConv2d } from '../../src/kernels/conv.js';
import { probeRelaxedDot } from '../../src/kernels/relaxed-probe.js';
import { wideRelaxedBlocks } from '../../src/kernels/relaxed.js';
import { convShape } from '../../src/ops/conv.js';

const argv = (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
const verdict = probeRelaxedDot();
const files: { file: string; wide: number; split: number; dwRelaxed: number; c4: number; runs: number; same: boolean; threads2: number }[] = [];
try {
  if (verdict !== 'none') {
    for (const file of argv) {
      const bytes = readFileSync(file);
      const model = readEdgeq(bytes);
      let wide = 0, split = 0;
      for (const op of model.ops) {
        if (op.op !== 'conv') continue;
        const plan = planConv2d(convShape(op, model.tensors[op.input]!, 1), op.packing);
        if (!plan.wide) continue;
        wide++;
        if (wideRelaxedBlocks(plan, model.tensors[op.input]!.dtype, model.blobs[op.weights]!)) split++;
      }
      const relaxed = await Session.create(bytes, { backend: 'relaxed', threads: 1 });
      // The kernels the relaxed session's plan calls (private: read for this check only).
      const plan = await (relaxed as unknown as { plan(b: number): Promise<{ calls: { fn: string }[][] }> }).plan(1);
      const dwRelaxed = plan.calls.flat().filter((k) => k.fn === 'qu8_dwconv_relaxed_c16x4').length;
      const c4 = plan.calls.flat().filter((k) => k.fn === 'qu8_gemm_relaxed_4x8c4').length;
      const simd = await Session.create(bytes, { backend: 'simd', threads: 1 });
      // Two threads: a split layer's parts are cut again at its wide blocks.
      const relaxed2 = await Session.create(bytes, { backend: 'relaxed', threads: 2 });
      const [, c, h, w] = model.input.nchw;
      let seed = 3, same = true, runs = 0;
      for (let i = 0; i < 3; i++) {
        // Inputs over the whole float range the input quantization maps onto 0..255, and beyond.
        const x = Float32Array.from({ length: c * h * w }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2.2 - 1.1);
        const a = await relaxed.run(x), b = await simd.run(x), a2 = await relaxed2.run(x);
        runs++;
        for (const y of [a, a2]) if (y.length !== b.length || y.some((v, j) => !Object.is(v, b[j]))) same = false;
      }
      files.push({ file, wide, split, dwRelaxed, c4, runs, same, threads2: relaxed2.threads });
      relaxed.release(); simd.release(); relaxed2.release();
    }
  }
  console.log(JSON.stringify({ verdict, files }));
} catch (err) {
  console.log(JSON.stringify({ verdict, files, error: (err as Error).message }));
}
