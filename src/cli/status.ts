/** `knockctl status`: who has access to what, read from the kernel (the sets are the audit log). */
import { formatDuration, formatService, type AccessEntry } from '../core';
import { entryServiceText, portForwards, withoutPortForwardTargets } from '../nft';
import type { Config, Door } from '../config';
import { newStats, type DaemonStats } from '../daemon';
import { configPath, firewallFor, readConfig } from './context';
import { readDaemonStatus } from './daemon';
import { rollbackState } from './confirm';

export interface StatusOptions {
  config?: string;
  json?: boolean;
}

/** The daemon's counters under stable names (`status --json`); the metrics use the same ones. */
export interface Counters {
  packets: number;
  duplicates: number;
  /** Packets the kernel dropped because the capture ring was full (`limits.capture_ring`). */
  capture_dropped: number;
  knocks: number;
  knock_successes: number;
  knock_resets: Record<string, number>;
  evictions: number;
  grants: number;
  revokes: number;
  spa_accepted: number;
  spa_rejected: Record<string, number>;
  decode_errors: Record<string, number>;
  nft_failures: number;
  set_full: Record<string, number>;
  hook_failures: number;
  internal_errors: number;
}

/** What `status` says about the daemon: from its status file, when its pid is alive. */
export interface DaemonView {
  running: boolean;
  pid: number | null;
  /** ISO 8601 start time. */
  since: string | null;
  /** ISO 8601 time the daemon last wrote its status file (every 5 s while it runs). */
  updated: string | null;
  counters: Counters | null;
}

/** A status file older than this while the pid is alive means the daemon is stuck (or the pid was reused). */
export const STALE_AFTER_SEC = 30;

/** Tolerates a status file from an older daemon that lacked a counter (missing counts as 0). */
export function countersOf(stats: DaemonStats): Counters {
  const s: DaemonStats = { ...newStats(stats.startedAt), ...stats };
  return {
    packets: s.packets, duplicates: s.duplicates, capture_dropped: s.captureDropped, knocks: s.knocks, knock_successes: s.knockSuccesses, knock_resets: { ...s.knockResets },
    evictions: s.evictions, grants: s.grants, revokes: s.revokes, spa_accepted: s.spaAccepted,
    spa_rejected: { ...s.spaRejected }, decode_errors: { ...s.decodeErrors }, nft_failures: s.nftFailures, set_full: { ...s.setFull },
    hook_failures: s.hookFailures, internal_errors: s.internalErrors,
  };
}

export function daemonView(file: ReturnType<typeof readDaemonStatus>): DaemonView {
  if (!file) return { running: false, pid: null, since: null, updated: null, counters: null };
  return { running: true, pid: file.pid, since: file.startedAt, updated: file.updatedAt, counters: countersOf(file.stats) };
}

/** ANSI styles, or none. */
export interface Paint {
  bold(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
}

const sgr = (code: number) => (s: string): string => `\x1b[${code}m${s}\x1b[0m`;
export const COLOR: Paint = { bold: sgr(1), green: sgr(32), yellow: sgr(33), red: sgr(31) };
export const PLAIN: Paint = { bold: (s) => s, green: (s) => s, yellow: (s) => s, red: (s) => s };

/** Colour only for a terminal, and never when NO_COLOR is set to anything non-empty (no-color.org). */
export function useColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return Boolean(isTTY) && !env.NO_COLOR;
}

function byReason(m: Readonly<Record<string, number>>): string {
  return Object.entries(m).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ');
}

