#!/usr/bin/env node
// `prepare`: build the wasm kernels and dist/ in a checkout. An installed package (npm pack
// tarball) already ships dist/ and build/*.wasm and has no build tools: there is nothing to do.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const hasTools = existsSync(join(root, 'node_modules', 'assemblyscript')) && existsSync(join(root, 'node_modules', 'typescript'));
const built = existsSync(join(root, 'dist', 'src', 'index.js')) && existsSync(join(root, 'build', 'edgeq-simd.wasm'));
if (!hasTools && built) {
  console.log('edgeq: prebuilt dist/ and build/ present and no build tools installed; skipping the build');
} else {
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
