/**
 * Recognises the knockd commands that merely allow the knocker to a port (iptables/ip6tables rules,
 * nft elements and rules) so they become an nftknock `open`, and turns every other command into an
 * argument list. Pure: nothing is run.
 */
import { type PortSpec, type Proto, parseDuration } from '../core';

/** A command that adds or deletes an "accept %IP% to these ports" rule. */
export interface AllowCommand {
  readonly action: 'add' | 'delete';
  readonly ports: readonly PortSpec[];
  /** Identifies the rule without the verb, so a stop_command can be matched to its start_command. */
  readonly key: string;
  /** An nft element's own `timeout`, when given. */
  readonly timeoutSec?: number;
  /** Assumptions made while reading it, for the door's comment. */
  readonly notes: readonly string[];
}

const SOURCES = new Set(['%IP%', '%IP%/32', '%IP%/128']);

function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

function portList(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  const out: number[] = [];
  for (const p of s.split(',')) {
    if (!/^[0-9]{1,5}$/.test(p.trim())) return undefined;
    const n = Number(p);
    if (n < 1 || n > 65535) return undefined;
    out.push(n);
  }
  return out.length > 0 ? out : undefined;
}

function allow(action: 'add' | 'delete', tag: string, ports: PortSpec[], notes: string[], timeoutSec?: number): AllowCommand {
  const key = `${tag}|${ports.map((p) => `${p.port}/${p.proto}`).sort().join(',')}`;
  return { action, ports, key, notes, ...(timeoutSec !== undefined ? { timeoutSec } : {}) };
}

/** `iptables -I|-A|-D INPUT [N] -s %IP% [-p tcp] [-m tcp|multiport] [--syn] [-m state --state NEW] --dport N -j ACCEPT`. */
function parseIptables(t: readonly string[]): AllowCommand | undefined {
  const bin = basename(t[0] ?? '');
  if (!/^ip6?tables(-legacy|-nft)?$/.test(bin)) return undefined;
  let action: 'add' | 'delete' | undefined;
  let chain: string | undefined;
  let src: string | undefined;
  let proto: string | undefined;
  let ports: number[] | undefined;
  let jump: string | undefined;
  for (let i = 1; i < t.length; ) {
    const a = t[i++] as string;
    const next = (): string | undefined => t[i++];
    if (['-A', '--append', '-I', '--insert', '-D', '--delete'].includes(a)) {
      if (action) return undefined;
      action = a === '-D' || a === '--delete' ? 'delete' : 'add';
      chain = next();
      if ((a === '-I' || a === '--insert') && /^[0-9]+$/.test(t[i] ?? '')) i++;
    } else if (a === '-s' || a === '--source') src = next();
    else if (a === '-p' || a === '--protocol') proto = next()?.toLowerCase();
    else if (a === '-m' || a === '--match') {
      if (!['tcp', 'udp', 'state', 'conntrack', 'multiport'].includes(next() ?? '')) return undefined;
    } else if (a === '--state' || a === '--ctstate') {
      if (next()?.toUpperCase() !== 'NEW') return undefined;
    } else if (a === '--syn') {
      if (proto !== undefined && proto !== 'tcp') return undefined;
    } else if (a === '--dport' || a === '--destination-port' || a === '--dports' || a === '--destination-ports') {
      if (ports) return undefined;
      ports = portList(next());
      if (!ports || (ports.length > 1 && !a.endsWith('s'))) return undefined;
    } else if (a === '-j' || a === '--jump') jump = next();
    else if (a === '-t' || a === '--table') {
      if (next() !== 'filter') return undefined;
    } else if (a === '-w' || a === '--wait') {
      if (/^[0-9]+$/.test(t[i] ?? '')) i++;
    } else return undefined;
  }
  if (!action || chain !== 'INPUT' || !SOURCES.has(src ?? '') || jump !== 'ACCEPT' || !ports) return undefined;
  const notes: string[] = [];
  if (proto === undefined) notes.push('the rule has --dport without -p; tcp assumed');
  else if (proto !== 'tcp' && proto !== 'udp') return undefined;
  const p: Proto = proto === 'udp' ? 'udp' : 'tcp';
  const tag = bin.startsWith('ip6') ? 'ip6tables' : 'iptables';
  return allow(action, tag, ports.map((port) => ({ port, proto: p })), notes);
}

