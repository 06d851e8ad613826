// Validated reads of a flatbuffer on the `flatbuffers` runtime's ByteBuffer, shared by the .tflite
// reader (reader.ts, TFLite's schema.fbs) and the metadata reader (metadata.ts, metadata_schema.fbs).
import { ByteBuffer } from 'flatbuffers';
import { EdgeqError } from 'edgeq';

/** A validated flatbuffer table: its position, vtable and the size the vtable declares. */
export interface Table { pos: number; vt: number; vtSize: number; size: number; what: string }

/**
 * Validated reads of one flatbuffer (a .tflite file, or a flatbuffer held in one of its buffers):
 * tables, fields by slot, vectors and strings, each checked to lie inside the bytes before it is
 * read. Uoffsets must point strictly forward, so no chain of references can loop. Every failure is
 * EdgeqError('BAD_MODEL', ...) prefixed with `where` and naming the offset and the `what` given.
 */
export class FlatTables {
  protected readonly bb: ByteBuffer;
  protected readonly n: number;

  /** `container` names the bytes in errors ("the file", "the TFLITE_METADATA buffer"). */
  constructor(protected readonly bytes: Uint8Array, protected readonly where: string, protected readonly container = 'the file') {
    this.bb = new ByteBuffer(bytes);
    this.n = bytes.length;
  }

  bad(message: string): never {
    throw new EdgeqError('BAD_MODEL', `${this.where}${message}`);
  }

  need(at: number, len: number, what: string): void {
    if (!(at >= 0 && len >= 0 && at + len <= this.n)) this.bad(`${what}: bytes ${at}..${at + len} lie outside ${this.container} (${this.n} bytes)`);
  }

  /** The target of the uoffset stored at `at`, checked to point forward and inside the file. */
  follow(at: number, what: string): number {
    this.need(at, 4, what);
    const rel = this.bb.readUint32(at);
    if (rel < 4) this.bad(`${what}: offset ${rel} at byte ${at} does not point forward`);
    const target = this.bb.__indirect(at);
    this.need(target, 4, what);
    return target;
  }

  table(pos: number, what: string): Table {
    this.need(pos, 4, what);
    const vt = pos - this.bb.readInt32(pos);
    this.need(vt, 4, `${what} vtable`);
    const vtSize = this.bb.readUint16(vt), size = this.bb.readUint16(vt + 2);
    if (vtSize < 4 || vtSize % 2 !== 0) this.bad(`${what}: vtable at byte ${vt} declares ${vtSize} bytes`);
    this.need(vt, vtSize, `${what} vtable`);
    if (size < 4) this.bad(`${what}: table at byte ${pos} declares ${size} bytes`);
    this.need(pos, size, what);
    return { pos, vt, vtSize, size, what };
  }

  /** The absolute position of field `slot` (0-based field index) of `t`, or 0 when absent; `bytes` of it must lie inside the table. */
  field(t: Table, slot: number, bytes: number): number {
    const at = 4 + 2 * slot;
    if (at + 2 > t.vtSize) return 0;
    const rel = this.bb.readUint16(t.vt + at);
    if (rel === 0) return 0;
    if (rel < 4 || rel + bytes > t.size) this.bad(`${t.what}: field ${slot} at table offset ${rel} (+${bytes} bytes) lies outside its ${t.size}-byte table at byte ${t.pos}`);
    return t.pos + rel;
  }

  u8(t: Table, slot: number, dflt = 0): number { const p = this.field(t, slot, 1); return p ? this.bb.readUint8(p) : dflt; }
  i8(t: Table, slot: number, dflt = 0): number { const p = this.field(t, slot, 1); return p ? this.bb.readInt8(p) : dflt; }
  i32(t: Table, slot: number, dflt = 0): number { const p = this.field(t, slot, 4); return p ? this.bb.readInt32(p) : dflt; }
  u32(t: Table, slot: number, dflt = 0): number { const p = this.field(t, slot, 4); return p ? this.bb.readUint32(p) : dflt; }
  f32(t: Table, slot: number, dflt = 0): number { const p = this.field(t, slot, 4); return p ? this.bb.readFloat32(p) : dflt; }
  bool(t: Table, slot: number): boolean { return this.u8(t, slot) !== 0; }

  /** A vector field: its first element's position and length, elements of `elem` bytes checked to fit. */
  vector(t: Table, slot: number, elem: number, what: string): { start: number; length: number } | undefined {
    const p = this.field(t, slot, 4);
    if (!p) return undefined;
    const v = this.follow(p, what);
    const length = this.bb.readUint32(v);
    this.need(v + 4, length * elem, `${what} (${length} elements)`);
    return { start: v + 4, length };
  }

  ints(t: Table, slot: number, what: string): number[] | undefined {
    const v = this.vector(t, slot, 4, what);
    if (!v) return undefined;
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.bb.readInt32(v.start + 4 * i));
    return out;
  }

  tables(t: Table, slot: number, what: string): Table[] {
    const v = this.vector(t, slot, 4, what);
    if (!v) return [];
    const out: Table[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.table(this.follow(v.start + 4 * i, `${what}[${i}]`), `${what}[${i}]`));
    return out;
  }

  string(t: Table, slot: number, what: string): string {
    const v = this.vector(t, slot, 1, what);
    if (!v) return '';
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(v.start, v.start + v.length));
  }
}
