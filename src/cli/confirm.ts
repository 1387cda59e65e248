/**
 * `install-ruleset --confirm SECONDS`: the previous state of our table is saved (as JSON: see
 * nft/restore.ts), a detached worker restores it when the time is up, and `knockctl confirm` cancels
 * the worker. Pending state lives in /run/knockctl (root-only tmpfs). A rollback keeps the grants
 * made while it was pending, and says what it did: in the journal (`journalctl -t knockctl`), in
 * /run/knockctl/rollback-TABLE.log, and on the terminal that armed it if that is still open.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { NftProcess } from '../io/nft-runner';
import { buildRestoreBatch, grantsToCarry, type CarriedSet } from '../nft';

export function runDir(): string {
  return process.env.KNOCKCTL_RUN_DIR ?? '/run/knockctl';
}

interface Pending {
  token: string;
  table: string;
  deadline: number;
  /** `nft -j list table inet T` before the install; null when the table did not exist. */
  snapshot: unknown;
  pid?: number;
  /** The terminal `install-ruleset` ran on (and its owner), told of the rollback if still open. */
  tty?: { path: string; uid: number };
}

function pendingFile(table: string): string {
  return join(runDir(), `confirm-${table}.json`);
}

/** Save the current table (its `nft -j list` output) before an install; null when it does not exist. */
export async function snapshotTable(table: string, exists: boolean): Promise<unknown> {
  if (!exists) return null;
  return new NftProcess().list(['table', 'inet', table], `save table inet ${table}`);
}

/** Arm the rollback: write the pending state and start the detached worker. */
export function armRollback(table: string, seconds: number, snapshot: unknown, entry: string): Pending {
  mkdirSync(runDir(), { recursive: true, mode: 0o700 });
  const p: Pending = { token: randomBytes(8).toString('hex'), table, deadline: Date.now() + seconds * 1000, snapshot, ...terminal() };
  writeFileSync(pendingFile(table), JSON.stringify(p), { mode: 0o600 });
  const child = spawn(process.execPath, [entry, '__rollback', table, p.token], { detached: true, stdio: 'ignore', env: process.env });
  child.unref();
  p.pid = child.pid;
  writeFileSync(pendingFile(table), JSON.stringify(p), { mode: 0o600 });
  return p;
}

function readPending(table: string): Pending | undefined {
  try {
    return JSON.parse(readFileSync(pendingFile(table), 'utf8')) as Pending;
  } catch {
    return undefined;
  }
}

/** What `status` shows: a pending rollback's deadline (ms since the epoch) and the last rollback's report. */
export function rollbackState(table: string): { pendingUntil?: number; last?: string } {
  const p = readPending(table);
  let last: string | undefined;
  try {
    last = readFileSync(join(runDir(), `rollback-${table}.log`), 'utf8').trimEnd().split('\n').at(-1);
  } catch {
    /* no rollback ran since boot */
  }
  return { ...(p ? { pendingUntil: p.deadline } : {}), ...(last ? { last } : {}) };
}

/** `knockctl confirm`: keep the new ruleset. Returns false when nothing was pending. */
export function confirmPending(table: string): boolean {
  const p = readPending(table);
  if (!p) return false;
  rmSync(pendingFile(table), { force: true });
  if (p.pid) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* the worker already ended */
    }
  }
  // The journal has the whole story: armed (the admin's terminal), then confirmed or rolled back.
  spawnSync('logger', ['-t', 'knockctl', '-p', 'auth.notice', '--', `install-ruleset --confirm confirmed: table inet ${table} stays as installed`], { stdio: 'ignore', timeout: 5000 });
  return true;
}

/** The terminal on our stderr, if any, so the worker can tell the admin there. */
function terminal(): { tty?: { path: string; uid: number } } {
  if (!process.stderr.isTTY) return {};
  try {
    const path = readlinkSync('/proc/self/fd/2');
    return path.startsWith('/dev/') ? { tty: { path, uid: statSync(path).uid } } : {};
  } catch {
    return {};
  }
}

/** Where a rollback reports: the log file, the journal (through logger(1)), and the arming terminal. */
function announce(table: string, lines: readonly string[], p: Pending): void {
  const stamp = new Date().toISOString();
  try {
    writeFileSync(join(runDir(), `rollback-${table}.log`), lines.map((l) => `${stamp} ${l}\n`).join(''), { flag: 'a', mode: 0o600 });
  } catch {
    /* the journal and the terminal still get it */
  }
  for (const l of lines) spawnSync('logger', ['-t', 'knockctl', '-p', 'auth.warning', '--', l], { stdio: 'ignore', timeout: 5000 });
  if (!p.tty) return;
  try {
    // Only the same terminal, still owned by the same user (not a pts reused by someone else).
    if (statSync(p.tty.path).uid !== p.tty.uid) return;
    const fd = openSync(p.tty.path, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
    try {
      writeSync(fd, `\r\n${lines.map((l) => `knockctl: ${l}`).join('\r\n')}\r\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* the session is gone */
  }
}

function describe(carry: readonly CarriedSet[]): string[] {
  return carry.flatMap((c) => c.elem.map((e) => {
    const el = (e as { elem?: { val?: { concat?: unknown[] }; expires?: number; comment?: string } }).elem;
    const val = el?.val?.concat?.join(' . ') ?? JSON.stringify((e as { concat?: unknown[] }).concat ?? e);
    return `${val}${el?.comment ? ` (${el.comment})` : ''}${el?.expires !== undefined ? `, ${el.expires}s left` : ''}`;
  }));
}

/** The detached worker: wait for the deadline, then restore unless confirmed. */
export async function rollbackWorker(table: string, token: string): Promise<void> {
  const first = readPending(table);
  if (!first || first.token !== token) return;
  await new Promise((r) => setTimeout(r, Math.max(0, first.deadline - Date.now())));
  const p = readPending(table);
  if (!p || p.token !== token) return;
  const why = `install-ruleset --confirm was not confirmed in time (knockctl confirm)`;
  const nft = new NftProcess();
  try {
    const current = p.snapshot ? await nft.list(['table', 'inet', table], `read table inet ${table}`).catch(() => undefined) : undefined;
    const carry = grantsToCarry(table, p.snapshot ?? undefined, current);
    try {
      await nft.apply(buildRestoreBatch(table, p.snapshot ?? undefined, carry), `restore table inet ${table}`);
    } catch (e) {
      if (carry.length === 0) throw e;
      // A grant set that shrank (size) must not keep the old ruleset from coming back.
      await nft.apply(buildRestoreBatch(table, p.snapshot ?? undefined), `restore table inet ${table}`);
      announce(table, [`${why}: restored the previous table inet ${table}, but could NOT keep the grants made meanwhile (${(e as Error).message}): ${describe(carry).join('; ')}`], p);
      return;
    }
    const kept = describe(carry);
    announce(table, p.snapshot
      ? [`${why}: restored the previous table inet ${table}; kept ${kept.length} grant(s) made since${kept.length ? `: ${kept.join('; ')}` : ''}`]
      : [`${why}: removed table inet ${table} (it did not exist before the install)`], p);
  } catch (e) {
    announce(table, [`${why}, but restoring table inet ${table} FAILED: ${(e as Error).message}`], p);
    throw e;
  } finally {
    if (existsSync(pendingFile(table))) rmSync(pendingFile(table), { force: true });
  }
}
