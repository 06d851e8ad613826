// Reads and validates a .edgeq file (docs/format.md). Every check names the field and byte offset,
// so a truncated or corrupted file is reported, never executed.
import { EdgeqError } from '../errors.js';
import { crc32 } from './crc32.js';
import { ALIGN, FIXED_SIZE, FORMAT_VERSION, MAGIC, SECTION_ENTRY_SIZE } from './writer.js';
import { opModuleOf } from '../ops/index.js';
import { isValidSpec } from '../image/spec.js';
import { elementBytes, isQuantized, quantMax, type Activation, type QModel, type QOp, type QTensor, type QuantDtype } from './qmodel.js';

export interface ReadOptions {
  /** Named in error messages. */
  fileName?: string;
  /** Skip the per-section CRCs (the header CRC is always checked). Default false. */
  skipSectionChecksums?: boolean;
}

const MAX_TENSOR_BYTES = 2 ** 31;
/**
 * Hostile-file limits (the kernels take i32 arguments and compute in f32): every dim and window
 * parameter at most 2^24, so sums like H + pads + kernel stay in int32; quantized scales in
 * [2^-40, 2^40] and |LeakyRelu alpha| <= 2^16, so no requantization multiplier or float output
 * overflows f32. Real models sit far inside (scales ~1e-4..1e1).
 */
const MAX_DIM = 2 ** 24;
const MIN_SCALE = 2 ** -40;
const MAX_SCALE = 2 ** 40;
const MAX_ALPHA = 2 ** 16;

/**
 * What a file that is not an .edgeq looks like, for the error: a TensorFlow Lite flatbuffer ("TFL3" at
 * bytes 4..8) is imported by edgeq-tools (`edgeq import`, importTflite); '' otherwise.
 */
function otherFormat(bytes: Uint8Array): string {
  if (bytes.length >= 8 && bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c && bytes[7] === 0x33) {
    return ' but a TensorFlow Lite file; convert it once with `edgeq import model.tflite -o model.edgeq` (or importTflite from edgeq-tools/import)';
  }
  return '';
}

