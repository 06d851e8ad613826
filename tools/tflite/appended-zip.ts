// The entries of a zip archive appended to a file. TFLite's metadata populator packs a model's
// associated files (its label file, for one) as a zip after the flatbuffer, so a .tflite is both a
// flatbuffer and a zip. Read from the end-of-central-directory record back; offsets are taken from
// where the archive starts (the record's position minus the central directory's size and offset, as
// Python's zipfile does for data before an archive), so archives written with offsets from the
// file's start and from their own start both read. Stored entries (method 0) give their bytes;
// other methods are reported, not inflated. Zip64 archives are not read.
import { EdgeqError } from 'edgeq';

export interface ZipEntry {
  name: string;
  /** Compression method: 0 stored (data given), 8 deflate, ... */
  method: number;
  /** The entry's bytes (a view into the file) when stored. */
  data?: Uint8Array;
}

const EOCD = 0x06054b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
const EOCD_BYTES = 22, CENTRAL_BYTES = 46, LOCAL_BYTES = 30;

/**
 * The entries of the zip archive that ends `bytes`, in central-directory order; undefined when the
 * bytes end with no end-of-central-directory record (its comment reaching exactly to the end).
 * A malformed archive: EdgeqError('BAD_MODEL') prefixed with `where`, naming the offset.
 */
export function appendedZipEntries(bytes: Uint8Array, where = ''): ZipEntry[] | undefined {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const bad = (message: string): never => { throw new EdgeqError('BAD_MODEL', `${where}appended zip: ${message}`); };
  let eocd = -1;
  for (let p = n - EOCD_BYTES; p >= 0 && p >= n - EOCD_BYTES - 0xffff; p--) {
    if (view.getUint32(p, true) === EOCD && p + EOCD_BYTES + view.getUint16(p + 20, true) === n) { eocd = p; break; }
  }
  if (eocd < 0) return undefined;
  const count = view.getUint16(eocd + 10, true), cdSize = view.getUint32(eocd + 12, true), cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) bad(`the record at byte ${eocd} is a zip64 one, which edgeq does not read`);
  const cdStart = eocd - cdSize, base = cdStart - cdOffset;
  if (cdStart < 0 || base < 0) bad(`the central directory (${cdSize} bytes at offset ${cdOffset}) does not fit before the record at byte ${eocd}`);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const entries: ZipEntry[] = [];
  let p = cdStart;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_BYTES > eocd || view.getUint32(p, true) !== CENTRAL) bad(`central directory entry ${i} at byte ${p} is missing or truncated`);
    const method = view.getUint16(p + 10, true), size = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true), extraLen = view.getUint16(p + 30, true), commentLen = view.getUint16(p + 32, true);
    const local = base + view.getUint32(p + 42, true);
    const next = p + CENTRAL_BYTES + nameLen + extraLen + commentLen;
    if (next > eocd) bad(`central directory entry ${i} at byte ${p} runs past the directory's end (byte ${eocd})`);
    const name = decoder.decode(bytes.subarray(p + CENTRAL_BYTES, p + CENTRAL_BYTES + nameLen));
    if (local + LOCAL_BYTES > cdStart || view.getUint32(local, true) !== LOCAL) bad(`entry "${name}": no local header at byte ${local}`);
    const start = local + LOCAL_BYTES + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (size === 0xffffffff || start + size > cdStart) bad(`entry "${name}": ${size} bytes at byte ${start} run past the central directory (byte ${cdStart})`);
    entries.push(method === 0 ? { name, method, data: bytes.subarray(start, start + size) } : { name, method });
    p = next;
  }
  return entries;
}
