/**
 * Set elements: grants and revokes as libnftables JSON, and `nft -j list set` output parsed back.
 * Which set an element goes to is the layout's business (layout.ts); its key depends on the kind:
 * `saddr . proto . port` (this host's service, or the port of a port forward) or
 * `saddr . daddr . proto . port` (a forwarded service).
 *
 * Kernel fact (DESIGN.md): on older kernels `add element` of an existing element keeps the old
 * timeout, and `delete` of a missing element fails the whole batch with ENOENT (nft 1.0.6 has no
 * `destroy`). So a refresh is, in one transaction: add (no-op if present), delete, add with the new
 * timeout and comment; a revoke is: add (no-op if present), delete. Both are idempotent.
 */
import type { AccessEntry, Family, Grant, NftBatch, NftCommand, Revoke, Service } from '../core';
import { formatService, parseCidr, parseAddr } from '../core';
import { type SetKind, type SetLayout, parseSetName, serviceFamilies } from './layout';

type ElemValue = { concat: unknown[] };

/** One element to add or delete: the set and its key. */
export interface ElementRef {
  readonly set: string;
  readonly val: ElemValue;
}

/** The source part of a key: an address, or a prefix (`addr/len` below the full length). */
export function sourceKey(addr: string): { family: Family; prefix: boolean; key: unknown } {
  if (addr.includes('/')) {
    const c = parseCidr(addr);
    if (!c) throw new TypeError(`not an address or network: ${addr}`);
    const base = c.text.slice(0, c.text.indexOf('/'));
    const full = c.len === (c.family === 4 ? 32 : 128);
    return { family: c.family, prefix: !full, key: full ? base : { prefix: { addr: base, len: c.len } } };
  }
  const a = parseAddr(addr);
  if (!a) throw new TypeError(`not an address: ${addr}`);
  return { family: a.family, prefix: false, key: a.text };
}

/** The key of `service` granted to a source (its key part from sourceKey). */
export function serviceValue(src: unknown, s: Service): ElemValue {
  if (s.kind === 'forward') return { concat: [src, s.addr, s.proto, s.port] };
  return { concat: [src, s.proto, s.port] };
}

/**
 * The elements a service needs, by kind of set. A port forward needs two: this host's port in a
 * dnat set (the nat chain DNATs it) and its target in a fwd set, so the DNATed connection also
 * passes the forward chain when the target is a guarded forwarded service. Kernel fact (nft 1.0.6):
 * the alternative, a forward rule on `ct original proto-dst`, lists as JSON that nft cannot parse
 * back ("Can't parse symbolic invalid expressions"), which would break the `--confirm` restore.
 */
export function serviceParts(src: unknown, s: Service): { kind: SetKind; val: ElemValue }[] {
  if (s.kind === 'local') return [{ kind: 'in', val: serviceValue(src, s) }];
  if (s.kind === 'forward') return [{ kind: 'fwd', val: serviceValue(src, s) }];
  return [{ kind: 'dnat', val: serviceValue(src, s) }, { kind: 'fwd', val: { concat: [src, s.toAddr, s.proto, s.toPort] } }];
}

function entryValue(src: unknown, e: AccessEntry): ElemValue {
  return e.kind === 'forward' ? { concat: [src, e.to, e.proto, e.port] } : { concat: [src, e.proto, e.port] };
}

function elementCmd(verb: 'add' | 'delete', table: string, set: string, elem: unknown): NftCommand {
  return { [verb]: { element: { family: 'inet', table, name: set, elem: [elem] } } };
}

/** A service no set of the table can hold (e.g. a forwarded service while no door forwards anything). */
export class NoSetError extends Error {
  constructor(readonly door: string, readonly service: string) {
    super(`no set of our table holds ${service} (door ${door}): no door of the installed config opens that kind of service`);
  }
}

/**
 * The elements of one grant: one per service reachable from the grant's family (a forwarded service
 * or port forward to an IPv4 host opens nothing to an IPv6 source), each in the set the layout names.
 */
