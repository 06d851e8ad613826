// The package as users get it: the browser entry's import graph is self-contained (relative imports
// only), and `npm pack` gives a tarball that installs into an empty folder with `npm install
// <tarball>` alone (no devDependencies, no build, no network beyond the registry: the local npm
// cache is preferred) and then classifies an image from the library, its types and the CLI.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { BUILD_SKIP, HAS_BUILD, argmax, envFixture, maxAbsDiff, nodeLogits, type EnvFixture } from './fixture.js';

const run = promisify(execFile);
warnSkip(HAS_BUILD, BUILD_SKIP);

async function sh(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<string> {
  try {
    return (await run(cmd, args, { cwd, timeout, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** Imports of a TypeScript source: [specifier, dynamic?]. */
function imports(text: string): [string, boolean][] {
  const out: [string, boolean][] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) out.push([(m[1] ?? m[2])!, false]);
  for (const m of text.matchAll(/\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)*['"]([^'"]+)['"]\s*\)/g)) out.push([m[1]!, true]);
  return out;
}

describe('the core is browser-safe', () => {
  it('src/index.ts reaches only relative modules (Node built-ins only as guarded dynamic imports)', () => {
    const seen = new Set<string>();
    const bare: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [spec, dynamic] of imports(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        // A dynamic import of a Node built-in is allowed: it runs only when the code finds itself in Node.
        else if (!(dynamic && spec.startsWith('node:'))) bare.push(`${relative(REPO_ROOT, file)} -> ${spec}`);
      }
    };
    visit(join(REPO_ROOT, 'src/index.ts'));
    expect(bare).toEqual([]);
    expect(seen.size).toBeGreaterThan(10);
    for (const f of seen) expect(relative(REPO_ROOT, f)).toMatch(/^src\/(runtime|format|image|kernels|ops|errors|index)/);
  });

  it.skipIf(!HAS_BUILD)('so does the built dist/index.js (what the extension copies)', async () => {
    // @ts-ignore: a plain JavaScript script, no declarations
    const { runtimeFiles } = await import('../../examples/browser-extension/build.js') as {
      runtimeFiles(entry: string): { files: string[]; problems: string[] };
    };
    const { files, problems } = runtimeFiles(join(REPO_ROOT, 'dist/index.js'));
    expect(problems).toEqual([]);
    expect(files.some((f) => f.includes('decode-node'))).toBe(false);
  });

  it('package.json maps the entry points for Node, Deno and browsers; no package runs an install script', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const main = pkg.exports['.'];
    for (const condition of ['types', 'node', 'deno', 'browser', 'default']) expect(main[condition], condition).toBeTypeOf('string');
    expect(Object.keys(main)[0]).toBe('types');
    expect(Object.keys(main).at(-1)).toBe('default');
    expect(pkg.exports['./decode'].browser).toBeUndefined(); // jpeg-js/pngjs + node:fs: Node and Deno only
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'build/edgeq-simd.wasm', 'build/edgeq-simd-mt.wasm', 'build/edgeq-scalar.wasm']));
    const lab = JSON.parse(readFileSync(join(REPO_ROOT, 'tools/package.json'), 'utf8'));
    const bench = JSON.parse(readFileSync(join(REPO_ROOT, 'bench/package.json'), 'utf8'));
    // The published packages run nothing at install; the checkout's build is the private bench workspace's prepare.
    for (const p of [pkg, lab]) {
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(p.scripts?.[hook], `${p.name} ${hook}`).toBeUndefined();
    }
    expect(bench.private).toBe(true);
    expect(bench.scripts.prepare).toBe('node ../scripts/prepare.js');
    expect(readFileSync(join(REPO_ROOT, 'scripts/prepare.js'), 'utf8')).toContain('npm run build');
    // The runtime depends on nothing of the lab; the lab on the runtime's exact version.
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['jpeg-js', 'pngjs']);
    expect(lab.dependencies.edgeq).toBe(pkg.version);
    expect(pkg.workspaces).toEqual(['tools', 'bench']);
  });
});

/** Bytes of a folder, recursively (symbolic links not followed). */
function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += folderBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

type Packed = { filename: string; size: number; unpackedSize: number; files: { path: string }[] };

