#!/usr/bin/env node
// The edgeq command line. The implementation lives in tools/cli (compiled to dist/ by `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('edgeq: dist/ is missing. Run `npm install` (or `npm run build`) in the edgeq folder first.');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
