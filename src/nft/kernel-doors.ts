/**
 * Kernel-only knock doors (`mode: kernel`): each door compiled to sets and a regular chain per
 * family, so knocks advance and grant from the packet path with no process running. The exact
 * semantics are in docs/kernel-doors.md.
 *
 * Kernel facts (checked on 6.18 with nft 1.0.6):
 * - Set statements (`add`/`update`/`delete @set { ... }`) work on sets declared with only
 *   `flags timeout` and a `size`: nft marks a set `dynamic` itself when a rule of the same batch
 *   updates it (nft 1.0.6's JSON parser rejects the flag, so we must not send it).
 * - `add` of an element that exists leaves its expiry alone; `update` resets the expiry to the
 *   statement's timeout (the element's listed `timeout` stays as it was). `delete` of a missing
 *   element is a no-op and the rule goes on.
 * - A statement that cannot insert (set full) ends the rule there (NFT_BREAK): its later statements,
 *   `return` included, do not run, and the packet goes on to the next rule of the chain.
 * - Changes made by a rule are seen by the next rule for the same packet, so every rule that acts
 *   ends in `return`: one knock, one transition.
 */
import type { Cidr, Family, KnockStep, NftCommand } from '../core';
import type { Config, KnockDoor } from '../config';
import { L4PROTO, TH_DPORT, addrType, saddr } from './names';
import { type SetLayout, buildSetLayout, serviceFamilies } from './layout';
import { serviceParts } from './elements';

type Expr = Record<string, unknown>;

/** Sets and chains (with their rules) to declare, and the input-chain rules that jump to the door chains. */
export interface KernelDoorParts {
  readonly sets: NftCommand[];
  readonly rules: Expr[][];
}

/** Size of each stage set: how many sources can be part way through one door at once, per family. */
export const KERNEL_DOOR_SET_SIZE = 65536;

const FAMILIES = [4, 6] as const;

export function kernelDoorChain(door: string, family: Family): string {
  return `kd_${door}_${family}`;
}

/** Sources whose last accepted knock is step `stage` (1-based). */
export function stageSet(door: string, stage: number, family: Family): string {
  return `kd_${door}_s${stage}_${family}`;
}

/** Sources with a live attempt: added at the first knock, it carries the `seq_timeout` deadline. */
export function liveSet(door: string, family: Family): string {
  return `kd_${door}_live_${family}`;
}

export function isKernelDoor(d: Config['doors'][number]): d is KnockDoor {
  return d.kind === 'knock' && d.mode === 'kernel';
}

const match = (left: unknown, right: unknown, op = '=='): Expr => ({ match: { op, left, right } });
const stmt = (op: 'add' | 'update' | 'delete', set: string, elem: unknown): Expr => ({ set: { op, elem, set: `@${set}` } });
const RETURN: Expr = { return: null };
const COUNTER: Expr = { counter: { packets: 0, bytes: 0 } };

function daddr(family: Family): Expr {
  return { payload: { protocol: family === 4 ? 'ip' : 'ip6', field: 'daddr' } };
}

function netElems(nets: readonly Cidr[]): unknown[] {
  return nets.map((n) => {
    const addr = n.text.slice(0, n.text.indexOf('/'));
    return n.len === (n.family === 4 ? 32 : 128) ? addr : { prefix: { addr, len: n.len } };
  });
}

function stepMatch(s: KnockStep): Expr {
  return match({ payload: { protocol: s.proto, field: 'dport' } }, s.port);
}

function steps(d: KnockDoor): readonly KnockStep[] {
  return d.sequence.type === 'static' ? d.sequence.steps : [];
}

/** The families a door can see: both, unless `from` or `target` lists networks of one family only. */
function doorFamilies(d: KnockDoor): Family[] {
  return FAMILIES.filter((f) => (!d.from || d.from.some((n) => n.family === f)) && (!d.target || d.target.some((n) => n.family === f)));
}

/**
 * What the last knock does: grant into the door's own sets (`update` resets the expiry of an
 * existing grant) or revoke from every hash set of the service's kind (whichever door granted it).
 */
function finish(d: KnockDoor, family: Family, layout: SetLayout): Expr[] {
  const out: Expr[] = [];
  for (const s of d.open) {
    if (!serviceFamilies(s).includes(family)) continue;
    for (const { kind, val } of serviceParts(saddr(family), s)) {
      if (d.action === 'revoke') {
        // Interval sets (prefix grants) cannot be changed from the packet path: single addresses only.
        for (const set of layout.revokeSets(kind, family, false)) if (!set.interval) out.push(stmt('delete', set.name, val));
        continue;
      }
      const set = layout.setFor(d.name, kind, family, false);
      if (set) out.push(stmt('update', set.name, { elem: { val, timeout: d.timeoutSec } }));
    }
  }
  return out;
}

/**
 * `tcp flags & (set|unset) != set return`: a TCP knock with other flags is ignored, as by the daemon.
 * `tcp flags` brings its own `meta l4proto tcp`, so UDP knocks pass by.
 */
