/** Builds frames byte by byte for decoder tests; fixtures under test/fixtures/frames are real captures. */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseIPv4, parseIPv6 } from '../../../src/core';

export const FIXTURES = resolve(__dirname, '../../../../test/fixtures/frames');

export interface Fixture {
  readonly name: string;
  readonly linkType: number;
  readonly data: Uint8Array;
}

/** `# linktype N: ...` then hex lines. */
export function loadFixture(name: string): Fixture {
  const text = readFileSync(join(FIXTURES, `${name}.hex`), 'utf8');
  const m = /^# linktype (\d+)/.exec(text);
  if (!m) throw new Error(`${name}.hex: first line must be "# linktype N"`);
  const hex = text.split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, '');
  return { name, linkType: Number(m[1]), data: Uint8Array.from(Buffer.from(hex, 'hex')) };
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES).filter((n) => n.endsWith('.hex')).map((n) => n.slice(0, -4)).sort();
}

export const cat = (...parts: ArrayLike<number>[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];

export function tcp(sport: number, dport: number, flags: number, opts: { dataOffsetWords?: number; payload?: ArrayLike<number> } = {}): Uint8Array {
  const words = opts.dataOffsetWords ?? 5;
  const hdrBytes = Math.max(20, words * 4);
  const h = new Uint8Array(hdrBytes);
  h.set([...u16(sport), ...u16(dport), 0, 0, 0, 1, 0, 0, 0, 0, (words & 15) << 4, flags, ...u16(64240), 0, 0, 0, 0]);
  return cat(h, opts.payload ?? []);
}

export function udp(sport: number, dport: number, payload: ArrayLike<number>, lengthField?: number): Uint8Array {
  return cat([...u16(sport), ...u16(dport), ...u16(lengthField ?? 8 + payload.length), 0, 0], payload);
}

export interface V4Opts {
  optionWords?: number;
  ihlWords?: number;
  totalLength?: number;
  fragWord?: number;
  version?: number;
}

export function ipv4(src: string, dst: string, proto: number, l4: Uint8Array, o: V4Opts = {}): Uint8Array {
  const opt = new Uint8Array((o.optionWords ?? 0) * 4).fill(1); // NOP options
  const ihlWords = o.ihlWords ?? 5 + (o.optionWords ?? 0);
  const total = o.totalLength ?? 20 + opt.length + l4.length;
  const h = [((o.version ?? 4) << 4) | (ihlWords & 15), 0, ...u16(total), 0, 1, ...u16(o.fragWord ?? 0x4000), 64, proto, 0, 0];
  return cat(h, parseIPv4(src) as Uint8Array, parseIPv4(dst) as Uint8Array, opt, l4);
}

/** An extension header: next header, length in 8-octet units beyond the first 8, zero padding. */
export interface Ext {
  readonly type: number;
  readonly lenUnits?: number;
}

export function ipv6(src: string, dst: string, proto: number, l4: Uint8Array, exts: readonly Ext[] = [], payloadLength?: number): Uint8Array {
  const parts: number[][] = [];
  exts.forEach((e, i) => {
    const next = i + 1 < exts.length ? (exts[i + 1] as Ext).type : proto;
    const h = new Array<number>(((e.lenUnits ?? 0) + 1) * 8).fill(0);
    h[0] = next;
    h[1] = e.lenUnits ?? 0;
    parts.push(h);
  });
  const ext = cat(...parts);
  const first = exts.length ? (exts[0] as Ext).type : proto;
  const plen = payloadLength ?? ext.length + l4.length;
  const h = [0x60, 0, 0, 0, ...u16(plen), first, 64];
  return cat(h, parseIPv6(src) as Uint8Array, parseIPv6(dst) as Uint8Array, ext, l4);
}

const MAC_A = [2, 0, 0, 0, 0, 1];
const MAC_B = [2, 0, 0, 0, 0, 2];

/** Ethernet with VLAN tags given as TPIDs (0x8100, 0x88a8, ...). */
export function ethernet(ethertype: number, ip: Uint8Array, tags: readonly number[] = []): Uint8Array {
  const t = tags.flatMap((tpid, i) => [...u16(tpid), ...u16(10 + i)]);
  return cat(MAC_B, MAC_A, t, u16(ethertype), ip);
}

export function sll(ethertype: number, ip: Uint8Array, pkttype = 0): Uint8Array {
  return cat(u16(pkttype), u16(1), u16(6), MAC_A, [0, 0], u16(ethertype), ip);
}

export function sll2(ethertype: number, ip: Uint8Array, pkttype = 0): Uint8Array {
  return cat(u16(ethertype), [0, 0], [0, 0, 0, 2], u16(1), [pkttype, 6], MAC_A, [0, 0], ip);
}
