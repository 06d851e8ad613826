// Both spellings of the embedded ResNet-50 map to the same int8 graph with the same folded weights.
import { describe, expect, it } from 'vitest';
import { readOnnx } from '../../tools/onnx/reader.js';
import { getEmbeddedModel } from '../../tools/synth/cache-node.js';
import { prepareGraph, type FConv } from '../../tools/quantize/prepare.js';

describe('embedded ResNet-50 preparation', () => {
  it('torchvision and zoo spellings give the same ops and folded weights', async () => {
    const tv = prepareGraph(readOnnx((await getEmbeddedModel({ style: 'torchvision' })).bytes));
    const zoo = prepareGraph(readOnnx((await getEmbeddedModel({ style: 'zoo' })).bytes));
    expect(tv.ops.map((o) => o.op)).toEqual(zoo.ops.map((o) => o.op));
    const count = (op: string) => tv.ops.filter((o) => o.op === op).length;
    expect([count('conv'), count('add'), count('maxpool'), count('gap')]).toEqual([54, 16, 1, 1]); // 53 convs + the fc
    const a = tv.ops.filter((o): o is FConv => o.op === 'conv');
    const b = zoo.ops.filter((o): o is FConv => o.op === 'conv');
    let macs = 0;
    for (let i = 0; i < a.length; i++) {
      expect(a[i].activation).toEqual(b[i].activation);
      expect([a[i].kernel, a[i].stride, a[i].pads]).toEqual([b[i].kernel, b[i].stride, b[i].pads]);
      let maxDiff = 0;
      for (let j = 0; j < a[i].weights.length; j += 97) maxDiff = Math.max(maxDiff, Math.abs(a[i].weights[j] - b[i].weights[j]));
      expect(maxDiff).toBeLessThan(1e-5);
      const out = tv.shapes.get(a[i].output)!;
      macs += out.slice(1).reduce((x, y) => x * y, 1) * (a[i].inChannels / a[i].group) * a[i].kernel[0] * a[i].kernel[1];
    }
    expect(macs / 1e9).toBeCloseTo(4.09, 2);
  }, 300_000);
});
