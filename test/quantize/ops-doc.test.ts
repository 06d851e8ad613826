// One list of supported ops: docs/ops.md's table is the registry's (tools/quantize/ops/registry.ts),
// the quantizer's UNSUPPORTED_OP message lists the registry's op types, and the ONNX reader's op
// table (shape rules) covers every op type the registry maps.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_OPS } from '../../tools/onnx/ops.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { OPS_DOC_BEGIN, OPS_DOC_END, opsDocTable } from '../../tools/quantize/ops/ops-doc.js';
import { ONNX_PATTERNS } from '../../tools/quantize/ops/registry.js';
import { prepareGraph } from '../../tools/quantize/prepare.js';
import { REPO_ROOT } from '../helpers.js';
import { tinyCnn } from './tiny-cnn.js';

const DOC = join(REPO_ROOT, 'docs', 'ops.md');

describe('supported ops: one source of truth', () => {
  it('docs/ops.md holds the table generated from the registry', () => {
    const generated = (doc: string) => doc.slice(doc.indexOf(OPS_DOC_BEGIN), doc.indexOf(OPS_DOC_END) + OPS_DOC_END.length);
    const want = `${OPS_DOC_BEGIN}\n${opsDocTable()}\n${OPS_DOC_END}`;
    const doc = readFileSync(DOC, 'utf8');
    expect(doc.indexOf(OPS_DOC_END)).toBeGreaterThan(doc.indexOf(OPS_DOC_BEGIN));
    if (process.env.EDGEQ_WRITE_DOCS) writeFileSync(DOC, doc.replace(generated(doc), want));
    expect(generated(readFileSync(DOC, 'utf8'))).toBe(want);
    for (const opType of ONNX_PATTERNS.keys()) expect(opsDocTable()).toContain(`| ${opType} |`);
  });

  it('the UNSUPPORTED_OP message lists exactly the registry\'s op types', () => {
    let message = '';
    try { prepareGraph(readOnnx(writeOnnx(tinyCnn({ unsupported: true })))); } catch (e) { message = (e as Error).message; }
    const listed = /supported: ([^;)]*)/.exec(message)?.[1].split(', ');
    expect(listed).toEqual([...ONNX_PATTERNS.keys()]);
    expect(listed).not.toContain('Tanh');
  });

  it('every op type the quantizer maps has a shape rule in the ONNX reader', () => {
    for (const opType of ONNX_PATTERNS.keys()) expect(KNOWN_OPS.has(opType)).toBe(true);
  });
});