function isoSeconds(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

/** Every counter, in the order and with the label the human output uses (by-reason ones sum up). */
export const COUNTER_ROWS: readonly (readonly [keyof Counters, string, keyof Paint | undefined])[] = [
  ['packets', 'packets', undefined],
  ['duplicates', 'duplicates', undefined],
  ['capture_dropped', 'capture drops', 'yellow'],
  ['knocks', 'knocks seen', undefined],
  ['knock_successes', 'knock successes', undefined],
  ['knock_resets', 'knock resets', undefined],
  ['grants', 'grants', undefined],
  ['revokes', 'revokes', undefined],
  ['spa_accepted', 'SPA accepted', undefined],
  ['spa_rejected', 'SPA rejected', 'yellow'],
  ['evictions', 'evictions', 'yellow'],
  ['decode_errors', 'decode errors', undefined],
  ['nft_failures', 'nft failures', 'red'],
  ['set_full', 'set full', 'red'],
  ['hook_failures', 'hook failures', 'red'],
  ['internal_errors', 'internal errors', 'red'],
];

/** The daemon lines: running or not, since when, and its counters. `now` in ms since the epoch. */
export function formatDaemon(v: DaemonView, now: number, p: Paint = PLAIN): string[] {
  if (!v.running || !v.since) return [`daemon: ${p.red('not running')} (start it: systemctl start knockctl)`];
  const up = Math.max(0, Math.floor((now - Date.parse(v.since)) / 1000));
  const lines = [`daemon: ${p.green('running')}, pid ${v.pid}, since ${isoSeconds(v.since)} (up ${formatDuration(up)})`];
  const age = v.updated ? Math.floor((now - Date.parse(v.updated)) / 1000) : 0;
  if (age > STALE_AFTER_SEC) lines.push(p.yellow(`  warning: the daemon has not updated its status for ${formatDuration(age)}`));
  const c = v.counters;
  if (!c) return lines;
  const sum = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);
  const rows: [string, number, string, keyof Paint | undefined][] = COUNTER_ROWS.map(([key, label, warn]) => {
    const v = c[key];
    return typeof v === 'number' ? [label, v, '', warn] : [label, sum(v), byReason(v), warn];
  });
  lines.push('counters since start:');
  const numWidth = Math.max(...rows.map((r) => String(r[1]).length));
  for (const [label, n, detail, warn] of rows) {
    const num = String(n);
    const shown = ' '.repeat(numWidth - num.length) + (n > 0 && warn ? p[warn](num) : num);
    lines.push(`  ${label.padEnd(16)}${shown}${detail ? `  (${detail})` : ''}`);
  }
  return lines;
}

