// Shared test helpers: where the real data lives, and a skip reason when it is absent.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** ../shared beside the repo (CI has it; a user's fresh clone does not). */
export const SHARED = process.env.EDGEQ_SHARED ?? resolve(REPO_ROOT, '..', 'shared');
export const HAS_SHARED = existsSync(join(SHARED, 'models', 'darknet-tiny', 'model.onnx'));
export const SHARED_SKIP = `../shared is absent (${SHARED}); real-model tests skipped`;
/** Debian's libonnx-testdata install folder. */
export const ONNX_TESTDATA = '/usr/share/libonnx-testdata/data';
export const HAS_ONNX_TESTDATA = existsSync(ONNX_TESTDATA);

export function warnSkip(cond: boolean, msg: string): void {
  if (!cond) console.warn(`[skip] ${msg}`);
}
