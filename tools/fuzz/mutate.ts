// Seeded mutators for untrusted model files. Each takes a valid file and an Rng and returns one
// damaged file plus a one-line description of the damage, so a case is reproduced by (base, seed).
//
// .edgeq mutations come in four layers, because the checksums would otherwise catch everything:
//  - bytes:   truncations, bit and byte flips, insertions and deletions (checksums left stale);
//  - fields:  a u32 of the fixed part or the section table set to 0, -1, huge, another section's
//             offset, ... with the header checksum recomputed, so the range checks must catch it;
//  - header:  the parsed JSON header edited (indices, shapes with overflowing products, NaN/Inf/zero/
//             negative scales, wrong op parameters, op and tensor lists shuffled, keys dropped) and
//             re-written with valid checksums, so semantic validation must catch it;
//  - blobs:   sections duplicated, dropped, swapped, resized, or their contents (bias, weights,
//             requantization multipliers) set to extreme values, re-written with valid checksums.
// ONNX mutations: bytes (as above), and protobuf-level edits of the decoded ModelProto (dims, data
// types, raw data, node inputs and outputs, attributes, opsets) re-encoded.
import onnxProto from 'onnx-proto';
import { crc32 } from 'edgeq/format';
import { ALIGN, FIXED_SIZE, MAGIC, SECTION_ENTRY_SIZE, writeEdgeq } from 'edgeq/format';
import type { QModel } from 'edgeq/format';
import type { Rng } from '../synth/random.js';

const { onnx } = onnxProto;

export interface Mutant {
  bytes: Uint8Array;
  /** What was done, e.g. "header: tensors[3].scale = Infinity". */
  mutation: string;
}

