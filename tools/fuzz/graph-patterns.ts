// Graph-pattern generation: small fp32 ONNX CNNs built from the node patterns graph preparation must
// handle (tools/quantize/ops/): activation chains (Relu, LeakyRelu, Clip(0, ...) in any order) with
// Identity/Dropout between the links, a tensor feeding several consumers, outputs nothing reads (a
// Dropout's mask, dead branches, even of ops the quantizer does not support) and pass-throughs
// before the graph output. Unlike mutated bytes, every model here is valid ONNX; the quantizer must
// map it or reject it with a typed EdgeqError (never INTERNAL). PatternGraph builds them by hand
// (tests), patternModel(seed) at random (the pattern fuzzer, pattern-campaign.ts).
import { attr, makeGraph, makeModel, makeNode, makeValueInfo, type ModelDef, type NodeDef, type TensorValue } from '../onnx/model.js';
import { makeFloatTensor } from '../onnx/tensor.js';
import { Rng } from '../synth/random.js';

export type ActivationLink = 'Relu' | 'LeakyRelu' | 'Clip' | 'Identity' | 'Dropout' | 'DropoutWithMask';

/** A graph under construction: tensors are named t0, t1, ... in creation order. */
export class PatternGraph {
  readonly nodes: NodeDef[] = [];
  readonly inits: TensorValue[] = [];
  private count = 0;
  constructor(readonly rng: Rng, readonly size = 8, readonly inChannels = 3) {}

  private fresh(prefix: string): string { return `${prefix}${this.count++}`; }

  node(opType: string, inputs: string[], attrs: Parameters<typeof makeNode>[3] = {}, outputs = 1): string[] {
    const name = this.fresh(`${opType.toLowerCase()}_`);
    const outs = Array.from({ length: outputs }, () => this.fresh('t'));
    this.nodes.push(makeNode(opType, inputs, outs, attrs, name));
    return outs;
  }

  /** A same-padded 3x3 (or 1x1) conv with a bias; He-scaled normal weights. */
  conv(x: string, cin: number, cout: number, k: 1 | 3 = 3): string {
    const w = this.fresh('w'), b = this.fresh('b');
    const per = cin * k * k;
    this.inits.push(makeFloatTensor(w, [cout, cin, k, k], Float32Array.from({ length: cout * per }, () => Math.sqrt(2 / per) * this.rng.normal())));
    this.inits.push(makeFloatTensor(b, [cout], Float32Array.from({ length: cout }, () => this.rng.uniform(-0.2, 0.2))));
    const p = (k - 1) >> 1;
    return this.node('Conv', [x, w, b], { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]) })[0];
  }

  /** One link of an activation chain (Clip is Clip(0, 6) through opset-13 inputs). */
  link(x: string, kind: ActivationLink): string {
    switch (kind) {
      case 'Relu': case 'Identity': return this.node(kind, [x])[0];
      case 'LeakyRelu': return this.node('LeakyRelu', [x], { alpha: attr.float(this.rng.int(2) ? 0.1 : 0.25) })[0];
      case 'Clip': {
        const lo = this.fresh('clip_min'), hi = this.fresh('clip_max');
        this.inits.push(makeFloatTensor(lo, [], [0]), makeFloatTensor(hi, [], [6]));
        return this.node('Clip', [x, lo, hi])[0];
      }
      case 'Dropout': return this.node('Dropout', [x])[0];
      case 'DropoutWithMask': return this.node('Dropout', [x], {}, 2)[0]; // the mask output is never read
    }
  }

  chain(x: string, links: readonly ActivationLink[]): string {
    return links.reduce((t, l) => this.link(t, l), x);
  }

  add(a: string, b: string): string { return this.node('Add', [a, b])[0]; }
  maxPool(x: string): string {
    return this.node('MaxPool', [x], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([1, 1]), pads: attr.ints([0, 0, 1, 1]) })[0];
  }

  /** GlobalAveragePool -> Flatten -> Gemm to `classes` logits. */
  head(x: string, channels: number, classes = 4): string {
    const flat = this.node('Flatten', this.node('GlobalAveragePool', [x]), { axis: attr.int(1) })[0];
    const w = this.fresh('fc_w'), b = this.fresh('fc_b');
    this.inits.push(makeFloatTensor(w, [classes, channels], Float32Array.from({ length: classes * channels }, () => 0.5 * this.rng.normal())));
    this.inits.push(makeFloatTensor(b, [classes], Float32Array.from({ length: classes }, () => this.rng.uniform(-0.1, 0.1))));
    return this.node('Gemm', [flat, w, b], { transB: attr.int(1) })[0];
  }

  /** The model with input "input" [1, inChannels, size, size] and `output` as its only output. */
  model(output: string, outputDims: number[]): ModelDef {
    return makeModel(makeGraph({
      name: 'pattern', nodes: this.nodes, initializers: this.inits,
      inputs: [makeValueInfo('input', 'float32', [1, this.inChannels, this.size, this.size])],
      outputs: [makeValueInfo(output, 'float32', outputDims)],
    }), { opset: 13 });
  }
}

const LINKS: readonly ActivationLink[] = ['Relu', 'LeakyRelu', 'Clip', 'Identity', 'Dropout', 'DropoutWithMask'];
const DEAD_OPS = ['Conv', 'Relu', 'Sigmoid'] as const;

/**
 * A random pattern graph: a stem conv, 1..4 blocks (an activation chain of 1..5 links, a fan-out into
 * two convs joined by an Add, a max pool, a dead branch, an Identity before a conv), then a classifier
 * head or the last tensor (possibly through an Identity) as the output. `patterns` names what it holds.
 */
export function patternModel(seed: number): { model: ModelDef; patterns: string[] } {
  const rng = new Rng(seed * 104729 + 3);
  const g = new PatternGraph(rng, 6 + rng.int(5));
  const c = 2 + rng.int(5);
  const patterns: string[] = [];
  let x = g.conv('input', 3, c);
  const blocks = 1 + rng.int(4);
  for (let i = 0; i < blocks; i++) {
    switch (rng.int(5)) {
      case 0: {
        const links = Array.from({ length: 1 + rng.int(5) }, () => LINKS[rng.int(LINKS.length)]!);
        patterns.push(`chain(${links.join(',')})`);
        x = g.chain(x, links);
        break;
      }
      case 1: {
        const a = g.conv(x, c, c, 1), b = g.conv(x, c, c);
        const links = rng.int(2) ? ['Relu' as const] : [];
        patterns.push(`fan-out${links.length ? '+relu' : ''}`);
        x = g.chain(g.add(a, b), links);
        x = g.conv(x, c, c); // an Add's output then feeds a conv
        break;
      }
      case 2:
        patterns.push('maxpool');
        x = g.conv(g.maxPool(x), c, c);
        break;
      case 3: {
        const op = DEAD_OPS[rng.int(DEAD_OPS.length)]!;
        patterns.push(`dead-${op}`);
        if (op === 'Conv') g.conv(x, c, c, 1); else g.node(op, [x]);
        break;
      }
      case 4:
        patterns.push('identity-conv');
        x = g.conv(g.link(x, 'Identity'), c, c);
        break;
    }
  }
  if (rng.int(2)) {
    patterns.push('head');
    return { model: g.model(g.head(x, c), [1, 4]), patterns };
  }
  if (rng.int(2)) { patterns.push('identity-output'); x = g.link(x, 'Identity'); }
  return { model: g.model(x, [1, c, g.size, g.size]), patterns };
}
