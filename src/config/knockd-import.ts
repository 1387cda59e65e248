/**
 * knockd.conf → an equivalent nftknock config (YAML text), with a warning for everything that does
 * not carry over exactly. Pure: the caller reads the file and writes the result.
 */
import { Document, isSeq, visit } from 'yaml';
import { ConfigError, type ConfigIssue, type PortSpec, formatKnockStep, formatPortSpec, parseAddr, parseKnockStep, parseTcpFlags } from '../core';
import { type AllowCommand, commandArgv, parseAllowCommand } from './knockd-command';
import { type KnockdSection, type KnockdValue, parseKnockdText } from './knockd-parse';

/** knockd's defaults (knockd.c): SEQ_TIMEOUT 25 s, CMD_TIMEOUT 10 s, SEQ_MAX 32 knocks. */
const KNOCKD_SEQ_TIMEOUT = 25;
const KNOCKD_CMD_TIMEOUT = 10;
const SEQ_MAX = 32;
/** A knockd `command` with no stop_command left the port open until removed; nftknock grants expire. */
export const OPEN_ENDED_TIMEOUT = 3600;

type Raw = Record<string, unknown>;

interface DoorOut {
  readonly name: string;
  readonly data: Raw;
  readonly comment: string[];
  /** Why the door cannot be active yet; it is then written out commented. */
  readonly inactive?: string;
}

class Ctx {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: string[] = [];
  err(path: string, v: KnockdValue | { line: number }, message: string): void {
    this.issues.push({ path, message, line: v.line });
  }
}

function seconds(ctx: Ctx, door: string, key: string, v: KnockdValue | undefined, dflt: number): number {
  if (!v) return dflt;
  if (!/^[0-9]{1,9}$/.test(v.value) || Number(v.value) < 1) {
    ctx.err(`${door}.${key}`, v, `"${v.value}" is not a whole number of seconds, at least 1`);
    return dflt;
  }
  return Number(v.value);
}

function sequence(ctx: Ctx, door: string, v: KnockdValue): PortSpec[] {
  const items = v.value.split(',');
  if (items.length > SEQ_MAX) ctx.err(`${door}.sequence`, v, `has ${items.length} knocks; at most ${SEQ_MAX}`);
  const steps: PortSpec[] = [];
  for (const item of items) {
    const r = parseKnockStep(item.split(':').map((x) => x.trim()).join(':'));
    if (r.ok) steps.push(r.value);
    else ctx.err(`${door}.sequence`, v, `"${item.trim()}": ${r.reason === 'bad-port' ? 'is not a port 1-65535' : 'is not of the form PORT[:tcp|udp] (e.g. 7000:udp)'}`);
  }
  return steps;
}

/** How a door's commands translate: an open list (with timeout or revoke) and the hooks kept. */
function commands(ctx: Ctx, s: KnockdSection, d: Raw, comment: string[]): string | undefined {
  const start = s.keys.get('start_command');
  const stop = s.keys.get('stop_command');
  const cmdTimeout = seconds(ctx, s.name, 'cmd_timeout', s.keys.get('cmd_timeout'), KNOCKD_CMD_TIMEOUT);
  const a = start && parseAllowCommand(start.value);
  const b = stop && parseAllowCommand(stop.value);
  const opened = (c: AllowCommand, what: string): void => {
    const open = c.ports.map(formatPortSpec);
    d.open = open;
    comment.push(`${what}: ${open.join(', ')}${c.notes.length ? ` (${c.notes.join('; ')})` : ''}`);
  };
  const hook = (key: string, v: KnockdValue): void => {
    const h = commandArgv(v.value);
    d[key] = h.argv;
    if (h.shell) ctx.warnings.push(`[${s.name}] line ${v.line}: ${key} needs a shell (pipes, lists, redirects, quotes or variables); kept as /bin/sh -c "..." which runs it with root rights: review it, better rewrite it as a plain program with arguments`);
    else ctx.warnings.push(`[${s.name}] line ${v.line}: ${key} is not a plain allow of %IP% to a port; kept as a hook`);
  };
  if (a && a.action === 'add') {
    opened(a, 'start_command allows the knocker to');
    if (b && b.action === 'delete' && b.key === a.key) {
      d.timeout = cmdTimeout;
      comment.push(`stop_command removes it after cmd_timeout: timeout ${cmdTimeout}s (the kernel expires the grant)`);
    } else if (stop) {
      // The stop_command undid the start_command, which nftknock no longer runs: the kernel expiry
      // replaces both. Kept as a hook it would act on rules nftknock never made.
      d.timeout = cmdTimeout;
      ctx.warnings.push(`[${s.name}] line ${stop.line}: stop_command NOT IMPORTED (not recognised as removing the start_command's rule; the grant now expires after cmd_timeout, ${cmdTimeout}s): ${stop.value}`);
    } else {
      d.timeout = a.timeoutSec ?? OPEN_ENDED_TIMEOUT;
      if (a.timeoutSec === undefined) {
        ctx.warnings.push(`[${s.name}] line ${start.line}: knockd kept this rule until another command removed it; nftknock grants expire: timeout set to ${OPEN_ENDED_TIMEOUT}s (established connections stay open)`);
      }
    }
    return undefined;
  }
  if (a && a.action === 'delete' && !stop) {
    d.action = 'revoke';
    opened(a, 'command removes the knocker\'s access to');
    return undefined;
  }
  if (start) hook('start_command', start);
  if (stop) hook('stop_command', stop);
  if (stop) d.cmd_timeout = cmdTimeout;
  if (start || stop) {
    ctx.warnings.push(`[${s.name}]: kept as a command-only door: its commands open nothing nftknock can express as \`open\`; they run as hooks, without a shell`);
    return undefined;
  }
  return 'it has no command';
}