/** Debian's helper: `knock_add -i|-a|-x [-c INPUT] [-p tcp] -d PORT -f %IP%` (knock_helper_ipt.sh). */
function parseKnockHelper(t: readonly string[]): AllowCommand | undefined {
  if (!['knock_add', 'knock_helper_ipt.sh'].includes(basename(t[0] ?? ''))) return undefined;
  let action: 'add' | 'delete' | undefined;
  let chain = 'INPUT';
  let proto = 'tcp';
  let src: string | undefined;
  let ports: number[] | undefined;
  for (let i = 1; i < t.length; ) {
    const a = t[i++] as string;
    if (['-a', '--append', '-i', '--insert'].includes(a)) action = 'add';
    else if (a === '-x' || a === '--delete') action = 'delete';
    else if (a === '-f' || a === '--srcaddr') src = t[i++];
    else if (a === '-d' || a === '--dstport') ports = portList(t[i++]);
    else if (a === '-p' || a === '--proto') proto = t[i++] ?? '';
    else if (a === '-c' || a === '--chain') chain = t[i++] ?? '';
    else if (a !== '-v' && a !== '--verbose' && !a.startsWith('-m') && !a.startsWith('--comment')) return undefined;
  }
  if (!action || chain !== 'INPUT' || !SOURCES.has(src ?? '') || !ports || ports.length !== 1) return undefined;
  if (proto !== 'tcp' && proto !== 'udp') return undefined;
  return allow(action, 'iptables', ports.map((port) => ({ port, proto })), []);
}

/** `nft add|delete element [FAMILY] TABLE SET { %IP% . tcp . 22 [timeout 30s], ... }`. */
function parseNftElement(verb: string, t: readonly string[]): AllowCommand | undefined {
  const open = t.findIndex((x) => x.startsWith('{'));
  if (open < 0 || (verb !== 'add' && verb !== 'delete')) return undefined;
  const where = t.slice(0, open);
  if (where.length < 2 || where.length > 3) return undefined;
  const body = /^\{(.*)\}$/.exec(t.slice(open).join(' '))?.[1];
  if (body === undefined) return undefined;
  const ports: PortSpec[] = [];
  const notes: string[] = [];
  let timeoutSec: number | undefined;
  for (const raw of body.split(',')) {
    const m = /^(.*?)(?:\s+timeout\s+(\S+))?$/.exec(raw.trim());
    const parts = (m?.[1] ?? '').split('.').map((x) => x.trim());
    if (m?.[2] !== undefined) {
      timeoutSec = parseDuration(m[2]);
      if (timeoutSec === undefined) return undefined;
    }
    if (parts[0] !== '%IP%') return undefined;
    const [proto, port] = parts.length === 3 ? [parts[1], parts[2]] : parts.length === 2 ? ['tcp', parts[1]] : [undefined, undefined];
    if (parts.length === 2) notes.push('the set element has no protocol; tcp assumed');
    const n = portList(port);
    if ((proto !== 'tcp' && proto !== 'udp') || !n || n.length !== 1) return undefined;
    ports.push({ port: n[0] as number, proto });
  }
  return allow(verb, `nft-element ${where.join(' ')}`, ports, notes, timeoutSec);
}

/** `nft add|insert rule [FAMILY] TABLE CHAIN [ct state new] ip|ip6 saddr %IP% tcp|udp dport N|{ N, M } [counter] accept`. */
function parseNftRule(verb: string, t: readonly string[]): AllowCommand | undefined {
  if (verb !== 'add' && verb !== 'insert') return undefined;
  const expr = t.join(' ');
  const m = /^(?:(?:ip|ip6|inet)\s+)?(\S+)\s+(\S+)\s+(?:ct state new\s+)?ip6? saddr %IP%\s+(tcp|udp) dport (\d+|\{\s*[\d\s,]+\})\s+(?:ct state new\s+)?(?:counter\s+)?accept$/.exec(expr);
  if (!m) return undefined;
  const ports = portList((m[4] as string).replace(/[{}\s]/g, ''));
  if (!ports) return undefined;
  return allow('add', `nft-rule ${m[1]} ${m[2]}`, ports.map((port) => ({ port, proto: m[3] as Proto })), []);
}

/**
 * Reads a knockd command as an "allow %IP% to ports" rule, or undefined when it is anything else
 * (a different chain, an interface match, a script, a pipeline...).
 */
export function parseAllowCommand(cmd: string): AllowCommand | undefined {
  if (needsShell(cmd)) return undefined;
  const t = cmd.trim().split(/\s+/);
  if (basename(t[0] ?? '') === 'nft') {
    const [verb, obj, ...rest] = t.slice(1);
    if (obj === 'element') return parseNftElement(verb ?? '', rest);
    if (obj === 'rule') return parseNftRule(verb ?? '', rest);
    return undefined;
  }
  return parseIptables(t) ?? parseKnockHelper(t);
}

/**
 * True when the command means something different without /bin/sh: pipes, lists, redirects,
 * substitutions, quotes, globs, variables, comments. knockd ran every command with system().
 */
export function needsShell(cmd: string): boolean {
  return /[|&;<>()$`\\"'*?~\n]|(^|\s)#|^\s*[A-Za-z_][A-Za-z0-9_]*=/.test(cmd);
}

/** The hook argv for a command nftknock keeps as is: split on blanks, or `/bin/sh -c` when needed. */
export function commandArgv(cmd: string): { argv: string[]; shell: boolean } {
  if (needsShell(cmd)) return { argv: ['/bin/sh', '-c', cmd.trim()], shell: true };
  return { argv: cmd.trim().split(/\s+/), shell: false };
}