export function grantRefs(layout: SetLayout, g: Grant): ElementRef[] {
  const src = sourceKey(g.addr);
  const out: ElementRef[] = [];
  for (const s of g.services) {
    if (!serviceFamilies(s).includes(src.family)) continue;
    for (const part of serviceParts(src.key, s)) {
      const set = layout.setFor(g.door, part.kind, src.family, src.prefix);
      if (!set) throw new NoSetError(g.door, formatService(s));
      out.push({ set: set.name, val: part.val });
    }
  }
  return out;
}

/**
 * Grants as one batch that creates or refreshes each element with its timeout (seconds) and the door
 * name as comment; a later grant of the same element wins. Grants that arrive together go in one
 * batch: one nft call.
 */
export function buildGrantBatch(table: string, layout: SetLayout, grants: readonly Grant[]): NftBatch {
  const els = new Map<string, { ref: ElementRef; timeout: number; comment: string }>();
  for (const g of grants) {
    if (!Number.isInteger(g.timeoutSec) || g.timeoutSec < 1) throw new RangeError(`grant timeout must be a whole number of seconds >= 1, got ${g.timeoutSec}`);
    for (const ref of grantRefs(layout, g)) els.set(`${ref.set} ${JSON.stringify(ref.val)}`, { ref, timeout: g.timeoutSec, comment: g.door });
  }
  const cmds: NftCommand[] = [];
  for (const { ref, timeout, comment } of els.values()) {
    cmds.push(elementCmd('add', table, ref.set, ref.val));
    cmds.push(elementCmd('delete', table, ref.set, ref.val));
    cmds.push(elementCmd('add', table, ref.set, { elem: { val: ref.val, timeout, comment } }));
  }
  return { nftables: cmds };
}

/**
 * Revokes as one batch. A revoke without services removes every element of that address found in
 * `current` (what the kernel holds now); with services, those elements from every set of their kind
 * (whichever door granted them). Missing elements are not an error.
 */
export function buildRevokeBatch(table: string, layout: SetLayout, revokes: readonly Revoke[], current: readonly AccessEntry[] = []): NftBatch {
  return buildRemoveBatch(table, revokes.flatMap((r) => revokeRefs(layout, r, current)));
}

/**
 * add + delete of each element, deduplicated: removes it whether or not it is there. Kernel fact: the
 * `add` of an element that is not there fails with ENFILE when its set is full, so callers that may
 * meet full sets apply these one by one on failure (Firewall.revokeEach) and read ENFILE as "absent".
 */
