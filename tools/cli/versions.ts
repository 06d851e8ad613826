// Versions of installed packages, for `edgeq --version` and the bench report.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The version of an installed package, or '?' where its package.json cannot be found: through its
 * exported `package.json`, else from the folders above its main entry (packages whose "exports"
 * hide package.json, e.g. onnxruntime-web).
 */
export function packageVersion(name: string): string {
  const require = createRequire(import.meta.url);
  for (const spec of [`${name}/package.json`, name]) {
    try {
      let dir = dirname(require.resolve(spec));
      for (let i = 0; i < 4; i++, dir = dirname(dir)) {
        const file = join(dir, 'package.json');
        if (existsSync(file)) {
          const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
          if (pkg.name === name && pkg.version) return pkg.version;
        }
      }
    } catch { /* try the next form */ }
  }
  return '?';
}
