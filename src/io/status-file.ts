/**
 * The daemon's status file in `state_dir`, which `knockctl status` reads: pid, start time, counters.
 * One file per table and network namespace (`status-TABLE-NETNS.json`), so `status` run in another
 * namespace with the same config never shows this daemon (a second daemon on the same state_dir is
 * refused at start: io/state-lock.ts).
 * `NETNS` is the inode of the namespace (`readlink /proc/self/ns/net` = `net:[4026531840]`).
 */
import { readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StatusBody {
  readonly pid: number;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601, rewritten every few seconds while the daemon runs. */
  readonly updatedAt: string;
  readonly table: string;
  /** The daemon's network namespace, as `net:[INODE]`. */
  readonly netns: string;
  /** The daemon's counters (its DaemonStats). */
  readonly stats: unknown;
}

/** Our network namespace (`net:[INODE]`), or `pid PID`'s; undefined when /proc cannot tell. */
export function netnsOf(pid: number | 'self' = 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

export function statusFileName(table: string, netns: string | undefined): string {
  const id = /^net:\[(\d+)\]$/.exec(netns ?? '')?.[1] ?? 'unknown';
  return `status-${table}-${id}.json`;
}

/** Write atomically (temp file of the same name + rename). */
export function writeStatusFile(dir: string, body: StatusBody): void {
  const name = statusFileName(body.table, body.netns);
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, JSON.stringify(body), { mode: 0o644 });
  renameSync(tmp, join(dir, name));
}

/**
 * The status of the daemon of `table` in our own network namespace, if it runs: its file exists,
 * names our table and namespace, and its pid is alive in our namespace (not a reused pid).
 */
export function readStatusFile(dir: string, table: string): StatusBody | undefined {
  const netns = netnsOf();
  try {
    const s = JSON.parse(readFileSync(join(dir, statusFileName(table, netns)), 'utf8')) as StatusBody;
    if (s.table !== table || s.netns !== netns) return undefined;
    process.kill(s.pid, 0);
    if (netnsOf(s.pid) !== netns) return undefined;
    return s;
  } catch {
    return undefined;
  }
}
