// Labels from a .tflite file's metadata (tools/tflite/metadata.ts, appended-zip.ts): the
// TFLITE_METADATA buffer names the output's TENSOR_AXIS_LABELS file, packed in the zip appended to
// the file; importTflite embeds those labels when no `labels` option is given and their count
// matches the outputs. Files written by tools/tflite/build.ts (as TFLite's metadata populator lays
// them out), plus the Coral MobileNets when ../shared is present.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/index.js';
import { Session } from '../../src/index.js';
import { appendZip, buildTflite, tinyModel, type LabelMetadataSpec } from '../../tools/tflite/build.js';
import { appendedZipEntries } from '../../tools/tflite/appended-zip.js';
import { importTflite, readTflite, tfliteMetadataLabels } from '../../tools/tflite/index.js';
import { SHARED, warnSkip } from '../helpers.js';

const spec = tinyModel(1);
const C = spec.tensors[spec.outputs[0]!]!.shape.at(-1)!;
const names = (n: number) => Array.from({ length: n }, (_, i) => `class ${i} (é)`);
const withMetadata = (m: Partial<LabelMetadataSpec> = {}) => buildTflite({ ...spec, metadata: { file: 'labels.txt', labels: names(C), ...m } });

describe('appendedZipEntries', () => {
  it('reads stored entries with offsets from the file start or the archive start; a file without a zip gives undefined', () => {
    const head = new Uint8Array(100).fill(7);
    const entries = [{ name: 'a.txt', data: new TextEncoder().encode('alpha\n'), method: 0 }, { name: 'b.bin', data: Uint8Array.of(1, 2, 3), method: 8 }];
    for (const archiveOffsets of [false, true]) {
      const z = appendedZipEntries(appendZip(head, entries, archiveOffsets))!;
      expect(z.map((e) => [e.name, e.method])).toEqual([['a.txt', 0], ['b.bin', 8]]);
      expect(new TextDecoder().decode(z[0]!.data)).toBe('alpha\n');
      expect(z[1]!.data).toBeUndefined();
    }
    expect(appendedZipEntries(head)).toBeUndefined();
    expect(appendedZipEntries(new Uint8Array(0))).toBeUndefined();
  });

  it('a malformed archive is a BAD_MODEL naming the entry or offset', () => {
    const z = appendZip(new Uint8Array(64), [{ name: 'a.txt', data: new Uint8Array(40), method: 0 }]);
    const eocd = z.length - 22;
    const cases: [string, (v: DataView) => void, RegExp][] = [
      ['central directory offset past the record', (v) => v.setUint32(eocd + 12, 100000, true), /central directory .* does not fit/],
      ['entry count beyond the directory', (v) => v.setUint16(eocd + 10, 2, true), /entry 1 at byte \d+ is missing or truncated/],
      ['local header moved', (v) => v.setUint32(eocd - 46 - 5 + 42, 3, true), /entry "a.txt": no local header at byte 3/],
      ['entry size past the directory', (v) => v.setUint32(eocd - 46 - 5 + 20, 1000, true), /entry "a.txt": 1000 bytes .* run past/],
      ['zip64 record', (v) => v.setUint32(eocd + 16, 0xffffffff, true), /zip64/],
    ];
    for (const [what, mutate, message] of cases) {
      const bad = z.slice();
      mutate(new DataView(bad.buffer));
      let err: unknown;
      try { appendedZipEntries(bad, 'x.tflite: '); } catch (e) { err = e; }
      expect(err, what).toBeInstanceOf(EdgeqError);
      expect((err as EdgeqError).code, what).toBe('BAD_MODEL');
      expect((err as EdgeqError).message, what).toMatch(/^x\.tflite: appended zip: /);
      expect((err as EdgeqError).message, what).toMatch(message);
    }
  });
});