function describeDoor(d: Door): string {
  const open = d.open.map(formatService).join(', ');
  const what = d.open.length === 0 ? 'runs its command only' : d.action === 'revoke' ? `closes ${open}` : `opens ${open} for ${formatDuration(d.timeoutSec)}`;
  if (d.kind === 'spa') return d.spa.format === 'fwknop' ? `fwknop SPA on ${d.spa.port}/udp, ${d.spa.fwknop?.length ?? 0} stanza(s); ${what}` : `SPA on ${d.spa.port}/udp, ${d.spa.clients.length} client(s); ${what}`;
  const seq = d.sequence.type === 'static' ? `${d.sequence.steps.length} knocks` : `rotating ${d.sequence.length} knocks every ${formatDuration(d.sequence.stepSec)}`;
  return `${d.mode === 'kernel' ? 'kernel' : 'daemon'} door, ${seq} within ${formatDuration(d.seqTimeoutSec)}; ${what}`;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

/** A pending `install-ruleset --confirm` rollback and the last one that ran (from /run/knockctl). */
export interface RollbackView {
  /** ms since the epoch when the previous table comes back, unless confirmed. */
  readonly pendingUntil?: number;
  /** The last rollback's report line (timestamped). */
  readonly last?: string;
}

export function formatRollback(r: RollbackView, now: number, p: Paint = PLAIN): string[] {
  const lines: string[] = [];
  if (r.pendingUntil !== undefined) {
    const left = Math.max(0, Math.ceil((r.pendingUntil - now) / 1000));
    lines.push(p.yellow(`rollback pending: the previous table comes back in ${formatDuration(left)} unless you run: knockctl confirm`));
  }
  if (r.last) lines.push(`last rollback: ${r.last}`);
  return lines;
}

export interface FormatOptions {
  readonly daemon?: DaemonView;
  readonly rollback?: RollbackView;
  /** ms since the epoch, for the daemon's uptime. */
  readonly now?: number;
  readonly paint?: Paint;
}

export function formatStatus(table: string, all: readonly AccessEntry[], cfg?: Config, o: FormatOptions = {}): string {
  const p = o.paint ?? PLAIN;
  const entries = cfg ? withoutPortForwardTargets(all, cfg.doors) : all;
  const lines: string[] = [];
  if (o.daemon) lines.push(...formatDaemon(o.daemon, o.now ?? 0, p), '');
  const rb = o.rollback ? formatRollback(o.rollback, o.now ?? 0, p) : [];
  if (rb.length) lines.push(...rb, '');
  lines.push(p.bold(`table inet ${table}: ${entries.length} grant${entries.length === 1 ? '' : 's'}`));
  if (entries.length) {
    const rows = [['SOURCE', 'SERVICE', 'DOOR', 'TIME LEFT']];
    const sorted = [...entries].sort((a, b) => (a.expiresSec ?? Infinity) - (b.expiresSec ?? Infinity));
    for (const e of sorted) {
      const left = e.expiresSec === undefined ? 'permanent' : `${formatDuration(e.expiresSec)}${e.timeoutSec ? ` of ${formatDuration(e.timeoutSec)}` : ''}`;
      rows.push([e.addr, entryServiceText(e, cfg ? portForwards(cfg) : []), e.door ?? '(kernel door)', left]);
    }
    const [head, ...body] = pad(rows).split('\n');
    lines.push(p.bold(head as string), ...body);
  }
  if (cfg) {
    lines.push('', p.bold(`doors (${cfg.doors.length}), policy ${cfg.base.policy}:`));
    for (const d of cfg.doors) lines.push(`  ${d.name}: ${describeDoor(d)}`);
  }
  return lines.join('\n');
}

/**
 * `service` is the canonical text (`22/tcp`, `192.168.1.10:22/tcp`, `2222/tcp=>192.168.1.10:22`);
 * `proto`/`port` are the element's: the service's port, or this host's port of a port forward.
 */
export function statusJson(table: string, all: readonly AccessEntry[], daemon?: DaemonView, rollback?: RollbackView, cfg?: Config): unknown {
  const pfs = cfg ? portForwards(cfg) : [];
  const entries = cfg ? withoutPortForwardTargets(all, cfg.doors) : all;
  return {
    table,
    ...(daemon ? { daemon } : {}),
    ...(rollback ? { rollback: { pending_until: rollback.pendingUntil === undefined ? null : new Date(rollback.pendingUntil).toISOString(), last: rollback.last ?? null } } : {}),
    grants: entries.map((e) => ({
      family: e.family, addr: e.addr, service: entryServiceText(e, pfs), proto: e.proto, port: e.port, door: e.door ?? null,
      timeout: e.timeoutSec ?? null, expires: e.expiresSec ?? null, set: e.set,
    })),
  };
}

export async function status(opts: StatusOptions): Promise<number> {
  const { config: cfg } = readConfig(configPath(opts.config));
  const entries = await firewallFor(cfg.table).readAccessInstalled();
  const daemon = daemonView(readDaemonStatus(cfg.stateDir, cfg.table));
  const rollback = rollbackState(cfg.table);
  if (opts.json) process.stdout.write(`${JSON.stringify(statusJson(cfg.table, entries, daemon, rollback, cfg), null, 2)}\n`);
  else {
    const paint = useColor(process.stdout.isTTY, process.env) ? COLOR : PLAIN;
    process.stdout.write(`${formatStatus(cfg.table, entries, cfg, { daemon, rollback, now: Date.now(), paint })}\n`);
  }
  return 0;
}
