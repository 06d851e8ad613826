// The page side of bench/tflite-web.ts: TensorFlow Lite's WASM runtime (tfjs-tflite, its XNNPACK
// delegate) and edgeq's browser Session in one page, fed the very same uint8 NHWC pixels.
// window.tfliteWeb = { load, classify, time } is driven by bench/tflite-web/harness.ts:
//   load({ threads, input, cut }) models from /full.tflite (the file), /cut.tflite (when `cut`: its graph
//                            output moved to the softmax's input, the uint8 logits) and /model.edgeq,
//                            at each thread count; pixels from /inputs.bin (image i at i * pixelsPerImage)
//   classify({ first, count, threads }) -> per image: TFLite's uint8 logits and softmax output,
//                            edgeq's logits (float)
//   time({ image, runs, warmup, threads }) -> per thread count, each engine's run times in ms, interleaved,
//                            and for edgeq's pool (threads > 1) its barrier sleeps per timed run (main, workers)
import { Session } from 'edgeq';

const state = { tfl: new Map(), edgeq: new Map(), pixels: undefined, per: 0, input: undefined };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function bytes(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return r.arrayBuffer();
}

/** A TFLite tensor's shape as numbers (tfjs-tflite gives it as an array-like or a comma-separated string). */
const shapeOf = (tensor) => String(tensor.shape).split(',').map(Number);

/**
 * One TFLite model runner: copies the pixels in, runs, returns (a copy of) output 0. An int8 input
 * tensor gets each uint8 value minus 128 (edgeq stores int8 activations as uint8 i + 128, so both
 * engines see the same integers).
 */
function tfliteRunner(model) {
  const runner = model.modelRunner;
  const input = runner.getInputs()[0];
  if (input.dataType !== 'uint8' && input.dataType !== 'int8') throw new Error(`TFLite input is ${input.dataType}, not uint8 or int8`);
  const shifted = input.dataType === 'int8' ? new Int8Array(shapeOf(input).reduce((a, b) => a * b, 1)) : undefined;
  return {
    input,
    run(px) {
      if (shifted) {
        for (let i = 0; i < shifted.length; i++) shifted[i] = px[i] - 128;
        input.data().set(shifted);
      } else {
        input.data().set(px);
      }
      if (!runner.infer()) throw new Error('TFLite infer() failed');
      return runner.getOutputs()[0].data().slice();
    },
  };
}

async function load({ threads, input, cut: withCut }) {
  globalThis.tflite.setWasmPath('/');
  const [full, edgeq, pixels, cut] = await Promise.all(['/full.tflite', '/model.edgeq', '/inputs.bin',
    ...withCut ? ['/cut.tflite'] : []].map(bytes));
  state.pixels = new Uint8Array(pixels);
  state.input = input;
  state.per = input.shape[1] * input.shape[2] * input.shape[3];
  for (const t of threads) {
    const full1 = tfliteRunner(await globalThis.tflite.loadTFLiteModel(full.slice(0), { numThreads: t }));
    const cut1 = cut && tfliteRunner(await globalThis.tflite.loadTFLiteModel(cut.slice(0), { numThreads: t }));
    state.tfl.set(t, { full: full1, cut: cut1 });
    state.edgeq.set(t, await Session.create(new Uint8Array(edgeq), { threads: t }));
  }
  const s = state.edgeq.get(threads[0]);
  return {
    isolated: globalThis.crossOriginIsolated, images: state.pixels.length / state.per,
    edgeq: threads.map((t) => ({ asked: t, threads: state.edgeq.get(t).threads, threadsUsed: state.edgeq.get(t).threadsUsed, backend: state.edgeq.get(t).backend })),
    tfliteInput: { shape: shapeOf(state.tfl.get(threads[0]).full.input), type: state.tfl.get(threads[0]).full.input.dataType },
    edgeqInput: s.model.input.nchw,
    userAgent: navigator.userAgent,
  };
}

function pixelsOf(i) {
  return state.pixels.subarray(i * state.per, (i + 1) * state.per);
}

async function classify({ first, count, threads }) {
  const out = [];
  for (let i = first; i < first + count; i++) {
    const px = pixelsOf(i);
    const t = state.tfl.get(threads);
    if (!t.cut) throw new Error('classify needs the page loaded with { cut: true }');
    const logits = t.cut.run(px), softmax = t.full.run(px);
    const e = await state.edgeq.get(threads).run(px); // the uint8 input tensor's integers, NHWC: TFLite's very input
    out.push({ tflite: Array.from(logits), softmax: Array.from(softmax), edgeq: Array.from(e) });
  }
  return out;
}

/**
 * Interleaved timing on image `image`: each round runs, for each thread count, TFLite (the file,
 * softmax included: copy in, infer, copy out) and edgeq (run(Uint8Array): copy the pixels in, the
 * kernels, dequantize the logits; no softmax, a few microseconds over 1001 values), in an order that alternates by round; `idle` ms
 * (default 5) between timed runs so neither engine's worker threads still spin during the other's run.
 */
async function time({ image, runs, warmup, threads, idle = 5 }) {
  const px = pixelsOf(image);
  const res = Object.fromEntries(threads.map((t) => [t, { tflite: [], edgeq: [] }]));
  // Diagnostics: the session's pool (a private field) counts the op barriers each thread slept at.
  const sleeps = (t) => state.edgeq.get(t).pool?.sleepCounts?.() ?? [];
  const before = {};
  for (let round = -warmup; round < runs; round++) {
    for (const t of threads) {
      const engines = [
        ['tflite', async () => state.tfl.get(t).full.run(px)],
        ['edgeq', () => state.edgeq.get(t).run(px)],
      ];
      if (round % 2 !== 0) engines.reverse();
      if (round === 0) before[t] = sleeps(t);
      for (const [name, run] of engines) {
        await sleep(idle);
        const t0 = performance.now();
        await run();
        const ms = performance.now() - t0;
        if (round >= 0) res[t][name].push(ms);
      }
    }
  }
  for (const t of threads) {
    const now = sleeps(t);
    // sleepCounts() lists the workers first, the calling thread last.
    if (now.length > 0) res[t].edgeqSleeps = { main: (now.at(-1) - before[t].at(-1)) / runs, workers: now.slice(0, -1).map((c, i) => (c - before[t][i]) / runs) };
  }
  return res;
}

globalThis.tfliteWeb = { load, classify, time };
document.body.dataset.state = 'ready';
