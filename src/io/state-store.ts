/**
 * StateStore on the file system: small durable files in `state_dir`.
 * append = write + fsync (+ fsync of the directory when the file was just created);
 * replace = write a temp file + fsync + rename over the old one + fsync the directory, so a crash
 * leaves either the whole old content or the whole new one.
 */
import { constants } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StateError, type StateStore } from '../core';

let tmpCounter = 0;

export class FsStateStore implements StateStore {
  /** `dir` must exist; the daemon (or systemd's StateDirectory=) creates it with mode 0700. */
  constructor(readonly dir: string) {}

  async read(name: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(name);
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StateError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async append(name: string, data: Uint8Array): Promise<void> {
    const path = this.pathOf(name);
    let created = false;
    try {
      let fh;
      try {
        fh = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL, 0o600);
        created = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        fh = await open(path, constants.O_WRONLY | constants.O_APPEND);
      }
      try {
        await writeAll(fh, data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (created) await this.syncDir();
    } catch (e) {
      throw new StateError(`cannot append to ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  async replace(name: string, data: Uint8Array): Promise<void> {
    const path = this.pathOf(name);
    const tmp = join(this.dir, `.${name}.tmp-${process.pid}-${++tmpCounter}`);
    try {
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await writeAll(fh, data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await this.syncDir();
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new StateError(`cannot replace ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  private pathOf(name: string): string {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name)) throw new StateError(`"${name}" is not a state file name (letters, digits, '_', '.', '-'; no path)`);
    return join(this.dir, name);
  }

  /** A rename or a new file is durable only once its directory entry is. */
  private async syncDir(): Promise<void> {
    const d = await open(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}

async function writeAll(fh: import('node:fs/promises').FileHandle, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}
