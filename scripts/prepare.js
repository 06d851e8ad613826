#!/usr/bin/env node
// The checkout's build on `npm install` / `npm ci`: the wasm kernels (build/) and the TypeScript of
// the runtime, the lab and the bench (dist/, tools/dist/, bench/dist/). It runs as the `prepare`
// script of the private bench workspace, so that the published packages (edgeq, edgeq-tools) carry
// no install script: a user's install runs nothing.
import { execSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execSync('npm run build', { cwd: root, stdio: 'inherit' });
