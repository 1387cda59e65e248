/**
 * `install-ruleset --confirm SECONDS`: the previous state of our table is saved (as JSON: see
 * nft/restore.ts), a detached worker restores it when the time is up, and `knockctl confirm` cancels
 * the worker. Pending state lives in /run/knockctl (root-only tmpfs).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { NftProcess } from '../io/nft-runner';
import { buildRestoreBatch } from '../nft';

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
  const p: Pending = { token: randomBytes(8).toString('hex'), table, deadline: Date.now() + seconds * 1000, snapshot };
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
  return true;
}

/** The detached worker: wait for the deadline, then restore unless confirmed. */
export async function rollbackWorker(table: string, token: string): Promise<void> {
  const first = readPending(table);
  if (!first || first.token !== token) return;
  await new Promise((r) => setTimeout(r, Math.max(0, first.deadline - Date.now())));
  const p = readPending(table);
  if (!p || p.token !== token) return;
  const log = (line: string): void => writeFileSync(join(runDir(), `rollback-${table}.log`), `${new Date().toISOString()} ${line}\n`, { flag: 'a' });
  try {
    await new NftProcess().apply(buildRestoreBatch(table, p.snapshot ?? undefined), `restore table inet ${table}`);
    log(`not confirmed: restored the previous table inet ${table}`);
  } catch (e) {
    log(`not confirmed, but restoring table inet ${table} FAILED: ${(e as Error).message}`);
    throw e;
  } finally {
    if (existsSync(pendingFile(table))) rmSync(pendingFile(table), { force: true });
  }
}
