/**
 * Which sets our table holds and which set each grant goes to. Pure.
 *
 * Every door has its own sets, so a flood through one door (a sniffed static sequence replayed from
 * many spoofed sources) fills only that door's sets and never blocks another door's grants:
 *
 * - `in4_<door>` / `in6_<door>`     this host's services: `saddr . l4proto . dport`
 * - `fwd4_<door>` / `fwd6_<door>`   forwarded services: `saddr . daddr . l4proto . dport` (and the
 *   targets of the door's port forwards)
 * - `dnat4_<door>` / `dnat6_<door>` port forwards: `saddr . l4proto . dport` (this host's port; the
 *   nat chain's rule for that port holds the target, see router.ts)
 *
 * A door gets only the kinds (and, for forwarded services and port forwards, only the families) its
 * `open` list needs, each with `flags timeout` and the door's `set_size`. Sets of an SPA door with
 * `nat_prefix` for a family are interval sets (they hold prefixes), so the kernel cannot update them
 * from the packet path; no kernel door needs that. Grants of no configured door (`manual`,
 * `anti-lockout`, a door removed from the config) go to the shared sets: `allowed4/6` and
 * `allowednet4/6` (prefixes) always, `forward4/6` and `dnat4/6` (interval: one address or a prefix)
 * when a door uses that kind.
 */
import type { Config, Door } from '../config';
import type { Family, Service } from '../core';
import { NET4, NET6, SET4, SET6 } from './names';

/** What a set's elements open: this host's services, forwarded services, or port forwards. */
export type SetKind = 'in' | 'fwd' | 'dnat';

export interface SetSpec {
  readonly name: string;
  readonly kind: SetKind;
  readonly family: Family;
  /** Interval sets hold prefixes (and single addresses); others only single addresses. */
  readonly interval: boolean;
  readonly size: number;
  /** The door the set belongs to; undefined for the shared sets. */
  readonly door?: string;
}

/** Size of each shared set, and the default of a door's `set_size`. */
export const DEFAULT_SET_SIZE = 65536;

export const FORWARD4 = 'forward4';
export const FORWARD6 = 'forward6';
export const DNAT4 = 'dnat4';
export const DNAT6 = 'dnat6';

export function doorSetName(kind: SetKind, family: Family, door: string): string {
  return `${kind}${family}_${door}`;
}

export function serviceKind(s: Service): SetKind {
  return s.kind === 'local' ? 'in' : s.kind === 'forward' ? 'fwd' : 'dnat';
}

/** The address family a service is reachable from: local services from both, the others from their target's. */
export function serviceFamilies(s: Service): readonly Family[] {
  return s.kind === 'local' ? [4, 6] : [s.family];
}

/**
 * What a set name says about the set: ours or not, its kind, family and door. Used to read the
 * kernel's sets back (a packet-path element has no comment: the set names its door).
 */
export function parseSetName(name: string): { kind: SetKind; family: Family; door?: string; interval?: boolean } | undefined {
  const m = /^(in|fwd|dnat)([46])_(.+)$/.exec(name);
  if (m) return { kind: m[1] as SetKind, family: Number(m[2]) as Family, door: m[3] as string };
  if (name === SET4 || name === SET6) return { kind: 'in', family: name === SET4 ? 4 : 6, interval: false };
  if (name === NET4 || name === NET6) return { kind: 'in', family: name === NET4 ? 4 : 6, interval: true };
  if (name === FORWARD4 || name === FORWARD6) return { kind: 'fwd', family: name === FORWARD4 ? 4 : 6, interval: true };
  if (name === DNAT4 || name === DNAT6) return { kind: 'dnat', family: name === DNAT4 ? 4 : 6, interval: true };
  return undefined;
}

function prefixFamily(d: Door, family: Family): boolean {
  return d.kind === 'spa' && (family === 4 ? d.spa.natPrefix4 : d.spa.natPrefix6) !== undefined;
}

