// The Deno example (examples/deno/classify.ts) under the real Deno binary, against the Node example
// and the runtime in this process: same model, same image, the same logits bit for bit.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { cacheDir } from '../../tools/synth/cache-node.js';
import { BUILD_SKIP, HAS_BUILD, denoBinary, envFixture, maxAbsDiff, nodeLogits, type EnvFixture } from './fixture.js';

const run = promisify(execFile);
const DENO = denoBinary();
warnSkip(HAS_BUILD, BUILD_SKIP);
warnSkip(DENO !== undefined, 'Deno is absent (the `deno` devDependency, $EDGEQ_DENO or PATH); Deno tests skipped');

interface ExampleOutput {
  runtime: string;
  backend: string;
  results: { image: string; ms: number; top: { index: number; label: string; score: number }[]; logits: number[] }[];
}

const denoEnv = { ...process.env, DENO_DIR: join(cacheDir(), 'deno'), DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };

async function example(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExampleOutput> {
  try {
    const { stdout } = await run(cmd, args, { cwd: REPO_ROOT, env, timeout: 60_000, maxBuffer: 64 << 20 });
    return JSON.parse(stdout) as ExampleOutput;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

describe.skipIf(!HAS_BUILD || DENO === undefined)('Deno', () => {
  let fx: EnvFixture;
  beforeAll(async () => { fx = await envFixture(); }, 300_000);

  it('examples/deno/classify.ts gives the same logits as Node (PNG and JPEG)', async () => {
    const images = [fx.image, ...(fx.jpeg ? [fx.jpeg] : [])];
    // The documented command: read permission only (no env, net or write).
    const deno = await example(DENO!, ['run', '--allow-read', '--no-remote', 'examples/deno/classify.ts', fx.model, ...images, '--json', '--logits'], denoEnv);
    const node = await example(process.execPath, ['examples/node/classify.js', fx.model, ...images, '--json', '--logits']);
    const here = await nodeLogits(fx);
    expect(deno.runtime).toMatch(/^deno \d/);
    // Deno's relaxed dot is exact on x64 with VNNI: 'auto' runs the relaxed kernels there, same logits.
    expect(node.backend === 'simd' ? ['simd', 'relaxed'] : [node.backend]).toContain(deno.backend);
    expect(deno.results).toHaveLength(images.length);
    for (let i = 0; i < images.length; i++) {
      const d = deno.results[i]!, n = node.results[i]!;
      expect(d.logits.length).toBeGreaterThan(0);
      expect(maxAbsDiff(d.logits, n.logits)).toBe(0);
      // Same classes; softmax scores may differ in the last bits because Math.exp is not
      // correctly rounded and V8 versions differ (the logits themselves are identical).
      expect(d.top.map((t) => [t.index, t.label])).toEqual(n.top.map((t) => [t.index, t.label]));
      d.top.forEach((t, k) => expect(Math.abs(t.score - n.top[k]!.score)).toBeLessThan(1e-12));
      console.log(`[env] ${fx.kind} ${images[i]}: ${deno.runtime} vs ${node.runtime} (${deno.backend}): max |diff| ${maxAbsDiff(d.logits, n.logits)},`
        + ` top-1 ${d.top[0]!.label} ${(d.top[0]!.score * 100).toFixed(1)}%, run ${d.ms.toFixed(1)} / ${n.ms.toFixed(1)} ms`);
    }
    expect(maxAbsDiff(deno.results[0]!.logits, here.logits)).toBe(0);
  });

  it('the scalar build agrees too', async () => {
    const script = [
      "import { Session } from 'edgeq';",
      "import { readImage } from 'edgeq/decode';",
      'const s = await Session.create(Deno.args[0], { backend: "scalar" });',
      'console.log(JSON.stringify(Array.from(await s.run(readImage(Deno.args[1])))));',
    ].join('\n');
    const { stdout } = await run(DENO!, ['eval', '--ext=ts', script, fx.model, fx.image], { cwd: REPO_ROOT, env: denoEnv, timeout: 60_000 })
      .catch((err: { stderr?: string; message: string }) => { throw new Error(`deno eval failed: ${err.stderr || err.message}`); });
    const scalar = JSON.parse(stdout) as number[];
    expect(maxAbsDiff(scalar, (await nodeLogits(fx, 'scalar')).logits)).toBe(0);
  });
});
