// The op modules (src/ops): the registry covers every .edgeq op kind, each module's declared reads
// and writes are the liveness rule the planner had hard-coded, and they match what its kernel calls
// touch in a real plan (every pointer argument, and every indirection entry, lies in a declared
// tensor, a weight section, the op's own constants or the scratch).
import { describe, expect, it } from 'vitest';
import type { QModel, QOp } from '../../src/format/qmodel.js';
import { KERNEL_PARAMS } from '../../src/kernels/kernel-api.generated.js';
import { OP_KINDS, OP_MODULES, opModule, opModuleOf } from '../../src/ops/index.js';
import { buildPlan } from '../../src/runtime/plan.js';
import { kernelModule } from '../../src/runtime/wasm-source.js';
import { synthBlocksQModel, synthQModel } from '../../tools/fuzz/seeds.js';

/** The rule src/runtime/plan.ts hard-coded before the op modules. */
const oldReads = (op: QOp): number[] =>
  op.op === 'add' || op.op === 'mul' ? [op.a, op.b] : op.op === 'concat' ? op.inputs : op.op === 'conv' && op.residual !== undefined ? [op.input, op.residual] : [op.input];

const models: [string, QModel][] = [];
for (let seed = 0; seed < 6; seed++) {
  models.push([`synth ${seed}`, synthQModel(seed)]);
  models.push([`synth ${seed} fused`, synthQModel(seed, { fuseResidual: true })]);
}
/** Models with the mul, concat and avgpool ops (and a ceil-mode max pool). */
const blockModels: [string, QModel][] = [0, 1, 2, 3].map((seed) => [`blocks ${seed}`, synthBlocksQModel(seed)]);

describe('op registry', () => {
  it('one module per .edgeq op kind, keyed by its op string', () => {
    expect([...OP_KINDS].sort()).toEqual(['add', 'avgpool', 'concat', 'conv', 'gap', 'maxpool', 'mul', 'softmax']);
    for (const k of OP_KINDS) expect(OP_MODULES[k].kind).toBe(k);
    expect(opModuleOf('tanh')).toBeUndefined();
    expect(opModuleOf('__proto__')).toBeUndefined();
    expect(opModuleOf(7)).toBeUndefined();
  });

  it('declared reads and writes equal the planner\'s former liveness rule', () => {
    const kinds = new Set<string>();
    for (const [, m] of models) {
      for (const op of m.ops) {
        kinds.add(op.op + (op.op === 'conv' && op.residual !== undefined ? '+residual' : ''));
        expect(opModule(op).reads(op)).toEqual(oldReads(op));
        expect(opModule(op).writes(op)).toEqual([op.output]);
      }
    }
    expect([...kinds].sort()).toEqual(['add', 'conv', 'conv+residual', 'gap', 'maxpool']);
  });

  it('kernel calls touch exactly the declared tensors', async () => {
    const module = await kernelModule('simd');
    for (const [name, m] of [...models, ...blockModels]) {
      for (const winograd of ['off', 'all'] as const) {
        const plan = await buildPlan(m, module, 2, undefined, { winograd });
        const regions = plan.regions!;
        const mem = new DataView(plan.kernels.memory.buffer);
        expect(plan.calls.length).toBe(m.ops.length);
        expect(plan.steps.length).toBe(m.ops.length);
        plan.calls.forEach((calls, i) => {
          const op = m.ops[i];
          const mod = opModule(op);
          const declared = { read: new Set(mod.reads(op)), write: new Set(mod.writes(op)) };
          const hit = { read: new Set<number>(), write: new Set<number>() };
          const where = (addr: number, how: 'read' | 'write', what: string): void => {
            const inside = regions.filter((r) => addr >= r.offset && addr < r.offset + r.size);
            const tensors = inside.flatMap((r) => (/^tensor (\d+)$/.exec(r.name) ? [Number(r.name.slice(7))] : []));
            const own = tensors.filter((t) => declared[how].has(t));
            if (own.length) { for (const t of own) hit[how].add(t); return; }
            const other = inside.filter((r) => !r.name.startsWith('tensor '));
            const ok = other.some((r) => (how === 'read' && (r.name.startsWith('section ') || r.name.startsWith(`op ${i} `))) || r.name === 'scratch');
            expect(ok, `${name} winograd=${winograd} op ${i} (${op.op}) ${what} = ${addr} lies in ${inside.map((r) => r.name).join(', ') || 'nothing'}`).toBe(true);
          };
          for (const c of calls) {
            KERNEL_PARAMS[c.fn].forEach(([param, type], j) => {
              const v = c.args[j];
              if (type !== 'usize' || (param === 'res' && v === 0)) return;
              const how = param === 'out' ? 'write' : 'read';
              where(v, how, `${c.fn}.${String(param)}`);
              if (param === 'ind') {
                const taps = c.args[KERNEL_PARAMS[c.fn].findIndex(([p]) => p === 'taps')];
                const rows = c.args[0];
                for (let e = 0; e < rows * taps; e++) where(mem.getUint32(v + 4 * e, true), 'read', `${c.fn} indirection entry ${e}`);
              }
            });
          }
          expect([...hit.read].sort(), `${name} op ${i} reads`).toEqual([...declared.read].sort());
          expect([...hit.write].sort(), `${name} op ${i} writes`).toEqual([...declared.write].sort());
        });
      }
    }
  });
});
