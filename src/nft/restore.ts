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

/** Undefined `listing` (the table did not exist): the batch just removes the table. */
export function buildRestoreBatch(table: string, listing: unknown): NftBatch {
  const t = { family: 'inet', name: table };
  const cmds: NftCommand[] = [{ add: { table: t } }, { delete: { table: t } }];
  const items = (listing as { nftables?: unknown[] } | undefined)?.nftables;
  if (!Array.isArray(items)) return { nftables: cmds };
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    const [kind, body] = Object.entries(item)[0] ?? [];
    if (!kind || kind === 'metainfo' || !body || typeof body !== 'object') continue;
    if ((body as { table?: string; name?: string }).table !== table && !(kind === 'table' && (body as { name?: string }).name === table)) continue;
    const obj = stripHandles(body) as Record<string, unknown>;
    if (kind === 'set' && Array.isArray(obj.elem)) obj.elem = obj.elem.map(remainingTime);
    cmds.push({ add: { [kind]: obj } });
  }
  return { nftables: cmds };
}
