#!/usr/bin/env node
// Classify images with edgeq in Node (the same program as examples/deno/classify.ts):
//   node examples/node/classify.js model.edgeq image.jpg [more.png ...] [--top 5] [--json] [--logits]
// Inside this repository `edgeq` resolves to the package itself (package.json "exports"); in your
// own project: `npm install edgeq`, same imports.
import { EdgeqError, Session } from 'edgeq';
import { readImage } from 'edgeq/decode';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const json = flag('--json');
const withLogits = flag('--logits');
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 5;
const [modelPath, ...images] = args;
if (!modelPath || images.length === 0 || !Number.isInteger(top) || top < 1) {
  console.error('usage: node classify.js model.edgeq image.jpg [more ...] [--top 5] [--json] [--logits]');
  process.exit(2);
}

/** Classifies every image; a failure edgeq reports on purpose (EdgeqError) ends it with its message. */
async function main() {
  const session = await Session.create(modelPath);
  const results = [];
  try {
    for (const path of images) {
      const image = readImage(path);
      const t0 = performance.now();
      const logits = await session.run(image);
      const ms = performance.now() - t0;
      const classes = await session.classify(image, { topK: top });
      results.push({ image: path, ms, top: classes, ...(withLogits ? { logits: Array.from(logits) } : {}) });
      if (!json) {
        console.log(`${path} (${ms.toFixed(1)} ms, ${session.backend}, Node ${process.versions.node}):`);
        for (const c of classes) console.log(`  ${(c.score * 100).toFixed(1).padStart(5)}%  ${c.label} [${c.index}]`);
      }
    }
  } finally {
    session.release();
  }
  if (json) console.log(JSON.stringify({ runtime: `node ${process.versions.node}`, backend: session.backend, results }));
}

try {
  await main();
} catch (err) {
  // A bad model or image: one line with the reason and its code, not a stack trace.
  if (!(err instanceof EdgeqError)) throw err;
  console.error(`classify: ${err.message} [${err.code}]`);
  process.exitCode = 1;
}
