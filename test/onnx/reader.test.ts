// Reader correctness: tensor values from raw_data and every typed field, Constant values,
// external data, and attribute decoding, checked against an independent decoder.
import { mkdtempSync, readdirSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import {
  attr, makeFloatTensor, makeGraph, makeModel, makeNode, makeTensor, makeValueInfo, readOnnx, readOnnxFile,
  readTensorProto, tensorFromProto, tensorToNumbers, writeOnnx, type TensorValue,
} from '../../tools/onnx/index.js';
import { HAS_ONNX_TESTDATA, ONNX_TESTDATA, warnSkip } from '../helpers.js';

const { onnx } = onnxProto;
type TensorProto = onnxProto.onnx.TensorProto;

warnSkip(HAS_ONNX_TESTDATA, `${ONNX_TESTDATA} is absent; reader checks against the ONNX test data skipped`);

/** Data type codes the oracle (and edgeq) handle, with element size. */
const ORACLE_SIZES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 };

/** An independent decoding of a TensorProto's values: DataView for raw_data, Long.toString for int64. */
function oracleValues(t: TensorProto): (number | bigint)[] {
  const count = t.dims.reduce<number>((n, d) => n * Number(d.toString()), 1);
  const raw = t.rawData;
  if (raw.byteLength > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = ORACLE_SIZES[t.dataType]!;
    return Array.from({ length: raw.byteLength / size }, (_, i) => {
      const at = i * size;
      switch (t.dataType) {
        case 1: return view.getFloat32(at, true);
        case 2: case 9: return view.getUint8(at);
        case 3: return view.getInt8(at);
        case 4: case 10: return view.getUint16(at, true);
        case 5: return view.getInt16(at, true);
        case 6: return view.getInt32(at, true);
        case 7: return view.getBigInt64(at, true);
        case 11: return view.getFloat64(at, true);
        case 12: return view.getUint32(at, true);
        default: return view.getBigUint64(at, true);
      }
    });
  }
  const longs = (values: unknown[]): bigint[] => values.map((v) => BigInt(String(v)));
  switch (t.dataType) {
    case 1: return [...t.floatData].map((v) => Math.fround(v));
    case 7: return longs(t.int64Data);
    case 11: return [...t.doubleData];
    case 12: return t.uint64Data.map((v) => Number(String(v)));
    case 13: return longs(t.uint64Data);
    default: return count === 0 ? [] : [...t.int32Data];
  }
}

function edgeqValues(t: TensorValue): (number | bigint)[] {
  return Array.from(t.data as ArrayLike<number | bigint>);
}

function listTestModels(): string[] {
  if (!HAS_ONNX_TESTDATA) return [];
  return ['node', 'pytorch-converted', 'pytorch-operator', 'simple'].flatMap((folder) => {
    const dir = join(ONNX_TESTDATA, folder);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((name) => join(dir, name)).filter((d) => existsSync(join(d, 'model.onnx')));
  });
}

describe.skipIf(!HAS_ONNX_TESTDATA)('tensor values of the ONNX test data', () => {
  const caseDirs = listTestModels();

  it('initializers and Constant tensors of every test model match an independent decoding', () => {
    const stored: Record<string, number> = {};
    for (const dir of caseDirs) {
      const proto = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
      const tensors: TensorProto[] = [
        ...proto.graph!.initializer as TensorProto[],
        ...proto.graph!.node!.flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.t ? [a.t as TensorProto] : []))),
      ];
      for (const t of tensors) {
        if (!(t.dataType in ORACLE_SIZES)) continue;
        const kind = `${t.rawData.byteLength > 0 ? 'raw_data' : 'typed field'} ${t.dataType}`;
        stored[kind] = (stored[kind] ?? 0) + 1;
        const value = tensorFromProto(t);
        expect(value.dims).toEqual(t.dims.map((d) => Number(d.toString())));
        expect(edgeqValues(value), `${dir} ${t.name}`).toEqual(oracleValues(t));
      }
    }
    console.log(`[reader] tensors compared by storage and data type: ${JSON.stringify(stored)}`);
    expect(Object.keys(stored).some((k) => k.startsWith('typed field 7'))).toBe(true);
    expect(Object.keys(stored).some((k) => k.startsWith('typed field 1'))).toBe(true);
  });

  it('test-data TensorProto files match an independent decoding', () => {
    let compared = 0;
    for (const dir of caseDirs) {
      const set = join(dir, 'test_data_set_0');
      if (!existsSync(set)) continue;
      for (const file of readdirSync(set).filter((f) => f.endsWith('.pb'))) {
        const bytes = readFileSync(join(set, file));
        let proto: TensorProto;
        try {
          proto = onnx.TensorProto.decode(bytes);
        } catch {
          continue; // sequence / optional protos, not TensorProto
        }
        if (!(proto.dataType in ORACLE_SIZES)) continue;
        // Sequence and optional protos also decode as (garbage) TensorProtos; their counts disagree.
        const expected = oracleValues(proto);
        if (expected.length !== proto.dims.reduce<number>((n, d) => n * Number(d.toString()), 1)) continue;
        expect(edgeqValues(readTensorProto(bytes)), `${set}/${file}`).toEqual(expected);
        compared++;
      }
    }
    console.log(`[reader] ${compared} test-data TensorProto files compared`);
    expect(compared).toBeGreaterThan(1000);
  });

  it('reads initializers of a model the same way (pytorch-converted/test_Conv2d)', () => {
    const dir = join(ONNX_TESTDATA, 'pytorch-converted', 'test_Conv2d');
    const proto = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
    const model = readOnnx(readFileSync(join(dir, 'model.onnx')));
    expect(model.graph.initializers.size).toBe(proto.graph!.initializer!.length);
    for (const t of proto.graph!.initializer as TensorProto[]) {
      expect(edgeqValues(model.graph.initializers.get(t.name)!)).toEqual(oracleValues(t));
    }
    // IR 3 lists initializers as graph inputs; edgeq keeps only the fed ones.
    expect(model.graph.inputs.map((i) => i.name)).toEqual(['0']);
  });
});