// ---- shared helpers -------------------------------------------------------------------------

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
/** A copy (Buffer.prototype.slice would return a view, and mutating it would damage the seed file). */
const copyOf = (bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array => Uint8Array.prototype.slice.call(bytes, start, end);

/** Special numbers; INF, NINF and NAN are written as raw JSON tokens by writeRawEdgeq. */
const INF = '\u0000INF', NINF = '\u0000NINF', NAN = '\u0000NAN';
const INTERESTING_NUMBERS: readonly number[] = [
  0, -1, 1, 2, 3, 4, 7, 8, 15, 16, 255, 256, 65535, 65536, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
  2 ** 53, 2 ** 53 + 2, 1e308, -0, 0.5, 1.5, -(2 ** 31), 1e-300, 5e-324, 1e-45, 3e38, 1e39,
];
const INTERESTING_VALUES: readonly unknown[] = [
  ...INTERESTING_NUMBERS, INF, NINF, NAN, null, '', '1', 'x', true, false, [], {}, [1], [0, 0], { kind: 'relu' },
];
const U32_VALUES: readonly number[] = [0, 1, 4, 16, 31, 32, 63, 64, 0x7fffffff, 0x80000000, 0xffffffc0, 0xfffffffc, 0xffffffff];

function describe(v: unknown): string {
  if (v === INF) return 'Infinity';
  if (v === NINF) return '-Infinity';
  if (v === NAN) return 'NaN';
  if (Object.is(v, -0)) return '-0';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function byteMutation(base: Uint8Array, rng: Rng): Mutant {
  const b = copyOf(base);
  const at = () => rng.int(b.length);
  switch (rng.int(7)) {
    case 0: { // truncation, biased to the start and to the end
      const cut = rng.next() < 0.5 ? rng.int(Math.min(b.length, 512)) : Math.max(0, b.length - 1 - rng.int(Math.min(b.length, 256)));
      return { bytes: copyOf(base, 0, cut), mutation: `bytes: truncated to ${cut} of ${base.length}` };
    }
    case 1: {
      const n = 1 + rng.int(8);
      const where: number[] = [];
      for (let i = 0; i < n; i++) { const p = at(); b[p] ^= 1 << rng.int(8); where.push(p); }
      return { bytes: b, mutation: `bytes: ${n} bit flips at ${where.join(',')}` };
    }
    case 2: {
      const p = at();
      const v = pick(rng, [0x00, 0xff, 0x7f, 0x80, 0x01, rng.int(256)]);
      b[p] = v;
      return { bytes: b, mutation: `bytes: [${p}] = 0x${v.toString(16)}` };
    }
    case 3: { // overwrite a run with one value
      const p = at(), n = Math.min(b.length - p, 1 + rng.int(32)), v = pick(rng, [0, 0xff]);
      b.fill(v, p, p + n);
      return { bytes: b, mutation: `bytes: [${p}, ${p + n}) = 0x${v.toString(16)}` };
    }
    case 4: { // insertion
      const p = at(), n = 1 + rng.int(16);
      const out = new Uint8Array(base.length + n);
      out.set(base.subarray(0, p)); out.set(base.subarray(p), p + n);
      for (let i = 0; i < n; i++) out[p + i] = rng.int(256);
      return { bytes: out, mutation: `bytes: ${n} inserted at ${p}` };
    }
    case 5: { // deletion
      const p = at(), n = Math.min(base.length - p, 1 + rng.int(16));
      const out = new Uint8Array(base.length - n);
      out.set(base.subarray(0, p)); out.set(base.subarray(p + n), p);
      return { bytes: out, mutation: `bytes: ${n} deleted at ${p}` };
    }
    default: { // append
      const n = 1 + rng.int(64);
      const out = new Uint8Array(base.length + n);
      out.set(base);
      return { bytes: out, mutation: `bytes: ${n} zero bytes appended` };
    }
  }
}

// ---- .edgeq -----------------------------------------------------------------------------------

interface Parsed { header: Record<string, unknown>; blobs: Uint8Array[] }

/** Splits a valid .edgeq file into its parsed header and section blobs (no validation beyond the layout). */
export function parseEdgeqLayout(bytes: Uint8Array): Parsed {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerOffset = view.getUint32(20, true), headerLength = view.getUint32(24, true), n = view.getUint32(28, true);
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const e = FIXED_SIZE + SECTION_ENTRY_SIZE * i;
    const off = view.getUint32(e, true), len = view.getUint32(e + 4, true);
    blobs.push(copyOf(bytes, off, off + len));
  }
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(headerOffset, headerOffset + headerLength))) as Record<string, unknown>;
  return { header, blobs };
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Writes a .edgeq file from raw header text (valid layout and checksums). The fuzzer needs it for
 * headers JSON.stringify cannot produce: Infinity (as 1e999) and invalid JSON.
 */
export function writeRawEdgeq(headerText: string, blobs: readonly Uint8Array[]): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const headerOffset = FIXED_SIZE + SECTION_ENTRY_SIZE * blobs.length;
  const offsets: number[] = [];
  let pos = alignUp(headerOffset + header.length, ALIGN);
  for (const blob of blobs) { offsets.push(pos); pos = alignUp(pos + blob.length, ALIGN); }
  const out = new Uint8Array(pos + 4);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(8, 1, true);
  view.setUint32(16, out.length, true);
  view.setUint32(20, headerOffset, true);
  view.setUint32(24, header.length, true);
  view.setUint32(28, blobs.length, true);
  blobs.forEach((blob, i) => {
    const e = FIXED_SIZE + SECTION_ENTRY_SIZE * i;
    view.setUint32(e, offsets[i]!, true);
    view.setUint32(e + 4, blob.length, true);
    view.setUint32(e + 8, crc32(blob), true);
    out.set(blob, offsets[i]!);
  });
  out.set(header, headerOffset);
  view.setUint32(out.length - 4, crc32(out, 0, headerOffset + header.length), true);
  return out;
}

/** Serializes a header that may hold the INF/NINF/NAN sentinels. */
function headerText(header: unknown): string {
  return JSON.stringify(header)
    .replaceAll(JSON.stringify(INF), '1e999')
    .replaceAll(JSON.stringify(NINF), '-1e999')
    .replaceAll(JSON.stringify(NAN), 'null');
}

function hasSentinel(header: unknown): boolean {
  const s = JSON.stringify(header);
  return s.includes('\\u0000');
}

