/**
 * The files and host facts a config names, read for the daemon and for check-config alike (the
 * daemon's RuntimeFiles port): secret and sequence files, interface existence, file modes.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { readFile } from 'node:fs/promises';

const WHY: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied (run as root?)', EISDIR: 'is a directory', ENOTDIR: 'a part of the path is not a directory' };

export class FsRuntimeFiles {
  /** `configFile`: the config file, for the warning when group or others can read its SPA keys. */
  constructor(readonly configFile?: string) {}

  async readFile(path: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      throw new Error(`cannot read ${path}: ${WHY[code] ?? code ?? (e as Error).message}`);
    }
  }

  /** /sys/class/net lists every interface of this network namespace, with or without addresses. */
  interfaceExists(name: string): boolean {
    return !name.includes('/') && existsSync(`/sys/class/net/${name}`);
  }

  /**
   * What stands in the way of `state_dir`, or undefined. `fatal`: it does not exist and cannot be
   * created (the daemon's start fails); otherwise it exists but cannot be written, which the daemon
   * survives (knocks work, SPA fails closed). `denied`: only permissions stand in the way (a check run
   * without root). Under systemd this runs in the unit's sandbox, where a read-only path is EROFS.
   */
  stateDirProblem(dir: string): { message: string; fatal: boolean; denied: boolean } | undefined {
    let d = dir;
    while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
    const fatal = d !== dir;
    try {
      if (!statSync(d).isDirectory()) return { message: `cannot create ${dir}: ${d} is not a directory`, fatal: true, denied: false };
      accessSync(d, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      const why = code === 'EROFS' ? 'read-only file system (under systemd: add ReadWritePaths= in a drop-in)' : WHY[code] ?? code;
      const message = fatal ? `cannot create ${dir}: ${why}` : `cannot write ${dir}: ${why}; SPA doors will refuse every packet (fail closed) until it can`;
      return { message, fatal, denied: code === 'EACCES' || code === 'EPERM' };
    }
  }

  modeOf(path: string): number | undefined {
    try {
      return statSync(path).mode;
    } catch {
      return undefined;
    }
  }
}