function flagsRule(d: KnockDoor): Expr[] | undefined {
  const mask = d.tcpFlags.set | d.tcpFlags.unset;
  if (mask === 0 || !steps(d).some((s) => s.proto === 'tcp')) return undefined;
  return [match({ '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, mask] }, d.tcpFlags.set, '!='), RETURN];
}

interface DoorRule {
  readonly expr: Expr[];
  readonly comment?: string;
}

/**
 * The door chain's rules for one family, in order: flags filter, advances (step i needs the live
 * deadline and stage i-1), retransmits of the last accepted knock (ignored), restart on the first
 * step, and last, any other knock of the door: wrong, clear the source everywhere.
 */
function chainRules(d: KnockDoor, family: Family, layout: SetLayout): DoorRule[] {
  const seq = steps(d);
  const n = seq.length;
  const src = saddr(family);
  const inSet = (set: string): Expr => match(src, `@${set}`);
  const live = liveSet(d.name, family);
  const stage = (k: number): string => stageSet(d.name, k, family);
  const out: DoorRule[] = [];
  const flags = flagsRule(d);
  if (flags) out.push({ expr: flags, comment: `${d.name}: tcpflags` });
  const done = d.action === 'revoke' ? 'revoke' : 'grant';
  if (n === 1) {
    out.push({ expr: [stepMatch(seq[0] as KnockStep), ...finish(d, family, layout), COUNTER, RETURN], comment: `${d.name}: ${done}` });
    return out;
  }
  for (let i = 2; i <= n; i++) {
    const next = i < n ? [stmt('update', stage(i), src)] : [stmt('delete', live, src), ...finish(d, family, layout)];
    out.push({
      expr: [stepMatch(seq[i - 1] as KnockStep), inSet(live), inSet(stage(i - 1)), stmt('delete', stage(i - 1), src), ...next, COUNTER, RETURN],
      comment: i < n ? `${d.name}: knock ${i}/${n}` : `${d.name}: knock ${n}/${n}, ${done}`,
    });
  }
  for (let j = 1; j < n; j++) {
    out.push({ expr: [stepMatch(seq[j - 1] as KnockStep), inSet(live), inSet(stage(j)), RETURN], comment: `${d.name}: repeat of knock ${j}` });
  }
  const others = Array.from({ length: n - 2 }, (_, k) => stmt('delete', stage(k + 2), src));
  out.push({
    expr: [stepMatch(seq[0] as KnockStep), ...others, stmt('update', stage(1), src), stmt('update', live, src), COUNTER, RETURN],
    comment: `${d.name}: knock 1/${n}`,
  });
  const clear = [...Array.from({ length: n - 1 }, (_, k) => stmt('delete', stage(k + 1), src)), stmt('delete', live, src)];
  out.push({ expr: [...clear, COUNTER], comment: `${d.name}: wrong knock` });
  return out;
}

/** Input-chain rule: a knock of the door, seen through its filters, jumps to the door chain. */
function jumpRule(d: KnockDoor, family: Family): Expr[] {
  const expr: Expr[] = [];
  if (d.interfaces) expr.push(match({ meta: { key: 'iifname' } }, { set: [...d.interfaces] }));
  if (d.from) expr.push(match(saddr(family), { set: netElems(d.from.filter((c) => c.family === family)) }));
  if (d.target) expr.push(match(daddr(family), { set: netElems(d.target.filter((c) => c.family === family)) }));
  if (!d.from && !d.target) expr.push(match({ meta: { key: 'nfproto' } }, family === 4 ? 'ipv4' : 'ipv6'));
  const keys = new Map(steps(d).map((s) => [`${s.proto}/${s.port}`, { concat: [s.proto, s.port] }]));
  expr.push(match({ concat: [L4PROTO, TH_DPORT] }, { set: [...keys.values()] }));
  expr.push({ jump: { target: kernelDoorChain(d.name, family) } });
  return expr;
}

function declarations(table: string, d: KnockDoor, family: Family, layout: SetLayout): NftCommand[] {
  const n = steps(d).length;
  const set = (name: string): NftCommand => ({
    add: {
      set: {
        family: 'inet', table, name, type: addrType(family),
        flags: ['timeout'], size: KERNEL_DOOR_SET_SIZE, timeout: d.seqTimeoutSec,
      },
    },
  });
  const sets = n > 1 ? [...Array.from({ length: n - 1 }, (_, k) => set(stageSet(d.name, k + 1, family))), set(liveSet(d.name, family))] : [];
  const chain = kernelDoorChain(d.name, family);
  return [
    ...sets,
    { add: { chain: { family: 'inet', table, name: chain } } },
    ...chainRules(d, family, layout).map((r) => ({
      add: { rule: { family: 'inet', table, chain, expr: r.expr, ...(r.comment ? { comment: r.comment } : {}) } },
    })),
  ];
}

/**
 * The kernel doors of `cfg` as `buildRuleset`'s `extra`: `sets` declares the stage sets and the
 * door chains with their rules; `rules` are the input-chain jumps. Rules never accept a knock: the
 * chain's policy (or guard mode's accept) decides its fate after the door chain returns.
 */
export function buildKernelDoors(cfg: Config): KernelDoorParts {
  const sets: NftCommand[] = [];
  const rules: Expr[][] = [];
  const layout = buildSetLayout(cfg);
  for (const d of cfg.doors.filter(isKernelDoor)) {
    if (steps(d).length === 0) continue;
    for (const f of doorFamilies(d)) {
      sets.push(...declarations(cfg.table, d, f, layout));
      rules.push(jumpRule(d, f));
    }
  }
  return { sets, rules };
}
