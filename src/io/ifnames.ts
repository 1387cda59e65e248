/**
 * Interface index → name, for the label on every captured frame. Looked up when a frame carries an
 * index not seen yet, so an interface created after start (ppp, wg, a VLAN) or deleted and created
 * again (a new index) is named right at once; a cached name is looked up again after MAX_AGE_MS, so
 * a renamed interface is named right within a second. Cost: one if_indextoname(3) (an ioctl) per
 * interface per second at most.
 */

import { koffi } from './koffi';

/** Longest cache life of one name. */
export const MAX_AGE_MS = 1000;
/** An index the kernel no longer knows (interface deleted before we looked). */
export const unknownIfname = (ifindex: number): string => `if#${ifindex}`;

export type IndexToName = (ifindex: number) => string | undefined;

export class IfNames {
  private readonly names = new Map<number, { name: string; at: number }>();

  constructor(
    private readonly lookup: IndexToName,
    private readonly now: () => number,
  ) {}

  nameOf(ifindex: number): string {
    const t = this.now();
    const hit = this.names.get(ifindex);
    if (hit && t - hit.at < MAX_AGE_MS && t >= hit.at) return hit.name;
    const name = this.lookup(ifindex) ?? unknownIfname(ifindex);
    // Bounded: indexes come from the kernel's own header, but a host can churn through many.
    if (!hit && this.names.size >= 4096) this.names.clear();
    this.names.set(ifindex, { name, at: t });
    return name;
  }
}

let libcLookup: IndexToName | undefined;

/** if_indextoname(3) through koffi (loaded with libpcap anyway). */
export function systemIndexToName(): IndexToName {
  if (libcLookup) return libcLookup;
  const fn = koffi().load('libc.so.6').func('void *if_indextoname(unsigned int ifindex, void *ifname)');
  const buf = Buffer.alloc(16);
  libcLookup = (ifindex) => {
    buf.fill(0);
    if (!fn(ifindex, buf)) return undefined;
    const end = buf.indexOf(0);
    return buf.subarray(0, end < 0 ? 16 : end).toString('latin1');
  };
  return libcLookup;
}