describe('labels from the TFLite metadata', () => {
  it('a stored label file becomes the .edgeq labels (offsets from the file or the archive start); classify names the classes', async () => {
    for (const archiveOffsets of [false, true]) {
      const bytes = withMetadata({ archiveOffsets });
      expect(readTflite(bytes).metadata.map((m) => m.name)).toEqual(['TFLITE_METADATA']);
      const r = importTflite(bytes);
      expect(r.labelsFrom).toBe('metadata');
      expect(r.metadataLabels).toEqual({ file: 'labels.txt', labels: names(C) });
      expect(readEdgeq(r.edgeq).labels).toEqual(names(C));
    }
    const session = await Session.create(importTflite(withMetadata()).edgeq, { threads: 1 });
    try {
      const n = session.inputShape.reduce((a, b) => a * b, 1);
      const top = await session.classify(new Float32Array(n).fill(0.25), { topK: 2 });
      expect(top).toHaveLength(2);
      for (const t of top) expect(t.label).toBe(names(C)[t.index]);
    } finally {
      session.release();
    }
  });

  it('the labels option wins over the metadata; a file without metadata has no labels', () => {
    const own = names(C).map((n) => `mine ${n}`);
    const r = importTflite(withMetadata(), { labels: own });
    expect(r.labelsFrom).toBe('option');
    expect(r.model.labels).toEqual(own);
    const plain = importTflite(buildTflite(spec));
    expect(plain.labelsFrom).toBeUndefined();
    expect(plain.metadataLabels).toEqual({});
    expect(plain.model.labels).toBeUndefined();
  });

  it('a named label file that gives no labels says why and imports without labels', () => {
    const cases: [Partial<LabelMetadataSpec>, RegExp][] = [
      [{ method: 8 }, /"labels\.txt" is compressed \(zip method 8\)/],
      [{ packed: false }, /names the label file "labels\.txt", which the appended zip \(1 entries\) does not hold/],
      [{ labels: names(C + 1) }, new RegExp(`"labels\\.txt" has ${C + 1} lines for ${C} outputs; not used`)],
    ];
    for (const [m, note] of cases) {
      const r = importTflite(withMetadata(m));
      expect(r.labelsFrom, JSON.stringify(m)).toBeUndefined();
      expect(r.model.labels, JSON.stringify(m)).toBeUndefined();
      expect(r.metadataLabels.note, JSON.stringify(m)).toMatch(note);
    }
    // The metadata without a zip after the flatbuffer.
    const bare = withMetadata({ zip: false });
    expect(appendedZipEntries(bare)).toBeUndefined();
    const r = importTflite(bare);
    expect(r.model.labels).toBeUndefined();
    expect(r.metadataLabels.note).toMatch(/names the label file "labels\.txt", but no zip archive is appended to the file/);
  });

  it('malformed metadata is a BAD_MODEL naming the file', () => {
    const bytes = withMetadata();
    const at = bytes.length - 22;
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(at + 12, bad.length, true); // central directory size past the start
    expect(() => importTflite(bad, { fileName: 'm.tflite' })).toThrow(/^m\.tflite: appended zip: the central directory/);
  });
});

const CORAL = join(SHARED, 'models', 'tflite-coral');
const HAS_CORAL = existsSync(join(CORAL, 'mobilenet_v1_0.25_128_quant.tflite'));
warnSkip(HAS_CORAL, `../shared/models/tflite-coral is absent (${CORAL}); the Coral metadata labels test is skipped`);

describe.runIf(HAS_CORAL)('the Coral MobileNets carry their labels', () => {
  it('both files: 1001 labels from imagenet_labels.txt in the appended zip, equal to the shipped label file', () => {
    const want = readFileSync(join(CORAL, 'imagenet_labels.txt'), 'utf8').split(/\r?\n/).filter((l, i, a) => i < a.length - 1 || l !== '');
    for (const file of ['mobilenet_v1_0.25_128_quant.tflite', 'mobilenet_v2_1.0_224_quant.tflite']) {
      const bytes = new Uint8Array(readFileSync(join(CORAL, file)));
      const m = tfliteMetadataLabels(readTflite(bytes), bytes);
      expect(m.file, file).toBe('imagenet_labels.txt');
      expect(m.labels, file).toEqual(want);
      expect(m.labels!.slice(0, 2)).toEqual(['background', 'tench, Tinca tinca']);
    }
  });
});
