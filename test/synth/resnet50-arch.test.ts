import { describe, expect, it } from 'vitest';
import {
  initResNet50Weights, resnet50Arch, resnet50Convs, resnet50Counts, resnet50ModelDef, resnet50TensorShapes, type ResNet50Weights,
} from '../../tools/synth/resnet50.js';

/** Zero weights of the right sizes: enough to check the graph spelling without calibration. */
function zeroWeights(): ResNet50Weights {
  return new Map(resnet50TensorShapes().map(({ name, dims }) => [name, new Float32Array(dims.reduce((a, b) => a * b, 1))]));
}

function opCounts(ops: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of ops) out[o] = (out[o] ?? 0) + 1;
  return out;
}

describe('ResNet-50 v1.5 architecture', () => {
  it('has torchvision\'s parameter count and 4.09 GMAC at 224', () => {
    const c = resnet50Counts();
    expect(c.params).toBe(25_557_032);          // torchvision parameters(): conv + BN weight/bias + fc
    expect(c.bnBuffers).toBe(53_120);           // running_mean + running_var
    expect(c.initializerElements).toBe(25_610_152);
    expect(c.macs).toBe(4_089_184_256);         // conv + fc multiply-accumulates
    expect(c.convs).toBe(53);
    expect(resnet50TensorShapes().length).toBe(267); // state_dict without num_batches_tracked
  });

  it('puts the stride on the 3x3 conv (v1.5) and projects on block 0 of each layer', () => {
    const arch = resnet50Arch();
    expect(arch.stem).toMatchObject({ cin: 3, cout: 64, k: 7, stride: 2, pad: 3, outSize: 112 });
    expect(arch.poolSize).toBe(56);
    expect(arch.blocks.map((b) => b.layer)).toEqual([1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4]);
    const l2 = arch.blocks[3]!;
    expect([l2.conv1.stride, l2.conv2.stride, l2.downsample!.stride]).toEqual([1, 2, 2]);
    expect(arch.blocks[0]!.downsample).toMatchObject({ cin: 64, cout: 256, stride: 1, k: 1 });
    expect(arch.blocks.filter((b) => b.downsample).length).toBe(4);
    expect(arch.blocks.map((b) => b.outSize)).toEqual([56, 56, 56, 28, 28, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7, 7]);
    expect(arch.blocks.at(-1)!.conv3.cout).toBe(2048);
    expect(resnet50Convs().map((c) => c.key).slice(0, 5)).toEqual(['conv1', 'layer1.0.conv1', 'layer1.0.conv2', 'layer1.0.conv3', 'layer1.0.downsample.0']);
  });

  it('spells the torchvision graph: opset 13, state_dict names, Flatten + Gemm', () => {
    const m = resnet50ModelDef(zeroWeights(), 'torchvision');
    expect(m.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expect(opCounts(m.graph.nodes.map((n) => n.opType))).toEqual({
      Conv: 53, BatchNormalization: 53, Relu: 49, MaxPool: 1, Add: 16, GlobalAveragePool: 1, Flatten: 1, Gemm: 1,
    });
    expect(m.graph.initializers.size).toBe(267);
    expect(m.graph.initializers.get('layer1.0.conv1.weight')!.dims).toEqual([64, 64, 1, 1]);
    expect(m.graph.initializers.get('layer2.0.downsample.1.running_var')!.dims).toEqual([512]);
    expect(m.graph.initializers.get('fc.weight')!.dims).toEqual([1000, 2048]);
    expect(m.graph.nodes.find((n) => n.opType === 'Gemm')!.attributes.transB).toEqual({ type: 'int', value: 1 });
    expect(m.graph.nodes.some((n) => n.opType === 'Conv' && n.inputs.length !== 2)).toBe(false);
    expect(m.graph.inputs).toEqual([{ name: 'input', dataType: 'float32', dims: [1, 3, 224, 224] }]);
    expect(m.graph.outputs[0]!.name).toBe('logits');
    let elements = 0;
    for (const t of m.graph.initializers.values()) elements += t.data.length;
    expect(elements).toBe(25_610_152);
  });

  it('spells the zoo graph: opset 7, gluon names, Reshape with an int64 shape, BN without spatial', () => {
    const m = resnet50ModelDef(zeroWeights(), 'zoo');
    expect(m.opsetImports).toEqual([{ domain: '', version: 7 }]);
    expect(m.irVersion).toBe(3);
    const ops = opCounts(m.graph.nodes.map((n) => n.opType));
    expect(ops).toMatchObject({ Conv: 53, BatchNormalization: 53, Relu: 49, Add: 16, Reshape: 1, Gemm: 1 });
    expect(ops.Flatten).toBeUndefined();
    expect(m.graph.initializers.has('resnetv17_conv0_weight')).toBe(true);
    expect(m.graph.initializers.has('resnetv17_stage1_conv3_weight')).toBe(true); // layer1.0 downsample
    expect(m.graph.initializers.has('resnetv17_stage4_batchnorm9_running_var')).toBe(true);
    expect(m.graph.initializers.get('resnetv17_flatten0_shape')!.data).toEqual(new BigInt64Array([0n, -1n]));
    const bn = m.graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
    expect(Object.keys(bn.attributes).sort()).toEqual(['epsilon', 'momentum']);
    expect(m.graph.inputs[0]!.name).toBe('data');
    // Same weights object: the zoo conv0 weight is torchvision's conv1.weight.
    const w = zeroWeights();
    expect(resnet50ModelDef(w, 'zoo').graph.initializers.get('resnetv17_conv0_weight')!.data).toBe(w.get('conv1.weight'));
  });

  it('draws seeded He-normal weights: another seed gives other draws', () => {
    const a = initResNet50Weights(1), c = initResNet50Weights(2);
    expect(a.size).toBe(53 * 3);
    for (const k of ['conv1.weight', 'layer4.2.conv3.weight', 'layer2.0.bn2.weight', 'layer3.1.bn2.bias']) {
      expect(Buffer.from(a.get(k)!.buffer).equals(Buffer.from(c.get(k)!.buffer)), k).toBe(false);
    }
    // He-normal: std sqrt(2 / fan_in); layer3.0.conv2 has fan_in 256 * 9.
    const w = a.get('layer3.0.conv2.weight')!;
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std / Math.sqrt(2 / (256 * 9))).toBeCloseTo(1, 1);
    // Damped last BN of each residual branch.
    for (const g of a.get('layer2.1.bn3.weight')!) expect(g >= 0.2 && g <= 0.3).toBe(true);
  });
});
