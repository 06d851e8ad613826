// What a person reads from the `edgeq` command and the examples: one line `edgeq: <message> [CODE]`
// for every error (EdgeqError, commander's, Node's), never a stack; both versions; progress lines
// off a terminal. The spawned commands run the built package (tools/dist, dist), rebuilt first.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { errorLine, versionLine } from '../../tools/cli/index.js';
import { progress } from '../../tools/cli/progress.js';
import { REPO_ROOT } from '../helpers.js';
import { makeCliFixture, type CliFixture } from './fixtures.js';

let fx: CliFixture;
beforeAll(async () => {
  const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.json', 'tools/tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  fx = await makeCliFixture();
});
afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

function sh(file: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, file), ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const edgeq = (...args: string[]) => sh('tools/bin/edgeq.js', args);

/** Exactly one non-empty stderr line before any help text, in the `edgeq: ... [CODE]` form, and no stack frame. */
function oneLineError(stderr: string, code: string): string {
  const first = stderr.split('\n')[0];
  expect(first).toMatch(new RegExp(`^edgeq: .+ \\[${code}\\]$`));
  expect(stderr).not.toMatch(/^\s+at /m);
  return first;
}

describe('edgeq errors and output', () => {
  it('errorLine: EdgeqError, Node errors (naming the path) and anything else, one line each', () => {
    expect(errorLine(new EdgeqError('NOT_FOUND', 'model m.onnx does not exist'))).toBe('edgeq: model m.onnx does not exist [NOT_FOUND]');
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y.edgeq'"), { code: 'ENOENT', syscall: 'open', path: '/x/y.edgeq' });
    expect(errorLine(enoent)).toBe('edgeq: open /x/y.edgeq: no such file or directory [ENOENT]');
    const eacces = Object.assign(new Error("EACCES: permission denied, open '/root/r.json'"), { code: 'EACCES', syscall: 'open', path: '/root/r.json' });
    expect(errorLine(eacces)).toBe('edgeq: open /root/r.json: permission denied [EACCES]');
    expect(errorLine(new TypeError('x is undefined\n  more detail'))).toBe('edgeq: x is undefined [INTERNAL]');
  });

  it('--version names edgeq-tools and the runtime edgeq', () => {
    const r = edgeq('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(versionLine());
    expect(versionLine()).toMatch(/^edgeq-tools \d+\.\d+\.\d+\S* \(runtime edgeq \d+\.\d+\.\d+\S*\)$/);
  });

  it('commander\'s errors are one edgeq line too', () => {
    const r = edgeq('run');
    expect(r.status).toBe(1);
    expect(oneLineError(r.stderr, 'BAD_OPTION')).toContain("missing required argument 'model'");
  });

  it('quantize --calib FILE and -o into a missing folder: one line, exit 1', () => {
    const a = edgeq('quantize', fx.onnx, '--calib', fx.pngs[0], '--preprocess', 'unit', '-o', join(fx.dir, 'o.edgeq'));
    expect(a.status).toBe(1);
    expect(oneLineError(a.stderr, 'BAD_OPTION')).toContain(`${fx.pngs[0]} is a file, not a folder`);
    const b = edgeq('quantize', fx.onnx, '--calib-synthetic', '4', '-o', '/nonexistent/dir/x.edgeq');
    expect(oneLineError(b.stderr, 'NOT_FOUND')).toContain('/nonexistent/dir');
    expect(b.stdout).toBe('');
  });

  it('run model.onnx says how to quantize it; a missing image is NOT_FOUND', () => {
    expect(oneLineError(edgeq('run', fx.onnx, fx.pngs[0]).stderr, 'BAD_MODEL')).toContain(`edgeq quantize ${fx.onnx} -o`);
    expect(oneLineError(edgeq('run', fx.edgeq, join(fx.dir, 'gone.jpg')).stderr, 'NOT_FOUND')).toContain('gone.jpg');
  });

  it('examples/node/classify.js prints a bad image\'s EdgeqError as one line', () => {
    const r = sh('examples/node/classify.js', [fx.edgeq, join(fx.images, 'notes.txt')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^classify: .*notes\.txt.* \[BAD_IMAGE\]$/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('progress off a terminal', () => {
  it('a line with the step and percentage at most every few seconds, and at the end', () => {
    const out: string[] = [];
    let t = 0;
    const p = progress({ stream: { isTTY: false, write: (s: string) => { out.push(s); return true; } } as unknown as NodeJS.WritableStream, everyMs: 3000, now: () => t });
    for (let i = 0; i <= 100; i++) { t = i * 100; p.update('calibrating (images)', i, 100); }
    p.update('report (inputs)', 0, 20);
    p.stop();
    expect(out).toEqual([
      'calibrating (images): 0% (0/100)\n', 'calibrating (images): 30% (30/100)\n', 'calibrating (images): 60% (60/100)\n',
      'calibrating (images): 90% (90/100)\n', 'calibrating (images): 100% (100/100)\n', 'report (inputs): 0% (0/20)\n',
    ]);
  });
});