describe.skipIf(!HAS_BUILD)('npm pack both packages, then npm install the tarballs in empty folders', () => {
  let fx: EnvFixture;
  let tmp: string;
  /** The runtime alone (what a page, an extension or an edge box installs). */
  let app: string;
  /** The runtime and the lab. */
  let labApp: string;
  let runtime: Packed;
  let lab: Packed;

  beforeAll(async () => {
    fx = await envFixture();
    tmp = mkdtempSync(join(tmpdir(), 'edgeq-pack-'));
    // dist/ and build/ are there already (CI: `npm ci` ran the build), so no rebuild here.
    runtime = JSON.parse(await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO_ROOT))[0];
    lab = JSON.parse(await sh('npm', ['pack', '-w', 'tools', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO_ROOT))[0];
    app = join(tmp, 'app');
    labApp = join(tmp, 'lab-app');
    for (const dir of [app, labApp]) {
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    }
    await sh('npm', ['install', join(tmp, runtime.filename), '--prefer-offline', '--no-audit', '--no-fund'], app, 180_000);
    await sh('npm', ['install', join(tmp, runtime.filename), join(tmp, lab.filename), '--prefer-offline', '--no-audit', '--no-fund'], labApp, 300_000);
  }, 600_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the runtime tarball holds dist, the three kernel builds, the types and the web example; nothing of the lab', () => {
    const paths = runtime.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([
      'dist/index.js', 'dist/index.d.ts', 'dist/image/decode-node.js', 'build/edgeq-simd.wasm', 'build/edgeq-simd-mt.wasm',
      'build/edgeq-scalar.wasm', 'examples/web/index.html', 'package.json', 'README.md',
    ]));
    expect(paths.filter((p) => /\.(edgeq|onnx|ts)$|^test\/|^tools\/|^bench\/|^node_modules\/|^\.cache\/|^dist\/(cli|quantize|onnx|reference|synth|fuzz)\/|tsbuildinfo/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    console.log(`[env] npm pack: ${runtime.filename} ${(runtime.size / 1e3).toFixed(0)} kB packed, ${(runtime.unpackedSize / 1e3).toFixed(0)} kB unpacked, ${paths.length} files`);
  });

  it('the runtime installs small: no onnxruntime-web, protobuf or CLI framework, at most 3 MB of node_modules', () => {
    const nm = join(app, 'node_modules');
    expect(existsSync(join(nm, 'edgeq/dist/index.js'))).toBe(true);
    expect(existsSync(join(nm, 'edgeq/build/edgeq-simd.wasm'))).toBe(true);
    for (const heavy of ['onnxruntime-web', 'onnxruntime-common', 'protobufjs', 'onnx-proto', 'commander', 'cli-progress', 'tinybench', 'edgeq-tools']) {
      expect(existsSync(join(nm, heavy)), heavy).toBe(false);
    }
    for (const dev of ['assemblyscript', 'binaryen', 'typescript', 'vitest', 'deno', 'playwright-core']) expect(existsSync(join(nm, dev)), dev).toBe(false);
    const bytes = folderBytes(nm);
    console.log(`[env] runtime install: node_modules ${(bytes / 1e6).toFixed(2)} MB (${readdirSync(nm).filter((n) => !n.startsWith('.')).join(', ')})`);
    expect(bytes).toBeLessThan(3e6);
  });

  it('classifies an image through the installed runtime: the same logits as this checkout', async () => {
    writeFileSync(join(app, 'classify.mjs'), [
      "import { Session } from 'edgeq';",
      "import { readImage } from 'edgeq/decode';",
      'const session = await Session.create(process.argv[2]);',
      'const logits = await session.run(readImage(process.argv[3]));',
      'session.release();',
      'console.log(JSON.stringify({ backend: session.backend, logits: Array.from(logits) }));',
    ].join('\n'));
    const out = JSON.parse(await sh(process.execPath, ['classify.mjs', fx.model, fx.image], app, 60_000));
    const here = await nodeLogits(fx);
    expect(out.backend).toBe(here.backend);
    expect(maxAbsDiff(out.logits, here.logits)).toBe(0);
  });

  it('the lab tarball holds the command line and the quantizer, compiled, and no sources or tests', () => {
    const paths = lab.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['bin/edgeq.js', 'dist/cli/index.js', 'dist/quantize/index.js', 'dist/quantize/index.d.ts', 'package.json']));
    expect(paths.filter((p) => (/\.ts$/.test(p) && !p.endsWith('.d.ts')) || /^test\/|tsbuildinfo|\.(edgeq|onnx)$/.test(p))).toEqual([]);
    console.log(`[env] npm pack -w tools: ${lab.filename} ${(lab.size / 1e3).toFixed(0)} kB packed; lab install node_modules ${(folderBytes(join(labApp, 'node_modules')) / 1e6).toFixed(1)} MB`);
  });

  it('the edgeq command works from the lab install, on the installed runtime', async () => {
    const out = JSON.parse(await sh(process.execPath, [join(labApp, 'node_modules/.bin/edgeq'), 'run', fx.model, fx.image, '--json', '--top', '1'], labApp, 60_000));
    const here = await nodeLogits(fx);
    expect(out[0].top[0].index).toBe(argmax(here.logits));
    // One runtime in the tree: the lab uses the installed edgeq, not a copy of its own.
    expect(existsSync(join(labApp, 'node_modules/edgeq-tools/node_modules/edgeq'))).toBe(false);
  });

  it('the quantizer is importable from the installed lab', async () => {
    writeFileSync(join(labApp, 'q.mjs'), [
      "import * as q from 'edgeq-tools/quantize';",
      "import * as lab from 'edgeq-tools';",
      'console.log(JSON.stringify({ quantize: typeof q.quantize, lab: typeof lab.quantize, version: q.QUANTIZER_VERSION }));',
    ].join('\n'));
    const out = JSON.parse(await sh(process.execPath, ['q.mjs'], labApp, 60_000));
    expect(out).toEqual({ quantize: 'function', lab: 'function', version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
  });

  it('TypeScript resolves the runtime types through "exports"', async () => {
    writeFileSync(join(app, 'check.ts'), [
      "import { Session, type Classification } from 'edgeq';",
      "import { readImage } from 'edgeq/decode';",
      "const session: Session = await Session.create('model.edgeq', { backend: 'auto' });",
      "const top: Classification[] = await session.classify(readImage('image.png'), { topK: 5 });",
      'console.log(top[0]?.label);',
      '// @ts-expect-error: topK is a number',
      "await session.classify(readImage('image.png'), { topK: '5' });",
    ].join('\n'));
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    await sh(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--target', 'es2022', '--lib', 'es2022,dom', 'check.ts'], app);
  });
});