function doorSets(d: Door): SetSpec[] {
  const out: SetSpec[] = [];
  // A close sequence only takes access away: it never holds grants.
  if (d.action === 'revoke') return out;
  const size = d.setSize ?? DEFAULT_SET_SIZE;
  for (const kind of ['in', 'fwd', 'dnat'] as const) {
    for (const family of [4, 6] as const) {
      // A port forward's grant also puts its target in the door's fwd set (elements.ts: serviceParts).
      const needs = (s: Service): boolean => serviceKind(s) === kind || (kind === 'fwd' && s.kind === 'dnat');
      if (!d.open.some((s) => needs(s) && serviceFamilies(s).includes(family))) continue;
      out.push({ name: doorSetName(kind, family, d.name), kind, family, interval: prefixFamily(d, family), size, door: d.name });
    }
  }
  return out;
}

export class SetLayout {
  readonly sets: readonly SetSpec[];
  private readonly byDoor = new Map<string, SetSpec[]>();

  constructor(readonly doors: readonly Door[]) {
    const shared: SetSpec[] = [
      { name: SET4, kind: 'in', family: 4, interval: false, size: DEFAULT_SET_SIZE },
      { name: SET6, kind: 'in', family: 6, interval: false, size: DEFAULT_SET_SIZE },
      { name: NET4, kind: 'in', family: 4, interval: true, size: DEFAULT_SET_SIZE },
      { name: NET6, kind: 'in', family: 6, interval: true, size: DEFAULT_SET_SIZE },
    ];
    const all = doors.flatMap((d) => d.open);
    if (all.some((s) => s.kind !== 'local')) {
      shared.push({ name: FORWARD4, kind: 'fwd', family: 4, interval: true, size: DEFAULT_SET_SIZE }, { name: FORWARD6, kind: 'fwd', family: 6, interval: true, size: DEFAULT_SET_SIZE });
    }
    if (all.some((s) => s.kind === 'dnat')) {
      shared.push({ name: DNAT4, kind: 'dnat', family: 4, interval: true, size: DEFAULT_SET_SIZE }, { name: DNAT6, kind: 'dnat', family: 6, interval: true, size: DEFAULT_SET_SIZE });
    }
    const own = doors.flatMap(doorSets);
    for (const s of own) this.byDoor.set(s.door as string, [...(this.byDoor.get(s.door as string) ?? []), s]);
    this.sets = [...shared, ...own];
  }

  /** The sets of one kind (and family), shared ones first. */
  ofKind(kind: SetKind, family?: Family): SetSpec[] {
    return this.sets.filter((s) => s.kind === kind && (family === undefined || s.family === family));
  }

  /**
   * Where a grant's element goes: the door's own set of that kind and family (when it can hold the
   * address: a prefix needs an interval set), else the shared one. Undefined when the table has no
   * set for that kind (e.g. a forwarded service while no door forwards anything).
   */
  setFor(door: string, kind: SetKind, family: Family, prefix: boolean): SetSpec | undefined {
    const own = this.byDoor.get(door)?.find((s) => s.kind === kind && s.family === family && (!prefix || s.interval));
    if (own) return own;
    return this.sets.find((s) => s.door === undefined && s.kind === kind && s.family === family && (!prefix || s.interval) && (kind !== 'in' || s.interval === prefix));
  }

  /**
   * Where a revoke looks: every set of that kind and family that can hold the address. A close
   * sequence (a door with `action: revoke`) or a manual revoke takes the access away whichever door
   * gave it, as with one shared set.
   */
  revokeSets(kind: SetKind, family: Family, prefix: boolean): SetSpec[] {
    return this.ofKind(kind, family).filter((s) => !prefix || s.interval);
  }
}

/** The set layout of a config; every table installed from `cfg` has exactly these sets. */
export function buildSetLayout(cfg: Pick<Config, 'doors'>): SetLayout {
  return new SetLayout(cfg.doors);
}
