/**
 * Router doors: the forward chain that guards forwarded services and the nat chain that DNATs port
 * forwards, for granted sources only. Pure builders; ruleset.ts adds them to the install batch.
 *
 * The forward chain is `policy accept` and only ever drops: new connections to the forwarded
 * services the doors name, from sources without a grant. It never decides other forwarded traffic,
 * so the router's own forward policy, Docker's or firewalld's rules keep working (an accept in our
 * table never overrides a drop in another table, and the reverse holds too: their drop wins).
 *
 * The nat chain (`type nat hook prerouting priority dstnat`) DNATs connections to this host's port of
 * a port forward when the source is in a set of granted sources for that port. A DNATed connection
 * then crosses the forward chain towards its target: a port forward's grant also holds its target in
 * the door's fwd set (elements.ts: serviceParts), so it passes when the target is a guarded
 * forwarded service too.
 */
import { type Cidr, type Family, type ForwardService, type NftCommand, type PortForward, type Service, sameService } from '../core';
import type { Config } from '../config';
import { L4PROTO, TH_DPORT, saddr } from './names';
import type { SetLayout } from './layout';

type Expr = Record<string, unknown>;

export const FORWARD_CHAIN = 'forward';
export const NAT_CHAIN = 'prerouting';

const ACCEPT: Expr = { accept: null };
const match = (left: unknown, right: unknown, op = '=='): Expr => ({ match: { op, left, right } });

function daddr(family: Family): Expr {
  return { payload: { protocol: family === 4 ? 'ip' : 'ip6', field: 'daddr' } };
}

function dedupe<T extends Service>(list: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const s of list) seen.set(JSON.stringify(s), s);
  return [...seen.values()];
}

/** Every door's forwarded services: what the forward chain guards. */
export function forwardedServices(cfg: Pick<Config, 'doors'>): ForwardService[] {
  return dedupe(cfg.doors.flatMap((d) => d.open.filter((s): s is ForwardService => s.kind === 'forward')));
}

/** Every door's port forwards (config validation keeps one target per port). */
export function portForwards(cfg: Pick<Config, 'doors'>): PortForward[] {
  return dedupe(cfg.doors.flatMap((d) => d.open.filter((s): s is PortForward => s.kind === 'dnat')));
}

function rule(table: string, chain: string, expr: readonly Expr[], comment?: string): NftCommand {
  return { add: { rule: { family: 'inet', table, chain, expr, ...(comment ? { comment } : {}) } } };
}

function sourcesMatch(family: Family, nets: readonly Cidr[]): Expr {
  const right = nets.map((n) => {
    const addr = n.text.slice(0, n.text.indexOf('/'));
    return n.len === (family === 4 ? 32 : 128) ? addr : { prefix: { addr, len: n.len } };
  });
  return match(saddr(family), { set: right });
}

function forwardRules(cfg: Config, layout: SetLayout): { expr: Expr[]; comment?: string }[] {
  const r: { expr: Expr[]; comment?: string }[] = [];
  r.push({ expr: [match({ ct: { key: 'state' } }, ['established', 'related'], 'in'), ACCEPT] });
  for (const fam of [4, 6] as const) {
    const nets = cfg.base.allowFrom.filter((n) => n.family === fam);
    if (nets.length) r.push({ expr: [sourcesMatch(fam, nets), ACCEPT], comment: 'base.allow_from' });
  }
  for (const set of layout.ofKind('fwd')) {
    r.push({ expr: [match({ concat: [saddr(set.family), daddr(set.family), L4PROTO, TH_DPORT] }, `@${set.name}`), ACCEPT] });
  }
  for (const fam of [4, 6] as const) {
    const guarded = forwardedServices(cfg).filter((s) => s.family === fam);
    if (!guarded.length) continue;
    const right = { set: guarded.map((s) => ({ concat: [s.addr, s.proto, s.port] })) };
    r.push({ expr: [match({ concat: [daddr(fam), L4PROTO, TH_DPORT] }, right), { drop: null }], comment: 'guard: doors\' forwarded services' });
  }
  return r;
}

/**
 * One rule per (port forward, set that may grant it): this host's port, a granted source, DNAT to the
 * target. `fib daddr type local` keeps traffic routed through us to another host's port untouched.
 */
function natRules(cfg: Config, layout: SetLayout): { expr: Expr[]; comment?: string }[] {
  const r: { expr: Expr[]; comment?: string }[] = [];
  const pfs = portForwards(cfg);
  for (const set of layout.ofKind('dnat')) {
    const mine = pfs.filter((pf) => pf.family === set.family && (set.door === undefined || cfg.doors.some((d) => d.name === set.door && d.open.some((s) => sameService(s, pf)))));
    for (const pf of mine) {
      r.push({
        expr: [
          match({ fib: { result: 'type', flags: ['daddr'] } }, 'local'),
          match(L4PROTO, pf.proto),
          match(TH_DPORT, pf.port),
          match({ concat: [saddr(set.family), L4PROTO, TH_DPORT] }, `@${set.name}`),
          { dnat: { family: set.family === 4 ? 'ip' : 'ip6', addr: pf.toAddr, port: pf.toPort } },
        ],
        comment: `${set.door ?? 'manual'}: ${pf.port}/${pf.proto} to ${pf.family === 6 ? `[${pf.toAddr}]` : pf.toAddr}:${pf.toPort}`,
      });
    }
  }
  return r;
}

/** The forward and nat chains with their rules, as needed by the config's doors (none without router doors). */
export function buildRouterChains(cfg: Config, layout: SetLayout): NftCommand[] {
  const t = cfg.table;
  const cmds: NftCommand[] = [];
  if (layout.ofKind('fwd').length) {
    cmds.push({ add: { chain: { family: 'inet', table: t, name: FORWARD_CHAIN, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } } });
    cmds.push(...forwardRules(cfg, layout).map((x) => rule(t, FORWARD_CHAIN, x.expr, x.comment)));
  }
  if (layout.ofKind('dnat').length) {
    cmds.push({ add: { chain: { family: 'inet', table: t, name: NAT_CHAIN, type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } } });
    cmds.push(...natRules(cfg, layout).map((x) => rule(t, NAT_CHAIN, x.expr, x.comment)));
  }
  return cmds;
}
