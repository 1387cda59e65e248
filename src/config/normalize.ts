/**
 * Schema-valid data → normalized Config, with the checks a schema cannot express
 * (port ranges, a door's kind, sequences shared by two doors, keys that do not decode...).
 */
import {
  type Cidr, type PortSpec, type Service, parseCidr, parseDuration, parsePortSpec, parseKnockStep, parseTcpFlags,
  formatKnockStep, formatService, parseService, sameService, DURATION_HINT,
} from '../core';
import { serviceCrossIssues, unroutableTarget } from './services';
import { normalizeRotateParams } from './rotate-params';
import type { Config, Door, DoorHooks, KnockDoor, SpaClient, SpaDoor, LogLevel, RotatingSequence, StaticSequence } from './types';
import { checkSpaClient, checkSpaSettings, type SpaCheckSink } from './spa-checks';
import { normalizeFwknopClients } from './fwknop-client';

type Raw = Record<string, unknown>;
type Segs = (string | number)[];
type Issue = { segs: Segs; message: string };

/** Split a knockd-style command string on white space; lists are kept as they are. No shell. */
export function normalizeCommand(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(String);
  return String(v).trim().split(/\s+/);
}

class Ctx {
  readonly issues: Issue[] = [];
  readonly warnings: Issue[] = [];
  err(segs: Segs, message: string): void {
    this.issues.push({ segs, message });
  }
  duration(v: unknown, segs: Segs, dflt: number, min = 1): number {
    if (v === undefined) return dflt;
    const n = parseDuration(v as number | string);
    if (n === undefined) {
      this.err(segs, `${JSON.stringify(v)} is not ${DURATION_HINT}`);
      return dflt;
    }
    if (n < min) this.err(segs, `${JSON.stringify(v)} is too short: at least ${min} second${min === 1 ? '' : 's'}`);
    return n;
  }
  ports(list: unknown, segs: Segs): PortSpec[] {
    const out: PortSpec[] = [];
    ((list as string[] | undefined) ?? []).forEach((s, i) => {
      const r = parsePortSpec(s);
      if (r.ok) out.push(r.value);
      else this.err([...segs, i], r.detail ?? r.reason);
    });
    return out;
  }
  services(list: unknown, segs: Segs): Service[] {
    const out: Service[] = [];
    ((list as string[] | undefined) ?? []).forEach((s, i) => {
      const r = parseService(s);
      if (!r.ok) return this.err([...segs, i], r.detail ?? r.reason);
      const bad = unroutableTarget(r.value);
      if (bad) this.err([...segs, i], bad);
      else out.push(r.value);
    });
    return out;
  }
  cidrs(list: unknown, segs: Segs): Cidr[] | undefined {
    if (list === undefined) return undefined;
    const out: Cidr[] = [];
    (list as string[]).forEach((s, i) => {
      const c = parseCidr(s);
      if (c) out.push(c);
      else this.err([...segs, i], `"${s}" is not an IPv4/IPv6 address or network (e.g. 192.0.2.0/24, 2001:db8::/32)`);
    });
    return out;
  }
}

function hooks(ctx: Ctx, d: Raw, segs: Segs): DoorHooks {
  const h: { -readonly [K in keyof DoorHooks]: DoorHooks[K] } = { cmdTimeoutSec: ctx.duration(d.cmd_timeout, [...segs, 'cmd_timeout'], 10) };
  const c = normalizeCommand(d.command);
  const sc = normalizeCommand(d.start_command);
  const st = normalizeCommand(d.stop_command);
  if (c) h.command = c;
  if (sc) h.startCommand = sc;
  if (st) h.stopCommand = st;
  if (c && sc) ctx.err([...segs, 'command'], 'set either command or start_command, not both (they are the same hook)');
  if (st && !(c || sc)) ctx.warnings.push({ segs: [...segs, 'stop_command'], message: 'stop_command without a start command runs on every success' });
  return h;
}

function rotate(ctx: Ctx, r: Raw, segs: Segs): RotatingSequence {
  return { type: 'rotate', secretFile: String(r.secret_file), ...normalizeRotateParams(r, segs, (s, m) => ctx.err(s, m)) };
}

const KNOCK_ONLY = ['sequence', 'mode', 'seq_timeout', 'tcpflags', 'one_time_sequences'] as const;

