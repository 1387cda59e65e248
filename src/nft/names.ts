/** Names of the kernel objects in our table, and the JSON expressions that address them. */
import type { Family } from '../core';

export const CHAIN = 'input';

/**
 * Our table's marker: an empty regular chain that every table knockctl installs carries. A table of
 * the configured name without it is someone else's (`table: filter` over a host's `inet filter`),
 * and is never replaced or deleted. Kernel fact (nft 1.0.6): a table `comment` would be the natural
 * marker, but the JSON parser ignores it and JSON listings omit it, so a chain it is; a chain also
 * survives `nft flush table`, and `nft list chain inet T managed_by_knockctl` reads it without
 * listing the sets' elements.
 */
export const MARKER_CHAIN = 'managed_by_knockctl';

/** Single-address grants: `addr . proto . port`, `flags timeout` and a size (kernel doors add from the packet path). */
export const SET4 = 'allowed4';
export const SET6 = 'allowed6';
/** Prefix grants (SPA NAT doors): same type with `flags interval,timeout`; interval sets cannot be updated from the packet path, hence separate sets. */
export const NET4 = 'allowednet4';
export const NET6 = 'allowednet6';

export const ACCESS_SETS = [SET4, SET6, NET4, NET6] as const;

/** Size of each access set: how many grants can exist at once. */
export const ACCESS_SET_SIZE = 65536;

export function setFor(family: Family, prefix: boolean): string {
  if (prefix) return family === 4 ? NET4 : NET6;
  return family === 4 ? SET4 : SET6;
}

export function addrType(family: Family): string {
  return family === 4 ? 'ipv4_addr' : 'ipv6_addr';
}

/** `ip saddr` or `ip6 saddr` as a JSON payload expression. */
export function saddr(family: Family): Record<string, unknown> {
  return { payload: { protocol: family === 4 ? 'ip' : 'ip6', field: 'saddr' } };
}

export const L4PROTO = { meta: { key: 'l4proto' } } as const;
export const TH_DPORT = { payload: { protocol: 'th', field: 'dport' } } as const;
