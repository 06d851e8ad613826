// The long fuzz campaign over untrusted model files (.edgeq and ONNX): seeded mutations of valid
// files, each run through the reader, Session.create and run (or readOnnx and the quantizer's graph
// preparation); anything but a correct model or a typed EdgeqError is a failure.
//   npm run fuzz -- [--cases 10000] [--seed 1] [--targets synth,darknet,resnet] [--time SECONDS]
//                   [--threads 1] [--debug-wasm] [--save] [--json out.json] [--replay TARGET:CASESEED]
// --save appends the failures to test/fuzz/regressions.json (replayed by `npm test`);
// --debug-wasm runs the kernels of build/edgeq-debug.wasm (`node scripts/build-wasm.js --debug`);
// --threads N runs accepted mutants on N threads (default 1: a worker pool per case is slow).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caseSeedOf, replayCase, runCampaign, type FuzzFailure, type FuzzTarget } from 'edgeq-tools/fuzz/campaign';
import { darknetTargets, repoRoot, resnetTargets, synthTargets } from 'edgeq-tools/fuzz/targets';

const args = process.argv.slice(2);
const opt = (name: string, dflt?: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const flag = (name: string) => args.includes(`--${name}`);

const cases = Number(opt('cases', '10000'));
const seed = Number(opt('seed', '1'));
const wanted = opt('targets', 'synth,darknet')!.split(',');
const timeBudgetMs = opt('time') ? Number(opt('time')) * 1000 : undefined;
const root = repoRoot();
const log = (msg: string) => console.log(msg);

let wasm: Uint8Array | undefined;
if (flag('debug-wasm')) {
  const path = join(root, 'build', 'edgeq-debug.wasm');
  if (!existsSync(path)) { console.error(`${path} not found: run \`node scripts/build-wasm.js --debug\``); process.exit(2); }
  wasm = new Uint8Array(readFileSync(path));
  log(`kernels: ${path} (debug build, assertions on)`);
}

const targets: FuzzTarget[] = [];
if (wanted.includes('synth')) targets.push(...synthTargets(6));
if (wanted.includes('darknet')) {
  const d = await darknetTargets(3);
  if (d.length === 0) log('darknet: ../shared/models/darknet-tiny not found, skipped');
  targets.push(...d);
}
if (wanted.includes('resnet')) targets.push(...await resnetTargets(3, log));
if (targets.length === 0) { console.error(`no targets (asked for ${wanted.join(',')})`); process.exit(2); }
const threads = Number(opt('threads', '1'));
const check = { threads, ...(wasm ? { wasm } : {}) };

const replay = opt('replay');
if (replay) {
  const [name, caseSeed] = [replay.slice(0, replay.lastIndexOf(':')), Number(replay.slice(replay.lastIndexOf(':') + 1))];
  const target = targets.find((t) => t.name === name);
  if (!target) { console.error(`unknown target ${name} (have ${targets.map((t) => t.name).join(', ')})`); process.exit(2); }
  const { mutant, outcome } = await replayCase(target, caseSeed, check);
  console.log(`${name}:${caseSeed}  ${mutant.mutation}`);
  console.log(JSON.stringify(outcome, null, 2));
  process.exit(outcome.kind === 'failure' ? 1 : 0);
}

log(`fuzz: ${cases} cases, seed ${seed}, ${threads} thread(s), targets ${targets.map((t) => `${t.name} (${t.bytes.length} B)`).join(', ')}`);
const t0 = performance.now();
let lastReport = t0;
const result = await runCampaign(targets, {
  cases, seed, timeBudgetMs, check,
  onCase: (i, target, mutant, outcome) => {
    if (outcome.kind === 'failure') log(`  FAILURE ${target.name}:${caseSeedOf(seed, i)}  ${mutant.mutation}  [${outcome.stage}] ${outcome.error}`);
    const now = performance.now();
    if (now - lastReport > 10_000) {
      lastReport = now;
      log(`  ${i + 1}/${cases} cases, ${((now - t0) / 1000).toFixed(0)} s`);
    }
  },
});

const { failures, byTarget, ...summary } = result;
console.log('\nresult:', JSON.stringify({ ...summary, failures: failures.length }, null, 1));
console.log('by target:');
for (const [name, s] of Object.entries(byTarget)) console.log(`  ${name.padEnd(24)} ${String(s.cases).padStart(7)} cases ${String(s.accepted).padStart(6)} accepted ${String(s.rejected).padStart(6)} rejected ${s.failures} failures`);
for (const f of failures) {
  console.log(`\nFAILURE ${f.target}:${f.caseSeed}\n  mutation: ${f.mutation}\n  stage: ${f.stage}\n  error: ${f.error}\n  replay: npm run fuzz -- --targets ${wanted.join(',')} --replay ${f.target}:${f.caseSeed}`);
}
if (opt('json')) writeFileSync(opt('json')!, JSON.stringify(result, null, 1));
if (flag('save') && failures.length > 0) {
  const file = join(root, 'test', 'fuzz', 'regressions.json');
  const known = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as { cases: (FuzzFailure & { found?: string })[] } : { cases: [] };
  const have = new Set(known.cases.map((c) => `${c.target}:${c.caseSeed}`));
  const added = failures.filter((f) => !have.has(`${f.target}:${f.caseSeed}`))
    .map(({ stack: _stack, ...f }) => ({ ...f, found: `npm run fuzz -- --cases ${cases} --seed ${seed}` }));
  known.cases.push(...added);
  writeFileSync(file, `${JSON.stringify(known, null, 1)}\n`);
  console.log(`\nsaved ${added.length} new case(s) to ${file}`);
}
process.exit(failures.length > 0 ? 1 : 0);
