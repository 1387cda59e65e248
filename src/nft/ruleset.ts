/**
 * The base ruleset as one libnftables JSON batch that replaces only our table, atomically.
 *
 * Kernel fact: `delete table` of a missing table fails the batch with ENOENT, so the batch first
 * adds the table (a no-op when it exists), then deletes and recreates it: one transaction, all or
 * nothing, and nothing outside our table is touched.
 */
import type { AccessEntry, Cidr, Family, NftBatch, NftCommand, PortSpec } from '../core';
import type { Config } from '../config';
import base from '../../nft/base-input.json';
import { CHAIN, L4PROTO, MARKER_CHAIN, TH_DPORT, addrType, saddr } from './names';
import { keepElementCommands } from './elements';
import { type SetLayout, type SetSpec, buildSetLayout } from './layout';
import { buildRouterChains } from './router';
import { localPorts } from '../core';

type Expr = Record<string, unknown>;

export interface RulesetOptions {
  /** Grants to carry over (read from the kernel before the install), re-added with their remaining time. */
  readonly keep?: readonly AccessEntry[];
  /**
   * Kernel-only doors (nft/kernel-doors.ts): `sets` are declarations added before our input chain
   * (stage sets, and the doors' own chains with their rules); `rules` go into the input chain before
   * the access-set lookups (the jumps to those chains).
   */
  readonly extra?: { readonly sets: readonly NftCommand[]; readonly rules: readonly (readonly Expr[])[] };
}

function table(name: string): Expr {
  return { family: 'inet', name };
}

/** `saddr . l4proto . dport`, or `saddr . daddr . l4proto . dport` for forwarded services. */
function accessSet(tableName: string, s: SetSpec): NftCommand {
  const addr = addrType(s.family);
  return {
    add: {
      set: {
        family: 'inet', table: tableName, name: s.name,
        type: s.kind === 'fwd' ? [addr, addr, 'inet_proto', 'inet_service'] : [addr, 'inet_proto', 'inet_service'],
        // nft 1.0.6's JSON parser has no "dynamic" flag; packet-path updates (kernel doors) work without it.
        flags: s.interval ? ['interval', 'timeout'] : ['timeout'],
        size: s.size,
      },
    },
  };
}

function rule(tableName: string, expr: readonly Expr[], comment?: string): NftCommand {
  return { add: { rule: { family: 'inet', table: tableName, chain: CHAIN, expr, ...(comment ? { comment } : {}) } } };
}

function lookup(family: Family, set: string, verdict: Expr): Expr[] {
  return [{ match: { op: '==', left: { concat: [saddr(family), L4PROTO, TH_DPORT] }, right: `@${set}` } }, verdict];
}

/** `meta l4proto . th dport { tcp . 22, ... }` */
function servicesMatch(ports: readonly PortSpec[]): Expr {
  return { match: { op: '==', left: { concat: [L4PROTO, TH_DPORT] }, right: { set: ports.map((p) => ({ concat: [p.proto, p.port] })) } } };
}

function sourcesMatch(family: Family, nets: readonly Cidr[]): Expr {
  const right = nets.map((n) => {
    const max = family === 4 ? 32 : 128;
    const addr = n.text.slice(0, n.text.indexOf('/'));
    return n.len === max ? addr : { prefix: { addr, len: n.len } };
  });
  return { match: { op: '==', left: saddr(family), right: { set: right } } };
}

/** Every door's `open` services, deduplicated: what guard mode protects. */
export function guardedServices(cfg: Config): PortSpec[] {
  const seen = new Map<string, PortSpec>();
  for (const d of cfg.doors) for (const p of localPorts(d.open)) seen.set(`${p.proto}/${p.port}`, p);
  return [...seen.values()].sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
}

function chainRules(cfg: Config, layout: SetLayout, opts: RulesetOptions): { expr: Expr[]; comment?: string }[] {
  const b = base as unknown as Record<string, Expr[]>;
  const accept = { accept: null };
  const r: { expr: Expr[]; comment?: string }[] = [];
  const guard = cfg.base.policy === 'guard';
  r.push({ expr: b.established as Expr[] });
  if (!guard) {
    r.push({ expr: b.nd as Expr[], comment: 'IPv6 neighbour discovery' });
    r.push({ expr: b.invalid as Expr[] });
  }
  r.push({ expr: b.loopback as Expr[] });
  if (!guard) {
    r.push({ expr: b.icmp_needed as Expr[] }, { expr: b.icmpv6_needed as Expr[] });
    if (cfg.base.icmp) r.push({ expr: b.echo as Expr[] }, { expr: b.echo6 as Expr[] });
  }
  for (const fam of [4, 6] as const) {
    const nets = cfg.base.allowFrom.filter((n) => n.family === fam);
    if (nets.length) r.push({ expr: [sourcesMatch(fam, nets), accept], comment: 'base.allow_from' });
  }
  if (!guard && cfg.base.allow.length) r.push({ expr: [servicesMatch(cfg.base.allow), accept], comment: 'base.allow' });
  for (const e of opts.extra?.rules ?? []) r.push({ expr: [...e] });
  for (const s of layout.ofKind('in')) r.push({ expr: lookup(s.family, s.name, accept) });
  const guarded = guardedServices(cfg);
  if (guard && guarded.length) r.push({ expr: [servicesMatch(guarded), { drop: null }], comment: 'guard: doors\' open ports' });
  return r;
}

/**
 * The whole ruleset for `cfg`: our table, its access sets and input chain. In `drop` policy the chain
 * drops what is not allowed; in `guard` policy it keeps policy accept and only drops the doors' open
 * ports for sources without a grant (an accept in our table cannot override a drop elsewhere, so
 * guard mode never opens anything another table closes).
 */
export function buildRuleset(cfg: Config, opts: RulesetOptions = {}): NftBatch {
  const t = cfg.table;
  const layout = buildSetLayout(cfg);
  const cmds: NftCommand[] = [
    { add: { table: table(t) } },
    { delete: { table: table(t) } },
    { add: { table: table(t) } },
    { add: { chain: { family: 'inet', table: t, name: MARKER_CHAIN } } },
    ...layout.sets.map((s) => accessSet(t, s)),
    ...(opts.extra?.sets ?? []),
    {
      add: {
        chain: {
          family: 'inet', table: t, name: CHAIN, type: 'filter', hook: 'input', prio: 0,
          policy: cfg.base.policy === 'guard' ? 'accept' : 'drop',
        },
      },
    },
    ...chainRules(cfg, layout, opts).map((x) => rule(t, x.expr, x.comment)),
    ...buildRouterChains(cfg, layout),
    ...keepElementCommands(t, layout, opts.keep ?? []),
  ];
  return { nftables: cmds };
}

/** A batch that deletes our table (and nothing else); a missing table is not an error. */
export function buildUninstall(tableName: string): NftBatch {
  return { nftables: [{ add: { table: table(tableName) } }, { delete: { table: table(tableName) } }] };
}
