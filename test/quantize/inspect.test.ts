// `edgeq inspect model.onnx` says whether the quantizer would take the model: it lists the nodes it
// cannot map (name, op type, why), `--check` turns a rejection into UNSUPPORTED_OP (exit status 1),
// and a graph with a cycle is BAD_ONNX. The verdict is checked against what quantizeModel's graph
// preparation actually does on the same bytes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { inspectCommand } from '../../tools/cli/inspect.js';
import { PatternGraph } from '../../tools/fuzz/graph-patterns.js';
import type { ModelDef } from '../../tools/onnx/model.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { prepareGraph } from '../../tools/quantize/prepare.js';
import { Rng } from '../../tools/synth/random.js';
import { HAS_BUILD } from '../env/fixture.js';
import { REPO_ROOT } from '../helpers.js';
import { quantizeModel } from '../../tools/quantize/pipeline.js';
import { tinyCnn, tinyInputs } from './tiny-cnn.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-inspect-'));
const save = (name: string, m: ModelDef) => { const p = join(dir, name); writeFileSync(p, writeOnnx(m)); return p; };

let out: string[];
beforeEach(() => { out = []; vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); }); });
afterEach(() => { vi.restoreAllMocks(); });

async function inspect(path: string, o: { json?: boolean; check?: boolean } = {}): Promise<EdgeqError | undefined> {
  try { await inspectCommand(path, o); return undefined; } catch (e) { if (e instanceof EdgeqError) return e; throw e; }
}
const prepares = (path: string, m: ModelDef) => { try { prepareGraph(readOnnx(writeOnnx(m), { fileName: path })); return true; } catch { return false; } };

/** Conv -> Tanh -> Conv -> Erf: two nodes the quantizer does not map. */
function twoUnsupported(): ModelDef {
  const g = new PatternGraph(new Rng(1));
  const s = g.node('Tanh', [g.conv('input', 3, 4)])[0];
  return g.model(g.node('Erf', [g.conv(s, 4, 4)])[0], [1, 4, 8, 8]);
}

describe('edgeq inspect model.onnx: the quantizer\'s verdict', () => {
  it('a model the quantizer takes: says so, --check passes', async () => {
    const p = save('tiny.onnx', tinyCnn());
    expect(await inspect(p, { check: true })).toBeUndefined();
    expect(out.join('\n')).toMatch(/quantizer: maps every node \(9 int8 ops\)/);
    expect(prepares(p, tinyCnn())).toBe(true);
  });

  it('lists every unsupported node with its op type and reason; --check is UNSUPPORTED_OP', async () => {
    const m = twoUnsupported();
    const p = save('two.onnx', m);
    expect(await inspect(p)).toBeUndefined(); // without --check: a report, not an error
    const text = out.join('\n');
    expect(text).toMatch(/node "tanh_\d+" \(Tanh\): op Tanh is not supported by the edgeq quantizer/);
    expect(text).toMatch(/node "erf_\d+" \(Erf\): op Erf is not supported/);
    const e = await inspect(p, { check: true });
    expect(e?.code).toBe('UNSUPPORTED_OP');
    expect(e?.message).toMatch(/2 nodes, first node "tanh_\d+" \(Tanh\)/);
    expect(prepares(p, m)).toBe(false);
  });

  it('a node whose op type is mapped but whose condition fails is named too (JSON)', async () => {
    const g = new PatternGraph(new Rng(2));
    const c = g.conv('input', 3, 4);
    const m = g.model(g.add(g.link(c, 'Relu'), g.conv(c, 4, 4)), [1, 4, 8, 8]); // a Relu beside another reader: standalone
    const p = save('standalone.onnx', m);
    await inspect(p, { json: true });
    const q = JSON.parse(out.join('\n')).quantizer;
    expect(q.ok).toBe(false);
    expect(q.problems).toEqual([expect.objectContaining({ opType: 'Relu', code: 'UNSUPPORTED_OP', why: expect.stringMatching(/standalone Relu/) })]);
    expect((await inspect(p, { check: true }))?.code).toBe('UNSUPPORTED_OP');
    expect(prepares(p, m)).toBe(false);
  });

  it('a graph with a cycle is BAD_ONNX', async () => {
    const g = new PatternGraph(new Rng(3));
    const a = g.add(g.conv('input', 3, 4), 'loop');
    g.nodes.push({ ...g.nodes[g.nodes.length - 1], name: 'back', opType: 'Relu', inputs: [a], outputs: ['loop'] });
    const e = await inspect(save('cycle.onnx', g.model(a, [1, 4, 8, 8])));
    expect(e?.code).toBe('BAD_ONNX');
    expect(e?.message).toMatch(/cycle/);
  });

  it('an .edgeq file: one line per op, written by the op\'s module, in the file\'s order', async () => {
    const calib = tinyInputs(2, 4);
    const q = await quantizeModel(writeOnnx(tinyCnn()), { calibration: calib, calibrationCount: calib.length, gptq: false });
    const p = join(dir, 'tiny.edgeq');
    writeFileSync(p, q.edgeq);
    expect(await inspect(p)).toBeUndefined();
    const lines = out.filter((l) => l.startsWith('  '));
    expect(lines.map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(q.model.ops.map((o) => `${o.op} ${o.name}:`));
    const conv = q.model.ops.find((o) => o.op === 'conv')!;
    expect(lines[0]).toContain(`${q.model.tensors[conv.input].name} [${q.model.tensors[conv.input].shape}]`);
  }, 60_000);

  it.skipIf(!HAS_BUILD)('the built CLI: `edgeq inspect --check` exits 1 on a rejected model, 0 on a mapped one', () => {
    const cli = (p: string) => spawnSync(process.execPath, [join(REPO_ROOT, 'tools/bin/edgeq.js'), 'inspect', '--check', p], { encoding: 'utf8' });
    const bad = cli(save('cli-bad.onnx', twoUnsupported()));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/\[UNSUPPORTED_OP\]/);
    expect(bad.stdout).toMatch(/node "erf_\d+" \(Erf\)/);
    expect(cli(save('cli-ok.onnx', tinyCnn())).status).toBe(0);
  });
});