function ipv6Commands(ctx: Ctx, s: KnockdSection, d: Raw): void {
  for (const key of ['start_command_6', 'stop_command_6'] as const) {
    const v = s.keys.get(key);
    if (!v) continue;
    const c = parseAllowCommand(v.value);
    const open = Array.isArray(d.open) ? (d.open as string[]) : [];
    const same = c !== undefined && c.ports.map(formatPortSpec).sort().join() === [...open].sort().join();
    if (same) continue;
    if (v.value === '') ctx.warnings.push(`[${s.name}] line ${v.line}: ${key} is empty (nothing for IPv6), but an nftknock door grants IPv4 and IPv6 knockers alike; limit it with \`from:\` if needed`);
    else ctx.warnings.push(`[${s.name}] line ${v.line}: ${key} NOT IMPORTED: nftknock has no IPv6-only hooks; the door's own open/hooks apply to both families`);
  }
}

function door(ctx: Ctx, s: KnockdSection, name: string): DoorOut {
  const d: Raw = {};
  const comment: string[] = [`[${s.name}] from line ${s.line}`];
  if (name !== s.name) ctx.warnings.push(`[${s.name}] line ${s.line}: renamed to "${name}" (door names are letters, digits, '_', '.', '-', at most 32)`);
  const seq = s.keys.get('sequence');
  const ots = s.keys.get('one_time_sequences');
  // knockd keeps whichever of Sequence and One_Time_Sequences comes later in the section.
  const useOts = ots !== undefined && (seq === undefined || ots.line > seq.line);
  if (seq) {
    const steps = sequence(ctx, s.name, seq).map(formatKnockStep);
    if (!useOts) d.sequence = steps;
  }
  if (ots) {
    if (!ots.value.startsWith('/')) ctx.err(`${s.name}.one_time_sequences`, ots, `"${ots.value}" is not an absolute path`);
    if (useOts) d.one_time_sequences = ots.value;
  }
  if (seq && ots) {
    const [kept, dropped] = useOts ? ['One_Time_Sequences', 'Sequence'] : ['Sequence', 'One_Time_Sequences'];
    ctx.warnings.push(`[${s.name}] line ${Math.max(seq.line, ots.line)}: both Sequence and One_Time_Sequences: knockd used the later one, ${kept}; ${dropped} is not imported`);
  }
  if (!seq && !ots) ctx.err(s.name, s, `door [${s.name}] has no Sequence (or One_Time_Sequences)`);
  d.seq_timeout = seconds(ctx, s.name, 'seq_timeout', s.keys.get('seq_timeout'), KNOCKD_SEQ_TIMEOUT);
  const flags = s.keys.get('tcpflags');
  if (flags) {
    const f = parseTcpFlags(flags.value);
    if (!f.ok) ctx.err(`${s.name}.tcpflags`, flags, f.detail ?? f.reason);
    d.tcpflags = flags.value.split(',').map((x) => x.trim().toLowerCase()).join(',');
  } else {
    comment.push('no TCPFlags: knockd counted any TCP packet, nftknock counts SYNs (what knock sends)');
  }
  const target = s.keys.get('target');
  if (target) {
    const addr = parseAddr(target.value);
    if (!addr) ctx.err(`${s.name}.target`, target, `"${target.value}" is not an IPv4 or IPv6 address`);
    d.target = [addr?.text ?? target.value];
  }
  let inactive = commands(ctx, s, d, comment);
  ipv6Commands(ctx, s, d);
  return inactive ? { name, data: d, comment, inactive } : { name, data: d, comment };
}

function doorName(raw: string, taken: Set<string>): string {
  let n = raw.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+|-+$/g, '').slice(0, 32) || 'door';
  for (let i = 2; taken.has(n); i++) n = `${n.slice(0, 32 - String(i).length - 1)}-${i}`;
  taken.add(n);
  return n;
}

