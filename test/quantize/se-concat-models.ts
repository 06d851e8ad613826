// ONNX test models with the squeeze-and-excitation Mul, channel Concat and pooling windows, built in
// code with the project's graph builder: an SE block (MobileNetV3-Small style), a SqueezeNet fire
// module (squeeze 1x1 -> expand 1x1 and expand 3x3 -> Concat) after a ceil-mode MaxPool, and an
// Inception-style block (1x1, 3x3 and AveragePool -> 1x1 branches -> Concat, then AveragePool).
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import { attr, type ModelDef } from '../../tools/onnx/model.js';
import { patternOf } from '../../tools/quantize/ops/registry.js';
import { Rng } from '../../tools/synth/random.js';
import { depthwise } from './mobilenet-blocks.js';

/** The SE gate's activation: HardSigmoid where the quantizer fuses it into a conv, else Relu. */
export const SE_GATE: 'HardSigmoid' | 'Relu' = patternOf({ opType: 'HardSigmoid' }) ? 'HardSigmoid' : 'Relu';

/** x -> GlobalAveragePool -> 1x1 (C -> C/r) -> Relu -> 1x1 (C/r -> C) -> gate -> Mul(x, gate). */
export function seBlock(g: PatternGraph, x: string, c: number, r = 4, gateFirst = false): string {
  const s = g.node('GlobalAveragePool', [x])[0];
  const h = g.link(g.conv(s, c, Math.max(1, c / r), 1), 'Relu');
  const z = g.conv(h, Math.max(1, c / r), c, 1);
  const gate = SE_GATE === 'HardSigmoid' ? g.node('HardSigmoid', [z], { alpha: attr.float(1 / 6), beta: attr.float(0.5) })[0] : g.link(z, 'Relu');
  return g.node('Mul', gateFirst ? [gate, x] : [x, gate])[0];
}

/** stem 3x3 3->16 + Relu, expand 1x1 16->24 + Relu, depthwise 3x3 24 + Relu, SE(24), project 1x1 24->16, classifier head when `head`. */
export function seModel(seed: number, size = 8, head = false): ModelDef {
  const g = new PatternGraph(new Rng(seed), size);
  const stem = g.link(g.conv('input', 3, 16), 'Relu');
  const e = g.link(g.conv(stem, 16, 24, 1), 'Relu');
  const d = g.link(depthwise(g, e, 24, 1), 'Relu');
  const m = seBlock(g, d, 24, 4, seed % 2 === 1);
  const out = g.conv(m, 24, 16, 1);
  return head ? g.model(g.head(out, 16), [1, 4]) : g.model(out, [1, 16, size, size]);
}

/** A fire module: squeeze 1x1 cin->s + Relu, expand 1x1 s->e and expand 3x3 s->e (+ Relu each), Concat. */
export function fire(g: PatternGraph, x: string, cin: number, s: number, e: number): string {
  const sq = g.link(g.conv(x, cin, s, 1), 'Relu');
  const e1 = g.link(g.conv(sq, s, e, 1), 'Relu');
  const e3 = g.link(g.conv(sq, s, e, 3), 'Relu');
  return g.node('Concat', [e1, e3], { axis: attr.int(1) })[0];
}

/** stem 3x3 3->16 + Relu, MaxPool 3x3/2 ceil_mode 1, fire(16 -> 8 -> 2x12), fire(24 -> 8 -> 2x20), 1x1 40->8. */
export function squeezeModel(seed: number, size = 8, head = false): ModelDef {
  const g = new PatternGraph(new Rng(seed), size);
  const stem = g.link(g.conv('input', 3, 16), 'Relu');
  const p = g.node('MaxPool', [stem], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1) })[0];
  const f1 = fire(g, p, 16, 8, 12);
  const f2 = fire(g, f1, 24, 8, 20);
  const out = g.conv(f2, 40, 8, 1);
  const s = Math.ceil((size - 3) / 2) + 1;
  return head ? g.model(g.head(out, 8), [1, 4]) : g.model(out, [1, 8, s, s]);
}

/**
 * stem 3x3 3->16 + Relu; branches 1x1 16->8, 3x3 16->8, AveragePool 3x3/1 pads 1 (count_include_pad
 * `include`) -> 1x1 16->8; Concat (24); AveragePool 2x2/2 ceil_mode 1 (count_include_pad 0); 1x1 24->8.
 */
export function inceptionModel(seed: number, size = 9, include = false): ModelDef {
  const g = new PatternGraph(new Rng(seed), size);
  const stem = g.link(g.conv('input', 3, 16), 'Relu');
  const b1 = g.link(g.conv(stem, 16, 8, 1), 'Relu');
  const b2 = g.link(g.conv(stem, 16, 8, 3), 'Relu');
  const ap = g.node('AveragePool', [stem], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([1, 1]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.int(include ? 1 : 0) })[0];
  const b3 = g.link(g.conv(ap, 16, 8, 1), 'Relu');
  const cat = g.node('Concat', [b1, b2, b3], { axis: attr.int(1) })[0];
  const down = g.node('AveragePool', [cat], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), ceil_mode: attr.int(1), count_include_pad: attr.int(0) })[0];
  const out = g.conv(down, 24, 8, 1);
  const s = Math.ceil((size - 2) / 2) + 1;
  return g.model(out, [1, 8, s, s]);
}

/** g.conv with its weights and bias multiplied by `factor` (a branch with a wider or narrower range). */
function scaledConv(g: PatternGraph, x: string, cin: number, cout: number, k: 1 | 3, factor: number): string {
  const y = g.conv(x, cin, cout, k);
  for (const t of g.inits.slice(-2)) (t.data as Float32Array).forEach((v, i, a) => { a[i] = v * factor; });
  return y;
}

/**
 * stem 3x3 3->16 + Relu; Concat of Relu(1x1 16->8, weights x4), the stem and Relu(3x3 16->8,
 * weights x0.25): ranges far apart, so the inputs are requantized into the output; 1x1 32->8.
 */
export function requantConcatModel(seed: number, size = 8): ModelDef {
  const g = new PatternGraph(new Rng(seed), size);
  const stem = g.link(g.conv('input', 3, 16), 'Relu');
  const wide = g.link(scaledConv(g, stem, 16, 8, 1, 4), 'Relu');
  const narrow = g.link(scaledConv(g, stem, 16, 8, 3, 0.25), 'Relu');
  const cat = g.node('Concat', [wide, stem, narrow], { axis: attr.int(-3) })[0];
  return g.model(g.conv(cat, 32, 8, 1), [1, 8, size, size]);
}
