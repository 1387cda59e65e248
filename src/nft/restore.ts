/**
 * A saved table as a batch that puts it back: `nft -j list table` output turned into `add` commands
 * after the usual add/delete of the table (one transaction). Handles are dropped (the kernel assigns
 * new ones) and each element's remaining time (`expires`) becomes its timeout.
 *
 * Kernel fact: nft 1.0.6 prints kernel-door rules (`add @allowed4 { ip saddr . tcp . 22 ... }`) in a
 * text form it cannot parse back, so a saved table is kept as JSON, never as text. JSON listings
 * omit the `dynamic` set flag; nft adds it again when a rule of the same batch writes to the set.
 */
import type { NftBatch, NftCommand } from '../core';

function stripHandles(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripHandles);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'handle') out[k] = stripHandles(x);
    return out;
  }
  return v;
}

function remainingTime(elem: unknown): unknown {
  const e = (elem as { elem?: Record<string, unknown> }).elem;
  if (!e) return elem;
  const { expires, ...rest } = e;
  return { elem: typeof expires === 'number' ? { ...rest, timeout: Math.max(1, expires) } : rest };
}

/** Elements of one set of the current table to put back into the restored one. */
export interface CarriedSet {
  readonly name: string;
  /** Elements as `nft -j list` prints them (`expires` becomes the timeout when restored). */
  readonly elem: readonly unknown[];
}

const valKey = (e: unknown): string => JSON.stringify((e as { elem?: { val?: unknown } }).elem?.val ?? e);

function setsOf(table: string, listing: unknown): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const items = (listing as { nftables?: unknown[] } | undefined)?.nftables;
  for (const item of Array.isArray(items) ? items : []) {
    const set = (item as { set?: Record<string, unknown> } | null)?.set;
    if (set && set.table === table && typeof set.name === 'string') out.set(set.name, set);
  }
  return out;
}

/**
 * The grants of `current` (our table now) that a rollback to `saved` must keep: the elements of
 * every grant set (a concatenated type such as `ipv4_addr . inet_proto . inet_service`; stage sets
 * of kernel doors hold plain addresses and are not carried) that exists in both with the same type.
 * So a rollback never takes away access granted while it was pending, such as the one used to prove
 * that a new session still gets in.
 */
export function grantsToCarry(table: string, saved: unknown, current: unknown): CarriedSet[] {
  const before = setsOf(table, saved);
  const out: CarriedSet[] = [];
  for (const [name, set] of setsOf(table, current)) {
    const old = before.get(name);
    if (!old || !Array.isArray(set.type) || JSON.stringify(old.type) !== JSON.stringify(set.type)) continue;
    const elem = Array.isArray(set.elem) ? set.elem : [];
    if (elem.length) out.push({ name, elem });
  }
  return out;
}

/**
 * Undefined `listing` (the table did not exist): the batch just removes the table. `carry`: elements
 * added after the saved sets (they replace a saved element with the same value), so they keep the
 * time they have left now.
 */
export function buildRestoreBatch(table: string, listing: unknown, carry: readonly CarriedSet[] = []): NftBatch {
  const t = { family: 'inet', name: table };
  const cmds: NftCommand[] = [{ add: { table: t } }, { delete: { table: t } }];
  const items = (listing as { nftables?: unknown[] } | undefined)?.nftables;
  if (!Array.isArray(items)) return { nftables: cmds };
  const carried = new Map(carry.map((c) => [c.name, new Set(c.elem.map(valKey))]));
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    const [kind, body] = Object.entries(item)[0] ?? [];
    if (!kind || kind === 'metainfo' || !body || typeof body !== 'object') continue;
    if ((body as { table?: string; name?: string }).table !== table && !(kind === 'table' && (body as { name?: string }).name === table)) continue;
    const obj = stripHandles(body) as Record<string, unknown>;
    if (kind === 'set' && Array.isArray(obj.elem)) {
      const replaced = carried.get(obj.name as string);
      const kept = replaced ? obj.elem.filter((e) => !replaced.has(valKey(e))) : obj.elem;
      if (kept.length) obj.elem = kept.map(remainingTime);
      else delete obj.elem;
    }
    cmds.push({ add: { [kind]: obj } });
  }
  for (const c of carry) {
    cmds.push({ add: { element: { family: 'inet', table, name: c.name, elem: c.elem.map((e) => remainingTime(stripHandles(e))) } } });
  }
  return { nftables: cmds };
}
