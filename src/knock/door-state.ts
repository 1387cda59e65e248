/**
 * One knock door as the engine sees it: who and what may knock on it, its candidate sequences, and
 * its list of partial attempts in start order (which is also deadline order: `seq_timeout` is constant
 * per door and counts from the first knock).
 */
import { type Family, type KnockEvent, type KnockStep, cidrContains, parseAddr, tcpFlagsMatch } from '../core';
import type { KnockDoor } from '../config';
import { type Sequence, type SequenceSource, stepKey } from './types';

/** A sequence with its steps packed as `stepKey` numbers. */
export interface Candidate {
  readonly steps: Sequence;
  readonly keys: readonly number[];
}

/** One source's partial attempt at one door. Linked into its door's list and its source's chain. */
export class Attempt {
  stage = 1;
  live = true;
  prev: Attempt | undefined = undefined;
  next: Attempt | undefined = undefined;
  /** The same source's attempt at another door. */
  sibling: Attempt | undefined = undefined;
  constructor(
    readonly src: string,
    readonly family: Family,
    readonly door: DoorState,
    readonly startedAt: number,
    readonly deadline: number,
    /** `stepKey` of the last accepted knock (back-to-back repeats of it are retransmits). */
    public last: number,
    /** Accepted knocks so far; kept only for doors with several candidates (static doors need the stage only). */
    readonly prefix: number[] | undefined,
  ) {}
}

/** Lazily decoded addresses of one packet, shared by every door the packet visits. */
export class PacketView {
  private srcBytes: Uint8Array | null | undefined;
  private dstBytes: Uint8Array | null | undefined;
  private local: boolean | undefined;
  constructor(readonly ev: KnockEvent, private readonly isLocal: (dst: string) => boolean) {}
  src(): Uint8Array | null {
    if (this.srcBytes === undefined) this.srcBytes = parseAddr(this.ev.src)?.bytes ?? null;
    return this.srcBytes;
  }
  dst(): Uint8Array | null {
    if (this.dstBytes === undefined) this.dstBytes = parseAddr(this.ev.dst)?.bytes ?? null;
    return this.dstBytes;
  }
  toLocal(): boolean {
    if (this.local === undefined) this.local = this.isLocal(this.ev.dst);
    return this.local;
  }
}

function pack(steps: Sequence): Candidate {
  return { steps, keys: steps.map((s) => stepKey(s.port, s.proto)) };
}

export class DoorState {
  head: Attempt | undefined = undefined;
  tail: Attempt | undefined = undefined;
  /** Packet number that last visited this door (so one packet visits a door once). */
  seen = 0;
  readonly timeoutMs: number;
  readonly fixed: Candidate | undefined;
  private readonly anyInterface: boolean;
  private cacheOf: readonly Sequence[] | undefined;
  private cache: { all: readonly Candidate[]; first: ReadonlyMap<number, Candidate> } | undefined;

  constructor(readonly door: KnockDoor, readonly source: SequenceSource | undefined) {
    this.timeoutMs = door.seqTimeoutSec * 1000;
    this.fixed = source === undefined && door.sequence.type === 'static' ? pack(door.sequence.steps) : undefined;
    this.anyInterface = door.interfaces === undefined || door.interfaces.includes('any');
  }

  /**
   * Whether this packet concerns the door at all. A TCP knock whose flags fail the door's filter is
   * ignored by the door, as knockd does: it neither advances nor breaks an attempt.
   */
  visible(view: PacketView): boolean {
    const ev = view.ev;
    const door = this.door;
    if (!this.anyInterface && (ev.ifname === undefined || !door.interfaces?.includes(ev.ifname))) return false;
    if (ev.proto === 'tcp' && !tcpFlagsMatch(door.tcpFlags, ev.tcpFlags)) return false;
    if (door.target) {
      const dst = view.dst();
      if (!dst || !door.target.some((c) => cidrContains(c, dst))) return false;
    } else if (!view.toLocal()) return false;
    if (door.from) {
      const src = view.src();
      if (!src || !door.from.some((c) => cidrContains(c, src))) return false;
    }
    return true;
  }

  /** True when a knock to `step` is one of this door's knocks at any time (for dynamic doors: per source). */
  covers(step: KnockStep): boolean {
    return this.source !== undefined && this.source.covers(step);
  }

  private candidates(atMs: number): { all: readonly Candidate[]; first: ReadonlyMap<number, Candidate> } {
    const seqs = (this.source as SequenceSource).sequences(atMs);
    if (seqs !== this.cacheOf || !this.cache) {
      const all = seqs.filter((s) => s.length > 0).map(pack);
      const first = new Map<number, Candidate>();
      for (const c of all) if (!first.has(c.keys[0] as number)) first.set(c.keys[0] as number, c);
      this.cacheOf = seqs;
      this.cache = { all, first };
    }
    return this.cache;
  }

  /** The candidate that starts with `key`, if any. */
  firstMatch(key: number, atMs: number): Candidate | undefined {
    if (this.fixed) return this.fixed.keys[0] === key ? this.fixed : undefined;
    return this.candidates(atMs).first.get(key);
  }

  /** The candidate whose next step after the attempt's accepted knocks is `key`, if any. */
  follow(a: Attempt, key: number, atMs: number): Candidate | undefined {
    if (this.fixed) return this.fixed.keys[a.stage] === key ? this.fixed : undefined;
    const prefix = a.prefix as number[];
    for (const c of this.candidates(atMs).all) {
      if (c.keys.length <= a.stage || c.keys[a.stage] !== key) continue;
      let same = true;
      for (let i = 0; i < a.stage && same; i++) same = c.keys[i] === prefix[i];
      if (same) return c;
    }
    return undefined;
  }

  append(a: Attempt): void {
    a.prev = this.tail;
    if (this.tail) this.tail.next = a;
    else this.head = a;
    this.tail = a;
  }

  unlink(a: Attempt): void {
    if (a.prev) a.prev.next = a.next;
    else this.head = a.next;
    if (a.next) a.next.prev = a.prev;
    else this.tail = a.prev;
    a.prev = a.next = undefined;
  }
}