function knockDoor(ctx: Ctx, name: string, d: Raw, segs: Segs, common: Omit<KnockDoor, 'kind' | 'mode' | 'sequence' | 'seqTimeoutSec' | 'tcpFlags'>): KnockDoor {
  let sequence: StaticSequence | RotatingSequence;
  const seq = d.sequence;
  if (Array.isArray(seq)) {
    const steps: PortSpec[] = [];
    seq.forEach((s: string, i: number) => {
      const r = parseKnockStep(s);
      if (r.ok) steps.push(r.value);
      else ctx.err([...segs, 'sequence', i], r.detail ?? r.reason);
    });
    sequence = { type: 'static', steps };
  } else {
    sequence = rotate(ctx, (seq as Raw).rotate as Raw, [...segs, 'sequence', 'rotate']);
  }
  const flags = parseTcpFlags(String(d.tcpflags ?? 'syn'));
  if (!flags.ok) ctx.err([...segs, 'tcpflags'], flags.detail ?? flags.reason);
  const mode = (d.mode as 'daemon' | 'kernel' | undefined) ?? 'daemon';
  const door: KnockDoor = {
    ...common, kind: 'knock', mode, sequence,
    seqTimeoutSec: ctx.duration(d.seq_timeout, [...segs, 'seq_timeout'], 10),
    tcpFlags: flags.ok ? flags.value : { set: 0x02, unset: 0 },
    ...(d.one_time_sequences !== undefined ? { oneTimeFile: String(d.one_time_sequences) } : {}),
  };
  if (mode === 'kernel') kernelLimits(ctx, door, segs);
  void name;
  return door;
}

/** What a kernel door cannot do, each with the reason (nftables rules hold no secrets and run no programs). */
function kernelLimits(ctx: Ctx, d: KnockDoor, segs: Segs): void {
  const no = (key: string, why: string): void => ctx.err([...segs, key], `cannot be used with mode: kernel: ${why}; use mode: daemon`);
  if (d.sequence.type === 'rotate') no('sequence', 'a rotating sequence changes every step and needs the secret, which the kernel does not have');
  if (d.oneTimeFile) no('one_time_sequences', 'one-time sequences are consumed and persisted by the daemon');
  if (d.hooks.command || d.hooks.startCommand || d.hooks.stopCommand) no('command', 'the kernel cannot run commands');
  if (d.interfaces && d.interfaces.includes('any')) no('interfaces', '"any" is not an interface name in nftables; list real interfaces or drop the key');
}

const spaSink = (ctx: Ctx): SpaCheckSink => ({ err: (segs, m) => ctx.err(segs, m), warn: (segs, message) => ctx.warnings.push({ segs, message }) });

