// Run by test/env/arm64.test.ts under arm64 Deno (qemu-user): a model through Session backend
// 'relaxed' at 1 thread on the given images; prints one JSON line: the backend, the probe verdict,
// how many kernel calls of the plan are relaxed ones, and each image's logits as base64 float32 bytes.
//   deno run -A --sloppy-imports --import-map=test/deno-import-map.json test/env/arm64-session.deno.ts model.edgeq image...
import { Session } from '../../src/index.js';
import { readImage } from '../../src/image/decode-node.js';

declare const Deno: { args: string[]; build: { arch: string } };

const [model, ...images] = Deno.args;
const out: Record<string, unknown> = { arch: Deno.build.arch };
try {
  const session = await Session.create(model!, { backend: 'relaxed', threads: 1 });
  // The kernels the session's plan calls (private: read for this check only).
  const plan = await (session as unknown as { plan(b: number): Promise<{ calls: { fn: string }[][] }> }).plan(1);
  const fns = plan.calls.flat().map((c) => c.fn);
  const logits: string[] = [];
  for (const path of images) {
    const y = Float32Array.from(await session.run(readImage(path)));
    logits.push(btoa(String.fromCharCode(...new Uint8Array(y.buffer))));
  }
  Object.assign(out, { backend: session.backend, relaxedDot: session.relaxedDot, relaxedCalls: fns.filter((f) => f.includes('relaxed')).length, calls: fns.length, logits });
  session.release();
} catch (err) {
  out.error = `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
}
console.log(JSON.stringify(out));