export function buildRemoveBatch(table: string, refs: readonly ElementRef[]): NftBatch {
  const seen = new Set<string>();
  const cmds: NftCommand[] = [];
  for (const ref of refs) {
    const key = `${ref.set} ${JSON.stringify(ref.val)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    cmds.push(elementCmd('add', table, ref.set, ref.val));
    cmds.push(elementCmd('delete', table, ref.set, ref.val));
  }
  return { nftables: cmds };
}

/** The elements one revoke removes (see buildRevokeBatch). */
export function revokeRefs(layout: SetLayout, r: Revoke, current: readonly AccessEntry[] = []): ElementRef[] {
  const refs = new Map<string, ElementRef>();
  const put = (ref: ElementRef): void => void refs.set(`${ref.set} ${JSON.stringify(ref.val)}`, ref);
  const src = sourceKey(r.addr);
  if (r.services) {
    for (const s of r.services) {
      if (!serviceFamilies(s).includes(src.family)) continue;
      for (const part of serviceParts(src.key, s)) {
        for (const set of layout.revokeSets(part.kind, src.family, src.prefix)) put({ set: set.name, val: part.val });
      }
    }
    return [...refs.values()];
  }
  const canon = r.addr.includes('/') ? parseCidr(r.addr)?.text : parseAddr(r.addr)?.text;
  for (const e of current) {
    if (e.addr === canon || e.addr === r.addr) put({ set: e.set, val: entryValue(sourceKey(e.addr).key, e) });
  }
  return [...refs.values()];
}

function entrySetKind(e: AccessEntry): SetKind {
  return e.kind === 'forward' ? 'fwd' : e.kind === 'dnat' ? 'dnat' : 'in';
}

/**
 * Elements to carry over into a re-installed table, each with its remaining time as timeout: into
 * the same set when the new layout still has it, else where the layout puts its door's grants
 * (a removed door's grants go to the shared sets). Elements no set can hold any more are dropped.
 */
export function keepElementCommands(table: string, layout: SetLayout, entries: readonly AccessEntry[]): NftCommand[] {
  const cmds: NftCommand[] = [];
  for (const e of entries) {
    if (e.expiresSec !== undefined && e.expiresSec < 1) continue;
    const src = sourceKey(e.addr);
    const kind = entrySetKind(e);
    const same = layout.sets.find((s) => s.name === e.set && s.kind === kind && s.family === src.family && (!src.prefix || s.interval));
    const set = same ?? layout.setFor(e.door ?? '', kind, src.family, src.prefix);
    if (!set) continue;
    const elem: Record<string, unknown> = { val: entryValue(src.key, e) };
    const left = e.expiresSec ?? e.timeoutSec;
    if (left !== undefined) elem.timeout = Math.max(1, Math.floor(left));
    if (e.door !== undefined) elem.comment = e.door;
    cmds.push(elementCmd('add', table, set.name, { elem }));
  }
  return cmds;
}

function addrOf(a: unknown): string | undefined {
  if (typeof a === 'string') return a;
  if (a && typeof a === 'object' && 'prefix' in a) {
    const p = (a as { prefix: { addr: string; len: number } }).prefix;
    return `${p.addr}/${p.len}`;
  }
  return undefined;
}

function parseVal(val: unknown, kind: SetKind): { addr: string; to?: string; proto: string; port: number } | undefined {
  const c = (val as { concat?: unknown[] } | undefined)?.concat;
  if (!Array.isArray(c) || c.length !== (kind === 'fwd' ? 4 : 3)) return undefined;
  const addr = addrOf(c[0]);
  const [proto, port] = c.slice(-2);
  const portNum = typeof port === 'number' ? port : Number(port);
  if (addr === undefined || typeof proto !== 'string' || !Number.isInteger(portNum)) return undefined;
  if (kind !== 'fwd') return { addr, proto, port: portNum };
  return typeof c[1] === 'string' ? { addr, to: c[1], proto, port: portNum } : undefined;
}

/**
 * Parse `nft -j list set inet T S` (or `list table`) output into access entries, for our access sets
 * (recognized by name, see layout.ts). Unknown shapes are skipped, never thrown on: the kernel is
 * the source of truth, we only read it.
 */
export function parseAccessEntries(json: unknown): AccessEntry[] {
  const out: AccessEntry[] = [];
  const items = (json as { nftables?: unknown[] } | undefined)?.nftables ?? [];
  if (!Array.isArray(items)) return out;
  for (const item of items) {
    const set = (item as { set?: { name?: string; elem?: unknown[] } } | null)?.set;
    const role = set?.name ? parseSetName(set.name) : undefined;
    if (!set || !role) continue;
    for (const raw of set.elem ?? []) {
      if (raw === null || typeof raw !== 'object') continue;
      const wrapped = (raw as { elem?: Record<string, unknown> }).elem;
      const v = parseVal(wrapped ? wrapped.val : raw, role.kind);
      if (!v || (v.proto !== 'tcp' && v.proto !== 'udp')) continue;
      const entry: { -readonly [K in keyof AccessEntry]: AccessEntry[K] } = { family: role.family, addr: v.addr, proto: v.proto, port: v.port, set: set.name as string };
      if (role.kind === 'fwd') Object.assign(entry, { kind: 'forward', to: v.to });
      if (role.kind === 'dnat') entry.kind = 'dnat';
      if (wrapped) {
        if (typeof wrapped.comment === 'string') entry.door = wrapped.comment;
        if (typeof wrapped.timeout === 'number') entry.timeoutSec = wrapped.timeout;
        if (typeof wrapped.expires === 'number') entry.expiresSec = wrapped.expires;
      }
      if (entry.door === undefined && role.door !== undefined) entry.door = role.door;
      out.push(entry);
    }
  }
  return out;
}
