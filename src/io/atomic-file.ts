/**
 * Write a whole file or nothing: a private temp file beside the target, fsync, rename over the
 * target, fsync the directory. A failure at any step leaves the old file (or no file) in place, so
 * `knockctl import-knockd -o config.yaml` never leaves a truncated or empty config behind.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../core';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0600: configs and key files hold secrets). */
  readonly mode?: number;
  /** Replace an existing file; without it an existing target is a usage error. */
  readonly force?: boolean;
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  if (!opts.force && existsSync(path)) throw new UsageError(`${path} exists; pass --force to overwrite`);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse a file someone else placed at the temp name.
  const fd = openSync(tmp, 'wx', opts.mode ?? 0o600);
  try {
    // write(2) may write less than asked (a full disk, RLIMIT_FSIZE): loop until all is written,
    // so a short write ends in an error, never in a truncated file renamed over the old one.
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
