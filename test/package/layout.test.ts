// The package direction, enforced: the runtime (edgeq: src/, assembly/) compiles from its own
// sources alone and imports nothing of the lab (edgeq-tools: tools/) or the bench; the lab and the
// bench reach the runtime only through its package name. docs/packages.md.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers.js';

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports or re-exports, static or dynamic (TypeScript's own scanner). */
function specifiers(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
const lab = JSON.parse(readFileSync(join(REPO_ROOT, 'tools/package.json'), 'utf8'));

/** The package a bare specifier names ('@scope/name/sub' -> '@scope/name'). */
const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

describe('package layout', () => {
  it('the runtime imports only its own sources, Node built-ins and its declared dependencies', () => {
    const files = tsFiles(join(REPO_ROOT, 'src'));
    expect(files.length).toBeGreaterThan(20);
    const allowed = new Set(Object.keys(pkg.dependencies));
    const bad: string[] = [];
    for (const f of files) {
      for (const spec of specifiers(f)) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(f), spec);
          if (relative(join(REPO_ROOT, 'src'), target).startsWith('..')) bad.push(`${relative(REPO_ROOT, f)} -> ${spec} (outside src/)`);
        } else if (!spec.startsWith('node:') && !allowed.has(packageOf(spec))) {
          bad.push(`${relative(REPO_ROOT, f)} -> ${spec} (not a runtime dependency)`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('the lab and the bench reach the runtime only through its package name, never by path', () => {
    const bad: string[] = [];
    for (const dir of ['tools', 'bench']) {
      for (const f of tsFiles(join(REPO_ROOT, dir))) {
        for (const spec of specifiers(f)) {
          if (spec.startsWith('.') && relative(join(REPO_ROOT, dir), resolve(dirname(f), spec)).startsWith('..')) bad.push(`${relative(REPO_ROOT, f)} -> ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
    // The lab declares every package it imports (the runtime at its exact version).
    const declared = new Set(Object.keys(lab.dependencies));
    const undeclared = new Set<string>();
    for (const f of tsFiles(join(REPO_ROOT, 'tools'))) {
      for (const spec of specifiers(f)) {
        if (!spec.startsWith('.') && !spec.startsWith('node:') && !declared.has(packageOf(spec))) undeclared.add(`${relative(REPO_ROOT, f)} -> ${spec}`);
      }
    }
    expect([...undeclared]).toEqual([]);
    expect(lab.dependencies.edgeq).toBe(pkg.version);
  });

  it('the runtime project compiles from src/ alone, and a relative import of the lab fails its build', () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(join(REPO_ROOT, 'tsconfig.json'), {}, {
      ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
    })!;
    expect(parsed.options.rootDir).toBe(join(REPO_ROOT, 'src'));
    expect(parsed.fileNames.every((f) => f.startsWith(join(REPO_ROOT, 'src') + '/'))).toBe(true);
    // A probe file inside src/ that imports the quantizer by path: the runtime's build must reject it.
    const probe = join(REPO_ROOT, 'src', '__layout_probe__.ts');
    const host = ts.createCompilerHost(parsed.options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, ...rest) => name === probe
      ? ts.createSourceFile(name, "export { quantize } from '../tools/quantize/index.js';\n", lang)
      : getSourceFile(name, lang, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === probe || fileExists(name);
    const program = ts.createProgram({ rootNames: [probe], options: { ...parsed.options, noEmit: true, composite: false, incremental: false }, host });
    const codes = ts.getPreEmitDiagnostics(program).map((d) => d.code);
    expect(codes).toContain(6059); // "File ... is not under 'rootDir'"
  }, 60_000);
});
