/** `ProcReader` over the real /proc (see core/ssh-session.ts). Root reads every process's entries. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';
import type { ProcReader } from '../core';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export class ProcFs implements ProcReader {
  /** The host byte order /proc/net/tcp prints addresses in. */
  static readonly littleEndian = endianness() === 'LE';

  constructor(private readonly root = '/proc') {}

  stat(pid: number): string | undefined {
    return read(`${this.root}/${pid}/stat`);
  }

  environ(pid: number): string | undefined {
    return read(`${this.root}/${pid}/environ`);
  }

  socketInodes(pid: number): number[] {
    let fds: string[];
    try {
      fds = readdirSync(`${this.root}/${pid}/fd`);
    } catch {
      return [];
    }
    const out: number[] = [];
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${this.root}/${pid}/fd/${fd}`));
        if (m) out.push(Number(m[1]));
      } catch {
        /* closed meanwhile */
      }
    }
    return out;
  }

  netTcp(pid: number): { tcp?: string; tcp6?: string } {
    const tcp = read(`${this.root}/${pid}/net/tcp`);
    const tcp6 = read(`${this.root}/${pid}/net/tcp6`);
    return { ...(tcp !== undefined ? { tcp } : {}), ...(tcp6 !== undefined ? { tcp6 } : {}) };
  }
}
