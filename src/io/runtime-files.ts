/**
 * The files and host facts a config names, read for the daemon and for check-config alike (the
 * daemon's RuntimeFiles port): secret and sequence files, interface existence, file modes.
 */
import { existsSync, statSync } from 'node:fs';
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

  modeOf(path: string): number | undefined {
    try {
      return statSync(path).mode;
    } catch {
      return undefined;
    }
  }
}