describe('typed TensorProto fields', () => {
  const encode = (object: Record<string, unknown>): Uint8Array => onnx.TensorProto.encode(onnx.TensorProto.fromObject(object)).finish();

  it('reads int64_data and uint64_data exactly, beyond 2^53 and at the limits', () => {
    const int64 = readTensorProto(encode({
      name: 'i64', dataType: 7, dims: [4], int64Data: ['-9223372036854775808', '9223372036854775807', '9007199254740993', '-3'],
    }));
    expect(int64.data).toEqual(new BigInt64Array([-9223372036854775808n, 9223372036854775807n, 9007199254740993n, -3n]));
    const uint64 = readTensorProto(encode({ name: 'u64', dataType: 13, dims: [2], uint64Data: ['18446744073709551615', '5'] }));
    expect(uint64.data).toEqual(new BigUint64Array([18446744073709551615n, 5n]));
    const uint32 = readTensorProto(encode({ name: 'u32', dataType: 12, dims: [2], uint64Data: ['4294967295', '7'] }));
    expect(uint32.data).toEqual(new Uint32Array([4294967295, 7]));
  });

  it('reads the narrow types from int32_data', () => {
    const cases: [number, number[], string][] = [
      [3, [-128, 127, 0], 'Int8Array'], [2, [0, 255, 7], 'Uint8Array'], [5, [-32768, 32767, 1], 'Int16Array'],
      [4, [0, 65535, 2], 'Uint16Array'], [9, [1, 0, 1], 'Uint8Array'], [6, [-2147483648, 2147483647, 3], 'Int32Array'],
    ];
    for (const [dataType, values, arrayName] of cases) {
      const t = readTensorProto(encode({ name: `t${dataType}`, dataType, dims: [3], int32Data: values }));
      expect(t.data.constructor.name).toBe(arrayName);
      expect(Array.from(t.data as ArrayLike<number>)).toEqual(values);
    }
    // float16 keeps its bits; tensorToNumbers decodes them.
    const half = readTensorProto(encode({ name: 'h', dataType: 10, dims: [4], int32Data: [0x3c00, 0xc000, 0x7bff, 0x0001] }));
    expect(half.data).toEqual(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]));
    expect(tensorToNumbers(half)).toEqual([1, -2, 65504, 2 ** -24]);
  });

  it('reads float_data and double_data', () => {
    expect(readTensorProto(encode({ name: 'f', dataType: 1, dims: [2, 1], floatData: [1.5, -0] })).data).toEqual(new Float32Array([1.5, -0]));
    expect(readTensorProto(encode({ name: 'd', dataType: 11, dims: [], doubleData: [Math.PI] })).data).toEqual(new Float64Array([Math.PI]));
  });

  it('rejects a typed field whose length does not match the dims', () => {
    const bytes = encode({ name: 'short', dataType: 1, dims: [2, 3], floatData: [1, 2, 3] });
    expect(() => readTensorProto(bytes)).toThrow(EdgeqError);
    expect(() => readTensorProto(bytes)).toThrow(/"short".*\[2, 3\].*6 elements.*3 values/);
  });
});

