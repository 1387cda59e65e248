/** `knockctl status`: who has access to what, read from the kernel (the sets are the audit log). */
import { formatDuration, formatPortSpec, type AccessEntry } from '../core';
import type { Config, Door } from '../config';
import { configPath, firewallFor, readConfig } from './context';

export interface StatusOptions {
  config?: string;
  json?: boolean;
}

function describeDoor(d: Door): string {
  const open = d.open.map(formatPortSpec).join(', ');
  const what = d.open.length === 0 ? 'runs its command only' : d.action === 'revoke' ? `closes ${open}` : `opens ${open} for ${formatDuration(d.timeoutSec)}`;
  if (d.kind === 'spa') return `SPA on ${d.spa.port}/udp, ${d.spa.clients.length} client(s); ${what}`;
  const seq = d.sequence.type === 'static' ? `${d.sequence.steps.length} knocks` : `rotating ${d.sequence.length} knocks every ${formatDuration(d.sequence.stepSec)}`;
  return `${d.mode === 'kernel' ? 'kernel' : 'daemon'} door, ${seq} within ${formatDuration(d.seqTimeoutSec)}; ${what}`;
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

export function formatStatus(table: string, entries: readonly AccessEntry[], cfg?: Config): string {
  const lines: string[] = [];
  lines.push(`table inet ${table}: ${entries.length} grant${entries.length === 1 ? '' : 's'}`);
  if (entries.length) {
    const rows = [['SOURCE', 'SERVICE', 'DOOR', 'TIME LEFT']];
    const sorted = [...entries].sort((a, b) => (a.expiresSec ?? Infinity) - (b.expiresSec ?? Infinity));
    for (const e of sorted) {
      const left = e.expiresSec === undefined ? 'permanent' : `${formatDuration(e.expiresSec)}${e.timeoutSec ? ` of ${formatDuration(e.timeoutSec)}` : ''}`;
      rows.push([e.addr, `${e.port}/${e.proto}`, e.door ?? '(kernel door)', left]);
    }
    lines.push(pad(rows));
  }
  if (cfg) {
    lines.push('', `doors (${cfg.doors.length}), policy ${cfg.base.policy}:`);
    for (const d of cfg.doors) lines.push(`  ${d.name}: ${describeDoor(d)}`);
  }
  return lines.join('\n');
}

export function statusJson(table: string, entries: readonly AccessEntry[]): unknown {
  return {
    table,
    grants: entries.map((e) => ({
      family: e.family, addr: e.addr, proto: e.proto, port: e.port, door: e.door ?? null,
      timeout: e.timeoutSec ?? null, expires: e.expiresSec ?? null, set: e.set,
    })),
  };
}

export async function status(opts: StatusOptions): Promise<number> {
  const { config: cfg } = readConfig(configPath(opts.config));
  const entries = await firewallFor(cfg.table).readAccessInstalled();
  if (opts.json) process.stdout.write(`${JSON.stringify(statusJson(cfg.table, entries), null, 2)}\n`);
  else process.stdout.write(`${formatStatus(cfg.table, entries, cfg)}\n`);
  return 0;
}
