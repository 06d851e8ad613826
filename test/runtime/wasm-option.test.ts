// options.wasm: one source is the single-thread build (1 thread; an explicit threads > 1 says why
// once); { simd, simdThreaded, scalar } names each build, so a bundled page or extension keeps its
// threads. Every form gives the reference outputs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Session } from '../../src/runtime/session.js';
import type { ThreadPool } from '../../src/runtime/pool.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';
import { REPO_ROOT } from '../helpers.js';

const SIZE = 32;
const buildFile = (name: string) => join(REPO_ROOT, 'build', name);
let model: Uint8Array;
let input: Float32Array;
let reference: Float32Array;
let simdBytes: Uint8Array;
let mtModule: WebAssembly.Module;
let scalarModule: WebAssembly.Module;

beforeAll(async () => {
  const calib = tinyInputs(500, 6, SIZE);
  model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 13, size: SIZE })), { calibration: calib, calibrationCount: calib.length })).edgeq;
  input = tinyInputs(501, 1, SIZE)[0];
  const s = await Session.create(model, { threads: 1 });
  reference = await s.run(input);
  s.release();
  simdBytes = new Uint8Array(readFileSync(buildFile('edgeq-simd.wasm')));
  mtModule = await WebAssembly.compile(readFileSync(buildFile('edgeq-simd-mt.wasm')));
  scalarModule = await WebAssembly.compile(readFileSync(buildFile('edgeq-scalar.wasm')));
});

afterEach(() => {
  vi.restoreAllMocks();
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const moduleOf = (s: Session) => (s as unknown as { module: WebAssembly.Module }).module;
const poolOf = (s: Session) => (s as unknown as { pool?: ThreadPool }).pool;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeqError);
    return `${(e as EdgeqError).code}: ${(e as Error).message}`;
  }
  return 'resolved';
}

describe('options.wasm', () => {
  it('{ simd, simdThreaded } keeps threads: the pool runs the given threaded module', async () => {
    const warn = vi.spyOn(console, 'warn');
    const s = await Session.create(model, { threads: 2, wasm: { simd: simdBytes, simdThreaded: mtModule } });
    expect(s.threads).toBe(2);
    expect(poolOf(s)!.module).toBe(mtModule);
    expect(moduleOf(s)).toBe(mtModule);
    expect(bits(await s.run(input))).toEqual(bits(reference));
    s.release();
    expect(warn).not.toHaveBeenCalled();
  });

  it('simdThreaded as a path and as a file URL', async () => {
    for (const simdThreaded of [buildFile('edgeq-simd-mt.wasm'), pathToFileURL(buildFile('edgeq-simd-mt.wasm'))]) {
      const s = await Session.create(model, { threads: 2, wasm: { simdThreaded } });
      expect(s.threads).toBe(2);
      expect(bits(await s.run(input))).toEqual(bits(reference));
      s.release();
    }
  });

  it('{ simd } or { scalar } alone: that build on 1 thread when threads is 1', async () => {
    const simd = await WebAssembly.compile(simdBytes as BufferSource);
    const a = await Session.create(model, { threads: 1, wasm: { simd, scalar: scalarModule } });
    expect(moduleOf(a)).toBe(simd);
    const b = await Session.create(model, { backend: 'scalar', wasm: { simd, scalar: scalarModule } });
    expect(moduleOf(b)).toBe(scalarModule);
    expect(b.threads).toBe(1);
    expect(bits(await a.run(input))).toEqual(bits(reference));
    expect(bits(await b.run(input))).toEqual(bits(reference));
    a.release();
    b.release();
  });

  it('one source: 1 thread; an explicit threads > 1 says why once, the default says nothing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const quiet = await Session.create(model, { wasm: simdBytes });
    expect(quiet.threads).toBe(1);
    expect(warn).not.toHaveBeenCalled();
    quiet.release();
    for (let i = 0; i < 2; i++) {
      const s = await Session.create(model, { threads: 4, wasm: simdBytes });
      expect(s.threads).toBe(1);
      expect(bits(await s.run(input))).toEqual(bits(reference));
      s.release();
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/1 thread: options\.wasm is one single-thread build; pass \{ simd, simdThreaded \}/);
  });

  it('rejects unknown builds and non-sources with BAD_OPTION', async () => {
    expect(await code(Session.create(model, { wasm: { simd: simdBytes, threaded: mtModule } as never }))).toMatch(/^BAD_OPTION: .*"threaded".*valid: simd, simdThreaded, scalar/);
    expect(await code(Session.create(model, { wasm: { simdThreaded: 42 } as never }))).toMatch(/^BAD_OPTION: wasm\.simdThreaded must be/);
    expect(await code(Session.create(model, { wasm: 42 as never }))).toMatch(/^BAD_OPTION: wasm must be/);
  });
});
