/**
 * IP addresses as canonical text (what nft prints) and as bytes. Pure; no DNS, no node:net.
 */
import type { Family } from './types';

/** Canonical text of 4 bytes at `off`. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text of 16 bytes at `off`: lower case, longest zero run (>= 2 groups) compressed. */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[off + 2 * i] ?? 0) << 8) | (b[off + 2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

/** Parse dotted-quad IPv4 into 4 bytes, or undefined. Leading zeros are refused (ambiguous octal). */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** Parse IPv6 text (with `::` and an optional embedded IPv4 tail) into 16 bytes, or undefined. */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45 || s.includes('%')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as string;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIPv4(it);
        if (!v4) return undefined;
        groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        groups.push(parseInt(it, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0] as string);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((v, i) => {
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** A parsed address: family, bytes and canonical text. */
export interface IpAddr {
  readonly family: Family;
  readonly bytes: Uint8Array;
  readonly text: string;
}

/** Parse an IPv4 or IPv6 address; returns the canonical form or undefined. */
export function parseAddr(s: string): IpAddr | undefined {
  const v4 = parseIPv4(s);
  if (v4) return { family: 4, bytes: v4, text: formatIPv4(v4) };
  const v6 = parseIPv6(s);
  if (v6) return { family: 6, bytes: v6, text: formatIPv6(v6) };
  return undefined;
}

/** A network prefix, `10.0.0.0/8` or `2001:db8::/32`, stored with host bits cleared. */
export interface Cidr {
  readonly family: Family;
  readonly bytes: Uint8Array;
  readonly len: number;
  readonly text: string;
}

/** Parse `addr/len` (or a bare address, meaning a host prefix). Host bits are cleared. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const addr = parseAddr(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const l = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(l)) return undefined;
    len = Number(l);
    if (len > max) return undefined;
  }
  const bytes = maskBytes(addr.bytes, len);
  const text = `${addr.family === 4 ? formatIPv4(bytes) : formatIPv6(bytes)}/${len}`;
  return { family: addr.family, bytes, len, text };
}

/** Copy of `bytes` with all bits past `len` cleared. */
export function maskBytes(bytes: Uint8Array, len: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    out[i] = (out[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** True when `addr` (bytes) lies inside `net`. Families must match. */
export function cidrContains(net: Cidr, addr: Uint8Array): boolean {
  if (addr.length !== net.bytes.length) return false;
  const full = net.len >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== net.bytes[i]) return false;
  const rest = net.len & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return ((addr[full] as number) & m) === net.bytes[full];
}

/** The `/len` network around `addr` in canonical `addr/len` text. */
export function prefixOf(addr: IpAddr, len: number): string {
  const b = maskBytes(addr.bytes, len);
  return `${addr.family === 4 ? formatIPv4(b) : formatIPv6(b)}/${len}`;
}