function spaDoor(ctx: Ctx, d: Raw, segs: Segs, common: Omit<SpaDoor, 'kind' | 'spa'>): SpaDoor {
  const s = d.spa as Raw;
  const ss: Segs = [...segs, 'spa'];
  for (const k of KNOCK_ONLY) if (d[k] !== undefined) ctx.err([...segs, k], 'is for knock doors; an SPA door has no knock sequence');
  const clients: SpaClient[] = [];
  const fwknop = s.format === 'fwknop'
    ? normalizeFwknopClients({ err: (p, m) => ctx.err(p, m), warn: (p, m) => ctx.warnings.push({ segs: p, message: m }) }, (s.clients as Record<string, Raw>) ?? {}, ss, common.open)
    : undefined;
  for (const [cname, rc] of Object.entries(fwknop ? {} : (s.clients as Record<string, Raw>) ?? {})) {
    const cs: Segs = [...ss, 'clients', cname];
    const text = (rc.key ?? rc.public_key) as string;
    const type = rc.key !== undefined ? 'aead' : 'ed25519';
    const key = Buffer.from(text.slice(text.indexOf(':') + 1), 'base64');
    if (key.length !== 32) ctx.err([...cs, type === 'aead' ? 'key' : 'public_key'], 'does not decode to 32 bytes');
    const client: { -readonly [K in keyof SpaClient]: SpaClient[K] } = { name: cname, type, key: new Uint8Array(key) };
    if (rc.open !== undefined) {
      client.open = ctx.services(rc.open, [...cs, 'open']);
      client.open.forEach((p, i) => {
        if (!common.open.some((o) => sameService(o, p))) ctx.err([...cs, 'open', i], `"${formatService(p)}" is not in the door's open list`);
      });
    }
    checkSpaClient(client, cs, spaSink(ctx));
    clients.push(client);
  }
  const keys = new Map<string, string>();
  for (const c of clients) {
    const k = Buffer.from(c.key).toString('hex');
    const prev = keys.get(k);
    if (prev) ctx.err([...ss, 'clients', c.name], `uses the same key as client "${prev}"; every client needs its own key`);
    keys.set(k, c.name);
  }
  const nat = s.nat_prefix as { ipv4?: number; ipv6?: number } | undefined;
  const spa = {
    port: (s.port as number | undefined) ?? 62201,
    windowSec: ctx.duration(s.window, [...ss, 'window'], 120, 5),
    allowAddress: (s.allow_address as boolean | undefined) ?? false,
    ...(s.require_address === true ? { requireAddress: true } : {}),
    clients,
    ...(s.max_timeout !== undefined ? { maxTimeoutSec: ctx.duration(s.max_timeout, [...ss, 'max_timeout'], common.timeoutSec) } : {}),
    ...(nat?.ipv4 !== undefined ? { natPrefix4: nat.ipv4 } : {}),
    ...(nat?.ipv6 !== undefined ? { natPrefix6: nat.ipv6 } : {}),
    ...(fwknop ? { format: 'fwknop' as const, fwknop } : {}),
  };
  if (spa.maxTimeoutSec !== undefined && spa.maxTimeoutSec < common.timeoutSec) ctx.err([...ss, 'max_timeout'], `is shorter than the door's timeout (${common.timeoutSec}s)`);
  checkSpaSettings(spa, common.from !== undefined, ss, spaSink(ctx));
  return { ...common, kind: 'spa', spa };
}

function door(ctx: Ctx, name: string, d: Raw): Door {
  const segs: Segs = ['doors', name];
  const from = ctx.cidrs(d.from, [...segs, 'from']);
  const target = ctx.cidrs(d.target, [...segs, 'target']);
  const common = {
    name,
    open: ctx.services(d.open, [...segs, 'open']),
    timeoutSec: ctx.duration(d.timeout, [...segs, 'timeout'], 30),
    ...(d.set_size !== undefined ? { setSize: d.set_size as number } : {}),
    action: (d.action as 'grant' | 'revoke' | undefined) ?? 'grant',
    hooks: hooks(ctx, d, segs),
    ...(from ? { from } : {}),
    ...(target ? { target } : {}),
    ...(d.interfaces ? { interfaces: d.interfaces as string[] } : {}),
  };
  if (d.sequence !== undefined && d.spa !== undefined) ctx.err(segs, 'has both sequence and spa; a door is either a knock sequence or an SPA door');
  if (d.open === undefined && !(d.command !== undefined || d.start_command !== undefined) ) {
    ctx.err(segs, 'missing required key "open" (the services to open; only a door that just runs a command may leave it out)');
  }
  if (d.open === undefined && d.spa !== undefined) ctx.err(segs, 'an SPA door needs "open"');
  if (d.one_time_sequences !== undefined && d.sequence !== undefined) {
    ctx.err([...segs, 'one_time_sequences'], 'replaces sequence (as in knockd): set one or the other, not both');
  }
  if (d.sequence === undefined && d.spa === undefined && d.one_time_sequences !== undefined) {
    return knockDoor(ctx, name, { ...d, sequence: [] }, segs, common);
  }
  if (d.sequence === undefined && d.spa === undefined) {
    ctx.err(segs, 'needs either sequence (a knock door), one_time_sequences, or spa (an SPA door)');
    return { ...common, kind: 'knock', mode: 'daemon', sequence: { type: 'static', steps: [] }, seqTimeoutSec: 10, tcpFlags: { set: 0x02, unset: 0 } };
  }
  if (d.spa !== undefined) {
    if (common.action === 'revoke') ctx.err([...segs, 'action'], 'revoke is for knock doors (a close sequence), not SPA doors');
    return spaDoor(ctx, d, segs, common);
  }
  return knockDoor(ctx, name, d, segs, common);
}

