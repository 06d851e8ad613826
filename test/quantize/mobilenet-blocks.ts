// MobileNetV2-style ONNX test models built in code: depthwise 3x3 convs (group == channels) in
// inverted-residual blocks. Used by the depthwise quantizer test and the relaxed backend's Deno run.
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import { attr, type ModelDef } from '../../tools/onnx/model.js';
import { makeFloatTensor } from '../../tools/onnx/tensor.js';
import { Rng } from '../../tools/synth/random.js';

/** Input height and width of mobilenetBlocks(). */
export const SIZE = 8;

/** A depthwise 3x3 Conv (group == channels, weights [C, 1, 3, 3]) with a bias, pads 1. */
export function depthwise(g: PatternGraph, x: string, c: number, stride: number): string {
  const w = `dw_w${g.nodes.length}`, b = `dw_b${g.nodes.length}`;
  g.inits.push(makeFloatTensor(w, [c, 1, 3, 3], Float32Array.from({ length: c * 9 }, () => Math.sqrt(2 / 9) * g.rng.normal())));
  g.inits.push(makeFloatTensor(b, [c], Float32Array.from({ length: c }, () => g.rng.uniform(-0.2, 0.2))));
  return g.node('Conv', [x, w, b], {
    kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([stride, stride]), group: attr.int(c),
  })[0];
}

/**
 * stem 3x3 3->16 + Relu; block 1 (stride 1, residual): 1x1 16->48 + Relu, depthwise 3x3 48 + Relu,
 * 1x1 48->16, Add; block 2 (stride 2): 1x1 16->40 + Relu, depthwise 3x3 s2 40 + Relu, 1x1 40->24.
 * 40 and 48 channels: two full 16-lane blocks plus an 8-channel tail, and three full blocks.
 */
export function mobilenetBlocks(seed: number): ModelDef {
  const g = new PatternGraph(new Rng(seed), SIZE);
  const stem = g.link(g.conv('input', 3, 16), 'Relu');
  const e1 = g.link(g.conv(stem, 16, 48, 1), 'Relu');
  const d1 = g.link(depthwise(g, e1, 48, 1), 'Relu');
  const b1 = g.add(g.conv(d1, 48, 16, 1), stem);
  const e2 = g.link(g.conv(b1, 16, 40, 1), 'Relu');
  const d2 = g.link(depthwise(g, e2, 40, 2), 'Relu');
  const out = g.conv(d2, 40, 24, 1);
  return g.model(out, [1, 24, SIZE / 2, SIZE / 2]);
}
