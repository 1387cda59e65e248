/**
 * One daemon per state_dir: the daemon holds flock(LOCK_EX) on the state_dir directory itself for its
 * whole life. The kernel drops a flock when the last descriptor of its open file goes, so the lock
 * never outlives its daemon (a crash or SIGKILL included), unlike a pid file; Node opens every file
 * with O_CLOEXEC, so hooks and nft processes do not inherit it. Locking the directory creates no
 * file, so a read-only state_dir (where knocks still work) can be locked too, and a daemon refused
 * here has changed nothing in it.
 *
 * Who holds it: /proc/locks names the pid of each flock by device and inode; the holder's status file
 * (status-TABLE-NETNS.json, io/status-file.ts) names its table, /proc/PID/ns/net its namespace.
 */
import { closeSync, constants, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KnockctlError } from '../core';
import { koffi } from './koffi';
import { netnsOf } from './status-file';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

type Flock = (fd: number, op: number) => number;
let flockFn: Flock | undefined;

function flock(): Flock {
  flockFn ??= koffi().load('libc.so.6').func('int flock(int fd, int op)') as unknown as Flock;
  return flockFn;
}

/** Who holds a state_dir's lock, as far as /proc tells. */
export interface LockHolder {
  readonly pid?: number;
  readonly table?: string;
  readonly netns?: string;
}

/** Another daemon holds the state_dir (exit 1, like the other runtime failures). */
export class StateDirLockedError extends KnockctlError {
  constructor(readonly dir: string, readonly holder: LockHolder) {
    const who = [holder.pid !== undefined ? `pid ${holder.pid}` : 'pid unknown', holder.table ? `table ${holder.table}` : '', holder.netns ? `netns ${holder.netns}` : '']
      .filter(Boolean).join(', ');
    super('ERR_STATE_LOCKED', `state_dir ${dir} is in use by another knockctl daemon (${who}): each daemon needs its own state_dir (set state_dir: in this daemon's config; see docs/operations.md)`);
  }
}

/** The held lock; `release()` is for tests (the daemon keeps it until it exits). */
export interface StateDirLock {
  release(): void;
}

/** Take the state_dir's lock or throw StateDirLockedError naming the holder. `dir` must exist. */
export function lockStateDir(dir: string): StateDirLock {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  if (flock()(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = koffi().errno();
    closeSync(fd);
    if (errno === koffi().os.errno.EWOULDBLOCK) throw new StateDirLockedError(dir, lockHolder(dir));
    throw new KnockctlError('ERR_STATE_LOCK', `cannot lock state_dir ${dir}: flock failed (errno ${errno})`);
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      flock()(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}

/** /proc/locks lines: `1: FLOCK  ADVISORY  WRITE 1234 fe:00:260072 0 EOF` (device in hex, inode in decimal). */
export function parseFlockHolder(locks: string, dev: number, ino: number): number | undefined {
  const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  for (const line of locks.split('\n')) {
    const m = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (m && Number(m[4]) === ino && parseInt(m[2] as string, 16) === major && parseInt(m[3] as string, 16) === minor) return Number(m[1]);
  }
  return undefined;
}

function lockHolder(dir: string): LockHolder {
  let pid: number | undefined;
  try {
    const st = statSync(dir);
    pid = parseFlockHolder(readFileSync('/proc/locks', 'utf8'), st.dev, st.ino);
  } catch {
    return {};
  }
  if (pid === undefined) return {};
  const netns = netnsOf(pid);
  const table = netns ? tableOf(dir, pid, netns) : undefined;
  return { pid, ...(table ? { table } : {}), ...(netns ? { netns } : {}) };
}

/** The table in the holder's status file (written within seconds of its start). */
function tableOf(dir: string, pid: number, netns: string): string | undefined {
  const id = /^net:\[(\d+)\]$/.exec(netns)?.[1];
  try {
    for (const name of readdirSync(dir)) {
      if (!id || !name.startsWith('status-') || !name.endsWith(`-${id}.json`)) continue;
      const s = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { pid?: unknown; table?: unknown };
      if (s.pid === pid && typeof s.table === 'string') return s.table;
    }
  } catch {
    // An unreadable state_dir or status file: the pid and netns still say who it is.
  }
  return undefined;
}
