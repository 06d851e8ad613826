// Threads under Deno: Deno 2 has a `process` global, so onnxruntime-web's Emscripten glue (run by
// quantizeModel's calibration) assigns node:worker_threads' Worker to globalThis.Worker; the pool
// used to spawn that class with a blob: URL (ERR_WORKER_PATH) and every session ran on 1 thread.
// Here a Deno child (test/runtime/threads-session.deno.ts) checks 2-thread sessions after that
// replacement: threads === 2, both threads took parts, outputs bit-identical to 1 thread; and, in
// this process, webWorkerAdapter() never takes node:worker_threads' Worker for a Web Worker.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker as NodeWorker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { webWorkerAdapter } from '../../src/runtime/pool.js';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { denoBinary } from '../env/fixture.js';

const run = promisify(execFile);
const DENO = denoBinary();
warnSkip(DENO !== undefined, 'Deno is absent (the `deno` devDependency, $EDGEQ_DENO or PATH): threads under Deno are skipped');

interface BackendResult { backend?: string; threads?: number[]; parts?: number[] | null; same?: boolean; n?: number; error?: string }

describe('webWorkerAdapter picks a Web Worker class', () => {
  const g = globalThis as { Worker?: unknown };
  const saved = g.Worker;
  afterEach(() => { g.Worker = saved; });

  it('not node:worker_threads\' Worker assigned to globalThis.Worker (as onnxruntime-web does where it sees `process`)', () => {
    g.Worker = NodeWorker;
    expect(webWorkerAdapter()).toBeUndefined(); // Node: there was no Web Worker class at load either
  });

  it('a Web Worker class set on globalThis is used', () => {
    const made: string[] = [];
    class FakeWorker {
      constructor(url: string, o: { type: string }) { made.push(`${url.slice(0, 5)} ${o.type}`); }
      postMessage(): void {}
      terminate(): void {}
    }
    g.Worker = FakeWorker;
    const a = webWorkerAdapter();
    expect(a?.name).toBe('web-workers');
    a!.spawn('0').terminate();
    expect(made).toEqual(['blob: module']);
  });
});

describe.skipIf(DENO === undefined)('threads under Deno', () => {
  it('2-thread sessions (simd, and relaxed where exact) after onnxruntime-web ran: threads 2, both threads take parts, outputs bit-identical to 1 thread; the process exits after release()', async () => {
    const args = ['run', '-A', '--sloppy-imports', `--import-map=${join(REPO_ROOT, 'test', 'deno-import-map.json')}`, join(REPO_ROOT, 'test/runtime/threads-session.deno.ts')];
    // A pool left running would keep the child alive: the timeout fails the test.
    const { stdout } = await run(DENO!, args, { cwd: REPO_ROOT, timeout: 120_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { workerReplaced: boolean; simd: BackendResult; relaxed: BackendResult; warnings: string[] };
    console.log(`[threads] Deno: ${JSON.stringify(r)}`);
    expect(r.workerReplaced).toBe(true); // the case this test is about did happen
    expect(r.warnings).toEqual([]);
    const results = [r.simd];
    if (r.relaxed.error) console.warn(`[threads] no relaxed backend under Deno here: ${r.relaxed.error}`);
    else results.push(r.relaxed);
    for (const b of results) {
      expect(b.error).toBeUndefined();
      expect(b.threads).toEqual([1, 2]);
      expect(b.parts).toHaveLength(2);
      for (const p of b.parts!) expect(p).toBeGreaterThan(0);
      expect(b).toMatchObject({ same: true });
      expect(b.n).toBeGreaterThanOrEqual(6);
    }
  }, 120_000);
});
