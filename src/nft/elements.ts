/**
 * Set elements: grants and revokes as libnftables JSON, and `nft -j list set` output parsed back.
 *
 * Kernel fact (DESIGN.md): on older kernels `add element` of an existing element keeps the old
 * timeout, and `delete` of a missing element fails the whole batch with ENOENT (nft 1.0.6 has no
 * `destroy`). So a refresh is, in one transaction: add (no-op if present), delete, add with the new
 * timeout and comment; a revoke is: add (no-op if present), delete. Both are idempotent.
 */
import type { AccessEntry, Family, Grant, NftBatch, NftCommand, PortSpec, Revoke } from '../core';
import { localPorts, parseCidr, parseAddr } from '../core';
import { ACCESS_SETS, setFor } from './names';

type ElemValue = { concat: unknown[] };

function value(addr: string, p: PortSpec): { family: Family; prefix: boolean; val: ElemValue } {
  const slash = addr.indexOf('/');
  if (slash >= 0) {
    const c = parseCidr(addr);
    if (!c) throw new TypeError(`not an address or network: ${addr}`);
    const max = c.family === 4 ? 32 : 128;
    if (c.len < max) {
      const base = c.text.slice(0, c.text.indexOf('/'));
      return { family: c.family, prefix: true, val: { concat: [{ prefix: { addr: base, len: c.len } }, p.proto, p.port] } };
    }
    return { family: c.family, prefix: false, val: { concat: [c.text.slice(0, c.text.indexOf('/')), p.proto, p.port] } };
  }
  const a = parseAddr(addr);
  if (!a) throw new TypeError(`not an address: ${addr}`);
  return { family: a.family, prefix: false, val: { concat: [a.text, p.proto, p.port] } };
}

function elementCmd(verb: 'add' | 'delete', table: string, set: string, elem: unknown): NftCommand {
  return { [verb]: { element: { family: 'inet', table, name: set, elem: [elem] } } };
}

/** One element per (grant, port), deduplicated; a later grant of the same element wins. */
function grantElements(grants: readonly Grant[]): Map<string, { set: string; val: ElemValue; timeout: number; comment: string }> {
  const out = new Map<string, { set: string; val: ElemValue; timeout: number; comment: string }>();
  for (const g of grants) {
    for (const p of localPorts(g.services)) {
      const v = value(g.addr, p);
      const set = setFor(v.family, v.prefix);
      out.set(`${set} ${JSON.stringify(v.val)}`, { set, val: v.val, timeout: g.timeoutSec, comment: g.door });
    }
  }
  return out;
}

/**
 * Grants as one batch that creates or refreshes each element with its timeout (seconds) and the door
 * name as comment. Grants that arrive together go in one batch: one nft call.
 */
export function buildGrantBatch(table: string, grants: readonly Grant[]): NftBatch {
  const cmds: NftCommand[] = [];
  for (const e of grantElements(grants).values()) {
    if (!Number.isInteger(e.timeout) || e.timeout < 1) throw new RangeError(`grant timeout must be a whole number of seconds >= 1, got ${e.timeout}`);
    cmds.push(elementCmd('add', table, e.set, e.val));
    cmds.push(elementCmd('delete', table, e.set, e.val));
    cmds.push(elementCmd('add', table, e.set, { elem: { val: e.val, timeout: e.timeout, comment: e.comment } }));
  }
  return { nftables: cmds };
}

/**
 * Revokes as one batch. A revoke without ports removes every element of that address found in
 * `current` (what the kernel holds now); with ports, exactly those elements. Missing elements are
 * not an error.
 */
export function buildRevokeBatch(table: string, revokes: readonly Revoke[], current: readonly AccessEntry[] = []): NftBatch {
  const cmds: NftCommand[] = [];
  const seen = new Set<string>();
  for (const r of revokes) {
    const canon = r.addr.includes('/') ? parseCidr(r.addr)?.text : parseAddr(r.addr)?.text;
    const ports = r.services ? localPorts(r.services) : current.filter((e) => e.addr === canon || e.addr === r.addr).map((e) => ({ port: e.port, proto: e.proto }));
    for (const p of ports) {
      const v = value(r.addr, p);
      const set = setFor(v.family, v.prefix);
      const key = `${set} ${JSON.stringify(v.val)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      cmds.push(elementCmd('add', table, set, v.val));
      cmds.push(elementCmd('delete', table, set, v.val));
    }
  }
  return { nftables: cmds };
}

/** Elements to carry over into a re-installed table: each with its remaining time as timeout. */
export function keepElementCommands(table: string, entries: readonly AccessEntry[]): NftCommand[] {
  const cmds: NftCommand[] = [];
  for (const e of entries) {
    if (e.expiresSec !== undefined && e.expiresSec < 1) continue;
    const v = value(e.addr, { port: e.port, proto: e.proto });
    const elem: Record<string, unknown> = { val: v.val };
    const left = e.expiresSec ?? e.timeoutSec;
    if (left !== undefined) elem.timeout = Math.max(1, Math.floor(left));
    if (e.door !== undefined) elem.comment = e.door;
    cmds.push(elementCmd('add', table, setFor(v.family, v.prefix), { elem }));
  }
  return cmds;
}

function parseVal(val: unknown): { addr: string; proto: string; port: number } | undefined {
  const c = (val as { concat?: unknown[] } | undefined)?.concat;
  if (!Array.isArray(c) || c.length !== 3) return undefined;
  const [a, proto, port] = c;
  let addr: string | undefined;
  if (typeof a === 'string') addr = a;
  else if (a && typeof a === 'object' && 'prefix' in a) {
    const p = (a as { prefix: { addr: string; len: number } }).prefix;
    addr = `${p.addr}/${p.len}`;
  }
  const portNum = typeof port === 'number' ? port : Number(port);
  if (addr === undefined || typeof proto !== 'string' || !Number.isInteger(portNum)) return undefined;
  return { addr, proto, port: portNum };
}

/**
 * Parse `nft -j list set inet T S` (or `list table`) output into access entries, for our access sets.
 * Unknown shapes are skipped, never thrown on: the kernel is the source of truth, we only read it.
 */
export function parseAccessEntries(json: unknown): AccessEntry[] {
  const out: AccessEntry[] = [];
  const items = (json as { nftables?: unknown[] } | undefined)?.nftables ?? [];
  for (const item of items) {
    const set = (item as { set?: { name?: string; type?: unknown; elem?: unknown[] } }).set;
    if (!set || !set.name || !(ACCESS_SETS as readonly string[]).includes(set.name)) continue;
    const family: Family = set.name.endsWith('6') ? 6 : 4;
    for (const raw of set.elem ?? []) {
      if (raw === null || typeof raw !== 'object') continue;
      const wrapped = (raw as { elem?: Record<string, unknown> }).elem;
      const v = parseVal(wrapped ? wrapped.val : raw);
      if (!v || (v.proto !== 'tcp' && v.proto !== 'udp')) continue;
      const entry: { -readonly [K in keyof AccessEntry]: AccessEntry[K] } = { family, addr: v.addr, proto: v.proto, port: v.port, set: set.name };
      if (wrapped) {
        if (typeof wrapped.comment === 'string') entry.door = wrapped.comment;
        if (typeof wrapped.timeout === 'number') entry.timeoutSec = wrapped.timeout;
        if (typeof wrapped.expires === 'number') entry.expiresSec = wrapped.expires;
      }
      out.push(entry);
    }
  }
  return out;
}
