import { describe, expect, it } from 'vitest';
import {
  initMobileNetWeights, makeDivisible, mobileNetArch, mobileNetConvs, mobileNetCounts, mobileNetModelDef, mobileNetTensorShapes,
  type MobileNetName, type MobileNetWeights,
} from '../../tools/synth/mobilenet.js';

/** Zero weights of the right sizes: enough to check the graph spelling without calibration. */
function zeroWeights(name: MobileNetName): MobileNetWeights {
  return new Map(mobileNetTensorShapes(mobileNetArch(name)).map(({ name: n, dims }) => [n, new Float32Array(dims.reduce((a, b) => a * b, 1))]));
}

function opCounts(ops: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of ops) out[o] = (out[o] ?? 0) + 1;
  return out;
}

describe('MobileNetV2 1.0 architecture', () => {
  const arch = mobileNetArch('mobilenetv2');

  it('has torchvision\'s parameter count and 300.8 MMAC at 224', () => {
    const c = mobileNetCounts(arch);
    expect(c.params).toBe(3_504_872);            // torchvision mobilenet_v2().parameters()
    expect(c.convs).toBe(52);
    expect(c.depthwise).toBe(17);
    expect(c.macs).toBe(300_774_272);            // conv + classifier multiply-accumulates
    expect(c.initializerElements).toBe(c.params + c.bnBuffers);
  });

  it('stacks 17 inverted residuals (t, c, n, s) with the stride on the depthwise conv and 10 residual adds', () => {
    expect(arch.stem).toMatchObject({ key: 'features.0.0', cin: 3, cout: 32, k: 3, stride: 2, outSize: 112, act: 'relu6' });
    expect(arch.blocks.length).toBe(17);
    expect(arch.blocks.map((b) => b.project.cout)).toEqual([16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320]);
    expect(arch.blocks.map((b) => b.outSize)).toEqual([112, 56, 56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7]);
    expect(arch.blocks.filter((b) => b.residual).length).toBe(10);
    expect(arch.blocks[0]!.expand).toBeUndefined();
    expect(arch.blocks[0]!.dw).toMatchObject({ key: 'features.1.conv.0.0', group: 32, k: 3 });
    expect(arch.blocks[0]!.project).toMatchObject({ key: 'features.1.conv.1', bn: 'features.1.conv.2', act: 'none' });
    expect(arch.blocks[1]!.expand).toMatchObject({ key: 'features.2.conv.0.0', cin: 16, cout: 96 });
    expect(arch.blocks[1]!.dw).toMatchObject({ key: 'features.2.conv.1.0', group: 96, stride: 2, outSize: 56 });
    expect(arch.blocks[1]!.project).toMatchObject({ key: 'features.2.conv.2', bn: 'features.2.conv.3' });
    expect(arch.last).toMatchObject({ key: 'features.18.0', cin: 320, cout: 1280 });
    expect(arch.head).toEqual([{ key: 'classifier.1', cin: 1280, cout: 1000 }]);
  });

  it('spells the torch export: Clip(min, max) for ReLU6, Add for residuals, Flatten + Dropout + Gemm', () => {
    const m = mobileNetModelDef('mobilenetv2', zeroWeights('mobilenetv2'));
    expect(m.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expect(opCounts(m.graph.nodes.map((n) => n.opType))).toEqual({
      Conv: 52, BatchNormalization: 52, Clip: 35, Add: 10, GlobalAveragePool: 1, Flatten: 1, Dropout: 1, Gemm: 1,
    });
    const clip = m.graph.nodes.find((n) => n.opType === 'Clip')!;
    expect(clip.inputs.slice(1).map((i) => m.graph.initializers.get(i)!.data[0])).toEqual([0, 6]);
    const dw = m.graph.nodes.find((n) => n.name === 'features.2.conv.1.0')!;
    expect(dw.attributes.group).toEqual({ type: 'int', value: 96 });
    expect(m.graph.initializers.get('features.2.conv.1.0.weight')!.dims).toEqual([96, 1, 3, 3]);
    const drop = m.graph.nodes.find((n) => n.opType === 'Dropout')!;
    expect(m.graph.initializers.get(drop.inputs[1]!)!.data[0]).toBeCloseTo(0.2, 6);
    expect(m.graph.nodes.at(-1)).toMatchObject({ opType: 'Gemm', inputs: [drop.outputs[0], 'classifier.1.weight', 'classifier.1.bias'], outputs: ['logits'] });
    let elements = 0;
    for (const [n, t] of m.graph.initializers) if (!n.startsWith('relu6.') && !n.startsWith('classifier.dropout')) elements += t.data.length;
    expect(elements).toBe(mobileNetCounts(arch).initializerElements);
  });
});

describe('MobileNetV3-Small architecture', () => {
  const arch = mobileNetArch('mobilenetv3-small');

  it('has torchvision\'s parameter count', () => {
    const c = mobileNetCounts(arch);
    expect(c.params).toBe(2_542_856);            // torchvision mobilenet_v3_small().parameters()
    expect(c.convs).toBe(34);
    expect(c.depthwise).toBe(11);
    expect([16, 72, 96, 240, 120, 144, 288, 576].map((v) => makeDivisible(v / 4))).toEqual([8, 24, 24, 64, 32, 40, 72, 144]);
  });

  it('has 5x5 depthwise convs, SE on 9 blocks, Hardswish after block 3, 576 -> 1024 -> 1000 head', () => {
    expect(arch.stem).toMatchObject({ cout: 16, stride: 2, act: 'hardswish' });
    expect(arch.blocks.map((b) => b.dw.k)).toEqual([3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5]);
    expect(arch.blocks.map((b) => b.dw.act)).toEqual(['relu', 'relu', 'relu', ...Array(8).fill('hardswish')]);
    expect(arch.blocks.filter((b) => b.se).length).toBe(9);
    expect(arch.blocks.map((b) => b.outSize)).toEqual([56, 28, 28, 14, 14, 14, 14, 14, 7, 7, 7]);
    expect(arch.blocks.filter((b) => b.residual).map((b) => b.index)).toEqual([3, 5, 6, 8, 10, 11]);
    expect(arch.blocks[0]).toMatchObject({ dw: { key: 'features.1.block.0.0' }, se: { key: 'features.1.block.1', squeeze: 8 }, project: { key: 'features.1.block.2.0' } });
    expect(arch.blocks[1]).toMatchObject({ expand: { key: 'features.2.block.0.0' }, dw: { key: 'features.2.block.1.0' }, project: { key: 'features.2.block.2.0' } });
    expect(arch.blocks[3]).toMatchObject({ se: { key: 'features.4.block.2', channels: 96, squeeze: 24 }, project: { key: 'features.4.block.3.0' } });
    expect(arch.last).toMatchObject({ key: 'features.12.0', cin: 96, cout: 576 });
    expect(mobileNetConvs(arch).filter((c) => c.group > 1).every((c) => c.group === c.cin && c.cin === c.cout)).toBe(true);
  });

  it('spells Hardswish as HardSigmoid(1/6, 0.5) + Mul and SE as GAP -> Conv -> Relu -> Conv -> HardSigmoid -> Mul', () => {
    const m = mobileNetModelDef('mobilenetv3-small', zeroWeights('mobilenetv3-small'));
    const ops = opCounts(m.graph.nodes.map((n) => n.opType));
    // Hardswish: stem, 8 x (dw) + 6 expands (blocks 4..11 less the one without expansion: none), last conv, classifier.
    const hswish = 1 + 8 + 8 + 1 + 1;
    expect(ops).toEqual({
      Conv: 34 + 18, BatchNormalization: 34, Relu: 3 + 2 + 9, HardSigmoid: hswish + 9, Mul: hswish + 9,
      Add: 6, GlobalAveragePool: 10, Flatten: 1, Dropout: 1, Gemm: 2,
    });
    const hs = m.graph.nodes.find((n) => n.opType === 'HardSigmoid')!;
    expect(hs.attributes.alpha!.value).toBeCloseTo(1 / 6, 7);
    expect(hs.attributes.beta).toEqual({ type: 'float', value: 0.5 });
    const mul = m.graph.nodes.find((n) => n.name === 'features.1.block.1.mul')!;
    expect(mul.inputs).toEqual(['features.1.block.1.hardsigmoid_out', 'features.1.block.0.1.relu_out']);
    expect(m.graph.nodes.find((n) => n.name === 'features.4.block.1.0')!.attributes.kernel_shape).toEqual({ type: 'ints', value: [5, 5] });
    expect(m.graph.nodes.slice(-5).map((n) => n.opType)).toEqual(['Gemm', 'HardSigmoid', 'Mul', 'Dropout', 'Gemm']);
  });

  it('draws seeded weights: another seed gives other draws; the damped projection BN of residual blocks', () => {
    const a = initMobileNetWeights(arch, 1), b = initMobileNetWeights(arch, 2);
    for (const k of ['features.0.0.weight', 'features.4.block.1.0.weight', 'features.4.block.2.fc2.weight', 'features.9.block.3.1.bias']) {
      expect(Buffer.from(a.get(k)!.buffer).equals(Buffer.from(b.get(k)!.buffer)), k).toBe(false);
    }
    for (const g of a.get('features.5.block.3.1.weight')!) expect(g >= 0.2 && g <= 0.3).toBe(true);
    const w = a.get('features.4.block.1.0.weight')!;   // depthwise 5x5: fan_in 25
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std / Math.sqrt(2 / 25)).toBeCloseTo(1, 1);
  });
});

describe('edgeq synth / bench --model: the embedded MobileNets by name', () => {
  it('bench picks an embedded model by name (resnet50 without --model), a file otherwise', async () => {
    const { embeddedBenchModel } = await import('../../tools/cli/bench.js');
    expect(embeddedBenchModel(undefined)).toBe('resnet50');
    expect(embeddedBenchModel('mobilenetv2')).toBe('mobilenetv2');
    expect(embeddedBenchModel('mobilenetv3-small')).toBe('mobilenetv3-small');
    expect(embeddedBenchModel('mobilenetv2.onnx')).toBeUndefined();
    expect(embeddedBenchModel('mobilenetv4')).toBeUndefined();
  });

  it('synth rejects an unknown architecture naming the available ones', async () => {
    const { synthCommand } = await import('../../tools/cli/synth.js');
    await expect(synthCommand('mobilenetv4', { output: '/tmp/edgeq-synth-unused.onnx', seed: 0, style: 'torchvision' })).rejects.toMatchObject({
      code: 'BAD_OPTION', message: 'unknown architecture "mobilenetv4" (available: resnet50, mobilenetv2, mobilenetv3-small)',
    });
  });
});