export function readEdgeq(bytes: Uint8Array, options: ReadOptions = {}): QModel {
  const where = options.fileName ? `${options.fileName}: ` : '';
  const fail = (msg: string): never => {
    throw new EdgeqError('BAD_MODEL', `${where}${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('model bytes must be a Uint8Array');
  if (bytes.length < FIXED_SIZE + 4) fail(`file is ${bytes.length} bytes, shorter than the ${FIXED_SIZE + 4}-byte minimum (truncated?)`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) fail(`bad magic at offset ${i}: not an .edgeq file${otherFormat(bytes)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (off: number) => view.getUint32(off, true);
  const version = u32(8);
  if (version !== FORMAT_VERSION) fail(`unsupported format version ${version} at offset 8 (this reader reads version ${FORMAT_VERSION})`);
  const flags = u32(12);
  if (flags !== 0) fail(`unknown flags 0x${flags.toString(16)} at offset 12`);
  const fileLength = u32(16);
  if (fileLength !== bytes.length) {
    fail(`file length field at offset 16 says ${fileLength} bytes but the file has ${bytes.length} (${bytes.length < fileLength ? 'truncated' : 'trailing bytes'})`);
  }
  const headerOffset = u32(20);
  const headerLength = u32(24);
  const sectionCount = u32(28);
  const tableEnd = FIXED_SIZE + SECTION_ENTRY_SIZE * sectionCount;
  if (sectionCount > 1_000_000 || tableEnd > fileLength - 4) fail(`section count ${sectionCount} at offset 28 does not fit in the file`);
  if (headerOffset !== tableEnd) fail(`header offset ${headerOffset} at offset 20 should be ${tableEnd} (right after the section table)`);
  const headerEnd = headerOffset + headerLength;
  if (headerLength === 0 || headerEnd > fileLength - 4) fail(`header [${headerOffset}, ${headerEnd}) at offset 24 runs past the file`);
  const storedCrc = u32(fileLength - 4);
  const actualCrc = crc32(bytes, 0, headerEnd);
  if (storedCrc !== actualCrc) {
    fail(`header checksum mismatch (stored 0x${storedCrc.toString(16)} at offset ${fileLength - 4}, computed 0x${actualCrc.toString(16)}): the fixed part, section table or header is corrupt`);
  }

  // Sections: aligned, in order, not overlapping the header or each other, inside the file.
  const blobs: Uint8Array[] = [];
  let prevEnd = headerEnd;
  for (let i = 0; i < sectionCount; i++) {
    const e = FIXED_SIZE + SECTION_ENTRY_SIZE * i;
    const off = u32(e);
    const len = u32(e + 4);
    const crc = u32(e + 8);
    if (u32(e + 12) !== 0) fail(`section ${i}: reserved field at offset ${e + 12} is not zero`);
    if (off % ALIGN !== 0) fail(`section ${i}: offset ${off} (table entry at ${e}) is not ${ALIGN}-byte aligned`);
    if (off < prevEnd) fail(`section ${i}: offset ${off} (table entry at ${e}) overlaps the header or section ${i - 1} (which ends at ${prevEnd})`);
    if (off + len > fileLength - 4) fail(`section ${i}: [${off}, ${off + len}) (table entry at ${e}) runs past the end of the data at ${fileLength - 4}`);
    const blob = bytes.subarray(off, off + len);
    if (!options.skipSectionChecksums) {
      const actual = crc32(blob);
      if (actual !== crc) fail(`section ${i} at offset ${off} (${len} bytes) is corrupt: checksum 0x${actual.toString(16)}, expected 0x${crc.toString(16)}`);
    }
    blobs.push(blob);
    prevEnd = off + len;
  }

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(headerOffset, headerEnd)));
  } catch (err) {
    fail(`header at offset ${headerOffset} is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  const model = { ...withOutputList(header, fail), blobs } as QModel;
  validateModel(model, where);
  return model;
}

/**
 * The header with its output(s) as the `outputs` list, in the field's place: a file stores one output
 * as `"output": {...}`, several as `"outputs": [...]` (writer.ts, headerOf), never both.
 */
function withOutputList(header: unknown, fail: (msg: string) => never): object {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('header is not an object');
  const h = header as Record<string, unknown>;
  if ('output' in h && 'outputs' in h) fail('header: has both "output" and "outputs" (one output is "output", several are "outputs")');
  if (!('output' in h)) return h;
  return Object.fromEntries(Object.entries(h).map(([k, v]) => (k === 'output' ? ['outputs', [v]] : [k, v])));
}

/** Semantic checks on a model's header: indices, shapes, quantization parameters, op order. */
export function validateModel(model: QModel, where = ''): void {
  const fail = (msg: string): never => {
    throw new EdgeqError('BAD_MODEL', `${where}${msg}`);
  };
  if (typeof model !== 'object' || model === null) fail('header is not an object');
  if (!Array.isArray(model.tensors) || model.tensors.length === 0) fail('header: "tensors" must be a non-empty array');
  if (!Array.isArray(model.ops) || model.ops.length === 0) fail('header: "ops" must be a non-empty array');
  const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= MAX_DIM;
  const tensorIndex = (v: unknown, what: string): number => {
    if (!isInt(v) || v >= model.tensors.length) fail(`${what}: tensor index ${JSON.stringify(v)} is not in 0..${model.tensors.length - 1}`);
    return v as number;
  };

  model.tensors.forEach((t: QTensor, i) => {
    const what = `tensor ${i} (${JSON.stringify(t?.name)})`;
    if (typeof t !== 'object' || t === null || typeof t.name !== 'string') fail(`${what}: malformed entry`);
    if (!Array.isArray(t.shape) || t.shape.length !== 4 || !t.shape.every((d) => isInt(d, 1))) {
      fail(`${what}: shape ${JSON.stringify(t.shape)} must be 4 integers in 1..2^24 [N,H,W,C]`);
    }
    const elems = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype !== 'uint8' && t.dtype !== 'uint12' && t.dtype !== 'float32') fail(`${what}: dtype ${JSON.stringify(t.dtype)} is not uint8, uint12 or float32`);
    if (elems * elementBytes(t.dtype) >= MAX_TENSOR_BYTES) fail(`${what}: shape ${JSON.stringify(t.shape)} needs 2^31 bytes or more`);
    if (isQuantized(t.dtype)) {
      if (typeof t.scale !== 'number' || !Number.isFinite(t.scale) || t.scale <= 0) fail(`${what}: scale ${t.scale} must be finite and positive`);
      if (t.scale < MIN_SCALE || t.scale > MAX_SCALE) fail(`${what}: scale ${t.scale} is outside [2^-40, 2^40]`);
      const qmax = quantMax(t.dtype);
      if (!isInt(t.zeroPoint) || t.zeroPoint > qmax) fail(`${what}: zero point ${t.zeroPoint} must be an integer in 0..${qmax} for ${t.dtype}`);
    }
  });

  const inp = model.input;
  if (typeof inp !== 'object' || inp === null) fail('header: missing "input"');
  const inT = model.tensors[tensorIndex(inp.tensor, 'input')];
  if (!isQuantized(inT.dtype)) fail(`input: tensor ${inp.tensor} must be uint8 or uint12 (the runtime quantizes the input into it), not ${inT.dtype}`);
  if (typeof inp.name !== 'string') fail(`input: name ${JSON.stringify(inp.name)} must be a string`);
  if (!Array.isArray(inp.nchw) || inp.nchw.length !== 4 || !inp.nchw.every((d) => isInt(d, 1))) fail(`input: nchw ${JSON.stringify(inp.nchw)} must be 4 integers in 1..2^24`);
  const [n, c, h, w] = inp.nchw;
  if (inT.shape[0] !== n || inT.shape[1] !== h || inT.shape[2] !== w || inT.shape[3] !== c) {
    fail(`input: nchw ${JSON.stringify(inp.nchw)} does not match tensor shape ${JSON.stringify(inT.shape)}`);
  }
  if (!Array.isArray(model.outputs) || model.outputs.length === 0) fail('header: missing "output" (or a non-empty "outputs" list)');
  const outputNames = new Set<string>(), outputTensors = new Set<number>();
  model.outputs.forEach((o, i) => {
    const what = model.outputs.length === 1 ? 'output' : `output ${i}`;
    if (typeof o !== 'object' || o === null) fail(`${what}: malformed entry`);
    if (typeof o.name !== 'string') fail(`${what}: name ${JSON.stringify(o.name)} must be a string`);
    const t = tensorIndex(o.tensor, what);
    if (outputNames.has(o.name)) fail(`${what}: name "${o.name}" is given to two outputs`);
    if (outputTensors.has(t)) fail(`${what} ("${o.name}"): tensor ${t} is already output ${[...outputTensors].indexOf(t)}`);
    outputNames.add(o.name);
    outputTensors.add(t);
  });

  const written = new Set<number>([inp.tensor]);
  const read = (idx: unknown, what: string): QTensor => {
    const i = tensorIndex(idx, what);
    if (!written.has(i)) fail(`${what}: reads tensor ${i} (${model.tensors[i].name}) before any op writes it`);
    return model.tensors[i];
  };
  const write = (idx: unknown, what: string): QTensor => {
    const i = tensorIndex(idx, what);
    if (written.has(i)) fail(`${what}: writes tensor ${i} (${model.tensors[i].name}) a second time`);
    written.add(i);
    return model.tensors[i];
  };
  const pair = (v: unknown, what: string, min: number): [number, number] => {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => isInt(d, min))) fail(`${what} ${JSON.stringify(v)} must be 2 integers in ${min}..2^24`);
    return v as [number, number];
  };
  const quad = (v: unknown, what: string): [number, number, number, number] => {
    if (!Array.isArray(v) || v.length !== 4 || !v.every((d) => isInt(d, 0))) fail(`${what} ${JSON.stringify(v)} must be 4 integers in 0..2^24`);
    return v as [number, number, number, number];
  };
  const activation = (a: Activation, what: string) => {
    if (typeof a !== 'object' || a === null) fail(`${what}: missing activation`);
    if (a.kind === 'leakyrelu') {
      if (typeof a.alpha !== 'number' || !Number.isFinite(a.alpha) || Math.abs(a.alpha) > MAX_ALPHA) fail(`${what}: leakyrelu alpha ${a.alpha} must be finite, |alpha| <= 2^16`);
    } else if (a.kind === 'clip') {
      if (typeof a.min !== 'number' || typeof a.max !== 'number' || !Number.isFinite(a.min) || !Number.isFinite(a.max)) fail(`${what}: clip bounds ${a.min}, ${a.max} must be finite numbers`);
      if (a.min > a.max) fail(`${what}: clip min ${a.min} > max ${a.max}`);
    } else if (a.kind === 'hardsigmoid') {
      if (typeof a.alpha !== 'number' || typeof a.beta !== 'number' || !Number.isFinite(a.alpha) || !Number.isFinite(a.beta)
        || Math.abs(a.alpha) > MAX_ALPHA || Math.abs(a.beta) > MAX_ALPHA) fail(`${what}: hardsigmoid alpha ${a.alpha}, beta ${a.beta} must be finite, |value| <= 2^16`);
    } else if (a.kind !== 'none' && a.kind !== 'relu' && a.kind !== 'hardswish' && a.kind !== 'sigmoid' && a.kind !== 'silu') fail(`${what}: unknown activation ${JSON.stringify((a as { kind: unknown }).kind)}`);
  };
  const outDim = (inp: number, k: number, s: number, d: number, p0: number, p1: number) => Math.floor((inp + p0 + p1 - d * (k - 1) - 1) / s) + 1;

  model.ops.forEach((op: QOp, i) => {
    const what = `op ${i} (${JSON.stringify(op?.name)}, ${JSON.stringify(op?.op)})`;
    if (typeof op !== 'object' || op === null) fail(`op ${i}: malformed entry`);
    const mod = opModuleOf(op.op) ?? fail(`${what}: unknown op type`);
    mod.validate(op, { model, what, fail, isInt, read, write, pair, quad, activation, outDim });
  });
  for (const o of model.outputs) if (!written.has(o.tensor)) fail(`output "${o.name}": tensor ${o.tensor} is never written`);
  if (model.labels !== undefined && (!Array.isArray(model.labels) || !model.labels.every((l) => typeof l === 'string'))) {
    fail('header: "labels" must be an array of strings');
  }
  if (model.labels !== undefined) {
    // Labels name the values of the first output (the one classify() reads by default).
    const [, h, w, c] = model.tensors[model.outputs[0].tensor].shape;
    if (model.labels.length !== h * w * c) fail(`header: ${model.labels.length} label${model.labels.length === 1 ? '' : 's'} for ${h * w * c} output values per image${model.outputs.length > 1 ? ` of the first output "${model.outputs[0].name}"` : ''}: one label per output (quantize again with a labels file of ${h * w * c} lines)`);
  }
  const p = model.preprocess;
  if (p !== undefined) {
    if (!isValidSpec(p)) fail(`header: "preprocess" is not a valid preprocessing spec: ${JSON.stringify(p)}`);
  }
}