/** Re-writes an edited header: with writeEdgeq when it is plain JSON, else with the raw writer. */
function rewrite(header: Record<string, unknown>, blobs: Uint8Array[]): Uint8Array {
  if (hasSentinel(header)) return writeRawEdgeq(headerText(header), blobs);
  return writeEdgeq({ ...(header as unknown as QModel), blobs });
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A random value near `v` (neighbours, doublings) or an interesting one. */
function mutateValue(rng: Rng, v: unknown, indexRange?: number): unknown {
  if (typeof v === 'number' && rng.next() < 0.5) {
    const choices = [v + 1, v - 1, v * 2, Math.floor(v / 2), -v, v * 65536, v + 2 ** 32];
    if (indexRange !== undefined) choices.push(rng.int(indexRange), indexRange, indexRange - 1);
    return pick(rng, choices);
  }
  return structuredClone(pick(rng, INTERESTING_VALUES));
}

/** A random path through the header, biased to the structural parts (tensors, ops, input, output). */
function randomSite(rng: Rng, header: Obj): { parent: Obj | unknown[]; key: string | number; path: string } | undefined {
  const roots = ['tensors', 'ops', 'ops', 'input', 'output', 'preprocess', 'labels', 'meta', '*'];
  const root = pick(rng, roots);
  let parent: Obj | unknown[] = header;
  let key: string | number = root === '*' ? pick(rng, Object.keys(header)) : root;
  let path = String(key);
  for (let depth = 0; depth < 4; depth++) {
    const v: unknown = (parent as Obj)[key as string];
    const stop = depth > 0 && rng.next() < 0.25;
    if (stop) break;
    if (Array.isArray(v) && v.length > 0) {
      parent = v; key = rng.int(v.length); path += `[${key}]`;
    } else if (isObj(v) && Object.keys(v).length > 0) {
      parent = v; key = pick(rng, Object.keys(v)); path += `.${key}`;
    } else break;
  }
  if (!(key in (parent as object)) && !Array.isArray(parent)) return undefined;
  return { parent, key, path };
}

/** Header-level mutations: the returned file has valid checksums, so only semantic checks stand between it and the kernels. */
export function mutateEdgeqHeader(base: Uint8Array, rng: Rng): Mutant {
  const { header, blobs } = parseEdgeqLayout(base);
  const tensors = header.tensors as Obj[];
  const ops = header.ops as Obj[];
  const ti = () => rng.int(tensors.length);
  let mutation: string;
  switch (rng.int(12)) {
    case 0: case 1: case 2: { // a random site set to an interesting or neighbouring value
      const site = randomSite(rng, header);
      if (!site) return mutateEdgeqHeader(base, rng);
      const old = (site.parent as Obj)[site.key as string];
      const v = mutateValue(rng, old, tensors.length);
      (site.parent as Obj)[site.key as string] = v;
      mutation = `header: ${site.path} = ${describe(v)} (was ${describe(old)})`;
      break;
    }
    case 3: { // a tensor's shape: overflowing products, zeros, negatives, wrong rank
      const i = ti();
      const shapes = [
        [1, 65536, 65536, 65536], [2 ** 31, 2 ** 31, 1, 1], [1, 2 ** 27, 2 ** 27, 1], [2 ** 53, 1, 1, 1], [1e6, 1e6, 1e6, 1e6],
        [1, 0, 4, 4], [1, -4, 4, 4], [1, 4, 4], [1, 4, 4, 4, 4], [1, 1.5, 4, 4], [1, 46341, 46341, 1], [1, 32768, 32768, 2],
      ];
      const s = pick(rng, shapes);
      tensors[i]!.shape = s;
      mutation = `header: tensors[${i}].shape = ${describe(s)}`;
      break;
    }
    case 4: { // quantization parameters
      const i = ti();
      const field = pick(rng, ['scale', 'scale', 'zeroPoint', 'dtype']);
      const v = field === 'scale' ? pick(rng, [NAN, INF, NINF, 0, -0, -1, 5e-324, 1e-45, 1e-38, 3e38, 1e308, null, '0.1'])
        : field === 'zeroPoint' ? pick(rng, [-1, 256, 0.5, 1e9, NAN, null, 255, 0])
          : pick(rng, ['float32', 'uint8', 'int8', 'float16', null]);
      tensors[i]![field] = v;
      mutation = `header: tensors[${i}].${field} = ${describe(v)}`;
      break;
    }
    case 5: { // op parameters set to wrong but plausible values
      const i = rng.int(ops.length);
      const op = ops[i]!;
      const field = pick(rng, ['kernel', 'stride', 'pads', 'dilation', 'group', 'inChannels', 'outChannels', 'weights', 'packing', 'activation', 'input', 'output', 'a', 'b', 'op']);
      const small = () => rng.int(4);
      let v: unknown;
      switch (field) {
        case 'kernel': case 'stride': case 'dilation': v = pick(rng, [[small(), small()], [0, 1], [1, 2 ** 31], [2 ** 32 + 1, 1], [65536, 65536], [1]]); break;
        case 'pads': v = pick(rng, [[small(), small(), small(), small()], [0, 0, 0, -1], [2 ** 31, 0, 2 ** 31, 0], [100000, 100000, 100000, 100000], [1, 1]]); break;
        case 'group': case 'inChannels': case 'outChannels': v = pick(rng, [0, 1, 2, 3, 4, 8, 16, 2 ** 31, (op[field] as number) * 2, (op[field] as number) + 4]); break;
        case 'weights': v = pick(rng, [0, blobs.length - 1, blobs.length, -1, 0.5]); break;
        case 'packing': v = pick(rng, ['qu8-gemm-2x4c8', 'qu8-gemm-2x4c8-im2col', 'qu8-gemm-4x8c2', '', 7]); break;
        case 'activation': v = pick(rng, [{ kind: 'relu' }, { kind: 'none' }, { kind: 'leakyrelu', alpha: 0.1 }, { kind: 'leakyrelu', alpha: INF },
          { kind: 'leakyrelu', alpha: 1e30 }, { kind: 'leakyrelu', alpha: NAN }, { kind: 'leakyrelu' }, { kind: 'sigmoid' }, null]); break;
        case 'op': v = pick(rng, ['conv', 'add', 'maxpool', 'gap', 'softmax']); break;
        default: v = pick(rng, [ti(), ti(), tensors.length, -1, (op[field] as number) + 1]);
      }
      op[field] = v;
      mutation = `header: ops[${i}] (${String(op.op)}).${field} = ${describe(v)}`;
      break;
    }
    case 6: { // list surgery on tensors or ops
      const listName = pick(rng, ['tensors', 'ops', 'ops']);
      const list = header[listName] as unknown[];
      const i = rng.int(list.length), j = rng.int(list.length);
      const kind = rng.int(5);
      if (kind === 0) { list.splice(i, 1); mutation = `header: ${listName}[${i}] removed`; }
      else if (kind === 1) { list.splice(i, 0, structuredClone(list[i])); mutation = `header: ${listName}[${i}] duplicated`; }
      else if (kind === 2) { [list[i], list[j]] = [list[j], list[i]]; mutation = `header: ${listName}[${i}] <-> [${j}]`; }
      else if (kind === 3) { list.reverse(); mutation = `header: ${listName} reversed`; }
      else { list.length = Math.max(0, i); mutation = `header: ${listName} cut to ${i}`; }
      break;
    }
    case 7: { // rewire an op's tensors (possibly reading its own output, or an unwritten tensor)
      const i = rng.int(ops.length);
      const op = ops[i]!;
      const field = pick(rng, op.op === 'add' ? ['a', 'b', 'output'] : ['input', 'output']);
      const v = ti();
      op[field] = v;
      mutation = `header: ops[${i}].${field} = ${v}`;
      break;
    }
    case 8: { // input / output descriptors
      const inp = header.input as Obj, out = header.output as Obj;
      const which = rng.int(4);
      if (which === 0) { inp.tensor = ti(); mutation = `header: input.tensor = ${inp.tensor}`; }
      else if (which === 1) { const nchw = [...(inp.nchw as number[])]; const k = rng.int(4); nchw[k] = mutateValue(rng, nchw[k]) as number; inp.nchw = nchw; mutation = `header: input.nchw = ${describe(nchw)}`; }
      else if (which === 2) { out.tensor = ti(); mutation = `header: output.tensor = ${out.tensor}`; }
      else {
        // Consistent batch change: the tensor and nchw agree, the rest of the graph does not.
        const t = tensors[inp.tensor as number]!; const n = pick(rng, [0, 2, 2 ** 20]);
        (t.shape as number[])[0] = n; (inp.nchw as number[])[0] = n;
        mutation = `header: input batch = ${n}`;
      }
      break;
    }
    case 9: { // preprocessing spec
      const p = (header.preprocess ?? {}) as Obj;
      header.preprocess = p;
      const field = pick(rng, ['resize', 'crop', 'scale', 'mean', 'std', 'resizeMode', 'interpolation', 'channels']);
      const v = field === 'mean' || field === 'std' ? pick(rng, [[0, 0, 0], [1, 1], [NAN, 1, 1], [INF, 1, 1], [1e-300, 1, 1]])
        : pick(rng, [0, -1, 1, 2, 7, 224, 1e6, 2 ** 31, INF, NAN, 'x', null]);
      p[field] = v;
      mutation = `header: preprocess.${field} = ${describe(v)}`;
      break;
    }
    case 10: { // a top-level key dropped or replaced by the wrong type
      const key = pick(rng, ['tensors', 'ops', 'input', 'output', 'labels', 'preprocess', 'producer']);
      if (rng.next() < 0.5) { delete header[key]; mutation = `header: "${key}" removed`; }
      else { const v = pick(rng, [null, 0, 'x', [], {}, [null]]); header[key] = v; mutation = `header: "${key}" = ${describe(v)}`; }
      break;
    }
    default: { // raw text damage with valid checksums (not JSON, not UTF-8, not an object)
      const text = JSON.stringify(header);
      const kind = rng.int(5);
      const raw = kind === 0 ? text.slice(0, rng.int(text.length))
        : kind === 1 ? '[]'
          : kind === 2 ? 'null'
            : kind === 3 ? `${'['.repeat(100000)}${']'.repeat(100000)}`
              : text.replace('"tensors"', '"tensors":[],"tensors"');
      const bytes = writeRawEdgeq(raw, blobs);
      if (kind === 0 && rng.next() < 0.5) bytes[FIXED_SIZE + SECTION_ENTRY_SIZE * blobs.length] = 0xc3; // lone UTF-8 lead byte (checksum now stale)
      return { bytes, mutation: `header text: ${['truncated', '[]', 'null', 'deeply nested', 'duplicate key'][kind]}` };
    }
  }
  return { bytes: rewrite(header, blobs), mutation };
}

/** Section-level mutations: sections dropped, duplicated, swapped, resized, or their values made extreme. */
export function mutateEdgeqBlobs(base: Uint8Array, rng: Rng): Mutant {
  const { header, blobs } = parseEdgeqLayout(base);
  if (blobs.length === 0) return mutateEdgeqHeader(base, rng);
  const i = rng.int(blobs.length), j = rng.int(blobs.length);
  let mutation: string;
  switch (rng.int(6)) {
    case 0: blobs.splice(i, 1); mutation = `sections: [${i}] removed`; break;
    case 1: blobs.splice(i, 0, copyOf(blobs[i]!)); mutation = `sections: [${i}] duplicated`; break;
    case 2: [blobs[i], blobs[j]] = [blobs[j]!, blobs[i]!]; mutation = `sections: [${i}] <-> [${j}]`; break;
    case 3: {
      const d = pick(rng, [-64, -16, -4, -1, 1, 4, 16, 64]);
      const b = new Uint8Array(Math.max(0, blobs[i]!.length + d));
      b.set(blobs[i]!.subarray(0, b.length));
      blobs[i] = b;
      mutation = `sections: [${i}] resized by ${d}`;
      break;
    }
    default: {
      // Values inside a packed conv section: block = i32 bias[4] | i8 weights | f32 multiplier[4].
      const b = blobs[i]!;
      if (b.length < 32) { b.fill(0xff); mutation = `sections: [${i}] filled with 0xff`; break; }
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const kind = rng.int(4);
      const count = 1 + rng.int(4);
      if (kind === 0) {
        // Multipliers: the last 16 bytes of the section are the last block's multipliers.
        const v = pick(rng, [NaN, Infinity, -Infinity, 0, -1, 1e30, 3.4e38, 1e-45, 65536]);
        for (let k = 0; k < count; k++) view.setFloat32(b.length - 16 + 4 * rng.int(4), v, true);
        mutation = `sections: [${i}] last multipliers = ${v}`;
      } else if (kind === 1) {
        const v = pick(rng, [0x7fffffff, -0x80000000, -1]);
        for (let k = 0; k < count; k++) view.setInt32(4 * rng.int(4), v, true);
        mutation = `sections: [${i}] first biases = ${v}`;
      } else if (kind === 2) {
        // Any aligned f32 slot set to NaN/Inf (may land on a multiplier, a bias or weights).
        const v = pick(rng, [NaN, Infinity, -Infinity]);
        const at = 4 * rng.int(b.length >> 2);
        view.setFloat32(at, v, true);
        mutation = `sections: [${i}] f32 at ${at} = ${v}`;
      } else {
        const at = rng.int(b.length); const n = Math.min(b.length - at, 1 + rng.int(64));
        const v = pick(rng, [0x80, 0x7f, 0xff, 0x00]);
        b.fill(v, at, at + n);
        mutation = `sections: [${i}] bytes [${at}, ${at + n}) = 0x${v.toString(16)}`;
      }
    }
  }
  return { bytes: rewrite(header, blobs), mutation };
}

/** Field-level mutations of the fixed part and the section table, with the header checksum recomputed. */
export function mutateEdgeqFields(base: Uint8Array, rng: Rng): Mutant {
  const b = copyOf(base);
  const view = new DataView(b.buffer);
  const n = view.getUint32(28, true);
  const headerEnd = view.getUint32(20, true) + view.getUint32(24, true);
  const fields: [number, string][] = [[8, 'version'], [12, 'flags'], [16, 'file length'], [20, 'header offset'], [24, 'header length'], [28, 'section count']];
  for (let i = 0; i < n; i++) {
    const e = FIXED_SIZE + SECTION_ENTRY_SIZE * i;
    fields.push([e, `section ${i} offset`], [e, `section ${i} offset`], [e + 4, `section ${i} length`], [e + 4, `section ${i} length`], [e + 8, `section ${i} crc`], [e + 12, `section ${i} reserved`]);
  }
  const [at, name] = pick(rng, fields);
  const old = view.getUint32(at, true);
  const others = Array.from({ length: n }, (_, i) => view.getUint32(FIXED_SIZE + SECTION_ENTRY_SIZE * i, true));
  const v = pick(rng, [...U32_VALUES, old + 1, old - 1, old + 64, old - 64, old * 2, b.length, b.length - 4, headerEnd, ...(others.length ? [pick(rng, others)] : [])]) >>> 0;
  view.setUint32(at, v, true);
  const fix = rng.next() < 0.9;
  if (fix) {
    // Recompute the trailing checksum over what the (patched) header fields say is the header.
    const ho = view.getUint32(20, true), hl = view.getUint32(24, true);
    const end = Math.min(ho + hl, b.length - 4);
    if (b.length >= 8 && end > 0) view.setUint32(b.length - 4, crc32(b, 0, end), true);
  }
  return { bytes: b, mutation: `fields: ${name} (offset ${at}) = ${v} (was ${old})${fix ? ', checksum fixed' : ''}` };
}

/** One .edgeq mutation of a random layer. */
export function mutateEdgeq(base: Uint8Array, rng: Rng): Mutant {
  const r = rng.next();
  if (r < 0.15) return byteMutation(base, rng);
  if (r < 0.35) return mutateEdgeqFields(base, rng);
  if (r < 0.55) return mutateEdgeqBlobs(base, rng);
  return mutateEdgeqHeader(base, rng);
}

// ---- ONNX -------------------------------------------------------------------------------------

// The decoded protobuf objects are edited freely (wrong types included), so they are typed loosely.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

function onnxStructural(base: Uint8Array, rng: Rng): Mutant {
  const m: Loose = onnx.ModelProto.decode(base);
  const g: Loose = m.graph;
  const nodes: Loose[] = g.node;
  const inits: Loose[] = g.initializer;
  const names: string[] = [...inits.map((t) => t.name), ...nodes.flatMap((n) => n.output), ...g.input.map((v: Loose) => v.name)];
  let mutation: string;
  const node = () => { const i = rng.int(nodes.length); return { i, n: nodes[i]! }; };
  switch (rng.int(12)) {
    case 0: { // initializer dims: overflow, zero, negative, wrong rank
      const i = rng.int(inits.length); const t = inits[i]!;
      const dims = pick(rng, [[0], [-1], [2 ** 31, 2 ** 31], [2 ** 53, 2], [2 ** 62, 4], [65536, 65536, 65536], [...t.dims, 1], t.dims.slice(1), [0, 2 ** 40]]);
      t.dims = dims as number[];
      mutation = `onnx: initializer ${t.name} dims = ${describe(dims)}`;
      break;
    }
    case 1: { // initializer data type / raw data size
      const i = rng.int(inits.length); const t = inits[i]!;
      if (rng.next() < 0.5) { t.dataType = pick(rng, [0, 2, 3, 7, 8, 10, 11, 16, 99, -1]); mutation = `onnx: initializer ${t.name} dataType = ${t.dataType}`; }
      else { const cut = rng.int(Math.max(1, t.rawData.length)); t.rawData = t.rawData.slice(0, cut); mutation = `onnx: initializer ${t.name} raw data cut to ${cut}`; }
      break;
    }
    case 2: { // a node input renamed, dropped, or pointed at its own output (a cycle)
      const { i, n } = node();
      const k = rng.int(Math.max(1, n.input.length));
      const v = pick(rng, ['', 'missing', n.output[0] ?? 'x', pick(rng, names)]);
      if (rng.next() < 0.2) { n.input.splice(k, 1); mutation = `onnx: node ${i} (${n.opType}) input ${k} removed`; }
      else { n.input[k] = v; mutation = `onnx: node ${i} (${n.opType}) input ${k} = ${describe(v)}`; }
      break;
    }
    case 3: { // duplicated or removed node
      const { i, n } = node();
      if (rng.next() < 0.5) { nodes.splice(i, 1); mutation = `onnx: node ${i} (${n.opType}) removed`; }
      else { nodes.splice(rng.int(nodes.length), 0, onnx.NodeProto.decode(onnx.NodeProto.encode(n).finish())); mutation = `onnx: node ${i} (${n.opType}) duplicated`; }
      break;
    }
    case 4: { // op type changed
      const { i, n } = node();
      const v = pick(rng, ['Conv', 'Relu', 'Add', 'MaxPool', 'Gemm', 'Flatten', 'Reshape', 'GlobalAveragePool', 'BatchNormalization', 'Sigmoid', '', 'Loop']);
      mutation = `onnx: node ${i} op ${n.opType} -> ${v}`;
      n.opType = v;
      break;
    }
    case 5: case 6: { // attribute values: zero, negative, huge, wrong type
      const withAttrs = nodes.filter((n) => n.attribute.length > 0);
      if (withAttrs.length === 0) return onnxStructural(base, rng);
      const n = pick(rng, withAttrs); const a: Loose = pick(rng, n.attribute as Loose[]);
      const kind = rng.int(5);
      if (kind === 0) { a.ints = pick(rng, [[0, 0], [-1, -1], [2 ** 31, 1], [2 ** 53, 2 ** 53], [1], [1, 1, 1, 1, 1, 1], []]); mutation = `onnx: ${n.name}.${a.name}.ints = ${describe(a.ints)}`; }
      else if (kind === 1) { a.i = pick(rng, [0, -1, 2 ** 31, 2 ** 40, 3]); a.type = onnx.AttributeProto.AttributeType.INT; mutation = `onnx: ${n.name}.${a.name} = int ${describe(a.i)}`; }
      else if (kind === 2) { a.f = pick(rng, [NaN, Infinity, -1, 0, 1e30]); a.type = onnx.AttributeProto.AttributeType.FLOAT; mutation = `onnx: ${n.name}.${a.name} = float ${a.f}`; }
      else if (kind === 3) { a.type = pick(rng, [5, 6, 9, 11, 13, 99]); mutation = `onnx: ${n.name}.${a.name} type = ${a.type}`; }
      else { a.name = pick(rng, ['', 'kernel_shape', 'auto_pad', 'group', 'unknown']); mutation = `onnx: ${n.name} attribute renamed to ${describe(a.name)}`; }
      break;
    }
    case 7: { // attribute added: auto_pad, ceil_mode, dilations, group on random nodes
      const { i, n } = node();
      const a = pick(rng, [
        { name: 'auto_pad', type: 3, s: new TextEncoder().encode(pick(rng, ['SAME_UPPER', 'VALID', 'BOGUS'])) },
        { name: 'ceil_mode', type: 2, i: 1 }, { name: 'dilations', type: 7, ints: [2, 2] }, { name: 'group', type: 2, i: pick(rng, [2, 3, 0]) },
        { name: 'axis', type: 2, i: pick(rng, [0, 5, -9]) }, { name: 'transA', type: 2, i: 1 },
      ]);
      n.attribute.push(onnx.AttributeProto.create(a));
      mutation = `onnx: node ${i} (${n.opType}) + attribute ${a.name}`;
      break;
    }
    case 8: { // graph input / output shapes and types
      const vi = rng.next() < 0.7 ? g.input[0] : g.output[0];
      if (!vi?.type?.tensorType) return onnxStructural(base, rng);
      const tt = vi.type.tensorType;
      if (rng.next() < 0.3) { tt.elemType = pick(rng, [0, 2, 7, 10, 16, 99]); mutation = `onnx: ${vi.name} elemType = ${tt.elemType}`; }
      else {
        const dims = tt.shape?.dim ?? [];
        if (dims.length === 0) return onnxStructural(base, rng);
        const k = rng.int(dims.length); const v = pick(rng, [0, -1, 2 ** 31, 2 ** 53, 3, 1000000]);
        dims[k] = onnx.TensorShapeProto.Dimension.create({ dimValue: v });
        mutation = `onnx: ${vi.name} dim ${k} = ${v}`;
      }
      break;
    }
    case 9: { // graph inputs/outputs removed or duplicated
      const list = rng.next() < 0.5 ? g.input : g.output;
      if (rng.next() < 0.5 || list.length === 0) { list.push(onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(list[0] ?? g.output[0]!).finish())); mutation = 'onnx: graph input/output duplicated'; }
      else { list.splice(0, 1); mutation = 'onnx: first graph input/output removed'; }
      break;
    }
    case 10: { // opset / ir version
      if (rng.next() < 0.5) { const v = pick(rng, [0, 1, 6, 7, 21, 22, 2 ** 31]); m.opsetImport[0]!.version = v; mutation = `onnx: opset = ${v}`; }
      else { const v = pick(rng, [0, -1, 1, 2 ** 40]); m.irVersion = v; mutation = `onnx: ir_version = ${v}`; }
      break;
    }
    default: { // external data on an initializer
      const t = pick(rng, inits);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: pick(rng, ['weights.bin', '../etc/passwd', '/abs', '']) })];
      mutation = `onnx: initializer ${t.name} made external (${t.externalData[0]!.value})`;
    }
  }
  return { bytes: onnx.ModelProto.encode(m).finish(), mutation };
}

/** One ONNX mutation: byte-level (40%) or protobuf-level (60%). */
export function mutateOnnx(base: Uint8Array, rng: Rng): Mutant {
  return rng.next() < 0.4 ? byteMutation(base, rng) : onnxStructural(base, rng);
}
