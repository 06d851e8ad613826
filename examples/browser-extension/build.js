#!/usr/bin/env node
// Assembles the unpacked extension: the sources in src/, the edgeq runtime (the files the browser
// entry dist/index.js imports, nothing else), the kernel builds (build/*.wasm) and a model, into one folder
// that Chromium loads with "Load unpacked" (or --load-extension). No bundler: the runtime is plain
// ES modules with relative imports only, which this script checks while it copies them.
//
//   node examples/browser-extension/build.js --model model.edgeq [--out DIR] [--zip FILE.zip]
//
// Default --out: examples/browser-extension/dist (git-ignored). --zip also writes the folder as the
// .zip the Chrome Web Store takes, and prints its size. Run `npm run build` first (dist/, build/).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

function fail(message) {
  console.error(`build-extension: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = { out: join(here, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? fail(`${a} needs a value`);
    if (a === '--model') o.model = resolve(value());
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--zip') o.zip = resolve(value());
    else if (a === '-h' || a === '--help') {
      console.log('usage: node examples/browser-extension/build.js --model model.edgeq [--out DIR] [--zip FILE.zip]');
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  if (!o.model) fail('--model <file.edgeq> is required (make one with `edgeq quantize`)');
  return o;
}

const STATIC_IMPORT = /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(?:\/\*[^*]*\*\/\s*)*['"]([^'"]+)['"]\s*\)/g;

/**
 * The browser entry's import graph: every file reachable from `entry` through relative imports.
 * A bare specifier (an npm package) anywhere in it is an error: the browser cannot resolve it.
 * Dynamic imports of `node:` modules are allowed (the runtime imports node:fs only under Node).
 */
export function runtimeFiles(entry) {
  const seen = new Set();
  const problems = [];
  const visit = (file) => {
    if (seen.has(file)) return;
    if (!existsSync(file)) { problems.push(`missing ${relative(root, file)}`); return; }
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(STATIC_IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('./') || spec.startsWith('../')) visit(resolve(dirname(file), spec));
      else problems.push(`${relative(root, file)} imports "${spec}"`);
    }
    for (const m of text.matchAll(DYNAMIC_IMPORT)) {
      const spec = m[1];
      if (spec.startsWith('./') || spec.startsWith('../')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:')) problems.push(`${relative(root, file)} imports "${spec}" dynamically`);
    }
  };
  visit(entry);
  return { files: [...seen], problems };
}

// ---- a minimal .zip writer (deflate, fixed timestamps so the same input gives the same bytes) ----

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function zipFolder(folder) {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(folder);
  const chunks = [];
  const central = [];
  let offset = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  for (const path of files) {
    const name = Buffer.from(relative(folder, path).split(sep).join('/'));
    const data = readFileSync(path);
    const deflated = deflateRawSync(data, { level: 9 });
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6);
    local.writeUInt16LE(stored ? 0 : 8, 8); local.writeUInt16LE(0, 10); local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(body.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26); local.writeUInt16LE(0, 28);
    chunks.push(local, name, body);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0); entry.writeUInt16LE(20, 4); entry.writeUInt16LE(20, 6); entry.writeUInt16LE(0, 8);
    entry.writeUInt16LE(stored ? 0 : 8, 10); entry.writeUInt16LE(0, 12); entry.writeUInt16LE(DOS_DATE, 14);
    entry.writeUInt32LE(crc, 16); entry.writeUInt32LE(body.length, 20); entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(name.length, 28); entry.writeUInt32LE(offset, 42);
    central.push(entry, name);
    offset += local.length + name.length + body.length;
  }
  const centralSize = central.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, ...central, end]);
}

export function buildExtension({ model, out, zip }) {
  const distDir = join(root, 'dist');
  const entry = join(distDir, 'index.js');
  const required = ['edgeq-simd.wasm', 'edgeq-scalar.wasm'].map((f) => join(root, 'build', f));
  if (!existsSync(entry) || required.some((f) => !existsSync(f))) fail('dist/ or build/*.wasm is missing: run `npm run build` first');
  const wasm = readdirSync(join(root, 'build')).filter((f) => f.endsWith('.wasm')).map((f) => join(root, 'build', f));
  if (!existsSync(model)) fail(`model ${model} does not exist`);
  const { files, problems } = runtimeFiles(entry);
  if (problems.length) fail(`the browser entry's import graph is not self-contained:\n  ${problems.join('\n  ')}`);

  if (resolve(out) === root || root.startsWith(resolve(out) + sep)) fail(`refusing to replace ${out}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(join(here, 'src'))) copyFileSync(join(here, 'src', name), join(out, name));
  // The runtime keeps the package's layout below edgeq/ (dist/ and build/ side by side), so it finds
  // its kernel builds relative to itself, as it does in the package.
  for (const file of files) {
    const target = join(out, 'edgeq', 'dist', relative(distDir, file));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  }
  mkdirSync(join(out, 'edgeq', 'build'), { recursive: true });
  for (const f of wasm) copyFileSync(f, join(out, 'edgeq', 'build', f.split(sep).pop()));
  copyFileSync(model, join(out, 'model.edgeq'));

  let bytes = 0;
  let count = 0;
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else { bytes += statSync(p).size; count++; }
    }
  };
  walk(out);
  const result = { out, files: count, bytes, runtimeFiles: files.length };
  if (zip) {
    const packed = zipFolder(out);
    mkdirSync(dirname(zip), { recursive: true });
    writeFileSync(zip, packed);
    result.zip = zip;
    result.zipBytes = packed.length;
  }
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = buildExtension(parseArgs(process.argv.slice(2)));
  console.log(`built ${relative(process.cwd(), r.out) || '.'}: ${r.files} files (${r.runtimeFiles} runtime modules), ${(r.bytes / 1e6).toFixed(2)} MB`
    + (r.zip ? `; packed ${relative(process.cwd(), r.zip)}: ${(r.zipBytes / 1e6).toFixed(2)} MB` : ''));
  console.log('load it in Chromium: chrome://extensions > Developer mode > Load unpacked > that folder');
}
