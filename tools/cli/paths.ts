// The command line's checks of the paths a user gives, run before any long work: each failure is a
// one-line EdgeqError naming the option and the path (NOT_FOUND for a missing file or folder,
// BAD_OPTION for the wrong kind of entry or a folder that cannot be written).
import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EdgeqError } from 'edgeq';

function stat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** `path` is an existing file (not a folder); `what` names it in the message ("model", "--labels file"). */
export function requireFile(path: string, what: string): void {
  const s = stat(path);
  if (!s) throw new EdgeqError('NOT_FOUND', `${what} ${path} does not exist`);
  if (s.isDirectory()) throw new EdgeqError('BAD_OPTION', `${what} ${path} is a folder, not a file`);
}

/** `path` is an existing folder (not a file). */
export function requireFolder(path: string, what: string): void {
  const s = stat(path);
  if (!s) throw new EdgeqError('NOT_FOUND', `${what} ${path} does not exist`);
  if (!s.isDirectory()) throw new EdgeqError('BAD_OPTION', `${what} ${path} is a file, not a folder`);
}

/** `path` can be written: its folder exists and is writable, and `path` itself is not a folder. */
export function requireWritable(path: string, what: string): void {
  const dir = dirname(resolve(path));
  const d = stat(dir);
  if (!d) throw new EdgeqError('NOT_FOUND', `${what} ${path}: folder ${dir} does not exist`);
  if (!d.isDirectory()) throw new EdgeqError('BAD_OPTION', `${what} ${path}: ${dir} is not a folder`);
  if (stat(path)?.isDirectory()) throw new EdgeqError('BAD_OPTION', `${what} ${path} is a folder, not a file`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new EdgeqError('BAD_OPTION', `${what} ${path}: folder ${dir} is not writable`);
  }
}

/** Reads a file the user named, with an error that names it. */
export function readInput(path: string, what: string): Uint8Array {
  requireFile(path, what);
  return new Uint8Array(readFileSync(path));
}