describe('external data', () => {
  const weights = makeFloatTensor('W', [2, 1, 1, 1], [0.25, -4]);
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-onnx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A Conv model whose weight lives at `offset` in weights.bin. */
  function externalModel(location = 'weights.bin', offset = 16, length = 8): Uint8Array {
    const model = makeModel(makeGraph({
      nodes: [makeNode('Conv', ['x', 'W'], ['y'], { kernel_shape: attr.ints([1, 1]) })],
      inputs: [makeValueInfo('x', 'float32', [1, 1, 2, 2])],
      outputs: [makeValueInfo('y', 'float32', [1, 2, 2, 2])],
      initializers: [weights],
    }));
    const proto = onnx.ModelProto.decode(writeOnnx(model));
    const init = proto.graph!.initializer![0]!;
    init.rawData = new Uint8Array();
    init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    init.externalData = [
      { key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(length) },
    ].map((e) => onnx.StringStringEntryProto.create(e));
    return onnx.ModelProto.encode(proto).finish();
  }
  const file = new Uint8Array(32);
  file.set(new Uint8Array(weights.data.buffer), 16);
  writeFileSync(join(dir, 'weights.bin'), file);
  writeFileSync(join(dir, 'model.onnx'), externalModel());

  it('loads through a readExternal callback', () => {
    const requested: string[] = [];
    const model = readOnnx(externalModel(), {
      baseDir: 'models', readExternal: (path) => { requested.push(path); return file; },
    });
    expect(requested).toEqual(['models/weights.bin']);
    expect(model.graph.initializers.get('W')!.data).toEqual(weights.data);
  });

  it('loads from baseDir with Node fs, and through readOnnxFile', async () => {
    expect(readOnnx(externalModel(), { baseDir: dir }).graph.initializers.get('W')!.data).toEqual(weights.data);
    const model = await readOnnxFile(join(dir, 'model.onnx'));
    expect(model.graph.initializers.get('W')!.data).toEqual(weights.data);
  });

  it('explains what is missing or wrong', () => {
    expect(() => readOnnx(externalModel(), { fileName: 'm.onnx' })).toThrow(/m\.onnx: initializer "W" is stored in external file "weights\.bin"; pass baseDir/);
    expect(() => readOnnx(externalModel('weights.bin', 28), { baseDir: dir })).toThrow(/initializer "W": external data range offset 28, length 8 lies outside/);
    expect(() => readOnnx(externalModel('../etc/passwd'), { baseDir: dir })).toThrow(/must be a relative path inside the model folder/);
    expect(() => readOnnx(externalModel('missing.bin'), { baseDir: dir })).toThrow(/cannot read external data file/);
    expect(() => readOnnx(externalModel('weights.bin', 16, 4), { baseDir: dir })).toThrow(/initializer "W" \(float32\) has dims \[2, 1, 1, 1\], which need 8 bytes, but its data has 4 bytes/);
  });
});

describe('attributes and metadata', () => {
  it('round-trips every attribute type, Constant tensors, metadata and symbolic dims', () => {
    const constant = makeTensor('c', 'int64', [2], [-1n, 9007199254740993n]);
    const node = makeNode('Custom', ['x'], ['y'], {
      f: attr.float(0.10000000149011612), i: attr.int(-7), s: attr.string('héllo'), t: attr.tensor(constant),
      fs: attr.floats([1.5, -2]), is: attr.ints([0, 3, -1]), ss: attr.strings(['a', '']),
    }, 'custom', 'com.example');
    const model = makeModel(makeGraph({
      name: 'g',
      nodes: [node, makeNode('Constant', [], ['k'], { value: attr.tensor(makeFloatTensor('', [1], [2])) })],
      inputs: [makeValueInfo('x', 'float32', ['batch', 3, '', 4])],
      outputs: [makeValueInfo('y', 'float16', [1]), { name: 'k', dataType: 'float32', dims: [], unknownRank: true }],
    }), { metadata: { a: '1', b: 'two' }, opset: 17, extraOpsets: [{ domain: 'com.example', version: 1 }] });
    const read = readOnnx(writeOnnx(model));
    expect(read.graph.nodes).toEqual(model.graph.nodes);
    expect(read.graph.inputs).toEqual(model.graph.inputs);
    expect(read.graph.outputs).toEqual(model.graph.outputs);
    expect(read.metadata).toEqual({ a: '1', b: 'two' });
    expect(read.opsetImports).toEqual(model.opsetImports);
  });

  it('lists initializers as graph inputs when writing IR version 3', () => {
    const model = makeModel(makeGraph({
      nodes: [makeNode('Add', ['x', 'b'], ['y'])],
      inputs: [makeValueInfo('x', 'float32', [2])], outputs: [makeValueInfo('y', 'float32', [2])],
      initializers: [makeFloatTensor('b', [2], [1, 2])],
    }), { irVersion: 3, opset: 7 });
    const proto = onnx.ModelProto.decode(writeOnnx(model));
    expect(proto.graph!.input!.map((i) => i.name)).toEqual(['x', 'b']);
    expect(readOnnx(writeOnnx(model)).graph.inputs.map((i) => i.name)).toEqual(['x']);
  });
});
