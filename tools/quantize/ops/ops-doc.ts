// docs/ops.md's generated part: the ONNX ops the quantizer maps (ops/registry.ts) with their
// conditions, and the int8 op kinds their modules produce.
// test/quantize/ops-doc.test.ts checks that the doc holds exactly this text.
import { ONNX_PATTERNS, OP_MODULES } from './registry.js';

export const OPS_DOC_BEGIN = '<!-- generated from tools/quantize/ops/registry.ts: begin -->';
export const OPS_DOC_END = '<!-- generated from tools/quantize/ops/registry.ts: end -->';

/** The markdown between OPS_DOC_BEGIN and OPS_DOC_END. */
export function opsDocTable(): string {
  const rows = [...ONNX_PATTERNS.values()].map((p) => `| ${p.opType} | ${p.becomes} | ${p.condition} |`);
  const from = (kind: string) => [...ONNX_PATTERNS.values()].filter((p) => p.becomes === kind).map((p) => p.opType).join(', ');
  const kinds = Object.keys(OP_MODULES).map((k) => `| ${k} | ${from(k)} |`);
  return [
    '| ONNX op (ai.onnx) | becomes | the quantizer maps it when |',
    '|---|---|---|',
    ...rows,
    '',
    '| int8 op kind (OP_MODULES) | from ONNX ops |',
    '|---|---|',
    ...kinds,
  ].join('\n');
}
