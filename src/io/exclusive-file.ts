/**
 * A small file created once and never replaced (the server's SPA identity): written to a private
 * temp file and fsync'd, then link()ed into place, which fails with EEXIST instead of replacing, so
 * two processes creating it at once keep one; then the directory is fsync'd.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** The file's text and mode, or undefined when it does not exist. Other errors throw (with `code`). */
export function readSmallFile(path: string): { text: string; mode: number } | undefined {
  try {
    const mode = statSync(path).mode;
    return { text: readFileSync(path, 'utf8'), mode };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Create `path` with `data` unless it exists. True when this call created it. */
export function createFileOnce(path: string, data: string, mode = 0o600): boolean {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return true;
}