function duplicateSequences(ctx: Ctx, sections: readonly KnockdSection[], doors: readonly DoorOut[]): void {
  const seen = new Map<string, string>();
  doors.forEach((d, i) => {
    if (!Array.isArray(d.data.sequence)) return;
    const k = (d.data.sequence as string[]).join(',');
    const s = sections[i] as KnockdSection;
    const prev = seen.get(k);
    if (prev) ctx.err(`${s.name}.sequence`, s.keys.get('sequence') ?? s, `is the same knock sequence as [${prev}]; in nftknock a sequence leads to one door`);
    else seen.set(k, s.name);
  });
}

function options(ctx: Ctx, opts: ReadonlyMap<string, KnockdValue>, out: Raw): void {
  const iface = opts.get('interface');
  if (iface) {
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface.value)) ctx.err('options.interface', iface, `"${iface.value}" is not an interface name`);
    out.interfaces = [iface.value];
  }
  const log = opts.get('usesyslog') ?? opts.get('logfile');
  if (log) ctx.warnings.push(`line ${log.line}: UseSyslog/LogFile not imported: knockctl logs JSON lines to stdout, which journald keeps (journalctl -u knockctl)`);
  const pid = opts.get('pidfile');
  if (pid) ctx.warnings.push(`line ${pid.line}: PidFile not imported: knockctl runs in the foreground under systemd and needs none`);
}

const HEADER = [
  ' nftknock config translated from {file} by `knockctl import-knockd`.',
  ' Review it before use, then check it with `knockctl check-config -c THIS_FILE`.',
  ' base.policy guard: your existing firewall stays in charge; nftknock only drops new connections',
  ' to the doors\' ports from sources that did not knock. Remove your own "drop port 22" rules,',
  ' or nftknock\'s grants cannot get through them (an accept in one table never overrides a drop in another).',
];

const FLOW_KEYS = new Set(['sequence', 'open', 'interfaces', 'target', 'start_command', 'stop_command']);

/** Short lists on one line, as people write them: `sequence: [7000:tcp, 8000:tcp]`. */
function flowLists(doc: Document): Document {
  visit(doc, {
    Pair(_, pair) {
      if (FLOW_KEYS.has(String((pair.key as { value?: unknown } | null)?.value)) && isSeq(pair.value)) pair.value.flow = true;
    },
  });
  return doc;
}

function render(file: string, out: Raw, doors: readonly DoorOut[]): string {
  const doc = flowLists(new Document(out));
  doc.commentBefore = HEADER.map((l) => l.replace('{file}', file)).join('\n');
  visit(doc, {
    Pair(_, pair) {
      const key = (pair.key as { value?: unknown } | null)?.value;
      const door = doors.find((d) => !d.inactive && d.name === key);
      if (door && pair.key && typeof pair.key === 'object') (pair.key as { commentBefore?: string }).commentBefore = door.comment.map((c) => ` ${c}`).join('\n');
    },
  });
  const off = doors.filter((d) => d.inactive);
  if (off.length > 0) {
    const lines: string[] = [];
    for (const d of off) {
      const block = flowLists(new Document({ [d.name]: d.data })).toString({ lineWidth: 0 }).trimEnd().split('\n');
      lines.push(` NOT ACTIVE: door ${d.name} (${d.comment[0]}): ${d.inactive}.`, ...d.comment.slice(1).map((c) => ` ${c}`), ...block.map((l) => `   ${l}`));
    }
    doc.comment = lines.join('\n');
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * Translate knockd.conf text. Throws ConfigError (each issue with its line) when the file is
 * malformed. `file` labels messages and the header comment.
 */
export function importKnockd(text: string, file?: string): { yaml: string; warnings: string[] } {
  const parsed = parseKnockdText(text);
  if (!parsed.ok) throw new ConfigError(parsed.issues, file);
  const ctx = new Ctx();
  const out: Raw = {};
  options(ctx, parsed.file.options, out);
  out.base = { policy: 'guard' };
  const taken = new Set<string>();
  const doors = parsed.file.doors.map((s) => door(ctx, s, doorName(s.name, taken)));
  duplicateSequences(ctx, parsed.file.doors, doors);
  if (ctx.issues.length > 0) throw new ConfigError(ctx.issues, file);
  for (const d of doors) {
    if (d.inactive) ctx.warnings.push(`${d.comment[0]}: door ${d.name} written out COMMENTED, NOT ACTIVE: ${d.inactive}`);
  }
  out.doors = Object.fromEntries(doors.filter((d) => !d.inactive).map((d) => [d.name, d.data]));
  return { yaml: render(file ?? 'knockd.conf', out, doors), warnings: ctx.warnings };
}