function crossChecks(ctx: Ctx, doors: Door[], allow: PortSpec[], policy: string): void {
  const seqs = new Map<string, string>();
  const udpPorts = new Map<number, string>();
  for (const d of doors) {
    if (d.kind === 'knock' && d.sequence.type === 'static' && d.sequence.steps.length > 0) {
      const key = d.sequence.steps.map(formatKnockStep).join(',');
      const prev = seqs.get(key);
      if (prev) ctx.err(['doors', d.name, 'sequence'], `is the same knock sequence as door "${prev}"; a knock must lead to one door`);
      else seqs.set(key, d.name);
      d.sequence.steps.forEach((s) => s.proto === 'udp' && udpPorts.set(s.port, d.name));
    }
  }
  for (const d of doors) {
    if (d.kind !== 'spa') continue;
    const other = udpPorts.get(d.spa.port);
    if (other) ctx.err(['doors', d.name, 'spa', 'port'], `${d.spa.port}/udp is also a knock of door "${other}"`);
    const twin = doors.find((o) => o !== d && o.kind === 'spa' && o.spa.port === d.spa.port);
    if (twin && doors.indexOf(twin) < doors.indexOf(d)) ctx.err(['doors', d.name, 'spa', 'port'], `${d.spa.port}/udp is also the SPA port of door "${twin.name}"`);
  }
  for (const d of doors) {
    for (const step of d.kind === 'knock' && d.sequence.type === 'static' ? d.sequence.steps : []) {
      if (allow.some((a) => a.port === step.port && a.proto === step.proto)) {
        ctx.warnings.push({ segs: ['doors', d.name, 'sequence'], message: `knock ${formatKnockStep(step)} is also an always-open service in base.allow` });
      }
    }
  }
  for (const i of serviceCrossIssues(doors, allow)) ctx.err(i.segs, i.message);
  if (policy === 'guard' && allow.length > 0) ctx.err(['base', 'allow'], 'has no effect with policy: guard (guard mode never accepts, it only drops unknocked access to doors\' open ports); remove it');
}

/** The schema admits `127.0.0.1:99999`; a port outside 1-65535 could only fail at start. */
function metricsListen(ctx: Ctx, listen: string): void {
  if (listen.startsWith('unix:')) return;
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) ctx.err(['metrics', 'listen'], `${JSON.stringify(listen)}: ${port} is not a port 1-65535`);
}

/** Normalize schema-valid raw data. Returns the config, or the issues found (as path segments). */
export function normalizeConfig(raw: Raw): { config?: Config; partial: Config; issues: Issue[]; warnings: Issue[] } {
  const ctx = new Ctx();
  const base = (raw.base as Raw | undefined) ?? {};
  const limits = (raw.limits as Raw | undefined) ?? {};
  const allow = ctx.ports(base.allow, ['base', 'allow']);
  const policy = (base.policy as 'drop' | 'guard' | undefined) ?? 'drop';
  const doors = Object.entries((raw.doors as Record<string, Raw> | undefined) ?? {}).map(([n, d]) => door(ctx, n, d));
  crossChecks(ctx, doors, allow, policy);
  if (raw.metrics) metricsListen(ctx, String((raw.metrics as Raw).listen));
  const config: Config = {
    table: (raw.table as string | undefined) ?? 'knockctl',
    interfaces: (raw.interfaces as string[] | undefined) ?? ['any'],
    stateDir: (raw.state_dir as string | undefined) ?? '/var/lib/knockctl',
    logLevel: (raw.log_level as LogLevel | undefined) ?? 'info',
    limits: {
      maxSources: (limits.max_sources as number | undefined) ?? 100000,
      maxReplay: (limits.max_replay as number | undefined) ?? 1000000,
      captureRing: (limits.capture_ring as number | undefined) ?? 4096,
    },
    onRulesetMissing: (raw.on_ruleset_missing as 'reinstall' | 'log' | undefined) ?? 'reinstall',
    base: { policy, allow, icmp: (base.icmp as boolean | undefined) ?? true, allowFrom: ctx.cidrs(base.allow_from, ['base', 'allow_from']) ?? [] },
    ...(raw.metrics ? { metrics: { listen: String((raw.metrics as Raw).listen) } } : {}),
    doors,
  };
  return ctx.issues.length > 0 ? { partial: config, issues: ctx.issues, warnings: ctx.warnings } : { config, partial: config, issues: [], warnings: ctx.warnings };
}
