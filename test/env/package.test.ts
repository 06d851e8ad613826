// The package as users get it: the browser entry's import graph is self-contained (relative imports
// only), and `npm pack` gives a tarball that installs into an empty folder with `npm install
// <tarball>` alone (no devDependencies, no build, no network beyond the registry: the local npm
// cache is preferred) and then classifies an image from the library, its types and the CLI.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    for (const f of seen) expect(relative(REPO_ROOT, f)).toMatch(/^src\/(runtime|format|image|kernels|errors|index)/);
  });

  it.skipIf(!HAS_BUILD)('so does the built dist/src/index.js (what the extension copies)', async () => {
    // @ts-ignore: a plain JavaScript script, no declarations
    const { runtimeFiles } = await import('../../examples/browser-extension/build.js') as {
      runtimeFiles(entry: string): { files: string[]; problems: string[] };
    };
    const { files, problems } = runtimeFiles(join(REPO_ROOT, 'dist/src/index.js'));
    expect(problems).toEqual([]);
    expect(files.some((f) => f.includes('decode-node'))).toBe(false);
  });

  it('package.json maps the entry points for Node, Deno and browsers', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const main = pkg.exports['.'];
    for (const condition of ['types', 'node', 'deno', 'browser', 'default']) expect(main[condition], condition).toBeTypeOf('string');
    expect(Object.keys(main)[0]).toBe('types');
    expect(Object.keys(main).at(-1)).toBe('default');
    expect(pkg.exports['./decode'].browser).toBeUndefined(); // jpeg-js/pngjs + node:fs: Node and Deno only
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'build/*.wasm']));
    // prepare builds in a checkout (and skips in an installed package that ships its build).
    expect(pkg.scripts.prepare).toBe('node scripts/prepare.js');
    expect(readFileSync(join(REPO_ROOT, 'scripts/prepare.js'), 'utf8')).toContain("npm run build");
    expect(pkg.files).toContain('scripts/prepare.js');
  });
});

describe.skipIf(!HAS_BUILD)('npm pack, then npm install <tarball> in an empty folder', () => {
  let fx: EnvFixture;
  let tmp: string;
  let app: string;
  let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };

  beforeAll(async () => {
    fx = await envFixture();
    tmp = mkdtempSync(join(tmpdir(), 'edgeq-pack-'));
    // dist/ and build/ are there already (CI: `npm ci` ran `prepare`), so no rebuild here.
    packed = JSON.parse(await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO_ROOT))[0];
    app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await sh('npm', ['install', join(tmp, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], app, 180_000);
  }, 300_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball holds dist, both kernel builds, the types and the web example; no models or tests', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([
      'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/image/decode-node.js', 'build/edgeq-simd.wasm', 'build/edgeq-scalar.wasm',
      'bin/edgeq.js', 'examples/web/index.html', 'package.json', 'README.md',
    ]));
    expect(paths.filter((p) => /\.(edgeq|onnx)$|^test\/|^node_modules\/|^\.cache\//.test(p))).toEqual([]);
    console.log(`[env] npm pack: ${packed.filename} ${(packed.size / 1e3).toFixed(0)} kB packed, ${(packed.unpackedSize / 1e3).toFixed(0)} kB unpacked, ${paths.length} files`);
  });

  it('installs without devDependencies or a build', () => {
    const nm = join(app, 'node_modules');
    expect(existsSync(join(nm, 'edgeq/dist/src/index.js'))).toBe(true);
    expect(existsSync(join(nm, 'edgeq/build/edgeq-simd.wasm'))).toBe(true);
    for (const dev of ['assemblyscript', 'binaryen', 'typescript', 'vitest', 'deno', 'playwright-core']) expect(existsSync(join(nm, dev)), dev).toBe(false);
  });

  it('classifies an image through the library: the same logits as this checkout', async () => {
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

  it('the edgeq command works from the install', async () => {
    const out = JSON.parse(await sh(process.execPath, [join(app, 'node_modules/edgeq/bin/edgeq.js'), 'run', fx.model, fx.image, '--json', '--top', '1'], app, 60_000));
    const here = await nodeLogits(fx);
    expect(out[0].top[0].index).toBe(argmax(here.logits));
  });

  it('TypeScript resolves the types through "exports"', async () => {
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
