// Whether the quantizer would take a model, without calibrating it: the nodes it cannot map (every
// node whose op type no pattern takes, else the first node whose pattern's condition fails) or the
// graph-level reason (several inputs, a non-static input shape...). A graph that is not a DAG (a
// cycle) or has a dangling input is BAD_ONNX, thrown: it is no valid model at all.
import { EdgeqError } from 'edgeq';
import type { ModelDef } from '../onnx/model.js';
import { liveNodes, prepareGraph, unsupportedReason } from './prepare.js';

export interface QuantizeProblem {
  /** The node's name and op type; absent for a graph-level problem. */
  node?: string;
  opType?: string;
  code: string;
  why: string;
}

export interface QuantizeCheck {
  /** True when graph preparation maps every node the output depends on. */
  ok: boolean;
  problems: QuantizeProblem[];
  /** Int8 ops the prepared graph has (when ok). */
  ops?: number;
}

export function checkQuantizable(model: ModelDef): QuantizeCheck {
  const unsupported = liveNodes(model.graph).flatMap((node) => {
    const why = unsupportedReason(node);
    return why ? [{ node: node.name, opType: node.opType, code: 'UNSUPPORTED_OP', why }] : [];
  });
  if (unsupported.length > 0) return { ok: false, problems: unsupported };
  try {
    return { ok: true, problems: [], ops: prepareGraph(model).ops.length };
  } catch (e) {
    if (!(e instanceof EdgeqError) || e.code === 'BAD_ONNX' || e.code === 'INTERNAL') throw e;
    // Pattern failures read `node "name" (OpType): why`.
    const m = /^node "(.*)" \((\w+)\): (.*)$/s.exec(e.message);
    return { ok: false, problems: [m ? { node: m[1], opType: m[2], code: e.code, why: m[3] } : { code: e.code, why: e.message }] };
  }
}
